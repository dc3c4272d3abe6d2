"""The embedding engine: checkpoint loading, instruction-aware tokenization and pooling, `encode`."""

from instructembed.engine.instructor import INSTRUCTOR, EncodeStats, Instructor

__all__ = ["INSTRUCTOR", "EncodeStats", "Instructor"]
