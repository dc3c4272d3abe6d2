"""Anchoring to the untuned base: ordinary batches pay for moving their inputs away from where the base put them.

Instruction-contrast batches must change the geometry (the asked property decides what is close); ordinary
retrieval batches need not, and every CPU run so far paid for its steering with held-out retrieval. With
`base_anchor = w`, an ordinary batch's loss gains `w * mean(1 - cos(e, e_base))` over its queries, positives
and negatives, where `e_base` is the frozen base's embedding of the same input (instruction included).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def anchor_loss(embeddings: Sequence[Tensor], reference: Sequence[Tensor]) -> Tensor:
    """Mean over every row of every input of 1 - cos(embedding, the base's embedding of the same input)."""
    drift = [1 - F.cosine_similarity(e.float(), r.float(), dim=-1) for e, r in zip(embeddings, reference, strict=True)]
    return torch.cat(drift).mean()


def with_base_anchor(loss_fn: Callable[..., Tensor], reference: Sequence[Tensor], weight: float) -> Callable[..., Tensor]:
    """`loss_fn(*embeddings) + weight * anchor_loss(embeddings, reference)`, for `backward_batch`."""

    def anchored(*embeddings: Tensor) -> Tensor:
        return loss_fn(*embeddings) + weight * anchor_loss(embeddings, reference)

    return anchored
