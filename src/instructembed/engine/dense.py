"""The checkpoint's optional projection head (INSTRUCTOR: 1024 -> 768, no bias)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from instructembed.engine.module import Module
from instructembed.errors import InstructEmbedError


def _activation(name: str) -> nn.Module:
    module_name, _, class_name = name.rpartition(".")
    if not module_name.startswith("torch."):
        raise InstructEmbedError(f"untrusted Dense activation {name!r}: only torch.nn activations load")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise InstructEmbedError(f"unknown Dense activation {name!r}") from None
    return cls()


class Dense(Module):
    """`sentence_embedding <- activation(linear(sentence_embedding))`, in sentence-transformers' format."""

    config_keys = ["in_features", "out_features", "bias", "activation_function"]

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        activation_function: str = "torch.nn.modules.linear.Identity",
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.bias = in_features, out_features, bias
        self.activation_function = activation_function
        self.linear = nn.Linear(in_features, out_features, bias=bias)
        self.activation = _activation(activation_function)

    def forward(self, features: dict[str, Tensor]) -> dict[str, Tensor]:
        features["sentence_embedding"] = self.activation(self.linear(features["sentence_embedding"]))
        return features

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    def save(self, path: str | Path) -> None:
        self.save_config(path)
        save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(Path(path) / "model.safetensors"))

    @classmethod
    def load(cls, path: str | Path) -> "Dense":
        config = cls.read_config(path)
        try:
            dense = cls(**{k: config[k] for k in cls.config_keys if k in config})
        except TypeError as exc:
            raise InstructEmbedError(f"bad Dense config in {path}: {exc}") from None
        folder = Path(path)
        try:
            if (folder / "model.safetensors").exists():
                state = load_file(str(folder / "model.safetensors"))
            elif (folder / "pytorch_model.bin").exists():
                state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
            else:
                raise InstructEmbedError(f"checkpoint folder {folder} has no Dense weights")
            dense.load_state_dict(state)
        except InstructEmbedError:
            raise
        except Exception as exc:  # safetensors/pickle errors have many types
            raise InstructEmbedError(f"Dense weights in {folder} are corrupt: {type(exc).__name__}: {exc}") from None
        return dense
