"""INSTRUCTOR's training loss: bidirectional InfoNCE over cosine similarities with hard negatives."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def loss_from_embeddings(
    query: Tensor,
    positive: Tensor,
    negative: Tensor,
    tau: float = 0.01,
    in_batch_positives: bool = False,
    forward_mask: Tensor | None = None,
    reverse_mask: Tensor | None = None,
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

    `forward_mask[i, j]` True leaves hard negative n_j out of query i's candidates; `reverse_mask[i, j]` True
    leaves query q_j out of positive i's and, with `in_batch_positives`, p_j out of query i's (`label_masks`:
    texts that share the row's label are not negatives).

    Returns the scalar mean-over-rows forward loss plus mean-over-rows reverse loss.
    """
    q = F.normalize(query.float(), dim=-1)  # (B, d)
    p = F.normalize(positive.float(), dim=-1)  # (B, d)
    n = F.normalize(negative.float(), dim=-1)  # (B, d)
    batch = q.shape[0]
    targets = torch.zeros(batch, dtype=torch.long, device=q.device)
    eye = torch.eye(batch, dtype=torch.bool, device=q.device)

    own = (q * p).sum(-1, keepdim=True)  # (B, 1) cos(q_i, p_i)
    negatives = q @ n.T  # (B, B)
    if forward_mask is not None:
        negatives = negatives.masked_fill(forward_mask, float("-inf"))
    columns = [own, negatives]
    if in_batch_positives:
        same = eye if reverse_mask is None else eye | reverse_mask  # a positive carries its query's label
        columns.append((q @ p.T).masked_fill(same, float("-inf")))  # (B, B) other rows' positives
    forward = F.cross_entropy(torch.cat(columns, dim=1) / tau, targets)

    others = (p @ q.T).masked_fill(eye if reverse_mask is None else eye | reverse_mask, float("-inf"))  # cos(p_i, q_j), j != i
    reverse = F.cross_entropy(torch.cat([own, others], dim=1) / tau, targets)
    return forward + reverse


def label_masks(labels: Sequence[tuple[str, str, str] | None], device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """Masks for `loss_from_embeddings` from each row's (query, positive, negative) labels (None: unlabelled row).

    In a batch of labelled contrast records (e.g. "sentiment=positive"), another row's negative or query that
    carries query i's label is not a negative of query i (nor of its positive): leaving it in would push apart
    exactly the texts the instruction asks to bring together. Rows whose labels name another property, and
    unlabelled rows, are never masked."""
    ids: dict[str, int] = {}  # label -> id; -1: no label

    def side(k: int) -> Tensor:
        return torch.tensor([ids.setdefault(row[k], len(ids)) if row else -1 for row in labels], dtype=torch.long, device=device)

    query, negative = side(0), side(2)
    labelled = (query >= 0)[:, None]
    forward = labelled & (negative[None, :] == query[:, None])
    reverse = labelled & (query[None, :] == query[:, None])
    reverse.fill_diagonal_(False)
    return forward, reverse
