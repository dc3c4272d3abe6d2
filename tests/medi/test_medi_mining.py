"""Mining on hand-made vectors whose right answers are known, and the two text-output formulas checked exactly."""

from __future__ import annotations

import numpy as np

from instructembed.medi.mining import (NONE, decide_kind, mine_classification, mine_pair_negatives, mine_text_output,
                                       positional_labels, text_output_scores)


def unit(*rows):
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_classification_positive_same_label_negative_closest_other_label():
    x = unit([1, 0, 0], [0.9, 0.1, 0], [0.95, 0.05, 0.05], [0, 1, 0], [0.2, 1, 0])
    labels = ["a", "a", "b", "b", "a"]
    pos, neg = mine_classification(x, labels)
    # row 0: same label {1, 4} -> 1 is closer; other label {2, 3} -> 2 (nearly identical, different label)
    assert (pos[0], neg[0]) == (1, 2)
    assert (pos[2], neg[2]) == (3, 0)
    assert (pos[3], neg[3]) == (2, 4)
    assert all(labels[p] == labels[i] and p != i for i, p in enumerate(pos))
    assert all(labels[n] != labels[i] for i, n in enumerate(neg))


def test_classification_without_partner_or_other_label_gives_none():
    x = unit([1, 0], [0, 1], [1, 1])
    pos, neg = mine_classification(x, ["a", "b", "b"])
    assert pos[0] == NONE and neg[0] in (1, 2)
    pos, neg = mine_classification(x, ["a", "a", "a"])
    assert (neg == NONE).all()


def test_text_output_formulas_exactly():
    rng = np.random.default_rng(0)
    x = unit(*rng.normal(size=(7, 5)))
    y = unit(*rng.normal(size=(7, 5)))
    s_pos, s_neg = text_output_scores(x, y)
    pos, neg = mine_text_output(x, y)
    for i in range(7):
        for j in range(7):
            cx, cy = float(x[i] @ x[j]), float(y[i] @ y[j])
            assert abs(s_pos[i, j] - (cx + cy)) < 1e-6
            assert abs(s_neg[i, j] - (cx - cy)) < 1e-6
        brute_pos = max((j for j in range(7) if j != i), key=lambda j: float(x[i] @ x[j]) + float(y[i] @ y[j]))
        brute_neg = max((j for j in range(7) if j not in (i, brute_pos)), key=lambda j: float(x[i] @ x[j]) - float(y[i] @ y[j]))
        assert (pos[i], neg[i]) == (brute_pos, brute_neg)


def test_text_output_known_answer():
    # inputs 0 and 1 alike with alike outputs -> positives of each other; input 2 alike but its output differs -> negative
    x = unit([1, 0, 0], [0.95, 0.05, 0], [0.97, 0, 0.03], [0, 0, 1])
    y = unit([1, 0], [0.9, 0.1], [0, 1], [0.5, 0.5])
    pos, neg = mine_text_output(x, y)
    assert (pos[0], neg[0]) == (1, 2)
    assert pos[1] == 0 and neg[1] == 2


def test_pair_negative_is_most_similar_other_document_with_guard_and_exclusions():
    q = unit([1, 0, 0], [0, 1, 0])
    docs = unit([1, 0.1, 0], [1, 0.05, 0], [0.8, 0.6, 0], [0, 1, 0.1], [0.3, 1, 0])
    pos_doc = np.array([0, 3])
    # without guard: query 0's most similar non-positive doc is 1 (scores above its positive: a likely false negative)
    plain = mine_pair_negatives(q, docs, pos_doc, [set(), set()], margin=None)
    assert list(plain) == [1, 4]
    guarded = mine_pair_negatives(q, docs, pos_doc, [set(), set()], margin=0.95)
    assert guarded[0] == 2  # doc 1 scores >= 0.95 * cos(q0, d0) and is skipped
    excluded = mine_pair_negatives(q, docs, pos_doc, [{1, 2}, {4}], margin=None)
    assert excluded[0] == 4 and excluded[1] == 2
    assert list(mine_pair_negatives(q[:1], docs[:1], np.array([0]), [set()])) == [NONE]


def test_decide_kind_from_the_data():
    assert decide_kind(["yes", "no"] * 20) == ("classification", 2)
    assert decide_kind(["Yes.", "yes", "NO"] * 5) == ("classification", 2)
    assert decide_kind([f"answer {i}" for i in range(40)]) == ("text-output", 40)
    assert decide_kind(["a", "b", "c", "d"] * 3)[0] == "text-output"  # 3 instances a label: too few
    assert decide_kind([str(i % 25) for i in range(500)])[0] == "text-output"  # more than 20 labels


def test_positional_labels():
    assert positional_labels({"a", "b"}) and positional_labels({"option 1", "option 2"})
    assert positional_labels({"completion a", "completion b"}) and positional_labels({"1", "2"})
    assert not positional_labels({"0", "1"}) and not positional_labels({"yes", "no"})
    assert not positional_labels({"answer: (a) user", "answer: (b) system"})
