"""Turn a grid of cells (CSV records or sheet rows) into a RawTable: find the header, name columns.

Shared by the CSV, Excel and JSON-array readers so all skip title rows, name unnamed
columns, reject duplicates and apply the limits the same way. `build_table` reads row by
row; the fast CSV path (`ingest.delimited`) reads whole columns with `read_header`,
`assemble` and the error builders here, and must give the same table or the same error.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.cells import render
from ingest.errors import (
    CellTooLong,
    DuplicateColumns,
    EmptyFile,
    IngestRejected,
    NoHeader,
    NulCharacter,
    RowTooLong,
    TooManyColumns,
    TooManyRows,
)
from ingest.limits import Limits
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
#: a column of cells: a sequence of str, or an object ndarray of str (the fast CSV path)
Column = Sequence[str] | np.ndarray


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


@dataclass(frozen=True)
class Header:
    """The header a grid was found to have."""

    #: one per grid column, "" where the header cell is empty
    names: tuple[str, ...]
    #: the 1-based source rows that formed it (two for a merged two-row header)
    rows: tuple[int, ...]
    #: index, in the scanned rows, of the first row below the header
    body_from: int

    def label(self, index: int, unnamed: Callable[[int], str]) -> str:
        """How messages name grid column `index` in a row below the header."""
        name = self.names[index] if index < len(self.names) else ""
        return name or unnamed(index)


def build_table(
    rows: Iterable[tuple[int, Row]],
    source: GridSource,
    *,
    limits: Limits,
    unnamed: Callable[[int], str],
    merges: Sequence[Merge] = (),
    hidden_rows: frozenset[int] = frozenset(),
    text_cells: bool = False,
) -> RawTable:
    """Read a header then data from (source row number, cells) pairs.

    `unnamed(i)` names column i when its header cell is empty (e.g. "column_C"); such a
    column is kept only if some row has a value in it. Blank rows, and rows with values
    only under unnamed columns (e.g. a template's pre-numbered rows), are not records.
    `text_cells` says the cells are already NUL-free strings (decoded, checked text).
    """
    it = iter(rows)
    header, scan = read_header(
        it,
        source,
        limits=limits,
        unnamed=unnamed,
        merges=merges,
        hidden_rows=hidden_rows,
        text_cells=text_cells,
    )
    body = itertools.chain(scan[header.body_from :], it)
    data, numbers = _read_body(body, header, source, limits, unnamed, text_cells)
    columns: list[Column] = list(zip(*data, strict=True)) if data else [()] * len(header.names)
    return assemble(header, columns, numbers, source, unnamed, limits)


def read_header(
    it: Iterator[tuple[int, Row]],
    source: GridSource,
    *,
    limits: Limits,
    unnamed: Callable[[int], str],
    merges: Sequence[Merge] = (),
    hidden_rows: frozenset[int] = frozenset(),
    text_cells: bool = False,
) -> tuple[Header, list[tuple[int, Row]]]:
    """Find the header among the first non-blank rows; return it and the rows scanned.

    Every row passed over, blank or not, is checked against the cell limits; a cell over
    them is reported once the header is known, so that the message can name its column.
    """
    scan, problem = _take_nonblank(it, HEADER_SCAN_ROWS + _WIDTH_LOOKAHEAD, limits, text_cells)
    if not scan:
        if problem is not None:
            raise _cell_error(problem, source, limits, unnamed)
        raise EmptyFile(
            f"{source.where()} contains no data.",
            hint="check that you uploaded the right file or chose the right sheet",
            filename=source.filename,
            sheet=source.sheet,
        )
    # found on the rows as stored: a title merged across the table counts as one cell
    header_at = find_header(scan)
    if header_at is None:
        if problem is not None:
            raise _cell_error(problem, source, limits, unnamed)
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
    header = Header(tuple(names), header_numbers, header_rows[-1] + 1)
    named_width = max((i + 1 for i, n in enumerate(names) if n), default=0)
    if named_width > limits.max_columns:
        raise too_many_columns(source, named_width, limits)
    if problem is not None:
        raise _cell_error(problem, source, limits, unnamed, header)
    return header, scan


#: (source row number, column index, what: "long" or "nul", cell length)
CellProblem = tuple[int, int, str, int]


class CellOverflow(Exception):
    """Raised by a row source whose parser cannot even hold a cell (the csv module stops
    at 128 Ki characters); the grid reports it like any cell over the limit."""

    def __init__(self, number: int, index: int, length: int) -> None:
        super().__init__(number, index, length)
        self.problem: CellProblem = (number, index, "long", length)


def _take_nonblank(
    it: Iterator[tuple[int, Row]], n: int, limits: Limits, text_cells: bool
) -> tuple[list[tuple[int, Row]], CellProblem | None]:
    """Up to n non-blank rows, and the first cell over the limits among all rows read.

    Reading goes on past such a cell (at most n rows), so that the header is still found
    and the message can name the cell's column.
    """
    out: list[tuple[int, Row]] = []
    first: CellProblem | None = None
    try:
        for number, row in it:
            if first is None:
                cells = row if text_cells else [render(v) for v in row]
                problem = cell_problem(cells, limits, check_nul=not text_cells)  # type: ignore[arg-type]
                if problem is not None:
                    first = (number, *problem)
            if any(not is_blank(v) for v in row):
                out.append((number, row))
                if len(out) >= n:
                    break
    except CellOverflow as over:
        # the source cannot go on: the header is looked for in what was read
        return out, first or over.problem
    except IngestRejected:
        if first is None:
            raise
        # a later row is unreadable, but a cell above it was over the limits: that comes first
    return out, first


def cell_problem(
    cells: Sequence[str], limits: Limits, *, check_nul: bool = True
) -> tuple[int, str, int] | None:
    """(column index, "long" or "nul", length) of the first cell over the limits, if any."""
    limit = limits.max_cell_chars
    if sum(map(len, cells)) > limit:
        for i, cell in enumerate(cells):
            if len(cell) > limit:
                return i, "long", len(cell)
    if check_nul and "\x00" in "".join(cells):
        for i, cell in enumerate(cells):
            if "\x00" in cell:
                return i, "nul", len(cell)
    return None


def _cell_error(
    problem: CellProblem,
    source: GridSource,
    limits: Limits,
    unnamed: Callable[[int], str],
    header: Header | None = None,
) -> IngestRejected:
    number, index, what, length = problem
    below = header is not None and number > header.rows[-1]
    label = header.label(index, unnamed) if header is not None and below else unnamed(index)
    if what == "nul":
        return NulCharacter(
            f"Row {number} of {source.where()}, column '{label}', contains a NUL character "
            "(byte 0), which a table cell cannot hold; the file may be damaged.",
            hint="check that cell, then save the file again from your spreadsheet program",
            filename=source.filename,
            sheet=source.sheet,
            row=number,
            column=label,
        )
    return cell_too_long(source, number, label, length, limits)


def cell_too_long(
    source: GridSource, number: int, label: str, length: int, limits: Limits
) -> CellTooLong:
    return CellTooLong(
        f"Row {number} of {source.where()}, column '{label}', holds {length:,} characters; "
        f"a cell may hold at most {limits.max_cell_chars:,}.",
        hint="check that cell for a pasted document or a quote (\") that is never closed; "
        "leave long free text out of the extract",
        filename=source.filename,
        sheet=source.sheet,
        row=number,
        column=label,
    )


def too_many_columns(source: GridSource, width: int, limits: Limits) -> TooManyColumns:
    return TooManyColumns(
        f"{source.where()} has {width:,} columns; the limit is {limits.max_columns:,}.",
        hint="upload only the columns the collaborative needs, or delete unused columns "
        "to the right of the table",
        filename=source.filename,
        sheet=source.sheet,
    )


def too_many_rows(source: GridSource, limits: Limits) -> TooManyRows:
    return TooManyRows(
        f"{source.where()} has more than {limits.max_rows:,} data rows.",
        hint="split it into several uploads",
        filename=source.filename,
        sheet=source.sheet,
    )


def row_too_long(source: GridSource, number: int, cells: int, width: int) -> RowTooLong:
    return RowTooLong(
        f"Row {number} of {source.where()} has {cells} cells but the header "
        f"names {width} columns.",
        hint="check that row for an unquoted delimiter or a value outside the table",
        filename=source.filename,
        sheet=source.sheet,
        row=number,
    )


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
    header: Header,
    source: GridSource,
    limits: Limits,
    unnamed: Callable[[int], str],
    text_cells: bool,
) -> tuple[list[list[str]], list[int]]:
    """Rows below the header, in order: per row the cell limits, then its width, then
    whether it is blank, then the row limit; the first problem met is the one reported."""
    data: list[list[str]] = []
    numbers: list[int] = []
    try:
        _read_rows(body, header, source, limits, unnamed, text_cells, data, numbers)
    except CellOverflow as over:
        raise _cell_error(over.problem, source, limits, unnamed, header) from None
    return data, numbers


def _read_rows(
    body: Iterable[tuple[int, Row]],
    header: Header,
    source: GridSource,
    limits: Limits,
    unnamed: Callable[[int], str],
    text_cells: bool,
    data: list[list[str]],
    numbers: list[int],
) -> None:
    width = len(header.names)
    named = [i for i, n in enumerate(header.names) if n]
    for number, row in body:
        cells: list[str] = row if text_cells else [render(v) for v in row]  # type: ignore[assignment]
        problem = cell_problem(cells, limits, check_nul=not text_cells)
        if problem is not None:
            raise _cell_error((number, *problem), source, limits, unnamed, header)
        if len(cells) > width:
            # a value beyond the last column would be lost: refuse rather than drop it
            if any(not is_blank(v) for v in cells[width:]):
                raise row_too_long(source, number, len(cells), width)
            cells = cells[:width]
        if not any(not is_blank(cells[i]) for i in named if i < len(cells)):
            continue
        if len(data) >= limits.max_rows:
            raise too_many_rows(source, limits)
        if len(cells) < width:
            cells = [*cells, *[""] * (width - len(cells))]
        data.append(cells)
        numbers.append(number)


def assemble(
    header: Header,
    columns: Sequence[Column],
    numbers: Sequence[int],
    source: GridSource,
    unnamed: Callable[[int], str],
    limits: Limits,
) -> RawTable:
    """The RawTable of a grid's data columns (one per header cell, in order)."""
    named = name_columns(header, lambda i: _any_value(columns[i]), unnamed, source, limits)
    frame = frame_from_columns([n for _, n in named], [columns[i] for i, _ in named])
    return table_of(frame, numbers, header, source)


def name_columns(
    header: Header,
    has_value: Callable[[int], bool],
    unnamed: Callable[[int], str],
    source: GridSource,
    limits: Limits,
) -> list[tuple[int, str]]:
    """(grid column index, name) of each column of the table.

    An unnamed column is named by `unnamed` if it holds a value and dropped if not.
    """
    named: list[tuple[int, str]] = []
    for i, name in enumerate(header.names):
        if not name:
            if not has_value(i):
                continue  # an empty column without a header: trailing delimiters, formatting
            name = unnamed(i)
        named.append((i, name))
    if len(named) > limits.max_columns:
        raise too_many_columns(source, len(named), limits)
    check_unique([name for _, name in named], source)
    return named


def table_of(
    frame: pd.DataFrame, numbers: Sequence[int], header: Header, source: GridSource
) -> RawTable:
    return RawTable(
        frame=frame,
        source_rows=tuple(numbers),
        format=source.format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        sheet=source.sheet,
        sheets=source.sheets,
        header_rows=header.rows,
    )


def _any_value(column: Column) -> bool:
    if isinstance(column, np.ndarray):
        return bool(column.astype(bool).any())
    return any(column)


def frame_from_columns(names: Sequence[str], columns: Sequence[Column]) -> pd.DataFrame:
    """A DataFrame of object columns holding str (not pandas' own string dtype), in order."""
    return pd.DataFrame(
        {
            name: pd.Series(col if isinstance(col, np.ndarray) else list(col), dtype=object)
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
