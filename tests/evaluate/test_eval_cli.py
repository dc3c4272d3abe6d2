"""The CLI: evaluate writes JSON + report, failing tasks are named while others run, bad model exits 2, compare."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from instructembed.cli.app import _register, app
from instructembed.errors import InstructEmbedError
from instructembed.evaluate import load_results

_register()
runner = CliRunner()


@pytest.fixture()
def task_dir(make_task, sts_task):
    root = sts_task.parent
    make_task(root / "Broken", {"name": "Broken", "type": "STS"}, {"test.jsonl": '{"sentence1": "a"}\n'})
    return root


def test_evaluate_writes_results_and_reports_a_broken_task(task_dir, tmp_path):
    out = tmp_path / "res"
    args = ["evaluate", "--data", str(task_dir), "--no-instruction", "-o", str(out), "--cache-dir", str(tmp_path / "c")]
    done = runner.invoke(app, args)
    assert done.exit_code == 2, done.output  # one task's data is bad (exit 2), the other was scored
    assert "error: task Broken: test.jsonl row 1: missing 'sentence2'" in done.stderr
    result = json.loads((out / "TinySTS.json").read_text())
    assert result["main_metric"] == "cosine_spearman" and 0 < result["main_score"] <= 100
    assert result["instructions"] == {"query": None, "corpus": None} and result["seconds"] >= 0
    report = (out / "report.md").read_text()
    assert "| TinySTS | STS | cosine_spearman |" in report and "task Broken" in report
    # a rerun resumes: the finished task is skipped, not re-embedded
    again = runner.invoke(app, ["evaluate", "--data", str(task_dir), "--tasks", "TinySTS", "--no-instruction", "-o", str(out)])
    assert again.exit_code == 0 and "done already" in again.stderr


def test_model_that_fails_to_load_exits_2_with_one_line(tmp_path, sts_task):
    done = subprocess.run(
        [sys.executable, "-m", "instructembed", "evaluate", "--model", str(tmp_path / "nope"), "--tasks", str(sts_task), "--no-instruction", "-o", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot load model")


def test_unknown_type_and_conflicting_modes_are_rejected(tmp_path, sts_task):
    done = runner.invoke(app, ["evaluate", "--data", str(sts_task.parent), "--types", "Poetry", "--no-instruction", "-o", str(tmp_path / "r")])
    assert isinstance(done.exception, InstructEmbedError) and "unknown type(s) Poetry" in str(done.exception)
    both = runner.invoke(app, ["evaluate", "--no-instruction", "--instructions", "x.json", "-o", str(tmp_path / "r")])
    assert isinstance(both.exception, InstructEmbedError) and "either --no-instruction" in str(both.exception)


def test_compare_prints_deltas(model, sts_task, tmp_path):
    from instructembed.evaluate import evaluate_task, load_task

    task = load_task(sts_task)
    evaluate_task(model, task).save(tmp_path / "a" / "TinySTS.json")
    evaluate_task(model, task, {"TinySTS": "Represent the statement: "}).save(tmp_path / "b" / "TinySTS.json")
    a, b = load_results(tmp_path / "a"), load_results(tmp_path / "b")
    done = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert done.exit_code == 0
    delta = b["TinySTS"].main_score - a["TinySTS"].main_score
    assert f"| TinySTS | STS | {a['TinySTS'].main_score:.2f} | {b['TinySTS'].main_score:.2f} | {delta:+.2f} |" in done.stdout
