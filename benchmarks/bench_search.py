"""Query latency of exact (Flat) vs HNSW search at k=10 on SciFact, and HNSW's recall@10 against exact.

The 5,183 SciFact documents (title + abstract) and 300 claims are embedded once by the default model and
kept in the evaluation embedding cache (.cache/instructembed/embeddings), so reruns only time the search.
Latency is per query (one query a call, as a server sees them), over every claim, three rounds.
`--docs 300` proves the script runs in seconds.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from corpus import load_corpus  # noqa: F401  (puts src/ on the path)
from instructembed import Instructor
from instructembed.engine.fingerprint import model_fingerprint
from instructembed.evaluate.embedding_cache import EmbeddingCache
from instructembed.search import Index
from instructembed.shared_data import data_dir

DOC_INSTRUCTION = "Represent the Scientific document for retrieval:"
QUERY_INSTRUCTION = "Represent the Scientific question for retrieving supporting documents:"
ROUNDS = 3
K = 10


def cached_encode(model: Instructor, cache: EmbeddingCache, texts: list[str], instruction: str) -> np.ndarray:
    model_id = model_fingerprint(model)
    found = cache.get(model_id, instruction, texts)
    missing = [t for t, v in zip(texts, found) if v is None]
    if missing:
        vectors = model.encode(missing, instruction=instruction, normalize_embeddings=True, batch_size=32, show_progress_bar=True)
        cache.put(model_id, instruction, missing, vectors)
        found = cache.get(model_id, instruction, texts)
    return np.stack(found)


def latencies(index: Index, queries: np.ndarray) -> list[float]:
    times = []
    for _ in range(ROUNDS):
        for q in queries:
            start = time.perf_counter()
            index.search(q[None, :], k=K)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=None, help="first N documents only (default: all 5,183)")
    args = parser.parse_args()
    root = data_dir() / "eval" / "SciFact"
    if not root.exists():
        raise SystemExit(f"benchmark skipped: SciFact not found at {root} (set INSTRUCTEMBED_DATA_DIR)")
    docs = [json.loads(line) for line in open(root / "corpus.jsonl", encoding="utf-8")][: args.docs]
    claims = [json.loads(line)["text"] for line in open(root / "queries.jsonl", encoding="utf-8")]
    model = Instructor(device="cpu")
    cache = EmbeddingCache()
    doc_vectors = cached_encode(model, cache, [f"{d.get('title', '')} {d['text']}".strip() for d in docs], DOC_INSTRUCTION)
    query_vectors = cached_encode(model, cache, claims, QUERY_INSTRUCTION)
    ids = [d["_id"] for d in docs]
    built = {}
    for kind in ("flat", "hnsw"):
        start = time.perf_counter()
        built[kind] = Index.build(doc_vectors, ids, model=model, kind=kind)
        built[kind].search(query_vectors[:8], k=K)  # warm-up
        print(f"built {kind} ({built[kind].factory}, {built[kind].params}) over {len(ids)} docs in {time.perf_counter() - start:.2f}s")
    truth = built["flat"].search(query_vectors, k=K)
    approx = built["hnsw"].search(query_vectors, k=K)
    recall = np.mean([len({h.id for h in a} & {h.id for h in t}) / K for a, t in zip(approx, truth)])
    print(f"\n{'index':8} {'p50 ms':>8} {'p99 ms':>8}   ({len(claims)} queries x {ROUNDS} rounds, k={K}, one query a call)")
    for kind, index in built.items():
        ms = np.array(latencies(index, query_vectors)) * 1000
        print(f"{kind:8} {np.percentile(ms, 50):8.3f} {np.percentile(ms, 99):8.3f}")
    print(f"\nHNSW recall@{K} against exact: {recall:.4f}  (target >= 0.95)")


if __name__ == "__main__":
    main()
