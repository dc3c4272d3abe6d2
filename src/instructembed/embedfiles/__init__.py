"""Reading texts from and writing embeddings to files, in chunks, at constant memory."""

from instructembed.embedfiles.readers import Row, count_rows, read_rows
from instructembed.embedfiles.writers import EmbeddingWriter, open_writer
from instructembed.embedfiles.embed_file import EmbedFileReport, embed_file

__all__ = ["EmbedFileReport", "EmbeddingWriter", "Row", "count_rows", "embed_file", "open_writer", "read_rows"]
