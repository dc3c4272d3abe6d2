"""Instruction sets: the paper's default, files, the no-instruction mode and the clustering 256-token rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from instructembed.errors import InstructEmbedError
from instructembed.evaluate import InstructionSet, evaluate_task, load_task
from instructembed.evaluate.clustering import clustering_instructions
from instructembed.evaluate.text_encoder import TextEncoder
from instructembed.shared_data import instructions_dir


@pytest.fixture(scope="module")
def default_set():
    if not (instructions_dir() / "mteb_instructions.json").is_file():
        pytest.skip("shared instructions not found")
    return InstructionSet.default()


def test_default_set_merges_paper_extra_billboard_and_prompt_retrieval(default_set):
    assert default_set.for_task("STS12").query == "Represent the statement: "
    scifact = default_set.for_task("SciFact")
    assert scifact.query.startswith("Represent a Scientific query") and scifact.corpus.startswith("represent the Scientific passage")
    assert default_set.for_task("TRECClassification").query == "Represent the question for classifying the type of its answer: "
    assert default_set.for_task("billboard/mscoco").query == "Represent the caption: "  # instructor-large's
    assert default_set.for_task("prompt_retrieval/sst5").query == "Represent an emotion sentence; Input: "
    assert default_set.for_task("NoSuchTask").query is None


def test_file_format_and_errors(tmp_path):
    good = tmp_path / "i.json"
    good.write_text(json.dumps({"_note": "x", "A": "Represent A: ", "B": {"query": "q: ", "corpus": "c: "}}))
    s = InstructionSet.from_file(good)
    assert s.for_task("A").corpus == "Represent A: " and s.for_task("B").corpus == "c: " and len(s) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"A": 3}))
    with pytest.raises(InstructEmbedError, match="entry 'A' must be a string"):
        InstructionSet.from_file(bad)
    with pytest.raises(InstructEmbedError, match="cannot read instructions file"):
        InstructionSet.from_file(tmp_path / "missing.json")


def test_instruction_changes_the_score_and_none_equals_plain_encoding(model, sts_task):
    task = load_task(sts_task)
    plain = evaluate_task(model, task)
    instructed = evaluate_task(model, task, {"TinySTS": "Represent the sentence for classifying its sentiment: "})
    assert plain.instructions == {"query": None, "corpus": None}
    assert instructed.instructions["query"].startswith("Represent the sentence")
    assert plain.metrics["cosine_pearson"] != pytest.approx(instructed.metrics["cosine_pearson"], abs=1e-6)
    rows = task.rows()
    e1 = model.encode([r["sentence1"] for r in rows])
    e2 = model.encode([r["sentence2"] for r in rows])
    cos = (e1 * e2).sum(1) / np.linalg.norm(e1, axis=1) / np.linalg.norm(e2, axis=1)
    assert plain.metrics["cosine_pearson"] == pytest.approx(np.corrcoef(cos, [r["score"] for r in rows])[0, 1], abs=1e-6)


def test_clustering_drops_instruction_past_256_tokens(model):
    encoder = TextEncoder(model)
    short, long = "a short title", " ".join(["word"] * 300)
    assert clustering_instructions(encoder, [short, long], "Represent the title: ") == ["Represent the title: ", None]
    assert clustering_instructions(encoder, [short], None) == [None]
