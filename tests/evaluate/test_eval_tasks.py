"""Task folders: discovery of the shared suite, user folders, and clear errors for bad folders and rows."""

from __future__ import annotations

import json

import pytest

from instructembed.errors import InstructEmbedError
from instructembed.evaluate import discover_tasks, load_task
from instructembed.evaluate.task import load_retrieval


def test_discovers_every_shared_task_with_its_type(eval_root):
    tasks = {t.name: t for t in discover_tasks(eval_root)}
    assert {"STS12", "SciFact", "billboard/cnndm", "prompt_retrieval/sst5", "TrecQAReranking"} <= set(tasks)
    assert {t.type for t in tasks.values()} >= {"STS", "Classification", "Clustering", "PairClassification",
                                                "Reranking", "Retrieval", "Summarization", "Billboard", "PromptRetrieval",
                                                "Steering"}
    assert tasks["STS12"].same_as_mteb and tasks["STS12"].main_score == "cosine_spearman"
    assert tasks["AmazonCounterfactualClassification"].split == "test"
    assert load_task("billboard/mscoco", eval_root).type == "Billboard"


def test_retrieval_layout_reads_corpus_queries_and_qrels(eval_root):
    data = load_retrieval(load_task(eval_root / "SciFact"))
    assert len(data.corpus) == 5183 and len(data.queries) == 300
    assert sum(len(d) for d in data.qrels.values()) == 339


def test_user_folder_in_the_same_layout(sts_task):
    task = load_task(sts_task)
    assert task.name == "TinySTS" and len(task.rows()) == 6


def test_missing_file_names_the_task(tmp_path, make_task):
    folder = make_task(tmp_path / "NoRows", {"name": "NoRows", "type": "STS"}, {})
    with pytest.raises(InstructEmbedError, match="task NoRows: missing file"):
        load_task(folder).rows()


@pytest.mark.parametrize("line, message", [
    ('{"sentence1": "a", "sentence2": "b"}', "row 2: missing 'score'"),
    ('{"sentence1": "a", "sentence2": "b", "score": "high"}', "row 2: 'score' has type str"),
    ("not json", "line 2: not JSON"),
])
def test_bad_row_names_task_file_and_row(tmp_path, make_task, line, message):
    good = json.dumps({"sentence1": "a", "sentence2": "b", "score": 1})
    folder = make_task(tmp_path / "Bad", {"name": "Bad", "type": "STS"}, {"test.jsonl": good + "\n" + line + "\n"})
    with pytest.raises(InstructEmbedError, match=f"task Bad: test.jsonl {message}"):
        load_task(folder).rows()


def test_unknown_type_and_unknown_name(tmp_path, make_task):
    folder = make_task(tmp_path / "Odd", {"name": "Odd", "type": "Translation"}, {})
    with pytest.raises(InstructEmbedError, match="task Odd: unknown type 'Translation'"):
        load_task(folder)
    with pytest.raises(InstructEmbedError, match="task Nope: no such task folder"):
        load_task("Nope", tmp_path)


def test_bad_qrels_line(tmp_path, make_task):
    folder = make_task(tmp_path / "R", {"name": "R", "type": "Retrieval"}, {
        "corpus.jsonl": [{"_id": "d1", "text": "x"}],
        "queries.jsonl": [{"_id": "q1", "text": "y"}],
        "qrels/test.tsv": "query-id\tcorpus-id\tscore\nq1\td1\n",
    })
    with pytest.raises(InstructEmbedError, match="task R: qrels/test.tsv line 2"):
        load_retrieval(load_task(folder))
