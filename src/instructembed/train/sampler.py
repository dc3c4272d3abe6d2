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


class ContrastGroupBatchSampler:
    """Batches of whole contrast groups (the same text under its instructions), groups of one contrast task
    per batch: a group is never split, so each row's instruction negatives are in its batch.

    Groups are batched by `SameTaskBatchSampler` as units (`batch_size // group size` groups a batch),
    then expanded to their rows.

    Example:
        >>> s = ContrastGroupBatchSampler(["t"] * 4, ["g1", "g1", "g2", "g2"], batch_size=4)
        >>> [sorted(b) for b in s.epoch_batches(0)]
        [[0, 1, 2, 3]]
    """

    def __init__(self, task_ids: Sequence[str], groups: Sequence[str], batch_size: int, min_batch_size: int = 2, seed: int = 0) -> None:
        members: dict[str, list[int]] = defaultdict(list)
        task_of: dict[str, str] = {}
        for index, (task, group) in enumerate(zip(task_ids, groups)):
            members[group].append(index)
            task_of[group] = task
        self.group_names = sorted(members)
        self.members = [members[g] for g in self.group_names]
        largest = max((len(m) for m in self.members), default=1)
        per_batch = max(1, batch_size // largest)
        self.groups_sampler = SameTaskBatchSampler(
            [task_of[g] for g in self.group_names], per_batch, max(1, min_batch_size // largest), 0, seed
        )
        self.groups = self.groups_sampler.groups

    @property
    def stats(self) -> EpochStats:
        return self.groups_sampler.stats

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        return [[row for g in batch for row in self.members[g]] for batch in self.groups_sampler.epoch_batches(epoch)]

    def __len__(self) -> int:
        return len(self.groups_sampler)

    def batch_at(self, step: int) -> list[int]:
        return [row for g in self.groups_sampler.batch_at(step) for row in self.members[g]]


class InterleavedBatchSampler:
    """Ordinary same-task batches and contrast-group batches in one stream: step s is a contrast batch with
    probability `contrast_share` (a pure function of (seed, s)); each stream runs its own epochs.

    `contrast_share = None` mixes them in proportion to their batch counts (an epoch of each, shuffled).
    `batch_at(step)` returns (row indices of the whole training set, is_contrast).
    """

    def __init__(
        self,
        ordinary: SameTaskBatchSampler | None,
        ordinary_rows: Sequence[int],
        contrast: ContrastGroupBatchSampler | None,
        contrast_rows: Sequence[int],
        contrast_share: float | None = None,
        seed: int = 0,
    ) -> None:
        self.ordinary, self.contrast = ordinary, contrast
        self.ordinary_rows, self.contrast_rows = list(ordinary_rows), list(contrast_rows)
        n_ord = len(ordinary) if ordinary is not None else 0
        n_con = len(contrast) if contrast is not None else 0
        if contrast_share is None:
            contrast_share = n_con / (n_ord + n_con) if n_ord + n_con else 0.0
        self.share = contrast_share if n_con else 0.0
        if n_ord == 0:
            self.share = 1.0
        self.seed = seed
        self._is_contrast = np.zeros(0, dtype=bool)
        self._count = np.zeros(0, dtype=np.int64)
        self.groups = {**(ordinary.groups if ordinary is not None else {}), **(contrast.groups if contrast is not None else {})}
        self.stats = ordinary.stats if ordinary is not None else contrast.stats  # type: ignore[union-attr]

    def __len__(self) -> int:
        return (len(self.ordinary) if self.ordinary is not None else 0) + (len(self.contrast) if self.contrast is not None else 0)

    def _extend(self, step: int) -> None:
        if step < len(self._is_contrast):
            return
        size = max(step + 1, 2 * len(self._is_contrast), 1024)
        draws = np.random.default_rng([self.seed, 7919]).random(size)
        self._is_contrast = draws < self.share
        self._count = np.cumsum(self._is_contrast) - self._is_contrast  # contrast steps before each step

    def stream_batches(self, contrast: bool, epoch: int = 0) -> list[list[int]]:
        """One epoch of one stream's batches (ordinary or contrast), as rows of the whole set; [] if it is empty."""
        sampler, rows = (self.contrast, self.contrast_rows) if contrast else (self.ordinary, self.ordinary_rows)
        if sampler is None:
            return []
        return [[rows[i] for i in batch] for batch in sampler.epoch_batches(epoch)]

    def batch_at(self, step: int) -> tuple[list[int], bool]:
        self._extend(step)
        if self._is_contrast[step]:
            k = int(self._count[step])
            return [self.contrast_rows[i] for i in self.contrast.batch_at(k)], True  # type: ignore[union-attr]
        k = step - int(self._count[step])
        return [self.ordinary_rows[i] for i in self.ordinary.batch_at(k)], False  # type: ignore[union-attr]
