"""Same-task batching over whole epochs of a mixed-task file."""

from collections import Counter

from instructembed.train.data import read_triples
from instructembed.train.sampler import SameTaskBatchSampler


def test_every_batch_is_single_task_over_a_full_epoch(medi_files):
    tasks = [t.task_id for t in read_triples(medi_files[0])]  # alpha 70, beta 45, gamma 21 rows
    sampler = SameTaskBatchSampler(tasks, batch_size=8, min_batch_size=4, seed=3)
    batches = sampler.epoch_batches(0)
    assert all(len({tasks[i] for i in batch}) == 1 for batch in batches)
    seen = Counter(i for batch in batches for i in batch)
    assert max(seen.values()) == 1  # no row twice in an epoch
    # alpha: 8 full + 6 kept; beta: 5 full + 5 kept; gamma: 2 full + 5 kept -> nothing dropped
    assert len(batches) == len(sampler) == 9 + 6 + 3
    assert sampler.stats.rows == len(seen) == len(tasks) and sampler.stats.short_rows_dropped == 0
    # tasks are interleaved, not run one after another
    order = [tasks[b[0]] for b in batches]
    assert order != sorted(order)


def test_short_last_batches_are_dropped_and_counted(medi_files):
    tasks = [t.task_id for t in read_triples(medi_files[0])]
    sampler = SameTaskBatchSampler(tasks, batch_size=16, min_batch_size=8, seed=0)
    batches = sampler.epoch_batches(0)
    # alpha 70 = 4x16 + 6 (dropped), beta 45 = 2x16 + 13 (kept), gamma 21 = 16 + 5 (dropped)
    assert sampler.stats.short_batches_dropped == 2 and sampler.stats.short_rows_dropped == 11
    assert sum(map(len, batches)) + 11 == len(tasks) and len(batches) == len(sampler) == 8


def test_cap_limits_a_task_per_epoch_and_epochs_differ(medi_files):
    tasks = [t.task_id for t in read_triples(medi_files[0])]
    sampler = SameTaskBatchSampler(tasks, batch_size=10, min_batch_size=2, max_per_task=30, seed=0)
    first = sampler.epoch_batches(0)
    per_task = Counter(tasks[i] for batch in first for i in batch)
    assert per_task == {"alpha": 30, "beta": 30, "gamma": 20}  # gamma's 21st row: a batch of 1, dropped
    assert sampler.stats.capped_rows == 40 + 15 and sampler.stats.short_rows_dropped == 1
    assert sampler.epoch_batches(1) != first
    assert SameTaskBatchSampler(tasks, 10, 2, 30, seed=0).epoch_batches(0) == first  # a pure function of (seed, epoch)
    assert sampler.batch_at(len(sampler) + 2) == sampler.epoch_batches(1)[2]


def test_contrast_groups_are_never_split_over_a_full_epoch(tmp_path):
    from instructembed.train.config import TrainConfig
    from instructembed.train.trainer import build_sampler

    # 30 ordinary rows of two tasks, 23 contrast groups of two rows in two contrast tasks, interleaved in the file
    task_ids, groups = [], []
    for i in range(30):
        task_ids.append("alpha" if i % 3 else "beta")
        groups.append(None)
        if i < 23:
            task = "contrast:a" if i % 2 else "contrast:b"
            task_ids += [task, task]
            groups += [f"g{i}", f"g{i}"]
    config = TrainConfig(batch_size=8, min_batch_size=2, seed=5)
    sampler = build_sampler(task_ids, groups, config, 0, contrast_share=0.5)
    contrast_steps, seen_groups = 0, Counter()
    per_epoch = len(sampler.contrast)
    step = 0
    while contrast_steps < per_epoch:
        rows, is_contrast = sampler.batch_at(step)
        step += 1
        assert all((groups[r] is not None) == is_contrast for r in rows)
        assert len({task_ids[r] for r in rows}) == 1  # one task a batch, contrast batches included
        if not is_contrast:
            continue
        contrast_steps += 1
        batch_groups = Counter(groups[r] for r in rows)
        assert all(n == 2 for n in batch_groups.values())  # both records of every group it holds
        seen_groups.update(batch_groups.keys())
    assert set(seen_groups) == {g for g in groups if g} and max(seen_groups.values()) == 1  # every group once an epoch
    assert 0.3 < contrast_steps / step < 0.7
