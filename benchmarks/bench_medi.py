"""Time the MEDI mining step, each against a peer measured in the same run.

1. Text-output mining (both formulas) on a 500-instance task: vectorized vs a per-anchor loop.
2. Classification mining on 500 instances: vectorized vs a per-anchor loop.
3. Pair-negative mining, 1000 queries x 3000 documents: chunked matrix vs a per-query loop.
4. Embeddings for 500 real task inputs: warm cache (load) vs cold (encode with the default model).

Run: .venv/bin/python benchmarks/bench_medi.py
"""

from __future__ import annotations

import json
import tempfile
import time

import numpy as np

from instructembed.medi.embedding_cache import CachedEmbedder
from instructembed.medi.mining import mine_classification, mine_pair_negatives, mine_text_output
from instructembed.shared_data import data_dir


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def unit(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    a = rng.normal(size=(n, d)).astype(np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def loop_text_output(x: np.ndarray, y: np.ndarray) -> tuple[list[int], list[int]]:
    pos, neg = [], []
    for i in range(len(x)):
        sx, sy = x @ x[i], y @ y[i]
        s_pos = sx + sy
        s_pos[i] = -np.inf
        p = int(s_pos.argmax())
        s_neg = sx - sy
        s_neg[[i, p]] = -np.inf
        pos.append(p)
        neg.append(int(s_neg.argmax()))
    return pos, neg


def loop_classification(x: np.ndarray, labels: np.ndarray) -> tuple[list[int], list[int]]:
    pos, neg = [], []
    for i in range(len(x)):
        s = (x @ x[i]).astype(np.float64)
        same = np.where(labels == labels[i], s, -np.inf)
        same[i] = -np.inf
        pos.append(int(same.argmax()))
        neg.append(int(np.where(labels != labels[i], s, -np.inf).argmax()))
    return pos, neg


def loop_pair_negatives(q: np.ndarray, d: np.ndarray, pos_doc: np.ndarray) -> list[int]:
    out = []
    for i in range(len(q)):
        s = (d @ q[i]).astype(np.float64)
        limit = s[pos_doc[i]] * 0.95 if s[pos_doc[i]] > 0 else s[pos_doc[i]]
        s[pos_doc[i]] = -np.inf
        s[s >= limit] = -np.inf
        out.append(int(s.argmax()))
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    x, y = unit(rng, 500), unit(rng, 500)
    fast = timed(lambda: mine_text_output(x, y))
    slow = timed(lambda: loop_text_output(x, y))
    assert [list(a) for a in mine_text_output(x, y)] == [list(a) for a in loop_text_output(x, y)]
    print(f"text-output mining, 500 instances: {fast * 1e3:.1f} ms vectorized vs {slow * 1e3:.1f} ms per-anchor loop "
          f"-> {slow / fast:.1f}x")

    labels = rng.integers(0, 4, size=500).astype(str)
    fast = timed(lambda: mine_classification(x, list(labels)))
    slow = timed(lambda: loop_classification(x, labels))
    print(f"classification mining, 500 instances: {fast * 1e3:.1f} ms vectorized vs {slow * 1e3:.1f} ms per-anchor loop "
          f"-> {slow / fast:.1f}x")

    q, d = unit(rng, 1000), unit(rng, 3000)
    pos_doc = np.arange(1000)
    excluded = [set() for _ in range(1000)]
    fast = timed(lambda: mine_pair_negatives(q, d, pos_doc, excluded), repeat=2)
    slow = timed(lambda: loop_pair_negatives(q, d, pos_doc), repeat=1)
    print(f"pair-negative mining, 1000 queries x 3000 documents: {fast:.2f} s chunked vs {slow:.2f} s per-query loop -> {slow / fast:.1f}x")

    task = data_dir() / "train" / "sni" / "task1152_bard_analogical_reasoning_causation.json"
    if not task.is_file():
        print(f"embedding cache: skipped (no shared data at {task})")
        return
    texts = [i["input"] for i in json.loads(task.read_text(encoding="utf-8"))["Instances"]]
    with tempfile.TemporaryDirectory() as cache:
        embedder = CachedEmbedder(None, cache)
        embedder.model  # noqa: B018 - load outside the timing
        start = time.perf_counter()
        embedder.embed(texts)
        cold = time.perf_counter() - start
        warm = timed(lambda: embedder.embed(texts))
    print(f"embedding {len(texts)} task inputs: warm cache {warm * 1e3:.1f} ms vs cold encode {cold:.2f} s "
          f"-> {cold / warm:.0f}x (CPU shared with other jobs; ratios only)")


if __name__ == "__main__":
    main()
