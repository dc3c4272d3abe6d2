"""Compare a results folder with published MTEB scores (the shared `reference/*.mteb.json` format)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from instructembed.errors import InstructEmbedError
from instructembed.evaluate.result import TaskResult

TOLERANCE = {"STS": 0.5}  # points; every other type: 1.5
DEFAULT_TOLERANCE = 1.5
# where the published number used a different metric field than our main score
PUBLISHED_FIELD = {"SummEval": "cosine_spearman_mteb_legacy"}


def load_reference(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InstructEmbedError(f"cannot read reference scores {path}: {exc}") from None


def reproduction_rows(results: Mapping[str, TaskResult], reference: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per result whose task has a published score: ours, published, delta, tolerance, verdict."""
    published = reference.get("tasks", {})
    rows = []
    for result in sorted(results.values(), key=lambda r: (not r.same_as_mteb, r.type, r.task)):
        name = result.mteb_name or result.task
        entry = published.get(name)
        if entry is None and not result.same_as_mteb:
            continue
        field = PUBLISHED_FIELD.get(name)
        ours = result.metrics[field] * 100 if field and result.metrics.get(field) is not None else result.main_score
        tolerance = TOLERANCE.get(result.type, DEFAULT_TOLERANCE)
        row: dict[str, Any] = {
            "task": result.task, "type": result.type, "same_as_mteb": result.same_as_mteb,
            "ours": ours, "metric": field or result.main_metric, "tolerance": tolerance,
        }
        if entry is None:
            row.update(published=None, delta=None, within=None, mteb_version=None)
        else:
            delta = ours - float(entry["value"])
            row.update(published=float(entry["value"]), delta=delta, within=abs(delta) <= tolerance,
                       mteb_version=entry.get("mteb_version"))
        rows.append(row)
    return rows


def render_reproduction(rows: list[dict[str, Any]], model: str, notes: Mapping[str, str] | None = None) -> str:
    lines = [
        f"# Reproduction of published MTEB scores: {model}, no instructions", "",
        "Tasks whose shared data equals MTEB's (`same_as_mteb: true`) must land within 0.5 points (STS) or 1.5 (others).",
        "Tasks below the line use different data (see each meta.json) and are shown for information only.", "",
        "| task | type | metric | ours | published | delta | tolerance | within | published with mteb |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    separated = False
    for r in rows:
        if not r["same_as_mteb"] and not separated:
            lines.append("| *different data* | | | | | | | | |")
            separated = True
        published = f"{r['published']:.3f}" if r["published"] is not None else "not published"
        delta = f"{r['delta']:+.3f}" if r["delta"] is not None else "-"
        within = "-" if r["within"] is None else ("yes" if r["within"] else "**no**")
        if not r["same_as_mteb"]:
            within = "n/a"
        lines.append(f"| {r['task']} | {r['type']} | {r['metric']} | {r['ours']:.3f} | {published} | {delta} | "
                     f"{r['tolerance']} | {within} | {r['mteb_version'] or '-'} |")
    for task, note in (notes or {}).items():
        lines += ["", f"**{task}**: {note}"]
    return "\n".join(lines) + "\n"
