"""Classification: logistic regression on undersampled train embeddings, MTEB's experiments (main: accuracy).

As `mteb.abstasks.classification.AbsTaskClassification` (mteb 2.x): `n_experiments` runs; run i shuffles the
index list (carried over from run i-1) with a fresh `np.random.RandomState(seed)` and keeps the first
`samples_per_label` rows of each label; `LogisticRegression(max_iter=100, random_state=seed)`; scores averaged.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, precision_score, recall_score

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder

SEED = 42
N_EXPERIMENTS = 10
SAMPLES_PER_LABEL = 8
# MTEB's own settings for the shared MTEB tasks, so results do not depend on mteb being installed.
MTEB_SETTINGS = {
    "AmazonCounterfactualClassification": (10, 32),
    "Banking77Classification": (10, 8),
    "TweetSentimentExtractionClassification": (10, 32),
}


def undersample(labels: list[Any], samples_per_label: int, seed: int, idxs: list[int] | None) -> tuple[list[int], list[int]]:
    """One experiment's training rows: (shuffled index list to carry over, selected indices)."""
    idxs = list(range(len(labels))) if idxs is None else idxs
    np.random.RandomState(seed).shuffle(idxs)
    counts: dict[Any, int] = defaultdict(int)
    selected = []
    for i in idxs:
        if counts[labels[i]] < samples_per_label:
            selected.append(i)
            counts[labels[i]] += 1
    return idxs, selected


def experiment_selections(labels: list[Any], n_experiments: int, samples_per_label: int, seed: int = SEED) -> list[list[int]]:
    idxs, selections = None, []
    for _ in range(n_experiments):
        idxs, selected = undersample(labels, samples_per_label, seed, idxs)
        selections.append(selected)
    return selections


def prediction_metrics(y_true: list[int], y_pred: list[int]) -> dict[str, float | None]:
    """MTEB's per-experiment fields; `ap`/`ap_weighted` (of the predicted labels) only for two classes."""
    out: dict[str, float | None] = {
        "accuracy": accuracy_score(y_true, y_pred),
        "f1": f1_score(y_true, y_pred, average="macro"),
        "f1_weighted": f1_score(y_true, y_pred, average="weighted"),
        "precision": precision_score(y_true, y_pred, average="macro", zero_division=0),
        "precision_weighted": precision_score(y_true, y_pred, average="weighted", zero_division=0),
        "recall": recall_score(y_true, y_pred, average="macro", zero_division=0),
        "recall_weighted": recall_score(y_true, y_pred, average="weighted", zero_division=0),
        "ap": None,
        "ap_weighted": None,
    }
    if len(np.unique(y_true)) == 2:
        out["ap"] = average_precision_score(y_true, y_pred, average="macro")
        out["ap_weighted"] = average_precision_score(y_true, y_pred, average="weighted")
    return {k: (None if v is None else float(v)) for k, v in out.items()}


def classification_metrics(
    train_embeddings: np.ndarray,
    train_labels: list[int],
    test_embeddings: np.ndarray,
    test_labels: list[int],
    selections: list[list[int]],
    seed: int = SEED,
) -> dict[str, Any]:
    """Fit one classifier per selection of training rows; average MTEB's fields over the experiments."""
    per_experiment = []
    for selected in selections:
        classifier = LogisticRegression(max_iter=100, random_state=seed)
        classifier.fit(train_embeddings[selected], [train_labels[i] for i in selected])
        per_experiment.append(prediction_metrics(test_labels, classifier.predict(test_embeddings).tolist()))
    averaged: dict[str, Any] = {}
    for key in per_experiment[0]:
        values = [s[key] for s in per_experiment if s[key] is not None]
        averaged[key] = float(np.mean(values)) if values else None
    averaged["scores_per_experiment"] = per_experiment
    return averaged


def task_settings(task: Task) -> tuple[int, int]:
    """(n_experiments, samples_per_label): from meta.json, else MTEB's settings (pinned here, then its task class), else its defaults."""
    n, k = task.meta.get("n_experiments"), task.meta.get("samples_per_label")
    if (n is None or k is None) and task.mteb_name in MTEB_SETTINGS:
        n = n if n is not None else MTEB_SETTINGS[task.mteb_name][0]
        k = k if k is not None else MTEB_SETTINGS[task.mteb_name][1]
    if (n is None or k is None) and task.mteb_name:
        try:
            import mteb

            mteb_task = mteb.get_task(task.mteb_name)
            n = n if n is not None else getattr(mteb_task, "n_experiments", None)
            k = k if k is not None else getattr(mteb_task, "samples_per_label", None)
        except Exception:  # mteb missing or the name unknown to it: fall back to the defaults
            pass
    return int(n or N_EXPERIMENTS), int(k or SAMPLES_PER_LABEL)


def evaluate_classification(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    train = task.rows("train")
    test = subsample(task.rows(), max_rows)
    label_ids = {label: i for i, label in enumerate(sorted({r["label"] for r in train + test}, key=str))}
    train_labels = [label_ids[r["label"]] for r in train]
    n_experiments, samples_per_label = task_settings(task)
    selections = experiment_selections(train_labels, n_experiments, samples_per_label)
    union = sorted(set().union(*selections))
    position = {row: pos for pos, row in enumerate(union)}
    union_embeddings = encoder.encode([train[i]["text"] for i in union], instructions.query)
    test_embeddings = encoder.encode([r["text"] for r in test], instructions.query)
    remapped = [[position[i] for i in selected] for selected in selections]
    metrics = classification_metrics(
        union_embeddings,
        [train_labels[i] for i in union],
        test_embeddings,
        [label_ids[r["label"]] for r in test],
        remapped,
    )
    metrics.update(n_rows=len(test), n_experiments=n_experiments, samples_per_label=samples_per_label)
    return metrics
