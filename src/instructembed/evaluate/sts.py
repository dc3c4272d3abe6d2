"""STS: Pearson/Spearman of pair similarities against gold scores (MTEB's definition; main: cosine_spearman)."""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics.pairwise import paired_cosine_distances, paired_euclidean_distances, paired_manhattan_distances

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder


def sts_metrics(embeddings1: np.ndarray, embeddings2: np.ndarray, gold: list[float]) -> dict[str, float]:
    """Correlations of cosine, -Manhattan and -Euclidean pair scores with gold scores (MTEB STS fields)."""
    cosine = 1 - paired_cosine_distances(embeddings1, embeddings2)
    manhattan = -paired_manhattan_distances(embeddings1, embeddings2)
    euclidean = -paired_euclidean_distances(embeddings1, embeddings2)
    out: dict[str, float] = {}
    for name, scores in (("cosine", cosine), ("manhattan", manhattan), ("euclidean", euclidean)):
        out[f"{name}_pearson"] = float(pearsonr(gold, scores)[0])
        out[f"{name}_spearman"] = float(spearmanr(gold, scores)[0])
    out["pearson"], out["spearman"] = out["cosine_pearson"], out["cosine_spearman"]
    return out


def evaluate_sts(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    rows = subsample(task.rows(), max_rows)
    low, high = task.meta.get("min_score", 0), task.meta.get("max_score", 5)
    gold = [(r["score"] - low) / (high - low) for r in rows]  # MTEB normalizes; correlations do not change
    e1 = encoder.encode([r["sentence1"] for r in rows], instructions.query)
    e2 = encoder.encode([r["sentence2"] for r in rows], instructions.query)
    return {**sts_metrics(e1, e2, gold), "n_rows": len(rows)}
