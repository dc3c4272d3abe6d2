"""Evaluate trained deltas and the base on every shared evaluation task, on the GPU machine.

Usage: python3 scripts/eval_gpu.py BASE_FOLDER OUT_DIR TAR_FILE NAME=DELTA_DIR|base:MODE [...]
MODE is `instr` (the paper's per-task instructions) or `noinstr`. Each run writes OUT_DIR/NAME/
(`<task>.json`, report.md) and re-packs OUT_DIR into TAR_FILE after every run, so a cut-off call
still returns what finished. The base folder may hold float16 weights; it loads as float32.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from instructembed.engine.adapted_model import apply_delta
from instructembed.engine.instructor import Instructor
from instructembed.engine.loading import load_modules
from instructembed.evaluate import InstructionSet, discover_tasks, run_suite
from instructembed.evaluate.report import render_report


def build(base: Path, delta_dir: str | None) -> Instructor:
    modules = load_modules(base, dtype=torch.float32)
    if delta_dir:
        applied = apply_delta(modules[0].auto_model, load_file(str(next(Path(delta_dir).glob("*.safetensors")))))
        print(f"applied {applied} delta tensors from {delta_dir}", flush=True)
    return Instructor(modules=modules, device="cuda" if torch.cuda.is_available() else "cpu")


def main() -> None:
    base, out, tar_file = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    tasks = discover_tasks()
    for spec in sys.argv[4:]:
        name, _, rest = spec.partition("=")
        source, _, mode = rest.rpartition(":")
        model = build(base, None if source == "base" else source)
        model.model_name_or_path = name
        instructions = InstructionSet.default() if mode == "instr" else InstructionSet.none()
        start = time.perf_counter()
        run = run_suite(model, tasks, instructions, out / name, cache=False, batch_size=128, show_progress=False)
        info = {"model": name, "source": source, "instructions": mode, "seconds": round(time.perf_counter() - start, 1),
                "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"}
        (out / name / "report.md").write_text(render_report(run.results, f"{name} ({mode})", info, run.failures))
        print(f"{name}: {len(run.results)} tasks, {len(run.failures)} failures, {info['seconds']}s", flush=True)
        subprocess.run(["tar", "-czf", str(tar_file), "-C", str(out), "."], check=False)


if __name__ == "__main__":
    main()
