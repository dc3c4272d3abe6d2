"""label_supcon: in a labelled contrast batch, every text with the asked label is a positive."""

import math

import pytest
import torch

from instructembed.errors import InstructEmbedError
from instructembed.train.losses import loss_from_embeddings, supcon_loss, with_label_supcon

from test_base_anchor import contrast_file, contrast_run_deltas
from test_trainer import tiny_config


def test_supcon_against_a_hand_computed_case():
    e = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 2.0], [1.0, 0.0], [3.0, 4.0]])
    labels = ["a=x", "a=x", "a=y", "b=z", None]
    # text 0: candidates 1, 2 (text 3 asks another property, text 4 has no label); positive 1
    # text 1: candidates 0, 2; positive 0.  Text 2 has no partner, text 3 no candidate: both left out
    first = -math.log(math.exp(0.6 / 0.5) / (math.exp(0.6 / 0.5) + math.exp(0.0)))
    second = -math.log(math.exp(0.6 / 0.5) / (math.exp(0.6 / 0.5) + math.exp(0.8 / 0.5)))
    assert supcon_loss(e, labels, tau=0.5).item() == pytest.approx((first + second) / 2, rel=1e-6)
    # no pair shares a label: zero, with a gradient path
    lone = torch.randn(3, 4, requires_grad=True)
    loss = supcon_loss(lone, ["a=x", "a=y", None], tau=0.5)
    assert loss.item() == 0.0 and loss.requires_grad


def test_the_term_pairs_each_embedding_with_its_own_label():
    torch.manual_seed(0)
    q, p, n = (torch.randn(3, 8) for _ in range(3))
    rows = [("s=pos", "s=pos", "s=neg"), ("s=neg", "s=neg", "s=pos"), None]
    flat = ["s=pos", "s=neg", None, "s=pos", "s=neg", None, "s=neg", "s=pos", None]  # queries, positives, negatives
    combined = with_label_supcon(loss_from_embeddings, rows, 2.0, 0.05)(q, p, n)
    expected = loss_from_embeddings(q, p, n) + 2.0 * supcon_loss(torch.cat([q, p, n]), flat, 0.05)
    assert combined.item() == pytest.approx(expected.item(), rel=1e-6)
    # pulling the same-label texts together lowers the term
    together = torch.cat([q, p, n]).clone()
    together[[3, 7]] = together[0].clone()
    together[[4, 6]] = together[1].clone()
    assert supcon_loss(together, flat, 0.05) < supcon_loss(torch.cat([q, p, n]), flat, 0.05)


def test_a_negative_weight_is_refused(tiny_base, medi_files, tmp_path):
    with pytest.raises(InstructEmbedError, match="label_supcon must be >= 0"):
        tiny_config(tiny_base, medi_files, tmp_path, label_supcon=-0.5)


def test_the_trainer_adds_the_term_on_labelled_contrast_batches(tiny_base, medi_files, tmp_path):
    data = contrast_file(medi_files, tmp_path, labelled=True)
    deltas = contrast_run_deltas(tiny_base, medi_files, data, tmp_path, label_supcon=[0.0, 5.0])
    assert any(not torch.equal(deltas[0][k], deltas[1][k]) for k in deltas[0])
