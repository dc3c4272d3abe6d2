"""Ray Data engine vs in-process `encode` on the same 2,000 texts: the engine's overhead, as a ratio.

Peer: this process loads the model and runs `Instructor.encode` with 2 torch threads. Engine:
`embed_shards_ray` on a local Ray cluster (2 CPUs) with 2 workers x 1 thread, reading 4 parquet shards
and writing 4; its time is the whole job (actors start and load the model, read, embed, write), not the
cluster start. Ratio = peer time / engine time (target >= 0.8); encode alone is printed too.
`--n 40` proves the script runs (its numbers mean nothing: start-up dominates).
"""

from __future__ import annotations

import argparse
import logging
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
        start = time.perf_counter()
        model = Instructor(device="cpu")
        loaded = time.perf_counter()
        model.encode(pairs, batch_size=BATCH, normalize_embeddings=True)
        local, encode_only = time.perf_counter() - start, time.perf_counter() - loaded

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        try:
            start = time.perf_counter()
            report = embed_shards_ray(
                root / "in", root / "out", instruction_column="instruction", workers=2, threads_per_worker=1,
                batch_size=BATCH, chunk_size=128, show_progress_bar=False,
            )
            engine = time.perf_counter() - start
        finally:
            ray.shutdown()
    assert report.rows == len(pairs), report
    print(f"corpus: {len(pairs)} texts, 5 instructions, 4 shards")
    print(f"{'method':44} {'seconds':>8} {'texts/s':>8}")
    print(f"{'in-process: load model + encode (2 threads)':44} {local:8.1f} {len(pairs) / local:8.1f}")
    print(f"{'  of which encode':44} {encode_only:8.1f} {len(pairs) / encode_only:8.1f}")
    print(f"{'Ray engine (2 workers x 1 thread, whole job)':44} {engine:8.1f} {len(pairs) / engine:8.1f}")
    print(f"\nratio (in-process time / engine time): {local / engine:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
