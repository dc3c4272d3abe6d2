"""Which model made a set of vectors: its name and a checksum of its weights, kept beside the vectors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from instructembed.engine.fingerprint import model_fingerprint
from instructembed.errors import InstructEmbedError


def weights_checksum(model: Any) -> str:
    """A hex checksum of the weights `model` computes with: the ONNX graph file for an ONNX model,
    else every tensor of its `state_dict` (so a fine-tuned copy never passes for its parent)."""
    onnx_file = getattr(model, "onnx_file", None)
    if onnx_file is not None:
        from instructembed.engine.default_model import sha256_of

        return sha256_of(Path(onnx_file))
    checksum = model_fingerprint(model)
    if checksum is None:
        raise InstructEmbedError(f"cannot checksum the weights of {type(model).__name__}: it exposes no state_dict")
    return checksum


@dataclass(frozen=True)
class ModelIdentity:
    """`name` is how the model was loaded (a packaged name, hub id or folder); `weights` its checksum;
    `backend` and `dtype` what it ran on (`--backend`, `--dtype`), so that a later run can load it the same way."""

    name: str
    weights: str
    dimension: int
    backend: str = "torch"
    dtype: str = "float32"

    @classmethod
    def of(cls, model: Any) -> ModelIdentity:
        from instructembed.engine.backends import dtype_of

        name = str(getattr(model, "model_name_or_path", "") or type(model).__name__)
        backend = str(getattr(model, "backend", "torch"))
        return cls(name, weights_checksum(model), int(model.get_sentence_embedding_dimension()), backend, dtype_of(model))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, where: str) -> ModelIdentity:
        try:  # backend and dtype: absent from folders written before they were recorded (torch, float32)
            return cls(str(data["name"]), str(data["weights"]), int(data["dimension"]),
                       str(data.get("backend", "torch")), str(data.get("dtype", "float32")))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InstructEmbedError(f"{where} does not name the model that made its vectors") from None

    def check_same(self, other: ModelIdentity, where: str) -> None:
        """An InstructEmbedError unless `other` has the same weights (vectors of two models do not mix)."""
        if (other.backend, other.dtype) != (self.backend, self.dtype) and other.name == self.name:
            raise InstructEmbedError(
                f"{where} was made with backend {self.backend} in {self.dtype}, not {other.backend} in {other.dtype}: "
                f"use --backend {self.backend}" + (f" --dtype {self.dtype}" if self.backend == "torch" else "")
            )
        if other.weights != self.weights or other.dimension != self.dimension:
            raise InstructEmbedError(
                f"{where} was made with model {self.name!r} (weights {self.weights[:12]}, {self.dimension}-d), "
                f"not {other.name!r} (weights {other.weights[:12]}, {other.dimension}-d): use --model {self.name}"
            )
