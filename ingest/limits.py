"""Limits: how much one upload may hold. Checked while reading, so a hostile file is refused early.

Every limit exceeded is a rejection with its own stable code (see `ingest.errors`), never a
crash, and never a message quoting the data that exceeded it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What `ingest.readers.read_table` accepts; `dataclasses.replace` gives a variant."""

    #: bytes of the file as uploaded (the deployment's CTCOLLAB_MAX_UPLOAD_BYTES is usually
    #: lower and is applied by `uploads.receive`; this is the ceiling for any caller)
    max_file_bytes: int = 500 * MiB
    #: data rows (records, for JSON); blank rows do not count
    max_rows: int = 1_000_000
    #: columns named by the header (distinct fields, for JSON; leaf columns, for Parquet)
    max_columns: int = 500
    #: characters in one cell, header cells included
    max_cell_chars: int = 32 * 1024
    #: nesting of JSON arrays and objects (the records array itself is level 1)
    max_json_depth: int = 32
    #: bytes an .xlsx/.ods/Parquet file declares it expands to
    max_uncompressed_bytes: int = 500 * MiB
    #: … and as a multiple of its own size, once that is above `ratio_check_floor_bytes`
    max_expansion_ratio: int = 50
    #: below this uncompressed size the ratio is not checked: a small, very regular sheet (a
    #: template of empty formatted rows) compresses beyond 50x and cannot hurt
    ratio_check_floor_bytes: int = 16 * MiB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            # bool is an int: Limits(max_rows=True) is a mistake, not one row
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{f.name} must be a positive integer")


DEFAULT_LIMITS = Limits()
