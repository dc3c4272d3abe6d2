"""Steering: does the instruction decide what is close? (main: steer, in points)

Every text carries two independent labels (e.g. source and sentiment). For each property p the task has an
instruction that asks for it. **Neighbour precision** of p under an embedding = the share of each text's k
nearest neighbours (cosine, leave-one-out) that share its p label, averaged over texts.

- `asked_p`: under the instruction asking for p; `other_p`: under the instruction asking for the other
  property; `plain_p`: without instruction.
- `steer` = mean over p of `asked_p - other_p`; `asked_minus_plain` = mean over p of `asked_p - plain_p`.

Metrics are fractions (0-1) like every other type's; the reported main score is x100, i.e. points.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from instructembed.errors import InstructEmbedError
from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder

K = 10


def neighbour_precision(vectors: np.ndarray, labels: Sequence[Any], k: int = K) -> float:
    """Mean share of each row's k nearest other rows (cosine) that carry the row's label."""
    n = len(labels)
    if n < 2:
        raise InstructEmbedError("neighbour precision needs at least two texts")
    k = min(k, n - 1)
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    scores = unit @ unit.T
    np.fill_diagonal(scores, -np.inf)
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]  # (n, k), order inside the top k does not matter
    values = np.asarray([str(v) for v in labels])
    return float((values[top] == values[:, None]).mean())


def steering_scores(
    plain: np.ndarray,
    under: dict[str, np.ndarray],
    labels: dict[str, Sequence[Any]],
    k: int = K,
) -> dict[str, float]:
    """Every steering metric from the embeddings without instruction (`plain`) and under each property's
    instruction (`under[p]`); `labels[p]` are the texts' labels for p. Exactly two properties."""
    properties = list(labels)
    if len(properties) != 2 or set(under) != set(properties):
        raise InstructEmbedError(f"steering needs exactly two properties with one instruction each, got {properties}")
    out: dict[str, float] = {}
    for p in properties:
        q = next(x for x in properties if x != p)
        out[f"asked_{p}"] = neighbour_precision(under[p], labels[p], k)
        out[f"other_{p}"] = neighbour_precision(under[q], labels[p], k)
        out[f"plain_{p}"] = neighbour_precision(plain, labels[p], k)
        out[f"steer_{p}"] = out[f"asked_{p}"] - out[f"other_{p}"]
        out[f"asked_minus_plain_{p}"] = out[f"asked_{p}"] - out[f"plain_{p}"]
    out["steer"] = float(np.mean([out[f"steer_{p}"] for p in properties]))
    out["asked_minus_plain"] = float(np.mean([out[f"asked_minus_plain_{p}"] for p in properties]))
    return out


def task_properties(task: Task) -> list[str]:
    properties = task.meta.get("properties")
    if not isinstance(properties, list) or len(properties) != 2 or not all(isinstance(p, str) for p in properties):
        raise InstructEmbedError(f"task {task.name}: meta.json 'properties' must list exactly two property names")
    return properties


def steering_rows(task: Task, max_rows: int | None = None) -> tuple[list[str], dict[str, list[str]]]:
    """Texts and their labels per property; a row missing a property's label is an error naming it."""
    properties = task_properties(task)
    rows = subsample(task.rows(), max_rows)
    labels: dict[str, list[str]] = {p: [] for p in properties}
    for number, row in enumerate(rows, 1):
        for p in properties:
            value = row["labels"].get(p)
            if value is None or isinstance(value, (dict, list)):
                raise InstructEmbedError(f"task {task.name}: test.jsonl row {number}: labels has no value for {p!r}")
            labels[p].append(str(value))
    return [r["text"] for r in rows], labels


def evaluate_steering(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    texts, labels = steering_rows(task, max_rows)
    by_property = instructions.properties or {}
    plain = encoder.encode(texts, None)
    if not by_property:  # a run without instructions: every view is the plain one, steer is 0 by definition
        under = {p: plain for p in labels}
    else:
        missing = [p for p in labels if not by_property.get(p)]
        if missing:
            raise InstructEmbedError(f"task {task.name}: no instruction for propert{'y' if len(missing) == 1 else 'ies'} "
                                     f"{', '.join(missing)} (instructions name {sorted(by_property)})")
        under = {p: encoder.encode(texts, by_property[p]) for p in labels}
    metrics: dict[str, Any] = steering_scores(plain, under, labels)
    metrics.update(n_rows=len(texts), k=K, properties=list(labels))
    return metrics
