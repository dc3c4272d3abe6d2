"""Dynamic batching across concurrent requests: all answered, one forward pass, results independent of batch-mates."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import numpy as np

INSTRUCTIONS = ["Represent the Science title:", "Represent the review for classifying sentiment:", "Represent the news headline:"]


def forward_passes(server, auth) -> float:
    text = httpx.get(f"{server.url}/metrics", headers=auth).text
    line = next(l for l in text.splitlines() if l.startswith("instructembed_forward_passes_total"))
    return float(line.split()[-1])


async def send_all(url: str, auth: dict, bodies: list[dict]) -> list[httpx.Response]:
    async with httpx.AsyncClient(headers=auth, timeout=60, limits=httpx.Limits(max_connections=100)) as client:
        return await asyncio.gather(*(client.post(f"{url}/v1/embeddings", json=b) for b in bodies))


def test_64_concurrent_requests_share_one_forward_pass_and_match_encode(server, auth, default_model):
    # lengths within 2x of each other, so the length-sorted window runs as one pass
    rows = [[INSTRUCTIONS[i % 3], f"request number {i}: " + "word " * (i % 5)] for i in range(64)]
    bodies = [{"input": [{"instruction": ins, "text": text}], "encoding_format": "float"} for ins, text in rows]
    before = forward_passes(server, auth)
    batcher = server.app.state.service.batcher
    results: list = []
    with batcher.forward_lock:  # hold the model until all 64 requests are queued, then let one pass take them
        sender = threading.Thread(target=lambda: results.extend(asyncio.run(send_all(server.url, auth, bodies))))
        sender.start()
        deadline = time.monotonic() + 30
        while batcher.queued_rows < 64 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert batcher.queued_rows == 64
    sender.join(60)
    assert [r.status_code for r in results] == [200] * 64
    assert forward_passes(server, auth) - before == 1
    got = np.array([r.json()["data"][0]["embedding"] for r in results], dtype=np.float32)
    # each row alone, without batch-mates
    alone = np.stack([default_model.encode([row])[0] for row in rows])
    assert np.abs(got - alone).max() < 1e-5


def test_free_running_concurrency_batches_and_stays_exact(server, auth, default_model):
    rows = [[INSTRUCTIONS[i % 3] if i % 4 else "", f"free running text {i} " + "token " * (i % 29)] for i in range(96)]
    bodies = [{"input": [{"instruction": ins, "text": text}], "encoding_format": "float"} for ins, text in rows]
    before = forward_passes(server, auth)
    results = asyncio.run(send_all(server.url, auth, bodies))
    assert all(r.status_code == 200 for r in results)
    assert forward_passes(server, auth) - before < len(rows)
    got = np.array([r.json()["data"][0]["embedding"] for r in results], dtype=np.float32)
    assert np.abs(got - default_model.encode(rows)).max() < 1e-5


def test_token_budget_splits_a_window_into_padded_passes():
    from instructembed.serve.batcher import DynamicBatcher, _Row

    batcher = DynamicBatcher(lambda ids, starts: np.zeros((len(ids), 2), np.float32), max_batch_tokens=100, max_queue_rows=10)
    window = [_Row(None, i, [1] * n, 0) for i, n in enumerate([10, 50, 20, 50, 10])]
    passes = batcher._split(window)
    assert [[len(r.ids) for r in p] for p in passes] == [[50, 50], [20, 10, 10]]
    assert all(len(p) * len(p[0].ids) <= 100 for p in passes)
    # past 8 rows, a row under half the pass's longest starts a new pass instead of being padded
    batcher.max_batch_tokens = 10_000
    lengths = [40] * 8 + [30, 15, 12]
    mixed = batcher._split([_Row(None, i, [1] * n, 0) for i, n in enumerate(lengths)])
    assert [[len(r.ids) for r in p] for p in mixed] == [[40] * 8 + [30], [15, 12]]
    few = batcher._split([_Row(None, i, [1] * n, 0) for i, n in enumerate([40, 30, 15, 12])])
    assert [[len(r.ids) for r in p] for p in few] == [[40, 30, 15, 12]]  # small windows stay one pass
