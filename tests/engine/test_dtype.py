"""`dtype=` / `--dtype`: the torch backend in bfloat16 (the fast path on CPUs with AMX), through the engine,
`embed`, `evaluate` and a real `serve` process, against float32; bad values are one-line errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import httpx
import numpy as np
import pytest
import torch
from cli_in_process import invoke
from server_process import wait_for_health

from instructembed import Instructor
from instructembed.errors import InstructEmbedError

INSTRUCTION = "Represent the sentence for retrieving duplicate sentences:"
TEXTS = [
    "A man is playing a guitar on the stage.",
    "The stock market fell sharply after the announcement.",
    "Photosynthesis turns light into chemical energy in leaves.",
    "A goal in extra time sent the home crowd into raptures; nobody had expected the comeback " * 3,
    "short",
    "Quantum error correction protects fragile qubits from noise.",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def bf16_model():
    return Instructor(device="cpu", dtype="bfloat16")


def test_bfloat16_weights_everywhere_float32_vectors_close_to_float32(bf16_model, default_model):
    # the shipped model is a delta over its base: the merged weights must be bf16 too, not only the base's
    assert {p.dtype for p in bf16_model.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in default_model.parameters()} == {torch.float32}
    got = bf16_model.encode(TEXTS, instruction=INSTRUCTION)
    expected = default_model.encode(TEXTS, instruction=INSTRUCTION)
    assert got.dtype == np.float32 and got.shape == expected.shape
    c = cosines(got, expected)
    assert c.min() >= 0.999 and c.min() < 1.0, c  # close, yet really computed in another precision
    same = Instructor(device="cpu", dtype=torch.bfloat16).encode(TEXTS, instruction=INSTRUCTION)  # a torch.dtype too
    assert np.abs(same - got).max() < 1e-6


def test_fingerprint_and_identity_tell_the_precisions_apart(bf16_model, default_model):
    from instructembed.engine.fingerprint import model_fingerprint
    from instructembed.scale.identity import ModelIdentity

    assert model_fingerprint(bf16_model) != model_fingerprint(default_model)  # never each other's cached vectors
    fp32, bf16 = ModelIdentity.of(default_model), ModelIdentity.of(bf16_model)
    assert (fp32.dtype, bf16.dtype, bf16.backend) == ("float32", "bfloat16", "torch")
    with pytest.raises(InstructEmbedError, match="in bfloat16, not torch in float32: use --backend torch --dtype bfloat16"):
        bf16.check_same(fp32, "this index")
    old = {"name": fp32.name, "weights": fp32.weights, "dimension": 384}  # written before dtype was recorded
    assert ModelIdentity.from_json(old, "x") == fp32


def test_bad_dtypes_are_one_line_errors():
    with pytest.raises(InstructEmbedError, match="dtype must be one of float32, bfloat16, float16, got 'int4'"):
        Instructor(device="cpu", dtype="int4")
    with pytest.raises(InstructEmbedError, match="dtype and modules apply to the torch backend, not onnx"):
        Instructor(device="cpu", backend="onnx", dtype="bfloat16")
    assert invoke("embed", "in.txt", "-o", "out.npy", "--dtype", "half") == (2, "dtype must be one of float32, bfloat16, float16, got 'half'")
    code, message = invoke("serve", "--backend", "onnx-int8", "--dtype", "bfloat16")
    assert (code, message) == (2, "--dtype bfloat16 is for --backend torch; onnx-int8 runs its own graph")
    code, message = invoke("evaluate", "--tasks", "STSBenchmark", "--dtype", "fp8", "-o", "nowhere")
    assert code == 2 and message.startswith("dtype must be one of")


def test_embed_cli_bfloat16_equals_the_api(tmp_path, bf16_model):
    (tmp_path / "in.txt").write_text("\n".join(TEXTS) + "\n")
    code, output = invoke("embed", str(tmp_path / "in.txt"), "-o", str(tmp_path / "out.npy"), "--instruction", INSTRUCTION,
                          "--dtype", "bfloat16", "--no-progress")
    assert code == 0, output
    expected = bf16_model.encode(TEXTS, instruction=INSTRUCTION, normalize_embeddings=True)
    assert np.abs(np.load(tmp_path / "out.npy") - expected).max() < 1e-6


def test_evaluate_cli_bfloat16_records_it_and_scores_as_float32(tmp_path, default_model):
    from instructembed.evaluate import evaluate_task, load_results
    from instructembed.shared_data import data_dir

    if not (data_dir() / "eval" / "STSBenchmark").is_dir():
        pytest.skip("shared evaluation data not found (set INSTRUCTEMBED_DATA_DIR)")
    code, output = invoke("evaluate", "--tasks", "STSBenchmark", "--max-rows", "60", "--dtype", "bfloat16", "--no-cache",
                          "-o", str(tmp_path / "bf16"))
    assert code == 0, output
    score = load_results(tmp_path / "bf16")["STSBenchmark"].main_score
    assert abs(score - evaluate_task(default_model, "STSBenchmark", max_rows=60).main_score) <= 0.5
    assert json.loads((tmp_path / "bf16" / "run.json").read_text())["backend"] == "torch, bfloat16"


def test_serve_cli_bfloat16_over_http(bf16_model):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "instructembed", "serve", "--dtype", "bfloat16", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(process, url, limit=300)
        body = {"input": [{"instruction": INSTRUCTION, "text": t} for t in TEXTS], "encoding_format": "float"}
        data = httpx.post(f"{url}/v1/embeddings", json=body, timeout=120).json()["data"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    got = np.array([d["embedding"] for d in data], dtype=np.float32)
    # the server batches by token budget, so its rows pad differently from encode's: bf16 rounds them differently
    assert cosines(got, bf16_model.encode(TEXTS, instruction=INSTRUCTION)).min() >= 0.9999
    assert "torch, bfloat16" in stderr
