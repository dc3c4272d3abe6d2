"""Pair classification: best-threshold accuracy/F1 and AP of pair scores (MTEB's definition; main: max_ap)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score
from sklearn.metrics.pairwise import paired_cosine_distances, paired_euclidean_distances, paired_manhattan_distances

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder


def best_accuracy(scores: list[float], labels: np.ndarray, higher_is_similar: bool) -> tuple[float, float]:
    """Best accuracy over thresholds between distinct scores (ties never split), and that threshold."""
    rows = sorted(zip(scores, labels), key=lambda x: x[0], reverse=higher_is_similar)
    best, threshold = 0.0, -1.0
    positives, negatives_left = 0, int(np.sum(labels == 0))
    for i in range(len(rows) - 1):
        score, label = rows[i]
        if label == 1:
            positives += 1
        else:
            negatives_left -= 1
        if score == rows[i + 1][0]:
            continue
        accuracy = (positives + negatives_left) / len(labels)
        if accuracy > best:
            best, threshold = accuracy, (rows[i][0] + rows[i + 1][0]) / 2
    return best, threshold


def best_f1(scores: list[float], labels: np.ndarray, higher_is_similar: bool) -> tuple[float, float, float, float]:
    """Best F1 over thresholds between distinct scores: (f1, precision, recall, threshold)."""
    rows = sorted(zip(scores, labels), key=lambda x: x[0], reverse=higher_is_similar)
    best = (0.0, 0.0, 0.0, 0.0)
    correct, total_positive = 0, int(np.sum(labels))
    for i, (score, label) in enumerate(rows[:-1]):
        if label == 1:
            correct += 1
        if score == rows[i + 1][0] or correct == 0:
            continue
        precision, recall = correct / (i + 1), correct / total_positive
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best[0]:
            best = (f1, precision, recall, (rows[i][0] + rows[i + 1][0]) / 2)
    return best


def pair_classification_metrics(embeddings1: np.ndarray, embeddings2: np.ndarray, labels: list[int]) -> dict[str, float]:
    """MTEB's fields for cosine, Manhattan, Euclidean and dot scores, plus `max_*` over them."""
    y = np.asarray(labels, dtype=np.int64)
    cosine = 1 - paired_cosine_distances(embeddings1, embeddings2)
    scores = {
        "similarity": (cosine, True),  # the model's similarity is cosine
        "cosine": (cosine, True),
        "manhattan": (paired_manhattan_distances(embeddings1, embeddings2), False),
        "euclidean": (paired_euclidean_distances(embeddings1, embeddings2), False),
        "dot": (np.einsum("ij,ij->i", embeddings1, embeddings2), True),
    }
    out: dict[str, float] = {}
    for name, (values, higher) in scores.items():
        values = values.tolist()
        accuracy, _ = best_accuracy(values, y, higher)
        f1, precision, recall, _ = best_f1(values, y, higher)
        ap = average_precision_score(y, np.asarray(values) * (1 if higher else -1))
        for metric, value in (("accuracy", accuracy), ("f1", f1), ("precision", precision), ("recall", recall), ("ap", ap)):
            out[f"{name}_{metric}"] = float(value)
    for metric in ("accuracy", "f1", "precision", "recall", "ap"):
        out[f"max_{metric}"] = max(out[f"{name}_{metric}"] for name in scores)
    return out


def evaluate_pair_classification(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    rows = subsample(task.rows(), max_rows)
    e1 = encoder.encode([r["sentence1"] for r in rows], instructions.query)
    e2 = encoder.encode([r["sentence2"] for r in rows], instructions.query)
    return {**pair_classification_metrics(e1, e2, [r["label"] for r in rows]), "n_rows": len(rows)}
