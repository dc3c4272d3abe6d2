"""`POST /search` on a real server (free port) started with an index: results equal `Index.search_texts`,
the same API key and limits as the other routes, and an index of another model refused at start."""

from __future__ import annotations

import httpx
import pytest
from search_corpus import DOC_INSTRUCTION, DOCS, QUERIES, QUERY_INSTRUCTION

from instructembed.errors import InstructEmbedError

pytest.importorskip("faiss", reason="search needs instructembed[search]")

from instructembed.search import Index  # noqa: E402
from instructembed.serve import BackgroundServer, ServerSettings, create_app  # noqa: E402

KEY = {"Authorization": "Bearer k"}


@pytest.fixture(scope="module")
def index(default_model, doc_vectors):
    return Index.build(doc_vectors, [f"d{i}" for i in range(len(DOCS))], model=default_model, instruction=DOC_INSTRUCTION, texts=DOCS)


@pytest.fixture(scope="module")
def server(default_model, index):
    settings = ServerSettings(model_name="mini", api_key="k", max_inputs=4, max_queue_rows=100, max_chars=500)
    with BackgroundServer(create_app(default_model, settings, index=index)) as running:
        yield running


def test_search_equals_the_index(server, index, default_model):
    response = httpx.post(f"{server.url}/search", json={"query": QUERIES, "instruction": QUERY_INSTRUCTION, "k": 3}, headers=KEY, timeout=120)
    assert response.status_code == 200, response.text
    body = response.json()
    expected = index.search_texts(default_model, QUERIES, instruction=QUERY_INSTRUCTION, k=3)
    assert [[h["id"] for h in q] for q in body["results"]] == [[h.id for h in q] for q in expected]
    assert body["results"][0][0]["text"] == DOCS[0] and abs(body["results"][0][0]["score"] - expected[0][0].score) < 1e-5
    assert body["model"] == "mini" and body["usage"]["prompt_tokens"] > 0
    one = httpx.post(f"{server.url}/search", json={"query": {"instruction": QUERY_INSTRUCTION, "text": QUERIES[0]}, "k": 100}, headers=KEY, timeout=120)
    assert len(one.json()["results"][0]) == len(DOCS)  # k beyond the index: every row


def test_search_has_the_same_auth_and_limits(server):
    assert httpx.post(f"{server.url}/search", json={"query": "x"}, timeout=60).status_code == 401
    too_many = httpx.post(f"{server.url}/search", json={"query": ["q"] * 5}, headers=KEY, timeout=60)
    assert too_many.status_code == 413 and "more than the limit of 4" in too_many.json()["error"]["message"]
    too_long = httpx.post(f"{server.url}/search", json={"query": "x" * 600}, headers=KEY, timeout=60)
    assert too_long.status_code == 413
    bad_k = httpx.post(f"{server.url}/search", json={"query": "x", "k": 0}, headers=KEY, timeout=60)
    assert bad_k.status_code == 422 and bad_k.json()["error"]["message"].startswith("k:")


def test_no_index_no_route_and_another_models_index_refused(default_model, base_model, index):
    with BackgroundServer(create_app(default_model, ServerSettings())) as plain:
        assert httpx.post(f"{plain.url}/search", json={"query": "x"}, timeout=60).status_code == 404
    with pytest.raises(InstructEmbedError, match="made with model 'instructembed-mini'"):
        create_app(base_model, ServerSettings(), index=index)
