"""Gradient caching (GradCache, Gao et al. 2021): big contrastive batches on small memory.

The loss couples every row of the batch, so it cannot be split into independent micro-batches.
GradCache gets the exact full-batch gradient anyway, in three steps:

1. embed the batch chunk by chunk *without* a graph, saving the RNG state before each chunk;
2. compute the loss on all cached embeddings and backpropagate it only as far as the embeddings;
3. re-embed each chunk *with* a graph under its saved RNG state (same dropout masks) and push the
   cached embedding gradient through it, one chunk's graph alive at a time.

Memory holds one chunk's activations instead of the batch's; compute is about 1.3x a plain step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
from torch import Tensor, nn

Features = dict[str, Tensor]


class RandState:
    """The CPU (and current CUDA device's) RNG state at construction, replayable with `restore()`."""

    def __init__(self, device: torch.device) -> None:
        self.devices = [device] if device.type == "cuda" else []
        self.cpu_state = torch.get_rng_state()
        self.cuda_states = [torch.cuda.get_rng_state(d) for d in self.devices]

    @contextmanager
    def restore(self) -> Iterator[None]:
        with torch.random.fork_rng(devices=self.devices):
            torch.set_rng_state(self.cpu_state)
            for device, state in zip(self.devices, self.cuda_states):
                torch.cuda.set_rng_state(state, device)
            yield


def embed(model: nn.Module, features: Features) -> Tensor:
    """`sentence_embedding` (B, d) of one tokenized batch (the model's modules write into a copy)."""
    return model(dict(features))["sentence_embedding"]


def split_features(features: Features, chunk_size: int) -> list[Features]:
    rows = next(iter(features.values())).shape[0]
    return [{k: v[i : i + chunk_size] for k, v in features.items()} for i in range(0, rows, chunk_size)]


def backward_batch(
    model: nn.Module,
    inputs: Sequence[Features],
    loss_fn: Callable[..., Tensor],
    chunk_size: int | None = None,
    autocast: Callable[[], AbstractContextManager] = nullcontext,
) -> Tensor:
    """Embed each tokenized input (query, positive, negative), compute `loss_fn(*embeddings)` and
    accumulate its gradient into the model's parameters; returns the detached loss (reading it with
    `.item()` waits for the GPU, so callers do that only when they log).

    `chunk_size=None` runs the plain computation; an int runs GradCache with chunks of that many rows,
    which gives the same loss and gradients (exactly the same with dropout too when `chunk_size`
    covers the whole batch; with smaller chunks dropout masks differ from the plain run's).
    """
    if not chunk_size:
        with autocast():
            embeddings = [embed(model, features) for features in inputs]
        loss = loss_fn(*embeddings)
        loss.backward()
        return loss.detach()

    device = next(model.parameters()).device
    # 1. embed without a graph; remember the RNG state each chunk started from
    chunks: list[tuple[Features, RandState]] = []
    cached: list[Tensor] = []
    for features in inputs:
        pieces = []
        for chunk in split_features(features, chunk_size):
            chunks.append((chunk, RandState(device)))
            with torch.no_grad(), autocast():
                pieces.append(embed(model, chunk).float())
        cached.append(torch.cat(pieces).requires_grad_())  # (B, d), a leaf of the loss graph

    # 2. the loss on every embedding; backward stops at the cached embeddings
    loss = loss_fn(*cached)
    loss.backward()
    grads = [g for e in cached for g in e.grad.split(chunk_size)]  # per chunk, same order as `chunks`

    # 3. replay each chunk with a graph and send its slice of the gradient into the parameters
    for (chunk, state), grad in zip(chunks, grads):
        with state.restore(), autocast():
            chunk_embedding = embed(model, chunk)
        chunk_embedding.float().backward(grad)
    return loss.detach()
