"""The bidirectional InfoNCE loss against values worked out by hand."""

import math

import pytest
import torch

from instructembed.train.losses import loss_from_embeddings

# 3 triples in 2-D; cosines are 1, 0 or -1 by construction (positives are scaled: the loss normalizes).
Q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
P = torch.tensor([[2.0, 0.0], [0.0, 3.0], [0.0, -1.0]])
N = torch.tensor([[0.0, 1.0], [-1.0, 0.0], [1.0, 0.0]])
e = math.e


def ce(own: float, others: list[float]) -> float:
    """-log softmax of `own` among [own, *others]."""
    return -math.log(math.exp(own) / (math.exp(own) + sum(math.exp(x) for x in others)))


def test_loss_equals_hand_computed_value_at_tau_1():
    # forward: q_i against [p_i, n1, n2, n3]
    forward = (ce(1, [0, -1, 1]) + ce(1, [1, 0, 0]) + ce(0, [0, 1, -1])) / 3
    # reverse: p_i against [q_i, the other two queries]
    reverse = (ce(1, [0, -1]) + ce(1, [0, 0]) + ce(0, [0, -1])) / 3
    assert loss_from_embeddings(Q, P, N, tau=1.0).item() == pytest.approx(forward + reverse, abs=1e-6)
    assert forward + reverse == pytest.approx(
        (-math.log(e / (2 * e + 1 + 1 / e)) - math.log(e / (2 * e + 2)) - math.log(1 / (2 + e + 1 / e))) / 3
        + (-math.log(e / (e + 1 + 1 / e)) - math.log(e / (e + 2)) - math.log(1 / (2 + 1 / e))) / 3
    )


def test_in_batch_positives_add_the_other_rows_positives():
    # q1 also sees p2, p3 (cos 0, 0); q2 sees p1, p3 (0, -1); q3 sees p1, p2 (-1, 0)
    forward = (ce(1, [0, -1, 1, 0, 0]) + ce(1, [1, 0, 0, 0, -1]) + ce(0, [0, 1, -1, -1, 0])) / 3
    reverse = (ce(1, [0, -1]) + ce(1, [0, 0]) + ce(0, [0, -1])) / 3
    value = loss_from_embeddings(Q, P, N, tau=1.0, in_batch_positives=True).item()
    assert value == pytest.approx(forward + reverse, abs=1e-6)


def test_temperature_scales_the_logits():
    forward = (ce(100, [0, -100, 100]) + ce(100, [100, 0, 0]) + ce(0, [0, 100, -100])) / 3
    reverse = (ce(100, [0, -100]) + ce(100, [0, 0]) + ce(0, [0, -100])) / 3
    assert loss_from_embeddings(Q, P, N).item() == pytest.approx(forward + reverse, rel=1e-5)


def test_loss_is_differentiable_and_bf16_inputs_are_upcast():
    q = Q.clone().to(torch.bfloat16).requires_grad_()
    loss = loss_from_embeddings(q, P, N, tau=0.5)
    loss.backward()
    assert loss.dtype == torch.float32 and q.grad is not None and torch.isfinite(q.grad.float()).all()


def test_label_masks_leave_same_label_texts_out_of_the_negatives():
    from instructembed.train.losses import label_masks

    # rows 1 and 3 carry label a for the asked property, row 2 label b; each negative has the other label
    labels = [("s=a", "s=a", "s=b"), ("s=b", "s=b", "s=a"), ("s=a", "s=a", "s=b")]
    forward_mask, reverse_mask = label_masks(labels)
    # q1 keeps n1, n3 (n2 is an a); q2 keeps n2 only; q3 keeps n1, n3
    forward = (ce(1, [0, 1]) + ce(1, [0]) + ce(0, [0, -1])) / 3
    # p1 no longer sees q3 (both a), p3 no longer sees q1; p2 sees both queries
    reverse = (ce(1, [0]) + ce(1, [0, 0]) + ce(0, [-1])) / 3
    value = loss_from_embeddings(Q, P, N, tau=1.0, forward_mask=forward_mask, reverse_mask=reverse_mask).item()
    assert value == pytest.approx(forward + reverse, abs=1e-6)
    # unlabelled rows and rows asking another property are never masked, nor do they mask
    other, _ = label_masks([("s=a", "s=a", "s=b"), None, ("t=a", "t=a", "t=b")])
    assert other.tolist() == [[False, False, False], [False, False, False], [False, False, False]]
    assert not label_masks([None, None])[1].any()
