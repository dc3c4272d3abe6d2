"""`Instructor`: the instruction-aware embedding model and its `encode`."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from instructembed.atomic_folder import replace_dir
from instructembed.engine.backends import check_backend, check_dtype
from instructembed.engine.batching import EncodeStats, PairTokenizer, encode_in_batches
from instructembed.engine.default_model import default_model_name
from instructembed.engine.dense import Dense
from instructembed.engine.inputs import to_pairs
from instructembed.engine.loading import ST_TYPE_NAMES, load_modules, module_folder_name, resolve_model_path
from instructembed.engine.module import Module
from instructembed.engine.normalize import Normalize
from instructembed.engine.transformer import Transformer
from instructembed.errors import InstructEmbedError

logger = logging.getLogger("instructembed.engine")

def check_max_seq_length(value: Any) -> None:
    """`None` (the checkpoint's own limit) or a positive int; anything else is an InstructEmbedError."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InstructEmbedError(f"max_seq_length must be a positive number of tokens, got {value!r}")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The torch device for `device` (`None`: CUDA when available, else CPU); one that is unknown or
    absent on this machine is an InstructEmbedError."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise InstructEmbedError(f"unknown device {str(device)!r}: use cpu, cuda, cuda:N or mps") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise InstructEmbedError(f"device {str(device)!r} asked for, but CUDA is not available on this machine: use cpu")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise InstructEmbedError(f"device {str(device)!r} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise InstructEmbedError(f"device {str(device)!r} asked for, but MPS is not available on this machine: use cpu")
    return resolved


class Instructor(nn.Sequential):
    """An INSTRUCTOR embedding model: Transformer -> instruction-aware mean Pooling -> [Dense] -> [Normalize].

    Args:
        model_name_or_path: `None` for the embedded default model, a local folder in
            sentence-transformers layout (hkunlp/instructor-* included), or a Hugging Face hub id.
        device: "cpu", "cuda", ...; default: CUDA when available (one not available here is an error).
        max_seq_length: override the checkpoint's token limit, from 1 up to the model's positions
            (longer inputs are truncated and counted).
        dtype: the torch backend's weights: "float32" (default), "bfloat16" (about 3x faster on a CPU with AMX,
            cosine >= 0.9998 to float32) or "float16" (GPUs); a name or a `torch.dtype`.
        backend: "torch", "onnx" (fp32 graph) or "onnx-int8" (int8 graph), for any model name or folder:
            the first use exports the model into the export cache (`instructembed.export.cache`), later
            runs reuse it; a folder written by `instructembed export` is used as it is.
        threads: onnxruntime intra-op threads (ONNX backends; default: all cores).

    Example:
        >>> model = Instructor()
        >>> model.encode([["Represent the Science title:", "3D ActionSLAM"]]).shape
        (1, 384)
        >>> fast = Instructor(backend="onnx-int8")  # exported once, cached; the same `encode`
    """

    def __init__(
        self,
        model_name_or_path: str | Path | None = None,
        device: str | None = None,
        *,
        backend: str = "torch",
        max_seq_length: int | None = None,
        cache_folder: str | None = None,
        revision: str | None = None,
        local_files_only: bool = False,
        dtype: torch.dtype | str | None = None,
        modules: list[Module] | None = None,
        threads: int | None = None,
        graph: Any = None,
    ) -> None:
        check_max_seq_length(max_seq_length)
        check_backend(backend)
        dtype_name = check_dtype(dtype)
        if backend != "torch":
            if dtype_name not in (None, "float32") or modules is not None:
                raise InstructEmbedError(f"dtype and modules apply to the torch backend, not {backend}")
            super().__init__()
            self._name(model_name_or_path, backend)
            self._init_graph(model_name_or_path, backend, device, max_seq_length, threads, graph, cache_folder, revision, local_files_only)
            return
        target = resolve_device(device)  # both fail before the weights load
        if modules is None:
            folder = resolve_model_path(model_name_or_path, cache_folder, revision, local_files_only)
            modules = load_modules(folder, max_seq_length=max_seq_length, dtype=dtype_name and getattr(torch, dtype_name))
        super().__init__(*modules)
        if dtype_name is not None:  # also a delta's base and the Dense head
            self.to(getattr(torch, dtype_name))
        self._name(model_name_or_path, backend)
        self.graph = None
        if max_seq_length is not None:  # also over a limit the checkpoint sets itself (a shipped delta's manifest)
            self._check_max_seq_length(max_seq_length)
            self.transformer.max_seq_length = max_seq_length
        self.pair_tokenizer = PairTokenizer(self.tokenizer, self.max_seq_length, self.transformer.do_lower_case)
        self.eval()
        self._move_to(target)

    def _name(self, model_name_or_path: Any, backend: str) -> None:
        self.model_name_or_path = str(model_name_or_path) if model_name_or_path is not None else default_model_name()
        self.backend = backend
        self.last_encode_stats = EncodeStats()

    def _init_graph(self, name: Any, backend: str, device: Any, max_seq_length: int | None, threads: int | None,
                    graph: Any, cache_folder: str | None, revision: str | None, local_files_only: bool) -> None:
        """The ONNX backends: the graph (given, an export folder's, or the cached export) and its tokenizer."""
        if graph is None:
            from instructembed.export.cache import open_graph

            graph, self.fingerprint = open_graph(
                name, backend, device=device, threads=threads, cache_folder=cache_folder,
                revision=revision, local_files_only=local_files_only,
            )
        else:
            from instructembed.engine.default_model import sha256_of

            self.fingerprint = f"{backend}-{sha256_of(graph.onnx_file)[:24]}"
        self.graph = graph
        self.pair_tokenizer = PairTokenizer(graph.tokenizer, graph.max_seq_length, graph.do_lower_case)
        if max_seq_length is not None:
            self._check_max_seq_length(max_seq_length)
            self.pair_tokenizer.max_seq_length = max_seq_length

    # --- the parts -------------------------------------------------------------------------
    @property
    def transformer(self) -> Transformer:
        if self.graph is not None:
            raise InstructEmbedError(f"the {self.backend} backend runs an ONNX graph: it has no torch modules (use backend='torch')")
        return self[0]

    @property
    def tokenizer(self):
        return self.graph.tokenizer if self.graph is not None else self.transformer.tokenizer

    @property
    def max_seq_length(self) -> int:
        return self.pair_tokenizer.max_seq_length if self.graph is not None else self.transformer.max_seq_length

    @max_seq_length.setter
    def max_seq_length(self, value: int) -> None:
        self._check_max_seq_length(value)
        if self.graph is None:
            self.transformer.max_seq_length = value
        self.pair_tokenizer.max_seq_length = value

    @property
    def device(self) -> torch.device:
        return torch.device(self.graph.device) if self.graph is not None else next(self.parameters()).device

    def _check_max_seq_length(self, value: Any) -> None:
        """From room for the special tokens and one text token up to the encoder's positions (ONNX: the exported limit)."""
        check_max_seq_length(value)
        least = self.tokenizer.num_special_tokens_to_add() + 1
        if self.graph is not None:
            most = self.graph.max_seq_length
        else:
            most = getattr(self.transformer.auto_model.config, "max_position_embeddings", None)
        if value < least or most and value > most:
            span = f"from {least} to {most}" if most else f"at least {least}"
            raise InstructEmbedError(f"max_seq_length must be {span} tokens for this model, got {value}")

    def _move_to(self, device: torch.device) -> None:
        if self.graph is not None:
            if device.type != self.device.type:
                raise InstructEmbedError(f"the {self.backend} backend runs on {self.device.type}, chosen at load (device=...)")
            return
        try:
            self.to(device)
        except (RuntimeError, AssertionError) as exc:  # a device torch knows of but cannot use here
            raise InstructEmbedError(f"cannot use device {str(device)!r}: {str(exc).strip().splitlines()[0]}") from None

    def get_sentence_embedding_dimension(self) -> int:
        if self.graph is not None:
            return self.graph.dimension
        dims = [m.out_features for m in self if isinstance(m, Dense)]
        return dims[-1] if dims else self.transformer.hidden_size

    def extra_repr(self) -> str:
        return f"backend={self.backend!r}, graph={str(self.graph.onnx_file)!r}" if self.graph is not None else ""

    @property
    def ends_in_normalize(self) -> bool:
        """Whether the model's own output is unit length (its chain ends in a Normalize module)."""
        if self.graph is not None:
            return bool(self.graph.config.get("normalized", True))
        return len(self) > 0 and isinstance(self[-1], Normalize)

    def forward_features(self, features: dict[str, Tensor], normalize: bool | None = None) -> dict[str, Tensor]:
        """Run the torch modules on collated features. `normalize=False` skips a final Normalize (the raw
        pooled or Dense output), `True` makes the output unit length, `None` keeps the checkpoint's chain."""
        modules = list(self)
        if normalize is False and self.ends_in_normalize:
            modules = modules[:-1]
        for module in modules:
            features = module(features)
        if normalize and not self.ends_in_normalize:
            features["sentence_embedding"] = F.normalize(features["sentence_embedding"], p=2, dim=1)
        return features

    # --- inputs ------------------------------------------------------------------------------
    def tokenize(self, inputs: Any, instruction: str | None = None) -> dict[str, Tensor]:
        """Model inputs for a batch (padded to its longest row), with the per-row `pooling_mask`."""
        pairs, _ = to_pairs(inputs, instruction)
        tokenized = self.pair_tokenizer.tokenize(pairs)
        return self.pair_tokenizer.collate(tokenized.input_ids, tokenized.instruction_lengths)

    # --- encode ------------------------------------------------------------------------------
    def encode(
        self,
        inputs: Any,
        batch_size: int = 32,
        normalize_embeddings: bool | None = None,
        show_progress_bar: bool | None = None,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | None = None,
        output_value: str = "sentence_embedding",
        *,
        instruction: str | None = None,
    ) -> np.ndarray | Tensor | list:
        """Embed texts, each with its own instruction.

        Args:
            inputs: `[[instruction, text], ...]` (instructions may differ row by row),
                `[{"instruction": ..., "text": ...}, ...]`, plain strings, or one string (returns 1-D).
            instruction: applied to every plain-string row (e.g. one instruction for a whole corpus).
            batch_size: rows per forward pass; rows are length-sorted and padded to the batch's longest.
            normalize_embeddings: `True`: unit length (cosine = dot product); `False`: the raw pooled (or
                Dense) output, a checkpoint's final Normalize skipped; `None`: as the checkpoint gives it
                (hkunlp/instructor-* and the packaged models end in Normalize). An ONNX graph has its
                Normalize inside: with `False` it logs a warning and returns unit vectors.
            output_value: "sentence_embedding", or "token_embeddings" for each row's unpadded token vectors.

        Returns:
            A (n, d) float32 numpy array (or tensor with `convert_to_tensor=True`); 1-D for one string.
            Texts longer than `max_seq_length` tokens are truncated; `last_encode_stats` counts them.
        """
        if output_value not in ("sentence_embedding", "token_embeddings"):
            raise InstructEmbedError(f"output_value must be 'sentence_embedding' or 'token_embeddings', got {output_value!r}")
        if output_value == "token_embeddings" and self.graph is not None:
            raise InstructEmbedError(f"the {self.backend} backend returns sentence embeddings only (output_value='sentence_embedding')")
        if batch_size < 1:
            raise InstructEmbedError(f"batch_size must be >= 1, got {batch_size}")
        pairs, single = to_pairs(inputs, instruction)
        if normalize_embeddings is False and self.graph is not None and self.ends_in_normalize and not getattr(self, "_warned_raw", False):
            self._warned_raw = True
            logger.warning("the %s backend's graph ends in Normalize: normalize_embeddings=False returns unit vectors "
                           "(raw vectors need backend='torch')", self.backend)
        if device is not None:
            self._move_to(resolve_device(device))
        if not pairs:
            self.last_encode_stats = EncodeStats()
            empty = torch.zeros((0, self.get_sentence_embedding_dimension()))
            return empty if convert_to_tensor else empty.numpy()
        multiple = 32 if self.device.type == "cuda" and self.graph is None else None  # fixed shapes keep GPU kernels cached

        def embed_rows(ids: list[list[int]], starts: list[int]) -> list[Tensor]:
            features = self.pair_tokenizer.collate(ids, starts, multiple)
            if self.graph is not None:
                vectors = torch.from_numpy(self.graph.run(features))
                return list(F.normalize(vectors, p=2, dim=1) if normalize_embeddings else vectors)
            features = {k: v.to(self.device) for k, v in features.items()}
            out = self.forward_features(features, normalize_embeddings)
            if output_value == "token_embeddings":
                mask = features["attention_mask"].bool()
                return [out["token_embeddings"][j][mask[j]].float().cpu() for j in range(len(ids))]
            vectors = out["sentence_embedding"].float()
            if normalize_embeddings:
                vectors = F.normalize(vectors, p=2, dim=1)
            return list(vectors.cpu())

        with torch.inference_mode():
            outputs, self.last_encode_stats = encode_in_batches(
                self.pair_tokenizer, pairs, batch_size, embed_rows, show_progress_bar
            )
        if output_value == "token_embeddings":
            result = outputs if convert_to_tensor or not convert_to_numpy else [t.numpy() for t in outputs]
            return result[0] if single else result
        stacked = torch.stack(outputs)  # (n, d)
        if single:
            stacked = stacked[0]
        if convert_to_tensor or not convert_to_numpy:
            return stacked
        return stacked.numpy()

    def embed_token_rows(self, input_ids: list[list[int]], instruction_lengths: list[int], normalize: bool | None = None) -> np.ndarray:
        """One forward pass over already tokenized rows -> (rows, dim) float32, on any backend (the server's batch function);
        `normalize` as in `forward_features` (torch only: a graph's output is as it was exported)."""
        features = self.pair_tokenizer.collate(input_ids, instruction_lengths)
        if self.graph is not None:
            return self.graph.run(features)
        features = {k: v.to(self.device) for k, v in features.items()}
        with torch.inference_mode():
            return self.forward_features(features, normalize)["sentence_embedding"].float().cpu().numpy()

    def encode_queries(self, texts: Any, instruction: str, **kwargs: Any) -> np.ndarray:
        """Embed a list of queries under one instruction."""
        return self.encode(texts, instruction=instruction, **kwargs)

    def encode_corpus(self, texts: Any, instruction: str, **kwargs: Any) -> np.ndarray:
        """Embed a list of documents under one instruction."""
        return self.encode(texts, instruction=instruction, **kwargs)

    # --- save --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the sentence-transformers layout (readable by `SentenceTransformer(path)`), atomically."""
        if self.graph is not None:
            raise InstructEmbedError(f"save() writes torch modules; the {self.backend} backend has none (load with backend='torch')")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            specs = []
            for index, module in enumerate(self):
                sub = module_folder_name(index, module)
                module.save(staging / sub)
                specs.append({"idx": index, "name": str(index), "path": sub, "type": ST_TYPE_NAMES[type(module)]})
            (staging / "modules.json").write_text(json.dumps(specs, indent=2))
            (staging / "config_sentence_transformers.json").write_text(
                json.dumps({"prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"}, indent=2)
            )
            replace_dir(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


class INSTRUCTOR(Instructor):
    """Drop-in for `InstructorEmbedding.INSTRUCTOR`: same constructor and `encode` signature.

    Example:
        >>> model = INSTRUCTOR("hkunlp/instructor-large")  # or a local folder, or None for the default
        >>> model.encode([["Represent the Science title:", "3D ActionSLAM"]])  # 2-D numpy array
    """

    def __init__(self, model_name_or_path: str | None = None, device: str | None = None, cache_folder: str | None = None, **kwargs: Any) -> None:
        super().__init__(model_name_or_path, device, cache_folder=cache_folder, **kwargs)
