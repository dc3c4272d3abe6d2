"""instructembed: instruction-finetuned text embeddings (INSTRUCTOR), one embedder for any task.

Example:
    >>> from instructembed import Instructor
    >>> model = Instructor()
    >>> model.encode([["Represent the Science title:", "3D ActionSLAM"]])
"""

from instructembed.engine import INSTRUCTOR, EncodeStats, Instructor
from instructembed.errors import InstructEmbedError

__version__ = "0.1.0"
__all__ = ["INSTRUCTOR", "EncodeStats", "InstructEmbedError", "Instructor", "__version__"]
