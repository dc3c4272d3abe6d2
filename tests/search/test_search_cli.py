"""`instructembed index build` and `instructembed search`: from a file or from shards (no re-embedding),
one query as a table, a file of queries as JSON Lines, and another model refused (exit 2, one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_in_process import invoke
from search_corpus import DOC_INSTRUCTION, DOCS, QUERIES, QUERY_INSTRUCTION


pytest.importorskip("faiss", reason="search needs instructembed[search]")

from instructembed.search import Index  # noqa: E402


@pytest.fixture(scope="module")
def built(tmp_path_factory, corpus_file):
    path = tmp_path_factory.mktemp("ix") / "docs.index"
    code, output = invoke("index", "build", str(corpus_file), "-o", str(path), "--instruction", DOC_INSTRUCTION, "--kind", "hnsw", "--no-progress")
    assert code == 0, output
    return path


def test_build_records_model_instruction_and_rows(built, default_model):
    index = Index.load(built)
    assert len(index) == len(DOCS) and index.ids[:2] == ["d0", "d1"] and index.factory == "HNSW32"
    assert index.instruction == DOC_INSTRUCTION and index.model.name == "instructembed-mini"
    index.check_model(default_model)


def test_one_query_prints_a_table(built):
    code, output = invoke("search", str(built), QUERIES[1], "--instruction", QUERY_INSTRUCTION, "-k", "3")
    assert code == 0, output
    rows = [line for line in output.splitlines() if line.strip().startswith("│")]
    assert len(rows) == 3 and "d5" in rows[0] and "Qubits hold" in rows[0]


def test_queries_file_writes_results_equal_to_the_api(tmp_path, built, default_model):
    queries = tmp_path / "q.jsonl"
    queries.write_text("".join(json.dumps({"id": f"q{i}", "text": q}) + "\n" for i, q in enumerate(QUERIES)))
    out = tmp_path / "results.jsonl"
    code, output = invoke("search", str(built), "--queries", str(queries), "-o", str(out), "--instruction", QUERY_INSTRUCTION, "-k", "4", "--no-progress")
    assert code == 0, output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    expected = Index.load(built).search_texts(default_model, QUERIES, instruction=QUERY_INSTRUCTION, k=4)
    assert [line["id"] for line in lines] == ["q0", "q1", "q2"] and [line["query"] for line in lines] == QUERIES
    assert [[h["id"] for h in line["hits"]] for line in lines] == [[h.id for h in hits] for hits in expected]


def test_index_from_shards_uses_their_vectors(tmp_path, corpus_file, built, default_model):
    from instructembed.scale import embed_shards

    embed_shards(default_model, corpus_file, tmp_path / "shards", instruction=DOC_INSTRUCTION, show_progress_bar=False)
    code, output = invoke("index", "build", str(tmp_path / "shards"), "-o", str(tmp_path / "ix"), "--kind", "flat", "--no-progress")
    assert code == 0, output
    from_shards, from_file = Index.load(tmp_path / "ix"), Index.load(built)
    assert from_shards.ids == from_file.ids and from_shards.instruction == DOC_INSTRUCTION
    assert from_shards.texts == from_file.texts
    a = from_shards.search_texts(default_model, QUERIES, instruction=QUERY_INSTRUCTION, k=3)
    b = from_file.search_texts(default_model, QUERIES, instruction=QUERY_INSTRUCTION, k=3)
    assert [[h.id for h in q] for q in a] == [[h.id for h in q] for q in b]
    code, message = invoke("index", "build", str(tmp_path / "shards"), "-o", str(tmp_path / "ix2"), "--instruction", "Other:")
    assert code == 2 and "was embedded with instruction" in message and not (tmp_path / "ix2").exists()


def test_another_model_and_bad_arguments_are_one_line_errors(tmp_path, built):
    code, message = invoke("search", str(built), "a query", "--model", "all-MiniLM-L6-v2")
    assert code == 2 and "made with model 'instructembed-mini'" in message and "all-MiniLM-L6-v2" in message
    assert invoke("search", str(built))[1] == "give a query or --queries FILE"
    assert invoke("search", str(built), "q", "--queries", str(built))[1] == "give one query or --queries FILE, not both"
    assert invoke("search", str(built), "--queries", str(built))[1] == "--queries needs -o RESULTS.jsonl"
    assert invoke("index", "build", str(tmp_path / "nothing.jsonl"), "-o", str(tmp_path / "ix"))[1].startswith("corpus not found")
    assert invoke("index", "build", str(built), "-o", str(tmp_path / "ix"), "--kind", "lsh")[1].startswith("--kind must be one of")


def test_real_process_missing_index(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "instructembed", "search", str(tmp_path), "q"], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "is not an index (no index.json)" in proc.stderr


def test_serve_refuses_an_index_of_another_model_before_it_listens(built):
    code, message = invoke("serve", "--index", str(built), "--model", "all-MiniLM-L6-v2", "--port", "1")
    assert code == 2 and "made with model 'instructembed-mini'" in message


def test_search_runs_in_the_precision_of_the_index_unless_asked_otherwise(tmp_path, corpus_file):
    from instructembed import Instructor
    from instructembed.scale import embed_shards

    bf16 = Instructor(device="cpu", dtype="bfloat16")
    embed_shards(bf16, corpus_file, tmp_path / "shards", instruction=DOC_INSTRUCTION, show_progress_bar=False)
    code, output = invoke("index", "build", str(tmp_path / "shards"), "-o", str(tmp_path / "ix"), "--no-progress")
    assert code == 0, output
    assert Index.load(tmp_path / "ix").model.dtype == "bfloat16"
    out = tmp_path / "results.jsonl"
    (tmp_path / "q.txt").write_text("\n".join(QUERIES) + "\n")
    code, output = invoke("search", str(tmp_path / "ix"), "--queries", str(tmp_path / "q.txt"), "-o", str(out),
                          "--instruction", QUERY_INSTRUCTION, "-k", "3", "--no-progress")
    assert code == 0, output  # no --dtype: the index's
    expected = Index.load(tmp_path / "ix").search_texts(bf16, QUERIES, instruction=QUERY_INSTRUCTION, k=3)
    assert [[h["id"] for h in json.loads(line)["hits"]] for line in out.read_text().splitlines()] == [[h.id for h in q] for q in expected]
    code, message = invoke("search", str(tmp_path / "ix"), "a query", "--dtype", "float32")
    assert code == 2 and message == "this index was made with backend torch in bfloat16, not torch in float32: use --backend torch --dtype bfloat16"
