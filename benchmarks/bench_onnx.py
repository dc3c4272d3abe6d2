"""ONNX int8 (and fp32) vs torch fp32 on CPU: texts/s on the fixed corpus, plus parity.

Export the default model once (fp32 + int8, into runs/bench-onnx), then time torch, ONNX fp32 and
ONNX int8 interleaved (one round each, repeated) so the shared CPU's noise hits all alike; the
median round is reported, with the ratio to torch. `--sts` adds the STSBenchmark score of each.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from corpus import load_corpus
from instructembed import Instructor
from instructembed.export import OnnxInstructor, export_onnx

ROUNDS = 3
BATCH = 32
N_TEXTS = 400
OUT = Path(__file__).resolve().parents[1] / "runs" / "bench-onnx"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sts", action="store_true", help="also score STSBenchmark with each backend (~2 min)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    pairs = load_corpus(N_TEXTS)
    threads = torch.get_num_threads()
    model = Instructor(device="cpu")
    export_onnx(model, OUT, quantize="int8")
    backends = {
        "torch fp32": model,
        "onnx fp32": OnnxInstructor(OUT, "model.onnx", threads=threads),
        "onnx int8": OnnxInstructor(OUT, "model_int8.onnx", threads=threads),
    }
    reference = model.encode(pairs, batch_size=BATCH)
    for name, backend in backends.items():  # warm-up, and parity on the same texts
        out = backend.encode(pairs, batch_size=BATCH)
        cos = np.sum(out * reference, axis=1) / np.linalg.norm(out, axis=1) / np.linalg.norm(reference, axis=1)
        print(f"{name:11s} cosine to torch: min {cos.min():.5f}, mean {cos.mean():.5f}")
    times: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(ROUNDS):
        for name, backend in backends.items():
            times[name].append(timed(lambda: backend.encode(pairs, batch_size=BATCH)))
    base = statistics.median(times["torch fp32"])
    print(f"\n{len(pairs)} texts, batch {BATCH}, {threads} threads, median of {ROUNDS} interleaved rounds")
    for name, t in times.items():
        median = statistics.median(t)
        print(f"{name:11s} {len(pairs) / median:8.1f} texts/s   x{base / median:.2f} vs torch fp32")
    if args.sts:
        from instructembed.evaluate import evaluate_task, load_task

        task = load_task("STSBenchmark")
        for name, backend in backends.items():
            print(f"STSBenchmark cosine Spearman x100, {name}: {evaluate_task(backend, task, cache=False).main_score:.2f}")


if __name__ == "__main__":
    sys.exit(main())
