"""Every route over real HTTP, with the official `openai` client and with httpx."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import pytest

TITLE = "Represent the Science title:"
QUESTION = "Represent the Wikipedia question for retrieving supporting documents:"
TEXTS = ["3D ActionSLAM: wearable person tracking", "Quantum computers use qubits", "Where do yams store food?"]


def vectors(response) -> np.ndarray:
    return np.array([d.embedding for d in sorted(response.data, key=lambda d: d.index)], dtype=np.float32)


def test_openai_client_default_base64_matches_in_process_encode(openai_client, default_model):
    # Recent openai clients ask for base64 unless told otherwise and decode it themselves.
    response = openai_client.embeddings.create(model="minilm", input=TEXTS, extra_body={"instruction": TITLE})
    expected = default_model.encode(TEXTS, instruction=TITLE)
    assert response.model == "minilm"
    assert np.abs(vectors(response) - expected).max() < 1e-5
    assert response.usage.prompt_tokens == sum(
        len(ids) for ids in default_model.pair_tokenizer.tokenize([(TITLE, t) for t in TEXTS]).input_ids
    )


def test_openai_client_float_format_and_single_string(openai_client, default_model):
    response = openai_client.embeddings.create(model="minilm", input=TEXTS[0], encoding_format="float")
    assert len(response.data) == 1
    assert np.abs(vectors(response)[0] - default_model.encode(TEXTS[0])).max() < 1e-5


def test_per_item_instructions_override_the_request_instruction(server, auth, default_model):
    body = {
        "input": [{"instruction": QUESTION, "text": TEXTS[2]}, TEXTS[0], {"text": TEXTS[1]}],
        "instruction": TITLE,
        "encoding_format": "float",
    }
    data = httpx.post(f"{server.url}/v1/embeddings", json=body, headers=auth).json()["data"]
    got = np.array([d["embedding"] for d in data], dtype=np.float32)
    expected = default_model.encode([[QUESTION, TEXTS[2]], [TITLE, TEXTS[0]], [TITLE, TEXTS[1]]])
    assert np.abs(got - expected).max() < 1e-5
    no_instruction = default_model.encode(TEXTS[2])
    assert np.abs(got[0] - no_instruction).max() > 1e-3  # the instruction changed the vector


def test_base64_is_little_endian_float32(server, auth, default_model):
    body = {"input": [TEXTS[1]], "encoding_format": "base64"}
    encoded = httpx.post(f"{server.url}/v1/embeddings", json=body, headers=auth).json()["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(encoded), dtype="<f4")
    assert np.abs(decoded - default_model.encode(TEXTS[1])).max() < 1e-5


def test_dimensions_truncates_and_renormalizes(openai_client, default_model):
    response = openai_client.embeddings.create(model="minilm", input=TEXTS, dimensions=64, extra_body={"instruction": TITLE})
    got = vectors(response)
    full = default_model.encode(TEXTS, instruction=TITLE)[:, :64]
    expected = full / np.linalg.norm(full, axis=1, keepdims=True)
    assert got.shape == (3, 64)
    assert np.abs(got - expected).max() < 1e-5


def test_tei_embed_normalizes_by_default(server, auth, default_model):
    body = {"inputs": TEXTS, "instruction": TITLE}
    got = np.array(httpx.post(f"{server.url}/embed", json=body, headers=auth).json(), dtype=np.float32)
    expected = default_model.encode(TEXTS, instruction=TITLE, normalize_embeddings=True)
    assert np.abs(got - expected).max() < 1e-5
    single = httpx.post(f"{server.url}/embed", json={"inputs": TEXTS[0], "normalize": False}, headers=auth).json()
    assert len(single) == 1 and len(single[0]) == 384


def test_similarity_is_instruction_aware_cosine(server, auth, default_model):
    query = {"instruction": QUESTION, "text": TEXTS[2]}
    doc = {"instruction": "Represent the Wikipedia document for retrieval:", "text": "Yams store food in their tubers."}
    body = {"pairs": [[query, doc], [TEXTS[0], TEXTS[1]]], "instruction": TITLE}
    scores = httpx.post(f"{server.url}/similarity", json=body, headers=auth).json()["scores"]
    a = default_model.encode([[query["instruction"], query["text"]], [TITLE, TEXTS[0]]], normalize_embeddings=True)
    b = default_model.encode([[doc["instruction"], doc["text"]], [TITLE, TEXTS[1]]], normalize_embeddings=True)
    assert np.allclose(scores, np.sum(a * b, axis=1), atol=1e-5)


def test_models_and_health(server, auth, openai_client):
    models = openai_client.models.list()
    assert [m.id for m in models.data] == ["minilm"]
    card = httpx.get(f"{server.url}/v1/models", headers=auth).json()["data"][0]
    assert card["dimensions"] == 384 and card["max_seq_length"] == 256
    health = httpx.get(f"{server.url}/health")  # open without a key: load balancers probe it
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_metrics_are_prometheus_text(server, auth):
    httpx.post(f"{server.url}/embed", json={"inputs": ["metrics probe"]}, headers=auth)
    response = httpx.get(f"{server.url}/metrics", headers=auth)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in (
        'instructembed_requests_total{route="/embed",status="200"}',
        "instructembed_tokens_total",
        "instructembed_inputs_total",
        "instructembed_batch_rows_bucket",
        'instructembed_request_latency_seconds_bucket{le="0.005",route="/embed"}',
        "instructembed_forward_passes_total",
    ):
        assert name in text, name
