"""Read one sheet of an Excel (.xlsx/.xlsm/.xls) or OpenDocument (.ods) workbook into a RawTable."""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from xml.etree import ElementTree

import python_calamine as calamine

from ingest import progress
from ingest.errors import (
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    PasswordProtected,
    SheetNotFound,
)
from ingest.grid import (
    HEADER_SCAN_ROWS,
    GridSource,
    Merge,
    Row,
    build_table,
    find_header,
    is_blank,
    too_many_columns,
)
from ingest.limits import DEFAULT_LIMITS, Limits
from ingest.table import RawTable

#: the defaults of `Limits`, kept under their old names
MAX_EXPANSION_RATIO = DEFAULT_LIMITS.max_expansion_ratio
MAX_UNCOMPRESSED_BYTES = DEFAULT_LIMITS.max_uncompressed_bytes
RATIO_CHECK_FLOOR_BYTES = DEFAULT_LIMITS.ratio_check_floor_bytes
#: rows between two progress reports
_PROGRESS_ROWS = 20_000

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# the OLE2 directory entry of an encrypted (password-protected) .xlsx, in UTF-16LE
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
# a BIFF5/8 workbook globals BOF record; an encrypted .xls has FILEPASS (0x002F) right after
_BIFF_GLOBALS_BOF = re.compile(rb"\x09\x08(..)\x00[\x05\x06]\x05\x00", re.DOTALL)
_FILEPASS = b"\x2f\x00"


def check_zip_expansion(
    data: bytes, filename: str, *, limits: Limits = DEFAULT_LIMITS
) -> zipfile.ZipFile:
    """Open a zip-based workbook after checking what its entries declare they expand to.

    This runs before any parser sees the file, so a zip bomb is refused without being
    inflated.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        declared = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _corrupt(filename) from None
    if declared > limits.max_uncompressed_bytes or (
        declared > limits.ratio_check_floor_bytes
        and declared > limits.max_expansion_ratio * len(data)
    ):
        raise FileTooLarge(
            f"{filename} would expand to {declared / 1_048_576:,.0f} MB when opened "
            f"(from {len(data) / 1_048_576:,.1f} MB); the limit is "
            f"{limits.max_uncompressed_bytes // 1_048_576} MB and "
            f"{limits.max_expansion_ratio} times the file size.",
            hint="remove unused sheets and formatting, or export the table as CSV",
            filename=filename,
        )
    return archive


def read_workbook(
    data: bytes,
    filename: str,
    fmt: str,
    *,
    sheet: str | None,
    limits: Limits = DEFAULT_LIMITS,
) -> RawTable:
    """Read `sheet` (by name), or else the first visible worksheet that holds a table."""
    archive = check_zip_expansion(data, filename, limits=limits) if fmt in ("xlsx", "ods") else None
    if fmt == "xls" and (_ENCRYPTED_PACKAGE in data or _has_filepass(data)):
        raise _password(filename)
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except calamine.PasswordError:
        raise _password(filename) from None
    except BaseException as err:
        # from None here and below: a parser's message may quote the cell it choked on
        if _parser_failure(err) or isinstance(err, ValueError | OSError):
            raise _corrupt(filename) from None
        raise
    with book:
        names = tuple(book.sheet_names)
        try:
            chosen = _choose_sheet(book, names, sheet, filename)
            ws = book.get_sheet_by_name(chosen)
            source = GridSource(filename=filename, format=fmt, sheet=chosen, sheets=names)
            if ws.width > limits.max_columns:
                # every row comes as wide as the sheet: refused before one is read
                raise too_many_columns(source, ws.width, limits)
            start = ws.start
            merges = _merges(ws, start)
            rows = _rows(ws, start, len(data))
            hidden = (
                _hidden_rows(archive, chosen)
                if archive is not None and fmt == "xlsx"
                else frozenset()
            )
            col0 = start[1] if start else 0
            return build_table(
                rows,
                source,
                limits=limits,
                unnamed=lambda i: f"column_{column_letter(col0 + i)}",
                merges=merges,
                hidden_rows=hidden,
            )
        except BaseException as err:
            if _parser_failure(err):
                raise _corrupt(filename) from None
            raise


def _parser_failure(err: BaseException) -> bool:
    """An error of calamine's own on a damaged file, as opposed to ours or an interrupt.

    A Rust panic inside calamine (a damaged .xls does it) reaches Python as pyo3's
    PanicException, a BaseException that cannot be imported by name: a damaged upload
    must be a rejection, not a crash of the request. Our own errors stay what they are.
    """
    return isinstance(err, calamine.CalamineError) or type(err).__name__ == "PanicException"


def column_letter(index: int) -> str:
    """0 → 'A', 25 → 'Z', 26 → 'AA', as Excel labels columns."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _choose_sheet(
    book: calamine.CalamineWorkbook, names: tuple[str, ...], wanted: str | None, filename: str
) -> str:
    if wanted is not None:
        if wanted in names:
            return wanted
        folded = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
        if len(folded) == 1:
            return folded[0]
        listed = ", ".join(f"'{n}'" for n in names)
        raise SheetNotFound(
            f"{filename} has no sheet named '{wanted}'; its sheets are {listed}.",
            hint="choose one of the sheets listed",
            filename=filename,
            sheet=wanted,
        )
    candidates = [
        m.name
        for m in book.sheets_metadata
        if m.typ == calamine.SheetTypeEnum.WorkSheet
        and m.visible == calamine.SheetVisibleEnum.Visible
    ]
    if not candidates:
        raise EmptyFile(
            f"{filename} has no visible worksheet.",
            hint="unhide the sheet holding the table, or name it with the sheet option",
            filename=filename,
        )
    # a header with rows under it beats a lone header (a cover sheet's title line), which
    # beats nothing; failing all, the first sheet is read and reports why it is no table
    kinds = {name: _table_kind(book.get_sheet_by_name(name)) for name in candidates}
    for wanted_kind in (2, 1):
        for name in candidates:
            if kinds[name] == wanted_kind:
                return name
    return candidates[0]


def _table_kind(ws: calamine.CalamineSheet) -> int:
    """2: a header with rows below it; 1: a header alone; 0: no header in sight."""
    top = ws.to_python(nrows=HEADER_SCAN_ROWS * 3)
    rows = [(i, row) for i, row in enumerate(top) if not all(is_blank(v) for v in row)]
    at = find_header(rows[: HEADER_SCAN_ROWS + 10])
    if at is None:
        return 0
    return 2 if at + 1 < len(rows) else 1


def _rows(
    ws: calamine.CalamineSheet, start: tuple[int, int] | None, size: int
) -> Iterator[tuple[int, Row]]:
    """(sheet row number, cells) for each row, the first column being the sheet's first used.

    Progress is reported in bytes of the file, in proportion to the rows read.
    """
    if start is None:
        return
    height = max(ws.height, 1)
    for offset, row in enumerate(ws.iter_rows()):
        if offset % _PROGRESS_ROWS == 0:
            progress.report(size * offset // height, size)
        yield start[0] + offset + 1, row
    progress.report(size, size)


def _has_filepass(data: bytes) -> bool:
    """A legacy .xls encrypted with a password: FILEPASS follows the globals' BOF record.

    calamine reports such a file as unreadable rather than protected, and the partner
    would be told the file is damaged when a password is all that stands in the way.
    """
    for bof in _BIFF_GLOBALS_BOF.finditer(data):
        after = bof.start() + 4 + int.from_bytes(bof.group(1), "little")
        if data[after : after + 2] == _FILEPASS:
            return True
    return False


def _merges(ws: calamine.CalamineSheet, start: tuple[int, int] | None) -> tuple[Merge, ...]:
    ranges = ws.merged_cell_ranges
    if not ranges or start is None:
        return ()
    col0 = start[1]
    return tuple(
        Merge(first_row=r1 + 1, first_col=c1 - col0, last_row=r2 + 1, last_col=c2 - col0)
        for (r1, c1), (r2, c2) in ranges
        if c2 >= col0
    )


def _hidden_rows(archive: zipfile.ZipFile, sheet: str) -> frozenset[int]:
    """Hidden rows among the first ones of an .xlsx sheet, read from its XML.

    calamine does not report row visibility; the HTCDS templates keep their field names in
    a hidden first row. Only the top of the sheet is parsed; anything unexpected means
    "no hidden rows", never an error.
    """
    try:
        path = _sheet_path(archive, sheet)
        if path is None:
            return frozenset()
        hidden: set[int] = set()
        number = 0
        with archive.open(path) as stream:
            for _event, elem in ElementTree.iterparse(stream, events=("end",)):
                if elem.tag == f"{_MAIN_NS}row":
                    # "r" is optional; without it a row follows the previous one
                    number = int(elem.get("r") or number + 1)
                    if elem.get("hidden") in ("1", "true"):
                        hidden.add(number)
                    if number > HEADER_SCAN_ROWS * 2:
                        break
                    elem.clear()
                elif elem.tag == f"{_MAIN_NS}sheetData":
                    break
        return frozenset(hidden)
    except (KeyError, ValueError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return frozenset()


def _sheet_path(archive: zipfile.ZipFile, sheet: str) -> str | None:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    rel_id = next(
        (
            s.get(f"{_REL_NS}id")
            for s in workbook.iter(f"{_MAIN_NS}sheet")
            if s.get("name") == sheet
        ),
        None,
    )
    if rel_id is None:
        return None
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels.iter(f"{_PKG_REL_NS}Relationship"):
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            if target.startswith("/"):
                return target.lstrip("/")
            return posixpath.normpath(posixpath.join("xl", target))
    return None


def _corrupt(filename: str) -> CorruptFile:
    return CorruptFile(
        f"{filename} looks like a spreadsheet but could not be opened; it may be damaged.",
        hint="open it in Excel or LibreOffice and save it again as .xlsx, or export it as CSV",
        filename=filename,
    )


def _password(filename: str) -> PasswordProtected:
    return PasswordProtected(
        f"{filename} is protected by a password and cannot be read.",
        hint="remove the password in Excel, File > Info > Protect Workbook, and upload it again",
        filename=filename,
    )
