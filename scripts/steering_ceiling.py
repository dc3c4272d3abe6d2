"""How much of each dev steering property the embeddings hold, against how much of it decides closeness.

For every dev steering set and property p, under the instruction asking for p and without instruction:
- `knn`: neighbour precision@10 (the Steering metric's `asked_p` / `plain_p`), x100;
- `probe`: 5-fold cross-validated balanced accuracy of a logistic regression on the embeddings, x100;
- `chance`: the balanced accuracy of always answering one label (100 / number of labels).
A property the probe reads well but the neighbours do not follow is a steering failure; one the probe cannot
read is a capacity limit of the encoder, which no instruction can steer towards. Train-side dev data only.

    python scripts/steering_ceiling.py all-MiniLM-L6-v2 instructembed-mini runs/stacked-property -o results/dev-steering/ceiling.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.metrics import balanced_accuracy_score

from instructembed import Instructor
from instructembed.atomic_file import write_text_atomic
from instructembed.evaluate import discover_tasks
from instructembed.evaluate.steering import neighbour_precision, steering_rows


def probe_accuracy(vectors: np.ndarray, labels: list[str], seed: int = 0) -> float:
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    predicted = cross_val_predict(LogisticRegression(max_iter=2000, C=1.0), vectors, labels, cv=folds)
    return float(balanced_accuracy_score(labels, predicted))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="model names or adapted folders")
    parser.add_argument("--medi", default="runs/medi/medi", help="the MEDI build's stem (its .steering folder)")
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()
    folder = Path(f"{args.medi}.steering")
    instructions = json.loads((folder / "steering_instructions.json").read_text())
    tasks = discover_tasks(folder)
    out: dict[str, dict] = {}
    for name in args.models:
        model = Instructor(name, device="cpu")  # a name, a checkpoint or an adapted (delta) folder
        for task in tasks:
            texts, labels = steering_rows(task)
            views = {"plain": model.encode(texts, normalize_embeddings=True)}
            for p, instruction in instructions[task.name].items():
                views[p] = model.encode(texts, instruction=instruction, normalize_embeddings=True)
            for p, values in labels.items():
                row = {"chance": 100 / len(set(values))}
                for view in ("plain", p):
                    key = "plain" if view == "plain" else "asked"
                    row[f"{key}_knn"] = 100 * neighbour_precision(views[view], values)
                    row[f"{key}_probe"] = 100 * probe_accuracy(views[view], values)
                out.setdefault(name, {})[f"{task.name}:{p}"] = {k: round(v, 1) for k, v in row.items()}
                print(name, task.name, p, out[name][f"{task.name}:{p}"], flush=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.output, json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
