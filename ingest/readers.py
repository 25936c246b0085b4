"""read_table: recognise an upload's format from its content and read it into a RawTable.

The file name's extension is only a hint (partners' systems routinely save CSV as ".xls");
the bytes decide.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import PurePath

from ingest import progress
from ingest.delimited import Decoded, read_decoded
from ingest.encoding import decode_text
from ingest.errors import EmptyFile, FileTooLarge, UnsupportedFormat
from ingest.excel import check_zip_expansion, read_workbook
from ingest.jsonfile import read_json
from ingest.limits import DEFAULT_LIMITS, Limits
from ingest.parquetfile import read_parquet
from ingest.table import RawTable

DEFAULT_MAX_ROWS = DEFAULT_LIMITS.max_rows

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_PARQUET = b"PAR1"
_SUPPORTED_HINT = "upload CSV, Excel .xlsx/.xls, OpenDocument .ods, JSON or Parquet"

# (leading bytes, what they are) for files that are plainly not tables
_NOT_TABLES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
    (b"{\\rtf", "an RTF document"),
    (b"SQLite format 3", "a database file"),
)
_TEXT_DELIMITER_HINTS = {".tsv": "\t", ".tab": "\t", ".psv": "|"}
_LEADING_SPACE = re.compile(r"\s*")
_MARKUP = ("<html", "<!doctype html", "<table", "<?xml", "<workbook")
_JSON_LINES_EXTENSIONS = frozenset({".ndjson", ".jsonl"})
_DELIMITED_EXTENSIONS = frozenset({".csv", ".tsv", ".tab", ".psv", ".txt"})


def read_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    max_rows: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> RawTable:
    """Read an upload as a table of exact strings.

    `sheet` chooses an Excel sheet by name (default: the first visible sheet holding a
    table); `limits` caps rows, columns, cell length, JSON nesting and sizes, and
    `max_rows`, when given, overrides `limits.max_rows`. Raises an
    `ingest.errors.IngestRejected` subclass, whose message names the file (and
    sheet/row/column) but never a cell value.
    """
    if max_rows is not None:
        limits = replace(limits, max_rows=max_rows)
    # only the base name: folders of the partner's machine are nobody's business
    name = PurePath(filename.replace("\\", "/")).name or "the upload"
    ext = PurePath(name).suffix.lower()
    if len(data) > limits.max_file_bytes:
        raise file_too_large(name, len(data), limits.max_file_bytes)
    if not data or data.isspace():
        raise EmptyFile(
            f"{name} is empty.", hint="check that you uploaded the right file", filename=name
        )
    progress.report(0, len(data))
    fmt = sniff_binary_format(data, name, limits=limits)
    if fmt == "parquet":
        return read_parquet(data, name, limits=limits)
    if fmt is not None:
        return read_workbook(data, name, fmt, sheet=sheet, limits=limits)
    _refuse_known_non_tables(data, name)
    text, encoding = decode_text(data, name)
    if not text.strip():
        raise EmptyFile(
            f"{name} is empty.", hint="check that you uploaded the right file", filename=name
        )
    _refuse_markup(text, name)
    if _first_character(text) in ("[", "{") and ext not in _DELIMITED_EXTENSIONS:
        return read_json(
            text, name, encoding=encoding, limits=limits, lines=ext in _JSON_LINES_EXTENSIONS
        )
    decoded = Decoded(text, encoding, data)
    del text  # the reader may let the text go while it builds the table from the bytes
    return read_decoded(decoded, name, limits=limits, prefer=_TEXT_DELIMITER_HINTS.get(ext))


def _first_character(text: str) -> str:
    head = _LEADING_SPACE.match(text)
    return text[head.end() : head.end() + 1] if head else text[:1]


def file_too_large(filename: str, size: int, limit: int) -> FileTooLarge:
    return FileTooLarge(
        f"{filename} is {_size(size)}; the limit is {_size(limit)}.",
        hint="split the extract into several files, or save it as .xlsx, which is smaller",
        filename=filename,
    )


def _size(n: int) -> str:
    return f"{n / 1_048_576:,.1f} MB" if n >= 1_048_576 else f"{n:,} bytes"


def sniff_binary_format(
    data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS
) -> str | None:
    """'xlsx', 'xls', 'ods' or 'parquet' from the leading bytes; None for text."""
    if data.startswith(_PARQUET) and data.endswith(_PARQUET):
        return "parquet"
    if data.startswith(_OLE2):
        return "xls"
    if data.startswith(_ZIP):
        archive = check_zip_expansion(data, filename, limits=limits)
        return _zip_kind(archive, filename)
    return None


def _zip_kind(archive: zipfile.ZipFile, filename: str) -> str:
    names = archive.namelist()
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    if "mimetype" in names:
        with archive.open("mimetype") as f:
            mimetype = f.read(100)
        if mimetype.startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
            return "ods"
    what = "a Word document" if any(n.startswith("word/") for n in names) else "a zip archive"
    raise UnsupportedFormat(
        f"{filename} is {what}, not a spreadsheet or table.",
        hint=_SUPPORTED_HINT + "; upload the table itself rather than an archive",
        filename=filename,
    )


def _refuse_known_non_tables(data: bytes, filename: str) -> None:
    for magic, what in _NOT_TABLES:
        if data.startswith(magic):
            raise UnsupportedFormat(
                f"{filename} is {what}, not a table.", hint=_SUPPORTED_HINT, filename=filename
            )


def _refuse_markup(text: str, filename: str) -> None:
    """HTML or XML saved with a spreadsheet extension (some systems' "Excel export")."""
    head = text.lstrip()[:512].lower()
    if head.startswith("<") and any(tag in head for tag in _MARKUP):
        raise UnsupportedFormat(
            f"{filename} is a web page or XML file, not a table file.",
            hint="open it in Excel and save it as .xlsx, or export the table as CSV",
            filename=filename,
        )
