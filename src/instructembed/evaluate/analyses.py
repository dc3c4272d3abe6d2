"""The paper's instruction analyses: robustness to paraphrases, instruction complexity, and a t-SNE picture.

(With vs without instructions is two suite runs and `instructembed compare`.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from instructembed.errors import InstructEmbedError
from instructembed.evaluate.embedding_cache import EmbeddingCache
from instructembed.evaluate.instructions import InstructionSet, TaskInstructions
from instructembed.evaluate.runner import evaluate_task
from instructembed.evaluate.task import Task, subsample
from instructembed.evaluate.text_encoder import TextEncoder

COMPLEXITY_LEVELS = ("none", "tag", "short", "full")


def load_paraphrases(path: str | Path | None = None) -> dict[str, list[TaskInstructions]]:
    """Five instruction paraphrases per task (default: the reviewed file shipped with this package)."""
    if path is None:
        text = resources.files("instructembed.evaluate").joinpath("instruction_paraphrases.json").read_text(encoding="utf-8")
        source = "instruction_paraphrases.json"
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    data = json.loads(text)
    out: dict[str, list[TaskInstructions]] = {}
    for task, variants in data.items():
        if task.startswith("_"):
            continue
        if not isinstance(variants, list) or not variants:
            raise InstructEmbedError(f"paraphrases {source}: {task!r} must map to a list of instructions")
        out[task] = [InstructionSet({task: v}, source).for_task(task) for v in variants]
    return out


def robustness(
    model: Any,
    tasks: Sequence[Task],
    paraphrases: dict[str, list[TaskInstructions]],
    cache: EmbeddingCache | None = None,
    max_rows: int | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Each task scored under each of its paraphrases: scores, best, worst and the best-worst gap."""
    rows = []
    for task in tasks:
        variants = paraphrases.get(task.name) or paraphrases.get(task.mteb_name or "")
        if not variants:
            log(f"{task.name}: no paraphrases, skipped")
            continue
        scores = [evaluate_task(model, task, v, cache, max_rows=max_rows).main_score for v in variants]
        rows.append({
            "task": task.name, "type": task.type, "scores": scores,
            "best": max(scores), "worst": min(scores), "gap": max(scores) - min(scores),
            "instructions": [v.to_json() for v in variants],
        })
        log(f"{task.name}: gap {max(scores) - min(scores):.2f} ({min(scores):.2f}..{max(scores):.2f})")
    return rows


def complexity_instructions(task: Task, full: TaskInstructions) -> dict[str, TaskInstructions]:
    """none / dataset tag / short (text type only) / full (the task's instruction set entry)."""
    name = task.name.split("/")[-1]
    text_type = task.meta.get("text_type") or {}
    query_type = text_type.get("query") or "text"
    doc_type = text_type.get("doc") or query_type
    if task.type == "Steering":  # one instruction per property at every level
        properties = task.meta.get("properties") or []
        return {
            "none": TaskInstructions(),
            "tag": TaskInstructions(properties={p: f"{p}: " for p in properties}),
            "short": TaskInstructions(properties={p: f"Represent the {query_type} for its {p}: " for p in properties}),
            "full": full,
        }
    return {
        "none": TaskInstructions(),
        "tag": TaskInstructions(f"{name}: ", f"{name}: "),
        "short": TaskInstructions(f"Represent the {query_type}: ", f"Represent the {doc_type}: "),
        "full": full,
    }


def complexity(
    model: Any,
    tasks: Sequence[Task],
    instructions: InstructionSet,
    cache: EmbeddingCache | None = None,
    max_rows: int | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Each task under no instruction, a dataset tag, a short instruction and the full instruction."""
    rows = []
    for task in tasks:
        levels = complexity_instructions(task, instructions.for_task(task.name, task.mteb_name))
        scores = {level: evaluate_task(model, task, ti, cache, max_rows=max_rows).main_score for level, ti in levels.items()}
        rows.append({"task": task.name, "type": task.type, **scores})
        log(f"{task.name}: " + ", ".join(f"{k} {v:.2f}" for k, v in scores.items()))
    return rows


def render_robustness(rows: list[dict[str, Any]]) -> str:
    lines = ["| task | type | " + " | ".join(f"p{i + 1}" for i in range(5)) + " | best | worst | gap |",
             "|---|---|" + "---:|" * 8]
    for r in rows:
        scores = " | ".join(f"{s:.2f}" for s in r["scores"])
        lines.append(f"| {r['task']} | {r['type']} | {scores} | {r['best']:.2f} | {r['worst']:.2f} | {r['gap']:.2f} |")
    if rows:
        lines.append("| **mean gap** |" + " |" * 8 + f" **{np.mean([r['gap'] for r in rows]):.2f}** |")
    return "\n".join(lines) + "\n"


def render_complexity(rows: list[dict[str, Any]]) -> str:
    lines = ["| task | type | " + " | ".join(COMPLEXITY_LEVELS) + " |", "|---|---|" + "---:|" * len(COMPLEXITY_LEVELS)]
    for r in rows:
        lines.append(f"| {r['task']} | {r['type']} | " + " | ".join(f"{r[k]:.2f}" for k in COMPLEXITY_LEVELS) + " |")
    if rows:
        lines.append("| **mean** | | " + " | ".join(f"**{np.mean([r[k] for r in rows]):.2f}**" for k in COMPLEXITY_LEVELS) + " |")
    return "\n".join(lines) + "\n"


def tsne_picture(
    model: Any,
    task: Task,
    instruction: str | None,
    out_file: str | Path,
    cache: EmbeddingCache | None = None,
    max_rows: int = 1000,
    seed: int = 0,
) -> Path:
    """Side-by-side t-SNE of a classification task's test embeddings without and with its instruction (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    if task.type != "Classification":
        raise InstructEmbedError(f"task {task.name}: t-SNE needs a Classification task, not {task.type}")
    rows = subsample(task.rows(), max_rows, seed=seed)
    texts, labels = [r["text"] for r in rows], [str(r["label"]) for r in rows]
    encoder = TextEncoder(model, cache)
    names = sorted(set(labels))
    colors = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5))
    for ax, (title, instr) in zip(axes, (("without instruction", None), (f"with: {instruction!r}", instruction))):
        vectors = encoder.encode(texts, instr)
        points = TSNE(n_components=2, random_state=seed, init="pca", perplexity=min(30.0, (len(texts) - 1) / 3)).fit_transform(vectors)
        for i, name in enumerate(names):
            mask = np.array([label == name for label in labels])
            ax.scatter(points[mask, 0], points[mask, 1], s=6, color=colors(i % colors.N), label=name)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
    axes[0].legend(markerscale=3, fontsize=8, loc="best")
    fig.suptitle(f"t-SNE of {task.name} ({len(rows)} test texts)")
    return save_png(fig, out_file, dpi=110)


def steering_picture(
    model: Any,
    task: Task,
    instructions: TaskInstructions,
    out_file: str | Path,
    cache: EmbeddingCache | None = None,
    max_rows: int = 600,
    seed: int = 0,
    title: str | None = None,
) -> Path:
    """t-SNE of a Steering task's texts without instruction and under each property's instruction (columns),
    coloured by each property (rows), with each panel's 10-NN neighbour precision (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    from instructembed.evaluate.steering import neighbour_precision, steering_rows

    if task.type != "Steering":
        raise InstructEmbedError(f"task {task.name}: the steering picture needs a Steering task, not {task.type}")
    texts, labels = steering_rows(task, max_rows)
    by_property = instructions.properties or {}
    missing = [p for p in labels if not by_property.get(p)]
    if missing:
        raise InstructEmbedError(f"task {task.name}: no instruction for {', '.join(missing)}")
    encoder = TextEncoder(model, cache)
    views = [("no instruction", None)] + [(f"asks for {p}: {by_property[p].strip()!r}", by_property[p]) for p in labels]
    fig, axes = plt.subplots(len(labels), len(views), figsize=(5.2 * len(views), 4.8 * len(labels)), squeeze=False)
    for col, (name, instr) in enumerate(views):
        vectors = encoder.encode(texts, instr)
        points = TSNE(n_components=2, random_state=seed, init="pca", perplexity=min(30.0, (len(texts) - 1) / 3)).fit_transform(vectors)
        for row, (prop, values) in enumerate(labels.items()):
            ax = axes[row, col]
            names = sorted(set(values))
            colors = plt.get_cmap("tab10")
            for i, value in enumerate(names):
                mask = np.array([v == value for v in values])
                ax.scatter(points[mask, 0], points[mask, 1], s=5, color=colors(i % 10), label=value)
            precision = 100 * neighbour_precision(vectors, values)
            ax.set_title(f"{name[:70]}\ncoloured by {prop}: 10-NN precision {precision:.1f}", fontsize=8)
            ax.set_xticks([]), ax.set_yticks([])
            if col == 0:
                ax.legend(markerscale=3, fontsize=7, loc="best")
    fig.suptitle(title or f"{task.name}: the same {len(texts)} texts under each instruction")
    return save_png(fig, out_file, dpi=100)


def save_png(fig: Any, out_file: str | Path, dpi: int) -> Path:
    """Write a matplotlib figure as PNG atomically (temporary file, then rename) and close it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.stem}.tmp.png")
    fig.savefig(tmp, dpi=dpi)
    plt.close(fig)
    tmp.replace(out_file)
    return out_file
