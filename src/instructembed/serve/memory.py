"""Give freed heap memory back to the operating system once the server is idle.

A burst of big requests (16 MB bodies, their strings and token lists) leaves the C allocator holding
pages it no longer uses; glibc keeps them unless asked. `ReleaseMemoryWhenIdle` asks it once no
request has been in flight for a moment after a POST, so the server's RSS returns to its idle level.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from typing import Any


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    except OSError:
        return None


_TRIM = _malloc_trim()


def release_free_memory() -> None:
    """Collect garbage, then return the allocator's free pages to the OS (the latter a no-op without glibc).

    The collection matters: a cancelled request's data is held by reference cycles (its exception's
    traceback holds the frames that hold the data) that reference counting alone never frees."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)


class ReleaseMemoryWhenIdle:
    """ASGI middleware: `idle_s` seconds after the last POST finished, with no request in flight,
    release free memory (off the event loop). GETs such as health checks neither trigger nor delay it."""

    def __init__(self, app: Any, idle_s: float = 1.0) -> None:
        self.app, self.idle_s = app, idle_s
        self.in_flight = 0
        self.generation = 0  # bumped by each finished POST: only the latest one's timer acts

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            if scope.get("method") == "POST":
                self.generation += 1
                asyncio.get_running_loop().call_later(self.idle_s, self._when_idle, self.generation)

    def _when_idle(self, generation: int) -> None:
        if generation != self.generation:  # a later POST finished: its own timer decides
            return
        loop = asyncio.get_running_loop()
        if self.in_flight:  # still busy (a GET, or a POST not yet finished): look again later
            loop.call_later(self.idle_s, self._when_idle, generation)
            return
        loop.run_in_executor(None, release_free_memory)
