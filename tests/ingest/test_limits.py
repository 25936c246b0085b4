"""Every limit of `ingest.limits.Limits`, in every format: a rejection with its code, the
place (row, column, line) and never the value; NUL characters and mixed encodings too."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from unittest import mock

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import delimited, errors, progress
from ingest.limits import Limits
from ingest.readers import read_table
from tests.ingest.ingest_support import SENTINEL, assert_no_leak
from tests.ingest.xls_writer import encrypted_xlsx_bytes, xls_bytes

SMALL = Limits(max_rows=5, max_columns=4, max_cell_chars=40, max_json_depth=5)
LONG = SENTINEL * 3  # 75 characters: over SMALL.max_cell_chars


def reject(data: bytes, name: str, kind: type[errors.IngestRejected],
           limits: Limits = SMALL) -> errors.IngestRejected:
    with pytest.raises(kind) as info:
        read_table(data, name, limits=limits)
    assert_no_leak(info.value)
    return info.value


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def parquet_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


# --- columns -------------------------------------------------------------------------------


def test_too_many_columns_in_each_format() -> None:
    header = ["a", "b", "c", "d", "e"]
    err = reject((";".join(header) + f"\n1;2;3;4;{SENTINEL}\n").encode(), "x.csv",
                 errors.TooManyColumns)
    assert err.code == "too-many-columns" and "5 columns" in str(err) and "4" in str(err)
    reject(xlsx_bytes([header, [1, 2, 3, 4, SENTINEL]]), "x.xlsx", errors.TooManyColumns)
    record = {k: SENTINEL for k in header}
    reject(json.dumps([record]).encode(), "x.json", errors.TooManyColumns)
    reject(parquet_bytes(pa.table({k: [SENTINEL] for k in header})), "x.parquet",
           errors.TooManyColumns)


def test_trailing_empty_header_cells_do_not_count_as_columns() -> None:
    table = read_table(b"a;b;c;d;;;;;;\n1;2;3;4;;;;;;\n", "x.csv", limits=SMALL)
    assert table.columns == ("a", "b", "c", "d")


def test_unnamed_columns_holding_data_count() -> None:
    reject(b"a;b;c;d;\n1;2;3;4;5\n", "x.csv", errors.TooManyColumns)


def test_a_sheet_wider_than_the_limit_is_refused_before_its_rows_are_read() -> None:
    data = xlsx_bytes([["id", "x"], ["1", "2"], [None] * 9 + ["stray note"]])
    err = reject(data, "x.xlsx", errors.TooManyColumns)
    assert "sheet 'Sheet'" in str(err) and "10 columns" in str(err)


# --- cell length ----------------------------------------------------------------------------


def test_cell_too_long_names_row_and_column_in_csv() -> None:
    data = f"id;nom\r\n1;court\r\n2;{LONG}\r\n".encode()
    err = reject(data, "x.csv", errors.CellTooLong)
    assert (err.code, err.row, err.column) == ("cell-too-long", 3, "nom")
    assert "Row 3" in str(err) and "'nom'" in str(err) and "75 characters" in str(err)


def test_cell_too_long_the_same_row_by_row() -> None:
    # a misplaced quote in the last row sends the file row by row: the same message
    data = f'id;nom\r\n1;court\r\n2;{LONG}\r\n3;"a"b\r\n'.encode()
    err = reject(data, "x.csv", errors.CellTooLong)
    assert (err.row, err.column) == (3, "nom")


def test_quoted_cell_too_long_across_lines() -> None:
    cell = "\r\n".join([SENTINEL[:9]] * 8)  # short lines, one long cell
    data = f'id;nom\r\n1;"{cell}"\r\n'.encode()
    err = reject(data, "x.csv", errors.CellTooLong)
    assert (err.row, err.column) == (2, "nom")


@pytest.fixture
def csv_module_default_limit() -> Iterator[None]:
    """The csv module's field limit is process-wide, and some libraries (frictionless) raise
    it; this test is about the default one."""
    before = csv.field_size_limit(131_072)
    yield
    csv.field_size_limit(before)


@pytest.mark.usefixtures("csv_module_default_limit")
def test_cell_beyond_the_csv_modules_own_limit() -> None:
    huge = (SENTINEL + " ") * 6000  # 156,000 characters: the csv module stops at 131,072
    data = f'id;nom;note\r\n1;x;y\r\n2;{huge};z\r\n3;"a"b;z\r\n'.encode()
    err = reject(data, "x.csv", errors.CellTooLong, Limits())
    assert (err.row, err.column) == (3, "nom")
    # and with the quote never closed: the rest of the file is one cell
    data = f'id;nom;note\r\n1;"{huge}\r\n2;x;y\r\n'.encode()
    err = reject(data, "x.csv", errors.CellTooLong, Limits())
    assert (err.row, err.column) == (2, "nom") and "quote" in str(err)


def test_header_cell_too_long_is_named_by_position() -> None:
    err = reject(f"id;{LONG}\r\n1;2\r\n".encode(), "x.csv", errors.CellTooLong)
    assert err.column == "column_2" and err.row == 1


def test_cell_too_long_in_excel_json_and_parquet() -> None:
    err = reject(xlsx_bytes([["id", "nom"], ["1", LONG]]), "x.xlsx", errors.CellTooLong)
    assert (err.row, err.column, err.sheet) == (2, "nom", "Sheet")
    err = reject(json.dumps([{"id": 1, "nom": LONG}]).encode(), "x.json", errors.CellTooLong)
    assert (err.row, err.column) == (1, "nom")
    err = reject(json.dumps([["id", "nom"], [1, [LONG]]]).encode(), "x.json",
                 errors.CellTooLong)
    assert err.row == 2
    err = reject(parquet_bytes(pa.table({"id": [1, 2], "nom": ["a", LONG]})), "x.parquet",
                 errors.CellTooLong)
    assert (err.row, err.column) == (2, "nom")


def test_cells_at_the_limit_are_fine() -> None:
    cell = "x" * SMALL.max_cell_chars
    table = read_table(f"id;nom\r\n1;{cell}\r\n".encode(), "x.csv", limits=SMALL)
    assert table.frame["nom"].tolist() == [cell]


# --- rows, and stopping early ---------------------------------------------------------------


def test_max_rows_argument_still_overrides_the_limits() -> None:
    data = b"id\n" + b"".join(b"%d\n" % i for i in range(8))
    assert len(read_table(data, "x.csv", limits=SMALL, max_rows=8)) == 8
    reject(data, "x.csv", errors.TooManyRows)


def test_too_many_rows_stops_reading_early() -> None:
    data = b"id;x\r\n" + b"".join(b"%d;y\r\n" % i for i in range(5000))
    heard: list[int] = []
    with (
        mock.patch.object(delimited, "_CHUNK_ROWS", 100),
        progress.reporting(lambda done, _total: heard.append(done)),
        pytest.raises(errors.TooManyRows),
    ):
        read_table(data, "x.csv", limits=SMALL)
    assert max(heard) < len(data) // 2  # refused in the first block, not after the last


def test_file_size_limit() -> None:
    err = reject(b"id\n1\n", "x.csv", errors.FileTooLarge, replace(SMALL, max_file_bytes=4))
    assert err.code == "file-too-large" and "4 bytes" in str(err)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        Limits(max_cell_chars=-1)


# --- JSON nesting ----------------------------------------------------------------------------


def test_deep_json_is_refused_without_recursion() -> None:
    deep = "[" * 200_000 + json.dumps(SENTINEL) + "]" * 200_000
    err = reject(f'{{"cases": [{{"id": 1, "x": {deep}}}]}}'.encode(), "x.json",
                 errors.NestingTooDeep, Limits())
    assert err.code == "nesting-too-deep" and "32 levels" in str(err)


def test_nesting_depth_counts_arrays_and_objects_not_brackets_in_strings() -> None:
    def doc(depth: int) -> bytes:
        inner = "[" * (depth - 2) + "1" + "]" * (depth - 2)
        return f'[{{"id": "[[[[[[[[[[", "x": {inner}}}]'.encode()

    assert len(read_table(doc(5), "x.json", limits=SMALL)) == 1
    reject(doc(6), "x.json", errors.NestingTooDeep)
    reject(("\n".join(['{"a": [[[[[1]]]]]}'] * 3)).encode(), "x.ndjson", errors.NestingTooDeep)


# --- NUL characters ---------------------------------------------------------------------------


def test_nul_in_a_text_file_names_the_line() -> None:
    body = "".join(f"{i};ok\r\n" for i in range(30_000))  # past the first 64 KB
    data = f"id;x\r\n{body}x;{SENTINEL}\x00\r\n".encode()
    err = reject(data, "x.csv", errors.NulCharacter, Limits())
    assert err.code == "nul-character" and "Line 30002" in str(err)


def test_nul_in_json_excel_and_parquet_cells() -> None:
    err = reject(json.dumps([{"id": 1, "nom": f"{SENTINEL}\x00"}]).encode(), "x.json",
                 errors.NulCharacter)
    assert (err.row, err.column) == (1, "nom")
    err = reject(parquet_bytes(pa.table({"nom": ["a", f"{SENTINEL}\x00"]})), "x.parquet",
                 errors.NulCharacter)
    assert (err.row, err.column) == (2, "nom")
    # an .xlsx cell can carry NUL written as _x0000_, the OOXML escape
    data = xlsx_bytes([["id", "nom"], ["1", "PLACEHOLDER"]])
    err = reject(_replace_in_zip(data, b"PLACEHOLDER", f"{SENTINEL}_x0000_".encode()),
                 "x.xlsx", errors.NulCharacter)
    assert (err.row, err.column) == (2, "nom")


def _replace_in_zip(data: bytes, old: bytes, new: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item).replace(old, new))
    return out.getvalue()


def test_binary_garbage_is_not_text() -> None:
    noise = bytes((i * 7919 + 13) % 256 for i in range(5000))
    reject(noise + SENTINEL.encode(), "x.csv", errors.UnsupportedFormat)


# --- encodings -----------------------------------------------------------------------------


def test_mixed_encodings_are_refused_naming_the_lines() -> None:
    good = "id;pays\r\n1;Sénégal\r\n2;Côte d'Ivoire\r\n".encode()
    odd = f"3;{SENTINEL} forcé\r\n".encode("cp1252")
    err = reject(good + odd + "4;Égypte\r\n".encode() + odd, "x.csv",
                 errors.UnreadableEncoding)
    assert err.code == "unreadable-encoding"
    assert "lines 4, 6" in str(err) and "UTF-8" in str(err)
    # the other way round: a UTF-8 line in a Windows-1252 file
    err = reject(odd + odd + good, "x.csv", errors.UnreadableEncoding)
    assert "lines 1, 2" in str(err)


def test_windows_1252_file_with_bytes_that_happen_to_be_utf8_is_still_read() -> None:
    # "É" then a non-breaking space is C9 A0: valid UTF-8 for "ɠ", which no partner writes
    text = "id;note\r\n1;ÉTÉ\xa0: forcé\r\n2;déjà vu\r\n"
    table = read_table(text.encode("cp1252"), "x.csv", limits=SMALL)
    assert table.encoding == "cp1252"
    assert table.frame["note"].tolist() == ["ÉTÉ\xa0: forcé", "déjà vu"]


# --- password-protected workbooks ----------------------------------------------------------


def test_password_protected_workbooks_of_both_kinds() -> None:
    sheet = [("Cas", [["id", "nom"], ["1", SENTINEL]], [])]
    err = reject(xls_bytes(sheet, filepass=True), "x.xls", errors.PasswordProtected)
    assert err.code == "password-protected"
    err = reject(encrypted_xlsx_bytes(xlsx_bytes([["id"], [SENTINEL]])), "x.xlsx",
                 errors.PasswordProtected)
    # the same workbook without the marker reads
    assert read_table(xls_bytes(sheet), "x.xls").frame["nom"].tolist() == [SENTINEL]


def test_error_catalogue_has_the_new_codes() -> None:
    codes = {e.code for e in errors.ALL_ERRORS}
    assert {"too-many-columns", "cell-too-long", "nesting-too-deep", "nul-character",
            "no-data-rows"} <= codes


def test_header_only_file_reads_but_is_not_an_upload(tmp_path: Path) -> None:
    table = read_table(b"id;pays\r\n", "x.csv")
    assert len(table) == 0 and table.columns == ("id", "pays")
