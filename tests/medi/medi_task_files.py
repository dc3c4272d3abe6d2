"""Writers for hand-made Super-NI task files and pair datasets used by the MEDI tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_sni_task(folder: Path, name: str, instances: list[tuple[str, str]], **extra) -> Path:
    """A Super-NI task file with (input, output) instances."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "Definition": [extra.pop("definition", "Classifying the weather described in the sentence.")],
        "Categories": extra.pop("categories", ["Text Categorization"]),
        "Domains": extra.pop("domains", ["News"]),
        "Instances": [{"id": f"{name}-{i}", "input": text, "output": [out]} for i, (text, out) in enumerate(instances)],
        **extra,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_pair_dataset(folder: Path, name: str, rows: list[dict], **meta) -> Path:
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    meta = {"name": name, "query_type": "question", "doc_type": "answer", "domain": "trivia", "symmetric": False, **meta}
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    (target / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return target
