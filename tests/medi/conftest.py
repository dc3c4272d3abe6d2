"""Shared fixtures: the default model loaded once, a session embedding cache, and hand-made task folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from instructembed.medi.build import BuildConfig
from instructembed.medi.embedding_cache import CachedEmbedder
from instructembed.shared_data import data_dir


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("medi_cache")


@pytest.fixture(scope="session")
def embedder(session_cache) -> CachedEmbedder:
    """The build's default embedder, the packaged base (loaded once), without instructions, cached for the session."""
    cached = CachedEmbedder(BuildConfig.embedder, session_cache)
    cached.model  # noqa: B018 - load now, once
    return cached


@pytest.fixture(scope="session")
def shared_train() -> Path:
    train = data_dir() / "train"
    if not (train / "sni").is_dir() or not (train / "pairs").is_dir():
        pytest.skip(f"shared training data not found at {train} (set INSTRUCTEMBED_DATA_DIR)")
    return train
