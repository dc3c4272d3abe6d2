"""An exported graph run by onnxruntime (`OnnxGraph`), and `OnnxInstructor`: an `Instructor` over an export folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from instructembed.engine.instructor import Instructor
from instructembed.engine.tokenizer_file import TokenizerFile
from instructembed.errors import InstructEmbedError
from instructembed.export.onnx_export import CONFIG_FILE, FORMAT_VERSION, INT8_FILE


class OnnxGraph:
    """The ONNX backend's seam: one graph of an export folder in an onnxruntime session, with its tokenizer.

    `run(features)` maps the padded model inputs of a batch to its (rows, dim) float32 embeddings.

    Args:
        folder: a folder written by `export_onnx` (or `instructembed export`, or the export cache).
        onnx_file: "model.onnx", "model_int8.onnx", ...; default: the folder's default (int8 when there is one).
        device: "cpu" (default) or "cuda" (needs onnxruntime-gpu; without it, an error).
        threads: onnxruntime intra-op threads (default: all cores).
    """

    def __init__(self, folder: str | Path, onnx_file: str | None = None, *, device: Any = None, threads: int | None = None) -> None:
        import onnxruntime as ort

        folder = Path(folder)
        if not (folder / CONFIG_FILE).is_file():
            raise InstructEmbedError(f"{folder} is not an ONNX export folder (no {CONFIG_FILE}); run `instructembed export` first")
        try:
            self.config = json.loads((folder / CONFIG_FILE).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InstructEmbedError(f"{folder / CONFIG_FILE} is corrupt: {exc}") from None
        if self.config.get("format_version") != FORMAT_VERSION:
            raise InstructEmbedError(f"{folder}: export format {self.config.get('format_version')} is not {FORMAT_VERSION}; re-export")
        file = folder / (onnx_file or self.config["files"][self.config["default"]])
        if not file.is_file():
            hint = " (exported without --quantize int8: re-export with it, or use the onnx backend)" if file.name == INT8_FILE else ""
            raise InstructEmbedError(f"ONNX graph {file} not found{hint}")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = providers_for(device)
        try:
            self.session = ort.InferenceSession(str(file), options, providers=providers)
        except Exception as exc:
            raise InstructEmbedError(f"cannot load ONNX graph {file}: {str(exc).strip().splitlines()[0]}") from None
        self.folder, self.onnx_file = folder, file
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = _load_tokenizer(folder, self.input_names)
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"

    @property
    def backend(self) -> str:
        """The backend name of this graph: "onnx-int8" for the int8 file, else "onnx"."""
        return "onnx-int8" if self.onnx_file.name == INT8_FILE else "onnx"

    @property
    def dimension(self) -> int:
        return int(self.config["dimension"])

    @property
    def max_seq_length(self) -> int:
        return int(self.config["max_seq_length"])

    @property
    def do_lower_case(self) -> bool:
        return bool(self.config["do_lower_case"])

    def run(self, features: dict[str, Tensor]) -> np.ndarray:
        """(rows, dim) float32 embeddings of one padded batch (the graph's inputs taken from `features`)."""
        feed = {name: features[name].numpy() for name in self.input_names}
        return self.session.run(None, feed)[0].astype(np.float32, copy=False)


class OnnxInstructor(Instructor):
    """An `Instructor` on the ONNX backend over an export folder, choosing the graph file by name.

    `Instructor(folder, backend="onnx" | "onnx-int8")` is the same model; this class adds the choice of
    `onnx_file` (default: the folder's default graph, int8 when there is one).

    Example:
        >>> model = OnnxInstructor("runs/minilm-onnx")          # or Instructor("runs/minilm-onnx", backend="onnx-int8")
        >>> model.encode([["Represent the Science title:", "3D ActionSLAM"]]).shape
        (1, 384)
    """

    def __init__(
        self,
        path: str | Path,
        onnx_file: str | None = None,
        *,
        device: str | None = None,
        max_seq_length: int | None = None,
        threads: int | None = None,
    ) -> None:
        if path is None:
            raise InstructEmbedError("OnnxInstructor needs an export folder; use Instructor(name, backend='onnx') for any model")
        graph = OnnxGraph(path, onnx_file, device=device, threads=threads)
        super().__init__(path, device, backend=graph.backend, max_seq_length=max_seq_length, graph=graph)

    @property
    def onnx_file(self) -> Path:
        return self.graph.onnx_file

    @property
    def input_names(self) -> list[str]:
        return self.graph.input_names

    @property
    def session(self) -> Any:
        return self.graph.session

    @property
    def config(self) -> dict:
        return self.graph.config


def _load_tokenizer(folder: Path, input_names: list[str]) -> Any:
    """The export's `tokenizer.json` through `tokenizers` (no transformers import); a folder without one
    (a slow-only tokenizer) through transformers."""
    if TokenizerFile.available(folder):
        return TokenizerFile(folder, input_names)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def providers_for(device: Any) -> list[str]:
    """onnxruntime's providers for `device`: "cpu" (default), or "cuda" when onnxruntime-gpu can use it."""
    import onnxruntime as ort

    device = None if device is None else str(device)
    if device is None or device == "cpu":
        return ["CPUExecutionProvider"]
    if device != "cuda" and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise InstructEmbedError(f"unknown device {device!r} for the ONNX backend: use cpu or cuda")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise InstructEmbedError(f"device {device!r} asked for, but onnxruntime has no CUDA provider here (install onnxruntime-gpu, or use cpu)")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]
