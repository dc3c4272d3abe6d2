"""Issue 10 row 3: a disconnected client's rows leave the queue, and one big request cannot starve a small one.

A real server on a free port; the big client speaks HTTP over a plain socket so the test decides
exactly when it disconnects. `forward_lock` pauses the batcher's worker, so the queue's state is
observed, not timed.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import numpy as np
import pytest

BIG = [f"long input number {i} about the weather, the markets and the news of the day: " + "word " * 40 for i in range(600)]
SMALL = {"input": ["one small request"], "instruction": "Represent the sentence:"}


@pytest.fixture(scope="module")
def server(default_model):
    from instructembed.serve import BackgroundServer, ServerSettings, create_app

    settings = ServerSettings(max_inputs=2048, max_queue_rows=4096, max_batch_tokens=1024)
    app = create_app(default_model, settings)
    with BackgroundServer(app) as running:
        running.app = app
        yield running


def metric(server, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))


def status_count(server, route: str, status: str) -> float:
    return metric(server, f'instructembed_requests_total{{route="{route}",status="{status}"}}')


def post_raw(server, body: dict) -> socket.socket:
    """Send a whole POST /v1/embeddings over a socket and leave the connection open (close it to disconnect)."""
    payload = json.dumps(body).encode()
    sock = socket.create_connection((server.host, server.port))
    head = f"POST /v1/embeddings HTTP/1.1\r\nHost: {server.host}\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    sock.sendall(head.encode() + payload)
    return sock


def wait_until(condition, what: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.01)


def test_the_queued_rows_of_a_client_that_disconnects_are_dropped_unembedded(server):
    batcher = server.app.state.service.batcher
    dropped, cancelled, passes = (metric(server, n) for n in
                                  ("instructembed_dropped_rows_total", "instructembed_cancelled_requests_total",
                                   "instructembed_forward_passes_total"))
    left = status_count(server, "/v1/embeddings", "499")
    with batcher.forward_lock:  # the worker is paused: nothing of the big request can be computed
        sock = post_raw(server, {"input": BIG})
        wait_until(lambda: batcher.queued_rows == len(BIG), "the big request's rows are queued")
        sock.close()
        wait_until(lambda: batcher.queued_rows == 0, "the disconnected client's rows leave the queue")
        assert batcher.queued_requests == 0
    assert metric(server, "instructembed_dropped_rows_total") - dropped == len(BIG)
    assert metric(server, "instructembed_cancelled_requests_total") - cancelled == 1
    assert status_count(server, "/v1/embeddings", "499") - left == 1
    assert httpx.get(f"{server.url}/health").json()["queued_rows"] == 0
    assert metric(server, "instructembed_forward_passes_total") == passes  # not one row of it was embedded


def test_a_client_that_times_out_leaves_nothing_to_compute(server):
    batcher = server.app.state.service.batcher
    passes = metric(server, "instructembed_forward_passes_total")
    left = status_count(server, "/v1/embeddings", "499")
    with batcher.forward_lock:
        with pytest.raises(httpx.TimeoutException):  # the client: a 0.05 s timeout, then it is gone
            httpx.post(f"{server.url}/v1/embeddings", json={"input": BIG}, timeout=httpx.Timeout(30, read=0.05))
        wait_until(lambda: status_count(server, "/v1/embeddings", "499") - left == 1, "the server sees the disconnect")
        assert batcher.queued_rows == 0
    response = httpx.post(f"{server.url}/v1/embeddings", json=SMALL, timeout=120)
    assert response.status_code == 200
    assert metric(server, "instructembed_forward_passes_total") - passes == 1  # the small request's pass alone


def test_a_small_request_is_answered_while_a_big_one_still_waits(server, default_model):
    batcher = server.app.state.service.batcher
    answered: dict = {}

    def small() -> None:
        answered["response"] = httpx.post(f"{server.url}/v1/embeddings", json=SMALL, timeout=300)
        answered["big_rows_left"] = batcher.queued_rows

    with batcher.forward_lock:  # queue the big request first, then the small one, then let the worker go
        sock = post_raw(server, {"input": BIG})
        wait_until(lambda: batcher.queued_rows == len(BIG), "the big request's rows are queued")
        sender = threading.Thread(target=small)
        sender.start()
        wait_until(lambda: batcher.queued_rows == len(BIG) + 1, "the small request is queued behind it")
    try:
        sender.join(300)
        response = answered["response"]
        assert response.status_code == 200, response.text
        got = np.array(response.json()["data"][0]["embedding"], dtype=np.float32)
        assert np.abs(got - default_model.encode(SMALL["input"], instruction=SMALL["instruction"])[0]).max() < 1e-5
        # first come, first served would have run all 600 big rows first; round-robin served it in the first window
        assert answered["big_rows_left"] > len(BIG) // 2
    finally:
        sock.close()
    wait_until(lambda: batcher.queued_rows == 0, "the big request's remaining rows are dropped")
    assert httpx.get(f"{server.url}/health").status_code == 200
