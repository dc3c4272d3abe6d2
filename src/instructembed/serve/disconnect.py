"""ASGI middleware: a client that disconnects before its answer cancels the handling of its request.

An ASGI server tells an app that the client went away only through `receive()`, which a handler that
is waiting for the model never calls; without this, a client that gives up (a timeout, Ctrl-C) still
has every one of its rows computed. Once the request body has been read, this middleware listens
for `http.disconnect` and cancels the handler, so the batcher takes the request's waiting rows out
of its queue (see `DynamicBatcher.embed`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


class CancelOnDisconnect:
    """Wrap an ASGI app; `on_disconnect(scope)` is called for each request cancelled this way."""

    def __init__(self, app: Any, on_disconnect: Callable[[dict], None] | None = None) -> None:
        self.app, self.on_disconnect = app, on_disconnect

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body_read, gone = asyncio.Event(), asyncio.Event()
        responded = False

        async def app_receive() -> dict:
            if not body_read.is_set():
                message = await receive()
                if message["type"] != "http.disconnect":
                    if not message.get("more_body", False):
                        body_read.set()
                    return message
                gone.set()  # the client left mid-body
            await gone.wait()  # after the body, only a disconnect can come: the watcher reports it
            await asyncio.Future()  # nobody is left to answer: wait to be cancelled

        async def app_send(message: dict) -> None:
            nonlocal responded
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                responded = True
            await send(message)

        async def watch() -> None:
            await body_read.wait()
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        handler = asyncio.create_task(self.app(scope, app_receive, app_send))
        watchers = [asyncio.create_task(watch()), asyncio.create_task(gone.wait())]
        try:
            await asyncio.wait({handler, watchers[1]}, return_when=asyncio.FIRST_COMPLETED)
            if handler.done() or responded:  # answered (the disconnect, if any, came after the answer)
                return await handler
            handler.cancel()  # the client left while its request was handled
            try:
                await handler
            except asyncio.CancelledError:
                if asyncio.current_task().cancelling():  # and this middleware too: pass that on
                    raise
            if self.on_disconnect is not None:
                self.on_disconnect(scope)
        finally:
            for task in watchers:
                task.cancel()
            if not handler.done():  # this middleware itself was cancelled (server shutdown)
                handler.cancel()
