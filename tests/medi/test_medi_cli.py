"""`instructembed medi build|validate|instructions` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from instructembed.cli.app import _register, app
from medi_task_files import write_pair_dataset, write_sni_task

runner = CliRunner()
_register()


def test_help_teaches_by_example():
    result = runner.invoke(app, ["medi", "build", "--help"], env={"COLUMNS": "300", "TERMINAL_WIDTH": "300"})
    assert result.exit_code == 0
    assert "instructembed medi build --sni" in result.output and "--dev-tasks-fraction" in result.output


def test_build_validate_and_instructions(tmp_path, session_cache, embedder):
    write_sni_task(tmp_path / "sni", "task_weather", [(f"Sentence number {i} about {'sun' if i % 2 else 'rain'}.", "sun" if i % 2 else "rain")
                                                        for i in range(12)])
    write_pair_dataset(tmp_path / "pairs", "trivia", [{"query": f"question {i}?", "pos": f"answer {i}."} for i in range(6)])
    out = tmp_path / "out" / "medi.jsonl"
    result = runner.invoke(app, ["medi", "build", "--sni", str(tmp_path / "sni"), "--pairs", str(tmp_path / "pairs"),
                                 "-o", str(out), "--cache-dir", str(session_cache), "--no-progress", "--dev-tasks-fraction", "0"])
    assert result.exit_code == 0, result.output
    assert "train records" in result.output
    assert out.is_file() and out.with_name("medi.dev.jsonl").is_file()
    assert out.with_name("medi.report.md").is_file() and json.loads(out.with_name("medi.report.json").read_text())["tasks"]
    result = runner.invoke(app, ["medi", "validate", str(out)])
    assert result.exit_code == 0 and "valid records in 2 tasks" in result.output
    drafts = tmp_path / "drafts.json"
    result = runner.invoke(app, ["medi", "instructions", "--sni", str(tmp_path / "sni"), "--pairs", str(tmp_path / "pairs"), "-o", str(drafts)])
    assert result.exit_code == 0
    assert set(json.loads(drafts.read_text())) == {"_about", "task_weather", "trivia"}


def test_validate_broken_file_exits_2_naming_record_and_field(tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = {"query": ["q: ", "a"], "pos": ["d: ", "b"], "neg": ["d: ", "c"], "task_id": "t"}
    bad.write_text(json.dumps(good) + "\n" + json.dumps({**good, "pos": ["d: "]}) + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "instructembed", "medi", "validate", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: record 1: field 'pos': must be [instruction, text], got 1 item(s)"
    assert "Traceback" not in proc.stderr
