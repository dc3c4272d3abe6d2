"""The training loop, nanoGPT style: setup, data, model, optimizer, then one readable loop.

Output folder (`config.output_dir`):
    config.toml        the resolved config of this run
    log.csv            step, lr, train loss; dev loss/accuracy and STS Spearman at each evaluation
    checkpoint/        trainable.safetensors + optimizer.pt + trainer_state.json (`--resume` continues from it)
    final/             delta.safetensors (the learned update, float32) + summary.json
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import logging
import math
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from instructembed.errors import InstructEmbedError
from instructembed.train.config import TrainConfig, config_from_dict, eval_task_names, to_toml
from instructembed.train.data import TokenizedTriples, drop_unfit, read_triples, strip_instructions, to_device
from instructembed.train.long_anchor import LongAnchor
from instructembed.train.losses import (
    backward_batch, embed, label_masks, loss_from_embeddings, with_base_anchor, with_label_supcon,
)
from instructembed.train.model_setup import base_provenance, build_model, learned_delta, trainable_state
from instructembed.train.monitoring import SteeringCheck, TaskCheck, dev_metrics
from instructembed.train.sampler import ContrastGroupBatchSampler, InterleavedBatchSampler, SameTaskBatchSampler

logger = logging.getLogger(__name__)
CSV_COLUMNS = ["step", "epoch", "lr", "train_loss", "contrast_loss", "dev_loss", "dev_acc", "contrast_dev_acc", "elapsed_s"]  # + one per eval task


@dataclass
class TrainResult:
    output_dir: Path
    steps: int
    elapsed_s: float
    metrics: dict[str, float] = field(default_factory=dict)


# --- setup ------------------------------------------------------------------------------------
def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InstructEmbedError(f"device {name!r} asked for, but no CUDA GPU is available")
    return torch.device(name)


def autocast_for(device: torch.device, bf16: bool, cpu_bf16: bool = False):
    """bf16 autocast on CUDA when `bf16`, on the CPU when `cpu_bf16` (float32 master weights either way)."""
    if device.type == "cuda" and bf16:
        return partial(torch.autocast, device_type="cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and cpu_bf16:
        return partial(torch.autocast, device_type="cpu", dtype=torch.bfloat16)
    return nullcontext


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


# --- optimizer --------------------------------------------------------------------------------
def make_optimizer(model: torch.nn.Module, config: TrainConfig, total_steps: int):
    """AdamW (weight decay on matrices only) with linear warmup then linear decay to 0."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)
    warmup = int(config.warmup_ratio * total_steps)

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)


# --- checkpoints ------------------------------------------------------------------------------
def replace_dir(staging: Path, target: Path) -> None:
    """Swap a fully written folder into place, so a crash never leaves a half checkpoint."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def save_checkpoint(out: Path, model, optimizer, scheduler, config: TrainConfig, step: int, elapsed: float) -> None:
    staging = Path(tempfile.mkdtemp(prefix=".checkpoint.", dir=out))
    save_file(trainable_state(model), str(staging / "trainable.safetensors"))
    rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng}, staging / "optimizer.pt")
    state = {"step": step, "elapsed_s": elapsed, "config": dataclasses.asdict(config)}
    (staging / "trainer_state.json").write_text(json.dumps(state, indent=2))
    replace_dir(staging, out / "checkpoint")


def saved_config(out: Path) -> TrainConfig:
    file = out / "checkpoint" / "trainer_state.json"
    if not file.exists():
        raise InstructEmbedError(f"nothing to resume: {file} does not exist")
    return config_from_dict(json.loads(file.read_text())["config"], source=str(file))


def load_checkpoint(out: Path, model, optimizer, scheduler) -> tuple[int, float]:
    folder = out / "checkpoint"
    weights = load_file(str(folder / "trainable.safetensors"))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)
    saved = torch.load(folder / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"]["cpu"])
    if saved["rng"]["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["rng"]["cuda"])
    state = json.loads((folder / "trainer_state.json").read_text())
    return int(state["step"]), float(state["elapsed_s"])


class CsvLog:
    """log.csv; on resume, rows after the checkpoint's step are dropped so the log matches the run."""

    def __init__(self, file: Path, resume_step: int | None, extra_columns: list[str]) -> None:
        self.file = file
        self.columns = CSV_COLUMNS + extra_columns
        rows = []
        if resume_step is not None and file.exists():
            with open(file, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        with open(file, "w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            writer.writeheader()
            writer.writerows(rows)

    def write(self, **row) -> None:
        with open(self.file, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow({k: row.get(k, "") for k in self.columns})


# --- data -------------------------------------------------------------------------------------
@dataclass
class TrainingData:
    train_set: TokenizedTriples
    plain_set: TokenizedTriples | None  # the same triples without instructions (plain_batch_fraction)
    sampler: InterleavedBatchSampler
    total_steps: int
    dev_set: TokenizedTriples | None
    dev_batches: list[list[int]]
    contrast_dev_batches: list[list[int]] = field(default_factory=list)
    long_anchor: LongAnchor | None = None  # the truncated inputs anchored at full length (config.long_anchor)


def build_sampler(task_ids: list[str], groups: list[str | None], config: TrainConfig, max_per_task: int,
                  contrast_share: float | None) -> InterleavedBatchSampler:
    """Same-task batches for ordinary records, whole-group batches for contrast records, in one stream."""
    ordinary_rows = [i for i, g in enumerate(groups) if g is None]
    contrast_rows = [i for i, g in enumerate(groups) if g is not None]
    ordinary = SameTaskBatchSampler([task_ids[i] for i in ordinary_rows], config.batch_size, config.min_batch_size,
                                    max_per_task, config.seed) if ordinary_rows else None
    contrast = ContrastGroupBatchSampler([task_ids[i] for i in contrast_rows], [groups[i] for i in contrast_rows],
                                         config.batch_size, config.min_batch_size, config.seed) if contrast_rows else None
    if ordinary is not None and len(ordinary) == 0:
        ordinary = None
    if contrast is not None and len(contrast) == 0:
        contrast = None
    if ordinary is None and contrast is None:
        raise InstructEmbedError(f"{config.train_file}: no task has min_batch_size={config.min_batch_size} rows")
    if ordinary is not None:
        ordinary.epoch_batches(0)  # fills the stats for the log
    if contrast is not None:
        contrast.epoch_batches(0)
    return InterleavedBatchSampler(ordinary, ordinary_rows, contrast, contrast_rows, contrast_share, config.seed)


def prepare_data(config: TrainConfig, tokenizer) -> TrainingData:
    with_instructions = config.instructions == "on"
    triples = drop_unfit(read_triples(config.train_file, with_instructions), tokenizer)
    train_set = TokenizedTriples(triples, tokenizer)
    plain_set = TokenizedTriples(strip_instructions(triples), tokenizer, eager=False) if config.plain_batch_fraction > 0 else None
    share = config.contrast_share if config.contrast_share >= 0 else None
    sampler = build_sampler(train_set.task_ids, train_set.groups, config, config.max_examples_per_task, share)
    dev_set, dev_batches, contrast_dev_batches = None, [], []
    if config.dev_file:
        dev_set = TokenizedTriples(drop_unfit(read_triples(config.dev_file, with_instructions), tokenizer), tokenizer)
        dev_sampler = build_sampler(dev_set.task_ids, dev_set.groups, config, 0, None)
        dev_batches = dev_sampler.stream_batches(contrast=False)[: config.dev_max_batches]
        contrast_dev_batches = dev_sampler.stream_batches(contrast=True)[: config.dev_max_batches]
    total_steps = config.max_steps or math.ceil(config.epochs * len(sampler))
    long_anchor = LongAnchor(triples, tokenizer, config.long_anchor_length, config.long_anchor_rows, config.seed,
                             config.pad_to_multiple_of) if config.long_anchor > 0 else None
    return TrainingData(train_set, plain_set, sampler, total_steps, dev_set, dev_batches, contrast_dev_batches, long_anchor)


# --- the run ----------------------------------------------------------------------------------
def train(config: TrainConfig, resume: bool = False, show_progress: bool = True) -> TrainResult:
    """Train per `config`; with `resume`, continue the run in `config.output_dir` from its checkpoint
    (rebuilt from the checkpoint's saved config, so the continuation is exact)."""
    out = Path(config.output_dir)
    if resume:
        given, config = config, saved_config(out)
        changed = [k for k, v in dataclasses.asdict(given).items() if getattr(config, k) != v]
        if changed:
            logger.warning("resuming with the checkpoint's config; ignoring changed keys %s", changed)
    elif (out / "checkpoint").exists():
        raise InstructEmbedError(f"{out} already holds a run; pass --resume to continue it, or pick another output_dir")
    # everything the run needs is checked before anything is created or the first step is taken
    provenance = base_provenance(config)
    steering_check = SteeringCheck(config.steering_dev_dir, config.eval_max_rows)
    for name in ("train_file", "dev_file"):
        value = getattr(config, name)
        if value and not Path(value).is_file():
            raise InstructEmbedError(f"{name} not found: {value}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.toml").write_text(to_toml(config))

    # setup
    torch.manual_seed(config.seed)
    if config.cpu_threads:
        torch.set_num_threads(config.cpu_threads)
    device = resolve_device(config.device)
    autocast = autocast_for(device, config.bf16, config.cpu_bf16)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True

    # model (seeded: LoRA's initial A matrices are random)
    model = build_model(config, device)
    initial = trainable_state(model) if config.method == "full" else {}
    # the untuned model, frozen (a fresh LoRA adds nothing yet), taken before a resume loads trained weights
    anchored = config.base_anchor > 0 or config.long_anchor > 0
    reference = copy.deepcopy(model).eval().requires_grad_(False) if anchored else None

    # data: tokenized once; a step's batch is a pure function of (seed, step)
    data = prepare_data(config, model.pair_tokenizer)
    train_set, plain_set, sampler, total_steps = data.train_set, data.plain_set, data.sampler, data.total_steps
    task_check = TaskCheck(eval_task_names(config), config.eval_max_rows, config.instructions == "on")
    logger.info(
        "%d triples in %d tasks, %d batches an epoch (%s), %d steps on %s (contrast-group batches: %.0f%% of steps); "
        "%d texts truncated at %d tokens",
        len(train_set), len(sampler.groups), len(sampler), sampler.stats, total_steps, hardware(device),
        100 * sampler.share, train_set.truncated, config.max_seq_length,
    )

    if data.long_anchor is not None:
        logger.info("long_anchor: %d ordinary inputs longer than %d tokens; %d a step, read at %d tokens",
                    len(data.long_anchor.pool), config.max_seq_length, config.long_anchor_rows, config.long_anchor_length)

    # optimizer
    optimizer, scheduler = make_optimizer(model, config, total_steps)
    trainable = [p for p in model.parameters() if p.requires_grad]
    loss_fn = partial(loss_from_embeddings, tau=config.tau, in_batch_positives=config.in_batch_positives)

    step, elapsed = 0, 0.0
    if resume:
        step, elapsed = load_checkpoint(out, model, optimizer, scheduler)
    log = CsvLog(out / "log.csv", step if resume else None, task_check.names + steering_check.names)

    def evaluate() -> dict[str, float]:
        metrics = {}
        if data.dev_set is not None and data.dev_batches:
            metrics |= dev_metrics(model, data.dev_set, data.dev_batches, config.tau, config.pad_to_multiple_of, autocast)
        if data.dev_set is not None and data.contrast_dev_batches:
            contrast = dev_metrics(model, data.dev_set, data.contrast_dev_batches, config.tau, config.pad_to_multiple_of, autocast)
            metrics["contrast_dev_acc"] = contrast["dev_acc"]
        metrics |= task_check(model)
        metrics |= steering_check(model)
        log.write(**{"step": step, "epoch": round(step / len(sampler), 3), "elapsed_s": round(elapsed, 1), **metrics})
        tqdm.write(f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        return metrics

    metrics = evaluate() if step == 0 else {}
    bar = tqdm(
        total=total_steps, initial=step, desc="train", unit="step", disable=not show_progress, dynamic_ncols=True,
        mininterval=1 if sys.stderr.isatty() else 30,  # a log file gets a line every 30 s, not every 0.1 s
    )
    losses: list[torch.Tensor] = []
    contrast_losses: list[torch.Tensor] = []
    started = time.perf_counter() - elapsed
    session_started = time.perf_counter()  # the time limit is per invocation: a resumed run gets it afresh
    while step < total_steps:
        # one optimizer step on one same-task batch
        rows, is_contrast = sampler.batch_at(step)  # a contrast batch holds whole groups, never stripped
        plain = (not is_contrast and plain_set is not None
                 and random.Random(config.seed * 1_000_003 + step).random() < config.plain_batch_fraction)
        features = to_device((plain_set if plain else train_set).collate(rows, config.pad_to_multiple_of), device)
        step_loss = loss_fn
        labels = [train_set.labels[i] for i in rows] if is_contrast else []
        if is_contrast and config.mask_label_negatives:
            forward_mask, reverse_mask = label_masks(labels, device)
            step_loss = partial(loss_fn, forward_mask=forward_mask, reverse_mask=reverse_mask)
        if is_contrast and config.label_supcon > 0:
            step_loss = with_label_supcon(step_loss, labels, config.label_supcon, config.tau)
        if config.base_anchor > 0 and not is_contrast:
            with torch.no_grad(), autocast():
                step_loss = with_base_anchor(step_loss, [embed(reference, f) for f in features], config.base_anchor)
        loss = backward_batch(model, features, step_loss, config.grad_cache_chunk or None, autocast)
        if is_contrast:
            contrast_losses.append(loss)
        if data.long_anchor is not None:  # every step, contrast or not: long documents stay where the base put them
            loss = loss + data.long_anchor.backward(step, model, reference, config.long_anchor, device, autocast)
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(trainable, config.grad_clip)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        elapsed = time.perf_counter() - started
        losses.append(loss)  # no .item() here: it would stall the CPU until the GPU catches up, every step
        bar.update(1)

        # log, evaluate, checkpoint
        last = step == total_steps
        out_of_time = config.time_limit_minutes > 0 and time.perf_counter() - session_started > 60 * config.time_limit_minutes
        checkpoint_due = step % config.checkpoint_every == 0 or last or out_of_time
        # a log row at every checkpoint too, so a resumed run's log matches an uninterrupted one
        if step % config.log_every == 0 or checkpoint_due:
            mean_loss = torch.stack(losses).mean().item()
            contrast_loss = round(torch.stack(contrast_losses).mean().item(), 5) if contrast_losses else ""
            lr = scheduler.get_last_lr()[0]
            log.write(step=step, epoch=round(step / len(sampler), 3), lr=f"{lr:.3e}",
                      train_loss=round(mean_loss, 5), contrast_loss=contrast_loss, elapsed_s=round(elapsed, 1))
            bar.set_postfix(loss=f"{mean_loss:.4f}", contrast=contrast_loss, lr=f"{lr:.2e}")
            losses, contrast_losses = [], []
        if (config.eval_every and step % config.eval_every == 0) or last or out_of_time:
            metrics = evaluate()
        if checkpoint_due:
            save_checkpoint(out, model, optimizer, scheduler, config, step, elapsed)
        if out_of_time and not last:
            logger.warning("time limit of %.1f minutes reached at step %d of %d", config.time_limit_minutes, step, total_steps)
            break
    bar.close()
    write_final(out, model, config, initial, step, total_steps, elapsed, metrics, device, sampler, provenance)
    return TrainResult(out, step, elapsed, metrics)


def write_final(out: Path, model, config, initial, step, total_steps, elapsed, metrics, device, sampler, provenance) -> None:
    """final/delta.safetensors (what training learned, float32) and summary.json (for the model card)."""
    staging = Path(tempfile.mkdtemp(prefix=".final.", dir=out))
    delta = learned_delta(model, config, initial)
    save_file(delta, str(staging / "delta.safetensors"))
    summary = {
        **provenance,
        "steps": step,
        "planned_steps": total_steps,
        "train_seconds": round(elapsed, 1),
        "hardware": hardware(device),
        "batches_per_epoch": len(sampler),
        "epoch_stats": dataclasses.asdict(sampler.stats),
        "final_metrics": metrics,
        "delta_parameters": int(sum(t.numel() for t in delta.values())),
        "config": dataclasses.asdict(config),
    }
    (staging / "summary.json").write_text(json.dumps(summary, indent=2))
    replace_dir(staging, out / "final")
