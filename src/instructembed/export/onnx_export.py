"""Export an `Instructor` to one ONNX graph: encoder, instruction-aware pooling, Dense head, normalization."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from instructembed.atomic_folder import replace_dir
from instructembed.errors import InstructEmbedError
from instructembed.export.fusion import eager_attention, fuse_encoder

CONFIG_FILE = "instructembed_onnx.json"
FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
FORMAT_VERSION = 1


class _EmbeddingGraph(nn.Module):
    """Positional tensors in, `sentence_embedding` out: the shape `torch.onnx.export` traces."""

    def __init__(self, model: nn.Module, input_names: list[str]) -> None:
        super().__init__()
        self.model, self.input_names = model, input_names

    def forward(self, *tensors: Tensor) -> Tensor:
        return self.model(dict(zip(self.input_names, tensors)))["sentence_embedding"]


def graph_input_names(model: Any) -> list[str]:
    names = ["input_ids", "attention_mask", "pooling_mask"]
    if "token_type_ids" in model.tokenizer.model_input_names:
        names.append("token_type_ids")
    return names


def _mixed_length_feeds(model: Any, names: list[str]) -> list[dict]:
    """Padded batches of texts of different lengths, with and without instructions: the fusion's check."""
    from instructembed.export.quantize import CALIBRATION_PAIRS

    batches = [[list(p) for p in CALIBRATION_PAIRS], [["", "one"], ["Represent the sentence:", "two words"]]]
    return [{name: model.tokenize(batch)[name].numpy() for name in names} for batch in batches]


def is_export_folder(folder: Path) -> bool:
    """Whether `folder` holds an earlier export: the config and the fp32 graph this module writes."""
    return (folder / CONFIG_FILE).is_file() and (folder / FP32_FILE).is_file()


def check_export_folder(output_dir: str | Path, force: bool = False) -> Path:
    """The folder `export_onnx` may (re)place: a new one, an earlier export, or with `force` any folder.

    Refuses '.' and '..', a file, a path under a file, and a non-empty folder of other files (they would
    be lost) unless `force`.
    """
    target = Path(output_dir)
    if target.name in ("", ".", ".."):
        raise InstructEmbedError(f"output {str(output_dir)!r} must name the folder to write, such as runs/minilm-onnx")
    if target.exists() and not target.is_dir():
        raise InstructEmbedError(f"output {target} is a file; expected a folder")
    existing = next((p for p in target.parents if p.exists()), target.parent)
    if existing.exists() and not existing.is_dir():
        raise InstructEmbedError(f"cannot create {target}: {existing} is a file, not a folder")
    if not force and target.is_dir() and any(target.iterdir()) and not is_export_folder(target):
        raise InstructEmbedError(
            f"output {target} is a non-empty folder that is not an earlier export (no {CONFIG_FILE} and {FP32_FILE}); "
            "its files would be lost: choose another folder, or pass --force (force=True) to replace it"
        )
    return target


def export_onnx(
    model: Any, output_dir: str | Path, quantize: str | None = None, opset: int = 17, *,
    force: bool = False, on_step: Callable[[str], None] | None = None,
) -> Path:
    """Write `model.onnx` (and `model_int8.onnx` with `quantize="int8"`), the tokenizer and a config, atomically.

    `output_dir` is replaced whole: it must be new, empty or an earlier export, unless `force`
    (see `check_export_folder`). `on_step` is called with "trace", "fuse", "int8" and "save" as each step begins.

    The fp32 graph is fused into onnxruntime's transformer kernels where that computes the same embeddings
    (`fuse_encoder`; the config lists the fused operators). The graph takes `input_ids`, `attention_mask`,
    `pooling_mask` (the attention mask with each row's instruction zeroed) and, for BERT-like models,
    `token_type_ids`; batch and sequence axes are dynamic.

    Example:
        >>> export_onnx(Instructor(), "runs/minilm-onnx", quantize="int8")
        >>> OnnxInstructor("runs/minilm-onnx").encode(["3D ActionSLAM"], instruction="Represent the Science title:")
    """
    if quantize not in (None, "int8"):
        raise InstructEmbedError(f"quantize must be 'int8' or None, got {quantize!r}")
    target = check_export_folder(output_dir, force)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InstructEmbedError(f"cannot create {target.parent}: {exc.strerror or exc}") from None
    step = on_step or (lambda name: None)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        step("trace")
        names = _trace(model, staging / FP32_FILE, opset)
        step("fuse")
        fused = fuse_encoder(staging / FP32_FILE, model.transformer.auto_model.config, _mixed_length_feeds(model, names))
        files = {"fp32": FP32_FILE}
        if quantize == "int8":
            from instructembed.export.quantize import calibration_feeds, default_weight_type, quantize_int8

            step("int8")
            weight_type = default_weight_type()
            quantize_int8(staging / FP32_FILE, staging / INT8_FILE, calibration=calibration_feeds(model, names), weight_type=weight_type)
            files["int8"] = INT8_FILE
        step("save")
        model.tokenizer.save_pretrained(str(staging))
        config = {
            "format_version": FORMAT_VERSION,
            "source_model": str(getattr(model, "model_name_or_path", "")),
            "inputs": names,
            "output": "sentence_embedding",
            "dimension": int(model.get_sentence_embedding_dimension()),
            "max_seq_length": int(model.max_seq_length),
            "do_lower_case": bool(model.transformer.do_lower_case),
            "normalized": any(type(m).__name__ == "Normalize" for m in model),
            "files": files,
            "default": "int8" if quantize == "int8" else "fp32",
            "opset": opset,
            "fused_operators": fused,
        }
        if quantize == "int8":
            config["int8_weights"] = weight_type  # "uint8" on CPUs whose signed int8 kernels saturate
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2))
        replace_dir(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _trace(model: Any, file: Path, opset: int) -> list[str]:
    names = graph_input_names(model)
    sample = model.tokenize([["Represent the sentence:", "a short sample text"], ["", "another text, a little longer"]])
    was_device = model.device
    model.to("cpu")
    graph = _EmbeddingGraph(model, names).eval()
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"sentence_embedding": {0: "batch"}}
    try:
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings(), eager_attention(model.transformer.auto_model):
            warnings.simplefilter("ignore")  # the TorchScript exporter's tracer and deprecation notes
            torch.onnx.export(
                graph, tuple(sample[name] for name in names), str(file),
                input_names=names, output_names=["sentence_embedding"], dynamic_axes=axes,
                opset_version=opset, do_constant_folding=True, dynamo=False,
            )
    except Exception as exc:
        raise InstructEmbedError(f"ONNX export failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}") from None
    finally:
        model.to(was_device)
    return names


