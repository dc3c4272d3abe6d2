"""Same-task batches: in-batch negatives only mean something when every row answers one task."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class EpochStats:
    """What building one epoch's batches left out."""

    batches: int = 0
    rows: int = 0
    capped_rows: int = 0  # rows beyond `max_per_task` that this epoch did not draw
    short_batches_dropped: int = 0  # a task's last batch shorter than `min_batch_size`
    short_rows_dropped: int = 0


class SameTaskBatchSampler:
    """Batches of row indices, each from a single task; an epoch is a pure function of (seed, epoch).

    Per epoch, each task draws up to `max_per_task` of its rows (0 = all) in random order and cuts
    them into batches of `batch_size`; its last batch is kept if it has at least `min_batch_size`
    rows, else dropped and counted in `stats`. All tasks' batches are then shuffled together, so a
    task comes up in proportion to its (capped) size.

    Example:
        >>> sampler = SameTaskBatchSampler(["a", "a", "b", "b"], batch_size=2, min_batch_size=2)
        >>> sorted(map(sorted, sampler.epoch_batches(0)))
        [[0, 1], [2, 3]]
    """

    def __init__(
        self,
        task_ids: Sequence[str],
        batch_size: int,
        min_batch_size: int = 2,
        max_per_task: int = 0,
        seed: int = 0,
    ) -> None:
        self.batch_size = batch_size
        self.min_batch_size = min(min_batch_size, batch_size)
        self.max_per_task = max_per_task
        self.seed = seed
        groups: dict[str, list[int]] = defaultdict(list)
        for index, task in enumerate(task_ids):
            groups[task].append(index)
        self.tasks = sorted(groups)
        self.groups = {task: np.array(groups[task]) for task in self.tasks}
        self.stats = EpochStats()
        self._cache: tuple[int, list[list[int]]] | None = None

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        if self._cache and self._cache[0] == epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, epoch])
        stats = EpochStats()
        batches: list[list[int]] = []
        for task in self.tasks:
            rows = rng.permutation(self.groups[task])
            if self.max_per_task and len(rows) > self.max_per_task:
                stats.capped_rows += len(rows) - self.max_per_task
                rows = rows[: self.max_per_task]
            for begin in range(0, len(rows), self.batch_size):
                batch = rows[begin : begin + self.batch_size].tolist()
                if len(batch) < self.min_batch_size:
                    stats.short_batches_dropped += 1
                    stats.short_rows_dropped += len(batch)
                    continue
                batches.append(batch)
                stats.rows += len(batch)
        order = rng.permutation(len(batches))
        batches = [batches[i] for i in order]
        stats.batches = len(batches)
        self.stats = stats
        self._cache = (epoch, batches)
        return batches

    def __len__(self) -> int:
        """Batches per epoch (the same every epoch)."""
        count = 0
        for rows in self.groups.values():
            n = min(len(rows), self.max_per_task) if self.max_per_task else len(rows)
            count += n // self.batch_size + (n % self.batch_size >= self.min_batch_size)
        return count

    def batch_at(self, step: int) -> list[int]:
        """The batch for global step `step` (epoch after epoch), so a resumed run sees the same stream."""
        per_epoch = len(self)
        return self.epoch_batches(step // per_epoch)[step % per_epoch]
