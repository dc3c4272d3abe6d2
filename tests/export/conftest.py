"""The default model exported once per session (fp32 + int8), and shared evaluation sentences."""

from __future__ import annotations

import json

import pytest

from instructembed.shared_data import data_dir


@pytest.fixture(scope="session")
def exported(default_model, tmp_path_factory):
    from instructembed.export import export_onnx

    return export_onnx(default_model, tmp_path_factory.mktemp("onnx") / "minilm", quantize="int8")


@pytest.fixture(scope="session")
def sts_sentences() -> list[str]:
    file = data_dir() / "eval" / "STSBenchmark" / "test.jsonl"
    if not file.exists():
        pytest.skip(f"shared evaluation data not found at {file} (set INSTRUCTEMBED_DATA_DIR)")
    rows = [json.loads(line) for line in file.read_text().splitlines()[:150]]
    return [r["sentence1"] for r in rows] + [r["sentence2"] for r in rows]
