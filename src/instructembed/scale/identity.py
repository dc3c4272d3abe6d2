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
    """`name` is how the model was loaded (a packaged name, hub id or folder); `weights` its checksum."""

    name: str
    weights: str
    dimension: int

    @classmethod
    def of(cls, model: Any) -> ModelIdentity:
        name = str(getattr(model, "model_name_or_path", "") or type(model).__name__)
        return cls(name, weights_checksum(model), int(model.get_sentence_embedding_dimension()))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, where: str) -> ModelIdentity:
        try:
            return cls(str(data["name"]), str(data["weights"]), int(data["dimension"]))
        except (KeyError, TypeError, ValueError):
            raise InstructEmbedError(f"{where} does not name the model that made its vectors") from None

    def check_same(self, other: ModelIdentity, where: str) -> None:
        """An InstructEmbedError unless `other` has the same weights (vectors of two models do not mix)."""
        if other.weights != self.weights or other.dimension != self.dimension:
            raise InstructEmbedError(
                f"{where} was made with model {self.name!r} (weights {self.weights[:12]}, {self.dimension}-d), "
                f"not {other.name!r} (weights {other.weights[:12]}, {other.dimension}-d): use --model {self.name}"
            )
