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


def test_a_lone_surrogate_is_a_422_not_a_500(server, auth):
    body = b'{"input": ["fine", "broken \\ud800 text"]}'  # JSON allows the escape; no tokenizer takes the character
    response = httpx.post(f"{server.url}/v1/embeddings", content=body, headers=auth | {"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert error_of(response)["message"] == "input: input 1: text is not valid Unicode (it holds a lone surrogate)"


def test_a_body_that_is_not_utf8_is_a_422_in_the_documented_shape(server, auth):  # found by tests/serve/test_fuzz.py
    response = httpx.post(f"{server.url}/embed", content=b'{"inputs": ["\xff\xfe"]}', headers=auth | {"content-type": "application/json"})
    assert response.status_code == 422
    assert error_of(response) == {"message": "body: cannot be decoded (send UTF-8 encoded JSON)", "type": "invalid_request_error",
                                  "code": "invalid_request_body"}


def test_embed_with_normalize_false_returns_the_raw_vectors(server, auth, default_model):
    texts = ["3D ActionSLAM", "Where do yams store food?"]
    body = {"inputs": texts, "instruction": "Represent the title:"}
    raw = np.array(httpx.post(f"{server.url}/embed", json=body | {"normalize": False}, headers=auth).json(), dtype=np.float32)
    unit = np.array(httpx.post(f"{server.url}/embed", json=body, headers=auth).json(), dtype=np.float32)
    assert np.abs(np.linalg.norm(raw, axis=1) - 1).min() > 1e-2  # not unit length
    assert np.abs(raw / np.linalg.norm(raw, axis=1, keepdims=True) - unit).max() < 1e-5  # the same direction
    want = default_model.encode(texts, instruction="Represent the title:", normalize_embeddings=False)
    assert np.abs(raw - want).max() < 1e-5
    openai_style = httpx.post(f"{server.url}/v1/embeddings", json={"input": texts, "instruction": "Represent the title:"}, headers=auth)
    got = np.array([d["embedding"] for d in openai_style.json()["data"]], dtype=np.float32)
    assert np.abs(got - unit).max() < 1e-5  # /v1/embeddings still answers the model's own (unit) vectors


def test_the_server_survives_all_of_the_above(server, auth):
    assert httpx.post(f"{server.url}/embed", json={"inputs": ["still here"]}, headers=auth).status_code == 200
