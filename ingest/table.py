"""RawTable: an upload read as a grid of exact strings, with where each row came from."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


# eq=False: a DataFrame has no truth value, so a generated __eq__ could only raise.
@dataclass(frozen=True, eq=False)
class RawTable:
    """What every reader returns; harmonize takes it from here.

    No value is interpreted: numbers, dates and codes stay text so that harmonize, with the
    partner's mapping, is the one place that decides what they mean.
    """

    #: every column dtype object holding str; "" for an empty cell; original column names
    #: (stripped of surrounding whitespace / BOM), in source order
    frame: pd.DataFrame
    #: for each frame row, its 1-based row number in the source (CSV: record number where
    #: the file's first record is 1; Excel: the sheet row number; JSON: 1-based record index)
    source_rows: tuple[int, ...]
    #: "csv" | "xlsx" | "xls" | "ods" | "json" | "ndjson" | "parquet"
    format: str
    #: detected text encoding for text formats, e.g. "utf-8", "utf-8-sig", "utf-16", "cp1252"
    encoding: str | None
    #: for csv
    delimiter: str | None
    #: for Excel: the sheet that was read
    sheet: str | None
    #: all sheet names for Excel, in workbook order
    sheets: tuple[str, ...] = ()
    #: the 1-based source rows that formed the header (two for a merged two-row header);
    #: empty for formats whose column names are not in a row (JSON, Parquet)
    header_rows: tuple[int, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.frame.columns)

    def __len__(self) -> int:
        return len(self.source_rows)
