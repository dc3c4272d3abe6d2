#!/usr/bin/env bash
# Train instructembed-mini and its no-instruction ablation on one GPU, then pack the results.
#
#   Here, once:   .venv/bin/python scripts/prepare_gpu_carry.py      # -> .cache/gpu-carry (< 60 MiB)
#   GPU machine:  bash scripts/train_gpu.sh "$OUT"                    # run tool: carry [".cache/gpu-carry"]
#   CPU smoke:    bash scripts/train_gpu.sh /tmp/smoke --set device=cpu --set max_steps=3 --set eval_max_rows=50
#   Afterwards:   tar -xzf "$OUT/results.tar.gz" -C runs/train   # -> runs/train/{main,ablation}/
#                 .venv/bin/python -m instructembed.train.export runs/train/main src/instructembed/models/instructembed-mini
#
# Arguments after the results folder go to both trainings (e.g. --set key=value).
# The results folder gets 4 files (the run tool returns at most 8): results.tar.gz (both runs' log.csv,
# config.toml, train.log, final/{delta.safetensors,summary.json}), main_log.csv, ablation_log.csv, report.txt.
# Expected GPU time: each training stops itself after at most 2.4 min of steps; + ~1 min of loading and tokenizing.
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${1:?usage: scripts/train_gpu.sh RESULTS_DIR [--set key=value ...]}
shift
EXTRA=("$@")
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
RUNS=$(mktemp -d "${TMPDIR:-/tmp}/train_gpu.XXXXXX")

if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; then PY=${PY:-.venv/bin/python}; else PY=${PY:-python3}; fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
CARRY=.cache/gpu-carry
ARGS=()
MAIN_ARGS=()
if [ -d "$CARRY" ]; then  # the packed base / data / STS task (scripts/prepare_gpu_carry.py)
  ARGS+=(--set "base_model=$CARRY/base" --set "train_file=$CARRY/medi/medi.jsonl.gz" --set "dev_file=$CARRY/medi/medi.dev.jsonl.gz")
  if [ -d "$CARRY/medi/medi.steering" ]; then MAIN_ARGS=(--set "steering_dev_dir=$CARRY/medi/medi.steering"); fi
  if [ -d "$CARRY/shared/data" ]; then export INSTRUCTEMBED_DATA_DIR="$PWD/$CARRY/shared/data"; fi
  if ! "$PY" -c "import pytrec_eval" 2>/dev/null && ls "$CARRY"/wheels/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$CARRY"/wheels/*.whl
    export PYTHONPATH=$PYTHONPATH:/tmp/site
  fi
fi

pack() {  # runs on any exit, so a failed ablation still returns the main run
  for name in main ablation; do
    if [ -f "$RUNS/$name/log.csv" ]; then cp "$RUNS/$name/log.csv" "$RESULTS/${name}_log.csv"; fi
    if [ -f "$RUNS/$name/final/summary.json" ]; then
      "$PY" -c "import json,sys; s=json.load(open(sys.argv[1])); print(sys.argv[2], 'steps', s['steps'], 'of', s['planned_steps'], 'in', s['train_seconds'], 's on', s['hardware'], s['final_metrics'])" \
        "$RUNS/$name/final/summary.json" "$name" >> "$RESULTS/report.txt" || true
    fi
  done
  (cd "$RUNS" && find . -path '*/checkpoint' -prune -o -type f -print | tar -czf "$RESULTS/results.tar.gz" -T -) || true
  rm -rf "$RUNS"
}
trap pack EXIT

{ nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU"
  "$PY" -c "import torch, transformers, peft; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'transformers', transformers.__version__, 'peft', peft.__version__)"
} | tee "$RESULTS/report.txt"

run() {  # name config [more --set arguments]
  local name=$1 config=$2 start=$SECONDS
  shift 2
  mkdir -p "$RUNS/$name"
  "$PY" -m instructembed.train --config "$config" --set "output_dir=$RUNS/$name" "${ARGS[@]}" "$@" "${EXTRA[@]}" 2>&1 \
    | tee "$RUNS/$name/train.log"
  echo "$name: $((SECONDS - start)) s wall" | tee -a "$RESULTS/report.txt"
}
run main configs/instructembed-mini-gpu.toml "${MAIN_ARGS[@]}"
run ablation configs/ablation-noinstr-gpu.toml
