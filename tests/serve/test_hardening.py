"""Issue 10 hardening of the server: chunked bodies, strict types, unknown models, token ids, zero-token texts."""

from __future__ import annotations

import httpx
import numpy as np
import openai
import pytest


def error_of(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "code"} <= set(body["error"]), body
    return body["error"]


def chunked(*parts: bytes):
    yield from parts  # a generator body: httpx sends it with Transfer-Encoding: chunked, no Content-Length


def test_a_chunked_body_over_the_limit_gets_413(server, auth):
    body = chunked(b'{"input": ["', *(b"z" * 1000 for _ in range(150)), b'"]}')  # 150 kB > the fixture's 100 kB
    response = httpx.post(f"{server.url}/v1/embeddings", content=body, headers=auth | {"content-type": "application/json"})
    assert response.status_code == 413
    assert error_of(response)["code"] == "body_too_large"
    assert "exceeds the limit of 100000 bytes" in error_of(response)["message"]
    metrics = httpx.get(f"{server.url}/metrics", headers=auth).text
    assert 'instructembed_requests_total{route="/v1/embeddings",status="413"}' in metrics


def test_a_small_chunked_body_is_served(server, auth, default_model):
    body = chunked(b'{"input": ["great', b' movie"], "instruction": "Represent the review:", ', b'"encoding_format": "float"}')
    response = httpx.post(f"{server.url}/v1/embeddings", content=body, headers=auth | {"content-type": "application/json"})
    assert response.status_code == 200, response.text
    got = np.array(response.json()["data"][0]["embedding"], dtype=np.float32)
    assert np.abs(got - default_model.encode("great movie", instruction="Represent the review:")).max() < 1e-5


@pytest.mark.parametrize("dimensions", [True, "8", 8.0])
def test_dimensions_must_be_an_integer(server, auth, dimensions):
    response = httpx.post(f"{server.url}/v1/embeddings", json={"input": "x", "dimensions": dimensions}, headers=auth)
    assert response.status_code == 422
    assert error_of(response)["message"].startswith("dimensions: ")


def test_an_unknown_model_gets_404_model_not_found(server, auth, openai_client):
    response = httpx.post(f"{server.url}/v1/embeddings", json={"input": "x", "model": "gpt-9"}, headers=auth)
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_found" and error["type"] == "invalid_request_error"
    assert "'gpt-9'" in error["message"] and "'minilm'" in error["message"]
    with pytest.raises(openai.NotFoundError):
        openai_client.embeddings.create(model="gpt-9", input="x")


def test_the_served_names_keep_working(server, auth, default_model):
    listed = [card["id"] for card in httpx.get(f"{server.url}/v1/models", headers=auth).json()["data"]]
    assert listed == ["minilm"]
    for name in [*listed, default_model.model_name_or_path, None]:
        body = {"input": "x"} | ({"model": name} if name else {})
        response = httpx.post(f"{server.url}/v1/embeddings", json=body, headers=auth)
        assert response.status_code == 200, (name, response.text)
        assert response.json()["model"] == "minilm"


@pytest.mark.parametrize("token_ids", [[101, 2023, 102], [[101, 2023], [101, 102]], ["text", [1, 2]]])
def test_token_id_arrays_get_a_clear_422(server, auth, token_ids):
    response = httpx.post(f"{server.url}/v1/embeddings", json={"input": token_ids}, headers=auth)
    assert response.status_code == 422
    assert error_of(response)["message"] == (
        "input: token-id arrays are not supported: send text (a string, a list of strings or {instruction, text} objects)"
    )


@pytest.mark.parametrize("blank", ["\u200b", "\ufeff", "\x00", " \u200b "])
def test_zero_token_texts_are_empty_texts(server, auth, blank):
    for route, field, extra in [("/v1/embeddings", "input", {}), ("/v1/embeddings", "input", {"instruction": "Represent:"}),
                                ("/embed", "inputs", {"instruction": "Represent:"})]:
        response = httpx.post(f"{server.url}{route}", json={field: ["fine", blank], **extra}, headers=auth)
        assert response.status_code == 422, (route, extra, response.text)
        assert error_of(response)["message"] == f"{field}: input 1: text is empty or whitespace only"
    response = httpx.post(f"{server.url}/v1/embeddings", json={"input": [{"instruction": "Represent:", "text": blank}]}, headers=auth)
    assert response.status_code == 422 and "input 0: text is empty" in error_of(response)["message"]


def test_the_server_survives_all_of_the_above(server, auth):
    assert httpx.post(f"{server.url}/embed", json={"inputs": ["still here"]}, headers=auth).status_code == 200
