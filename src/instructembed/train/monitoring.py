"""In-training checks: the dev-set loss and accuracy, and quick scores on a few shared evaluation tasks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np
import torch

from instructembed.engine.instructor import Instructor
from instructembed.errors import InstructEmbedError
from instructembed.shared_data import instructions_dir
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


class TaskCheck:
    """Main scores (x100) of a few shared evaluation tasks, each on at most `max_rows` rows, through
    `instructembed.evaluate`: with the paper's instructions, or none for the no-instruction ablation.
    A task whose data is missing (e.g. on a bare GPU machine) is skipped with a warning."""

    def __init__(self, names: list[str], max_rows: int, instructions: bool) -> None:
        self.tasks = []
        self.max_rows = max_rows or None
        self.instructions = None
        if not names:
            return
        try:
            from instructembed.evaluate import load_task
        except ImportError as exc:
            logger.warning("in-training evaluation skipped: %s", exc)
            return
        for name in names:
            try:
                self.tasks.append(load_task(name))
            except InstructEmbedError as exc:
                logger.warning("in-training evaluation of %s skipped: %s", name, exc)
        table = instructions_dir() / "mteb_instructions.json"
        self.instructions = str(table) if instructions and table.exists() else None
        if instructions and not table.exists():
            logger.warning("in-training evaluation without instructions: %s not found", table)

    @property
    def names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def __call__(self, model: Instructor) -> dict[str, float]:
        return score_tasks(model, self.tasks, self.instructions, self.max_rows)


class SteeringCheck:
    """Steer (points) of the dev steering sets in `folder` (task folders + `steering_instructions.json`,
    as `instructembed medi build` writes them), each on at most `max_rows` texts; "" = no check."""

    def __init__(self, folder: str, max_rows: int) -> None:
        self.tasks: list = []
        self.instructions = None
        self.max_rows = max_rows or None
        if not folder:
            return
        from instructembed.evaluate import InstructionSet, discover_tasks

        root = Path(folder)
        table = root / "steering_instructions.json"
        if not table.is_file():
            raise InstructEmbedError(f"steering_dev_dir {root}: no steering_instructions.json (build it with instructembed medi build)")
        self.instructions = InstructionSet.from_file(table)
        self.tasks = [t for t in discover_tasks(root) if t.type == "Steering"]
        if not self.tasks:
            raise InstructEmbedError(f"steering_dev_dir {root}: no Steering task folder in it")

    @property
    def names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def __call__(self, model: Instructor) -> dict[str, float]:
        return score_tasks(model, self.tasks, self.instructions, self.max_rows)


def score_tasks(model: Instructor, tasks: list, instructions, max_rows: int | None) -> dict[str, float]:
    """Main score of each task, the model in eval mode meanwhile."""
    from instructembed.evaluate import evaluate_task

    was_training = model.training
    model.eval()
    scores = {task.name: evaluate_task(model, task, instructions, max_rows=max_rows, batch_size=128).main_score
              for task in tasks}
    model.train(was_training)
    return scores
