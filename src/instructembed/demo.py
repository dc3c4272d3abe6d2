"""`make demo`: the same texts under two instructions; watch the nearest neighbours change.

Embeds the example texts once "for classifying topic" and once "for classifying sentiment", then
prints, for every text, its nearest neighbour under each instruction and whether it shares the
topic or the sentiment. Runs offline on the embedded default model.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from instructembed import Instructor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "texts.jsonl"
INSTRUCTIONS = {
    "topic": "Represent the news text for classifying its topic:",
    "sentiment": "Represent the review for classifying its sentiment as positive or negative:",
}


def nearest(vectors: np.ndarray) -> np.ndarray:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    return scores.argmax(axis=1)


def main() -> None:
    console = Console()
    rows = [json.loads(line) for line in EXAMPLES.read_text().splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    start = time.perf_counter()
    model = Instructor()
    console.print(f"model: {model.model_name_or_path} ({model.get_sentence_embedding_dimension()}-d), loaded in {time.perf_counter() - start:.1f}s")
    neighbours = {name: nearest(model.encode(texts, instruction=ins, normalize_embeddings=True)) for name, ins in INSTRUCTIONS.items()}
    table = Table(title="Nearest neighbour of each text under two instructions (✓ = shares the asked-for property)")
    table.add_column("#", justify="right")
    table.add_column("text (topic, sentiment)")
    for name in INSTRUCTIONS:
        table.add_column(f"'{name}' instruction")
    agree = {name: 0 for name in INSTRUCTIONS}
    for i, row in enumerate(rows):
        cells = []
        for name in INSTRUCTIONS:
            j = int(neighbours[name][i])
            same = rows[j][name] == row[name]
            agree[name] += same
            cells.append(f"#{j} ({rows[j]['topic']}, {rows[j]['sentiment']}) " + ("[green]✓[/]" if same else "[red]✗[/]"))
        table.add_row(str(i), f"{texts[i][:44]}… ({row['topic']}, {row['sentiment']})", *cells)
    console.print(table)
    for name, ins in INSTRUCTIONS.items():
        console.print(f"'{ins}': nearest neighbour shares the {name} for {agree[name]}/{len(rows)} texts")
    changed = int((neighbours["topic"] != neighbours["sentiment"]).sum())
    console.print(f"The instruction changed the nearest neighbour of {changed}/{len(rows)} texts.")


if __name__ == "__main__":
    main()
