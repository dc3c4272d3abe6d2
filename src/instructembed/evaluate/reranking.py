"""Reranking: rank each query's candidates by cosine; MAP and MRR@10 (main: map).

MAP here is average precision over all of a query's candidates (MTEB 1.x reranking's `map`, equal to
MTEB 2.x's `map_at_1000` for fewer than 1000 candidates), computed with pytrec_eval like retrieval.
Rows without a positive or without a negative candidate are skipped, as MTEB's reranking evaluator does.
"""

from __future__ import annotations

import numpy as np

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.retrieval import retrieval_metrics
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder


def reranking_metrics(scores: list[list[float]], relevant: list[list[bool]]) -> dict[str, float]:
    """`scores[i][j]`: similarity of query i to its candidate j; `relevant[i][j]`: whether it is a positive."""
    results, qrels = {}, {}
    for i, (row_scores, row_relevant) in enumerate(zip(scores, relevant)):
        # ids sort in candidate order, so ties break the same way in MAP (pytrec_eval) and MRR
        width = len(str(len(row_scores)))
        results[f"q{i}"] = {f"d{j:0{width}d}": float(s) for j, s in enumerate(row_scores)}
        qrels[f"q{i}"] = {f"d{j:0{width}d}": int(r) for j, r in enumerate(row_relevant)}
    k = max(1000, max((len(s) for s in scores), default=1))
    full = retrieval_metrics(results, qrels, (1, 3, 5, 10, k))
    return {
        "map": full[f"map_at_{k}"],
        "mrr_at_10": full["mrr_at_10"],
        "ndcg_at_10": full["ndcg_at_10"],
        "precision_at_1": full["precision_at_1"],
        "recall_at_10": full["recall_at_10"],
    }


def _cosine(query: np.ndarray, docs: np.ndarray) -> np.ndarray:
    return (docs @ query) / np.clip(np.linalg.norm(docs, axis=1) * np.linalg.norm(query), 1e-12, None)


def evaluate_reranking(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    all_rows = task.rows()
    rows = subsample([r for r in all_rows if r["positive"] and r["negative"]], max_rows)
    queries = encoder.encode([r["query"] for r in rows], instructions.query)
    candidates = [r["positive"] + r["negative"] for r in rows]
    docs = encoder.encode([c for cs in candidates for c in cs], instructions.corpus)
    scores, relevant, start = [], [], 0
    for row, query, cs in zip(rows, queries, candidates):
        scores.append(_cosine(query, docs[start : start + len(cs)]).tolist())
        relevant.append([True] * len(row["positive"]) + [False] * len(row["negative"]))
        start += len(cs)
    return {**reranking_metrics(scores, relevant), "n_rows": len(rows), "n_skipped": len(all_rows) - len(rows) if max_rows is None else 0}
