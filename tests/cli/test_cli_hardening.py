"""Issue 10 hardening of the CLI: signals, limits, devices, output paths, blank text, --version (exit 2, one line)."""

from __future__ import annotations

import os
import signal
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from instructembed.cli.app import _register, app
from instructembed.errors import InstructEmbedError

_register()
runner = CliRunner()
ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def invoke(*args: str):
    result = runner.invoke(app, list(args))
    if isinstance(result.exception, InstructEmbedError):  # main() maps this to exit 2; CliRunner bypasses main()
        return 2, str(result.exception)
    return result.exit_code, result.output


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "instructembed", *args], capture_output=True, text=True, env=ENV, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("error: "), proc.stderr
    assert message in proc.stderr, proc.stderr


@pytest.fixture
def ok_txt(tmp_path) -> Path:
    file = tmp_path / "ok.txt"
    file.write_text("fine\nalso fine\n")
    return file


# --- 1. SIGTERM cleans up as SIGINT does ----------------------------------------------------------
@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_run_leaves_no_temp_file_and_keeps_the_old_output(tmp_path, sig, code):
    source = tmp_path / "many.txt"
    source.write_text("".join(f"sentence number {i} about something or other\n" for i in range(20_000)))
    out = tmp_path / "out.npy"
    out.write_bytes(b"the previous output")
    process = subprocess.Popen(
        [sys.executable, "-m", "instructembed", "embed", str(source), "-o", str(out), "--no-progress", "--chunk-size", "256"],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background parent may ignore SIGINT
    )
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob(".out.npy.*")):  # the writer's temporary file: embedding has begun
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "the embed run never started writing"
            time.sleep(0.02)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.txt", "out.npy"]
    assert out.read_bytes() == b"the previous output"


# --- 2. --max-seq-length is honoured; < 1 is an error ---------------------------------------------
def test_max_seq_length_is_honoured_on_the_default_model(tmp_path, default_model):
    source = tmp_path / "long.txt"
    source.write_text("word " * 50 + "\nshort\n")
    out = tmp_path / "o.npy"
    code, output = invoke("embed", str(source), "-o", str(out), "--max-seq-length", "5", "--no-progress")
    assert code == 0, output
    assert "1 truncated to 5 tokens" in output
    cut = default_model.pair_tokenizer.tokenizer("word " * 50, truncation=True, max_length=5)["input_ids"]
    assert len(cut) == 5
    features = default_model.pair_tokenizer.collate([cut], [0])
    with torch.inference_mode():
        want = torch.nn.functional.normalize(default_model(features)["sentence_embedding"], dim=1)[0].numpy()
    assert np.abs(np.load(out)[0] - want).max() < 1e-5


@pytest.mark.parametrize("value", ["0", "-3"])
@pytest.mark.parametrize("command", ["embed", "serve", "export"])
def test_max_seq_length_below_1_is_an_error(tmp_path, ok_txt, command, value):
    args = {"embed": ["embed", str(ok_txt), "-o", str(tmp_path / "o.npy")], "serve": ["serve"],
            "export": ["export", "-o", str(tmp_path / "onnx")]}[command]
    code, output = invoke(*args, "--max-seq-length", value)
    assert code == 2 and f"max_seq_length must be a positive number of tokens, got {value}" in output
    assert not (tmp_path / "o.npy").exists() and not (tmp_path / "onnx").exists()


def test_max_seq_length_below_1_real_process(tmp_path, ok_txt):
    proc = run_cli("embed", str(ok_txt), "-o", str(tmp_path / "o.npy"), "--max-seq-length", "-3")
    assert_one_line_error(proc, "max_seq_length must be a positive number of tokens, got -3")


# --- 3. devices ----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["embed", "similarity", "serve"])
def test_an_unknown_device_is_one_line(tmp_path, ok_txt, command):
    args = {"embed": ["embed", str(ok_txt), "-o", str(tmp_path / "o.npy")], "similarity": ["similarity", "a", "b"],
            "serve": ["serve"]}[command]
    code, output = invoke(*args, "--device", "bogus")
    assert code == 2 and "unknown device 'bogus'" in output
    if not torch.cuda.is_available():
        code, output = invoke(*args, "--device", "cuda")
        assert code == 2 and "CUDA is not available" in output


def test_an_unknown_device_real_process():
    assert_one_line_error(run_cli("similarity", "a", "b", "--device", "bogus"), "unknown device 'bogus'")


# --- 4. output paths and ports -------------------------------------------------------------------
def test_embed_output_that_is_a_folder_or_under_a_file(tmp_path, ok_txt):
    (tmp_path / "dir.npy").mkdir()
    cases = [
        (tmp_path, f"output {tmp_path} is a folder"),
        (tmp_path / "dir.npy", "is a folder"),
        (ok_txt / "o.npy", f"{ok_txt} is a file, not a folder"),
        (ok_txt / "sub" / "o.npy", f"{ok_txt} is a file, not a folder"),
        (tmp_path / "missing" / "o.npy", "output folder does not exist"),
    ]
    for output, message in cases:
        code, text = invoke("embed", str(ok_txt), "-o", str(output), "--no-progress")
        assert code == 2 and message in text, (output, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.npy", "ok.txt"]


def test_embed_output_folder_real_process(tmp_path, ok_txt):
    assert_one_line_error(run_cli("embed", str(ok_txt), "-o", str(tmp_path)), "is a folder")


def test_export_output_dot_or_under_a_file(tmp_path, ok_txt, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for output, message in [(".", "must name the folder to write"), ("..", "must name the folder to write"),
                            (str(ok_txt / "onnx"), "is a file, not a folder"), (str(ok_txt), "is a file; expected a folder")]:
        code, text = invoke("export", "-o", output)
        assert code == 2 and message in text, (output, text)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.txt"]


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_serve_port_out_of_range(port):
    code, output = invoke("serve", "--port", port)
    assert code == 2 and f"--port must be between 1 and 65535, got {port}" in output


def test_serve_port_out_of_range_real_process():
    assert_one_line_error(run_cli("serve", "--port", "99999"), "--port must be between 1 and 65535, got 99999")


# --- 8. text with no tokens is empty text --------------------------------------------------------
@pytest.mark.parametrize("blank", ["\u200b", "\ufeff", "\x00"])
def test_zero_token_lines_are_empty_lines(tmp_path, blank):
    source = tmp_path / "in.txt"
    source.write_text(f"fine\n{blank}\nalso fine\n")
    out = tmp_path / "o.npy"
    for extra in ([], ["--instruction", "Represent the sentence:"]):
        code, output = invoke("embed", str(source), "-o", str(out), "--no-progress", *extra)
        assert code == 2 and "line 2: text is empty (use --skip-empty" in output, output
        assert not out.exists()
    code, output = invoke("embed", str(source), "-o", str(out), "--no-progress", "--skip-empty", "--instruction", "Represent:")
    assert code == 0, output
    assert np.load(out).shape == (2, 384)
    code, output = invoke("similarity", "fine", blank)
    assert code == 2 and "input 1: text is empty" in output


# --- 9. --version and shell completion -----------------------------------------------------------
def test_version_real_process():
    from instructembed import __version__

    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"instructembed {__version__}", proc.stderr


def test_shell_completion_is_offered():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "--install-completion" in result.output and "--show-completion" in result.output
    # A real process (completion reads the program's own name) under bash: typer detects the calling shell from
    # the process tree, so under a `sh` parent (nohup sh -c "make test") it would answer "Shell sh not supported".
    # `; exit $?` keeps bash from exec-ing the command in its own place.
    command = f"{shlex.quote(sys.executable)} -m instructembed --show-completion bash; exit $?"
    proc = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=ENV, timeout=300)
    assert proc.returncode == 0 and "complete" in proc.stdout and "instructembed" in proc.stdout, proc.stderr


# --- 10. --no-normalize gives the raw vectors ----------------------------------------------------
def test_no_normalize_writes_raw_vectors_in_the_normalized_direction(tmp_path, ok_txt, default_model):
    raw_out, unit_out = tmp_path / "raw.npy", tmp_path / "unit.npy"
    for out, flag in [(raw_out, "--no-normalize"), (unit_out, "--normalize")]:
        code, output = invoke("embed", str(ok_txt), "-o", str(out), "--no-progress", "--instruction", "Represent:", flag)
        assert code == 0, output
    raw, unit = np.load(raw_out), np.load(unit_out)
    assert np.abs(np.linalg.norm(raw, axis=1) - 1).min() > 1e-2  # not unit length: the final Normalize was skipped
    assert np.abs(np.linalg.norm(unit, axis=1) - 1).max() < 1e-5
    assert np.abs(raw / np.linalg.norm(raw, axis=1, keepdims=True) - unit).max() < 1e-5
    want = default_model.encode(["fine", "also fine"], instruction="Represent:", normalize_embeddings=False)
    assert np.abs(raw - want).max() < 1e-5
