"""Shared fixtures: the default model loaded once, a session embedding cache, and hand-made task folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from instructembed.medi.embedding_cache import CachedEmbedder
from instructembed.shared_data import data_dir


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("medi_cache")


@pytest.fixture(scope="session")
def embedder(session_cache) -> CachedEmbedder:
    """The default model (loaded once), embedding without instructions, cached for the session."""
    cached = CachedEmbedder(None, session_cache)
    cached.model  # noqa: B018 - load now, once
    return cached


@pytest.fixture(scope="session")
def shared_train() -> Path:
    train = data_dir() / "train"
    if not (train / "sni").is_dir() or not (train / "pairs").is_dir():
        pytest.skip(f"shared training data not found at {train} (set INSTRUCTEMBED_DATA_DIR)")
    return train
