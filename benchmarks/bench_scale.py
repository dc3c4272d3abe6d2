"""Ray Data engine vs in-process `encode` on the same 2,000 texts: the engine's overhead, as a ratio.

Peer: this process loads the model and runs `Instructor.encode` with 2 torch threads. Engine:
`embed_shards_ray` on a local Ray cluster (2 CPUs) with 2 workers x 1 thread, reading 4 parquet shards
and writing 4, in chunks of `--chunk-size` rows per actor call (default 4096, the CLI's: each actor call
length-sorts a whole shard, as in-process `encode` sorts the whole corpus; 128-row chunks of mixed lengths
pad more); its time is the whole job (actors start and load the model, read, embed, write), not the
cluster start. Ratio = peer time / engine time (target >= 0.8); encode alone is printed too. Also measured:
the engine with 1 worker x 2 threads, and in-process encode of half the texts on 1 thread (what each of
the 2 workers does), which bounds what 2 x 1-thread workers can reach on this CPU.
`--rounds R` interleaves: each round times the peer, then the engine, and the ratio is each round's own; the
median is reported (a 2-core machine whose speed drifts by 25% between minutes makes single runs meaningless).
Both sides run with the local cluster up (its idle processes share the cores with either).
`--n 40` proves the script runs (its numbers mean nothing: start-up dominates).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from corpus import load_corpus
from instructembed import Instructor

BATCH = 32


def write_shards(pairs: list[list[str]], folder: Path, shards: int = 4) -> None:
    step = -(-len(pairs) // shards)
    for k in range(shards):
        part = pairs[k * step : (k + 1) * step]
        table = pa.table({"id": [f"t{k}-{i}" for i in range(len(part))], "instruction": [p[0] for p in part], "text": [p[1] for p in part]})
        pq.write_table(table, folder / f"part-{k}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="texts (default 2000)")
    parser.add_argument("--chunk-size", type=int, default=4096, help="rows per actor call (default 4096, as the CLI)")
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of peer + engines (default 1)")
    args = parser.parse_args()
    logging.getLogger("instructembed").setLevel(logging.ERROR)
    import ray

    from instructembed.scale import embed_shards_ray

    pairs = load_corpus(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        write_shards(pairs, root / "in")
        torch.set_num_threads(2)
        Instructor(device="cpu").encode(pairs[:64], batch_size=BATCH)  # warm-up: files cached, kernels ready

        def peer() -> tuple[float, float, Instructor]:
            start = time.perf_counter()
            model = Instructor(device="cpu")
            loaded = time.perf_counter()
            model.encode(pairs, batch_size=BATCH, normalize_embeddings=True)
            return time.perf_counter() - start, time.perf_counter() - loaded, model

        rounds: list[dict] = []
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        try:
            for r in range(args.rounds):
                local, encode_only, model = peer()
                torch.set_num_threads(1)
                model.encode(pairs[:64], batch_size=BATCH)  # warm-up at one thread
                start = time.perf_counter()
                model.encode(pairs[: len(pairs) // 2], batch_size=BATCH, normalize_embeddings=True)
                half_one_thread = time.perf_counter() - start  # what one 1-thread worker does with its half
                torch.set_num_threads(2)
                del model
                engines = {}
                for workers, threads in ((2, 1), (1, 2)):
                    start = time.perf_counter()
                    report = embed_shards_ray(
                        root / "in", root / f"out-{r}-{workers}x{threads}", instruction_column="instruction", workers=workers,
                        threads_per_worker=threads, batch_size=BATCH, chunk_size=args.chunk_size, show_progress_bar=False,
                    )
                    engines[workers, threads] = time.perf_counter() - start
                    assert report.rows == len(pairs), report
                rounds.append({"local": local, "encode": encode_only, "half": half_one_thread, "engines": engines})
        finally:
            ray.shutdown()
    print(f"corpus: {len(pairs)} texts, 5 instructions, 4 shards, chunk size {args.chunk_size}, {args.rounds} round(s)")
    for r, row in enumerate(rounds, 1):
        local, engines = row["local"], row["engines"]
        print(f"\nround {r}")
        print(f"{'method':48} {'seconds':>8} {'texts/s':>8}")
        print(f"{'in-process: load model + encode (2 threads)':48} {local:8.1f} {len(pairs) / local:8.1f}")
        print(f"{'  of which encode':48} {row['encode']:8.1f} {len(pairs) / row['encode']:8.1f}")
        print(f"{'in-process: encode half the texts on 1 thread':48} {row['half']:8.1f} {len(pairs) / 2 / row['half']:8.1f}")
        for (workers, threads), seconds in engines.items():
            label = f"Ray engine ({workers} worker{'s' * (workers > 1)} x {threads} thread{'s' * (threads > 1)}, whole job)"
            print(f"{label:48} {seconds:8.1f} {len(pairs) / seconds:8.1f}")
        print(f"ratio 2 workers x 1 thread: {local / engines[2, 1]:.2f}; 1 worker x 2 threads: {local / engines[1, 2]:.2f}; "
              f"1 thread vs 2 threads, per text: {row['half'] * 2 / row['encode']:.2f}x the time")
    two, one = (statistics.median(row["local"] / row["engines"][key] for row in rounds) for key in ((2, 1), (1, 2)))
    print(f"\nratio (in-process time / engine time), median of {len(rounds)} round(s), 2 workers x 1 thread: {two:.2f}  (target >= 0.8)")
    print(f"ratio, 1 worker x 2 threads: {one:.2f}")


if __name__ == "__main__":
    main()
