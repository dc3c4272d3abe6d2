"""Dev retrieval tasks: a held-out pair dataset's dev records as a BEIR-layout Retrieval task.

The dev pair task of a MEDI build (e.g. xsum_summaries: a one-sentence summary -> the article) is never
trained on. Written as a Retrieval task folder it guards what the MEDI dev accuracy cannot see: retrieval
of whole documents at evaluation length (256 tokens), where training at 64 tokens can cost quality.
Corpus = every positive and hard negative of the task's dev records; each query's one relevant document is
its positive.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from instructembed.atomic_file import write_text_atomic
from instructembed.medi.records import Record


def task_name(task_id: str) -> str:
    """`xsum_summaries` -> `DevXsumSummariesRetrieval`."""
    return "Dev" + "".join(part.capitalize() for part in task_id.split("_") if part) + "Retrieval"


def write_retrieval_task(folder: Path, task_id: str, records: list[Record]) -> dict[str, str]:
    """Write `folder` (meta.json, corpus.jsonl, queries.jsonl, qrels/test.tsv); returns its instructions."""
    doc_ids: dict[str, str] = {}

    def doc_id(text: str) -> str:
        return doc_ids.setdefault(text, f"d{len(doc_ids)}")

    queries, qrels = [], []
    for number, record in enumerate(records):
        query_id = f"q{number}"
        queries.append({"_id": query_id, "text": record["query"][1]})
        qrels.append(f"{query_id}\t{doc_id(record['pos'][1])}\t1")
        if record.get("neg"):
            doc_id(record["neg"][1])
    corpus = [{"_id": i, "text": text} for text, i in doc_ids.items()]
    name = task_name(task_id)
    meta: dict[str, Any] = {
        "name": name, "type": "Retrieval", "eval_splits": ["test"], "main_score": "ndcg_at_10",
        "mteb_name": None, "same_as_mteb": False,
        "source": f"the MEDI dev records of the held-out pair dataset {task_id} (train-side data, never trained on)",
        "notes": f"{len(queries)} queries, each with its positive as the one relevant document; corpus = the "
                 f"positives and hard negatives of those records ({len(corpus)} documents)",
        "n": {"queries": len(queries), "corpus": len(corpus)},
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    write_text_atomic(folder / "corpus.jsonl", _json_lines(corpus))
    write_text_atomic(folder / "queries.jsonl", _json_lines(queries))
    write_text_atomic(folder / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n" + "\n".join(qrels) + "\n")
    write_text_atomic(folder / "meta.json", json.dumps(meta, indent=1) + "\n")
    return {"query": records[0]["query"][0], "corpus": records[0]["pos"][0]}


def _json_lines(rows: list[dict[str, Any]]) -> str:
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"


def write_dev_retrieval(records: list[Record], task_ids: list[str], folder: Path) -> list[str]:
    """One Retrieval task per dev pair task under `folder`, plus `instructions.json`; returns the task names."""
    instructions: dict[str, dict[str, str]] = {}
    for task_id in sorted(task_ids):
        rows = [r for r in records if r["task_id"] == task_id and r.get("kind") != "contrast"]
        if rows:
            instructions[task_name(task_id)] = write_retrieval_task(folder / task_name(task_id), task_id, rows)
    if instructions:
        write_text_atomic(folder / "instructions.json", json.dumps(instructions, indent=1) + "\n")
    return sorted(instructions)
