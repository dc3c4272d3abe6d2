"""Instruction-contrast records: hand-made pools whose right positive and negative are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from instructembed.medi import contrast
from instructembed.medi.contrast import (LabelledText, LabelSource, Pool, PropertyTask, contrast_records, entailment_records,
                                         property_records, read_pool)
from instructembed.medi.records import validate_record

POOL = Pool("toy", "sentiment", (LabelSource("t_reviews", "movie review", {}), LabelSource("t_tweets", "tweet", {})))


def _items():
    # x = (movie review, positive). Candidates: a1/a2 = same source, other sentiment (a1 closer);
    # b1/b2 = other source, same sentiment (b1 closer); c = differs in both (never a candidate); d = same cell
    texts = {
        "x": ("movie review", "positive", [1.0, 0.0, 0.0]),
        "a1": ("movie review", "negative", [0.9, 0.3, 0.0]),
        "a2": ("movie review", "negative", [0.1, 0.9, 0.3]),
        "b1": ("tweet", "positive", [0.95, 0.0, 0.2]),
        "b2": ("tweet", "positive", [0.0, 0.2, 1.0]),
        "c": ("tweet", "negative", [0.99, 0.01, 0.0]),
        "d": ("movie review", "positive", [0.98, 0.0, 0.1]),
    }
    items = [LabelledText(f"text {name}", {"source": s, "sentiment": y}) for name, (s, y, _) in texts.items()]
    vectors = np.array([v for *_, v in texts.values()])
    return items, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_positive_under_one_instruction_is_the_negative_under_the_other():
    items, vectors = _items()
    records = contrast_records(POOL, items, vectors, seed=0, top=1)
    first, second = records[0], records[1]  # the group of anchor x
    assert first["query"][1] == second["query"][1] == "text x"
    assert first["group"] == second["group"] and first["kind"] == second["kind"] == "contrast"
    # asking for the source: the positive shares x's source (a1, the closer one), the negative its sentiment (b1)
    assert (first["pos"][1], first["neg"][1]) == ("text a1", "text b1")
    # asking for the sentiment: the same two texts, roles swapped
    assert (second["pos"][1], second["neg"][1]) == ("text b1", "text a1")
    source_words = {w.split("{")[0] for w in contrast.TRAIN_WORDINGS["source"]}
    assert any(first["query"][0].startswith(w) for w in source_words)
    assert first["query"][0] == first["pos"][0] == first["neg"][0]  # one instruction for the whole record
    assert second["query"][0] != first["query"][0]
    # each record names the asked property's label of its three texts (the trainer's same-label mask)
    assert first["labels"] == ["source=movie review", "source=movie review", "source=tweet"]
    assert second["labels"] == ["sentiment=positive", "sentiment=positive", "sentiment=negative"]
    for i, record in enumerate(records):
        validate_record(record, i)
        # a text that differs from the anchor in both labels, or shares both, is never a candidate
        anchor = next(t for t in items if t.text == record["query"][1])
        for side in ("pos", "neg"):
            other = next(t for t in items if t.text == record[side][1])
            assert (other.labels["source"] == anchor.labels["source"]) != (other.labels["sentiment"] == anchor.labels["sentiment"])


def test_entailment_groups_swap_the_targets():
    records = entailment_records(["A man plays a guitar on stage ."], ["A man makes music ."], ["Nobody is playing ."], 0, 10)
    entail, contradict = records
    assert entail["pos"][1] == contradict["neg"][1] == "A man makes music ."
    assert entail["neg"][1] == contradict["pos"][1] == "Nobody is playing ."
    assert entail["query"][0] in contrast.ENTAIL_WORDINGS and contradict["query"][0] in contrast.CONTRADICT_WORDINGS


def test_read_pool_maps_labels_and_caps_cells(tmp_path):
    def task(name, rows):
        instances = [{"id": str(i), "input": text, "output": [label]} for i, (text, label) in enumerate(rows)]
        (tmp_path / f"{name}.json").write_text(json.dumps({"Instances": instances}))

    task("t_reviews", [(f"Review: a long enough movie review number {i}", "POS" if i % 2 else "NEG") for i in range(10)]
         + [("Review: skipped because its label is unknown", "MIXED")])
    task("t_tweets", [(f"a long enough tweet text number {i}", "happy") for i in range(3)])
    pool = Pool("toy", "sentiment", (
        LabelSource("t_reviews", "movie review", {"POS": "positive", "NEG": "negative", "MIXED": None}),
        LabelSource("t_tweets", "tweet", {"happy": "positive"}),
        LabelSource("t_missing", "poem", {}),
    ))
    items, report = read_pool(pool, tmp_path, max_per_cell=2, seed=0)
    cells = sorted((t.labels["source"], t.labels["sentiment"]) for t in items)
    assert cells == [("movie review", "negative")] * 2 + [("movie review", "positive")] * 2 + [("tweet", "positive")] * 2
    assert all(not t.text.startswith("Review:") for t in items)
    assert "t_missing: task file missing" in report.skipped


def test_property_instruction_must_beat_plain_similarity_and_the_similarity_instruction_keeps_it():
    # x = spam. o1 = not spam and the closest to x (o2, o3 also not spam, farther); s1..s8 spam, in falling similarity
    task = PropertyTask("t_sms", "text message", "spam", {"spam": "spam", "ham": "not spam"})
    names = ["x", "o1", "o2", "o3"] + [f"s{k}" for k in range(1, 9)]
    labels = ["spam", "not spam", "not spam", "not spam"] + ["spam"] * 8
    angles = [0.0, 0.05, 0.6, 0.9] + [0.1 * k for k in range(1, 9)]
    vectors = np.array([[np.cos(a), np.sin(a)] for a in angles])
    items = [LabelledText(f"text {n}", {"source": "text message", "spam": y}) for n, y in zip(names, labels)]
    records = property_records(task, items, vectors, seed=0, top=1)
    asked, similar = records[0], records[1]  # the group of anchor x
    assert asked["query"][1] == similar["query"][1] == "text x" and asked["group"] == similar["group"]
    # the property asked: the positive is a spam text from the middle of x's label by similarity (s3..s6), the
    # negative the most similar text with the other label
    assert asked["pos"][1] in {"text s3", "text s4", "text s5", "text s6"} and asked["neg"][1] == "text o1"
    # similar content asked: the same two texts, roles swapped
    assert (similar["pos"][1], similar["neg"][1]) == (asked["neg"][1], asked["pos"][1])
    assert "spam" in asked["query"][0] and "spam" not in similar["query"][0]
    assert asked["labels"] == ["spam=spam", "spam=spam", "spam=not spam"] and "labels" not in similar
    assert similar["query"][0] in {w.format(type="text message") for w in contrast.SIMILARITY_WORDINGS}
    for i, record in enumerate(records):
        validate_record(record, i)
        assert record["task_id"] == "contrast:property:t" and record["kind"] == "contrast"
    # an anchor whose label has fewer than 4 other texts has no middle to draw from: no group (o1, o2, o3)
    assert {r["query"][1] for r in records} == {f"text {n}" for n in names if n.startswith(("x", "s"))}


def test_property_tasks_read_from_the_shared_train_data(shared_train):
    for task in contrast.PROPERTY_TASKS:
        items, report = read_pool(contrast.property_pool(task), shared_train / "sni", max_per_cell=40, seed=0)
        found = {t.labels[task.property] for t in items}
        assert found == {v for v in task.labels.values() if v}, (task.task, report.skipped)  # every raw label mapped


def test_dev_steering_sources_are_never_training_sources():
    train_tasks = {s.task for pool in contrast.ALL_TRAIN_POOLS for s in pool.sources}
    train_tasks |= {t.task for t in contrast.PROPERTY_TASKS}
    assert not train_tasks & contrast.DEV_TASKS
    train_wordings = {w for ws in contrast.TRAIN_WORDINGS.values() for w in ws}
    assert not set(contrast.DEV_WORDINGS.values()) & train_wordings
    assert "figurative" not in contrast.TRAIN_WORDINGS  # one dev property is never trained on


def test_contrast_pools_are_chosen_by_name_or_property():
    assert contrast.train_pools(None) == contrast.TRAIN_POOLS
    assert contrast.train_pools("all") == contrast.ALL_TRAIN_POOLS
    assert [p.property for p in contrast.train_pools("emotion, source-toxicity,emotion")] == ["emotion", "toxicity"]
    with pytest.raises(ValueError, match="unknown contrast pool 'figurative'"):
        contrast.train_pools("sentiment,figurative")  # a dev property is not a training pool
    for pool in contrast.ALL_TRAIN_POOLS:  # every trained property has its own wordings
        assert len(contrast.TRAIN_WORDINGS[pool.property]) >= 4


def test_every_training_pool_reads_two_sources_with_shared_labels(shared_train):
    for pool in contrast.ALL_TRAIN_POOLS:
        items, report = read_pool(pool, shared_train / "sni", max_per_cell=50, seed=0)
        labels_by_source: dict[str, set[str]] = {}
        for t in items:
            labels_by_source.setdefault(t.labels["source"], set()).add(t.labels[pool.property])
        assert len(labels_by_source) >= 2, (pool.name, report.skipped)
        shared = set.intersection(*labels_by_source.values())
        assert len(shared) >= 2, (pool.name, labels_by_source)  # the property varies within every source
