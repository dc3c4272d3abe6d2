"""Prompt retrieval: pick in-context demonstrations for each test input by embedding similarity.

No language model runs here: the retrieval-side score is how often the selected demonstrations agree
with the test example (same label, or for free-form outputs the same output / same output template).
An LM scorer plugs in through `DemonstrationScorer`: it gets the test example and its demonstrations.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder

K_VALUES = (1, 4, 8)
MAIN_K = 8


class DemonstrationScorer(Protocol):
    """Scores one test example given its demonstrations (most similar first); e.g. an LM's accuracy."""

    def __call__(self, test: dict, demonstrations: list[dict]) -> float: ...


def select_demonstrations(test_vectors: np.ndarray, pool_vectors: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k most cosine-similar pool rows per test row, most similar first (ties: lower index)."""
    t = test_vectors / np.clip(np.linalg.norm(test_vectors, axis=1, keepdims=True), 1e-12, None)
    p = pool_vectors / np.clip(np.linalg.norm(pool_vectors, axis=1, keepdims=True), 1e-12, None)
    scores = t @ p.T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def output_template(output: str) -> str:
    """An output with its quoted literals and numbers masked (for SQL-like outputs)."""
    masked = re.sub(r'"[^"]*"|\'[^\']*\'', "<str>", output)
    return re.sub(r"\b\d+(\.\d+)?\b", "<num>", masked)


def agreement_metrics(
    test_outputs: Sequence[str], pool_outputs: Sequence[str], selected: np.ndarray, k_values: Sequence[int] = K_VALUES
) -> dict[str, float]:
    """For each k: share of the top-k demonstrations whose output equals the test output (and whose template does)."""
    out: dict[str, float] = {}
    for k in k_values:
        same = [[pool_outputs[j] == test_outputs[i] for j in row[:k]] for i, row in enumerate(selected)]
        same_template = [
            [output_template(pool_outputs[j]) == output_template(test_outputs[i]) for j in row[:k]]
            for i, row in enumerate(selected)
        ]
        out[f"agreement@{k}"] = float(np.mean([np.mean(r) for r in same]))
        out[f"template_agreement@{k}"] = float(np.mean([np.mean(r) for r in same_template]))
        out[f"any_match@{k}"] = float(np.mean([any(r) for r in same]))
    return out


def evaluate_prompt_retrieval(
    task: Task,
    encoder: TextEncoder,
    instructions: TaskInstructions,
    max_rows: int | None,
    scorer: DemonstrationScorer | None = None,
) -> dict:
    pool = task.rows("train")
    tests = subsample(task.rows(), max_rows)
    pool_vectors = encoder.encode([r["input"] for r in pool], instructions.corpus)
    test_vectors = encoder.encode([r["input"] for r in tests], instructions.query)
    selected = select_demonstrations(test_vectors, pool_vectors, max(K_VALUES))
    metrics = agreement_metrics([r["output"] for r in tests], [r["output"] for r in pool], selected)
    # the task's named main score ("label_agreement@k" / "output_match@k") is agreement at MAIN_K
    metrics[task.main_score] = metrics[f"agreement@{MAIN_K}"]
    if scorer is not None:
        metrics["lm_score"] = float(np.mean([scorer(t, [pool[j] for j in row]) for t, row in zip(tests, selected)]))
    return {**metrics, "k": MAIN_K, "n_rows": len(tests), "pool_size": len(pool)}
