"""Entry point: one Typer app; each command lives in its own module and registers itself here."""

from __future__ import annotations

import signal
import sys
from typing import Annotated

import typer

from instructembed.errors import InstructEmbedError

app = typer.Typer(
    name="instructembed",
    help="Instruction-finetuned text embeddings: one embedder, any task.\n\n"
    "Example: instructembed embed texts.txt -o vectors.npy --instruction 'Represent the title for retrieval:'",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from instructembed import __version__

        typer.echo(f"instructembed {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    pass  # the app-wide options; the app's help text stays the one given to `typer.Typer`


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds the stack as Ctrl-C does, so `with` blocks remove their temporary files."""
    raise SystemExit(128 + signum)


def _register() -> None:
    # One line per command module; each module defines `register(app)`.
    from instructembed.cli import embed

    embed.register(app)
    from instructembed.cli import serve; serve.register(app)
    from instructembed.cli import export; export.register(app)
    from instructembed.cli import medi; medi.register(app)
    from instructembed.cli import train; train.register(app)
    from instructembed.cli import evaluate; evaluate.register(app)
    from instructembed.cli import index; index.register(app)
    from instructembed.cli import search; search.register(app)


def main() -> None:
    """Run the CLI; user errors print one line and exit with code 2, never a traceback."""
    _register()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app()
    except InstructEmbedError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
