"""`instructembed embed` and `similarity`: every format, streaming, and each bad input (exit 2, no output)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from instructembed.cli.app import _register, app

_register()
runner = CliRunner()
TEXTS = ["3D ActionSLAM: wearable person tracking", "Where is the food stored in a yam plant?", "great movie"]
INSTRUCTION = "Represent the sentence for retrieval:"


def invoke(*args: str):
    from instructembed.errors import InstructEmbedError

    result = runner.invoke(app, list(args))
    if isinstance(result.exception, InstructEmbedError):  # main() maps this to exit 2; CliRunner bypasses main()
        return 2, str(result.exception)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def expected(default_model) -> np.ndarray:
    return default_model.encode(TEXTS, instruction=INSTRUCTION, normalize_embeddings=True)


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    files = {"txt": tmp_path / "in.txt", "jsonl": tmp_path / "in.jsonl", "csv": tmp_path / "in.csv", "parquet": tmp_path / "in.parquet"}
    files["txt"].write_text("\n".join(TEXTS) + "\n")
    files["jsonl"].write_text("".join(json.dumps({"id": f"r{i}", "body": t}) + "\n" for i, t in enumerate(TEXTS)))
    with open(files["csv"], "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "body"])
        writer.writerows([[f"r{i}", t] for i, t in enumerate(TEXTS)])
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(3)], "body": TEXTS}), files["parquet"])
    return files


@pytest.mark.parametrize("fmt", ["txt", "jsonl", "csv", "parquet"])
@pytest.mark.parametrize("out_fmt", ["npy", "parquet", "jsonl"])
def test_every_input_and_output_format(inputs, tmp_path, expected, fmt, out_fmt):
    out = tmp_path / f"out.{out_fmt}"
    args = ["embed", str(inputs[fmt]), "-o", str(out), "--instruction", INSTRUCTION, "--no-progress", "--chunk-size", "2"]
    if fmt != "txt":
        args += ["--text-field", "body"]
    code, output = invoke(*args)
    assert code == 0, output
    if out_fmt == "npy":
        got = np.load(out)
    elif out_fmt == "parquet":
        table = pq.read_table(out).to_pydict()
        assert table["text"] == TEXTS
        assert table["id"] == (["0", "1", "2"] if fmt == "txt" else ["r0", "r1", "r2"])
        got = np.array(table["embedding"], dtype=np.float32)
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        assert [r["text"] for r in rows] == TEXTS
        got = np.array([r["embedding"] for r in rows], dtype=np.float32)
    assert got.shape == (3, 384)
    assert np.abs(got - expected).max() < 1e-5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_per_row_instruction_field(tmp_path, default_model):
    source = tmp_path / "mixed.jsonl"
    rows = [{"text": "great movie", "instruction": "Represent the review for sentiment:"},
            {"text": "great movie", "instruction": "Represent the title for retrieval:"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, output = invoke("embed", str(source), "-o", str(tmp_path / "o.npy"), "--instruction-field", "instruction", "--no-progress")
    assert code == 0, output
    got = np.load(tmp_path / "o.npy")
    want = default_model.encode([[r["instruction"], r["text"]] for r in rows], normalize_embeddings=True)
    assert np.abs(got - want).max() < 1e-5


def _bad_cases(tmp: Path) -> list[tuple[list[str], str]]:
    (tmp / "empty_line.txt").write_text("fine\n   \nfine\n")
    (tmp / "bad.jsonl").write_text('{"text": "ok"}\n{broken\n')
    (tmp / "nofield.jsonl").write_text('{"body": "ok"}\n')
    (tmp / "notstr.jsonl").write_text('{"text": 5}\n')
    (tmp / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (tmp / "ok.txt").write_text("fine\n")
    (tmp / "data.xml").write_text("<a/>")
    (tmp / "blank.txt").write_text("")
    return [
        (["embed", str(tmp / "empty_line.txt")], "line 2: text is empty"),
        (["embed", str(tmp / "bad.jsonl")], "line 2 is not valid JSON"),
        (["embed", str(tmp / "nofield.jsonl")], "missing column 'text'"),
        (["embed", str(tmp / "notstr.jsonl")], "text must be a string"),
        (["embed", str(tmp / "latin1.txt")], "not valid UTF-8"),
        (["embed", str(tmp / "data.xml")], "unknown input format '.xml'"),
        (["embed", str(tmp / "missing.txt")], "input file not found"),
        (["embed", str(tmp / "blank.txt")], "has no texts to embed"),
        (["embed", str(tmp / "ok.txt"), "--model", str(tmp / "no-such-model")], "not found"),
    ]


def test_bad_inputs_exit_2_and_leave_no_output(tmp_path):
    for args, message in _bad_cases(tmp_path):
        out = tmp_path / "out.npy"
        code, output = invoke(*args, "-o", str(out), "--no-progress")
        assert code == 2, (args, output)
        assert message in output, (args, output)
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]
    code, output = invoke("embed", str(tmp_path / "ok.txt"), "-o", str(tmp_path / "out.xyz"))
    assert code == 2 and "unknown output format '.xyz'" in output


def test_skip_empty_counts_rows(tmp_path):
    (tmp_path / "e.txt").write_text("fine\n\nalso fine\n")
    code, output = invoke("embed", str(tmp_path / "e.txt"), "-o", str(tmp_path / "o.npy"), "--skip-empty", "--no-progress")
    assert code == 0, output
    assert np.load(tmp_path / "o.npy").shape == (2, 384)


def test_truncation_is_reported(tmp_path):
    (tmp_path / "long.txt").write_text("word " * 1000 + "\nshort\n")
    code, output = invoke("embed", str(tmp_path / "long.txt"), "-o", str(tmp_path / "o.npy"), "--no-progress")
    assert code == 0 and "1 truncated to 256 tokens" in output


def test_similarity_prints_the_cosine(default_model):
    code, output = invoke("similarity", "great movie", "terrible film", "--instruction", "Represent the review:")
    assert code == 0, output
    a, b = default_model.encode(["great movie", "terrible film"], instruction="Represent the review:", normalize_embeddings=True)
    assert output.strip().splitlines()[-1] == f"{float(a @ b):.4f}"
    code, output = invoke("similarity", "alone")
    assert code == 2 and "at least two texts" in output


def test_real_process_exit_code_and_one_line_error(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    bad = tmp_path / "x.jsonl"
    bad.write_text("{broken\n")
    proc = subprocess.run([sys.executable, "-m", "instructembed", "embed", str(bad), "-o", str(tmp_path / "o.npy")],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "Traceback" not in proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "instructembed", "embed", "--help"], capture_output=True, text=True, env=env).stdout
    assert "instructembed embed titles.txt" in help_text


def test_embed_file_streams_in_chunks(default_model, tmp_path):
    """The reader is lazy and encode sees at most `chunk_size` rows at a time: memory stays flat."""
    from instructembed.embedfiles import embed_file

    source = tmp_path / "many.txt"
    source.write_text("".join(f"sentence number {i}\n" for i in range(23)))
    seen: list[int] = []
    original = default_model.encode

    def spy(pairs, **kwargs):
        seen.append(len(pairs))
        return original(pairs, **kwargs)

    default_model.encode = spy
    try:
        report = embed_file(default_model, source, tmp_path / "o.npy", chunk_size=5, show_progress_bar=False)
    finally:
        del default_model.encode
    assert seen == [5, 5, 5, 5, 3] and report.rows == 23
    got = np.load(tmp_path / "o.npy")
    assert np.abs(got[17] - default_model.encode("sentence number 17", normalize_embeddings=True)).max() < 1e-5
