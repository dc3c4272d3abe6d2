"""`--backend onnx | onnx-int8` through every command (embed, evaluate, serve) as real processes, against torch.

The module exports the default model once per backend into its own cache; every process after that
reuses the entry (its stderr says nothing of exporting).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import httpx
import numpy as np
import pytest

from instructembed import Instructor
from instructembed.export.cache import CACHE_ENV
from instructembed.shared_data import data_dir
from server_process import wait_for_health

STS_INSTRUCTION = "Represent the sentence for retrieving duplicate sentences:"
EVAL_ROWS = 60


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory) -> dict[str, str]:
    """An export cache for this module, filled in this process: fp32 and int8 of the default model."""
    root = tmp_path_factory.mktemp("export-cache")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(root)
    try:
        for backend in ("onnx", "onnx-int8"):
            Instructor(backend=backend)
        yield os.environ | {CACHE_ENV: str(root)}
    finally:
        if previous is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous


def run_cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "instructembed", *args], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "exporting" not in done.stderr  # the module's entries are reused across processes
    return done


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_embed_cli(backend, cache_env, default_model, sts_sentences, tmp_path):
    texts = sts_sentences[:40]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    run_cli("embed", str(tmp_path / "in.txt"), "-o", str(tmp_path / "out.npy"), "--instruction", STS_INSTRUCTION,
            "--backend", backend, "--no-progress", env=cache_env)
    got = np.load(tmp_path / "out.npy")
    expected = default_model.encode(texts, instruction=STS_INSTRUCTION, normalize_embeddings=True)
    if backend == "onnx":
        assert np.abs(got - expected).max() < 1e-4
    else:
        c = cosines(got, expected)
        assert c.min() >= 0.99 and c.mean() >= 0.997, (c.min(), c.mean())


def test_evaluate_cli_int8_scores_as_torch(cache_env, default_model, tmp_path):
    from instructembed.evaluate import evaluate_task, load_results

    if not (data_dir() / "eval" / "STSBenchmark").is_dir():
        pytest.skip("shared evaluation data not found (set INSTRUCTEMBED_DATA_DIR)")
    run_cli("evaluate", "--tasks", "STSBenchmark", "--max-rows", str(EVAL_ROWS), "--backend", "onnx-int8", "--no-cache",
            "-o", str(tmp_path / "int8"), env=cache_env)
    result = load_results(tmp_path / "int8")["STSBenchmark"]
    torch_score = evaluate_task(default_model, "STSBenchmark", max_rows=EVAL_ROWS).main_score
    assert abs(result.main_score - torch_score) <= 1.0, (result.main_score, torch_score)
    assert json.loads((tmp_path / "int8" / "run.json").read_text())["backend"] == "onnx-int8"
    assert result.extra["model_fingerprint"].startswith("onnx-int8-")  # never the torch model's cached vectors


def test_serve_cli_int8_over_http(cache_env, default_model):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "instructembed", "serve", "--backend", "onnx-int8", "--port", str(port), "--log-level", "warning"],
        env=cache_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(process, url, limit=300)
        rows = [{"instruction": "Represent the Science title:", "text": "3D ActionSLAM: wearable person tracking"},
                {"instruction": "Represent the review for classifying sentiment:", "text": "A great movie with a terrible ending"},
                "a plain sentence"]
        body = {"input": rows, "encoding_format": "float"}
        data = httpx.post(f"{url}/v1/embeddings", json=body, timeout=120).json()["data"]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    got = np.array([d["embedding"] for d in data], dtype=np.float32)
    expected = default_model.encode([[r["instruction"], r["text"]] if isinstance(r, dict) else ["", r] for r in rows])
    assert cosines(got, expected).min() >= 0.99
    assert "onnx-int8" in stderr and "exporting" not in stderr
