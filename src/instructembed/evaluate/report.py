"""Markdown reports of a results folder: by task and by type with averages; side-by-side comparison."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from instructembed.evaluate.result import TaskResult
from instructembed.evaluate.task import TASK_TYPES

MTEB_TYPES = ("Classification", "Clustering", "PairClassification", "Reranking", "Retrieval", "STS", "Summarization")


def _type_order(name: str) -> int:
    return TASK_TYPES.index(name) if name in TASK_TYPES else len(TASK_TYPES)


def type_averages(results: Mapping[str, TaskResult]) -> dict[str, float]:
    by_type: dict[str, list[float]] = defaultdict(list)
    for result in results.values():
        by_type[result.type].append(result.main_score)
    return {t: sum(v) / len(v) for t, v in sorted(by_type.items(), key=lambda kv: _type_order(kv[0]))}


def mteb_type_average(results: Mapping[str, TaskResult]) -> float | None:
    """Mean over the MTEB task types present of each type's mean (the paper's 'Avg.' style)."""
    averages = [v for t, v in type_averages(results).items() if t in MTEB_TYPES]
    return sum(averages) / len(averages) if averages else None


def render_report(results: Mapping[str, TaskResult], title: str, info: Mapping[str, Any] | None = None, failures: Mapping[str, str] | None = None) -> str:
    """The report: run facts, a table by task, a table by type, then failures."""
    lines = [f"# {title}", ""]
    for key, value in (info or {}).items():
        lines.append(f"- {key}: {value}")
    if info:
        lines.append("")
    lines += ["## By task", "", "| task | type | metric | score | instruction (query) | seconds |", "|---|---|---|---:|---|---:|"]
    ordered = sorted(results.values(), key=lambda r: (_type_order(r.type), r.task))
    for r in ordered:
        instruction = (r.instructions or {}).get("query")
        shown = f"`{instruction.strip()}`" if instruction else "none"
        lines.append(f"| {r.task} | {r.type} | {r.main_metric} | {r.main_score:.2f} | {shown} | {r.seconds:.1f} |")
    lines += ["", "## By type", "", "| type | tasks | average |", "|---|---:|---:|"]
    counts: dict[str, int] = defaultdict(int)
    for r in results.values():
        counts[r.type] += 1
    for type_name, average in type_averages(results).items():
        lines.append(f"| {type_name} | {counts[type_name]} | {average:.2f} |")
    overall = mteb_type_average(results)
    if overall is not None:
        lines.append(f"| **MTEB types (mean of type means)** | | **{overall:.2f}** |")
    steering = render_steering(results)
    if steering:
        lines += ["", "## Steering (beside the MTEB average, not inside it)", "", steering.rstrip("\n")]
    if failures:
        lines += ["", "## Failed tasks", ""] + [f"- {m}" for m in failures.values()]
    return "\n".join(lines) + "\n"


def render_steering(results: Mapping[str, TaskResult]) -> str:
    """Per Steering task and property: neighbour precision asked / other / plain (points) and steer."""
    rows = [r for r in sorted(results.values(), key=lambda r: r.task) if r.type == "Steering"]
    if not rows:
        return ""
    lines = ["| task | property | asked | other | plain | asked - other | asked - plain |", "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        m = r.metrics
        for p in m.get("properties", []):
            lines.append(f"| {r.task} | {p} | {100 * m[f'asked_{p}']:.1f} | {100 * m[f'other_{p}']:.1f} | {100 * m[f'plain_{p}']:.1f} "
                         f"| {100 * m[f'steer_{p}']:+.1f} | {100 * m[f'asked_minus_plain_{p}']:+.1f} |")
        lines.append(f"| **{r.task}** | **steer (mean)** | | | | **{100 * m['steer']:+.1f}** | **{100 * m['asked_minus_plain']:+.1f}** |")
    return "\n".join(lines) + "\n"


def render_comparison(a: Mapping[str, TaskResult], b: Mapping[str, TaskResult], name_a: str, name_b: str) -> str:
    """Tasks of both folders side by side with b - a deltas, then the type averages."""
    lines = [f"| task | type | {name_a} | {name_b} | delta |", "|---|---|---:|---:|---:|"]
    names = sorted(set(a) | set(b), key=lambda n: (_type_order((a.get(n) or b.get(n)).type), n))
    for name in names:
        ra, rb = a.get(name), b.get(name)
        type_name = (ra or rb).type
        sa = f"{ra.main_score:.2f}" if ra else "-"
        sb = f"{rb.main_score:.2f}" if rb else "-"
        delta = f"{rb.main_score - ra.main_score:+.2f}" if ra and rb else "-"
        lines.append(f"| {name} | {type_name} | {sa} | {sb} | {delta} |")
    shared = set(a) & set(b)
    ta = type_averages({n: a[n] for n in shared})
    tb = type_averages({n: b[n] for n in shared})
    lines += ["", f"| type (tasks in both) | {name_a} | {name_b} | delta |", "|---|---:|---:|---:|"]
    for type_name in ta:
        lines.append(f"| {type_name} | {ta[type_name]:.2f} | {tb[type_name]:.2f} | {tb[type_name] - ta[type_name]:+.2f} |")
    return "\n".join(lines) + "\n"


def render_model_comparison(columns: Mapping[str, Mapping[str, TaskResult]], candidate: str, baselines: list[str]) -> str:
    """Type table (MTEB types, then the others) and per-task table of several result sets; the candidate's
    type scores are marked ✓ where above the best of `baselines` for that type, ✗ where not."""
    names = list(columns)
    shared = set.intersection(*(set(r) for r in columns.values())) if columns else set()
    shared = {n for n in shared if columns[candidate][n].type != "Steering"}
    averages = {label: type_averages({n: results[n] for n in shared}) for label, results in columns.items()}
    counts: dict[str, int] = defaultdict(int)
    for n in shared:
        counts[columns[candidate][n].type] += 1
    lines = ["| type | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    wins = 0
    for type_name in averages[candidate]:
        best = max(averages[b][type_name] for b in baselines)
        cells = []
        for label in names:
            value = averages[label][type_name]
            mark = ""
            if label == candidate:
                above = value > best
                wins += above and type_name in MTEB_TYPES
                mark = " ✓" if above else " ✗"
            cells.append(f"{value:.2f}{mark}")
        lines.append(f"| {type_name} ({counts[type_name]}) | " + " | ".join(cells) + " |")
    overall = {label: mteb_type_average({n: columns[label][n] for n in shared}) for label in names}
    lines.append("| **average over the 7 MTEB types** | " + " | ".join(f"**{overall[label]:.2f}**" for label in names) + " |")
    present = [t for t in averages[candidate] if t in MTEB_TYPES]
    lines += ["", f"✓/✗: {candidate} above / not above the best of {', '.join(baselines)} for that type "
              f"({wins} of {len(present)} MTEB types)."]
    lines += ["", "<details><summary>Per task</summary>", "", "| task | type | " + " | ".join(names) + " |",
              "|---|---|" + "---:|" * len(names)]
    for n in sorted(shared, key=lambda n: (_type_order(columns[candidate][n].type), n)):
        lines.append(f"| {n} | {columns[candidate][n].type} | " + " | ".join(f"{columns[label][n].main_score:.2f}" for label in names) + " |")
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def render_steering_comparison(columns: Mapping[str, Mapping[str, TaskResult]]) -> str:
    """Per Steering task and property: asked / other / plain neighbour precision for each result set, and steer."""
    names = list(columns)
    tasks = sorted({n for results in columns.values() for n, r in results.items() if r.type == "Steering"})
    lines = ["| task | property | " + " | ".join(f"{label}: asked / other / plain" for label in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for task in tasks:
        first = next(results[task] for results in columns.values() if task in results)
        for p in first.metrics.get("properties", []):
            cells = []
            for label in names:
                r = columns[label].get(task)
                cells.append("-" if r is None else
                             f"{100 * r.metrics[f'asked_{p}']:.1f} / {100 * r.metrics[f'other_{p}']:.1f} / {100 * r.metrics[f'plain_{p}']:.1f}")
            lines.append(f"| {task} | {p} | " + " | ".join(cells) + " |")
        steer = ["-" if task not in columns[label] else f"**steer {columns[label][task].main_score:+.1f}**, asked - plain "
                 f"{100 * columns[label][task].metrics['asked_minus_plain']:+.1f}" for label in names]
        lines.append(f"| **{task}** | | " + " | ".join(steer) + " |")
    return "\n".join(lines) + "\n"
