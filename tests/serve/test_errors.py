"""Each error case with its status code and an OpenAI-style body; the server stays up after all of them."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import openai
import pytest


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"]), body
    return body["error"]


def test_401_without_or_with_a_wrong_key(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-key"}):
        response = httpx.post(f"{server.url}/v1/embeddings", json={"input": "x"}, headers=headers)
        assert response.status_code == 401
        assert error_of(response)["code"] == "invalid_api_key"
        assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model="minilm", input="x")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"inputs": ["x"]}, "input: Field required"),
        ({"input": [{"text": 3}]}, "input[0].text"),
        ({"input": [{"instruction": "Represent:", "txt": "x"}]}, "input[0]"),
        ({"input": ["fine", "   "]}, "input: input 1: text is empty"),
        ({"input": []}, "input: must hold at least one input"),
        ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
        ({"input": "x", "dimensions": 0}, "dimensions"),
        ({"input": "x", "dimensions": 385}, "dimensions: 385 exceeds"),
    ],
)
def test_422_names_the_field(server, auth, body, field):
    response = httpx.post(f"{server.url}/v1/embeddings", json=body, headers=auth)
    assert response.status_code == 422
    assert field in error_of(response)["message"]


def test_422_for_malformed_json_and_bad_similarity_pairs(server, auth):
    response = httpx.post(f"{server.url}/v1/embeddings", content=b'{"input": [', headers=auth | {"content-type": "application/json"})
    assert response.status_code == 422 and error_of(response)["message"].startswith("body: invalid JSON")
    response = httpx.post(f"{server.url}/similarity", json={"pairs": [["only one"]]}, headers=auth)
    assert response.status_code == 422 and "pairs[0]" in error_of(response)["message"]


def test_413_for_too_many_inputs_too_long_an_input_or_too_big_a_body(server, auth):
    too_many = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["x"] * 101}, headers=auth)
    assert too_many.status_code == 413 and error_of(too_many)["code"] == "too_many_inputs"
    too_long = httpx.post(f"{server.url}/embed", json={"inputs": ["ok", "y" * 2001]}, headers=auth)
    assert too_long.status_code == 413 and "inputs[1]" in error_of(too_long)["message"]
    too_big = httpx.post(f"{server.url}/v1/embeddings", json={"input": ["z" * 1000] * 101}, headers=auth)
    assert too_big.status_code == 413 and error_of(too_big)["code"] == "body_too_large"
    untruncated = httpx.post(f"{server.url}/embed", json={"inputs": ["word " * 300], "truncate": False}, headers=auth)
    assert untruncated.status_code == 413 and "max_seq_length=256" in error_of(untruncated)["message"]


def test_503_with_retry_after_when_the_queue_is_full(default_model):
    from instructembed.serve import BackgroundServer, ServerSettings, create_app

    app = create_app(default_model, ServerSettings(max_queue_rows=4, max_inputs=4))
    batcher = app.state.service.batcher
    with BackgroundServer(app) as server:
        done: list[httpx.Response] = []

        async def four() -> None:
            async with httpx.AsyncClient(timeout=60) as client:
                done.extend(await asyncio.gather(*(client.post(f"{server.url}/embed", json={"inputs": [f"t{i}"]}) for i in range(4))))

        with batcher.forward_lock:  # the worker is paused: the queue fills and stays full
            sender = threading.Thread(target=lambda: asyncio.run(four()))
            sender.start()
            deadline = time.monotonic() + 30
            while batcher.queued_rows < 4 and time.monotonic() < deadline:
                time.sleep(0.01)
            full = httpx.post(f"{server.url}/embed", json={"inputs": ["one more"]})
            assert full.status_code == 503
            assert full.headers["retry-after"] == "1"
            assert error_of(full)["code"] == "queue_full"
        sender.join(60)
        assert [r.status_code for r in done] == [200] * 4  # the queued ones are answered once it drains
        assert httpx.post(f"{server.url}/embed", json={"inputs": ["after"]}).status_code == 200
        assert "instructembed_queue_rejections_total 1.0" in httpx.get(f"{server.url}/metrics").text


def test_a_failing_forward_pass_fails_its_request_not_the_server(default_model):
    from instructembed.serve import BackgroundServer, create_app

    app = create_app(default_model)
    batcher = app.state.service.batcher
    real_forward = batcher.forward

    def forward(ids, starts):
        if any(len(row) > 40 for row in ids):
            raise RuntimeError("out of memory")  # what a too-large batch does on a real accelerator
        return real_forward(ids, starts)

    batcher.forward = forward
    with BackgroundServer(app) as server:
        failed = httpx.post(f"{server.url}/embed", json={"inputs": ["long " * 60]})
        assert failed.status_code == 500 and error_of(failed)["type"] == "server_error"
        assert httpx.post(f"{server.url}/embed", json={"inputs": ["short"]}).status_code == 200
        assert httpx.get(f"{server.url}/health").status_code == 200


def test_the_server_survives_all_of_the_above(server, auth):
    assert httpx.post(f"{server.url}/embed", json={"inputs": ["still here"]}, headers=auth).status_code == 200
