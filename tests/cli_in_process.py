"""Run the CLI in the test's own process, the way `main` maps errors."""

from __future__ import annotations


def invoke(*args: str) -> tuple[int, str]:
    """(exit code, output); an InstructEmbedError comes back as (2, its message), as `main` maps it."""
    from typer.testing import CliRunner

    from instructembed.cli.app import _register, app
    from instructembed.errors import InstructEmbedError

    if not app.registered_commands:
        _register()
    result = CliRunner().invoke(app, list(args))
    if isinstance(result.exception, InstructEmbedError):
        return 2, str(result.exception)
    return result.exit_code, result.output
