"""LangChain `Embeddings`: query and document instructions, in-process and through the server, in a vector store."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("langchain_core", reason="optional extra: pip install langchain-core")

from instructembed import InstructEmbedError  # noqa: E402
from instructembed.integrations.langchain import InstructEmbeddings  # noqa: E402

Q = "Represent the science question for retrieving papers:"
D = "Represent the science paper for retrieval:"
DOCS = ["Yams store food in underground tubers.", "Qubits hold quantum information.", "The cat sat on the mat."]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_in_process_uses_each_instruction(default_model):
    emb = InstructEmbeddings(default_model, query_instruction=Q, document_instruction=D)
    docs = np.array(emb.embed_documents(DOCS))
    assert np.abs(docs - unit(default_model.encode(DOCS, instruction=D))).max() < 1e-5
    query = np.array(emb.embed_query("where do yams keep food?"))
    assert np.abs(query - unit(default_model.encode("where do yams keep food?", instruction=Q))).max() < 1e-5
    other = np.array(emb.embed_query("where do yams keep food?", instruction=D))  # per-call override
    assert np.abs(other - unit(default_model.encode("where do yams keep food?", instruction=D))).max() < 1e-5
    assert np.abs(other - query).max() > 1e-3


def test_server_backend_equals_in_process(default_model, keyed_server):
    local = InstructEmbeddings(default_model, query_instruction=Q, document_instruction=D)
    remote = InstructEmbeddings(base_url=keyed_server.url, api_key="k3y", query_instruction=Q, document_instruction=D)
    assert np.abs(np.array(remote.embed_documents(DOCS)) - np.array(local.embed_documents(DOCS))).max() < 1e-5
    got = asyncio.run(remote.aembed_query("qubits?"))
    assert np.abs(np.array(got) - np.array(local.embed_query("qubits?"))).max() < 1e-5
    assert np.allclose(asyncio.run(local.aembed_documents(DOCS[:1])), local.embed_documents(DOCS[:1]), atol=1e-6)


def test_in_a_langchain_vector_store(default_model):
    from langchain_core.vectorstores import InMemoryVectorStore

    store = InMemoryVectorStore(InstructEmbeddings(default_model, query_instruction=Q, document_instruction=D))
    store.add_texts(DOCS)
    assert store.similarity_search("How is quantum information stored?", k=1)[0].page_content == DOCS[1]


def test_errors_are_one_line(keyed_server, default_model):
    with pytest.raises(InstructEmbedError, match="not both"):
        InstructEmbeddings(default_model, base_url=keyed_server.url)
    with pytest.raises(InstructEmbedError, match="answered 401"):
        InstructEmbeddings(base_url=keyed_server.url, api_key="wrong").embed_query("x")
    with pytest.raises(InstructEmbedError, match="cannot reach"):
        InstructEmbeddings(base_url="http://127.0.0.1:9").embed_query("x")
