"""Retrieval: exact cosine search, then MTEB's metrics through pytrec_eval (main: ndcg_at_10).

As `mteb.abstasks.retrieval.AbsTaskRetrieval` (mteb 2.x): the top 1000 documents per query,
k in (1, 3, 5, 10, 20, 100, 1000), averages rounded to 5 decimals, MRR@k with ties broken by document
id (descending, as pytrec_eval). Documents are `(title + " " + text).strip()`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, load_retrieval, subsample
from instructembed.evaluate.text_encoder import TextEncoder

K_VALUES = (1, 3, 5, 10, 20, 100, 1000)
TOP_K = 1000


def mrr_at_k(qrels: Mapping[str, Mapping[str, int]], results: Mapping[str, Mapping[str, float]], k_values: Sequence[int]) -> dict[str, list[float]]:
    """Reciprocal rank of the first relevant document within the top k, per query."""
    out: dict[str, list[float]] = {f"mrr_at_{k}": [] for k in k_values}
    for query_id, scores in results.items():
        ranked = sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)[: max(k_values)]
        relevant = {d for d, grade in qrels.get(query_id, {}).items() if grade > 0}
        for k in k_values:
            rr = next((1.0 / (rank + 1) for rank, (doc, _) in enumerate(ranked[:k]) if doc in relevant), 0.0)
            out[f"mrr_at_{k}"].append(rr)
    return out


def retrieval_metrics(
    results: Mapping[str, Mapping[str, float]],
    qrels: Mapping[str, Mapping[str, int]],
    k_values: Sequence[int] = K_VALUES,
) -> dict[str, float]:
    """nDCG, MAP, recall, precision, hit rate and MRR at each k, averaged over the queries of `qrels`.

    Queries in `results` without qrels are ignored; a query with only zero-grade judgments scores 0.
    """
    import pytrec_eval  # only retrieval and reranking need it

    results = {q: dict(scores) for q, scores in results.items() if q in qrels}
    for query_id in qrels:
        results.setdefault(query_id, {})
    ks = ",".join(str(k) for k in k_values)
    measures = {f"map_cut.{ks}", f"ndcg_cut.{ks}", f"recall.{ks}", f"P.{ks}", f"success.{ks}"}
    per_query = pytrec_eval.RelevanceEvaluator({q: dict(d) for q, d in qrels.items()}, measures).evaluate(results)
    n = len(qrels)
    out: dict[str, float] = {}
    for ours, theirs in (("ndcg_at", "ndcg_cut"), ("map_at", "map_cut"), ("recall_at", "recall"), ("precision_at", "P"), ("hit_rate_at", "success")):
        for k in k_values:
            total = sum(scores.get(f"{theirs}_{k}", 0.0) for scores in per_query.values())
            out[f"{ours}_{k}"] = round(total / n, 5)
    for key, values in mrr_at_k(qrels, results, k_values).items():
        out[key] = sum(values) / n
    return out


def search(query_vectors: np.ndarray, doc_vectors: np.ndarray, query_ids: list[str], doc_ids: list[str], top_k: int = TOP_K) -> dict[str, dict[str, float]]:
    """Exact cosine search: each query's `top_k` documents with their scores."""
    q = query_vectors / np.clip(np.linalg.norm(query_vectors, axis=1, keepdims=True), 1e-12, None)
    d = doc_vectors / np.clip(np.linalg.norm(doc_vectors, axis=1, keepdims=True), 1e-12, None)
    results: dict[str, dict[str, float]] = {}
    top_k = min(top_k, len(doc_ids))
    for start in range(0, len(query_ids), 256):
        scores = q[start : start + 256] @ d.T
        top = np.argpartition(-scores, top_k - 1, axis=1)[:, :top_k]
        for row, query_id in enumerate(query_ids[start : start + 256]):
            results[query_id] = {doc_ids[j]: float(scores[row, j]) for j in top[row]}
    return results


def evaluate_retrieval(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    data = load_retrieval(task)
    query_ids = subsample(sorted(data.qrels), max_rows)
    doc_ids = list(data.corpus)
    if max_rows is not None:  # quick eval: the judged documents plus a seeded sample of the rest, 10 per query
        judged = {d for q in query_ids for d in data.qrels[q] if d in data.corpus}
        others = set(subsample([d for d in doc_ids if d not in judged], max(0, 10 * max_rows - len(judged)), seed=1))
        doc_ids = [d for d in doc_ids if d in judged or d in others]
    query_vectors = encoder.encode([data.queries[q] for q in query_ids], instructions.query)
    doc_vectors = encoder.encode([data.corpus[d] for d in doc_ids], instructions.corpus)
    results = search(query_vectors, doc_vectors, query_ids, doc_ids)
    qrels = {q: data.qrels[q] for q in query_ids}
    return {**retrieval_metrics(results, qrels), "n_queries": len(query_ids), "n_documents": len(doc_ids)}
