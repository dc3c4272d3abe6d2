"""`instructembed.integrations.mteb.InstructorMTEB` run by `mteb.evaluate` on mteb's own task classes, fed
local rows (no network): its scores equal our evaluator's on the same rows and instructions (within 1e-4)."""

from __future__ import annotations

import json
import os

import pytest

from instructembed.evaluate import InstructionSet, evaluate_task, load_task
from instructembed.evaluate.task import load_retrieval, subsample

mteb = pytest.importorskip("mteb")
datasets = pytest.importorskip("datasets")

from mteb.types import PromptType  # noqa: E402

from instructembed.integrations.mteb import InstructorMTEB  # noqa: E402

STS_ROWS = 60


def local_task(name: str, dataset):
    """mteb's own class for `name`, its `load_data` reading the given rows instead of the hub."""
    base = type(mteb.get_task(name))

    class Local(base):
        def load_data(self, *args, **kwargs) -> None:
            self.dataset = dataset
            self.data_loaded = True

    return Local()


def mteb_scores(model: InstructorMTEB, task) -> dict:
    result = mteb.evaluate(model, task, cache=None, show_progress_bar=False, encode_kwargs={"batch_size": 32})
    [task_result] = result.task_results
    return task_result.scores["test"][0]


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory):
    """all-MiniLM-L6-v2 on the onnx-int8 backend, exported into this module's own cache."""
    from instructembed import Instructor
    from instructembed.export.cache import CACHE_ENV

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("export-cache"))
    try:
        yield Instructor("all-MiniLM-L6-v2", backend="onnx-int8")
    finally:
        os.environ.pop(CACHE_ENV) if previous is None else os.environ.__setitem__(CACHE_ENV, previous)


@pytest.mark.parametrize("backend", ["torch", "onnx-int8"])
def test_sts_score_equals_our_evaluator(backend, request, eval_root, make_task, tmp_path):
    model = request.getfixturevalue("model" if backend == "torch" else "int8_model")
    source = load_task(eval_root / "STSBenchmark")
    rows = source.rows()[:STS_ROWS]
    task = local_task("STSBenchmark", {"default": datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})})
    theirs = mteb_scores(InstructorMTEB(model=model), task)
    ours = evaluate_task(model, load_task(make_task(tmp_path / "STSBenchmark", source.meta, {"test.jsonl": rows})),
                         InstructionSet.default())
    assert ours.instructions["query"]  # the paper's STSBenchmark instruction was used on our side ...
    # int8 activations are quantized with per-batch dynamic ranges, so a vector depends a little on its batch-mates:
    # the wrapper embeds through our evaluator's text encoder (same distinct texts, same batches), so both backends match
    assert theirs["main_score"] == pytest.approx(ours.metrics["cosine_spearman"], abs=1e-4)
    assert theirs["cosine_pearson"] == pytest.approx(ours.metrics["cosine_pearson"], abs=1e-4)
    plain = mteb_scores(InstructorMTEB(model=model, instructions="none"), task)
    assert abs(plain["main_score"] - theirs["main_score"]) > 1e-4  # ... and on mteb's: it changes the score


def test_retrieval_uses_query_and_corpus_instructions(model, eval_root, make_task, tmp_path):
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData

    source = load_task(eval_root / "SciFact")
    data = load_retrieval(source)
    query_ids = sorted(data.qrels)[:10]
    judged = {d for q in query_ids for d in data.qrels[q]}
    doc_ids = [d for d in data.corpus if d in judged] + subsample([d for d in data.corpus if d not in judged], 30)
    corpus, qrels = {d: data.corpus[d] for d in doc_ids}, {q: data.qrels[q] for q in query_ids}
    split = RetrievalSplitData(
        corpus=datasets.Dataset.from_list([{"id": d, "title": "", "text": t} for d, t in corpus.items()]),
        queries=datasets.Dataset.from_list([{"id": q, "text": data.queries[q]} for q in query_ids]),
        relevant_docs=qrels, top_ranked=None,
    )
    wrapper = InstructorMTEB(model=model)
    query, document = wrapper.instructions_for("SciFact", PromptType.query), wrapper.instructions_for("SciFact", PromptType.document)
    assert query and document and query != document
    theirs = mteb_scores(wrapper, local_task("SciFact", {"default": {"test": split}}))
    qrels_tsv = "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q in qrels for d, s in qrels[q].items())
    ours = evaluate_task(model, load_task(make_task(tmp_path / "SciFact", source.meta, {
        "corpus.jsonl": [{"_id": d, "title": "", "text": t} for d, t in corpus.items()],
        "queries.jsonl": [{"_id": q, "text": data.queries[q]} for q in query_ids],
        "qrels/test.tsv": qrels_tsv,
    })), InstructionSet.default())
    assert (ours.instructions["query"], ours.instructions["corpus"]) == (query, document)
    for key in ("ndcg_at_10", "map_at_100", "recall_at_10"):
        assert theirs[key] == pytest.approx(ours.metrics[key], abs=1e-4), key


def test_instructions_from_a_user_file(model, tmp_path):
    file = tmp_path / "mine.json"
    file.write_text(json.dumps({"SciFact": {"query": "Represent the claim:", "corpus": "Represent the paper:"}, "STS12": "Represent it:"}))
    wrapper = InstructorMTEB(model=model, instructions=file)
    assert wrapper.instructions_for("SciFact", PromptType.query) == "Represent the claim:"
    assert wrapper.instructions_for("SciFact", PromptType.document) == "Represent the paper:"
    assert wrapper.instructions_for("STS12", None) == "Represent it:"
    assert wrapper.instructions_for("Banking77Classification", PromptType.query) is None
    assert wrapper.mteb_model_meta.embed_dim == 384 and wrapper.mteb_model_meta.similarity_fn_name == "cosine"
