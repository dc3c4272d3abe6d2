"""The shipped default, instructembed-mini: base + delta, offline, checksum-verified, and actually tuned."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from instructembed import InstructEmbedError, Instructor
from instructembed.engine.default_model import SHIPPED_MODEL_DIR, base_model_path

PAIRS = [["Represent the review for classifying sentiment:", "the plot was thin but the acting was superb"]]


def test_default_is_instructembed_mini_and_differs_from_the_base(default_model, base_model):
    assert default_model.model_name_or_path == "instructembed-mini"
    assert (SHIPPED_MODEL_DIR / "delta.safetensors").stat().st_size <= 16 * 1024 * 1024
    ours, base = default_model.encode(PAIRS), base_model.encode(PAIRS)
    assert ours.shape == base.shape == (1, 384)
    assert np.abs(ours - base).max() > 1e-3  # the delta is applied
    # ...and tunes the base rather than replacing it: without an instruction it stays close to the base,
    # while an instruction now moves it further (the tuned model reads the instruction)
    plain = ["the plot was thin but the acting was superb"]
    plain_cosine = float(default_model.encode(plain)[0] @ base_model.encode(plain)[0])
    assert plain_cosine > 0.8 and float(ours[0] @ base[0]) < plain_cosine
    assert Instructor("instructembed-mini", device="cpu").encode(PAIRS).tolist() == ours.tolist()
    assert Instructor(SHIPPED_MODEL_DIR, device="cpu").encode(PAIRS).tolist() == ours.tolist()


def test_packaged_base_by_name(base_model):
    assert base_model.model_name_or_path == "all-MiniLM-L6-v2"
    same = Instructor("sentence-transformers/all-MiniLM-L6-v2", device="cpu")
    assert same.encode(PAIRS).tolist() == base_model.encode(PAIRS).tolist()
    assert base_model_path().is_dir()


def test_a_tampered_delta_is_refused(tmp_path):
    copy = tmp_path / "mini"
    shutil.copytree(SHIPPED_MODEL_DIR, copy)
    data = bytearray((copy / "delta.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "delta.safetensors").write_bytes(bytes(data))
    with pytest.raises(InstructEmbedError, match="checksum"):
        Instructor(copy, device="cpu")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["base_sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InstructEmbedError, match="does not match"):
        Instructor(copy, device="cpu")
