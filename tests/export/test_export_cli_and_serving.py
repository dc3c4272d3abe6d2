"""`instructembed export` end to end, and the server running an exported graph."""

from __future__ import annotations

import subprocess
import sys

import httpx
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from instructembed.cli import export
from instructembed.errors import InstructEmbedError

cli = typer.Typer()
export.register(cli)
cli.command("noop", hidden=True)(lambda: None)  # two commands keep `export` a subcommand


def test_export_cli_writes_fp32_and_int8(tiny_bert_path, tmp_path):
    out = tmp_path / "bert-onnx"
    result = CliRunner().invoke(cli, ["export", "-m", str(tiny_bert_path), "--format", "onnx", "--quantize", "int8", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "model.onnx, model_int8.onnx" in result.output
    assert {p.name for p in out.glob("*.onnx")} == {"model.onnx", "model_int8.onnx"}


def test_export_cli_help_teaches_by_example():
    result = CliRunner().invoke(cli, ["export", "--help"])
    assert result.exit_code == 0 and "instructembed export --format onnx -o" in result.output


@pytest.mark.parametrize("args, message", [(["--format", "tflite"], "unknown export format"), (["--quantize", "int4"], "unknown quantization")])
def test_export_cli_bad_options_raise_before_loading(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["export", *args, "-o", str(tmp_path / "out")])
    assert isinstance(result.exception, InstructEmbedError) and message in str(result.exception)
    assert not (tmp_path / "out").exists()


def test_real_process_exits_2_with_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "instructembed", "export", "--format", "tflite", "-o", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=240,
    )
    assert done.returncode == 2 and done.stderr.strip() == "error: unknown export format 'tflite': use onnx"


def test_server_with_the_onnx_backend(exported, default_model):
    from instructembed.export import OnnxInstructor
    from instructembed.serve import BackgroundServer, create_app

    model = OnnxInstructor(exported, "model.onnx")
    with BackgroundServer(create_app(model)) as server:
        body = {"input": ["3D ActionSLAM", {"instruction": "Represent the question:", "text": "where?"}],
                "instruction": "Represent the Science title:", "encoding_format": "float"}
        data = httpx.post(f"{server.url}/v1/embeddings", json=body).json()["data"]
    got = np.array([d["embedding"] for d in data], dtype=np.float32)
    expected = default_model.encode([["Represent the Science title:", "3D ActionSLAM"], ["Represent the question:", "where?"]])
    assert np.abs(got - expected).max() < 1e-4
