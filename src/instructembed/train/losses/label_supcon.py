"""Label-supervised contrast on instruction-contrast batches: every text with the asked label is a positive.

The Steering metric asks that, under the instruction for property p, a text's nearest neighbours share its
p-label. INSTRUCTOR's loss only ranks each query's own positive above the negatives, one pair at a time
(`mask_label_negatives` stops it pushing same-label texts apart, but nothing pulls them together). With
`label_supcon = w`, a labelled contrast batch's loss gains `w` times the supervised contrastive loss of
Khosla et al. (2020) over all its texts (queries, positives, negatives): for each text a, the mean over the
other texts b with a's label of -log softmax over every other text c asking the same property of cos(a, c) / tau.
Texts asking another property (another instruction) are left out of a's candidates: they are never compared
with each other at inference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def supcon_loss(embeddings: Tensor, labels: Sequence[str | None], tau: float) -> Tensor:
    """Mean over the texts with at least one same-label partner of the multi-positive InfoNCE loss.

    `labels[i]` is "property=value" (the contrast records' `labels`) or None (left out). Candidates of text i:
    the other texts with the same property; positives: those with the same value too."""
    device = embeddings.device
    properties: dict[str, int] = {}
    values: dict[str, int] = {}
    prop = torch.tensor([properties.setdefault(x.split("=", 1)[0], len(properties)) if x else -1 for x in labels], device=device)
    value = torch.tensor([values.setdefault(x, len(values)) if x else -1 for x in labels], device=device)
    e = F.normalize(embeddings.float(), dim=-1)
    eye = torch.eye(len(labels), dtype=torch.bool, device=device)
    candidate = (prop[:, None] == prop[None, :]) & (prop[:, None] >= 0) & ~eye
    positive = candidate & (value[:, None] == value[None, :])
    logits = (e @ e.T / tau).masked_fill(~candidate, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    counts = positive.sum(1)
    rows = counts > 0
    if not rows.any():
        return embeddings.sum() * 0.0
    per_row = log_prob.masked_fill(~positive, 0.0).sum(1)[rows] / counts[rows]
    return -per_row.mean()


def with_label_supcon(loss_fn: Callable[..., Tensor], labels: Sequence[tuple[str, str, str] | None], weight: float,
                      tau: float) -> Callable[..., Tensor]:
    """`loss_fn(q, p, n) + weight * supcon_loss([q; p; n], their labels)`, for `backward_batch`."""
    flat = [row[k] if row else None for k in range(3) for row in labels]

    def supervised(query: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return loss_fn(query, positive, negative) + weight * supcon_loss(torch.cat([query, positive, negative]), flat, tau)

    return supervised
