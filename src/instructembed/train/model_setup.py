"""The model being trained: the base Instructor, with LoRA adapters or every weight trainable,
and the learned delta in the shipped format (see `instructembed.engine.adapted_model`)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor

from instructembed.engine.default_model import BASE_MODEL_NAME, base_model_path, sha256_of
from instructembed.engine.instructor import Instructor
from instructembed.errors import InstructEmbedError
from instructembed.train.config import TrainConfig


def is_packaged_base(name: str) -> bool:
    return name in ("default", BASE_MODEL_NAME, BASE_MODEL_NAME.split("/")[-1])


def base_folder(config: TrainConfig) -> Path:
    """The base checkpoint folder: the packaged all-MiniLM-L6-v2 for "default" or its name, else a folder
    (or hub id) holding full weights; one clear error when it is none of these."""
    if is_packaged_base(config.base_model):
        return base_model_path()
    from instructembed.engine.loading import resolve_model_path

    folder = resolve_model_path(config.base_model)
    if not (folder / "model.safetensors").is_file():
        raise InstructEmbedError(
            f"base_model {config.base_model!r}: {folder} has no model.safetensors (train from full weights: "
            f"'default', {BASE_MODEL_NAME.split('/')[-1]!r} or a sentence-transformers folder)"
        )
    return folder


def build_model(config: TrainConfig, device: torch.device) -> Instructor:
    """The base model in train mode, adapted per `config.method`; only trainable weights need grad."""
    model = Instructor(str(base_folder(config)), device="cpu", max_seq_length=config.max_seq_length)
    model.float()  # float32 master weights even from a float16 base copy; bf16 only inside autocast
    encoder = model.transformer.auto_model
    if config.method == "lora":
        try:
            from peft import LoraConfig, inject_adapter_in_model
        except ImportError:
            raise InstructEmbedError("method = 'lora' needs peft (pip install 'instructembed[train]')") from None
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=config.lora_target_modules,
            bias="none",
        )
        inject_adapter_in_model(lora, encoder)
        for name, param in model.named_parameters():
            param.requires_grad_("lora_" in name)
        if not any(p.requires_grad for p in model.parameters()):
            raise InstructEmbedError(f"lora_target_modules {config.lora_target_modules!r} matches no module")
    else:
        for param in model.parameters():
            param.requires_grad_(True)
    model.to(device)
    model.train()
    return model


def base_provenance(config: TrainConfig) -> dict[str, str]:
    """Name and weights checksum of the base the delta belongs to.

    A base folder carrying `derived_from.json` (e.g. a float16 copy made to travel to a GPU machine)
    names the original model and its checksum: the delta is applied to that original when shipped.
    """
    folder = base_folder(config)
    trained_on = sha256_of(folder / "model.safetensors")
    if is_packaged_base(config.base_model):
        return {"base_model": BASE_MODEL_NAME, "base_sha256": trained_on, "trained_on_sha256": trained_on}
    origin = folder / "derived_from.json"
    if origin.exists():
        derived = json.loads(origin.read_text())
        return {"base_model": derived["base_model"], "base_sha256": derived["base_sha256"], "trained_on_sha256": trained_on}
    return {"base_model": str(folder), "base_sha256": trained_on, "trained_on_sha256": trained_on}


def trainable_state(model: torch.nn.Module) -> dict[str, Tensor]:
    """The weights training changes, by name (what a checkpoint stores)."""
    return {name: p.detach().cpu().clone() for name, p in model.named_parameters() if p.requires_grad}


def learned_delta(model: Instructor, config: TrainConfig, initial: dict[str, Tensor]) -> dict[str, Tensor]:
    """What training learned, keyed by the base encoder's parameter names (`.lora_A`/`.lora_B`/`.delta`).

    `initial` is `trainable_state(model)` taken before the first step (used by full fine-tuning).
    """
    encoder = model.transformer.auto_model
    delta: dict[str, Tensor] = {}
    if config.method == "lora":
        from peft.tuners.lora import LoraLayer

        for module_name, module in encoder.named_modules():
            if isinstance(module, LoraLayer) and "default" in module.lora_A:
                a = module.lora_A["default"].weight.detach().float().cpu()  # (r, in)
                b = module.lora_B["default"].weight.detach().float().cpu()  # (out, r)
                delta[f"{module_name}.weight.lora_A"] = a.contiguous()
                delta[f"{module_name}.weight.lora_B"] = (b * module.scaling["default"]).contiguous()
        return delta
    prefix = next(name for name, m in model.named_modules() if m is encoder) + "."
    for name, param in model.named_parameters():
        if name.startswith(prefix):
            change = param.detach().float().cpu() - initial[name].float()
            if change.abs().max() > 0:
                delta[f"{name[len(prefix):]}.delta"] = change.contiguous()
    return delta
