"""Save/load round trips, sentence-transformers interop, the drop-in class, and broken checkpoints."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from sentence_transformers import SentenceTransformer

from instructembed import INSTRUCTOR, InstructEmbedError, Instructor

PAIRS = [["Represent the Science title:", "3D ActionSLAM"], ["Represent the review:", "great movie, weak ending"]]


def test_default_model_save_load_round_trip(default_model, tmp_path):
    default_model.save(tmp_path / "copy")
    again = Instructor(tmp_path / "copy", device="cpu")
    assert np.array_equal(default_model.encode(PAIRS), again.encode(PAIRS))
    modules = json.loads((tmp_path / "copy" / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"]
    assert json.loads((tmp_path / "copy" / "1_Pooling" / "config.json").read_text())["include_prompt"] is False


def test_t5_round_trip_and_sentence_transformers_reads_our_save(tiny_t5_path, tmp_path):
    model = Instructor(tiny_t5_path, device="cpu")
    model.save(tmp_path / "again")
    assert np.array_equal(model.encode(PAIRS), Instructor(tmp_path / "again", device="cpu").encode(PAIRS))
    st = SentenceTransformer(str(tmp_path / "again"), device="cpu")
    assert st.encode(["x"]).shape == (1, 16)
    theirs = st.encode([PAIRS[0][1]], prompt=PAIRS[0][0])
    assert np.abs(theirs - model.encode(PAIRS[:1])).max() < 1e-5  # include_prompt=false travels in the config


def test_save_overwrites_atomically(tiny_bert_path, tmp_path):
    model = Instructor(tiny_bert_path, device="cpu")
    target = tmp_path / "model"
    model.save(target)
    model.save(target)  # a second save replaces the first in one rename
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_instructor_dropin_keeps_the_original_contract(tiny_bert_path):
    model = INSTRUCTOR(str(tiny_bert_path), device="cpu")
    assert isinstance(model, torch.nn.Module)
    out = model.encode(PAIRS, batch_size=2, show_progress_bar=False, normalize_embeddings=True)
    assert isinstance(out, np.ndarray) and out.shape == (2, 32)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(InstructEmbedError, match="not found"):
        Instructor(str(tmp_path / "nope" / "deeper"), device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InstructEmbedError, match="not a model checkpoint"):
        Instructor(tmp_path / "empty", device="cpu")


def test_hub_id_without_hub_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InstructEmbedError, match="hub is unreachable or has no cached copy"):
        Instructor("hkunlp/instructor-large", cache_folder=str(tmp_path), device="cpu")


@pytest.mark.parametrize(
    "file,payload,message",
    [
        ("model.safetensors", b"\x00garbage" * 10, "corrupt"),
        ("modules.json", b"{not json", "corrupt"),
        ("config.json", b"{not json", "config"),
        ("2_Dense/model.safetensors", b"garbage", "corrupt"),
    ],
)
def test_corrupt_checkpoint_files(tiny_t5_path, tmp_path, file, payload, message):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_t5_path, broken)
    (broken / file).write_bytes(payload)
    with pytest.raises(InstructEmbedError, match=message):
        Instructor(broken, device="cpu")


def test_default_model_checksum_is_enforced(monkeypatch):
    from instructembed.engine import default_model

    monkeypatch.setattr(default_model, "BASE_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(InstructEmbedError, match="checksum"):
        default_model.base_model_path()


def test_loads_the_original_hkunlp_instructor_layout(tiny_t5_path, tmp_path):
    """hkunlp/instructor-*: pickled weights (pytorch_model.bin) for the T5 and the Dense head, legacy Pooling keys."""
    from safetensors.torch import load_file

    legacy = tmp_path / "instructor-like"
    shutil.copytree(tiny_t5_path, legacy)
    dense_state = load_file(str(legacy / "2_Dense" / "model.safetensors"))
    torch.save(dense_state, legacy / "2_Dense" / "pytorch_model.bin")
    (legacy / "2_Dense" / "model.safetensors").unlink()
    torch.save(load_file(str(legacy / "model.safetensors")), legacy / "pytorch_model.bin")
    (legacy / "model.safetensors").unlink()
    pooling = {"word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}
    (legacy / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    model = Instructor(legacy, device="cpu")
    assert np.abs(model.encode(PAIRS) - Instructor(tiny_t5_path, device="cpu").encode(PAIRS)).max() < 1e-6


def test_unsupported_pooling_is_a_clear_error(tiny_bert_path, tmp_path):
    other = tmp_path / "cls"
    shutil.copytree(tiny_bert_path, other)
    (other / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, "pooling_mode_cls_token": True}))
    with pytest.raises(InstructEmbedError, match="mean pooling"):
        Instructor(other, device="cpu")
