"""Load a model shipped as base + learned delta: the base from its package, the delta from a folder.

A delta folder holds `manifest.json` and a safetensors file of tensors keyed by the base encoder's
parameter names (those of `Transformer.auto_model`):

- `<param>.lora_A` (r, in) and `<param>.lora_B` (out, r): a low-rank update, `W += lora_B @ lora_A`
  (the LoRA scaling is already folded into `lora_B`);
- `<param>.delta`: a full update of that parameter's shape, `W += delta`.

`manifest.json`: `{"format": "instructembed-delta/1", "base_model", "base_sha256", "delta_file",
"delta_sha256", "max_seq_length"}`, optionally `"delta_scale"` (default 1.0): every update is multiplied by
it, so 0 is the base and 1 the trained model (the LoRA scale; weight-space interpolation for a full delta).
A folder made by `with_delta_weights` also records `"delta_weights"` (its `[pattern, scale]` rules); the
delta file already holds the reweighted updates, so loading does not read it.
Both checksums are verified before any weight is touched.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from instructembed.engine.default_model import base_model_path, sha256_of
from instructembed.engine.loading import load_modules
from instructembed.engine.module import Module
from instructembed.errors import InstructEmbedError
from instructembed.atomic_file import write_text_atomic

if TYPE_CHECKING:
    from instructembed.engine.instructor import Instructor

DELTA_FORMAT = "instructembed-delta/1"


def apply_delta(encoder: nn.Module, tensors: dict[str, Tensor], scale: float = 1.0) -> int:
    """Add `scale` x every update in `tensors` to the matching parameter of `encoder` in place; returns how many."""
    params = dict(encoder.named_parameters())
    applied = 0
    with torch.no_grad():
        for key, value in tensors.items():
            name, _, kind = key.rpartition(".")
            if kind == "lora_A":
                continue
            if name not in params or kind not in ("lora_B", "delta"):
                raise InstructEmbedError(f"delta tensor {key!r} matches no parameter of the base encoder")
            target = params[name]
            if kind == "lora_B":
                if f"{name}.lora_A" not in tensors:
                    raise InstructEmbedError(f"delta tensor {key!r} has no matching {name}.lora_A")
                update = value.float() @ tensors[f"{name}.lora_A"].float()  # (out, r) @ (r, in)
            else:
                update = value.float()
            if update.shape != target.shape:
                raise InstructEmbedError(f"delta for {name} has shape {tuple(update.shape)}, base has {tuple(target.shape)}")
            target.add_(update.to(target.device, target.dtype), alpha=scale)
            applied += 1
    return applied


def read_manifest(folder: str | Path) -> dict:
    file = Path(folder) / "manifest.json"
    try:
        manifest = json.loads(file.read_text())
    except FileNotFoundError:
        raise InstructEmbedError(f"{folder} is not an adapted model: it has no manifest.json") from None
    except json.JSONDecodeError as exc:
        raise InstructEmbedError(f"{file} is corrupt: {exc}") from None
    if manifest.get("format") != DELTA_FORMAT:
        raise InstructEmbedError(f"{file}: format {manifest.get('format')!r} is not {DELTA_FORMAT!r}")
    scale = manifest.get("delta_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 4:
        raise InstructEmbedError(f"{file}: delta_scale must be a number in [0, 4], got {scale!r}")
    return manifest


def with_delta_scale(folder: str | Path, scale: float, out: str | Path) -> Path:
    """Copy the adapted model `folder` to `out` with its updates applied at `scale` (the weights are shared
    unchanged; only the manifest differs). Returns `out`."""
    manifest = read_manifest(folder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(Path(folder) / manifest["delta_file"], out / manifest["delta_file"])
    write_text_atomic(out / "manifest.json", json.dumps({**manifest, "delta_scale": scale}, indent=2) + "\n")
    read_manifest(out)
    return out


def with_delta_weights(folder: str | Path, weights: list[tuple[str, float]], out: str | Path) -> Path:
    """Copy the adapted model `folder` to `out` with each parameter's update scaled by the first
    `(pattern, scale)` of `weights` whose regular expression is found in the parameter's name; updates
    that match no pattern are dropped (that part of the base stays as it was). Returns `out`.

    Example: `[(r"layer\\.[0-2]\\.", 1.2), (r"layer\\.[3-5]\\.", 0.8)]` (lower layers up, upper down);
    `[(r"attention\\.self", 1.0)]` keeps query/key/value only.
    """
    manifest = read_manifest(folder)
    rules = []
    for pattern, scale in weights:
        try:
            rules.append((re.compile(pattern), float(scale)))
        except re.error as exc:
            raise InstructEmbedError(f"bad pattern {pattern!r}: {exc}") from None
    tensors = load_file(str(Path(folder) / manifest["delta_file"]))
    kept = {}
    for key, value in tensors.items():
        scale = next((s for rule, s in rules if rule.search(key.rpartition(".")[0])), None)
        if scale is not None:
            # W += B @ A: scaling B alone scales the update; a full `.delta` is scaled itself
            kept[key] = value if key.endswith(".lora_A") else (value.float() * scale).to(value.dtype)
    if not kept:
        raise InstructEmbedError(f"no pattern of {[p for p, _ in weights]} matches any of the {len(tensors)} delta tensors")
    spec = [[pattern, float(scale)] for pattern, scale in weights]
    return write_delta_folder(out, kept, {**manifest, "delta_weights": spec})


def write_delta_folder(out: str | Path, tensors: dict[str, Tensor], manifest: dict) -> Path:
    """Write `tensors` as `out/<manifest's delta_file>` and `manifest` (with the file's new checksum), each
    atomically; the folder is read back as a check. Returns `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / f".{manifest['delta_file']}.partial"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(partial))
    partial.replace(out / manifest["delta_file"])
    manifest = {**manifest, "delta_sha256": sha256_of(out / manifest["delta_file"])}
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    read_manifest(out)
    return out


def load_adapted_modules(folder: str | Path, base_folder: str | Path | None = None) -> list[Module]:
    """The base model's modules with the folder's delta applied, after verifying both checksums.

    Args:
        folder: the delta folder (`manifest.json` + safetensors).
        base_folder: the base checkpoint; default: the packaged all-MiniLM-L6-v2.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    base = Path(base_folder) if base_folder is not None else base_model_path()
    base_weights = base / "model.safetensors"
    if not base_weights.exists() or sha256_of(base_weights) != manifest["base_sha256"]:
        raise InstructEmbedError(
            f"{folder} was trained on base {manifest.get('base_model')!r} (sha256 {manifest['base_sha256'][:12]}...), "
            f"but {base_weights} does not match it"
        )
    delta_file = folder / manifest["delta_file"]
    if not delta_file.exists():
        raise InstructEmbedError(f"the delta weights are missing: {delta_file}")
    if sha256_of(delta_file) != manifest["delta_sha256"]:
        raise InstructEmbedError(f"the delta weights fail their checksum: {delta_file}")
    modules = load_modules(base, max_seq_length=manifest.get("max_seq_length"))
    apply_delta(modules[0].auto_model, load_file(str(delta_file)), float(manifest.get("delta_scale", 1.0)))
    return modules


def load_adapted(folder: str | Path, device: str | None = None, base_folder: str | Path | None = None) -> "Instructor":
    """An `Instructor` of base + delta.

    Example:
        >>> model = load_adapted("src/instructembed/models/instructembed-mini")
        >>> model.encode([["Represent the Science title:", "3D ActionSLAM"]]).shape
        (1, 384)
    """
    from instructembed.engine.instructor import Instructor  # here, so loading.py may import this module

    model = Instructor(modules=load_adapted_modules(folder, base_folder), device=device)
    model.model_name_or_path = str(folder)
    return model
