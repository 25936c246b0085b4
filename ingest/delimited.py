"""Read delimited text (CSV, TSV, semicolon- or pipe-separated) into a RawTable of exact strings."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator

from ingest.errors import CorruptFile, EmptyFile
from ingest.grid import GridSource, Row, build_table
from ingest.table import RawTable

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
_BLANK = " \t\r\n" + "".join(DELIMITERS)
#: characters of the file looked at to choose the delimiter
_SAMPLE_CHARS = 256 * 1024
#: records of the sample looked at to choose the delimiter
_SAMPLE_RECORDS = 200


def read_delimited(
    text: str, filename: str, *, encoding: str, max_rows: int, prefer: str | None = None
) -> RawTable:
    """Parse decoded text; `prefer` is the delimiter the extension suggests (tab for .tsv)."""
    delimiter = sniff_delimiter(text, prefer=prefer)
    if delimiter is None:
        raise EmptyFile(
            f"{filename} contains no data: its lines are empty or hold only delimiters.",
            hint="check that you uploaded the right file",
            filename=filename,
        )
    source = GridSource(
        filename=filename,
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
    )
    return build_table(
        _records(text, delimiter, filename),
        source,
        max_rows=max_rows,
        unnamed=lambda i: f"column_{i + 1}",
    )


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
        width, n = Counter(widths).most_common(1)[0]
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


def _records(text: str, delimiter: str, filename: str) -> Iterator[tuple[int, Row]]:
    """(record number, cells); the first record is 1, a blank line counts as a record."""
    # strict: an unbalanced quote must stop the read, not swallow the rest of the file
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True
    )
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error:
            # the csv module's message can quote the row, so only its position is reported
            raise CorruptFile(
                f'Row {number + 1} of {filename} could not be parsed: a quote (") is '
                "misplaced or never closed, or a cell is too long.",
                hint="check the quotes in that row, or save the file again from your "
                "spreadsheet program",
                filename=filename,
                row=number + 1,
            ) from None
        number += 1
        yield number, record
