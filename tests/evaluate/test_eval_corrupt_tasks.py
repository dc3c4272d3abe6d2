"""Issue 10 row 12: `instructembed evaluate` on a corrupt task folder exits 2 with a one-line error (a real process).

Folder-level faults (no meta.json, meta.json not JSON, a wrong meta schema) are found before the model
loads and nothing is written; row-level faults (a line that is not JSON, a row missing a field) are
found when the task runs: each is one line on stderr, the other tasks still run, and the exit code is 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from instructembed.cli.app import _register, app
from instructembed.errors import InstructEmbedError

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}
_register()
runner = CliRunner()


def evaluate_args(tmp_path: Path, *tasks: Path) -> list[str]:
    args = ["evaluate", "--model", "all-MiniLM-L6-v2", "--no-instruction", "--no-cache", "-o", str(tmp_path / "out")]
    for task in tasks:
        args += ["--tasks", str(task)]
    return args


def invoke(args: list[str]) -> tuple[int, str]:
    """The command in this process; an InstructEmbedError is what main() prints as one line with exit code 2."""
    result = runner.invoke(app, args)
    if isinstance(result.exception, InstructEmbedError):
        return 2, f"error: {result.exception}"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def task_folder(root: Path, name: str, meta: dict | str | None, rows: str | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if meta is not None:
        (folder / "meta.json").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    if rows is not None:
        (folder / "test.jsonl").write_text(rows)
    return folder


GOOD_ROWS = "".join(json.dumps({"sentence1": f"a {i}", "sentence2": f"b {i}", "score": i % 5}) + "\n" for i in range(6))
STS = {"name": "Corrupt", "type": "STS", "main_score": "cosine_spearman", "min_score": 0, "max_score": 5}


def test_a_corrupt_task_folder_real_process(tmp_path):
    folder = task_folder(tmp_path / "data", "Corrupt", '{"name": "Corrupt", "type": ', GOOD_ROWS)
    proc = subprocess.run([sys.executable, "-m", "instructembed", *evaluate_args(tmp_path, folder)],
                          capture_output=True, text=True, env=ENV, timeout=600, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: task Corrupt: cannot read ") and "meta.json: Expecting value" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("meta, message", [
    (None, "has no meta.json"),
    ('{"name": "Corrupt", "type": ', "meta.json: Expecting value"),
    (STS | {"eval_splits": "test"}, "'eval_splits' must be a list of split names, got 'test'"),
    (STS | {"main_score": 3}, "'main_score' must be a string, got int"),
    (STS | {"type": "Poetry"}, "unknown type 'Poetry'"),
    ('["not", "an", "object"]', "meta.json must hold a JSON object"),
], ids=["no-meta", "meta-not-json", "splits-not-a-list", "score-not-a-string", "unknown-type", "meta-not-an-object"])
def test_a_corrupt_task_folder_is_one_line_and_exit_2_before_anything_is_written(tmp_path, meta, message):
    folder = task_folder(tmp_path / "data", "Corrupt", meta, GOOD_ROWS)
    code, output = invoke(evaluate_args(tmp_path, folder))
    assert code == 2, output
    assert output.startswith("error: task ") and "\n" not in output.strip() and message in output, output
    assert not (tmp_path / "out").exists()


def test_corrupt_rows_are_named_each_in_one_line_and_exit_2(tmp_path):
    data = tmp_path / "data"
    not_json = task_folder(data, "NotJson", STS | {"name": "NotJson"}, GOOD_ROWS + '{"sentence1": "x", \n')
    wrong_schema = task_folder(data, "WrongSchema", STS | {"name": "WrongSchema"}, GOOD_ROWS + '{"sentence1": "x", "score": 1}\n')
    good = task_folder(data, "Good", STS | {"name": "Good"}, GOOD_ROWS)
    code, stderr = invoke(evaluate_args(tmp_path, not_json, wrong_schema, good))
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("error: ")] == [
        "error: task NotJson: test.jsonl line 7: not JSON (Expecting property name enclosed in double quotes)",
        "error: task WrongSchema: test.jsonl row 7: missing 'sentence2'",
    ], stderr
    assert json.loads((tmp_path / "out" / "Good.json").read_text())["main_metric"] == "cosine_spearman"  # the others still run
    assert "task NotJson" in (tmp_path / "out" / "report.md").read_text()
