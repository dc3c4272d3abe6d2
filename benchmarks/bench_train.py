"""Training step time on all-MiniLM-L6-v2 (CPU or GPU): LoRA and GradCache against plain full fine-tuning.

    .venv/bin/python benchmarks/bench_train.py [--batch 32] [--length 64] [--steps 3]

Prints seconds per optimizer step for each variant and its ratio to full fine-tuning measured in the same run.
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from instructembed.train.config import TrainConfig
from instructembed.train.data import TokenizedTriples, Triple, to_device
from instructembed.train.losses import backward_batch, loss_from_embeddings
from instructembed.train.model_setup import build_model

WORDS = "the a of model text river city music science data energy market history language network ocean".split()


def synthetic_triples(n: int, words: int, seed: int = 0) -> list[Triple]:
    rng = random.Random(seed)
    text = lambda: " ".join(rng.choice(WORDS) for _ in range(words))  # noqa: E731
    instr = "Represent the sentence for retrieving similar sentences: "
    return [Triple((instr, text()), (instr, text()), (instr, text()), "bench") for _ in range(n)]


def seconds_per_step(method: str, chunk: int | None, args, device: torch.device, cpu_bf16: bool = False) -> float:
    config = TrainConfig(method=method, max_seq_length=args.length, device=str(device))
    model = build_model(config, device)
    data = TokenizedTriples(synthetic_triples(args.batch, args.length), model.pair_tokenizer)
    features = to_device(data.collate(list(range(args.batch)), 32 if device.type == "cuda" else 8), device)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.type == "cuda" else None
    if cpu_bf16:
        autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    times = []
    for step in range(args.steps + 1):  # the first step warms up
        start = time.perf_counter()
        loss = backward_batch(model, features, loss_from_embeddings, chunk, autocast or __import__("contextlib").nullcontext)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        loss.item()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32, help="triples per step")
    parser.add_argument("--length", type=int, default=64, help="tokens per text")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch} triples x {args.length} tokens")
    baseline = seconds_per_step("full", None, args, device)
    print(f"full fine-tuning, plain        {baseline:8.3f} s/step  1.00x")
    variants = [("LoRA r16, plain", "lora", None, False), ("LoRA r16, GradCache chunk 8", "lora", 8, False)]
    if device.type == "cpu":
        variants.append(("full, bf16 autocast (CPU)", "full", None, True))
    for label, method, chunk, cpu_bf16 in variants:
        value = seconds_per_step(method, chunk, args, device, cpu_bf16)
        print(f"{label:30s} {value:8.3f} s/step  {value / baseline:.2f}x of full fine-tuning")


if __name__ == "__main__":
    main()
