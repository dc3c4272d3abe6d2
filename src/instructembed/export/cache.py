"""The export cache behind `backend="onnx" | "onnx-int8"`: any model exported once, on first use, then reused.

An entry is a folder written by `export_onnx`, named `<model>-<backend>-<key>` under
`$INSTRUCTEMBED_CACHE_DIR/onnx` (default: the user cache dir, e.g. `~/.cache/instructembed/onnx`).
The key hashes the model's files (weights, configs, tokenizer: any change to them is a new key), the
export options (with the int8 recipe's version) and the versions of instructembed, torch, onnx and
onnxruntime. `export_onnx` writes the entry in a temporary folder renamed into place, so an interrupted
export leaves no entry behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

from instructembed.errors import InstructEmbedError

CACHE_ENV = "INSTRUCTEMBED_CACHE_DIR"
# files that make a model: weights, configs, vocabularies, sentencepiece models (not READMEs, pictures, other exports)
MODEL_SUFFIXES = {".safetensors", ".bin", ".pt", ".pth", ".json", ".txt", ".model"}
SKIPPED_FOLDERS = {"onnx", "openvino"}
OPSET = 17


def cache_root() -> Path:
    """`$INSTRUCTEMBED_CACHE_DIR/onnx`, or `onnx` in the platform's user cache folder for instructembed."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser() / "onnx"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("instructembed")) / "onnx"


def model_files(folder: Path) -> list[Path]:
    """The files of a checkpoint folder that shape its embeddings, sorted (hidden and export folders left out)."""
    files = []
    for path in folder.rglob("*"):
        parts = path.relative_to(folder).parts
        if any(p.startswith(".") or p in SKIPPED_FOLDERS for p in parts[:-1]) or parts[-1].startswith("."):
            continue
        if path.suffix.lower() in MODEL_SUFFIXES and path.is_file():
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def weights_checksum(folder: Path) -> str:
    """SHA-256 over the relative path and content hash of every model file in `folder`.

    A delta folder (`manifest.json`) names its base by checksum, so the base's weights are covered too.
    """
    from instructembed.engine.default_model import sha256_of

    files = model_files(folder)
    if not files:
        raise InstructEmbedError(f"{folder} holds no model files (weights, configs) to export")
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(folder).as_posix()}\0{sha256_of(file)}\n".encode())
    return digest.hexdigest()


def export_key(folder: Path, quantize: str | None, opset: int = OPSET) -> str:
    """The cache key of exporting `folder` with these options under the installed library versions."""
    import onnx
    import onnxruntime
    import torch

    from instructembed import __version__
    from instructembed.export.onnx_export import FORMAT_VERSION

    from instructembed.export.fusion import FUSION_VERSION
    from instructembed.export.quantize import RECIPE_VERSION, default_weight_type

    spec = {
        "weights": weights_checksum(folder),
        "quantize": quantize, "recipe": RECIPE_VERSION if quantize else None,
        "weight_type": default_weight_type() if quantize else None,  # an int8 graph made for this CPU's kernels
        "opset": opset, "format": FORMAT_VERSION,
        "fusion": FUSION_VERSION,
        "instructembed": __version__, "torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def entry_name(model_label: str, backend: str, key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_label.rstrip("/").rsplit("/", 1)[-1])[:48].strip("._") or "model"
    return f"{slug}-{backend}-{key}"


def cached_export(
    model_name_or_path: str | Path | None,
    backend: str,
    *,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
    show_progress: bool = True,
) -> tuple[Path, str]:
    """The export folder for `model_name_or_path` on `backend` ("onnx" or "onnx-int8") and its cache key.

    Exports into the cache on first use (with a progress line on stderr); later calls return the entry.
    """
    from instructembed.engine.default_model import default_model_name
    from instructembed.engine.loading import resolve_model_path

    quantize = "int8" if backend == "onnx-int8" else None
    folder = resolve_model_path(model_name_or_path, cache_folder, revision, local_files_only)
    key = export_key(folder, quantize)
    label = str(model_name_or_path) if model_name_or_path is not None else default_model_name()
    target = cache_root() / entry_name(label, backend, key)
    from instructembed.export.onnx_export import is_export_folder

    if not is_export_folder(target):
        _export(folder, label, target, quantize, show_progress)
    return target, key


def _export(folder: Path, label: str, target: Path, quantize: str | None, show_progress: bool) -> None:
    """Load the torch model and export it to `target` (atomically), showing each step and the time taken."""
    from tqdm.auto import tqdm

    from instructembed.engine.instructor import Instructor
    from instructembed.export.onnx_export import export_onnx

    steps = ["load", "trace", "fuse"] + (["int8"] if quantize else []) + ["save"]
    title = f"first use: exporting {label} to ONNX{' int8' if quantize else ''}"
    started = time.perf_counter()
    with tqdm(
        total=len(steps), desc=title, file=sys.stderr, disable=not show_progress,
        bar_format="{desc} [{n}/{total} steps, {elapsed}<{remaining}]",
    ) as bar:
        def step(name: str) -> None:
            if name != steps[0]:
                bar.update(1)
            bar.set_description_str(f"{title}: {name}")  # shown now: the step that is running

        step("load")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InstructEmbedError(f"cannot create the export cache {target.parent}: {exc.strerror or exc} (set {CACHE_ENV})") from None
        model = Instructor(folder, device="cpu")
        model.model_name_or_path = label
        export_onnx(model, target, quantize=quantize, opset=OPSET, on_step=step)
        bar.update(1)
    if show_progress:
        print(f"exported {label} in {time.perf_counter() - started:.1f}s, cached at {target}", file=sys.stderr)


def open_graph(
    model_name_or_path: str | Path | None,
    backend: str,
    *,
    device: str | None = None,
    threads: int | None = None,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
    show_progress: bool = True,
):
    """The `OnnxGraph` of `backend` for any model: an export folder's own graph, else the cached export
    (made on first use). Returns the graph and a fingerprint of its weights for embedding caches."""
    from instructembed.engine.default_model import sha256_of
    from instructembed.export.onnx_export import FP32_FILE, INT8_FILE, is_export_folder
    from instructembed.export.onnx_runtime import OnnxGraph, providers_for

    providers_for(device)  # an unknown device fails before any export
    file = INT8_FILE if backend == "onnx-int8" else FP32_FILE
    given = Path(model_name_or_path).expanduser() if model_name_or_path is not None else None
    if given is not None and given.is_dir() and is_export_folder(given):
        graph = OnnxGraph(given, file, device=device, threads=threads)
        return graph, f"{backend}-{sha256_of(graph.onnx_file)[:24]}"
    folder, key = cached_export(
        model_name_or_path, backend, cache_folder=cache_folder, revision=revision,
        local_files_only=local_files_only, show_progress=show_progress,
    )
    return OnnxGraph(folder, file, device=device, threads=threads), f"{backend}-{key}"
