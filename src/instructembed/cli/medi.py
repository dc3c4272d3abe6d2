"""`instructembed medi build|validate|instructions`: build, check and seed MEDI-style training data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from instructembed.errors import InstructEmbedError

medi_app = typer.Typer(
    help="MEDI training data: (query, positive, hard negative) triples with instructions, one task per record.\n\n"
    "Example: instructembed medi build --sni ../shared/data/train/sni --pairs ../shared/data/train/pairs -o runs/medi/medi.jsonl",
    no_args_is_help=True,
)


@medi_app.command("build")
def build(
    output: Annotated[Path, typer.Option("-o", "--output", help="Train records (.jsonl); dev records go to <stem>.dev.jsonl, "
                                         "the report to <stem>.report.{md,json}.", show_default=False)],
    sni: Annotated[Optional[Path], typer.Option("--sni", help="Folder of Super-NI task files (*.json).")] = None,
    pairs: Annotated[Optional[Path], typer.Option("--pairs", help="Folder of pair datasets (<name>/meta.json + train.jsonl).")] = None,
    max_per_task: Annotated[int, typer.Option(help="Cap on records for every task (pair datasets in practice).")] = 3000,
    sni_max_per_task: Annotated[int, typer.Option(help="Cap for a Super-NI text-output task.")] = 100,
    classification_max_per_task: Annotated[int, typer.Option(help="Cap for a Super-NI classification task.")] = 50,
    embedder: Annotated[Optional[str], typer.Option(help="Model that embeds texts for mining (folder, packaged name or hub id).")] = "all-MiniLM-L6-v2",
    seed: Annotated[int, typer.Option(help="Seed for sampling under the caps and for the dev split.")] = 0,
    dev_tasks_fraction: Annotated[float, typer.Option(help="Share of tasks (per source) held out as the dev split.")] = 0.1,
    instructions: Annotated[Optional[Path], typer.Option(help="JSON {task_id: {query, doc}} overriding the reviewed instructions.")] = None,
    max_chars: Annotated[int, typer.Option(help="Texts longer than this many characters are skipped.")] = 6000,
    max_labels: Annotated[int, typer.Option(help="A task with at most this many distinct outputs (>= 5 instances each) is a classification task.")] = 20,
    keep_positional_labels: Annotated[bool, typer.Option(help="Keep classification tasks whose labels are only option positions (A/B, 1/2).")] = False,
    neg_margin: Annotated[float, typer.Option(help="Pair datasets: a mined negative must score below this times cos(query, positive); 0 turns the guard off.")] = 0.95,
    cache_dir: Annotated[Path, typer.Option(help="Where instruction-free embeddings are cached by content hash.")] = Path(".cache/instructembed/medi"),
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass when embedding for mining.")] = 64,
    threads: Annotated[Optional[int], typer.Option(help="CPU threads for embedding (1 is faster on a machine busy with other jobs).")] = None,
    sni_records: Annotated[bool, typer.Option(help="Ordinary records from the Super-NI tasks; --no-sni-records keeps Super-NI "
                                              "for the contrast pools and dev steering sets only.")] = True,
    contrast: Annotated[bool, typer.Option(help="Add instruction-contrast records (the same text under two instructions, "
                                           "positive and negative swapped) and write the dev steering sets to <stem>.steering/.")] = True,
    contrast_max_per_cell: Annotated[int, typer.Option(help="Texts per (source, label) cell of a two-label contrast pool.")] = 250,
    contrast_pools: Annotated[Optional[str], typer.Option(
        help="Contrast pools to build, a comma list: all, or properties (sentiment, toxicity, emotion, obscenity, insult, "
             "threat); default: sentiment,toxicity (the shipped model's).")] = None,
    property_contrast: Annotated[bool, typer.Option(
        help="Add property-vs-similarity contrast groups from 22 Super-NI classification tasks (spam, tense, subject, "
             "dialogue act, ...): under the property's instruction the same-label text is the positive, under a "
             "similar-content instruction the most similar other-label text is.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Build MEDI triples: mined positives and hard negatives, per-task instructions, a dev split by task.

    Example:

        instructembed medi build --sni ../shared/data/train/sni --pairs ../shared/data/train/pairs -o runs/medi/medi.jsonl --seed 0

        instructembed medi build --sni ../shared/data/train/sni --pairs ../shared/data/train/pairs -o runs/medi6/medi.jsonl --contrast-pools all

        instructembed medi build --sni ../shared/data/train/sni --pairs ../shared/data/train/pairs -o runs/medi-prop/medi.jsonl --no-sni-records --property-contrast
    """
    from instructembed.medi.build import BuildConfig, MediBuilder
    from instructembed.medi.report import write_report

    if contrast_max_per_cell < 1:
        raise InstructEmbedError(f"--contrast-max-per-cell must be >= 1, got {contrast_max_per_cell}")
    if threads is not None:
        if threads < 1:
            raise InstructEmbedError(f"--threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)

    config = BuildConfig(
        output=output, sni_dir=sni, pairs_dir=pairs, max_per_task=max_per_task, sni_max_per_task=sni_max_per_task,
        classification_max_per_task=classification_max_per_task, embedder=embedder, seed=seed,
        dev_tasks_fraction=dev_tasks_fraction, max_chars=max_chars, max_labels=max_labels,
        keep_positional_labels=keep_positional_labels, neg_margin=neg_margin or None, instructions=instructions,
        cache_dir=cache_dir, batch_size=batch_size, show_progress=progress, sni_records=sni_records, contrast=contrast,
        contrast_max_per_cell=contrast_max_per_cell, contrast_pools=contrast_pools, property_contrast=property_contrast,
    )
    report = MediBuilder(config).run()
    json_path, md_path = write_report(report, config.report_stem)
    s = report["summary"]
    typer.echo(f"wrote {s['train_records']} train records to {s['output']} and {s['dev_records']} dev records to "
               f"{s['dev_output']} ({s['tasks_used']} tasks used, {s['tasks_skipped']} skipped, "
               f"{s['contrast_records']} instruction-contrast records, {s['seconds']} s); "
               f"report: {md_path}")


@medi_app.command("validate")
def validate(path: Annotated[Path, typer.Argument(help="A MEDI file: .jsonl, or the official .json list.", show_default=False)]) -> None:
    """Check every record; the first broken one is named with its index and field (exit code 2).

    Example: instructembed medi validate runs/medi/medi.jsonl
    """
    from collections import Counter

    from instructembed.medi.records import read_records, record_task

    tasks = Counter(record_task(r) for r in read_records(path))
    typer.echo(f"{path}: {sum(tasks.values())} valid records in {len(tasks)} tasks")


@medi_app.command("instructions")
def instructions(
    output: Annotated[Path, typer.Option("-o", "--output", help="Instruction file to write (JSON).", show_default=False)],
    sni: Annotated[Optional[Path], typer.Option("--sni", help="Folder of Super-NI task files.")] = None,
    pairs: Annotated[Optional[Path], typer.Option("--pairs", help="Folder of pair datasets.")] = None,
) -> None:
    """Write draft instructions derived from task metadata, to review and pass back with `medi build --instructions`.

    Example: instructembed medi instructions --sni ../shared/data/train/sni --pairs ../shared/data/train/pairs -o my_instructions.json
    """
    from instructembed.medi.derive import derive_instruction_table
    from instructembed.medi.instruction_file import write_instruction_file

    table = derive_instruction_table(sni, pairs)
    write_instruction_file(table, output, about="draft instructions derived from task metadata; review before use")
    typer.echo(f"wrote {len(table)} draft instructions to {output}")


def register(app: typer.Typer) -> None:
    app.add_typer(medi_app, name="medi")
