"""Clustering: mini-batch k-means per clustering set, V-measure averaged (main: v_measure).

The protocol of `mteb.abstasks.clustering_legacy.AbsTaskClusteringLegacy` (mteb 2.x; the one MTEB 1.x used
for the classic clustering tasks): `MiniBatchKMeans(n_clusters=#labels, batch_size=500, n_init="auto",
random_state=42)` on each set; a set with a single label scores 1.0.
INSTRUCTOR's rule: a text whose instruction + text exceeds 256 tokens is embedded without the instruction.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics.cluster import v_measure_score

from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder

SEED = 42
BATCH_SIZE = 500
INSTRUCTION_TOKEN_LIMIT = 256


def cluster_v_measure(embeddings: np.ndarray, labels: list, seed: int = SEED) -> float:
    """V-measure of mini-batch k-means (k = number of labels) against the labels."""
    if len(set(labels)) <= 1:
        return 1.0
    model = MiniBatchKMeans(
        n_clusters=len(set(labels)), batch_size=BATCH_SIZE, n_init="auto", compute_labels=True, random_state=seed
    )
    model.fit(embeddings)
    return float(v_measure_score(labels, model.labels_))


def clustering_metrics(v_measures: list[float]) -> dict:
    return {"v_measure": float(np.mean(v_measures)), "v_measure_std": float(np.std(v_measures)), "v_measures": v_measures}


def clustering_instructions(encoder: TextEncoder, texts: list[str], instruction: str | None) -> list[str | None]:
    """Per-text instruction under the 256-token rule (kept where the model has no tokenizer)."""
    if not instruction:
        return [None] * len(texts)
    out = []
    for text in texts:
        count = encoder.token_count(instruction + text, INSTRUCTION_TOKEN_LIMIT)
        out.append(None if count is not None and count > INSTRUCTION_TOKEN_LIMIT else instruction)
    return out


def evaluate_clustering(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    v_measures, dropped = [], 0
    for row in task.rows():
        pairs = subsample(list(zip(row["sentences"], row["labels"])), max_rows)
        texts, labels = [p[0] for p in pairs], [p[1] for p in pairs]
        if len(set(labels)) <= 1:
            v_measures.append(1.0)
            continue
        per_text = clustering_instructions(encoder, texts, instructions.query)
        dropped += sum(1 for i in per_text if i is None) if instructions.query else 0
        v_measures.append(cluster_v_measure(encoder.encode(texts, per_text), labels))
    return {**clustering_metrics(v_measures), "n_sets": len(v_measures), "instruction_dropped_256": dropped}
