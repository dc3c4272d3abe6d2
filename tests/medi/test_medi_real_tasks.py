"""Builds over small real tasks from the shared training data: kinds, label agreement, formulas, instructions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructembed.medi.build import BuildConfig, MediBuilder
from instructembed.medi.instruction_file import REVIEWED_FILE, load_instruction_file
from instructembed.medi.mining import normalize_label, text_output_scores
from instructembed.medi.records import read_records

SNI_TASKS = ["task003_mctaco_question_generation_event_duration", "task1152_bard_analogical_reasoning_causation",
             "task321_stereoset_classification_religion", "task909_dialogre_prevalent_speakers"]
PAIR_SETS = ["snli_contradiction"]
MINED_SET, MINED_ROWS = "nq_open", 300  # the first rows of a real dataset without given negatives


@pytest.fixture(scope="module")
def real_build(shared_train, tmp_path_factory, session_cache, embedder):
    root = tmp_path_factory.mktemp("real")
    (root / "sni").mkdir()
    (root / "pairs").mkdir()
    for task in SNI_TASKS:
        (root / "sni" / f"{task}.json").symlink_to(shared_train / "sni" / f"{task}.json")
    for name in PAIR_SETS:
        (root / "pairs" / name).symlink_to(shared_train / "pairs" / name)
    small = root / "pairs" / MINED_SET
    small.mkdir()
    (small / "meta.json").symlink_to(shared_train / "pairs" / MINED_SET / "meta.json")
    with (shared_train / "pairs" / MINED_SET / "train.jsonl").open(encoding="utf-8") as rows:
        (small / "train.jsonl").write_text("".join(next(rows) for _ in range(MINED_ROWS)), encoding="utf-8")
    config = BuildConfig(output=root / "medi.jsonl", sni_dir=root / "sni", pairs_dir=root / "pairs",
                         cache_dir=session_cache, dev_tasks_fraction=0.0, show_progress=False)
    report = MediBuilder(config).run()
    records: dict[str, list[dict]] = {}
    for record in read_records(config.output):
        records.setdefault(record["task_id"], []).append(record)
    return report, records, shared_train


def instances(shared_train: Path, task: str) -> dict[str, str]:
    data = json.loads((shared_train / "sni" / f"{task}.json").read_text(encoding="utf-8"))
    return {i["input"].strip(): i["output"][0] for i in data["Instances"]}


def test_kinds_are_decided_from_the_data(real_build):
    report, records, _ = real_build
    tasks = {t["task_id"]: t for t in report["tasks"]}
    assert tasks[SNI_TASKS[0]]["kind"] == "text-output"
    assert tasks[SNI_TASKS[1]]["kind"] == "classification" and tasks[SNI_TASKS[1]]["distinct_outputs"] == 15
    assert tasks[SNI_TASKS[2]]["kind"] == "classification" and tasks[SNI_TASKS[2]]["distinct_outputs"] == 3
    assert tasks[SNI_TASKS[3]]["skipped_task"].startswith("positional labels (1, 2, 3, 4)")
    assert tasks[SNI_TASKS[1]]["records"] == 50 and tasks[SNI_TASKS[0]]["records"] <= 53


def test_classification_records_agree_with_labels(real_build):
    _, records, shared_train = real_build
    for task in SNI_TASKS[1:3]:
        label = {k: normalize_label(v) for k, v in instances(shared_train, task).items()}
        for record in records[task]:
            assert label[record["pos"][1]] == label[record["query"][1]] != label[record["neg"][1]]


def test_text_output_records_follow_the_formulas(real_build, embedder):
    _, records, shared_train = real_build
    pairs = instances(shared_train, SNI_TASKS[0])
    inputs, outputs = list(pairs), list(pairs.values())
    s_pos, s_neg = text_output_scores(embedder.embed(inputs), embedder.embed(outputs))
    index = {text: i for i, text in enumerate(inputs)}
    for record in records[SNI_TASKS[0]]:
        i, p, n = index[record["query"][1]], index[record["pos"][1]], index[record["neg"][1]]
        assert p == max((j for j in range(len(inputs)) if j != i), key=lambda j: s_pos[i, j])
        assert n == max((j for j in range(len(inputs)) if j not in (i, p)), key=lambda j: s_neg[i, j])


def test_pair_datasets_keep_given_negatives_and_reviewed_instructions(real_build):
    report, records, shared_train = real_build
    reviewed = load_instruction_file(REVIEWED_FILE)
    rows = [json.loads(line) for line in (shared_train / "pairs" / "snli_contradiction" / "train.jsonl").open()]
    given = {(r["query"], r["pos"]): r["neg"] for r in rows}
    for record in records["snli_contradiction"]:
        assert given[(record["query"][1], record["pos"][1])] == record["neg"][1]
        assert record["query"][0] == reviewed["snli_contradiction"]["query"]
        assert record["pos"][0] == record["neg"][0] == reviewed["snli_contradiction"]["doc"]
    mined = next(t for t in report["tasks"] if t["task_id"] == MINED_SET)
    assert mined["mined_negatives"] == mined["records"] == MINED_ROWS
    assert mined["mean_cos_neg"] < mined["mean_cos_pos"]
    positives_of: dict[str, set[str]] = {}
    for record in records[MINED_SET]:
        positives_of.setdefault(record["query"][1], set()).add(record["pos"][1])
    for record in records[MINED_SET]:
        assert record["neg"][1] not in positives_of[record["query"][1]]
