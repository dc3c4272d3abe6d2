"""Mean pooling over the text tokens only: the instruction is attended to but left out, per row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from instructembed.engine.module import Module
from instructembed.errors import InstructEmbedError


class Pooling(Module):
    """Average `token_embeddings` over the positions where `pooling_mask` is 1.

    `pooling_mask` is the attention mask with each row's instruction tokens zeroed; without it
    (plain texts) every attended token counts, as in sentence-transformers' mean pooling.
    """

    config_keys = ["word_embedding_dimension"]

    def __init__(self, word_embedding_dimension: int) -> None:
        super().__init__()
        self.word_embedding_dimension = word_embedding_dimension

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        tokens = features["token_embeddings"]  # (B, T, H)
        mask = features.get("pooling_mask", features["attention_mask"])  # (B, T)
        mask = mask.unsqueeze(-1).to(torch.float32)  # (B, T, 1)
        summed = (tokens.to(torch.float32) * mask).sum(dim=1)  # (B, H)
        counts = mask.sum(dim=1).clamp(min=1e-9)  # (B, 1)
        features["sentence_embedding"] = (summed / counts).to(tokens.dtype)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        # sentence-transformers' layout; `include_prompt: false` makes its own Pooling skip the prompt.
        return {
            "word_embedding_dimension": self.word_embedding_dimension,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "include_prompt": False,
        }

    def save(self, path: str | Path) -> None:
        self.save_config(path)

    @classmethod
    def load(cls, path: str | Path) -> "Pooling":
        config = cls.read_config(path)
        dim = config.get("word_embedding_dimension", config.get("embedding_dimension"))
        mode = config.get("pooling_mode")
        is_mean = mode in ("mean", ["mean"]) if mode is not None else config.get("pooling_mode_mean_tokens", False)
        others = [k for k in ("cls_token", "max_tokens", "mean_sqrt_len_tokens") if config.get(f"pooling_mode_{k}")]
        if not is_mean or others or dim is None:
            raise InstructEmbedError(
                f"unsupported pooling in {Path(path) / cls.config_file_name}: INSTRUCTOR models need mean pooling"
            )
        return cls(int(dim))
