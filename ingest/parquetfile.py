"""Read a Parquet file into a RawTable, every value rendered as the text a partner would read."""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingest.cells import render
from ingest.errors import CorruptFile, EmptyFile, FileTooLarge, NulCharacter, TooManyRows
from ingest.grid import (
    GridSource,
    cell_too_long,
    check_unique,
    clean_name,
    frame_from_columns,
    too_many_columns,
)
from ingest.limits import DEFAULT_LIMITS, Limits
from ingest.table import RawTable

# pandas writes a non-default index as these columns; they are pandas' bookkeeping, not data
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def read_parquet(data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS) -> RawTable:
    """Structs become "parent.child" columns, lists stay one cell as compact JSON.

    Rows, columns and the decompressed size are checked on the file's metadata, before
    any data page is read.
    """
    source = GridSource(filename=filename, format="parquet")
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        meta = parquet.metadata
        declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except (pa.ArrowException, OSError, ValueError):
        # from None: Arrow's message may quote a value it could not decode
        raise _corrupt(filename) from None
    if meta.num_rows > limits.max_rows:
        raise TooManyRows(
            f"{filename} has {meta.num_rows:,} rows; the limit is {limits.max_rows:,}.",
            hint="split it into several uploads",
            filename=filename,
        )
    if meta.num_columns > limits.max_columns:
        raise too_many_columns(source, meta.num_columns, limits)
    if declared > limits.max_uncompressed_bytes:
        raise FileTooLarge(
            f"{filename} would take {declared / 1_048_576:,.0f} MB once decompressed; the "
            f"limit is {limits.max_uncompressed_bytes // 1_048_576} MB.",
            hint="split it into several uploads",
            filename=filename,
        )
    try:
        table = parquet.read()
        while any(pa.types.is_struct(f.type) for f in table.schema):
            table = table.flatten()
        names: list[str] = []
        columns: list[list[str]] = []
        for name, column in zip(table.column_names, table.columns, strict=True):
            if _PANDAS_INDEX.fullmatch(name):
                continue
            names.append(clean_name(name))
            columns.append(_render_column(column))
            _check_cells(columns[-1], column, names[-1] or f"column_{len(names)}", source, limits)
    except (pa.ArrowException, OSError, ValueError):
        raise _corrupt(filename) from None
    if not names:
        raise EmptyFile(f"{filename} has no columns.", filename=filename)
    named = [n or f"column_{i + 1}" for i, n in enumerate(names)]
    check_unique(named, source)
    return RawTable(
        frame=frame_from_columns(named, columns),
        source_rows=tuple(range(1, table.num_rows + 1)),
        format="parquet",
        encoding=None,
        delimiter=None,
        sheet=None,
    )


def _render_column(column: pa.ChunkedArray) -> list[str]:
    kind = column.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        # the common case, without a Python call per cell
        return ["" if v is None else v for v in column.to_pylist()]
    return [render(v) for v in column.to_pylist()]


def _check_cells(
    cells: list[str], column: pa.ChunkedArray, name: str, source: GridSource, limits: Limits
) -> None:
    """Cell length and NUL characters; computed by Arrow for text columns."""
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = column.cast(kind) if kind != column.type else column
        lengths = pc.utf8_length(text)
        longest = pc.max(lengths).as_py()
        if longest is None or (longest <= limits.max_cell_chars and not _has_nul(text)):
            return
    for i, cell in enumerate(cells):
        if len(cell) > limits.max_cell_chars:
            raise cell_too_long(source, i + 1, name, len(cell), limits)
        if "\x00" in cell:
            raise NulCharacter(
                f"Row {i + 1} of {source.filename}, column '{name}', contains a NUL character "
                "(byte 0), which a table cell cannot hold.",
                hint="remove it at the source and write the file again",
                filename=source.filename,
                row=i + 1,
                column=name,
            )


def _has_nul(column: pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.match_substring(column, "\x00")).as_py())


def _corrupt(filename: str) -> CorruptFile:
    return CorruptFile(
        f"{filename} looks like a Parquet file but could not be read; it may be damaged or "
        "use an unsupported feature.",
        hint="write it again, or export the table as CSV",
        filename=filename,
    )
