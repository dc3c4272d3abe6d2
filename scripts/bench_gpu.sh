#!/usr/bin/env bash
# GPU throughput of our engine vs sentence-transformers (benchmarks/bench_gpu.py); never needed by build or tests.
#
#   Here, once:   .venv/bin/python benchmarks/bench_gpu.py --write-carry .cache/gpu-carry   # corpus + fp16 MiniLM (~45 MiB)
#                 (after scripts/prepare_gpu_carry.py if the training carry is wanted too: that script empties the folder)
#   GPU machine:  bash scripts/bench_gpu.sh "$OUT"                                   # run tool: carry [".cache/gpu-carry"]
#   Smoke run:    bash scripts/bench_gpu.sh /tmp/bench --quick --repeat 2
#
# Writes RESULTS_DIR/bench_gpu.md (the table, format in docs/performance.md) and bench_gpu.log; arguments
# after the results folder go to bench_gpu.py. Expected time on one H100/H200: ~3 minutes (two dtypes).
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${1:?usage: scripts/bench_gpu.sh RESULTS_DIR [bench_gpu.py options]}
shift
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
if [ -x .venv/bin/python ] && .venv/bin/python -c "import torch" 2>/dev/null; then PY=${PY:-.venv/bin/python}; else PY=${PY:-python3}; fi
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
ARGS=()
CARRY=.cache/gpu-carry
if [ -f "$CARRY/bench_corpus.jsonl" ]; then ARGS+=(--corpus "$CARRY/bench_corpus.jsonl"); fi
if [ -d "$CARRY/base" ]; then ARGS+=(--model "$CARRY/base"); fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" | tee "$RESULTS/bench_gpu.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee -a "$RESULTS/bench_gpu.log" || true
"$PY" benchmarks/bench_gpu.py "${ARGS[@]}" "$@" 2>>"$RESULTS/bench_gpu.log" | tee "$RESULTS/bench_gpu.md"
echo "wrote $RESULTS/bench_gpu.md" >&2
