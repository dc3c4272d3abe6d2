"""Continue training a shipped delta: merge it into a full base folder, and stack the new run's LoRA onto it.

    python scripts/stack_delta.py merge src/instructembed/models/instructembed-mini runs/warm/instructembed-mini-merged
    instructembed train --config configs/probe-continue-128-cpu.toml          # base_model = that merged folder
    python scripts/stack_delta.py stack src/instructembed/models/instructembed-mini runs/train/continue-128/final \
        runs/stacked-128 --merged runs/warm/instructembed-mini-merged

`stack` writes an adapted folder against the original base: A = [A1; A2], B = [B1, B2], so B @ A = B1 A1 + B2 A2
(rank r1 + r2, float16), and checks it against the run's delta applied to the merged folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import load_file

from instructembed import Instructor
from instructembed.engine.adapted_model import apply_delta, load_adapted, read_manifest, write_delta_folder
from instructembed.train.export import PROBES


def stack(shipped: Path, run_final: Path, out: Path, merged: Path) -> float:
    manifest = read_manifest(shipped)
    first, second = load_file(str(shipped / manifest["delta_file"])), load_file(str(run_final / "delta.safetensors"))
    if set(first) != set(second) or any(not k.endswith((".lora_A", ".lora_B")) for k in first):
        raise SystemExit("both deltas must be LoRA updates of the same parameters")
    stacked = {k: torch.cat([first[k].float(), second[k].float()], 0 if k.endswith(".lora_A") else 1).half() for k in first}
    write_delta_folder(out, stacked, {**manifest, "name": out.name})
    got = load_adapted(out, device="cpu").encode(PROBES, normalize_embeddings=True)
    reference = Instructor(str(merged), device="cpu")
    apply_delta(reference[0].auto_model, second)
    return float((got * reference.encode(PROBES, normalize_embeddings=True)).sum(axis=1).min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    merge = commands.add_parser("merge", help="write base + delta as a full sentence-transformers folder")
    merge.add_argument("model", type=Path)
    merge.add_argument("out", type=Path)
    stacking = commands.add_parser("stack", help="the shipped delta + a continuation run's delta, against the base")
    stacking.add_argument("model", type=Path)
    stacking.add_argument("run_final", type=Path)
    stacking.add_argument("out", type=Path)
    stacking.add_argument("--merged", type=Path, required=True, help="the merged folder the run trained on")
    args = parser.parse_args()
    if args.command == "merge":
        load_adapted(args.model, device="cpu").save(args.out)
        print(args.out)
    else:
        print(f"min cosine, stacked vs the run on the merged model: {stack(args.model, args.run_final, args.out, args.merged):.6f}")


if __name__ == "__main__":
    main()
