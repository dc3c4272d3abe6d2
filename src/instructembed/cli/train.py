"""`instructembed train` and `instructembed export-model`: instruction fine-tuning from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def train_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="TOML file of TrainConfig keys (see configs/)")],
    resume: Annotated[bool, typer.Option("--resume", help="continue the run in the config's output_dir from its checkpoint")] = False,
    instructions: Annotated[
        str | None, typer.Option("--instructions", help="'off' strips every instruction (the ablation); overrides the config")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override one config key, e.g. --set max_steps=3 (repeatable)")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
) -> None:
    """Fine-tune an embedding model on MEDI triples (LoRA or full; checkpointed; logs to log.csv).

    Example:
        instructembed train --config configs/instructembed-mini-cpu.toml

        instructembed train --config configs/instructembed-mini-cpu.toml --resume   # after an interruption

        instructembed train -c configs/instructembed-mini-cpu.toml --instructions off --set output_dir=runs/train/noinstr
    """
    import logging

    from instructembed.train import load_config, train

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = list(set_ or [])
    if instructions is not None:
        overrides.append(f"instructions={instructions}")
    result = train(load_config(config, overrides), resume=resume, show_progress=not quiet)
    typer.echo(f"trained {result.steps} steps in {result.elapsed_s:.0f} s -> {result.output_dir / 'final'}")


def export_command(
    run_dir: Annotated[Path, typer.Argument(help="a training output_dir with a final/ folder")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the model folder to write")],
    eval_table: Annotated[Path | None, typer.Option("--eval-table", help="markdown for the card's evaluation section")] = None,
    float32: Annotated[bool, typer.Option("--float32", help="keep the delta in float32 (default: float16 if it matches)")] = False,
    recipe: Annotated[str | None, typer.Option("--recipe", help="how the run was made, for the model card")] = None,
    delta_scale: Annotated[float, typer.Option("--delta-scale", min=0.0, max=4.0,
                                               help="apply the learned update at this scale (0: the base, 1: as trained)")] = 1.0,
) -> None:
    """Write a trained delta as a shippable model folder (manifest + checksummed weights + model card).

    Example:
        instructembed export-model runs/train/instructembed-mini -o src/instructembed/models/instructembed-mini
        instructembed export-model runs/train/instructembed-mini -o models/mini-0.8 --delta-scale 0.8
    """
    from instructembed.train.export import export_model

    table = eval_table.read_text() if eval_table else None
    typer.echo(export_model(run_dir, out, half=not float32, eval_table=table, recipe=recipe,
                                 delta_scale=delta_scale))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("export-model")(export_command)
