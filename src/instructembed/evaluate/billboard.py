"""Billboard: a candidate's score is its max cosine to the references; Pearson with human scores (main: pearson)."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau, pearsonr, spearmanr

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def max_reference_cosine(candidate: np.ndarray, references: np.ndarray) -> float:
    return float((_unit(references) @ _unit(candidate)).max())


def billboard_metrics(predicted: list[float], human: list[float]) -> dict[str, float]:
    return {
        "pearson": float(pearsonr(predicted, human)[0]),
        "spearman": float(spearmanr(predicted, human)[0]),
        "kendall": float(kendalltau(predicted, human)[0]),
    }


def evaluate_billboard(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    rows = subsample(task.rows(), max_rows)
    candidates = encoder.encode([r["candidate"] for r in rows], instructions.query)
    references = encoder.encode([ref for r in rows for ref in r["references"]], instructions.query)
    predicted, start = [], 0
    for row, candidate in zip(rows, candidates):
        predicted.append(max_reference_cosine(candidate, references[start : start + len(row["references"])]))
        start += len(row["references"])
    return {**billboard_metrics(predicted, [float(r["human_score"]) for r in rows]), "n_rows": len(rows)}
