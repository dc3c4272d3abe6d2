"""Every training knob in one flat dataclass, read from TOML; unknown keys and wrong types raise."""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instructembed.errors import InstructEmbedError


@dataclass
class TrainConfig:
    """One training run. Paths are relative to the working directory."""

    # data
    train_file: str = "runs/medi/medi.jsonl"  # JSON lines {"query": [instr, text], "pos": [...], "neg": [...], "task_id"}
    dev_file: str = "runs/medi/medi.dev.jsonl"  # same format; "" skips the dev loss
    output_dir: str = "runs/train/instructembed-mini"  # checkpoint/, final/, log.csv, config.toml
    instructions: str = "on"  # "off" strips every instruction: the paper's no-instruction ablation (Figure 3)
    plain_batch_fraction: float = 0.0  # share of batches trained with instructions stripped, to keep the base's plain mode
    max_examples_per_task: int = 0  # rows drawn from one task per epoch (0 = all); caps the big tasks' share
    contrast_share: float = -1.0  # share of steps on instruction-contrast batches (whole groups, mixed instructions); < 0 = in proportion to their count
    steering_dev_dir: str = ""  # dev steering task folders + steering_instructions.json (medi build's <stem>.steering); scored at each evaluation
    min_batch_size: int = 4  # a task's last batch shorter than this is dropped (and counted)
    max_seq_length: int = 128  # tokens per input (instruction + text)
    pad_to_multiple_of: int = 32  # fixed shapes keep GPU kernels cached; 0 pads to the batch's longest

    # model
    base_model: str = "default"  # "default" = the packaged all-MiniLM-L6-v2; else a sentence-transformers folder
    method: str = "lora"  # "lora" (peft adapters on the encoder) or "full" (every weight)
    lora_rank: int = 16
    lora_alpha: float = 32.0  # the adapter's update is scaled by alpha / rank
    lora_dropout: float = 0.0
    lora_target_modules: str = r".*encoder\.layer\.\d+\..*(query|key|value|dense)$"  # regex over module names

    # optimization
    batch_size: int = 128  # triples per step, all from one task
    grad_cache_chunk: int = 0  # > 0: GradCache with chunks of this many rows (same gradient, less memory)
    epochs: float = 1.0  # passes over the (capped) data; ignored when max_steps > 0
    max_steps: int = 0  # optimizer steps; > 0 overrides epochs
    learning_rate: float = 1e-4  # peak, after linear warmup; then linear decay to 0
    warmup_ratio: float = 0.1  # share of steps spent warming up
    weight_decay: float = 0.01  # on matrices only (dim >= 2), never on biases and LayerNorm
    grad_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    tau: float = 0.01  # softmax temperature on cosine similarities (INSTRUCTOR's value)
    in_batch_positives: bool = False  # also score each query against the other rows' positives
    mask_label_negatives: bool = False  # contrast batches: texts sharing the query's label (record "labels") are not its negatives
    label_supcon: float = 0.0  # labelled contrast batches: + this x supervised contrastive loss (same asked label = positive); 0 = off
    base_anchor: float = 0.0  # ordinary batches: + this x mean(1 - cos(embedding, the untuned base's embedding)); 0 = off
    long_anchor: float = 0.0  # every step: the same term on inputs that max_seq_length truncates, read whole (below); 0 = off
    long_anchor_rows: int = 8  # long inputs anchored per step (drawn from the ordinary triples)
    long_anchor_length: int = 256  # tokens they are read at (the inference length), > max_seq_length

    # runtime
    device: str = "auto"  # "auto" = cuda when available, else cpu
    cpu_threads: int = 0  # torch CPU threads (0 = torch's default)
    bf16: bool = True  # bf16 autocast on CUDA
    cpu_bf16: bool = False  # bf16 autocast on the CPU (needs avx512_bf16/AMX to pay off; bench_train.py measures it)
    seed: int = 42
    log_every: int = 10  # steps between train-loss rows in log.csv
    eval_every: int = 200  # steps between dev loss / STS evaluations (and at the end); 0 = only at the end
    checkpoint_every: int = 200  # steps between checkpoints (and at the end)
    dev_max_batches: int = 20  # dev batches per evaluation
    eval_tasks: str = "STSBenchmark"  # comma-separated shared evaluation tasks scored in training; "" = none
    eval_max_rows: int = 500  # rows (pairs, queries, ...) per task in those checks; 0 = all
    time_limit_minutes: float = 0.0  # > 0: stop (and save) once this invocation has trained this long (--resume continues)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
CHOICES = {"instructions": ("on", "off"), "method": ("lora", "full")}


def config_from_dict(values: dict[str, Any], source: str = "config") -> TrainConfig:
    """Build a config; an unknown key, a wrong type or an out-of-range value raises one clear error."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InstructEmbedError(f"{source}: unknown key(s) {unknown}; known keys: {sorted(FIELDS)}")
    for key, value in values.items():
        expected = type(FIELDS[key].default)
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            values[key] = float(value)
            ok = True
        if not ok:
            raise InstructEmbedError(
                f"{source}: {key} must be {expected.__name__}, got {type(value).__name__} {value!r}"
            )
        if key in CHOICES and value not in CHOICES[key]:
            raise InstructEmbedError(f"{source}: {key} must be one of {CHOICES[key]}, got {value!r}")
    config = TrainConfig(**values)
    positive = ["batch_size", "max_seq_length", "lora_rank", "min_batch_size", "long_anchor_rows"]
    for key in positive:
        if getattr(config, key) < 1:
            raise InstructEmbedError(f"{source}: {key} must be >= 1, got {getattr(config, key)}")
    if config.min_batch_size < 2:
        raise InstructEmbedError(f"{source}: min_batch_size must be >= 2 (a contrastive batch needs two rows)")
    if config.contrast_share > 1.0:
        raise InstructEmbedError(f"{source}: contrast_share must be <= 1 (or < 0 for 'in proportion'), got {config.contrast_share}")
    if not 0.0 <= config.plain_batch_fraction <= 1.0 or not 0.0 <= config.warmup_ratio < 1.0:
        raise InstructEmbedError(f"{source}: plain_batch_fraction must be in [0, 1] and warmup_ratio in [0, 1)")
    for key in ("base_anchor", "long_anchor", "label_supcon"):
        if getattr(config, key) < 0:
            raise InstructEmbedError(f"{source}: {key} must be >= 0, got {getattr(config, key)}")
    if config.long_anchor > 0 and config.long_anchor_length <= config.max_seq_length:
        raise InstructEmbedError(f"{source}: long_anchor_length ({config.long_anchor_length}) must be > max_seq_length "
                                 f"({config.max_seq_length}): the long anchor reads what training truncates")
    if config.tau <= 0:
        raise InstructEmbedError(f"{source}: tau must be > 0, got {config.tau}")
    return config


def eval_task_names(config: TrainConfig) -> list[str]:
    return [name.strip() for name in config.eval_tasks.split(",") if name.strip()]


def parse_override(text: str) -> tuple[str, Any]:
    """`key=value` from the command line, the value parsed as the field's type."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or key not in FIELDS:
        raise InstructEmbedError(f"--set {text!r}: expected key=value with a known key ({sorted(FIELDS)})")
    expected = type(FIELDS[key].default)
    try:
        if expected is bool:
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return key, raw.lower() == "true"
        return key, expected(raw)
    except ValueError:
        raise InstructEmbedError(f"--set {text!r}: {key} must be {expected.__name__}") from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a TOML file (flat `key = value` lines), then apply `key=value` overrides."""
    file = Path(path)
    try:
        values = tomllib.loads(file.read_text())
    except FileNotFoundError:
        raise InstructEmbedError(f"config file not found: {file}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InstructEmbedError(f"{file} is not valid TOML: {exc}") from None
    for text in overrides or []:
        key, value = parse_override(text)
        values[key] = value
    return config_from_dict(values, source=str(file))


def to_toml(config: TrainConfig) -> str:
    """The resolved config as TOML (JSON scalars are valid TOML values)."""
    return "".join(f"{k} = {json.dumps(v)}\n" for k, v in dataclasses.asdict(config).items())
