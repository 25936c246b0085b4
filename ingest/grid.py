"""Turn a grid of cells (CSV records or sheet rows) into a RawTable: find the header, name columns.

Shared by the CSV and Excel readers so both skip title rows, name unnamed columns and
reject duplicates the same way.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

from ingest.cells import render
from ingest.errors import DuplicateColumns, EmptyFile, NoHeader, RowTooLong, TooManyRows
from ingest.table import RawTable

#: how many non-blank rows at the top are searched for the header
HEADER_SCAN_ROWS = 30
#: how many rows after a candidate header give the table's width
_WIDTH_LOOKAHEAD = 10
#: a header spans at least this share of the width of the rows below it
_HEADER_MIN_WIDTH_SHARE = 0.5

_NUMBER = re.compile(r"[-+]?(?:\d[\d\s.,'\u00a0\u202f]*)?\d(?:[eE][-+]?\d+)?%?")
_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_NAME_EDGES = re.compile(r"^[\s\ufeff\u200b]+|[\s\ufeff\u200b]+$")

Row = Sequence[object]


@dataclass(frozen=True)
class Merge:
    """A merged cell range: source row numbers (1-based) and grid column indexes (0-based)."""

    first_row: int
    first_col: int
    last_row: int
    last_col: int


@dataclass(frozen=True)
class GridSource:
    """Where a grid came from: goes into the RawTable and into error messages."""

    filename: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()

    def where(self) -> str:
        return f"sheet '{self.sheet}' of {self.filename}" if self.sheet else self.filename


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_text(value: object) -> bool:
    """A cell that reads as a label rather than a number, date or flag."""
    if not isinstance(value, str):
        return False
    s = value.strip()
    return bool(s) and not _NUMBER.fullmatch(s) and not _DATE.fullmatch(s)


def clean_name(value: object) -> str:
    """A column name: the rendered header cell without surrounding whitespace or BOM."""
    return _NAME_EDGES.sub("", render(value))


def looks_like_header(row: Row, reference_width: int) -> bool:
    filled = [v for v in row if not is_blank(v)]
    if not filled:
        return False
    texts = sum(1 for v in filled if is_text(v))
    return len(filled) >= _HEADER_MIN_WIDTH_SHARE * reference_width and texts * 2 > len(filled)


def build_table(
    rows: Iterable[tuple[int, Row]],
    source: GridSource,
    *,
    max_rows: int,
    unnamed: Callable[[int], str],
    merges: Sequence[Merge] = (),
    hidden_rows: frozenset[int] = frozenset(),
) -> RawTable:
    """Read a header then data from (source row number, cells) pairs.

    `unnamed(i)` names column i when its header cell is empty (e.g. "column_C"); such a
    column is kept only if some row has a value in it. Blank rows, and rows with values
    only under unnamed columns (e.g. a template's pre-numbered rows), are not records.
    """
    it = iter(rows)
    scan = _take_nonblank(it, HEADER_SCAN_ROWS + _WIDTH_LOOKAHEAD)
    if not scan:
        raise EmptyFile(
            f"{source.where()} contains no data.",
            hint="check that you uploaded the right file or chose the right sheet",
            filename=source.filename,
            sheet=source.sheet,
        )
    # found on the rows as stored: a title merged across the table counts as one cell
    header_at = find_header(scan)
    if header_at is None:
        raise NoHeader(
            f"No header row found in the first {HEADER_SCAN_ROWS} rows of {source.where()}.",
            hint="the table needs a first row naming each column, such as 'Case ID', 'Country'",
            filename=source.filename,
            sheet=source.sheet,
        )
    filled = _fill_merges(scan, merges)
    header_rows = [header_at]
    names = [clean_name(v) for v in filled[header_at][1]]
    second = header_at + 1
    if second < len(filled) and filled[second][0] == filled[header_at][0] + 1:
        if _is_sub_header(scan[second][1], filled, header_at, merges):
            header_rows.append(second)
            names = _combine(names, [clean_name(v) for v in filled[second][1]])
        elif _is_label_row(scan, header_at, hidden_rows):
            header_rows.append(second)
            # a field the hidden row forgot to name (HTCDS 2.0 has one) keeps its label
            labels = [clean_name(v) for v in scan[second][1]]
            names = [n or _at(labels, i) for i, n in enumerate(names)]
    header_numbers = tuple(filled[i][0] for i in header_rows)
    names = _number_merged_duplicates(names, header_numbers, merges)

    body = itertools.chain(scan[header_rows[-1] + 1 :], it)
    named = [i for i, n in enumerate(names) if n]
    data, numbers = _read_body(body, names, named, source, max_rows)
    return _assemble(names, data, numbers, tuple(header_numbers), source, unnamed)


def _take_nonblank(it: Iterator[tuple[int, Row]], n: int) -> list[tuple[int, Row]]:
    out: list[tuple[int, Row]] = []
    for number, row in it:
        if any(not is_blank(v) for v in row):
            out.append((number, row))
            if len(out) >= n:
                break
    return out


def _fill_merges(scan: list[tuple[int, Row]], merges: Sequence[Merge]) -> list[tuple[int, Row]]:
    """Copy each merged range's value into its covered cells, for the rows scanned only.

    Data rows are left as stored: a merge over data cells is layout, and copying it would
    put words into a partner's mouth.
    """
    if not merges:
        return scan
    by_number = {number: list(row) for number, row in scan}
    last = scan[-1][0]
    for m in merges:
        top = by_number.get(m.first_row)
        if top is None or m.first_col >= len(top):
            continue
        value = top[m.first_col]
        # a merge may run down a whole column of data: only the scanned rows matter here
        for r in range(m.first_row, min(m.last_row, last) + 1):
            row = by_number.get(r)
            if row is None:
                continue
            for c in range(m.first_col, min(m.last_col + 1, len(row))):
                if is_blank(row[c]):
                    row[c] = value
    return [(number, by_number[number]) for number, _ in scan]


def _reference_width(scan: Sequence[tuple[int, Row]], at: int) -> int:
    following = scan[at + 1 : at + 1 + _WIDTH_LOOKAHEAD]
    counts = [sum(1 for v in row if not is_blank(v)) for _, row in following]
    return max(counts, default=0)


def find_header(scan: Sequence[tuple[int, Row]]) -> int | None:
    """Index in `scan` (non-blank rows) of the first row that reads as a header, if any.

    A header has values in at least half the width of the rows below it (so a title row
    above it is skipped) and is mostly labels rather than numbers or dates.
    """
    for at in range(min(len(scan), HEADER_SCAN_ROWS)):
        if looks_like_header(scan[at][1], _reference_width(scan, at)):
            return at
    return None


def _is_sub_header(
    original: Row, scan: list[tuple[int, Row]], at: int, merges: Sequence[Merge]
) -> bool:
    """A second header row: labels only under header cells merged across columns.

    Judged on the row as stored (before merge filling): a data row has values outside the
    spanning cells too, and reading one as a header would turn cell values into column
    names, which messages are allowed to show.
    """
    number = scan[at][0]
    spans = [m for m in merges if m.first_row <= number <= m.last_row and m.last_col > m.first_col]
    under = {c for m in spans for c in range(m.first_col, m.last_col + 1)}
    filled = [c for c, v in enumerate(original) if not is_blank(v)]
    return bool(filled) and all(c in under and is_text(original[c]) for c in filled)


def _is_label_row(scan: list[tuple[int, Row]], at: int, hidden_rows: frozenset[int]) -> bool:
    """A hidden row of field names above the visible labels (the HTCDS templates' layout).

    The hidden names are the standard's system identifiers, meant for mapping and kept
    when labels are translated, so they name the columns and the label row is skipped.
    """
    number = scan[at][0]
    if number not in hidden_rows or number + 1 in hidden_rows:
        return False
    below = scan[at + 1][1]
    return looks_like_header(below, _reference_width(scan, at + 1)) and all(
        is_text(v) for v in below if not is_blank(v)
    )


def _combine(top: list[str], below: list[str]) -> list[str]:
    """'Exploitation' over 'Type' gives 'Exploitation Type'; a vertically merged cell once."""
    width = max(len(top), len(below))
    out = []
    for i in range(width):
        parts = [p for p in (_at(top, i), _at(below, i)) if p]
        if len(parts) == 2 and parts[0] == parts[1]:
            parts = parts[:1]
        out.append(" ".join(parts))
    return out


def _number_merged_duplicates(
    names: list[str], header_numbers: tuple[int, ...], merges: Sequence[Merge]
) -> list[str]:
    """Equal names produced by one merged header cell become 'X 1', 'X 2', …"""
    out = list(names)
    for m in merges:
        if not any(m.first_row <= n <= m.last_row for n in header_numbers):
            continue
        cols = range(m.first_col, min(m.last_col + 1, len(out)))
        counts = Counter(out[c] for c in cols if out[c])
        seen: Counter[str] = Counter()
        for c in cols:
            if out[c] and counts[out[c]] > 1:
                seen[out[c]] += 1
                out[c] = f"{out[c]} {seen[out[c]]}"
    return out


def _read_body(
    body: Iterable[tuple[int, Row]],
    names: list[str],
    named: list[int],
    source: GridSource,
    max_rows: int,
) -> tuple[list[list[str]], list[int]]:
    width = len(names)
    data: list[list[str]] = []
    numbers: list[int] = []
    for number, row in body:
        if len(row) > width:
            extra = row[width:]
            # a value beyond the last column would be lost: refuse rather than drop it
            if any(not is_blank(v) for v in extra):
                raise RowTooLong(
                    f"Row {number} of {source.where()} has {len(row)} cells but the header "
                    f"names {width} columns.",
                    hint="check that row for an unquoted delimiter or a value outside the table",
                    filename=source.filename,
                    sheet=source.sheet,
                    row=number,
                )
            row = row[:width]
        if not any(not is_blank(row[i]) for i in named if i < len(row)):
            continue
        if len(data) >= max_rows:
            raise TooManyRows(
                f"{source.where()} has more than {max_rows:,} data rows.",
                hint="split it into several uploads",
                filename=source.filename,
                sheet=source.sheet,
            )
        cells = [render(v) for v in row]
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        data.append(cells)
        numbers.append(number)
    return data, numbers


def _assemble(
    names: list[str],
    data: list[list[str]],
    numbers: list[int],
    header_rows: tuple[int, ...],
    source: GridSource,
    unnamed: Callable[[int], str],
) -> RawTable:
    columns: list[str] = []
    values: list[tuple[str, ...]] = []
    transposed: Iterator[tuple[str, ...]] = (
        iter(zip(*data, strict=True)) if data else iter([()] * len(names))
    )
    for i, (name, column) in enumerate(zip(names, transposed, strict=True)):
        if not name:
            if not any(column):
                continue  # an empty column without a header: trailing delimiters, formatting
            name = unnamed(i)
        columns.append(name)
        values.append(column)
    check_unique(columns, source)
    return RawTable(
        frame=frame_from_columns(columns, values),
        source_rows=tuple(numbers),
        format=source.format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        sheet=source.sheet,
        sheets=source.sheets,
        header_rows=header_rows,
    )


def frame_from_columns(names: Sequence[str], columns: Sequence[Sequence[str]]) -> pd.DataFrame:
    """A DataFrame of object columns holding str (not pandas' own string dtype), in order."""
    return pd.DataFrame(
        {
            name: pd.Series(list(col), dtype=object)
            for name, col in zip(names, columns, strict=True)
        },
        columns=pd.Index(list(names), dtype=object),
    )


def check_unique(columns: Sequence[str], source: GridSource) -> None:
    dupes = [name for name, n in Counter(columns).items() if n > 1]
    if dupes:
        listed = ", ".join(f"'{d}'" for d in dupes)
        raise DuplicateColumns(
            f"{source.where()} has more than one column named {listed}.",
            hint="rename the columns so that each name is used once",
            filename=source.filename,
            sheet=source.sheet,
            column=dupes[0],
        )


def _at(values: Sequence[str], i: int) -> str:
    return values[i] if i < len(values) else ""
