"""A small corpus embedded once by the default model, and the SciFact corpus from the shared data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from search_corpus import DOC_INSTRUCTION, DOCS

from instructembed.shared_data import data_dir


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(DOCS)))
    return path


@pytest.fixture(scope="session")
def doc_vectors(default_model) -> np.ndarray:
    return default_model.encode(DOCS, instruction=DOC_INSTRUCTION, normalize_embeddings=True)


@pytest.fixture(scope="session")
def scifact() -> dict:
    """SciFact's 5,183 documents (title + abstract) and 300 claims, as the retrieval task has them."""
    root = data_dir() / "eval" / "SciFact"
    if not (root / "corpus.jsonl").is_file():
        pytest.skip(f"SciFact not found at {root} (set INSTRUCTEMBED_DATA_DIR)")
    docs = [json.loads(line) for line in (root / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = [json.loads(line) for line in (root / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return {
        "ids": [d["_id"] for d in docs],
        "texts": [f"{d.get('title', '')} {d['text']}".strip() for d in docs],
        "queries": [q["text"] for q in queries],
    }
