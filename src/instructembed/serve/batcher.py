"""Dynamic batching: rows of concurrent requests share forward passes, grouped by a token budget.

Requests put their tokenized rows on one bounded queue; a single worker thread takes a window of
waiting rows (up to `max_batch_tokens` real tokens), sorts it by length and runs it in as few padded
passes as the budget allows. Each row is padded, attended and pooled independently, so a result
never depends on its batch-mates beyond float rounding (< 1e-5).

The window is filled fairly: the oldest waiting request first takes up to half of the token budget,
then round-robin over the waiting requests, one row of each in turn. So a request with 2,048 long
inputs shares every window with the 1-input requests that came after it instead of making them wait
for all of its rows, and under overload a request of many rows still finishes in about twice the time
it would take alone, rather than one row per round of every other request (round-robin alone made
64-input requests wait minutes behind hundreds of 1-input ones). A request whose client went away (its task is
cancelled) takes its waiting rows out of the queue at once; rows already in a pass are discarded.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from instructembed.serve.metrics import ServerMetrics

logger = logging.getLogger(__name__)

_MIN_PASS_ROWS = 8

# (token ids per row, instruction length per row) -> (rows, dim) float32 embeddings
BatchForward = Callable[[list[list[int]], list[int]], np.ndarray]


class QueueFull(Exception):
    """The queue holds `max_queue_rows` rows already: the caller should answer 503 and retry later."""


@dataclass
class _Job:
    """One request: its output matrix fills row by row; the future resolves when the last row lands.

    `waiting` holds its rows not yet taken into a window; `failed` (a pass failed, or the client went
    away) makes the worker discard its rows' results."""

    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    rows: int
    vectors: np.ndarray | None = None
    remaining: int = 0
    failed: bool = False
    waiting: deque = field(default_factory=deque)
    queued_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.remaining = self.rows


@dataclass
class _Row:
    job: _Job | None
    index: int
    ids: list[int]
    start: int


class DynamicBatcher:
    """A bounded queue of rows and the worker thread that embeds them.

    `forward_lock` is held during every forward pass; holding it elsewhere pauses the worker
    (to share the model safely, or to drain the queue deterministically).
    """

    def __init__(
        self, forward: BatchForward, max_batch_tokens: int, max_queue_rows: int, metrics: ServerMetrics | None = None
    ) -> None:
        self.forward = forward
        self.max_batch_tokens = max_batch_tokens
        self.max_queue_rows = max_queue_rows
        self.metrics = metrics or ServerMetrics()
        self.forward_lock = threading.Lock()
        self._jobs: deque[_Job] = deque()  # requests with waiting rows, in round-robin order
        self._waiting_rows = 0
        self._wakeup = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="instructembed-batcher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._wakeup:
            self._stopping = True
            self._wakeup.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a forward pass (all requests together)."""
        return self._waiting_rows

    @property
    def queued_requests(self) -> int:
        """Requests with rows still waiting."""
        return len(self._jobs)

    # --- the request side (event loop) ---------------------------------------------------------
    async def embed(self, input_ids: Sequence[list[int]], instruction_lengths: Sequence[int]) -> np.ndarray:
        """Queue a request's rows and wait for their (rows, dim) embeddings; `QueueFull` when no room."""
        if not input_ids:
            return np.zeros((0, 0), dtype=np.float32)
        loop = asyncio.get_running_loop()
        job = _Job(loop, loop.create_future(), len(input_ids))
        job.waiting.extend(_Row(job, i, list(ids), int(s)) for i, (ids, s) in enumerate(zip(input_ids, instruction_lengths)))
        with self._wakeup:
            if self._waiting_rows + len(input_ids) > self.max_queue_rows:
                self.metrics.rejected.inc()
                raise QueueFull(f"{self._waiting_rows} rows are waiting (limit {self.max_queue_rows})")
            self._jobs.append(job)
            self._waiting_rows += len(input_ids)
            self.metrics.queue_rows.set(self._waiting_rows)
            self._wakeup.notify()
        try:
            return await job.future
        except asyncio.CancelledError:  # the client went away: its rows leave the queue
            dropped = self._drop(job)
            self.metrics.cancelled.inc()
            self.metrics.dropped_rows.inc(dropped)
            raise

    def _drop(self, job: _Job) -> int:
        """Mark `job` failed and take its waiting rows out of the queue; how many were taken out."""
        with self._wakeup:
            job.failed = True
            dropped = len(job.waiting)
            job.waiting.clear()
            if dropped:
                self._jobs.remove(job)
                self._waiting_rows -= dropped
                self.metrics.queue_rows.set(self._waiting_rows)
            return dropped

    # --- the worker side (one thread) ----------------------------------------------------------
    def _wait_for_rows(self) -> bool:
        """Block until rows are queued (True) or the batcher stops with an empty queue (False)."""
        with self._wakeup:
            while not self._jobs and not self._stopping:
                self._wakeup.wait()
            return bool(self._jobs)

    def _take_window(self) -> list[_Row]:
        """Take a window of at most `max_batch_tokens` real tokens (at least one row): rows of the oldest
        waiting request up to half the budget, then one row of each waiting request in turn; the turn
        carries over to the next window."""
        with self._wakeup:
            window: list[_Row] = []
            tokens = 0
            if self._jobs:
                oldest = min(self._jobs, key=lambda j: j.queued_at)
                while oldest.waiting and (not window or tokens + len(oldest.waiting[0].ids) <= self.max_batch_tokens // 2):
                    row = oldest.waiting.popleft()
                    window.append(row)
                    tokens += len(row.ids)
                if not oldest.waiting:
                    self._jobs.remove(oldest)
            while self._jobs:
                job = self._jobs[0]
                row = job.waiting[0]
                if window and tokens + len(row.ids) > self.max_batch_tokens:
                    break
                job.waiting.popleft()
                window.append(row)
                tokens += len(row.ids)
                if job.waiting:
                    self._jobs.rotate(-1)
                else:
                    self._jobs.popleft()
            self._waiting_rows -= len(window)
            self.metrics.queue_rows.set(self._waiting_rows)
            return window

    def _split(self, window: list[_Row]) -> list[list[_Row]]:
        """Length-sorted passes whose padded size (rows x longest) stays within the token budget.

        Once a pass holds `_MIN_PASS_ROWS` rows, a row under half its longest row opens a new pass:
        padding it would cost more than the extra pass (compute grows with padded length), while
        tiny passes would pay the fixed per-pass cost for little work.
        """
        rows = sorted(window, key=lambda r: -len(r.ids))
        passes: list[list[_Row]] = []
        for row in rows:
            current = passes[-1] if passes else []
            longest = len(current[0].ids) if current else 0
            fits = longest * (len(current) + 1) <= self.max_batch_tokens
            similar = len(current) < _MIN_PASS_ROWS or 2 * len(row.ids) >= longest
            if current and fits and similar:
                current.append(row)
            else:
                passes.append([row])
        return passes

    def _run(self) -> None:
        while self._wait_for_rows():
            with self.forward_lock:  # taken before the window, so a holder of the lock sees the queue fill up
                window = self._take_window()
                for batch in self._split(window):
                    self._run_pass(batch)

    def _run_pass(self, batch: list[_Row]) -> None:
        batch = [r for r in batch if not r.job.failed]  # a client that left while its rows were in the window
        if not batch:
            return
        started = time.perf_counter()
        try:
            vectors = self.forward([r.ids for r in batch], [r.start for r in batch])
        except Exception as exc:  # a failing pass fails its requests, never the worker
            logger.exception("forward pass failed")
            for job in {id(r.job): r.job for r in batch}.values():
                if not job.failed:
                    self._drop(job)  # its other rows would only be computed to be thrown away
                    job.loop.call_soon_threadsafe(_settle, job.future, None, exc)
            return
        self.metrics.forward_seconds.observe(time.perf_counter() - started)
        self.metrics.forward_passes.inc()
        self.metrics.batch_rows.observe(len(batch))
        self.metrics.batch_tokens.observe(len(batch) * len(batch[0].ids))
        for row, vector in zip(batch, vectors):
            job = row.job
            if job.failed:
                continue
            if job.vectors is None:
                job.vectors = np.empty((job.rows, vectors.shape[1]), dtype=np.float32)
            job.vectors[row.index] = vector
            job.remaining -= 1
            if job.remaining == 0:
                job.loop.call_soon_threadsafe(_settle, job.future, job.vectors, None)


def _settle(future: asyncio.Future, value: np.ndarray | None, error: BaseException | None) -> None:
    if future.done():  # the client went away and the request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
