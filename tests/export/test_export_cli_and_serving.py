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
        raw = httpx.post(f"{server.url}/embed", json={"inputs": ["3D ActionSLAM"], "normalize": False})
    got = np.array([d["embedding"] for d in data], dtype=np.float32)
    expected = default_model.encode([["Represent the Science title:", "3D ActionSLAM"], ["Represent the question:", "where?"]])
    assert np.abs(got - expected).max() < 1e-4
    # the graph ends in Normalize: raw vectors cannot be had from it, and the server says so
    assert raw.status_code == 422 and raw.json()["error"]["code"] == "normalize_unsupported", raw.text


def test_onnx_encode_without_normalize_warns_and_stays_unit_length(exported, caplog):
    import logging

    from instructembed.export import OnnxInstructor

    model = OnnxInstructor(exported, "model.onnx")
    with caplog.at_level(logging.WARNING, logger="instructembed.engine"):
        vectors = model.encode(["3D ActionSLAM", "where do yams store food?"], normalize_embeddings=False)
    assert "graph ends in Normalize: normalize_embeddings=False returns unit vectors" in caplog.text
    assert np.abs(np.linalg.norm(vectors, axis=1) - 1).max() < 1e-5


def test_export_refuses_a_folder_of_other_files_unless_forced(tiny_bert_path, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("my own work")
    result = CliRunner().invoke(cli, ["export", "-m", str(tiny_bert_path), "-o", str(out)])
    assert isinstance(result.exception, InstructEmbedError)
    assert "is a non-empty folder that is not an earlier export" in str(result.exception) and "--force" in str(result.exception)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    result = CliRunner().invoke(cli, ["export", "-m", str(tiny_bert_path), "-o", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert not (out / "notes.txt").exists() and (out / "model.onnx").is_file()
    result = CliRunner().invoke(cli, ["export", "-m", str(tiny_bert_path), "-o", str(out)])  # an earlier export: replaced
    assert result.exit_code == 0, result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(cli, ["export", "-m", str(tiny_bert_path), "-o", str(empty)])
    assert result.exit_code == 0, result.output


def test_export_onnx_api_refuses_a_folder_of_other_files(tiny_bert_path, tmp_path):
    from instructembed import Instructor
    from instructembed.export import export_onnx

    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(InstructEmbedError, match="force=True"):
        export_onnx(Instructor(tiny_bert_path, device="cpu"), tmp_path)
    assert (tmp_path / "data.csv").read_text() == "a,b\n"


def test_onnx_backend_rejects_an_unknown_device_and_bad_limits(exported):
    from instructembed.export import OnnxInstructor

    with pytest.raises(InstructEmbedError, match="unknown device 'bogus' for the ONNX backend"):
        OnnxInstructor(exported, device="bogus")
    for value in (0, -3, 2):
        with pytest.raises(InstructEmbedError, match="max_seq_length"):
            OnnxInstructor(exported, max_seq_length=value)
