"""`OnnxInstructor`: an exported model run by onnxruntime, with `Instructor.encode`'s API and tokenization."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from instructembed.engine.batching import EncodeStats, PairTokenizer, encode_in_batches
from instructembed.engine.inputs import to_pairs
from instructembed.engine.instructor import check_max_seq_length
from instructembed.errors import InstructEmbedError
from instructembed.export.onnx_export import CONFIG_FILE, FORMAT_VERSION



class OnnxInstructor:
    """Loads a folder written by `export_onnx` (or `instructembed export`); `encode` works as on `Instructor`.

    Args:
        path: the export folder.
        onnx_file: "model.onnx", "model_int8.onnx", ...; default: the quantized graph when there is one.
        device: "cpu" (default) or "cuda" (needs onnxruntime-gpu; without it, an error).
        max_seq_length: a lower token limit than the exported one.
        threads: onnxruntime intra-op threads (default: all cores).

    Example:
        >>> model = Instructor("runs/minilm-onnx", backend="onnx")   # same as OnnxInstructor(...)
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
        import onnxruntime as ort
        from transformers import AutoTokenizer

        folder = Path(path) if path is not None else None
        if folder is None or not (folder / CONFIG_FILE).is_file():
            raise InstructEmbedError(f"{path} is not an ONNX export folder (no {CONFIG_FILE}); run `instructembed export` first")
        try:
            self.config = json.loads((folder / CONFIG_FILE).read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InstructEmbedError(f"{folder / CONFIG_FILE} is corrupt: {exc}") from None
        if self.config.get("format_version") != FORMAT_VERSION:
            raise InstructEmbedError(f"{folder}: export format {self.config.get('format_version')} is not {FORMAT_VERSION}; re-export")
        file = folder / (onnx_file or self.config["files"][self.config["default"]])
        if not file.is_file():
            raise InstructEmbedError(f"ONNX graph {file} not found")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        providers = _providers(device)
        try:
            self.session = ort.InferenceSession(str(file), options, providers=providers)
        except Exception as exc:
            raise InstructEmbedError(f"cannot load ONNX graph {file}: {str(exc).strip().splitlines()[0]}") from None
        self.onnx_file = file
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        limit = int(self.config["max_seq_length"])
        check_max_seq_length(max_seq_length)
        least = self.tokenizer.num_special_tokens_to_add() + 1  # the special tokens and one text token
        if max_seq_length is not None and not least <= max_seq_length <= limit:
            raise InstructEmbedError(f"max_seq_length must be between {least} and the exported {limit}, got {max_seq_length}")
        self.pair_tokenizer = PairTokenizer(self.tokenizer, max_seq_length or limit, bool(self.config["do_lower_case"]))
        self.model_name_or_path = str(path)
        self.device = "cuda" if "CUDAExecutionProvider" in self.session.get_providers() else "cpu"
        self.last_encode_stats = EncodeStats()

    @property
    def max_seq_length(self) -> int:
        return self.pair_tokenizer.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self.pair_tokenizer.max_seq_length = value

    def get_sentence_embedding_dimension(self) -> int:
        return int(self.config["dimension"])

    def tokenize(self, inputs: Any, instruction: str | None = None) -> dict[str, np.ndarray]:
        """The graph's inputs for a batch (padded to its longest row), as numpy arrays."""
        pairs, _ = to_pairs(inputs, instruction)
        tokenized = self.pair_tokenizer.tokenize(pairs)
        return self._features(tokenized.input_ids, tokenized.instruction_lengths)

    def _features(self, input_ids: list[list[int]], instruction_lengths: list[int]) -> dict[str, np.ndarray]:
        features = self.pair_tokenizer.collate(input_ids, instruction_lengths)
        return {name: features[name].numpy() for name in self.input_names}

    def embed_token_rows(self, input_ids: list[list[int]], instruction_lengths: list[int]) -> np.ndarray:
        """One forward pass over already tokenized rows -> (rows, dim) float32 (the server's batch function)."""
        return self.session.run(None, self._features(input_ids, instruction_lengths))[0].astype(np.float32, copy=False)

    def encode(
        self,
        inputs: Any,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | None = None,
        output_value: str = "sentence_embedding",
        *,
        instruction: str | None = None,
    ) -> Any:
        """Embed texts, each with its own instruction: the same inputs and outputs as `Instructor.encode`."""
        if output_value != "sentence_embedding":
            raise InstructEmbedError("the ONNX backend returns sentence embeddings only (output_value='sentence_embedding')")
        if batch_size < 1:
            raise InstructEmbedError(f"batch_size must be >= 1, got {batch_size}")
        pairs, single = to_pairs(inputs, instruction)
        dim = self.get_sentence_embedding_dimension()
        if not pairs:
            self.last_encode_stats = EncodeStats()
            return _convert(np.zeros((0, dim), dtype=np.float32), convert_to_tensor or not convert_to_numpy)
        outputs, self.last_encode_stats = encode_in_batches(
            self.pair_tokenizer, pairs, batch_size, self.embed_token_rows, show_progress_bar
        )
        result = np.stack(outputs)  # (n, d)
        if normalize_embeddings:
            result /= np.maximum(np.linalg.norm(result, axis=1, keepdims=True), 1e-12)
        return _convert(result[0] if single else result, convert_to_tensor or not convert_to_numpy)

    def encode_queries(self, texts: Any, instruction: str, **kwargs: Any) -> Any:
        return self.encode(texts, instruction=instruction, **kwargs)

    def encode_corpus(self, texts: Any, instruction: str, **kwargs: Any) -> Any:
        return self.encode(texts, instruction=instruction, **kwargs)


def _providers(device: Any) -> list[str]:
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


def _convert(array: np.ndarray, to_tensor: bool) -> Any:
    if to_tensor:
        import torch

        return torch.from_numpy(array)
    return array
