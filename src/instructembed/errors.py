"""The one error type users see: a clear, one-line message (the CLI turns it into exit code 2)."""


class InstructEmbedError(ValueError):
    """Bad input, a missing or corrupt checkpoint, an unreadable file: anything the user can fix."""
