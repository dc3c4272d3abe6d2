"""base_anchor: ordinary batches are held near the untuned base; contrast batches are left free."""

import json
import math

import pytest
import torch
from safetensors.torch import load_file

from instructembed.engine.adapted_model import apply_delta
from instructembed.engine.instructor import Instructor
from instructembed.errors import InstructEmbedError
from instructembed.train import train
from instructembed.train.losses import anchor_loss, loss_from_embeddings, with_base_anchor

from test_trainer import tiny_config


def test_anchor_loss_against_a_hand_computed_case():
    e = [torch.tensor([[1.0, 0.0], [1.0, 1.0]]), torch.tensor([[0.0, 2.0]])]
    r = [torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([[0.0, 5.0]])]
    # rows: 1 - 0, 1 - 1/sqrt(2), 1 - 1; mean over the three rows
    assert anchor_loss(e, r).item() == pytest.approx((1 + (1 - 1 / math.sqrt(2)) + 0) / 3)
    q, p, n = (torch.randn(4, 8) for _ in range(3))
    anchored = with_base_anchor(loss_from_embeddings, [q, p, n], 3.0)
    assert anchored(q, p, n).item() == pytest.approx(loss_from_embeddings(q, p, n).item())  # no drift, no cost
    moved = with_base_anchor(loss_from_embeddings, [-q, p, n], 3.0)(q, p, n).item()
    assert moved == pytest.approx(loss_from_embeddings(q, p, n).item() + 3.0 * 2 / 3, rel=1e-5)


def trained_model(tiny_base, out) -> Instructor:
    model = Instructor(str(tiny_base), device="cpu")
    apply_delta(model.transformer.auto_model, load_file(str(out / "final" / "delta.safetensors")))
    return model.eval()


def test_anchor_keeps_ordinary_inputs_near_the_base(tiny_base, medi_files, tmp_path):
    texts = [json.loads(line)["query"] for line in medi_files[1].read_text().splitlines()[:24]]
    base = Instructor(str(tiny_base), device="cpu").encode(texts, normalize_embeddings=True)
    drift = {}
    for weight in (0.0, 20.0):
        out = tmp_path / f"anchor-{weight}"
        train(tiny_config(tiny_base, medi_files, out, max_steps=20, base_anchor=weight), show_progress=False)
        tuned = trained_model(tiny_base, out).encode(texts, normalize_embeddings=True)
        drift[weight] = float(1 - (tuned * base).sum(1).mean())
    assert drift[0.0] > 0.01  # training moved the unanchored model
    assert drift[20.0] < 0.5 * drift[0.0]


def contrast_file(medi_files, tmp_path, labelled: bool = False):
    """The toy MEDI file plus 8 contrast groups (a text under a "tone" and a "source" instruction); with
    `labelled`, each record carries the asked property's labels of its query, positive and negative."""
    rows = []
    for i, word in enumerate(["apple", "river", "stone", "cloud", "piano", "tiger", "lemon", "chair"]):
        for prop, value in (("tone", i % 2), ("source", i // 4)):
            row = {"query": [f"Represent the {prop}: ", f"{word} one"], "pos": [f"Represent the {prop}: ", f"{word} two"],
                   "neg": [f"Represent the {prop}: ", f"{word} three"], "task_id": "contrast:toy", "kind": "contrast",
                   "group": f"g{i}"}
            if labelled:
                row["labels"] = [f"{prop}={value}", f"{prop}={value}", f"{prop}={1 - value}"]
            rows.append(json.dumps(row))
    data = tmp_path / "medi.jsonl"
    data.write_text(medi_files[0].read_text() + "\n".join(rows) + "\n")
    return data


def contrast_run_deltas(tiny_base, medi_files, data, tmp_path, **weights) -> list[dict[str, torch.Tensor]]:
    """The deltas of 3-step contrast-only runs, one per value of the one knob in `weights` (e.g. base_anchor=[0, 20])."""
    (knob, values), = weights.items()
    deltas = []
    for value in values:
        out = tmp_path / f"{knob}-{value}"
        train(tiny_config(tiny_base, (data, medi_files[1]), out, max_steps=3, contrast_share=1.0, **{knob: value}),
              show_progress=False)
        deltas.append(load_file(str(out / "final" / "delta.safetensors")))
    assert deltas[0].keys() == deltas[1].keys() and deltas[0]
    return deltas


def test_contrast_batches_are_never_anchored(tiny_base, medi_files, tmp_path):
    data = contrast_file(medi_files, tmp_path)
    deltas = contrast_run_deltas(tiny_base, medi_files, data, tmp_path, base_anchor=[0.0, 20.0])
    for key in deltas[0]:
        torch.testing.assert_close(deltas[0][key], deltas[1][key], rtol=0, atol=0, msg=key)


def test_a_negative_anchor_is_refused(tiny_base, medi_files, tmp_path):
    with pytest.raises(InstructEmbedError, match="base_anchor must be >= 0"):
        tiny_config(tiny_base, medi_files, tmp_path, base_anchor=-1.0)
