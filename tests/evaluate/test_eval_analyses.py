"""The analyses: paraphrase file, robustness gap, complexity levels, t-SNE PNG."""

from __future__ import annotations

import pytest

from instructembed.evaluate import InstructionSet, TaskResult, evaluate_task, load_task
from instructembed.evaluate.analyses import complexity, complexity_instructions, load_paraphrases, robustness, tsne_picture


def test_shipped_paraphrases_have_five_per_shared_task(eval_root):
    from instructembed.evaluate import discover_tasks

    variants = load_paraphrases()
    names = {t.name for t in discover_tasks(eval_root)}
    assert names <= set(variants)
    assert all(len(v) == 5 and len({str(x.to_json()) for x in v}) == 5 for v in variants.values())
    assert all(x.properties and set(x.properties) == {"source", "sentiment"} for x in variants["SourceSentimentSteering"])
    assert variants["SciFact"][0].corpus  # asymmetric tasks carry query and corpus instructions


def test_robustness_and_complexity_on_a_small_task(model, sts_task):
    task = load_task(sts_task)
    variants = {"TinySTS": [InstructionSet({"TinySTS": f"Represent the {w}: "}).for_task("TinySTS") for w in ("sentence", "statement", "text", "caption", "claim")]}
    rows = robustness(model, [task], variants, log=lambda m: None)
    assert len(rows[0]["scores"]) == 5 and rows[0]["instructions"][3]["query"] == "Represent the caption: "
    assert rows[0]["gap"] == pytest.approx(max(rows[0]["scores"]) - min(rows[0]["scores"]))
    assert rows[0]["scores"][0] == evaluate_task(model, task, variants["TinySTS"][0]).main_score
    levels = complexity_instructions(task, InstructionSet({"TinySTS": "Represent the statement: "}).for_task("TinySTS"))
    assert levels["tag"].query == "TinySTS: " and levels["none"].query is None
    out = complexity(model, [task], InstructionSet({"TinySTS": "Represent the statement: "}), log=lambda m: None)[0]
    assert out["none"] == evaluate_task(model, task).main_score


def test_task_result_json_round_trip(model, sts_task, tmp_path):
    result = evaluate_task(model, load_task(sts_task), max_rows=5)
    result.save(tmp_path / "r.json")
    assert TaskResult.load(tmp_path / "r.json") == result and result.metrics["n_rows"] == 5


def test_tsne_png(model, eval_root, tmp_path):
    task = load_task(eval_root / "TRECClassification")
    path = tsne_picture(model, task, "Represent the question for classifying the type of its answer: ", tmp_path / "t.png", max_rows=40)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
