"""Server throughput and latency at 1, 8 and 64 concurrent clients, against in-process `encode` as the ceiling.

The server runs as a real `instructembed serve` process; clients are asyncio tasks with httpx in this
process, each sending requests of TEXTS_PER_REQUEST [instruction, text] inputs, one after another. The
ceiling is `Instructor.encode` on the same texts in this process (batch 64). Each configuration runs
ceiling, server, ceiling, server, ... ROUNDS times (interleaved, so the shared CPU's noise hits both
alike) and reports the median ratio. Note the clients share the cores with the server; the
in-process ceiling pays for no HTTP, JSON or client at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
import time

import httpx

from corpus import load_corpus
from server_process import free_port, start_server
from instructembed import Instructor

CLIENTS = (1, 8, 64)
TEXTS_PER_REQUEST = (1, 8)
N_TEXTS = {1: 16, 8: 64, 64: 256}  # texts sent per run (fewer at 1 client: it is slow by design)
ROUNDS = 3




async def run_clients(url: str, pairs: list[list[str]], clients: int, per_request: int) -> tuple[float, list[float]]:
    requests = [pairs[i : i + per_request] for i in range(0, len(pairs), per_request)]
    latencies: list[float] = []
    cursor = iter(requests)

    async def client(http: httpx.AsyncClient) -> None:
        for chunk in cursor:
            body = {"input": [{"instruction": i, "text": t} for i, t in chunk], "encoding_format": "base64"}
            start = time.perf_counter()
            response = await http.post(f"{url}/v1/embeddings", json=body)
            latencies.append(time.perf_counter() - start)
            response.raise_for_status()

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients)) as http:
        start = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return time.perf_counter() - start, latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    logging.disable(logging.WARNING)
    corpus = load_corpus(max(N_TEXTS.values()))
    model = Instructor(device="cpu")
    port = free_port()
    server = start_server(port)
    url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(run_clients(url, corpus[:64], 8, 8))  # warm-up
        model.encode(corpus[:64], batch_size=64)
        print(f"{'clients':>7} {'texts/req':>9} {'texts':>6} {'server t/s':>10} {'ceiling t/s':>11} {'ratio*':>6} {'p50 ms':>7} {'p99 ms':>7}")
        for per_request in TEXTS_PER_REQUEST:
            for clients in CLIENTS:
                pairs = corpus[: N_TEXTS[clients]]
                ratios, served_rates, ceilings, latencies = [], [], [], []
                for _ in range(ROUNDS):
                    start = time.perf_counter()
                    model.encode(pairs, batch_size=64)
                    ceiling = len(pairs) / (time.perf_counter() - start)
                    seconds, round_latencies = asyncio.run(run_clients(url, pairs, clients, per_request))
                    served = len(pairs) / seconds
                    ratios.append(served / ceiling)
                    served_rates.append(served)
                    ceilings.append(ceiling)
                    latencies += round_latencies
                print(
                    f"{clients:7d} {per_request:9d} {len(pairs):6d} {statistics.median(served_rates):10.1f} "
                    f"{statistics.median(ceilings):11.1f} {statistics.median(ratios):6.2f} "
                    f"{1000 * statistics.median(latencies):7.1f} {1000 * percentile(latencies, 0.99):7.1f}"
                )
        metrics = httpx.get(f"{url}/metrics").text
        passes = next(l for l in metrics.splitlines() if l.startswith("instructembed_forward_passes_total"))
        inputs = next(l for l in metrics.splitlines() if l.startswith("instructembed_inputs_total"))
        print(f"* median over {ROUNDS} interleaved rounds of (ceiling, server)")
        print(f"server totals: {inputs.split()[-1]} inputs in {passes.split()[-1]} forward passes")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(main())
