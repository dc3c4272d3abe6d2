"""The build report: JSON (everything) and Markdown (a table per task, skip reasons, totals)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o666 & ~mask)
    os.replace(tmp, path)


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    summary, tasks = report["summary"], report["tasks"]
    kinds = Counter(t["kind"] for t in tasks if t["records"])
    records_by_kind = Counter()
    for t in tasks:
        records_by_kind[t["kind"]] += t["records"]
    lines = [
        "# MEDI build report",
        "",
        f"- train records: **{summary['train_records']}** ({summary['output']}); dev records: **{summary['dev_records']}** "
        f"({summary['dev_output']}, tasks held out: {len(summary['dev_tasks'])})",
        f"- tasks used: {summary['tasks_used']}; tasks skipped: {summary['tasks_skipped']}",
        "- records by kind: " + ", ".join(f"{k} {records_by_kind[k]} ({kinds[k]} tasks)" for k in sorted(kinds)),
        f"- seconds: {summary['seconds']} (embedding {summary['embed_seconds']}; texts embedded {summary['texts_embedded']}, "
        f"cache hits {summary['cache_hits']}, misses {summary['cache_misses']})",
        *render_contrast(report.get("contrast") or {}),
        *([f"- dev retrieval tasks (held-out pair datasets, whole documents): {', '.join(summary['dev_retrieval']['tasks'])} "
           f"in `{summary['dev_retrieval']['folder']}`"] if summary.get("dev_retrieval") else []),
        "",
        "| task | source | split | kind | instances | distinct outputs | records | hard neg share | given neg | "
        "cos(q,pos) | cos(q,neg) | query instruction | doc instruction | skipped |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in tasks:
        skipped = "; ".join(f"{reason}: {n}" for reason, n in sorted(t["skipped"].items()))
        if t["skipped_task"]:
            skipped = f"**task skipped: {t['skipped_task']}**" + (f"; {skipped}" if skipped else "")
        doc = "(same)" if t["doc_instruction"] == t["query_instruction"] else t["doc_instruction"]
        lines.append("| " + " | ".join(_cell(v) for v in (
            t["task_id"], t["source"], t["split"], t["kind"], t["instances"],
            "" if t["distinct_outputs"] is None else t["distinct_outputs"], t["records"], t["hard_negative_share"],
            t["given_negatives"], "" if t["mean_cos_pos"] is None else t["mean_cos_pos"],
            "" if t["mean_cos_neg"] is None else t["mean_cos_neg"], t["query_instruction"], doc, skipped)) + " |")
    return "\n".join(lines) + "\n"


def render_contrast(contrast: dict[str, Any]) -> list[str]:
    """Instruction-contrast records per pool, and the dev steering sets (empty when the build made none)."""
    if not contrast:
        return []
    lines = ["", "## Instruction-contrast records (kind `contrast`)", "",
             f"- train records: **{contrast['train_records']}**, dev records: {contrast['dev_records']} "
             "(two records per group: the same text under two instructions, positive and negative swapped)"]
    steering = contrast.get("dev_steering") or {}
    if steering:
        lines.append(f"- dev steering sets (held-out sources, held-out wordings): {', '.join(steering['tasks'])} in `{steering['folder']}`")
    lines += ["", "| pool | properties | split | texts | groups | records | texts per source |", "|---|---|---|---:|---:|---:|---|"]
    for pool in contrast.get("pools", []):
        sources = ", ".join(f"{k} {v}" for k, v in (pool.get("sources") or {}).items())
        lines.append("| " + " | ".join(_cell(v) for v in (pool["name"], " x ".join(pool["properties"]), pool["split"],
                                                         pool["texts"], pool.get("groups", ""), pool.get("records", ""), sources)) + " |")
    return lines + ["", "## Tasks"]


def write_report(report: dict[str, Any], stem: Path) -> tuple[Path, Path]:
    """Write `<stem>.json` and `<stem>.md`; returns both paths."""
    json_path, md_path = stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".md")
    _write_atomic(json_path, json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    _write_atomic(md_path, render_markdown(report))
    return json_path, md_path
