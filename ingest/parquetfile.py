"""Read a Parquet file into a RawTable, every value rendered as the text a partner would read."""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.cells import render
from ingest.errors import CorruptFile, EmptyFile, FileTooLarge, TooManyRows
from ingest.excel import MAX_UNCOMPRESSED_BYTES
from ingest.grid import GridSource, check_unique, clean_name, frame_from_columns
from ingest.table import RawTable

# pandas writes a non-default index as these columns; they are pandas' bookkeeping, not data
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def read_parquet(data: bytes, filename: str, *, max_rows: int) -> RawTable:
    """Structs become "parent.child" columns, lists stay one cell as compact JSON."""
    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        meta = parquet.metadata
        declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    except (pa.ArrowException, OSError, ValueError):
        # from None: Arrow's message may quote a value it could not decode
        raise _corrupt(filename) from None
    if meta.num_rows > max_rows:
        raise TooManyRows(
            f"{filename} has {meta.num_rows:,} rows; the limit is {max_rows:,}.",
            hint="split it into several uploads",
            filename=filename,
        )
    if declared > MAX_UNCOMPRESSED_BYTES:
        raise FileTooLarge(
            f"{filename} would take {declared / 1_048_576:,.0f} MB once decompressed; the "
            f"limit is {MAX_UNCOMPRESSED_BYTES // 1_048_576} MB.",
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
    except (pa.ArrowException, OSError, ValueError):
        raise _corrupt(filename) from None
    source = GridSource(filename=filename, format="parquet")
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


def _corrupt(filename: str) -> CorruptFile:
    return CorruptFile(
        f"{filename} looks like a Parquet file but could not be read; it may be damaged or "
        "use an unsupported feature.",
        hint="write it again, or export the table as CSV",
        filename=filename,
    )
