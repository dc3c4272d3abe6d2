"""Each metric against values worked out by hand on tiny cases (ties and empty relevance sets included)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from instructembed.evaluate.billboard import billboard_metrics, max_reference_cosine
from instructembed.evaluate.classification import experiment_selections, prediction_metrics, undersample
from instructembed.evaluate.clustering import cluster_v_measure, clustering_metrics
from instructembed.evaluate.pair_classification import best_accuracy, best_f1, pair_classification_metrics
from instructembed.evaluate.prompt_retrieval import agreement_metrics, output_template, select_demonstrations
from instructembed.evaluate.reranking import reranking_metrics
from instructembed.evaluate.retrieval import retrieval_metrics, search
from instructembed.evaluate.sts import sts_metrics
from instructembed.evaluate.summarization import summarization_metrics


def unit(angle_deg: float) -> list[float]:
    a = math.radians(angle_deg)
    return [math.cos(a), math.sin(a)]


def test_sts_spearman_and_pearson_by_hand():
    # cosines of the pairs: cos 0 = 1, cos 60 = 0.5, cos 90 = 0
    e1 = np.array([unit(0), unit(0), unit(0)])
    e2 = np.array([unit(0), unit(60), unit(90)])
    m = sts_metrics(e1, e2, [1.0, 0.6, 0.1])
    assert m["cosine_spearman"] == pytest.approx(1.0)
    # pearson of (1, .5, 0) with (1, .6, .1): both are evenly spaced up to .5 vs .4 and .5 -> r = 0.9934
    x, y = np.array([1, 0.5, 0]), np.array([1, 0.6, 0.1])
    expected = ((x - x.mean()) @ (y - y.mean())) / np.sqrt(((x - x.mean()) ** 2).sum() * ((y - y.mean()) ** 2).sum())
    assert m["cosine_pearson"] == pytest.approx(expected)
    reversed_gold = sts_metrics(e1, e2, [0.1, 0.6, 1.0])
    assert reversed_gold["cosine_spearman"] == pytest.approx(-1.0)


def test_sts_with_tied_gold_scores():
    e1 = np.array([unit(0)] * 4)
    e2 = np.array([unit(0), unit(30), unit(60), unit(90)])
    # gold ranks with a tie: (4, 2.5, 2.5, 1); prediction ranks (4, 3, 2, 1)
    m = sts_metrics(e1, e2, [3.0, 2.0, 2.0, 1.0])
    a, b = np.array([4, 2.5, 2.5, 1]), np.array([4, 3, 2, 1])
    rho = ((a - a.mean()) @ (b - b.mean())) / np.sqrt(((a - a.mean()) ** 2).sum() * ((b - b.mean()) ** 2).sum())
    assert m["cosine_spearman"] == pytest.approx(rho)


def test_pair_threshold_search_never_splits_ties():
    labels = np.array([1, 0, 1, 0])
    # sorted high->low: 0.9(1) 0.5(0) 0.5(1) 0.1(0): the tie at 0.5 cannot be split
    acc, threshold = best_accuracy([0.9, 0.5, 0.5, 0.1], labels, True)
    # cut after 0.9: 1 positive + 2 negatives below = 3/4; cut after the tie: 2 + 1 = 3/4 (not better)
    assert acc == pytest.approx(0.75) and threshold == pytest.approx(0.7)
    f1, precision, recall, _ = best_f1([0.9, 0.5, 0.5, 0.1], labels, True)
    # cut after 0.9: p=1, r=.5, f1=.667; after tie: p=2/3, r=1, f1=.8
    assert (f1, precision, recall) == pytest.approx((0.8, 2 / 3, 1.0))


def test_pair_classification_ap_by_hand():
    e1 = np.array([unit(0)] * 4)
    e2 = np.array([unit(10), unit(40), unit(70), unit(100)])  # cosines strictly decreasing
    m = pair_classification_metrics(e1, e2, [1, 0, 1, 0])
    # ranking 1,0,1,0 -> AP = (1/1 + 2/3) / 2
    assert m["cosine_ap"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["max_ap"] >= m["cosine_ap"]
    assert m["cosine_accuracy"] == pytest.approx(0.75)


def test_undersample_follows_mteb_random_state_protocol():
    labels = ["a", "b"] * 5
    idxs, selected = undersample(labels, 2, 42, None)
    expected = list(range(10))
    np.random.RandomState(42).shuffle(expected)
    assert idxs == expected
    assert [labels[i] for i in selected].count("a") == 2 and len(selected) == 4
    assert selected == [i for i in expected if i in selected]  # first two of each label in shuffled order
    # experiment 2 reshuffles the carried-over list with a fresh RandomState(42)
    runs = experiment_selections(labels, 2, 2)
    again = list(expected)
    np.random.RandomState(42).shuffle(again)
    assert runs[1] == [i for i in again if i in runs[1]] and runs[0] == selected


def test_prediction_metrics_by_hand():
    m = prediction_metrics([0, 0, 1, 1], [0, 1, 1, 1])
    assert m["accuracy"] == pytest.approx(0.75)
    # class 0: p=1 r=.5 f1=2/3; class 1: p=2/3 r=1 f1=.8 -> macro f1 = 0.7333
    assert m["f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert m["ap"] == pytest.approx(2 / 3)  # AP of the hard predictions: one threshold, precision 2/3 at recall 1
    assert prediction_metrics([0, 1, 2], [0, 1, 1])["ap"] is None


def test_clustering_v_measure_separable_and_single_label():
    points = np.array([[0, 0], [0, 0.1], [10, 10], [10, 10.1], [-10, 10], [-10, 10.1]], dtype=float)
    assert cluster_v_measure(points, ["x", "x", "y", "y", "z", "z"]) == pytest.approx(1.0)
    assert cluster_v_measure(points, ["x"] * 6) == 1.0
    assert clustering_metrics([1.0, 0.5]) == {"v_measure": 0.75, "v_measure_std": 0.25, "v_measures": [1.0, 0.5]}


def test_retrieval_metrics_by_hand_with_empty_relevance():
    results = {"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.7}, "q2": {"d1": 0.9, "d2": 0.5}}
    qrels = {"q1": {"d2": 1}, "q2": {"d9": 0}}  # q2 has no relevant document
    m = retrieval_metrics(results, qrels, (1, 3))
    # q1: relevant at rank 2 -> ndcg@3 = 1/log2(3), MRR@3 = 1/2, recall@1 = 0; q2 scores 0 everywhere
    assert m["ndcg_at_3"] == pytest.approx(round((1 / math.log2(3)) / 2, 5))
    assert m["mrr_at_3"] == pytest.approx(0.25)
    assert m["mrr_at_1"] == 0.0 and m["recall_at_3"] == pytest.approx(0.5)
    assert m["precision_at_1"] == 0.0 and m["map_at_3"] == pytest.approx(0.25)


def test_retrieval_ties_break_by_document_id():
    # equal scores: pytrec_eval and MTEB's MRR rank the larger id first
    m = retrieval_metrics({"q": {"a": 0.5, "b": 0.5}}, {"q": {"a": 1}}, (1, 2))
    assert m["mrr_at_2"] == pytest.approx(0.5) and m["ndcg_at_1"] == 0.0


def test_exact_search_returns_top_documents():
    docs = np.array([unit(0), unit(45), unit(90)])
    results = search(np.array([unit(80)]), docs, ["q"], ["d0", "d1", "d2"], top_k=2)
    assert set(results["q"]) == {"d1", "d2"} and results["q"]["d2"] == pytest.approx(math.cos(math.radians(10)))


def test_reranking_map_and_mrr_by_hand():
    # query 1 ranking: neg, pos, pos -> AP = (1/2 + 2/3)/2, RR = 1/2; query 2: pos first -> AP = RR = 1
    m = reranking_metrics([[0.9, 0.8, 0.7], [0.3, 0.2]], [[False, True, True], [True, False]])
    assert m["map"] == pytest.approx(round(((0.5 + 2 / 3) / 2 + 1) / 2, 5))
    assert m["mrr_at_10"] == pytest.approx(0.75)


def test_reranking_tie_uses_candidate_order_consistently():
    m = reranking_metrics([[0.5, 0.5]], [[True, False]])
    # ties: the later candidate id ranks first (pytrec_eval's order), so the positive is second
    assert m["map"] == pytest.approx(0.5) and m["mrr_at_10"] == pytest.approx(0.5)


def test_summarization_by_hand_and_skips_constant_documents():
    human = np.array([unit(0), unit(90)])
    machine = np.array([unit(10), unit(30), unit(45)])  # max cosines: cos10 > cos30 > cos45
    m = summarization_metrics([(human, machine, [3.0, 2.0, 1.0]), (human, machine, [2.0, 2.0, 2.0])])
    assert m["cosine_spearman"] == pytest.approx(1.0) and m["n_skipped"] == 1


def test_billboard_max_cosine_and_pearson():
    refs = np.array([unit(0), unit(90)])
    assert max_reference_cosine(np.array(unit(80)), refs) == pytest.approx(math.cos(math.radians(10)))
    m = billboard_metrics([0.1, 0.5, 0.9], [1.0, 2.0, 3.0])
    assert m["pearson"] == pytest.approx(1.0) and m["spearman"] == pytest.approx(1.0)


def test_prompt_retrieval_selection_and_agreement():
    pool = np.array([unit(0), unit(50), unit(90)])
    selected = select_demonstrations(np.array([unit(85), unit(5)]), pool, 2)
    assert selected.tolist() == [[2, 1], [0, 1]]
    m = agreement_metrics(["pos", "neg"], ["neg", "pos", "pos"], selected, (1, 2))
    # test 0 (pos): demos pos,pos -> 1.0 ; test 1 (neg): demos neg,pos -> @1 1.0, @2 0.5
    assert m["agreement@1"] == 1.0 and m["agreement@2"] == pytest.approx(0.75)
    assert output_template('SELECT x WHERE s = "texas" AND n > 3') == "SELECT x WHERE s = <str> AND n > <num>"


def test_reproduction_rows_apply_type_tolerances():
    from instructembed.evaluate import TaskResult
    from instructembed.evaluate.reproduction import render_reproduction, reproduction_rows

    def result(task, type_, score, same=True, **metrics):
        return TaskResult(task, type_, "m", score, metrics, "default", {}, mteb_name=task, same_as_mteb=same)

    results = {
        "STS12": result("STS12", "STS", 72.9),  # +0.53: outside STS's 0.5
        "Banking77Classification": result("Banking77Classification", "Classification", 81.0),  # +0.96: inside 1.5
        "STS14": result("STS14", "STS", 75.0),  # no published score
        "SummEval": result("SummEval", "Summarization", 20.0, same=False, cosine_spearman_mteb_legacy=0.31),
    }
    reference = {"tasks": {"STS12": {"value": 72.37}, "Banking77Classification": {"value": 80.04}, "SummEval": {"value": 30.81}}}
    rows = {r["task"]: r for r in reproduction_rows(results, reference)}
    assert rows["STS12"]["within"] is False and rows["STS12"]["delta"] == pytest.approx(0.53)
    assert rows["Banking77Classification"]["within"] is True
    assert rows["STS14"]["published"] is None
    assert rows["SummEval"]["ours"] == pytest.approx(31.0) and rows["SummEval"]["metric"] == "cosine_spearman_mteb_legacy"
    table = render_reproduction(list(rows.values()), "m")
    assert "| STS12 | STS | m | 72.900 | 72.370 | +0.530 | 0.5 | **no** |" in table
