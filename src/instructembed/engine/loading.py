"""Find a checkpoint folder (default, local, or hub id) and build its chain of modules."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from instructembed.engine.default_model import default_model_path, packaged_model_path
from instructembed.engine.dense import Dense
from instructembed.engine.module import Module
from instructembed.engine.normalize import Normalize
from instructembed.engine.pooling import Pooling
from instructembed.engine.transformer import Transformer
from instructembed.errors import InstructEmbedError

MODULE_CLASSES: dict[str, type[Module]] = {
    "Transformer": Transformer,
    "Pooling": Pooling,
    "Dense": Dense,
    "Normalize": Normalize,
}
# The type names written to modules.json: those every sentence-transformers release can import.
ST_TYPE_NAMES = {cls: f"sentence_transformers.models.{name}" for name, cls in MODULE_CLASSES.items()}


def resolve_model_path(
    name_or_path: str | Path | None,
    cache_folder: str | None = None,
    revision: str | None = None,
    local_files_only: bool = False,
) -> Path:
    """A local folder as is; `None` the embedded default; a packaged model's name ("instructembed-mini",
    "all-MiniLM-L6-v2") its offline copy; anything else a Hugging Face hub id."""
    if name_or_path is None:
        return default_model_path()
    path = Path(name_or_path).expanduser()
    packaged = None if path.exists() else packaged_model_path(str(name_or_path))
    if packaged is not None:
        return packaged
    if path.exists():
        if not path.is_dir():
            raise InstructEmbedError(f"model path {path} is a file; expected a checkpoint folder")
        return path
    text = str(name_or_path)
    if text.count("/") != 1 or text.startswith((".", "/", "~")):
        raise InstructEmbedError(f"model {text!r} not found: no such folder, and not a hub id like 'org/name'")
    try:
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(
                repo_id=text, revision=revision, cache_dir=cache_folder, local_files_only=local_files_only
            )
        )
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InstructEmbedError(
            f"cannot load model {text!r}: no such local folder, and the Hugging Face hub is unreachable "
            f"or has no cached copy ({reason})"
        ) from None


def load_modules(folder: Path, max_seq_length: int | None = None, dtype: torch.dtype | None = None) -> list[Module]:
    """Read `modules.json` (or treat a bare Hugging Face model as Transformer + mean Pooling); a folder
    with an instructembed delta `manifest.json` is its base model with the delta applied."""
    if (folder / "manifest.json").exists() and not (folder / "modules.json").exists():
        from instructembed.engine.adapted_model import load_adapted_modules  # it imports this module

        return load_adapted_modules(folder)
    spec_file = folder / "modules.json"
    if not spec_file.exists():
        if not (folder / "config.json").exists():
            raise InstructEmbedError(f"{folder} is not a model checkpoint: it has neither modules.json nor config.json")
        transformer = Transformer.load(folder, max_seq_length=max_seq_length, dtype=dtype)
        return [transformer, Pooling(transformer.hidden_size)]
    try:
        specs = json.loads(spec_file.read_text())
        specs = sorted(specs, key=lambda s: int(s.get("idx", 0)))
        kinds = [(s["type"].rsplit(".", 1)[-1], s.get("path", "")) for s in specs]
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InstructEmbedError(f"{spec_file} is corrupt: {exc}") from None
    modules: list[Module] = []
    for kind, sub in kinds:
        if kind not in MODULE_CLASSES:
            raise InstructEmbedError(f"{spec_file}: unsupported module type {kind!r} (supported: {sorted(MODULE_CLASSES)})")
        if kind == "Transformer":
            modules.append(Transformer.load(folder / sub, max_seq_length=max_seq_length, dtype=dtype))
        else:
            modules.append(MODULE_CLASSES[kind].load(folder / sub))
    if not modules or not isinstance(modules[0], Transformer) or not any(isinstance(m, Pooling) for m in modules):
        raise InstructEmbedError(f"{spec_file}: expected a Transformer followed by a Pooling module")
    return modules


def module_folder_name(index: int, module: Module) -> str:
    return "" if isinstance(module, Transformer) else f"{index}_{type(module).__name__}"
