"""The batcher's window order: the oldest request's share, then round-robin (the worker is not started,
so windows are taken by hand and nothing is embedded)."""

from __future__ import annotations

import asyncio

from instructembed.serve.batcher import DynamicBatcher


def queue_requests(batcher: DynamicBatcher, sizes: list[int]) -> tuple[asyncio.AbstractEventLoop, list]:
    """Queue requests of `sizes` rows of 10 tokens each, in this order (the first is the oldest)."""
    loop = asyncio.new_event_loop()
    tasks = []
    for size in sizes:
        tasks.append(loop.create_task(batcher.embed([[1] * 10] * size, [0] * size)))
        loop.run_until_complete(asyncio.sleep(0))
    return loop, tasks


def close(loop: asyncio.AbstractEventLoop, tasks: list) -> None:
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()


def big_rows_waiting(batcher: DynamicBatcher) -> int:
    return sum(len(job.waiting) for job in batcher._jobs if job.rows == 64)


def test_the_oldest_request_takes_half_the_window_and_the_rest_go_round_robin():
    batcher = DynamicBatcher(forward=None, max_batch_tokens=200, max_queue_rows=10_000)
    loop, tasks = queue_requests(batcher, [64] + [1] * 30)
    try:
        window = batcher._take_window()
        assert len(window) == 20  # 200 tokens of 10-token rows
        big = [r for r in window if r.job.rows == 64]
        small = [r for r in window if r.job.rows == 1]
        assert len(big) == 11  # half the budget (10 rows), then its turn in the round-robin (1 row)
        assert len(small) == 9 and len({id(r.job) for r in small}) == 9  # one row of each small request in turn
    finally:
        close(loop, tasks)


def test_a_big_request_finishes_in_bounded_windows_under_many_small_ones():
    batcher = DynamicBatcher(forward=None, max_batch_tokens=200, max_queue_rows=10_000)
    loop, tasks = queue_requests(batcher, [64] + [1] * 300)
    try:
        windows = 0
        while big_rows_waiting(batcher) and windows < 100:
            batcher._take_window()
            windows += 1
        # its share is 10 rows a window: 7 windows. Round-robin alone gives it one row per turn, one turn per
        # 15 windows of 20 rows among 301 requests: hundreds of windows
        assert windows == 7
        assert batcher.queued_rows == 300 - (7 * 20 - 64)  # the rest of every window went to the small ones
    finally:
        close(loop, tasks)
