"""INSTRUCTOR's training loss: bidirectional InfoNCE over cosine similarities with hard negatives."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def loss_from_embeddings(
    query: Tensor,
    positive: Tensor,
    negative: Tensor,
    tau: float = 0.01,
    in_batch_positives: bool = False,
) -> Tensor:
    """Sum of two cross-entropies over cosine similarity / `tau` (scale = 1 / temperature).

    Forward term: each query i is scored against [its positive p_i, every hard negative n_1..n_B];
    with `in_batch_positives`, also against the other rows' positives p_j (j != i).
    Reverse term: each positive p_i is scored against [its query q_i, every other query q_j (j != i)].

    | input    | shape  | meaning                          |
    |----------|--------|----------------------------------|
    | query    | (B, d) | embedded `[instruction, query]`  |
    | positive | (B, d) | embedded `[instruction, pos]`    |
    | negative | (B, d) | embedded `[instruction, neg]`    |

    Returns the scalar mean-over-rows forward loss plus mean-over-rows reverse loss.
    """
    q = F.normalize(query.float(), dim=-1)  # (B, d)
    p = F.normalize(positive.float(), dim=-1)  # (B, d)
    n = F.normalize(negative.float(), dim=-1)  # (B, d)
    batch = q.shape[0]
    targets = torch.zeros(batch, dtype=torch.long, device=q.device)
    eye = torch.eye(batch, dtype=torch.bool, device=q.device)

    own = (q * p).sum(-1, keepdim=True)  # (B, 1) cos(q_i, p_i)
    columns = [own, q @ n.T]  # (B, 1), (B, B)
    if in_batch_positives:
        columns.append((q @ p.T).masked_fill(eye, float("-inf")))  # (B, B) other rows' positives
    forward = F.cross_entropy(torch.cat(columns, dim=1) / tau, targets)

    others = (p @ q.T).masked_fill(eye, float("-inf"))  # (B, B) cos(p_i, q_j), j != i
    reverse = F.cross_entropy(torch.cat([own, others], dim=1) / tau, targets)
    return forward + reverse
