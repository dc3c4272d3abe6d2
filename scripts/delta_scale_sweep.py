"""Choose the scale at which a shipped delta is applied, and which of its updates, on train-side dev data only.

For each scale: the MEDI dev accuracy (ordinary and instruction-contrast batches, as the trainer logs them),
the dev steering sets (`medi.steering`) and the dev retrieval tasks (`medi.retrieval`: held-out pair datasets,
whole documents at the model's 256-token limit). Shared evaluation data is never read.

    python scripts/delta_scale_sweep.py src/instructembed/models/instructembed-mini --scales 0.6 0.8 1.0 1.2 \
        --config configs/instructembed-mini-cpu.toml -o runs/delta-scale
    python scripts/delta_scale_sweep.py src/instructembed/models/instructembed-mini --scales 1 \
        --weights 'attention=1' 'layer\\.[0-2]\\.=1.2,layer\\.[3-5]\\.=0.8' -o runs/delta-modules

`--weights SPEC`: `regex=scale` rules, comma-separated, over parameter names; the first rule that matches
scales a parameter's update, and updates no rule matches are dropped (`with_delta_weights`). Each SPEC is
swept at every `--scales` value on top.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from instructembed.engine.adapted_model import load_adapted, with_delta_scale, with_delta_weights
from instructembed.evaluate import discover_tasks, evaluate_task
from instructembed.atomic_file import write_text_atomic
from instructembed.train.config import load_config
from instructembed.train.data import TokenizedTriples, drop_unfit, read_triples
from instructembed.train.monitoring import dev_metrics
from instructembed.train.trainer import build_sampler


def medi_dev(model, config) -> dict[str, float]:
    """dev_acc and contrast_dev_acc on the MEDI dev file, with the trainer's own batches and metric."""
    tokenizer = model.pair_tokenizer
    own_length = model.max_seq_length
    model.max_seq_length = config.max_seq_length  # the trainer's dev check runs at the training length
    dev = TokenizedTriples(drop_unfit(read_triples(config.dev_file, True), tokenizer), tokenizer)
    sampler = build_sampler(dev.task_ids, dev.groups, config, 0, None)
    plain = nullcontext  # no autocast: float32, as the CPU recipe trains
    ordinary = dev_metrics(model, dev, sampler.stream_batches(contrast=False)[: config.dev_max_batches], config.tau,
                           config.pad_to_multiple_of, plain)
    contrast = dev_metrics(model, dev, sampler.stream_batches(contrast=True)[: config.dev_max_batches], config.tau,
                           config.pad_to_multiple_of, plain)
    model.max_seq_length = own_length  # the dev tasks run at the model's own limit
    return {"dev_acc": ordinary["dev_acc"], "contrast_dev_acc": contrast["dev_acc"]}


def dev_tasks(folder: Path, instructions_file: str) -> list[tuple[object, dict]]:
    instructions = json.loads((folder / instructions_file).read_text())
    return [(task, instructions[task.name]) for task in discover_tasks(folder)]


def parse_weights(spec: str) -> list[tuple[str, float]]:
    """'layer\\.[0-2]\\.=1.2,layer\\.[3-5]\\.=0.8' -> [(pattern, scale), ...]."""
    rules = []
    for rule in spec.split(","):
        pattern, _, scale = rule.rpartition("=")
        if not pattern:
            raise SystemExit(f"--weights: {rule!r} is not regex=scale")
        rules.append((pattern, float(scale)))
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--scales", type=float, nargs="+", required=True)
    parser.add_argument("--weights", nargs="+", default=[".*=1"], metavar="SPEC",
                        help="'regex=scale,...' per variant (default: every update as trained)")
    parser.add_argument("--config", default="configs/instructembed-mini-cpu.toml")
    parser.add_argument("--medi", default="runs/medi/medi", help="the MEDI build's stem (its .steering and .retrieval folders)")
    parser.add_argument("-o", "--output", default="runs/delta-scale")
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = load_config(args.config, [])
    out = Path(args.output)
    tasks = dev_tasks(Path(f"{args.medi}.steering"), "steering_instructions.json") + \
        dev_tasks(Path(f"{args.medi}.retrieval"), "instructions.json")
    rows = []
    for spec, scale in [(spec, scale) for spec in args.weights for scale in args.scales]:
        start = time.perf_counter()
        name = f"scale-{scale:g}" if spec == ".*=1" else f"weights-{len(rows)}-scale-{scale:g}"
        source = args.model if spec == ".*=1" else with_delta_weights(args.model, parse_weights(spec), out / f"{name}-weights")
        variant = with_delta_scale(source, scale, out / name)
        model = load_adapted(variant, device="cpu")
        row: dict = {"scale": scale, "weights": spec, **medi_dev(model, config)}
        for task, instructions in tasks:
            result = evaluate_task(model, task, instructions)
            row[task.name] = result.main_score
            if task.type == "Steering":
                for prop in result.metrics["properties"]:
                    row[f"{task.name}:{prop}:asked-plain"] = 100 * result.metrics[f"asked_minus_plain_{prop}"]
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
        write_text_atomic(out / "sweep.json", json.dumps(rows, indent=1) + "\n")
    names = [k for k in rows[0] if k not in ("scale", "weights", "seconds") and ":" not in k]
    table = ["| update weights | scale | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for row in rows:
        table.append(f"| `{row['weights']}` | {row['scale']:g} | " + " | ".join(f"{row[n]:.3f}" if n.endswith("acc") else f"{row[n]:.2f}"
                                                        for n in names) + " |")
    write_text_atomic(out / "sweep.md", "\n".join(table) + "\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
