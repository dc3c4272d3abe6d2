"""Same texts, two instructions: do the embeddings separate by the property the instruction asks for?

Texts: 200 movie-review sentences (SST2Classification) and 200 tweets (TweetSentimentExtraction), half
positive, half negative, from the shared test splits. Two properties per text: sentiment and source.
For each model and instruction, leave-one-out 10-NN accuracy on each property (cosine), and a t-SNE
picture of the default model's embeddings under each instruction, coloured by the asked-for property.

Usage: .venv/bin/python scripts/instruction_figure.py OUT.png [--table OUT.md]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np

from instructembed import Instructor
from instructembed.shared_data import data_dir

INSTRUCTIONS = {
    "sentiment": "Represent the text for classifying its sentiment as positive or negative:",
    "source": "Represent the text for classifying whether it is a movie review or a tweet:",
}
PER_GROUP = 100


def load_texts(seed: int = 0) -> tuple[list[str], dict[str, list[str]]]:
    rng = random.Random(seed)
    eval_dir = data_dir() / "eval"
    texts, sentiment, source = [], [], []
    for task, name, labels in (("SST2Classification", "movie review", {1: "positive", 0: "negative"}),
                               ("TweetSentimentExtractionClassification", "tweet", {"positive": "positive", "negative": "negative"})):
        rows = [json.loads(line) for line in open(eval_dir / task / "test.jsonl")]
        for raw, label in labels.items():
            chosen = rng.sample([r for r in rows if r["label"] == raw and r["text"].strip()], PER_GROUP)
            texts += [r["text"].strip() for r in chosen]
            sentiment += [label] * PER_GROUP
            source += [name] * PER_GROUP
    return texts, {"sentiment": sentiment, "source": source}


def knn_accuracy(vectors: np.ndarray, labels: list[str], k: int = 10) -> float:
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    neighbours = np.argsort(-scores, axis=1)[:, :k]
    labels_arr = np.array(labels)
    votes = [max(set(labels_arr[row]), key=list(labels_arr[row]).count) for row in neighbours]
    return float(np.mean(np.array(votes) == labels_arr))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--table", type=Path)
    args = parser.parse_args()
    texts, properties = load_texts()
    models = {"all-MiniLM-L6-v2 (base)": Instructor("all-MiniLM-L6-v2", device="cpu"), "instructembed-mini": Instructor(device="cpu")}
    vectors = {(m, i): model.encode(texts, instruction=ins, normalize_embeddings=True)
               for m, model in models.items() for i, ins in INSTRUCTIONS.items()}
    lines = ["| model | instruction asks for | 10-NN accuracy on sentiment | 10-NN accuracy on source |", "|---|---|---:|---:|"]
    for (m, i), v in vectors.items():
        lines.append(f"| {m} | {i} | {100 * knn_accuracy(v, properties['sentiment']):.1f} | {100 * knn_accuracy(v, properties['source']):.1f} |")
    table = "\n".join(lines)
    print(table)
    if args.table:
        args.table.write_text(table + "\n")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    fig, axes = plt.subplots(2, 2, figsize=(10, 9))
    for row, m in enumerate(models):
        for col, (i, ins) in enumerate(INSTRUCTIONS.items()):
            ax = axes[row, col]
            points = TSNE(n_components=2, random_state=0, init="pca", perplexity=30).fit_transform(vectors[(m, i)])
            labels = np.array(properties[i])
            for value, colour in zip(sorted(set(labels)), ("tab:red", "tab:blue")):
                mask = labels == value
                ax.scatter(points[mask, 0], points[mask, 1], s=7, color=colour, label=value)
            acc = 100 * knn_accuracy(vectors[(m, i)], properties[i])
            ax.set_title(f"{m}\ninstruction asks for {i} (coloured by {i}; 10-NN acc {acc:.1f})", fontsize=9)
            ax.set_xticks([]), ax.set_yticks([])
            ax.legend(markerscale=3, fontsize=8, loc="best")
    fig.suptitle("Same 400 texts, two instructions (t-SNE)")
    fig.tight_layout()
    tmp = args.out.with_name(f".{args.out.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    tmp.replace(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
