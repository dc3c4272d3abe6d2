"""Summarization: per document, Spearman of each machine summary's max cosine to the human summaries
against human relevance; averaged over documents (MTEB's definition; main: cosine_spearman).

Documents whose human scores or predicted scores are all equal are skipped, as MTEB does.
`cosine_spearman` is the correct definition (MTEB 2.x's `SummEvalSummarization.v2`). MTEB 1.x and 2.x's
`SummEval` task average each document's (statistic, p-value) pair by mistake (mteb issue #1156); that
value is kept as `cosine_spearman_mteb_legacy` so published SummEval numbers can be compared.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import pearsonr, spearmanr

from instructembed.errors import InstructEmbedError
from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def summarization_metrics(documents: list[tuple[np.ndarray, np.ndarray, list[float]]]) -> dict[str, float]:
    """`documents`: (human summary vectors, machine summary vectors, relevance per machine summary)."""
    fields: dict[str, list[float]] = {k: [] for k in ("cosine_spearman", "cosine_pearson", "dot_spearman", "dot_pearson")}
    legacy: dict[str, list[float]] = {"cosine_spearman_mteb_legacy": [], "cosine_pearson_mteb_legacy": []}
    skipped = 0
    for human, machine, relevance in documents:
        cosine = (_unit(machine) @ _unit(human).T).max(axis=1)
        dot = (machine @ human.T).max(axis=1)
        if len(set(relevance)) == 1 or len(set(cosine.tolist())) == 1 or len(set(dot.tolist())) == 1:
            skipped += 1
            continue
        rho, rho_p = spearmanr(relevance, cosine)
        r, r_p = pearsonr(relevance, cosine)
        fields["cosine_spearman"].append(float(rho))
        fields["cosine_pearson"].append(float(r))
        legacy["cosine_spearman_mteb_legacy"].append(float(np.mean([rho, rho_p])))
        legacy["cosine_pearson_mteb_legacy"].append(float(np.mean([r, r_p])))
        fields["dot_spearman"].append(float(spearmanr(relevance, dot)[0]))
        fields["dot_pearson"].append(float(pearsonr(relevance, dot)[0]))
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in {**fields, **legacy}.items()}
    out["spearman"], out["pearson"] = out["cosine_spearman"], out["cosine_pearson"]
    out["n_skipped"] = skipped
    return out


def evaluate_summarization(task: Task, encoder: TextEncoder, instructions: TaskInstructions, max_rows: int | None) -> dict:
    rows = subsample(task.rows(), max_rows)
    for row in rows:
        if len(row["machine_summaries"]) != len(row["relevance"]):
            raise InstructEmbedError(f"task {task.name}: row {row.get('id')}: machine_summaries and relevance differ in length")
    human = encoder.encode([s for r in rows for s in r["human_summaries"]], instructions.query)
    machine = encoder.encode([s for r in rows for s in r["machine_summaries"]], instructions.query)
    documents, h, m = [], 0, 0
    for row in rows:
        nh, nm = len(row["human_summaries"]), len(row["machine_summaries"])
        documents.append((human[h : h + nh], machine[m : m + nm], [float(x) for x in row["relevance"]]))
        h, m = h + nh, m + nm
    return {**summarization_metrics(documents), "n_rows": len(rows)}
