"""A trained delta exports to a checksummed folder, and `load_adapted` rebuilds the trained model from it."""

import json

import numpy as np
import pytest
from safetensors.torch import load_file

from instructembed.engine.adapted_model import load_adapted
from instructembed.engine.instructor import Instructor
from instructembed.errors import InstructEmbedError
from instructembed.train import train
from instructembed.train.config import config_from_dict
from instructembed.train.export import PROBES, export_model
from instructembed.train.model_setup import build_model

import torch


def lora_run(base: str, medi_files, out, **changes):
    values = dict(
        train_file=str(medi_files[0]), dev_file="", output_dir=str(out), base_model=base, max_seq_length=32,
        pad_to_multiple_of=8, batch_size=8, min_batch_size=4, learning_rate=3e-3, method="lora", lora_rank=4,
        eval_every=0, checkpoint_every=1000, eval_tasks="", max_steps=6, seed=3,
    )
    config = config_from_dict({**values, **changes})
    train(config, show_progress=False)
    return config


def trained_embeddings(config) -> np.ndarray:
    """The model as it stood at the end of training: base + LoRA modules with the checkpoint's weights."""
    model = build_model(config, torch.device("cpu"))
    weights = load_file(f"{config.output_dir}/checkpoint/trainable.safetensors")
    missing = model.load_state_dict(weights, strict=False)
    assert not missing.unexpected_keys
    model.eval()
    return model.encode(PROBES, normalize_embeddings=True)


@pytest.fixture(scope="module")
def tiny_export(tiny_base, medi_files, tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    config = lora_run(str(tiny_base), medi_files, root / "run")
    return config, export_model(root / "run", root / "model", eval_table="| task | score |\n|---|---|\n| X | 1 |")


def test_loaded_model_reproduces_the_trained_one(tiny_base, tiny_export):
    config, folder = tiny_export
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["delta_dtype"] == "float16" and manifest["method"] == "lora"
    loaded = load_adapted(folder, device="cpu", base_folder=tiny_base).encode(PROBES, normalize_embeddings=True)
    expected = trained_embeddings(config)
    assert (loaded * expected).sum(axis=1).min() > 0.9999
    base = Instructor(str(tiny_base), device="cpu").encode(PROBES, normalize_embeddings=True)
    assert (base * expected).sum(axis=1).min() < 0.9999  # training really moved the embeddings
    card = (folder / "README.md").read_text()
    assert "| X | 1 |" in card and "steps | 6 of 6" in card


def test_checksums_guard_delta_and_base(tiny_base, tiny_export, tmp_path):
    import shutil

    _, folder = tiny_export
    copy = tmp_path / "model"
    shutil.copytree(folder, copy)
    with pytest.raises(InstructEmbedError, match="was trained on base"):
        load_adapted(copy, device="cpu")  # the packaged MiniLM is not this delta's base
    data = bytearray((copy / "delta.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "delta.safetensors").write_bytes(bytes(data))
    with pytest.raises(InstructEmbedError, match="checksum"):
        load_adapted(copy, device="cpu", base_folder=tiny_base)


def test_delta_scale_moves_the_model_between_base_and_trained(tiny_base, tiny_export, tmp_path):
    from instructembed.engine.adapted_model import with_delta_scale

    _, trained_folder = tiny_export

    def encode(folder):
        return load_adapted(folder, device="cpu", base_folder=tiny_base).encode(PROBES, normalize_embeddings=True)

    trained = encode(trained_folder)
    base = Instructor(str(tiny_base), device="cpu").encode(PROBES, normalize_embeddings=True)
    np.testing.assert_allclose(encode(with_delta_scale(trained_folder, 0.0, tmp_path / "s0")), base, atol=1e-5)
    np.testing.assert_allclose(encode(with_delta_scale(trained_folder, 1.0, tmp_path / "s1")), trained, atol=1e-6)
    half = encode(with_delta_scale(trained_folder, 0.5, tmp_path / "s05"))
    assert (half * trained).sum(axis=1).min() < 0.99999 and (half * base).sum(axis=1).min() < 0.99999
    assert np.allclose((half * trained).sum(axis=1), (half * base).sum(axis=1), atol=0.05)  # about midway
    manifest = json.loads((tmp_path / "s05" / "manifest.json").read_text())
    (tmp_path / "s05" / "manifest.json").write_text(json.dumps({**manifest, "delta_scale": "big"}))
    with pytest.raises(InstructEmbedError, match="delta_scale must be a number"):
        load_adapted(tmp_path / "s05", device="cpu", base_folder=tiny_base)


def test_delta_weights_scale_or_drop_each_parameters_update(tiny_base, tiny_export, tmp_path):
    from instructembed.engine.adapted_model import load_adapted_modules, with_delta_weights

    _, trained_folder = tiny_export

    def weights(folder):
        return dict(load_adapted_modules(folder, tiny_base)[0].auto_model.named_parameters())

    base = dict(Instructor(str(tiny_base), device="cpu")[0].auto_model.named_parameters())
    trained = weights(trained_folder)
    moved = [name for name in trained if not torch.equal(trained[name], base[name])]
    assert any("query" in name for name in moved) and any("query" not in name for name in moved)
    only_query = weights(with_delta_weights(trained_folder, [(r"attention\.self\.query", 1.0)], tmp_path / "q"))
    mixed = weights(with_delta_weights(trained_folder, [(r"query", 0.5), (r".", 2.0)], tmp_path / "mixed"))
    for name in moved:
        update = trained[name] - base[name]
        expected = trained[name] if "attention.self.query" in name else base[name]
        torch.testing.assert_close(only_query[name], expected, rtol=0, atol=0)
        factor = 0.5 if "query" in name else 2.0  # the first matching pattern decides
        torch.testing.assert_close(mixed[name] - base[name], factor * update, rtol=1e-2, atol=1e-4)
    manifest = json.loads((tmp_path / "mixed" / "manifest.json").read_text())
    assert manifest["delta_weights"] == [["query", 0.5], [".", 2.0]]
    with pytest.raises(InstructEmbedError, match="matches any"):
        with_delta_weights(trained_folder, [("no-such-module", 1.0)], tmp_path / "none")
    with pytest.raises(InstructEmbedError, match="bad pattern"):
        with_delta_weights(trained_folder, [("(", 1.0)], tmp_path / "bad")
    assert not (tmp_path / "none").exists() and not (tmp_path / "bad").exists()


def test_export_refuses_an_oversized_delta(tiny_export, tmp_path):
    config, _ = tiny_export
    with pytest.raises(InstructEmbedError, match="over the"):
        export_model(config.output_dir, tmp_path / "model", max_mb=0.0001)
    assert not (tmp_path / "model").exists()


def test_real_minilm_round_trip(medi_files, tmp_path):
    """The shipped path: LoRA on the packaged all-MiniLM-L6-v2, exported, then loaded with no base named."""
    config = lora_run("default", medi_files, tmp_path / "run", max_steps=2, batch_size=4, learning_rate=1e-3)
    folder = export_model(tmp_path / "run", tmp_path / "instructembed-mini")
    size = (folder / "delta.safetensors").stat().st_size
    assert size < 16 * 2**20
    loaded = load_adapted(folder, device="cpu").encode(PROBES, normalize_embeddings=True)
    assert loaded.shape == (len(PROBES), 384)
    assert (loaded * trained_embeddings(config)).sum(axis=1).min() > 0.9999
