"""GPU throughput: real (unpadded) tokens/s of our engine vs sentence-transformers on one CUDA device.

Our engine: fp16 and bf16 weights, lengths bucketed to multiples of 32, rows grouped into token-budget
batches (rows x padded length <= budget, longest first), the attention kernel chosen by measurement
(transformers' eager vs SDPA, and SDPA's flash / memory-efficient / cuDNN / math kernels). Measured twice:
forward passes over pre-tokenized batches (the GPU's share) and end to end through `Instructor.encode`
(tokenization included). Peer: sentence-transformers `encode(texts, prompt=instruction)` on the same
weights, dtype and texts, at several batch sizes. Every figure is the median of interleaved rounds.

Without a CUDA device it prints a line and exits 0 (so `make bench` passes on CPU machines).

    python benchmarks/bench_gpu.py --write-carry .cache/gpu-carry     # here: corpus + float16 base to carry
    bash scripts/bench_gpu.sh "$OUT"                                                    # on the GPU machine
Output format: docs/performance.md ("GPU throughput").
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

DTYPES = ("float16", "bfloat16")
BUDGETS = (16_384, 65_536, 262_144)  # padded tokens per forward pass
ST_BATCHES = (32, 128, 512)
ENCODE_BATCHES = (128, 512)


def write_carry(folder: Path, n: int) -> None:
    """What a bare GPU machine needs (no shared data, no model package there): the corpus and a float16 base."""
    import shutil

    from corpus import load_corpus

    sys.path.insert(0, str(ROOT / "scripts"))
    from prepare_gpu_carry import write_half_base

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "bench_corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as out:
        for instruction, text in load_corpus(n):
            out.write(json.dumps({"instruction": instruction, "text": text}) + "\n")
    if not (folder / "base" / "model.safetensors").is_file():
        shutil.rmtree(folder / "base", ignore_errors=True)
        write_half_base(folder / "base")
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    print(f"wrote {n} pairs to {corpus} and the float16 base to {folder / 'base'}: {size:.1f} MiB in {folder}")


def read_corpus(path: Path | None, n: int) -> list[list[str]]:
    if path is None:
        from corpus import load_corpus

        return load_corpus(n)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [[r["instruction"], r["text"]] for r in rows][:n]


def token_budget_batches(lengths: list[int], budget: int, multiple: int = 32) -> list[list[int]]:
    """Row indices grouped longest first so that rows x (longest, rounded up to `multiple`) <= budget."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    width = 0
    for i in order:
        padded = -(-lengths[i] // multiple) * multiple
        w = max(width, padded)
        if current and w * (len(current) + 1) > budget:
            batches.append(current)
            current, w = [], padded
        current.append(i)
        width = w
    if current:
        batches.append(current)
    return batches


def timed(fn: Callable[[], object], sync: Callable[[], None]) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def sdpa_contexts(torch) -> dict[str, Callable[[], object]]:
    """name -> a context manager factory restricting SDPA to one kernel (those this torch has)."""
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:
        return {"sdpa (default)": nullcontext}
    found = {"sdpa (default)": nullcontext}
    for name in ("FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION", "MATH"):
        if hasattr(SDPBackend, name):
            found[f"sdpa {name.lower()}"] = lambda b=getattr(SDPBackend, name): sdpa_kernel([b])
    return found


def set_attention(model, implementation: str) -> bool:
    """Switch the encoder's attention implementation ("eager" / "sdpa"); False when this transformers cannot."""
    auto = model.transformer.auto_model
    if not hasattr(auto, "set_attn_implementation"):
        return implementation == "sdpa"
    try:
        auto.set_attn_implementation(implementation)
        return True
    except Exception:  # noqa: BLE001 - an implementation this model or version does not offer
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="checkpoint folder (default: .cache/gpu-carry/base if present, else all-MiniLM-L6-v2)")
    parser.add_argument("--corpus", type=Path, default=None, help="JSON Lines {instruction, text} (default: the bench corpus from the shared data)")
    parser.add_argument("--write-carry", type=Path, default=None, help="write the corpus and a float16 base into this folder and exit (run where the shared data is)")
    parser.add_argument("--texts", type=int, default=2000, help="distinct texts of the corpus")
    parser.add_argument("--repeat", type=int, default=20, help="the corpus is repeated this many times per timed run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seq-length", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="one budget, one batch size each (a smoke run)")
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=["float16", "bfloat16", "float32"])
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu to smoke-test this script without a GPU")
    args = parser.parse_args()
    if args.write_carry:
        write_carry(args.write_carry, args.texts)
        return 0
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("bench_gpu skipped: no CUDA device (run scripts/bench_gpu.sh on a GPU machine)")
        return 0
    device = args.device
    logging.getLogger("instructembed").setLevel(logging.ERROR)  # truncation counts are expected
    from instructembed import Instructor

    carry = ROOT / ".cache" / "gpu-carry" / "base"  # scripts/bench_gpu.sh passes --model and --corpus from the carry
    from instructembed.engine.loading import resolve_model_path

    model_path = str(resolve_model_path(args.model or (str(carry) if carry.is_dir() else "all-MiniLM-L6-v2")))  # a folder ST reads too
    pairs = read_corpus(args.corpus, args.texts) * args.repeat
    dtypes = args.dtypes
    budgets = BUDGETS[1:2] if args.quick else BUDGETS
    st_batches = ST_BATCHES[1:2] if args.quick else ST_BATCHES
    encode_batches = ENCODE_BATCHES[:1] if args.quick else ENCODE_BATCHES
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else f"{platform.processor() or platform.machine()} (CPU smoke run)"
    print(f"# GPU throughput: {name}, torch {torch.__version__}, python {platform.python_version()}")
    print(f"model {model_path}, {len(pairs)} texts ({args.texts} distinct x {args.repeat}), max_seq_length {args.max_seq_length}, "
          f"median of {args.rounds} interleaved rounds; tokens/s counts real (unpadded) tokens\n")
    rows: list[tuple[str, str, str, float]] = []  # (dtype, engine, setting, tokens/s)
    for dtype_name in dtypes:
        dtype = getattr(torch, dtype_name)
        model = Instructor(model_path, device=device, dtype=dtype, max_seq_length=args.max_seq_length)
        tokenized = model.pair_tokenizer.tokenize(pairs)
        ids, starts = tokenized.input_ids, tokenized.instruction_lengths
        real = sum(len(r) for r in ids)

        def forward_all(batches: list[list[int]], attention: Callable[[], object]) -> None:
            with torch.inference_mode(), attention():
                for rows_ in batches:
                    features = model.pair_tokenizer.collate([ids[i] for i in rows_], [starts[i] for i in rows_], 32)
                    model({k: v.to(device, non_blocking=True) for k, v in features.items()})

        # 1. the attention kernel, by measurement, at the middle budget
        probe = token_budget_batches([len(r) for r in ids], BUDGETS[1])
        kernels: dict[str, tuple[str, Callable[[], object]]] = {}
        if set_attention(model, "eager"):
            kernels["eager"] = ("eager", nullcontext)
        for name, context in sdpa_contexts(torch).items():
            kernels[name] = ("sdpa", context)
        kernel_speed: dict[str, float] = {}
        for name, (implementation, context) in kernels.items():
            set_attention(model, implementation)
            try:
                forward_all(probe[:2], context)  # warm-up; raises where the kernel cannot run these inputs
                kernel_speed[name] = real / statistics.median(timed(lambda: forward_all(probe, context), sync) for _ in range(args.rounds))
            except RuntimeError as exc:
                print(f"  {dtype_name} attention {name}: not usable here ({str(exc).splitlines()[0][:80]})")
        best = max(kernel_speed, key=kernel_speed.get)
        for name, speed in kernel_speed.items():
            rows.append((dtype_name, "ours, forward", f"attention {name}{' (chosen)' if name == best else ''}", speed))
        implementation, context = kernels[best]
        set_attention(model, implementation)

        # 2. token budgets (forward only) and encode end to end, interleaved with sentence-transformers
        runs: dict[str, Callable[[], object]] = {}
        for budget in budgets:
            batches = token_budget_batches([len(r) for r in ids], budget)
            runs[f"ours, forward|budget {budget} tokens"] = lambda b=batches: forward_all(b, context)
        for bs in encode_batches:
            def encode(bs=bs) -> None:
                with context():
                    model.encode(pairs, batch_size=bs)
            runs[f"ours, encode|batch {bs} rows"] = encode
        try:
            from sentence_transformers import SentenceTransformer

            st = SentenceTransformer(model_path, device=device).to(dtype)
            st.max_seq_length = args.max_seq_length
            if hasattr(st, "set_pooling_include_prompt"):
                st.set_pooling_include_prompt(False)
            groups: dict[str, list[str]] = {}
            for instruction, text in pairs:
                groups.setdefault(instruction, []).append(text)
            for bs in st_batches:
                runs[f"sentence-transformers|batch {bs} rows"] = lambda bs=bs: [
                    st.encode(texts, prompt=instruction, batch_size=bs) for instruction, texts in groups.items()
                ]
        except ImportError:
            print("  sentence-transformers is not installed here: no peer figures")
        for run in runs.values():  # warm-up
            run()
        times: dict[str, list[float]] = {key: [] for key in runs}
        for _ in range(args.rounds):
            for key, run in runs.items():
                times[key].append(timed(run, sync))
        for key, t in times.items():
            engine, setting = key.split("|")
            rows.append((dtype_name, engine, setting, real / statistics.median(t)))
        del model
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    print("| dtype | engine | setting | real tokens/s | x best sentence-transformers |")
    print("|---|---|---|---:|---:|")
    for dtype_name in dtypes:
        peers = [s for d, e, _, s in rows if d == dtype_name and e == "sentence-transformers"]
        best_st = max(peers) if peers else None
        for d, engine, setting, speed in rows:
            if d == dtype_name:
                ratio = f"{speed / best_st:.2f}" if best_st else "n/a"
                print(f"| {d} | {engine} | {setting} | {_rate(speed)} | {ratio} |")
    ours = max(s for _, e, _, s in rows if e.startswith("ours"))
    peer = max((s for _, e, _, s in rows if e == "sentence-transformers"), default=None)
    print(f"\nbest ours: {_rate(ours)} real tokens/s" + (f", {ours / peer:.2f}x the best sentence-transformers ({_rate(peer)})" if peer else ""))
    print(f"targets (H100/H200, all-MiniLM-L6-v2): >= 8M real tokens/s and >= 2x sentence-transformers: "
          f"{'met' if ours >= 8e6 and (peer is None or ours >= 2 * peer) else 'not met'}")
    return 0


def _rate(tokens_per_s: float) -> str:
    return f"{tokens_per_s / 1e6:.2f}M" if tokens_per_s >= 1e5 else f"{tokens_per_s / 1e3:.1f}k"


if __name__ == "__main__":
    sys.exit(main())
