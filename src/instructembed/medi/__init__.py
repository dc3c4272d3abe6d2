"""MEDI training data: instruction-annotated (query, positive, hard negative) triples, one task per record.

Example:
    >>> from instructembed.medi import BuildConfig, MediBuilder, read_records
    >>> report = MediBuilder(BuildConfig(output=Path("medi.jsonl"), pairs_dir=Path("pairs"))).run()
"""

from instructembed.medi.build import BuildConfig, MediBuilder
from instructembed.medi.instruction import Instruction
from instructembed.medi.records import make_record, read_records, validate_record, write_records

__all__ = ["BuildConfig", "Instruction", "MediBuilder", "make_record", "read_records", "validate_record", "write_records"]
