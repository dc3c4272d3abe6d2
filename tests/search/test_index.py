"""`Index` on FAISS with real vectors of the default model: exact search is brute-force cosine, HNSW
keeps recall@10 >= 0.95 on SciFact, save/load round-trips, and another model's vectors are refused."""

from __future__ import annotations

import numpy as np
import pytest
from search_corpus import DOC_INSTRUCTION, DOCS, QUERIES, QUERY_INSTRUCTION

from instructembed.errors import InstructEmbedError

faiss = pytest.importorskip("faiss", reason="search needs instructembed[search]")

from instructembed.search import Index  # noqa: E402


def test_exact_search_equals_brute_force_cosine(default_model, doc_vectors):
    ids = [f"d{i}" for i in range(len(DOCS))]
    index = Index.build(doc_vectors, ids, model=default_model, instruction=DOC_INSTRUCTION, kind="flat", texts=DOCS)
    hits = index.search_texts(default_model, QUERIES, instruction=QUERY_INSTRUCTION, k=5)
    queries = default_model.encode(QUERIES, instruction=QUERY_INSTRUCTION, normalize_embeddings=True)
    scores = queries @ doc_vectors.T
    for row, found in zip(scores, hits):
        order = np.argsort(-row)[:5]
        assert [h.id for h in found] == [ids[j] for j in order]
        assert np.allclose([h.score for h in found], row[order], atol=1e-5)
        assert found[0].text == DOCS[order[0]]
    assert [h.id for h in hits[0][:1]] == ["d0"] and hits[1][0].id == "d5" and hits[2][0].id == "d11"  # the right answers


def test_k_beyond_the_index_returns_every_row_and_bad_k_is_refused(default_model, doc_vectors):
    index = Index.build(doc_vectors, [str(i) for i in range(len(DOCS))], model=default_model)
    assert len(index.search(doc_vectors[:1], k=100)[0]) == len(DOCS)
    with pytest.raises(InstructEmbedError, match="k must be a positive whole number"):
        index.search(doc_vectors[:1], k=0)
    with pytest.raises(InstructEmbedError, match=r"vectors must have shape \(n, 384\)"):
        index.search(np.ones((1, 8), np.float32))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_load_round_trip(tmp_path, default_model, doc_vectors, kind):
    ids = [f"d{i}" for i in range(len(DOCS))]
    vectors = np.concatenate([doc_vectors] * 4)  # ivf needs 39 training vectors per list
    index = Index.build(vectors, ids * 4, model=default_model, instruction=DOC_INSTRUCTION, kind=kind, texts=DOCS * 4)
    index.add(doc_vectors[:2], ["extra-0", "extra-1"], DOCS[:2])
    index.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix")
    assert (len(loaded), loaded.factory, loaded.instruction, loaded.model, loaded.params) == (
        len(index), index.factory, DOC_INSTRUCTION, index.model, index.params)
    assert loaded.ids == index.ids and loaded.texts == index.texts
    before, after = index.search(doc_vectors, k=3), loaded.search(doc_vectors, k=3)
    assert [[h.id for h in q] for q in before] == [[h.id for h in q] for q in after]
    index.save(tmp_path / "ix")  # replacing an index folder is allowed; anything else is not
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "mine.txt").write_text("x")
    with pytest.raises(InstructEmbedError, match="exists and is not an index folder"):
        index.save(tmp_path / "other")


def test_another_model_is_refused(default_model, base_model, doc_vectors):
    index = Index.build(doc_vectors, [str(i) for i in range(len(DOCS))], model=default_model)
    with pytest.raises(InstructEmbedError, match="made with model 'instructembed-mini'.*not 'all-MiniLM-L6-v2'"):
        index.search_texts(base_model, QUERIES)


def test_load_refuses_a_damaged_index(tmp_path, default_model, doc_vectors):
    Index.build(doc_vectors, [str(i) for i in range(len(DOCS))], model=default_model).save(tmp_path / "ix")
    (tmp_path / "ix" / "index.faiss").write_bytes(b"not faiss")
    with pytest.raises(InstructEmbedError, match="cannot read the index"):
        Index.load(tmp_path / "ix")
    with pytest.raises(InstructEmbedError, match="is not an index"):
        Index.load(tmp_path)


@pytest.fixture(scope="module")
def scifact_vectors(scifact):
    """All 5,183 SciFact documents, each title + abstract cut at 32 tokens (so a 2-core machine embeds
    them in under a minute; `benchmarks/bench_search.py` measures the full-length vectors), and the 300
    claims, by the default model."""
    from instructembed import Instructor

    model = Instructor(device="cpu", max_seq_length=32)
    docs = model.encode(scifact["texts"], instruction=DOC_INSTRUCTION, normalize_embeddings=True, batch_size=64)
    queries = model.encode(scifact["queries"], instruction=QUERY_INSTRUCTION, normalize_embeddings=True, batch_size=64)
    return model, docs, queries


def test_hnsw_recall_at_10_against_exact_on_scifact(scifact, scifact_vectors):
    model, docs, queries = scifact_vectors
    exact = Index.build(docs, scifact["ids"], model=model, kind="flat")
    hnsw = Index.build(docs, scifact["ids"], model=model, kind="hnsw")
    truth, approx = exact.search(queries, k=10), hnsw.search(queries, k=10)
    recall = np.mean([len({h.id for h in a} & {h.id for h in t}) / 10 for a, t in zip(approx, truth)])
    assert len(hnsw) == 5183 and recall >= 0.95, recall
