"""Config strictness, and the `instructembed train` command end to end."""

import json

import pytest
from typer.testing import CliRunner

from instructembed.cli.app import _register, app
from instructembed.errors import InstructEmbedError
from instructembed.train.config import TrainConfig, config_from_dict, load_config, to_toml


def test_unknown_keys_and_wrong_types_raise(tmp_path):
    with pytest.raises(InstructEmbedError, match="unknown key"):
        config_from_dict({"learning_rat": 1e-4})
    with pytest.raises(InstructEmbedError, match="batch_size must be int"):
        config_from_dict({"batch_size": "128"})
    with pytest.raises(InstructEmbedError, match="batch_size must be int"):
        config_from_dict({"batch_size": True})
    with pytest.raises(InstructEmbedError, match="instructions must be one of"):
        config_from_dict({"instructions": "none"})
    assert config_from_dict({"learning_rate": 1}).learning_rate == 1.0  # an int where a float is expected is fine
    file = tmp_path / "c.toml"
    file.write_text('batch_size = 16\nmethod = "full"\n')
    config = load_config(file, ["max_steps=3", "bf16=false", "tau=0.05"])
    assert (config.batch_size, config.method, config.max_steps, config.bf16, config.tau) == (16, "full", 3, False, 0.05)
    with pytest.raises(InstructEmbedError, match="max_steps must be int"):
        load_config(file, ["max_steps=many"])
    file.write_text(to_toml(TrainConfig(lora_target_modules=r"a\.b$")))
    assert load_config(file) == TrainConfig(lora_target_modules=r"a\.b$")


def test_committed_configs_are_valid():
    from pathlib import Path

    configs = sorted(Path(__file__).resolve().parents[2].glob("configs/*.toml"))
    assert configs
    for file in configs:
        load_config(file)


def test_train_command_runs_with_the_ablation_switch(tiny_base, medi_files, tmp_path):
    _register()
    file = tmp_path / "run.toml"
    file.write_text(
        f'train_file = "{medi_files[0]}"\ndev_file = ""\noutput_dir = "{tmp_path / "out"}"\nbase_model = "{tiny_base}"\n'
        'batch_size = 8\nmax_steps = 2\nmethod = "full"\neval_tasks = ""\nmax_seq_length = 32\n'
    )
    runner = CliRunner()
    result = runner.invoke(app, ["train", "--config", str(file), "--instructions", "off", "-q"])
    assert result.exit_code == 0, result.output
    assert "trained 2 steps" in result.output
    summary = json.loads((tmp_path / "out" / "final" / "summary.json").read_text())
    assert summary["config"]["instructions"] == "off"
    exported = runner.invoke(app, ["export-model", str(tmp_path / "out"), "-o", str(tmp_path / "model"), "--recipe", "run.toml"])
    assert exported.exit_code == 0, exported.output
    assert "Made by: run.toml" in (tmp_path / "model" / "README.md").read_text()
    help_text = runner.invoke(app, ["train", "--help"]).output
    assert "--resume" in help_text and "Example" in help_text
