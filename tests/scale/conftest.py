"""The vectors in-process `encode` gives: what every engine must reproduce."""

from __future__ import annotations

import numpy as np
import pytest
from shard_files import INSTRUCTION


@pytest.fixture(scope="session")
def encode(default_model):
    def run(texts: list[str], instruction: str = INSTRUCTION) -> np.ndarray:
        return default_model.encode(texts, instruction=instruction, normalize_embeddings=True, batch_size=8)

    return run
