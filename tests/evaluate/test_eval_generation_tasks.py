"""Billboard and prompt retrieval end to end on tiny task folders, including the LM-scorer hook."""

from __future__ import annotations

import pytest

from instructembed.evaluate import evaluate_task, load_task
from instructembed.evaluate.prompt_retrieval import evaluate_prompt_retrieval
from instructembed.evaluate.instructions import TaskInstructions
from instructembed.evaluate.text_encoder import TextEncoder


def test_billboard_scores_candidates_against_references(model, tmp_path, make_task):
    refs = ["A dog runs across a grassy field.", "A brown dog is running on the grass."]
    rows = [
        {"id": "1", "references": refs, "candidate": "A dog running on grass.", "system": "good", "human_score": 4.5},
        {"id": "2", "references": refs, "candidate": "A dog in a field.", "system": "ok", "human_score": 3.0},
        {"id": "3", "references": refs, "candidate": "Stock prices fell sharply today.", "system": "bad", "human_score": 1.0},
    ]
    folder = make_task(tmp_path / "bb", {"name": "tiny", "type": "Billboard", "main_score": "pearson"}, {"test.jsonl": rows})
    result = evaluate_task(model, load_task(folder))
    assert result.main_metric == "pearson" and result.metrics["spearman"] == pytest.approx(1.0)
    assert result.main_score > 80


def test_prompt_retrieval_agreement_and_lm_scorer(model, tmp_path, make_task):
    pool = [
        {"id": "p1", "input": "What a wonderful, moving film.", "output": "positive"},
        {"id": "p2", "input": "A dull, boring mess of a movie.", "output": "negative"},
        {"id": "p3", "input": "Brilliant acting and a great story.", "output": "positive"},
        {"id": "p4", "input": "Terrible script and awful pacing.", "output": "negative"},
    ]
    tests = [
        {"id": "t1", "input": "A great, moving story with brilliant acting.", "output": "positive"},
        {"id": "t2", "input": "Boring, awful and dull.", "output": "negative"},
    ]
    meta = {"name": "tiny", "type": "PromptRetrieval", "main_score": "label_agreement@k"}
    task = load_task(make_task(tmp_path / "prompt_retrieval" / "tiny", meta, {"train.jsonl": pool, "test.jsonl": tests}))
    assert task.name == "prompt_retrieval/tiny"
    result = evaluate_task(model, task)
    assert result.metrics["agreement@1"] == 1.0 and result.metrics["label_agreement@k"] == result.metrics["agreement@8"]
    seen = []

    def scorer(test, demonstrations):  # stands in for a language model: majority label of the demonstrations
        seen.append((test["id"], [d["id"] for d in demonstrations]))
        labels = [d["output"] for d in demonstrations[:3]]
        return float(max(set(labels), key=labels.count) == test["output"])

    metrics = evaluate_prompt_retrieval(task, TextEncoder(model), TaskInstructions(), None, scorer=scorer)
    assert metrics["lm_score"] == 1.0 and seen[0][0] == "t1" and len(seen[0][1]) == 4
