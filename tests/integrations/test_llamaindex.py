"""LlamaIndex embedding: query vs text instructions, in-process and through the server, inside a real index."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("llama_index.core", reason="optional extra: pip install llama-index-core")

from instructembed.integrations.llamaindex import InstructEmbedding  # noqa: E402

Q = "Represent the science question for retrieving papers:"
T = "Represent the science paper for retrieval:"
DOCS = ["Yams store food in underground tubers.", "Qubits hold quantum information.", "The cat sat on the mat."]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_query_and_text_instructions_in_process(default_model):
    emb = InstructEmbedding(default_model, query_instruction=Q, text_instruction=T)
    texts = np.array(emb.get_text_embedding_batch(DOCS))
    assert np.abs(texts - unit(default_model.encode(DOCS, instruction=T))).max() < 1e-5
    query = np.array(emb.get_query_embedding("qubits?"))
    assert np.abs(query - unit(default_model.encode("qubits?", instruction=Q))).max() < 1e-5
    assert np.abs(np.array(emb.embed(["qubits?"], None)[0]) - unit(default_model.encode("qubits?"))).max() < 1e-5


def test_server_backend_and_async(default_model, keyed_server):
    local = InstructEmbedding(default_model, query_instruction=Q, text_instruction=T)
    remote = InstructEmbedding(base_url=keyed_server.url, api_key="k3y", query_instruction=Q, text_instruction=T)
    assert remote.model_name == keyed_server.url
    got = asyncio.run(remote.aget_query_embedding("qubits?"))
    assert np.abs(np.array(got) - np.array(local.get_query_embedding("qubits?"))).max() < 1e-5
    got = asyncio.run(remote.aget_text_embedding_batch(DOCS))
    assert np.abs(np.array(got) - np.array(local.get_text_embedding_batch(DOCS))).max() < 1e-5


def test_in_a_llamaindex_vector_index(default_model):
    from llama_index.core import Document, VectorStoreIndex

    emb = InstructEmbedding(default_model, query_instruction=Q, text_instruction=T)
    index = VectorStoreIndex.from_documents([Document(text=d) for d in DOCS], embed_model=emb)
    hits = index.as_retriever(similarity_top_k=1).retrieve("How is quantum information stored?")
    assert hits[0].node.get_content() == DOCS[1]
