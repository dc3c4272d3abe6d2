"""`backend="onnx" | "onnx-int8"` for any model: exported on first use into the cache, reused, invalidated, atomic."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from instructembed import InstructEmbedError, Instructor
from instructembed.export.cache import CACHE_ENV, cache_root

ROWS = [["Represent the Science title:", "3D ActionSLAM: wearable person tracking"], ["", "The cat sat on the mat."],
        ["Represent the review for classifying sentiment:", "A great movie with a terrible ending"]]


def entries(root: Path) -> list[str]:
    """Everything in the cache folder, hidden staging folders included."""
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return cache_root()


def test_second_load_reuses_the_export_and_changed_weights_invalidate_it(tiny_bert_path, tmp_path, cache_dir, capfd):
    model_dir = tmp_path / "bert"
    shutil.copytree(tiny_bert_path, model_dir)
    first = Instructor(model_dir, backend="onnx")
    assert "first use: exporting" in capfd.readouterr().err
    [entry] = entries(cache_dir)
    graph_file = cache_dir / entry / "model.onnx"
    stamp = graph_file.stat().st_mtime_ns
    before = Instructor(model_dir, device="cpu").encode(ROWS)
    assert np.abs(first.encode(ROWS) - before).max() < 1e-5

    again = Instructor(model_dir, backend="onnx")
    assert "exporting" not in capfd.readouterr().err
    assert entries(cache_dir) == [entry] and graph_file.stat().st_mtime_ns == stamp
    assert again.graph.folder == cache_dir / entry and again.fingerprint == first.fingerprint

    weights = load_file(str(model_dir / "model.safetensors"))
    name = next(k for k in weights if k.endswith("word_embeddings.weight"))
    weights[name] = weights[name] + 0.1 * torch.randn_like(weights[name])
    save_file(weights, str(model_dir / "new.tmp"))
    os.replace(model_dir / "new.tmp", model_dir / "model.safetensors")  # a new file: loaded models map the old one
    changed = Instructor(model_dir, backend="onnx")
    assert "first use: exporting" in capfd.readouterr().err
    assert len(entries(cache_dir)) == 2 and changed.fingerprint != first.fingerprint
    new_torch = Instructor(model_dir, device="cpu").encode(ROWS)
    assert np.abs(changed.encode(ROWS) - new_torch).max() < 1e-5
    assert np.abs(new_torch - before).max() > 1e-3  # the change is visible, and followed


def test_int8_entry_is_its_own_and_both_run_the_encode_api(tiny_t5_path, cache_dir):
    model = Instructor(tiny_t5_path, backend="onnx-int8")
    assert model.graph.onnx_file.name == "model_int8.onnx" and model.backend == "onnx-int8"
    assert "onnx-int8" in entries(cache_dir)[0]
    assert model.encode(ROWS).shape == (3, 16) and model.encode("one text").shape == (16,)
    assert model.encode(ROWS, normalize_embeddings=True, convert_to_tensor=True).norm(dim=1).sub(1).abs().max() < 1e-5
    with pytest.raises(InstructEmbedError, match="sentence embeddings only"):
        model.encode(ROWS, output_value="token_embeddings")
    with pytest.raises(InstructEmbedError, match="no torch modules"):
        model.transformer
    with pytest.raises(InstructEmbedError, match="backend must be one of torch, onnx, onnx-int8"):
        Instructor(tiny_t5_path, backend="int8")


def _cli(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "instructembed", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_an_interrupted_export_leaves_no_cache_entry(tmp_path):
    """SIGTERM while `embed --backend onnx-int8` quantizes: no entry, no staging folder, no output; then a clean rerun."""
    texts = tmp_path / "texts.txt"
    texts.write_text("first text\nsecond text\n")
    env = os.environ | {CACHE_ENV: str(tmp_path / "cache")}
    root = tmp_path / "cache" / "onnx"
    process = _cli("embed", str(texts), "-o", str(tmp_path / "out.npy"), "--backend", "onnx-int8", env=env)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: process.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    while ": int8" not in "".join(seen):  # the fp32 graph is written, quantization under way
        assert process.poll() is None and time.monotonic() < deadline, "".join(seen)
        time.sleep(0.05)
    assert any(name.startswith(".") for name in entries(root))  # the staging folder exists now
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=120) == 128 + signal.SIGTERM
    assert entries(root) == [] and not (tmp_path / "out.npy").exists()
    rerun = subprocess.run([sys.executable, "-m", "instructembed", "embed", str(texts), "-o", str(tmp_path / "out.npy"),
                            "--backend", "onnx-int8"], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert "first use: exporting" in rerun.stderr and len(entries(root)) == 1 and np.load(tmp_path / "out.npy").shape == (2, 384)


@pytest.mark.parametrize("vnni, weights", [(True, "int8"), (False, "uint8")])
def test_an_int8_entry_is_made_for_this_cpus_int8_kernels(tiny_bert_path, tmp_path, monkeypatch, vnni, weights):
    """Without VNNI onnxruntime's u8s8 kernels saturate on signed 8-bit weights: there the weights are unsigned,
    and the cache keys differ, so a graph quantized for one kind of CPU is not reused on the other."""
    import onnx

    from instructembed.export import export_onnx, quantize
    from instructembed.export.cache import export_key

    monkeypatch.setattr(quantize, "has_vnni", lambda: vnni)
    key = export_key(tiny_bert_path, "int8")
    monkeypatch.setattr(quantize, "has_vnni", lambda: not vnni)
    assert export_key(tiny_bert_path, "int8") != key
    monkeypatch.setattr(quantize, "has_vnni", lambda: vnni)
    folder = export_onnx(Instructor(tiny_bert_path, device="cpu"), tmp_path / "bert", quantize="int8")
    assert json.loads((folder / "instructembed_onnx.json").read_text())["int8_weights"] == weights
    graph = onnx.load(str(folder / "model_int8.onnx"))
    types = {i.data_type for i in graph.graph.initializer if len(i.dims) == 2 and i.data_type != onnx.TensorProto.FLOAT}
    assert types == {onnx.TensorProto.INT8 if weights == "int8" else onnx.TensorProto.UINT8}
    assert Instructor(folder, backend="onnx-int8").encode(ROWS).shape == (3, 32)


def test_the_key_covers_every_export_option(tiny_bert_path):
    from instructembed.export.cache import export_key

    keys = {export_key(tiny_bert_path, None), export_key(tiny_bert_path, "int8"), export_key(tiny_bert_path, None, opset=18)}
    assert len(keys) == 3 and export_key(tiny_bert_path, None) == export_key(tiny_bert_path, None)
