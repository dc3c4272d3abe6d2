"""The instruction template, its grammar, the reviewed instruction file and user overrides."""

from __future__ import annotations

import json
import re

import pytest

from instructembed.errors import InstructEmbedError
from instructembed.medi.derive import derive_pair_instruction, derive_sni_instruction
from instructembed.medi.instruction import Instruction, pluralize
from instructembed.medi.instruction_file import REVIEWED_FILE, load_instruction_file, resolve_instructions
from instructembed.medi.sources import SniTask


def test_template_with_and_without_parts():
    assert Instruction("question", "Wikipedia", "retrieving supporting documents").render() == \
        "Represent the Wikipedia question for retrieving supporting documents: "
    assert Instruction("sentence").render() == "Represent the sentence: "
    assert Instruction("title", objective="classification").render() == "Represent the title for classification: "


def test_domain_already_in_text_type_is_not_repeated():
    text = Instruction("English Wikipedia sentence", domain="Wikipedia", objective="retrieval").render()
    assert text == "Represent the English Wikipedia sentence for retrieval: "
    assert Instruction("image caption (same image)", domain="image captions").render() == "Represent the image caption: "
    assert Instruction("paper title", domain="scientific papers (mixed fields)").render() == "Represent the scientific paper title: "
    assert Instruction("article", domain="news").render() == "Represent the news article: "
    assert Instruction("review", domain="Movies").render() == "Represent the Movie review: "


@pytest.mark.parametrize("singular, plural", [
    ("entailed hypothesis", "entailed hypotheses"), ("search query", "search queries"), ("sentence", "sentences"),
    ("box", "boxes"), ("day", "days"), ("news", "news"), ("Python code", "Python code"), ("match", "matches"),
])
def test_plurals(singular, plural):
    assert pluralize(singular) == plural
    assert Instruction(singular, plural=True).render() == f"Represent the {plural}: "


def test_parenthetical_notes_are_dropped():
    assert Instruction("premise sentence (image caption)", objective="retrieval").render() == \
        "Represent the premise sentence for retrieval: "


def test_derived_drafts_are_grammatical():
    task = SniTask("t", "Checking whether the given sentence contains answer to the given question.", ["Answerability Classification"],
                   ["Wikipedia"], ["Sentence: a b c\nQuestion: d e?"] * 4, ["yes"] * 4)
    draft = derive_sni_instruction(task)
    assert draft["query"] == draft["doc"]
    assert draft["query"] == ("Represent the Wikipedia sentence and question for checking whether the sentence "
                              "contains answer to the question: ")
    pair = derive_pair_instruction({"query_type": "English Wikipedia sentence", "doc_type": "aligned sentence",
                                    "domain": "Wikipedia", "symmetric": True})
    assert pair["query"] == pair["doc"] == \
        "Represent the English Wikipedia sentence for retrieving semantically similar English Wikipedia sentences: "
    asym = derive_pair_instruction({"query_type": "premise sentence (image caption)", "doc_type": "entailed hypothesis",
                                    "domain": "image captions", "symmetric": False})
    assert asym["query"] != asym["doc"]


def test_reviewed_file_is_complete_and_clean():
    table = load_instruction_file(REVIEWED_FILE)
    assert len(table) >= 250
    for task_id, entry in table.items():
        for side in ("query", "doc"):
            text = entry[side]
            assert text.startswith("Represent the ") and text.endswith(": "), (task_id, text)
            words = re.findall(r"\w+", text.lower())
            assert not any(a == b for a, b in zip(words, words[1:])), f"doubled word in {task_id}: {text}"
            assert "hypothesiss" not in text and "the given" not in text and "  " not in text, (task_id, text)
        assert entry["reviewed"] is True, task_id
        if task_id.startswith("task"):
            assert entry["query"] == entry["doc"], task_id  # Super-NI records pair inputs with inputs
    asymmetric = [t for t, e in table.items() if e["query"] != e["doc"]]
    assert {"nq_open", "qnli_squad", "xsum_summaries"} <= set(asymmetric)


def test_user_overrides_replace_reviewed_entries(tmp_path):
    override = tmp_path / "mine.json"
    override.write_text(json.dumps({"nq_open": {"query": "Represent the trivia question for retrieving its answer: ",
                                                "doc": "Represent the answer for retrieval: "},
                                    "task_x": "Represent the text for testing: "}), encoding="utf-8")
    table = resolve_instructions(override)
    assert table["nq_open"]["query"] == "Represent the trivia question for retrieving its answer: "
    assert table["task_x"]["query"] == table["task_x"]["doc"] == "Represent the text for testing: "
    assert table["altlex"]["reviewed"] is True  # untouched entries stay


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "expected an object"), ("{", "not valid JSON"), ('{"t": {"query": ""}}', "'query' must be a non-empty string"),
    ('{"t": 5}', "expected an object or a string"),
])
def test_bad_instruction_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InstructEmbedError, match=re.escape(message)):
        load_instruction_file(path)
