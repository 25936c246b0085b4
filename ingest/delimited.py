"""Read delimited text (CSV, TSV, semicolon- or pipe-separated) into a RawTable of exact strings.

Two readers give the same table, or the same error, for the same text:

- row by row with the csv module (`read_rows`): the reference, used for anything unusual;
- column-wise with pandas' C parser (`_ColumnReader`), about 8x faster on big extracts
  (bench/RESULTS.md). It is used only when every quote in the text is well formed — so
  that both parsers split it into the same records — and it hands over to the row-by-row
  reader when a row is wider than the header or pandas objects to anything.

The header (title rows, names) is found the same way by both, on the first records, and
tests/ingest/test_delimited_paths.py checks with hypothesis that the two agree.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest import progress
from ingest.errors import CorruptFile, EmptyFile
from ingest.grid import (
    CellOverflow,
    GridSource,
    Header,
    Row,
    build_table,
    cell_too_long,
    name_columns,
    read_header,
    table_of,
    too_many_rows,
)
from ingest.limits import Limits
from ingest.table import RawTable

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_BLANK = " \t\r\n" + "".join(DELIMITERS)
#: characters of the file looked at to choose the delimiter
_SAMPLE_CHARS = 256 * 1024
#: records of the sample looked at to choose the delimiter
_SAMPLE_RECORDS = 200
#: records pandas hands over at a time (each block is checked before the next is read)
_CHUNK_ROWS = 200_000
#: lines between two progress reports of the row-by-row reader
_PROGRESS_LINES = 100_000
# one physical line, with its end: csv (like a file opened with newline="") splits there only
_LINE = re.compile(r"[^\r\n]*+(?:\r\n?|\n)?")


def read_delimited(
    text: str,
    filename: str,
    *,
    encoding: str,
    limits: Limits,
    prefer: str | None = None,
    data: bytes | None = None,
) -> RawTable:
    """Parse decoded text; `prefer` is the delimiter the extension suggests (tab for .tsv).

    `data`, the bytes that `encoding` decoded into `text`, enables the fast column-wise
    reader; without it every row goes through the csv module.
    """
    if data is None:
        return read_rows(text, _source(text, filename, encoding, prefer), limits)
    return read_decoded(Decoded(text, encoding, data), filename, limits=limits, prefer=prefer)


def read_decoded(
    decoded: Decoded, filename: str, *, limits: Limits, prefer: str | None = None
) -> RawTable:
    """As `read_delimited`; the text is let go of while pandas reads the bytes.

    The caller keeps no other reference to `decoded.text`, so a big file is not held in
    memory twice (bytes and text) while the table is built.
    """
    plan = _plan(decoded.get(), decoded.data, filename, decoded.encoding, prefer, limits)
    if isinstance(plan, _ColumnReader):
        decoded.drop()
        try:
            return plan.read()
        except _HandOver:
            source = plan.source
    else:
        source = plan
    return read_rows(decoded.get(), source, limits)


@dataclass
class Decoded:
    """A file's bytes and their decoding, which a reader may drop and decode again."""

    text: str | None
    encoding: str
    data: bytes

    def get(self) -> str:
        if self.text is None:
            # the same codec on the same bytes: the same text (the BOM, if any, left out)
            self.text = self.data.decode(self.encoding)
        return self.text

    def drop(self) -> None:
        self.text = None


def _source(text: str, filename: str, encoding: str, prefer: str | None) -> GridSource:
    delimiter = sniff_delimiter(text, prefer=prefer)
    if delimiter is None:
        raise EmptyFile(
            f"{filename} contains no data: its lines are empty or hold only delimiters.",
            hint="check that you uploaded the right file",
            filename=filename,
        )
    return GridSource(filename=filename, format="csv", encoding=encoding, delimiter=delimiter)


def read_rows(text: str, source: GridSource, limits: Limits) -> RawTable:
    """The reference reader: record by record through the csv module."""
    assert source.delimiter is not None
    return build_table(
        _records(text, source.delimiter, source.filename, report=True),
        source,
        limits=limits,
        unnamed=_unnamed,
        text_cells=True,
    )


def _unnamed(i: int) -> str:
    return f"column_{i + 1}"


def sniff_delimiter(text: str, *, prefer: str | None = None) -> str | None:
    """The delimiter under which the sample's rows agree best on their number of fields.

    Each candidate parses the sample (quotes respected). First criterion: the share of
    records as wide as the first record (the header), when the header splits at all;
    a delimiter that does not occur in the header is not the delimiter. This is what tells
    a French ';' file from ',' despite decimal commas such as "17,5": with ',' the width
    varies from row to row and disagrees with the header. Then the share of records having
    the most common width (a title line above the header), then the width. The
    extension's suggestion, and then csv.Sniffer, only break exact ties. None when no
    record holds anything but delimiters and whitespace.
    """
    sample = _sample(text)
    scores: dict[str, tuple[float, float, int]] = {}
    for d in DELIMITERS:
        # a record of nothing but delimiters (";;;") is blank whichever delimiter is tried
        widths = [len(r) for r in _sample_records(sample, d) if any(c.strip(_BLANK) for c in r)]
        if not widths:
            continue
        header, rest = widths[0], widths[1:]
        anchored = (
            (sum(w == header for w in rest) / len(rest) if rest else 1.0) if header > 1 else 0.0
        )
        # the most common width; between equally common ones the wider (a title line
        # above a lone header row is as common as the header, and narrower)
        width, n = max(Counter(widths).items(), key=lambda wn: (wn[1], wn[0]))
        scores[d] = (anchored, n / len(widths) if width > 1 else 0.0, width)
    if not scores:
        return None  # not one record with a value in it
    if max(s[2] for s in scores.values()) <= 1:
        return prefer or ","
    best = max(scores.values())
    tied = [d for d in DELIMITERS if scores.get(d) == best]
    if len(tied) == 1:
        return tied[0]
    if prefer in tied:
        return prefer
    sniffed = _csv_sniffer(sample)
    return sniffed if sniffed in tied else tied[0]


def _sample(text: str) -> str:
    if len(text) <= _SAMPLE_CHARS:
        return text
    cut = text.rfind("\n", 0, _SAMPLE_CHARS)
    return text[: cut if cut > 0 else _SAMPLE_CHARS]


def _sample_records(sample: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, strict=False)
    out = []
    try:
        for record in reader:
            out.append(record)
            if len(out) >= _SAMPLE_RECORDS:
                break
    except csv.Error:
        pass  # a delimiter that cannot even parse the sample simply scores what it read
    return out


def _csv_sniffer(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample[:65536], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return None


class _Lines:
    """The physical lines of `text`, each with its line end ("\\r\\n", "\\r" or "\\n").

    Unlike io.StringIO, which copies the whole text into four bytes per character before
    the first line is read, this holds nothing but the line it yields. `pos` is where
    the next line starts.
    """

    def __init__(self, text: str, *, report: bool) -> None:
        self.text = text
        self.pos = 0
        self.report = report
        self.count = 0

    def __iter__(self) -> Iterator[str]:
        text, end = self.text, len(self.text)
        while self.pos < end:
            match = _LINE.match(text, self.pos)
            assert match is not None  # the pattern matches the empty string
            start, self.pos = self.pos, match.end()
            yield text[start : self.pos]
            self.count += 1
            if self.report and self.count % _PROGRESS_LINES == 0:
                progress.report(self.pos, end)


def _records(
    text: str, delimiter: str, filename: str, *, report: bool = False
) -> Iterator[tuple[int, Row]]:
    """(record number, cells); the first record is 1, a blank line counts as a record."""
    lines = _Lines(text, report=report and progress.listening())
    # strict: an unbalanced quote must stop the read, not swallow the rest of the file
    reader = csv.reader(iter(lines), delimiter=delimiter, quotechar='"', strict=True)
    number = 0
    while True:
        start = lines.pos  # the reader stops at the end of a record: the next starts here
        try:
            record = next(reader)
        except StopIteration:
            if report:
                progress.report(len(text), len(text))
            return
        except csv.Error as err:
            # the csv module's message can quote the row, so only its position is reported
            if str(err).startswith("field larger than field limit"):
                raise _overflow(text, start, delimiter, number + 1) from None
            raise CorruptFile(
                f'Row {number + 1} of {filename} could not be parsed: a quote (") is '
                "misplaced or never closed.",
                hint="check the quotes in that row, or save the file again from your "
                "spreadsheet program",
                filename=filename,
                row=number + 1,
            ) from None
        number += 1
        yield number, record


def _overflow(text: str, start: int, delimiter: str, number: int) -> CellOverflow:
    """Which cell of the record at `start` is beyond the csv module's field limit.

    The record is walked field by field with regular expressions (quoted: up to its
    closing quote, or the end of the text when there is none; unquoted: up to the next
    delimiter or line end) until a field longer than the limit is met.
    """
    unquoted = _unquoted_field(delimiter)
    limit = csv.field_size_limit()
    pos, index = start, 0
    while True:
        quoted = text.startswith('"', pos)
        match = (_QUOTED_FIELD if quoted else unquoted).match(text, pos)
        assert match is not None  # both patterns match the empty string
        field = match.group()
        if quoted:  # without its quotes (the closing one may be missing), quotes undoubled
            closed = len(field) > 1 and field.endswith('"')
            field = field[1 : -1 if closed else None].replace('""', '"')
        length = len(field)
        if length > limit or match.end() >= len(text) or text[match.end()] != delimiter:
            return CellOverflow(number, index, length)
        pos, index = match.end() + 1, index + 1


_QUOTED_FIELD = re.compile(r'"(?:[^"]++|"")*+"?')


@functools.cache
def _unquoted_field(delimiter: str) -> re.Pattern[str]:
    return re.compile(f"[^{re.escape(delimiter)}\\r\\n]*+")


# --- the fast, column-wise reader ---------------------------------------------------------


@functools.cache
def _quoting_patterns(delimiter: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Two patterns matching the whole text iff every quote is where strict csv accepts it.

    Tokens: a run without quotes; a quoted field — opening at the start of a field, quotes
    inside doubled, closed right before a delimiter, a line end or the end of the text;
    and, for the second pattern only, a quote inside an unquoted field (`ab"c`, kept as
    is by both parsers). pandas, unlike strict csv, would quietly join `"ab"c` into `abc`:
    such text matches neither.
    """
    d = re.escape(delimiter)
    edge, inside = f"[{d}\\r\\n]", f"[^{d}\\r\\n]"
    quoted = f'(?<!{inside})"[^"]*+(?:""[^"]*+)*+"(?={edge}|\\Z)'
    return (
        re.compile(f'(?:{quoted}|[^"]++)*+'),
        re.compile(f'(?:{quoted}|[^"]++|(?<={inside})")*+'),
    )


def quote_style(text: str, delimiter: str) -> str | None:
    """"none" (no quote), "fields" (quoted fields only), "literal" (also quotes inside
    unquoted fields), or None when some quote is misplaced."""
    if '"' not in text:
        return "none"
    for style, pattern in zip(("fields", "literal"), _quoting_patterns(delimiter), strict=True):
        match = pattern.match(text)
        if match is not None and match.end() == len(text):
            return style
    return None


class _HandOver(Exception):
    """The column-wise reader cannot vouch for the result: read row by row instead."""


def _plan(
    text: str, data: bytes, filename: str, encoding: str, prefer: str | None, limits: Limits
) -> _ColumnReader | GridSource:
    """The column-wise reader for this text, ready to run; else where the rows come from.

    Everything that needs the text happens here, so that the text can be let go of once
    this returns.
    """
    source = _source(text, filename, encoding, prefer)
    delimiter = source.delimiter
    assert delimiter is not None
    style = quote_style(text, delimiter)
    if style is None:
        return source
    header, scan = read_header(
        _records(text, delimiter, source.filename),
        source,
        limits=limits,
        unnamed=_unnamed,
        text_cells=True,
    )
    sample = _sample_records(_sample(text), delimiter)
    width = max(
        max((len(r) for _, r in scan), default=0),
        max((len(r) for r in sample), default=0),
        len(header.names),
        1,
    )
    if width > max(limits.max_columns, len(header.names)):
        return source  # very wide rows: the row-by-row reader looks at them one at a time
    # one pass over the bytes tells whether any cell can be over the length limit
    single_byte_syntax = not encoding.startswith(("utf-16", "utf-32"))
    widest = (
        widest_field(data, quoted=style == "fields")
        if single_byte_syntax and style != "literal"
        else None
    )
    check_cells = widest is None or widest > limits.max_cell_chars
    return _ColumnReader(data, source, header, width, limits, check_cells)


def widest_field(data: bytes, *, quoted: bool) -> int | None:
    """A bound, in bytes, on the length of any cell: None when too costly to tell.

    An unquoted cell lies within one line, so the longest line bounds it; a quoted cell
    (with quoted fields only: no quote inside an unquoted field) spans from its opening
    to its closing quote, doubled quotes inside included. Valid for UTF-8 and the one-byte
    code pages, where these bytes are never part of another character. numpy, a few
    megabytes at a time: a fraction of the cost of measuring millions of cells.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    widest, last = 0, -1
    quote_blocks: list[np.ndarray] = []
    quote_count = 0
    for at in range(0, len(raw), _SPAN_BLOCK):
        block = raw[at : at + _SPAN_BLOCK]
        ends = np.flatnonzero((block == 10) | (block == 13))
        if len(ends):
            widest = max(widest, at + int(ends[0]) - last - 1)
            if len(ends) > 1:
                widest = max(widest, int(np.diff(ends).max()) - 1)
            last = at + int(ends[-1])
        if quoted:
            found = np.flatnonzero(block == 34)
            quote_count += len(found)
            if quote_count > _MAX_QUOTES_MEASURED:
                return None
            quote_blocks.append(found + at)
    widest = max(widest, len(raw) - last - 1)
    if quote_count:
        quotes = np.concatenate(quote_blocks)
        opens, closes = quotes[0::2], quotes[1::2]
        if len(opens) != len(closes):
            return None  # cannot happen in well-quoted text; measure cells if it does
        # a doubled quote closes a span and opens the next one right after it
        first = np.ones(len(opens), dtype=bool)
        first[1:] = opens[1:] != closes[:-1] + 1
        starts = opens[first]
        last_of_field = np.append(np.flatnonzero(first)[1:] - 1, len(opens) - 1)
        widest = max(widest, int((closes[last_of_field] - starts).max()) + 1)
    return widest


_SPAN_BLOCK = 4 * 1024 * 1024
#: beyond this many quotes (an "all quoted" export of a big file), cells are measured
_MAX_QUOTES_MEASURED = 8_000_000


class _ColumnReader:
    """pandas' C parser in blocks of records, each checked as `grid._read_body` checks rows."""

    def __init__(
        self,
        data: bytes,
        source: GridSource,
        header: Header,
        width: int,
        limits: Limits,
        check_cells: bool,
    ) -> None:
        self.data = data
        self.source = source
        self.header = header
        self.width = width
        self.limits = limits
        self.check_cells = check_cells
        self.named = [i for i, n in enumerate(header.names) if n]
        self.blocks: list[pd.DataFrame] = []
        self.numbers: list[np.ndarray] = []
        self.kept = 0

    def read(self) -> RawTable:
        buffer = io.BytesIO(self.data)  # shares the bytes, copies nothing
        try:
            reader = pd.read_csv(
                buffer,
                sep=self.source.delimiter,
                header=None,
                names=list(range(self.width)),
                index_col=False,
                dtype=object,
                na_filter=False,
                keep_default_na=False,
                skip_blank_lines=False,
                skipinitialspace=False,
                quoting=csv.QUOTE_MINIMAL,
                quotechar='"',
                doublequote=True,
                escapechar=None,
                comment=None,
                encoding=self.source.encoding,
                encoding_errors="strict",
                engine="c",
                chunksize=_CHUNK_ROWS,
            )
        except (ValueError, LookupError, UnicodeError) as err:
            raise _HandOver from err
        with reader:
            while True:
                try:
                    chunk = next(reader)
                except StopIteration:
                    break
                except (ValueError, LookupError, UnicodeError, csv.Error) as err:
                    # ParserError (a ValueError): a row wider than any seen so far, most often
                    raise _HandOver from err
                self._block(chunk)
                progress.report(buffer.tell(), len(self.data))
        return self._table()

    def _table(self) -> RawTable:
        h = len(self.header.names)
        if not self.blocks:
            frame = pd.DataFrame({j: pd.Series([], dtype=object) for j in range(h)})
        elif len(self.blocks) == 1:
            frame = self.blocks[0]
        else:
            frame = pd.concat(self.blocks, ignore_index=True)
        self.blocks.clear()
        named = name_columns(
            self.header,
            lambda i: bool(frame[i].to_numpy(dtype=object).astype(bool).any()),
            _unnamed,
            self.source,
            self.limits,
        )
        if [i for i, _ in named] != list(range(h)):
            frame = frame[[i for i, _ in named]]
        frame.columns = pd.Index([name for _, name in named], dtype=object)
        frame.index = pd.RangeIndex(len(frame))
        numbers = np.concatenate(self.numbers).tolist() if self.numbers else []
        return table_of(frame, numbers, self.header, self.source)

    def _block(self, chunk: pd.DataFrame) -> None:
        """Check and keep one block of records (record number = pandas row index + 1)."""
        first_number = int(chunk.index[0]) + 1 if len(chunk) else 1
        skip = max(0, self.header.rows[-1] + 1 - first_number)  # the header and what is above
        if skip >= len(chunk):
            return
        arrays = [chunk[j].to_numpy(dtype=object)[skip:] for j in range(self.width)]
        numbers = np.arange(first_number + skip, first_number + len(chunk))
        n = len(numbers)
        events: list[tuple[int, int, str, int]] = []  # (row, order, what, column)
        long_cell = self._first_long_cell(arrays) if self.check_cells else None
        if long_cell is not None:
            events.append((long_cell[0], 0, "cell", long_cell[1]))
        h = len(self.header.names)
        for j in range(h, self.width):
            beyond = np.flatnonzero(_nonblank(arrays[j]))
            if len(beyond):
                events.append((int(beyond[0]), 1, "row", j))
                break
        keep = self._nonblank_rows(arrays, n)
        if self.kept + len(keep) > self.limits.max_rows:
            events.append((int(keep[self.limits.max_rows - self.kept]), 2, "rows", 0))
        if events:
            at, _, what, column = min(events)
            if what == "cell":
                label = self.header.label(column, _unnamed)
                length = len(arrays[column][at])
                raise cell_too_long(self.source, int(numbers[at]), label, length, self.limits)
            if what == "rows":
                raise too_many_rows(self.source, self.limits)
            # a row wider than the header: the row-by-row reader says exactly how wide
            raise _HandOver
        if skip == 0 and len(keep) == n and h == self.width:
            self.blocks.append(chunk)  # every record kept, every column: no copy
        else:
            self.blocks.append(chunk.iloc[keep + skip, :h])
        self.numbers.append(numbers[keep])
        self.kept += len(keep)

    def _first_long_cell(self, arrays: list[np.ndarray]) -> tuple[int, int] | None:
        """(row offset, column) of the first cell over the length limit, if any."""
        limit = self.limits.max_cell_chars
        found: tuple[int, int] | None = None
        for j, column in enumerate(arrays):
            if not len(column) or max(map(len, column.tolist())) <= limit:
                continue
            lengths = np.fromiter(map(len, column), dtype=np.int64, count=len(column))
            at = int(np.flatnonzero(lengths > limit)[0])
            if found is None or at < found[0]:
                found = (at, j)
        return found

    def _nonblank_rows(self, arrays: list[np.ndarray], n: int) -> np.ndarray:
        """Offsets of the rows with a value under some named column."""
        nonblank = np.zeros(n, dtype=bool)
        for j in self.named:
            todo = np.flatnonzero(~nonblank)
            if not len(todo):
                break
            column = arrays[j] if len(todo) == n else arrays[j][todo]
            nonblank[todo[_nonblank(column)]] = True
        return np.flatnonzero(nonblank)


def _nonblank(column: np.ndarray) -> np.ndarray:
    """Cell by cell: holds something other than whitespace (grid.is_blank's negation)."""
    filled = column.astype(bool)
    if filled.any():
        where = np.flatnonzero(filled)
        spaces = np.fromiter(map(str.isspace, column[where]), dtype=bool, count=len(where))
        filled[where[spaces]] = False
    return filled
