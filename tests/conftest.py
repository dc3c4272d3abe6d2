"""Shared fixtures: the real default model (loaded once) and tiny checkpoints built offline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network

from tiny_checkpoints import build_tiny_bert, build_tiny_t5  # noqa: E402


@pytest.fixture(scope="session")
def default_model():
    """What `Instructor()` loads: instructembed-mini (the packaged base plus its shipped delta)."""
    from instructembed import Instructor

    return Instructor(device="cpu")


@pytest.fixture(scope="session")
def base_model():
    """The packaged all-MiniLM-L6-v2 itself, for parity with sentence-transformers on the same weights."""
    from instructembed import Instructor

    return Instructor("all-MiniLM-L6-v2", device="cpu")


@pytest.fixture(scope="session")
def tiny_t5_path(tmp_path_factory) -> Path:
    return build_tiny_t5(tmp_path_factory.mktemp("tiny") / "t5")


@pytest.fixture(scope="session")
def tiny_bert_path(tmp_path_factory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny") / "bert")
