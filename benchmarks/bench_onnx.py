"""The fast path on CPU: `embed --backend onnx-int8` and `--dtype bfloat16` vs torch fp32 vs sentence-transformers.

1. Through the CLI (each a fresh process, the same corpus file and all-MiniLM-L6-v2 weights, wall time
   including start-up and model load): `instructembed embed --backend torch`, `--backend onnx-int8` (export cache
   warm), `--dtype bfloat16` and a sentence-transformers script doing the same (read, encode with each row's
   instruction as prompt, save .npy), interleaved, median round. The first use of `--backend onnx-int8` (empty
   cache: export included) is timed once and reported separately.
2. In process, the same corpus through the default model's `encode`: torch fp32, torch bf16 (autocast, and bf16
   weights: `dtype="bfloat16"`), ONNX fp32 and ONNX int8: texts/s, ratio to torch fp32, and each row's cosine to
   torch fp32 (min / mean) on the bench corpus and on SciFact documents (the shared retrieval corpus).
3. `--sts`: the STSBenchmark score of each in-process variant.

    .venv/bin/python benchmarks/bench_onnx.py                         # the full run (~6 min on 2 quiet cores)
    .venv/bin/python benchmarks/bench_onnx.py --texts 40 --rounds 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch

from corpus import cosines, load_corpus, scifact_docs
from instructembed import Instructor
from instructembed.engine.default_model import base_model_path
from instructembed.export.cache import CACHE_ENV

BATCH = 32
TARGETS = "targets: embed --backend onnx-int8 >= 2.5x torch fp32 and >= 2.5x sentence-transformers (CLI); int8 min cosine >= 0.99, mean >= 0.997; bf16 offered only if faster at min cosine >= 0.999"

ST_SCRIPT = """
import json, sys, numpy as np
from sentence_transformers import SentenceTransformer
st = SentenceTransformer(sys.argv[1], device="cpu")
st.set_pooling_include_prompt(False)
rows = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
out = np.zeros((len(rows), st.get_sentence_embedding_dimension()), dtype=np.float32)
groups = {}
for i, r in enumerate(rows):
    groups.setdefault(r["instruction"], []).append(i)
for instruction, idx in groups.items():
    out[idx] = st.encode([rows[i]["text"] for i in idx], prompt=instruction, batch_size=32, normalize_embeddings=True)
np.save(sys.argv[3], out)
"""


def run(cmd: list[str], env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:6])} ... failed:\n{done.stderr[-2000:]}")
    return seconds, done.stderr


def cli_section(pairs: list[list[str]], rounds: int, work: Path, env: dict) -> dict[str, np.ndarray]:
    corpus = work / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"instruction": i, "text": t}) + "\n" for i, t in pairs), encoding="utf-8")
    cli = [sys.executable, "-m", "instructembed", "embed", str(corpus), "-m", "all-MiniLM-L6-v2",  # ST's weights
           "--instruction-field", "instruction", "--no-progress"]
    seconds, stderr = run(cli + ["-o", str(work / "onnx-int8.npy"), "--backend", "onnx-int8"], env)
    export = re.search(r"exported .* in ([0-9.]+)s", stderr)
    print(f"first use of --backend onnx-int8 (empty cache, export included): {seconds:.1f}s"
          + (f", of which the export {export.group(1)}s" if export else ""))
    st_model = str(base_model_path())
    commands = {
        "embed --backend torch": cli + ["-o", str(work / "torch.npy"), "--backend", "torch"],
        "embed --backend onnx-int8": cli + ["-o", str(work / "onnx-int8.npy"), "--backend", "onnx-int8"],
        "embed --dtype bfloat16": cli + ["-o", str(work / "bf16.npy"), "--dtype", "bfloat16"],
        "sentence-transformers script": [sys.executable, "-c", ST_SCRIPT, st_model, str(corpus), str(work / "st.npy")],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for r in range(rounds):
        for name, cmd in commands.items():
            seconds, stderr = run(cmd, env)
            assert "exporting" not in stderr, "the export cache was not reused"
            times[name].append(seconds)
        print(f"round {r + 1}/{rounds}: " + ", ".join(f"{n} {t[-1]:.1f}s" for n, t in times.items()), flush=True)
    median = {n: statistics.median(t) for n, t in times.items()}
    print(f"\nCLI, {len(pairs)} texts, wall time per process (start-up + load + embed + write), median of {rounds}:")
    for name, seconds in median.items():
        print(f"  {name:30s} {seconds:7.1f}s  {len(pairs) / seconds:7.1f} texts/s   "
              f"onnx-int8 is x{seconds / median['embed --backend onnx-int8']:.2f}, bf16 x{seconds / median['embed --dtype bfloat16']:.2f}")
    return {name: np.load(work / f"{name}.npy") for name in ("torch", "onnx-int8", "bf16", "st")}


def encode_section(pairs: list[list[str]], rounds: int, sts: bool, scifact: int) -> None:
    threads = torch.get_num_threads()
    fp32 = Instructor(device="cpu")
    bf16_weights = Instructor(device="cpu", dtype="bfloat16")
    variants = {
        "torch fp32": (fp32, nullcontext),
        "torch bf16 autocast": (fp32, lambda: torch.autocast("cpu", dtype=torch.bfloat16)),
        "torch bf16 weights": (bf16_weights, nullcontext),
        "onnx fp32": (Instructor(backend="onnx", threads=threads), nullcontext),
        "onnx int8": (Instructor(backend="onnx-int8", threads=threads), nullcontext),
    }

    def encode(name: str, rows: list[list[str]] = pairs) -> np.ndarray:
        model, context = variants[name]
        with context():
            return np.asarray(model.encode(rows, batch_size=BATCH), dtype=np.float32)

    docs = scifact_docs(scifact) if scifact else []
    reference, doc_reference = encode("torch fp32"), encode("torch fp32", docs) if docs else None
    print(f"\nencode in process, {len(pairs)} texts, batch {BATCH}, {threads} threads; cosine of each row to torch fp32"
          + (f" (bench corpus; {len(docs)} SciFact documents):" if docs else ":"))
    for name in variants:
        c = cosines(encode(name), reference)  # also the warm-up
        line = f"  {name:20s} cosine min {c.min():.5f}  mean {c.mean():.5f}"
        if docs:
            d = cosines(encode(name, docs), doc_reference)
            line += f"   SciFact min {d.min():.5f}  mean {d.mean():.5f}"
        print(line)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name in variants:
            start = time.perf_counter()
            encode(name)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["torch fp32"])
    print(f"speed, median of {rounds} interleaved rounds:")
    for name, t in times.items():
        median = statistics.median(t)
        print(f"  {name:20s} {len(pairs) / median:8.1f} texts/s   x{base / median:.2f} vs torch fp32")
    if sts:
        from instructembed.evaluate import InstructionSet, evaluate_task, load_task

        task = load_task("STSBenchmark")
        for name, (model, context) in variants.items():
            with context():
                score = evaluate_task(model, task, InstructionSet.default()).main_score
            print(f"  STSBenchmark cosine Spearman x100, {name}: {score:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000, help="bench-corpus texts")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sts", action="store_true", help="also score STSBenchmark with each in-process variant")
    parser.add_argument("--scifact", type=int, default=600, help="SciFact documents for the cosine figures (0: none)")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # truncation counts are expected
    pairs = load_corpus(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {CACHE_ENV: str(Path(tmp) / "cache")}  # a cold cache: the first use exports
        os.environ[CACHE_ENV] = env[CACHE_ENV]
        if not args.skip_cli:
            out = cli_section(pairs, args.rounds, Path(tmp), env)
            for name in ("onnx-int8", "bf16", "st"):
                c = cosines(out[name], out["torch"])
                print(f"  cosine to embed --backend torch: {name:10s} min {c.min():.5f}  mean {c.mean():.5f}")
        encode_section(pairs, args.rounds, args.sts, args.scifact)
    print(f"\n{TARGETS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
