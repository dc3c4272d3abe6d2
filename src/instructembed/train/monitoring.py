"""In-training checks: the dev-set loss and accuracy, and a quick Spearman on a shared STS task."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

import numpy as np
import torch
from scipy.stats import spearmanr

from instructembed.engine.instructor import Instructor
from instructembed.shared_data import data_dir, instructions_dir
from instructembed.train.data import TokenizedTriples, to_device
from instructembed.train.losses import loss_from_embeddings
from instructembed.train.losses.grad_cache import embed

logger = logging.getLogger(__name__)


@torch.no_grad()
def dev_metrics(
    model: Instructor,
    dev: TokenizedTriples,
    batches: list[list[int]],
    tau: float,
    pad_to_multiple_of: int,
    autocast: Callable[[], AbstractContextManager],
) -> dict[str, float]:
    """Mean loss over `batches`, and how often a query's nearest of [all positives, all negatives]
    is its own positive (top-1 accuracy)."""
    was_training = model.training
    model.eval()
    losses, hits, rows = [], 0, 0
    for batch in batches:
        features = to_device(dev.collate(batch, pad_to_multiple_of), model.device)
        with autocast():
            q, p, n = (embed(model, f).float() for f in features)  # each (B, d)
        losses.append(float(loss_from_embeddings(q, p, n, tau)))
        q, p, n = (torch.nn.functional.normalize(x, dim=-1) for x in (q, p, n))
        scores = q @ torch.cat([p, n]).T  # (B, 2B)
        hits += int((scores.argmax(dim=1) == torch.arange(len(batch), device=q.device)).sum())
        rows += len(batch)
    model.train(was_training)
    return {"dev_loss": float(np.mean(losses)), "dev_acc": hits / rows} if rows else {}


class STSCheck:
    """Cosine-Spearman (x100) on the first `pairs` rows of a shared STS task, with its INSTRUCTOR
    instruction (or none for the no-instruction ablation); silently absent without the shared data."""

    def __init__(self, task: str, pairs: int, instructions: bool) -> None:
        self.rows: list[dict] = []
        self.instruction = ""
        file = data_dir() / "eval" / task / "test.jsonl"
        if not task:
            return
        if not file.exists():
            logger.warning("STS check skipped: %s not found (set INSTRUCTEMBED_DATA_DIR)", file)
            return
        with open(file, encoding="utf-8") as f:
            self.rows = [json.loads(line) for _, line in zip(range(pairs), f)]
        table = instructions_dir() / "mteb_instructions.json"
        if instructions and table.exists():
            value = json.loads(table.read_text()).get(task, "")
            self.instruction = value if isinstance(value, str) else ""

    def __call__(self, model: Instructor) -> dict[str, float]:
        if not self.rows:
            return {}
        was_training = model.training
        model.eval()
        texts = [r["sentence1"] for r in self.rows] + [r["sentence2"] for r in self.rows]
        vectors = model.encode([[self.instruction, t] for t in texts], batch_size=128, normalize_embeddings=True)
        model.train(was_training)
        half = len(self.rows)
        cosine = (vectors[:half] * vectors[half:]).sum(axis=1)
        score = spearmanr(cosine, [r["score"] for r in self.rows]).statistic
        return {"sts_spearman": round(float(score) * 100, 3)}
