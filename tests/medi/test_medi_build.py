"""End-to-end builds on hand-made tasks whose right positive and negative are known, bad inputs, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from instructembed.errors import InstructEmbedError
from instructembed.medi.build import BuildConfig, MediBuilder, choose_dev_tasks
from instructembed.medi.mining import text_output_scores
from instructembed.medi.records import read_records
from instructembed.medi.report import write_report

from medi_task_files import write_pair_dataset, write_sni_task

SENTIMENT = [
    ("I loved the movie, the acting was wonderful.", "positive"),
    ("The movie was wonderful and I loved the acting.", "positive"),
    ("I hated the movie, the acting was terrible.", "negative"),
    ("The food at this restaurant was delicious.", "positive"),
    ("This restaurant serves delicious food.", "positive"),
    ("The food at this restaurant was disgusting.", "negative"),
    ("The hotel room was clean and comfortable.", "positive"),
    ("Our hotel room was comfortable and very clean.", "positive"),
    ("The hotel room was dirty and uncomfortable.", "negative"),
    ("The customer service was rude and slow.", "negative"),
    ("Customer service was slow and rude to us.", "negative"),
    ("The customer service was friendly and quick.", "positive"),
]
# anchor -> (positive, negative): the paraphrase with the same label, the contrast with the other label
SENTIMENT_EXPECTED = {0: (1, 2), 3: (4, 5), 6: (7, 8), 9: (10, 11)}

QA = [
    ("What is the capital of France?", "Paris"),
    ("Which city is the capital of France?", "Paris"),
    ("What is the capital of Germany?", "Berlin"),
    ("How many legs does a spider have?", "eight"),
    ("How many legs do spiders have?", "eight legs"),
    ("How many legs does a dog have?", "four"),
    ("Who wrote Romeo and Juliet?", "Shakespeare"),
    ("Romeo and Juliet was written by whom?", "William Shakespeare"),
    ("Who wrote Pride and Prejudice?", "Jane Austen"),
]
# similar input and output -> positive; similar input, different output -> hard negative
QA_EXPECTED = {0: (1, 2), 3: (4, 5), 6: (7, 8)}

PAIRS = [
    {"query": "who wrote hamlet", "pos": "William Shakespeare wrote the play Hamlet."},
    {"query": "what is the boiling point of water", "pos": "Water boils at 100 degrees Celsius at sea level."},
    {"query": "who painted the mona lisa", "pos": "Leonardo da Vinci painted the Mona Lisa."},
    {"query": "at what temperature does water freeze", "pos": "Water freezes at 0 degrees Celsius."},
    {"query": "who wrote macbeth", "pos": "Macbeth is a tragedy by Shakespeare.", "neg": "Macbeth is a city in Texas."},
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("medi_inputs")
    sni, pairs = root / "sni", root / "pairs"
    write_sni_task(sni, "task_sentiment", SENTIMENT, definition="Classifying the sentiment of a review.",
                   categories=["Sentiment Analysis"], domains=["Reviews"])
    write_sni_task(sni, "task_qa", QA, definition="Answering a trivia question.", categories=["Question Answering"],
                   domains=["Wikipedia"])
    # bad inputs: each must be skipped with its reason, never crash the build
    (sni / "task_malformed.json").write_text("{not json", encoding="utf-8")
    (sni / "task_no_instances.json").write_text(json.dumps({"Definition": ["x"], "Instances": "none"}), encoding="utf-8")
    write_sni_task(sni, "task_single", [("Only one instance here.", "yes")])
    dup = write_sni_task(sni, "task_duplicates", QA)
    data = json.loads(dup.read_text())
    data["Instances"][1]["id"] = data["Instances"][0]["id"]
    data["Instances"][2]["input"] = "x" * 7000
    dup.write_text(json.dumps(data))
    write_pair_dataset(pairs, "trivia", PAIRS)
    (pairs / "broken").mkdir()
    (pairs / "broken" / "meta.json").write_text("{}", encoding="utf-8")
    return sni, pairs


def build(inputs, out: Path, session_cache: Path, **kwargs) -> dict:
    sni, pairs = inputs
    config = BuildConfig(output=out, sni_dir=sni, pairs_dir=pairs, cache_dir=session_cache, dev_tasks_fraction=0.0,
                         reviewed_instructions=None, show_progress=False, **kwargs)
    report = MediBuilder(config).run()
    write_report(report, config.report_stem)
    return report


@pytest.fixture(scope="module")
def first_build(inputs, tmp_path_factory, session_cache, embedder):
    out = tmp_path_factory.mktemp("build1") / "medi.jsonl"
    return out, build(inputs, out, session_cache)


def check_anchor(records: dict[str, dict], texts: list[str], anchor: int, pos: int, neg: int) -> None:
    """The anchor's record has the expected positive and negative, unless dedup kept its reverse (pos -> anchor)."""
    record = records.get(texts[anchor])
    if record is None:
        assert records[texts[pos]]["pos"][1] == texts[anchor]
        return
    assert record["pos"][1] == texts[pos]
    assert record["neg"][1] == texts[neg]


def by_task(path: Path) -> dict[str, list[dict]]:
    tasks: dict[str, list[dict]] = {}
    for record in read_records(path):
        tasks.setdefault(record["task_id"], []).append(record)
    return tasks


def test_classification_task_mines_the_known_positive_and_negative(first_build):
    out, report = first_build
    task = next(t for t in report["tasks"] if t["task_id"] == "task_sentiment")
    assert task["kind"] == "classification" and task["distinct_outputs"] == 2
    records = {r["query"][1]: r for r in by_task(out)["task_sentiment"]}
    for anchor, (pos, neg) in SENTIMENT_EXPECTED.items():
        check_anchor(records, [t for t, _ in SENTIMENT], anchor, pos, neg)
    label = dict(SENTIMENT)
    for record in records.values():
        assert label[record["pos"][1]] == label[record["query"][1]] != label[record["neg"][1]]


def test_text_output_task_applies_both_formulas(first_build, embedder):
    out, report = first_build
    task = next(t for t in report["tasks"] if t["task_id"] == "task_qa")
    assert task["kind"] == "text-output"
    records = {r["query"][1]: r for r in by_task(out)["task_qa"]}
    inputs = [q for q, _ in QA]
    for anchor, (pos, neg) in QA_EXPECTED.items():
        check_anchor(records, inputs, anchor, pos, neg)
    # every record: pos = argmax s_pos, neg = argmax s_neg over j not in {i, pos}, recomputed from the embeddings
    x, y = embedder.embed(inputs), embedder.embed([a for _, a in QA])
    s_pos, s_neg = text_output_scores(x, y)
    for query, record in records.items():
        i, p, n = inputs.index(query), inputs.index(record["pos"][1]), inputs.index(record["neg"][1])
        assert p == max((j for j in range(len(QA)) if j != i), key=lambda j: s_pos[i, j])
        assert n == max((j for j in range(len(QA)) if j not in (i, p)), key=lambda j: s_neg[i, j])


def test_pair_dataset_uses_given_negative_else_most_similar_other_document(first_build):
    out, report = first_build
    records = {r["query"][1]: r for r in by_task(out)["trivia"]}
    assert records["who wrote macbeth"]["neg"][1] == "Macbeth is a city in Texas."
    assert records["what is the boiling point of water"]["neg"][1] == "Water freezes at 0 degrees Celsius."
    assert records["at what temperature does water freeze"]["neg"][1] == "Water boils at 100 degrees Celsius at sea level."
    task = next(t for t in report["tasks"] if t["task_id"] == "trivia")
    assert (task["given_negatives"], task["mined_negatives"], task["hard_negative_share"]) == (1, 4, 1.0)
    assert task["query_instruction"] != task["doc_instruction"]  # asymmetric dataset: two sides


def test_bad_inputs_are_skipped_with_reasons(first_build):
    out, report = first_build
    tasks = {t["task_id"]: t for t in report["tasks"]}
    assert tasks["task_malformed"]["skipped_task"].startswith("malformed task file")
    assert tasks["task_no_instances"]["skipped_task"] == "malformed task file: no 'Instances' list"
    assert tasks["task_single"]["skipped_task"] == "fewer than 2 usable instances (1)"
    assert tasks["broken"]["skipped_task"] == "no train.jsonl"
    assert tasks["task_duplicates"]["skipped"]["duplicate instance id"] == 1
    assert tasks["task_duplicates"]["skipped"]["text over 6000 characters"] == 1
    assert tasks["task_duplicates"]["records"] > 0
    md = out.with_name("medi.report.md").read_text(encoding="utf-8")
    assert "task skipped: fewer than 2 usable instances" in md and "| task_sentiment |" in md


def test_same_seed_same_bytes_and_cache_is_reused(inputs, first_build, tmp_path, session_cache):
    out, _ = first_build
    again = build(inputs, tmp_path / "again.jsonl", session_cache)
    assert (tmp_path / "again.jsonl").read_bytes() == out.read_bytes()
    assert (tmp_path / "again.dev.jsonl").read_bytes() == out.with_name("medi.dev.jsonl").read_bytes()
    assert again["summary"]["cache_misses"] == 0 and again["summary"]["texts_embedded"] == 0
    capped = [build(inputs, tmp_path / f"seed{s}.jsonl", session_cache, seed=s, sni_max_per_task=3,
                    classification_max_per_task=3) for s in (0, 1)]
    assert all(next(t for t in r["tasks"] if t["task_id"] == "task_qa")["records"] == 3 for r in capped)
    assert (tmp_path / "seed0.jsonl").read_bytes() != (tmp_path / "seed1.jsonl").read_bytes()


def test_dev_split_holds_out_whole_tasks(inputs, tmp_path, session_cache, embedder):
    sni, pairs = inputs
    config = BuildConfig(output=tmp_path / "m.jsonl", sni_dir=sni, pairs_dir=pairs, cache_dir=session_cache,
                         dev_tasks_fraction=0.3, seed=3, reviewed_instructions=None, show_progress=False)
    report = MediBuilder(config).run()
    train = {r["task_id"] for r in read_records(tmp_path / "m.jsonl")}
    dev = {r["task_id"] for r in read_records(tmp_path / "m.dev.jsonl")}
    assert dev and train and not dev & train
    assert dev == set(report["summary"]["dev_tasks"])


def test_choose_dev_tasks_is_deterministic_and_sized():
    ids = [f"t{i}" for i in range(40)]
    assert choose_dev_tasks(ids, 0.1, 0, "sni") == choose_dev_tasks(list(reversed(ids)), 0.1, 0, "sni")
    assert len(choose_dev_tasks(ids, 0.1, 0, "sni")) == 4
    assert len(choose_dev_tasks(ids[:3], 0.1, 0, "pairs")) == 1
    assert choose_dev_tasks(ids, 0.0, 0, "sni") == set()


def test_setup_errors_are_clear(tmp_path):
    with pytest.raises(InstructEmbedError, match="give --sni and/or --pairs"):
        MediBuilder(BuildConfig(output=tmp_path / "m.jsonl"))
    with pytest.raises(InstructEmbedError, match="--sni folder not found"):
        MediBuilder(BuildConfig(output=tmp_path / "m.jsonl", sni_dir=tmp_path / "nope"))
    with pytest.raises(InstructEmbedError, match="--dev-tasks-fraction"):
        MediBuilder(BuildConfig(output=tmp_path / "m.jsonl", pairs_dir=tmp_path, dev_tasks_fraction=1.5))


def test_cached_embeddings_match_a_fresh_encode(embedder):
    texts = ["A man plays the guitar.", "The stock market fell."]
    cached = embedder.embed(texts)
    fresh = embedder.model.encode(texts, normalize_embeddings=True)
    assert np.abs(cached - fresh).max() < 2e-3  # float16 storage


def test_mining_real_embeddings_finds_every_known_pair(embedder):
    from instructembed.medi.mining import mine_classification, mine_text_output

    pos, neg = mine_classification(embedder.embed([t for t, _ in SENTIMENT]), [label for _, label in SENTIMENT])
    assert {a: (int(pos[a]), int(neg[a])) for a in SENTIMENT_EXPECTED} == SENTIMENT_EXPECTED
    pos, neg = mine_text_output(embedder.embed([q for q, _ in QA]), embedder.embed([a for _, a in QA]))
    assert {a: (int(pos[a]), int(neg[a])) for a in QA_EXPECTED} == QA_EXPECTED


def test_user_instruction_file_overrides_through_the_build(inputs, tmp_path, session_cache, embedder):
    override = tmp_path / "mine.json"
    override.write_text(json.dumps({"trivia": {"query": "Represent the trivia question for retrieving its answer: ",
                                               "doc": "Represent the trivia answer for retrieval: "}}), encoding="utf-8")
    report = build(inputs, tmp_path / "m.jsonl", session_cache, instructions=override)
    trivia = next(t for t in report["tasks"] if t["task_id"] == "trivia")
    assert trivia["instruction_source"] == str(override)
    records = by_task(tmp_path / "m.jsonl")
    assert {r["query"][0] for r in records["trivia"]} == {"Represent the trivia question for retrieving its answer: "}
    assert {r["neg"][0] for r in records["trivia"]} == {"Represent the trivia answer for retrieval: "}
    sentiment = next(t for t in report["tasks"] if t["task_id"] == "task_sentiment")
    assert sentiment["instruction_source"].startswith("derived")  # in neither file: the draft
    assert sentiment["query_instruction"] == "Represent the review for classifying the sentiment of a review: "


def test_unloadable_embedder_stops_the_build_with_one_line(inputs, tmp_path):
    sni, pairs = inputs
    config = BuildConfig(output=tmp_path / "m.jsonl", sni_dir=sni, pairs_dir=pairs, cache_dir=tmp_path / "cache",
                         embedder=str(tmp_path / "no-such-model"), reviewed_instructions=None, show_progress=False)
    with pytest.raises(InstructEmbedError, match="embedder|model"):
        MediBuilder(config).run()
    assert not (tmp_path / "m.jsonl").exists()


def test_held_out_pair_dataset_becomes_a_dev_retrieval_task(inputs, tmp_path, session_cache, embedder):
    from instructembed.evaluate.task import load_retrieval, load_task

    sni, pairs = inputs
    config = BuildConfig(output=tmp_path / "m.jsonl", sni_dir=sni, pairs_dir=pairs, cache_dir=session_cache,
                         dev_tasks_fraction=0.1, reviewed_instructions=None, show_progress=False)
    report = MediBuilder(config).run()
    assert "trivia" in report["summary"]["dev_tasks"]  # the only pair dataset is always the pairs' dev task
    assert report["summary"]["dev_retrieval"]["tasks"] == ["DevTriviaRetrieval"]
    task = load_task(tmp_path / "m.retrieval" / "DevTriviaRetrieval")
    data = load_retrieval(task)
    assert task.type == "Retrieval" and len(data.queries) == len(PAIRS)
    for query_id, text in data.queries.items():
        row = next(p for p in PAIRS if p["query"] == text)
        (relevant,) = data.qrels[query_id]
        assert data.corpus[relevant] == row["pos"]
    assert "Macbeth is a city in Texas." in data.corpus.values()  # hard negatives join the corpus
    instructions = json.loads((tmp_path / "m.retrieval" / "instructions.json").read_text())
    assert set(instructions["DevTriviaRetrieval"]) == {"query", "corpus"}
