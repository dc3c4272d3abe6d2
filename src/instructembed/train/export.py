"""Turn a training run's `final/` into a shippable model folder: delta + manifest + model card.

    python -m instructembed.train.export runs/train/instructembed-mini src/instructembed/models/instructembed-mini
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from instructembed.engine.adapted_model import DELTA_FORMAT, apply_delta, load_adapted_modules
from instructembed.engine.default_model import BASE_WEIGHTS_SHA256, base_model_path, sha256_of
from instructembed.engine.instructor import Instructor
from instructembed.engine.loading import load_modules
from instructembed.errors import InstructEmbedError
from instructembed.train.trainer import replace_dir

DELTA_FILE = "delta.safetensors"
PROBES = [
    ["Represent the Science title: ", "3D ActionSLAM: wearable person tracking in multi-floor environments"],
    ["Represent the Wikipedia question for retrieving supporting documents: ", "where is the eiffel tower"],
    ["Represent the movie review for classifying sentiment: ", "A gorgeous, witty, seductive movie."],
    ["", "The cat sat on the mat."],
]


def export_model(
    run_dir: str | Path,
    out: str | Path,
    *,
    half: bool = True,
    max_mb: float = 16.0,
    eval_table: str | None = None,
    name: str | None = None,
    recipe: str | None = None,
    delta_scale: float = 1.0,
) -> Path:
    """Write `out/` = manifest.json + delta.safetensors (fp16 when `half` and its embeddings match
    float32's within cosine 0.9999) + README.md model card; returns `out`.

    Args:
        run_dir: a training output folder (holding `final/summary.json` and `final/delta.safetensors`),
            or that `final/` folder itself.
        eval_table: markdown pasted into the card's evaluation section (e.g. `instructembed evaluate`'s table).
        recipe: how the run was made, for the card (e.g. "configs/instructembed-mini-gpu.toml via scripts/train_gpu.sh").
        delta_scale: the scale the update is applied at when loaded (manifest `delta_scale`; 1 = as trained).
    """
    run_dir, out = Path(run_dir), Path(out)
    final = run_dir / "final" if (run_dir / "final").is_dir() else run_dir
    if not (final / "summary.json").exists():
        raise InstructEmbedError(f"{run_dir} has no finished training run (no final/summary.json)")
    summary = json.loads((final / "summary.json").read_text())
    delta = load_file(str(final / DELTA_FILE))
    config = summary["config"]
    # the delta ships against the packaged base whenever it was trained on it (or on a copy of it)
    base = base_model_path() if summary["base_sha256"] == BASE_WEIGHTS_SHA256 else Path(config["base_model"])

    if not 0 <= delta_scale <= 4:
        raise InstructEmbedError(f"delta_scale must be in [0, 4], got {delta_scale}")
    reference = _probe(base, delta, config["max_seq_length"], delta_scale)
    dtype = "float32"
    if half:
        halved = {k: v.half() for k, v in delta.items()}
        low = _probe(base, halved, config["max_seq_length"], delta_scale)
        worst = float((reference * low).sum(axis=1).min())
        if worst >= 0.9999:
            delta, dtype = halved, "float16"
        else:
            print(f"float16 delta drifts (min cosine {worst:.6f}); keeping float32", file=sys.stderr)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    save_file({k: v.contiguous() for k, v in delta.items()}, str(staging / DELTA_FILE))
    size_mb = (staging / DELTA_FILE).stat().st_size / 2**20
    if size_mb > max_mb:
        raise InstructEmbedError(f"the delta is {size_mb:.1f} MB, over the {max_mb} MB limit (train with method = 'lora')")
    manifest = {
        "format": DELTA_FORMAT,
        "name": name or out.name,
        "base_model": summary["base_model"],
        "base_sha256": summary["base_sha256"],
        "delta_file": DELTA_FILE,
        "delta_sha256": sha256_of(staging / DELTA_FILE),
        "delta_dtype": dtype,
        "max_seq_length": load_modules(base)[0].max_seq_length,  # inference keeps the base's limit
        "trained_max_seq_length": config["max_seq_length"],
        "method": config["method"],
        "instructions": config["instructions"],
        **({"delta_scale": delta_scale} if delta_scale != 1.0 else {}),
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (staging / "README.md").write_text(model_card(manifest, summary, size_mb, eval_table, recipe))
    # the folder as written must load and give the reference embeddings
    loaded = Instructor(modules=load_adapted_modules(staging, base), device="cpu")
    loaded.max_seq_length = config["max_seq_length"]  # the reference embeddings used the training limit
    check = loaded.encode(PROBES, normalize_embeddings=True)
    if float((reference * check).sum(axis=1).min()) < 0.9999:
        raise InstructEmbedError("the exported model does not reproduce the trained embeddings")
    staging.chmod(0o755)  # mkdtemp makes it private; a shipped folder is world-readable
    for file in staging.iterdir():
        file.chmod(0o644)
    replace_dir(staging, out)
    return out


def _probe(base: Path, delta: dict[str, torch.Tensor], max_seq_length: int, scale: float = 1.0) -> np.ndarray:
    modules = load_modules(base, max_seq_length=max_seq_length)
    apply_delta(modules[0].auto_model, delta, scale)
    return Instructor(modules=modules, device="cpu").encode(PROBES, normalize_embeddings=True)


def _contrast_note(config: dict) -> str:
    share = config.get("contrast_share", -1.0)
    if share is None or share == 0:
        return " (same-task)"
    shown = "in proportion to their count" if share < 0 else f"on {100 * share:.0f}% of the steps"
    return f" (same-task batches; instruction-contrast group batches {shown})"


def model_card(manifest: dict, summary: dict, size_mb: float, eval_table: str | None, recipe: str | None = None) -> str:
    config = summary["config"]
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in summary.get("final_metrics", {}).items()) or "none logged"
    trained_on = (
        "" if summary.get("trained_on_sha256", manifest["base_sha256"]) == manifest["base_sha256"]
        else f"; trained on a float16 copy (sha256 `{summary['trained_on_sha256'][:16]}…`)"
    )
    toml = "\n".join(f"{k} = {json.dumps(v)}" for k, v in config.items())
    return f"""# {manifest['name']}

An INSTRUCTOR-style instruction-following embedding model: **{manifest['base_model']}** plus a learned
{'LoRA' if config['method'] == 'lora' else 'full'} update ({size_mb:.1f} MB, {manifest['delta_dtype']}),
applied{f" at scale {manifest['delta_scale']} (chosen on dev data)" if 'delta_scale' in manifest else ''} offline at load time after both checksums are verified. 384-dimensional, mean pooling over the
text tokens only (the instruction is attended to but not pooled). Inference uses the base's
{manifest['max_seq_length']}-token limit (training used {config['max_seq_length']}).

```python
from instructembed.engine.adapted_model import load_adapted
model = load_adapted("src/instructembed/models/{manifest['name']}")
model.encode([["Represent the Science title: ", "3D ActionSLAM"]])
```

## Training

| | |
|---|---|
| base | {manifest['base_model']} (weights sha256 `{manifest['base_sha256'][:16]}…`){trained_on} |
| data | `{config['train_file']}` (dev: `{config['dev_file']}`), {summary['batches_per_epoch']} batches an epoch{_contrast_note(config)} |
| instructions | {config['instructions']} |
| steps | {summary['steps']} of {summary['planned_steps']} planned, batch {config['batch_size']} triples |
| loss | bidirectional InfoNCE, cosine / tau = {config['tau']}, hard negatives |
| optimizer | AdamW lr {config['learning_rate']}, warmup {config['warmup_ratio']}, linear decay, clip {config['grad_clip']} |
| method | {config['method']} (rank {config['lora_rank']}, alpha {config['lora_alpha']}) |
| time | {summary['train_seconds']} s on {summary['hardware']} |
| last in-training check | {metrics} |

Made by: {recipe or 'see the resolved config below'}.
Reproduce: `instructembed train --config configs/<recipe>.toml` (or `scripts/train_gpu.sh` on a GPU), then
`python -m instructembed.train.export runs/train/<run> src/instructembed/models/{manifest['name']}`
(see docs/training.md).

<details><summary>Full resolved config</summary>

```toml
{toml}
```
</details>

## Evaluation

{eval_table or 'Not yet evaluated: run the evaluation suite and re-export with `--eval-table`.'}
"""


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Export a training run as a shippable delta model folder.")
    parser.add_argument("run_dir")
    parser.add_argument("out")
    parser.add_argument("--float32", action="store_true", help="keep the delta in float32")
    parser.add_argument("--eval-table", help="markdown file pasted into the card's evaluation section")
    parser.add_argument("--recipe", help="how the run was made, for the card (e.g. the config file)")
    args = parser.parse_args(argv)
    table = Path(args.eval_table).read_text() if args.eval_table else None
    print(export_model(args.run_dir, args.out, half=not args.float32, eval_table=table, recipe=args.recipe))


if __name__ == "__main__":
    main()
