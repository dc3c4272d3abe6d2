"""The steer / retrieval trade-off of a delta on dev data: one point per variant of `delta_scale_sweep.py`.

x: mean dev steer over the dev steering sets (points); y: the held-out retrieval task's nDCG@10. Uniform
scales are joined by a line (scale 0 is the base); `--weights` variants are labelled points. `--run NAME=FILE`
adds another recipe's sweep (its scales joined by a dashed line, labelled NAME; repeat the option, and give a
name several files to join them). Train-side dev data only, as the sweeps that wrote the JSON files.

    python scripts/dev_tradeoff_figure.py results/dev-steering/delta-weights/*.json -o docs/images/dev-tradeoff.png \
        --run "3000 steps=results/dev-steering/long-bf16/sweep-scale-1.json" --run "anchor=results/dev-steering/anchor-bf16/sweep.json"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from instructembed.evaluate.analyses import save_png

RETRIEVAL = "DevXsumSummariesRetrieval"
LABELS = {  # short names for the variants of docs/training.md
    r"attention\.self=1": "q/k/v only",
    "attention=1": "attention only",
    r"intermediate|layer\.\d+\.output=1": "feed-forward only",
    r"layer\.[0-2]\.=1": "layers 0-2 only",
    r"layer\.[3-5]\.=1": "layers 3-5 only",
}


def label(spec: str) -> str:
    return LABELS.get(spec, spec.replace(r"layer\.[0-2]\.", "L0-2").replace(r"layer\.[3-5]\.", "L3-5")
                      .replace("attention", "attn").replace(".=", "rest=").replace("=", " x"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweeps", nargs="+", type=Path, help="sweep.json files of delta_scale_sweep.py")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--run", action="append", default=[], metavar="NAME=FILE",
                        help="another recipe's sweep.json, drawn as labelled points (repeatable)")
    args = parser.parse_args()
    rows = [row for file in args.sweeps for row in json.loads(file.read_text())]
    runs: dict[str, list[dict]] = {}
    for spec in args.run:
        name, sep, file = spec.partition("=")
        if not sep or not Path(file).is_file():
            parser.error(f"--run {spec!r}: expected NAME=FILE with an existing sweep.json")
        runs.setdefault(name, []).extend(json.loads(Path(file).read_text()))
    steering = sorted({k for row in rows for k in row if k.startswith("Dev") and k.endswith("Steering")})

    def steer(row: dict) -> float:
        return sum(row[name] for name in steering) / len(steering)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    uniform = sorted((r for r in rows if r.get("weights", ".*=1") == ".*=1"), key=lambda r: r["scale"])
    ax.plot([steer(r) for r in uniform], [r[RETRIEVAL] for r in uniform], "o-", color="tab:blue", label="whole delta x scale")
    for r in uniform:
        ax.annotate(f"{r['scale']:g}", (steer(r), r[RETRIEVAL]), textcoords="offset points", xytext=(4, 4), fontsize=8, color="tab:blue")
    parts = [r for r in rows if r.get("weights", ".*=1") != ".*=1"]
    ax.plot([steer(r) for r in parts], [r[RETRIEVAL] for r in parts], "s", color="tab:orange", label="parts of the delta, reweighted")
    points = [(steer(r), r[RETRIEVAL]) for r in parts]
    for r, (x, y) in zip(parts, points):  # a label goes on the side away from its nearest neighbour
        others = [p for p in points if p != (x, y)]
        above = not others or min(others, key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2)[1] <= y
        ax.annotate(label(r["weights"]), (x, y), textcoords="offset points", xytext=(5, 3 if above else -10), fontsize=7)
    styles = iter(zip("v^<>DPX*", ["tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray"]))
    for name, points in runs.items():
        points = sorted(points, key=lambda r: r["scale"])
        marker, color = next(styles, ("o", "black"))
        line, = ax.plot([steer(r) for r in points], [r[RETRIEVAL] for r in points], "--", marker=marker, color=color, linewidth=1)
        for r in points:
            text = name if r["scale"] == 1 else f"x{r['scale']:g}"
            ax.annotate(text, (steer(r), r[RETRIEVAL]), textcoords="offset points", xytext=(5, -9), fontsize=7, color=line.get_color())
    ax.axvline(10, color="grey", linestyle=":", linewidth=1)
    ax.text(10, ax.get_ylim()[0], " target +10", fontsize=8, color="grey", va="bottom")
    ax.set_xlabel(f"mean dev steer over {', '.join(s.removeprefix('Dev').removesuffix('Steering') for s in steering)} (points)")
    ax.set_ylabel(f"{RETRIEVAL} nDCG@10")
    ax.set_title("Dev data: more steering costs held-out retrieval" + (" (dashed: other recipes)" if runs else ""), fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    print(save_png(fig, args.output, dpi=130))


if __name__ == "__main__":
    main()
