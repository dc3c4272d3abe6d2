"""Load and fault test of a real `instructembed serve` process on localhost (issue 10).

CLIENTS concurrent clients send mixed-size requests (1, 8 or 64 [instruction, text] inputs) for
DURATION seconds, first alone, then beside one abusive client that cycles through: a body over the
size limit (Content-Length), a chunked body over it, too many inputs, and requests of the maximum
size (2,048 long or short inputs) that it abandons after a short timeout (their rows must leave the
queue). Reported:

- answers by status for the normal clients and the abusive one, in each phase (5xx must be 0);
- p50/p99 latency of the small (1-input) requests without and with the abusive client (the p99
  with it must stay within 3x of the p99 without);
- the server's RSS idle (before the load), at its peak, and after the load once the queue is empty
  (must be back within 10% of idle);
- every 200 answer compared with in-process `Instructor.encode` of the same inputs (< 1e-5).

Writes the table to results/load-benchmark.md (atomically) and prints it. Localhost only, bounded
in time. Tiny run that only proves it works: `python benchmarks/bench_load.py --duration 3 --clients 4`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

from corpus import load_corpus
from server_process import free_port, start_server
from instructembed import Instructor
from instructembed.atomic_file import write_text_atomic

SIZES = ((1, 0.7), (8, 0.2), (64, 0.1))  # inputs per request, share of requests
MAX_INPUTS = 2048
MAX_BODY = 16 * 1024 * 1024
RESULTS = Path(__file__).resolve().parents[1] / "results" / "load-benchmark.md"


@dataclass
class Phase:
    """What one phase saw: statuses, small-request latencies, and the 200 answers' largest error."""

    name: str
    statuses: Counter = field(default_factory=Counter)
    abusive: Counter = field(default_factory=Counter)
    small_latencies: list[float] = field(default_factory=list)
    checked: int = 0
    max_error: float = 0.0
    requests: int = 0




def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


class RssSampler(threading.Thread):
    """The server's resident memory, sampled every 0.2 s: the peak between `start` and `stop`."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process, self.peak, self._done = psutil.Process(pid), 0, threading.Event()

    def rss(self) -> int:
        return self.process.memory_info().rss

    def run(self) -> None:
        while not self._done.wait(0.2):
            self.peak = max(self.peak, self.rss())

    def stop(self) -> None:
        self._done.set()
        self.join()


async def normal_client(http: httpx.AsyncClient, url: str, corpus: list[list[str]], reference: np.ndarray,
                        phase: Phase, deadline: float, rng: random.Random) -> None:
    sizes, weights = zip(*SIZES)
    while time.monotonic() < deadline:
        size = rng.choices(sizes, weights)[0]
        rows = [rng.randrange(len(corpus)) for _ in range(size)]
        body = {"input": [{"instruction": corpus[i][0], "text": corpus[i][1]} for i in rows], "encoding_format": "base64"}
        started = time.perf_counter()
        try:
            response = await http.post(f"{url}/v1/embeddings", json=body)
        except httpx.TimeoutException:  # it gives up and goes: the server must see it leave (499)
            phase.statuses[f"client timeout ({size} inputs)"] += 1
            continue
        except httpx.HTTPError as exc:
            phase.statuses[f"connection error ({type(exc).__name__})"] += 1
            continue
        elapsed = time.perf_counter() - started
        phase.requests += 1
        phase.statuses[str(response.status_code)] += 1
        if response.status_code != 200:
            continue
        if size == 1:
            phase.small_latencies.append(elapsed)
        got = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in response.json()["data"]])
        phase.max_error = max(phase.max_error, float(np.abs(got - reference[rows]).max()))
        phase.checked += size


async def chunked(size: int):
    """A JSON body of `size` bytes sent without Content-Length (Transfer-Encoding: chunked)."""
    yield b'{"input": ["'
    for _ in range(size // 65536):
        yield b"z" * 65536
    yield b'"]}'


async def abusive_client(url: str, corpus: list[list[str]], phase: Phase, deadline: float) -> None:
    """One client doing what a careless or hostile user does, in a loop, one request at a time."""
    long_text = " ".join(text for _, text in corpus)[:6000]
    biggest = {"input": [{"instruction": "Represent the document:", "text": long_text}] * MAX_INPUTS}  # ~12 MB, valid
    many_short = {"input": [{"instruction": i, "text": t[:200]} for i, t in (corpus * MAX_INPUTS)[:MAX_INPUTS]]}
    too_many = {"input": ["x"] * (MAX_INPUTS + 1)}
    too_big = {"input": ["y" * 40_000] * 500}  # ~20 MB: over the body limit
    attempts = [
        ("over-size body", lambda h: h.post(f"{url}/v1/embeddings", json=too_big), 30.0),
        ("chunked over-size body", lambda h: h.post(f"{url}/v1/embeddings", content=chunked(MAX_BODY + 2**20),
                                                     headers={"content-type": "application/json"}), 30.0),
        ("too many inputs", lambda h: h.post(f"{url}/v1/embeddings", json=too_many), 30.0),
        ("max request, gone after 0.05 s", lambda h: h.post(f"{url}/v1/embeddings", json=biggest), 0.05),
        ("max request, gone after 2 s", lambda h: h.post(f"{url}/v1/embeddings", json=biggest), 2.0),
        ("2,048 short inputs, gone after 1 s", lambda h: h.post(f"{url}/v1/embeddings", json=many_short), 1.0),
    ]
    turn = 0
    while time.monotonic() < deadline:
        label, send, read_timeout = attempts[turn % len(attempts)]
        turn += 1
        async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=read_timeout)) as http:
            try:
                response = await send(http)
                phase.abusive[f"{label}: {response.status_code}"] += 1
            except httpx.TimeoutException:
                phase.abusive[f"{label}: disconnected"] += 1
            except httpx.HTTPError as exc:  # the server answered 413 and closed while the body was still going
                phase.abusive[f"{label}: closed by server ({type(exc).__name__})"] += 1


async def run_phase(phase: Phase, url: str, corpus: list[list[str]], reference: np.ndarray, clients: int,
                    duration: float, abusive: bool) -> None:
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        tasks = [normal_client(http, url, corpus, reference, phase, deadline, random.Random(i)) for i in range(clients)]
        if abusive:
            tasks.append(abusive_client(url, corpus, phase, deadline))
        await asyncio.gather(*tasks)


def warm_up(args: argparse.Namespace) -> float:
    return max(3.0, args.duration / 4)


def wait_for_empty_queue(url: str, limit: float = 300) -> None:
    deadline = time.monotonic() + limit
    while httpx.get(f"{url}/health", timeout=30).json()["queued_rows"] and time.monotonic() < deadline:
        time.sleep(0.2)


def metric(url: str, name: str) -> float:
    lines = httpx.get(f"{url}/metrics", timeout=30).text.splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith(name + " "))


def render(args: argparse.Namespace, phases: list[Phase], rss: dict[str, int], counters: dict[str, float],
           warm: Phase) -> str:
    quiet, loaded = phases
    five_xx = sum(n for p in phases for s, n in p.statuses.items() if s.isdigit() and s.startswith("5"))
    five_xx += sum(n for p in phases for s, n in p.abusive.items() if s.rsplit(": ", 1)[-1].startswith("5"))
    p99_ratio = percentile(loaded.small_latencies, 0.99) / percentile(quiet.small_latencies, 0.99)
    back = rss["after"] / rss["idle"]
    # every request a client gave up on, the warm-up's too (the server's counter covers its whole life)
    abandoned = sum(n for s, n in loaded.abusive.items() if s.endswith(": disconnected"))
    abandoned += sum(n for p in (warm, *phases) for s, n in p.statuses.items() if s.startswith("client timeout"))
    ok = lambda good: "yes" if good else "**no**"  # noqa: E731
    lines = [
        "# Load and fault benchmark (`benchmarks/bench_load.py`)",
        "",
        f"{args.clients} concurrent clients for {args.duration:.0f} s per phase, requests of 1/8/64 inputs "
        f"({', '.join(f'{int(w * 100)}%' for _, w in SIZES)}), default model, one `instructembed serve` process "
        f"on localhost ({psutil.cpu_count()} CPU cores shared with the clients). Idle memory is measured after a "
        f"{warm_up(args):.0f} s warm-up with the normal mix, the queue empty; memory after, once the queue is empty again.",
        "",
        "| phase | requests | answers by status | small p50 ms | small p99 ms | 200 rows checked | max abs error |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(p.statuses.items()))
        lines.append(
            f"| {p.name} | {p.requests} | {statuses} | {1000 * percentile(p.small_latencies, 0.5):.0f} | "
            f"{1000 * percentile(p.small_latencies, 0.99):.0f} | {p.checked} | {p.max_error:.1e} |"
        )
    lines += ["", "The abusive client's answers: " + ", ".join(f"{s} x{n}" for s, n in sorted(loaded.abusive.items())), ""]
    lines += [
        "| check | value | target | met |",
        "|---|---|---|---|",
        f"| 5xx answers | {five_xx} | 0 | {ok(five_xx == 0)} |",
        f"| small p99 with / without the abusive client | {p99_ratio:.2f}x | <= 3x | {ok(p99_ratio <= 3)} |",
        f"| RSS idle / peak / after (MiB) | {rss['idle'] / 2**20:.0f} / {rss['peak'] / 2**20:.0f} / {rss['after'] / 2**20:.0f} "
        f"| after within 10% of idle | {ok(back <= 1.10)} ({back:.2f}x) |",
        f"| every 200 answer equals in-process encode | max {max(p.max_error for p in phases):.1e} | < 1e-5 "
        f"| {ok(max(p.max_error for p in phases) < 1e-5)} |",
        f"| requests abandoned by their client (abusive disconnects, client timeouts) that the server saw go "
        f"(status 499) | {counters['left']:.0f} of {abandoned} | all "
        f"| {ok(counters['left'] == abandoned)} |",
        "",
        f"Of the abandoned requests, {counters['cancelled']:.0f} were cancelled while queued, dropping "
        f"{counters['dropped']:.0f} rows unembedded; the others were cancelled before their rows were queued "
        "(while the body was read or tokenized).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=256)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--corpus", type=int, default=2000, help="distinct [instruction, text] inputs drawn from")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    corpus = load_corpus(args.corpus)
    model = Instructor(device="cpu")
    reference = model.encode(corpus, batch_size=64, show_progress_bar=sys.stderr.isatty())  # what every 200 must equal
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # room for every normal client's largest request and the abusive client's: 503 would be a 5xx
    max_queue_rows = max(4096, 64 * args.clients + 2 * MAX_INPUTS)
    server = start_server(port, "--max-queue-rows", str(max_queue_rows), "--max-inputs", str(MAX_INPUTS), limit=300)
    try:
        # idle = a server that has served this mix before (its kernels and buffers warmed), queue empty
        warm = Phase("warm-up")
        asyncio.run(run_phase(warm, url, corpus, reference, args.clients, warm_up(args), abusive=False))
        wait_for_empty_queue(url)
        time.sleep(3)  # past the server's idle memory release
        sampler = RssSampler(server.pid)
        rss = {"idle": sampler.rss()}
        sampler.start()
        phases = [Phase("without the abusive client"), Phase("with the abusive client")]
        for phase, abusive in zip(phases, (False, True)):
            print(f"phase: {phase.name} ({args.clients} clients, {args.duration:.0f} s)", file=sys.stderr)
            asyncio.run(run_phase(phase, url, corpus, reference, args.clients, args.duration, abusive))
        wait_for_empty_queue(url)
        time.sleep(5)  # let the server's allocator settle
        sampler.stop()
        rss |= {"peak": max(sampler.peak, rss["idle"]), "after": sampler.rss()}
        counters = {
            "left": metric(url, 'instructembed_requests_total{route="/v1/embeddings",status="499"}'),
            "cancelled": metric(url, "instructembed_cancelled_requests_total"),
            "dropped": metric(url, "instructembed_dropped_rows_total"),
        }
        table = render(args, phases, rss, counters, warm)
    finally:
        server.terminate()
        server.wait(timeout=60)
    write_text_atomic(args.output, table)
    print(table)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
