"""L2 normalization of the sentence embedding (saves nothing, as in sentence-transformers)."""

from __future__ import annotations

from pathlib import Path

import torch.nn.functional as F
from torch import Tensor

from instructembed.engine.module import Module


class Normalize(Module):
    """Scale each sentence embedding to unit length."""

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features["sentence_embedding"] = F.normalize(features["sentence_embedding"], p=2, dim=1)
        return features

    def save(self, path: str | Path) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> "Normalize":
        return cls()
