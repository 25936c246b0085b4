"""read_table on real files of every supported format, and every way an upload is rejected."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import errors
from ingest.readers import read_table
from ingest.table import RawTable
from schemas.errors import InputRejected, PayloadTooLarge
from tests.ingest.ingest_support import SENTINEL, assert_no_leak
from tests.ingest.xls_writer import xls_bytes

Write = Callable[..., bytes]
HTCDS = Path("/work/shared/data/htcds/HTCDS_Excel_Spreadsheet_v2.0.xlsx")


def rows(table: RawTable) -> list[list[str]]:
    return [list(r) for r in table.frame.itertuples(index=False)]


def assert_all_str(table: RawTable) -> None:
    assert all(table.frame[c].dtype == object for c in table.frame.columns)
    assert all(isinstance(v, str) for c in table.frame.columns for v in table.frame[c])
    assert len(table.source_rows) == len(table.frame)


# --- delimited text ---------------------------------------------------------------------

FRENCH = (
    "N° dossier;Pays d'exploitation;Type d'exploitation;Âge;Montant (€)\r\n"
    "FR-001;Côte d'Ivoire;Travail forcé;17,5;1 250,00\r\n"
    "FR-002;Libye;Exploitation sexuelle;24;0,5\r\n"
    "FR-003;Mali;Mendicité forcée;15;12,75\r\n"
    "FR-004;Niger;Servitude domestique;31;3\r\n"
    "\r\n"
    "\r\n"
)


def test_french_cp1252_semicolon_file_with_decimal_commas(write: Write) -> None:
    table = read_table(write("extrait.csv", FRENCH, "cp1252"), "extrait.csv")
    assert (table.format, table.encoding, table.delimiter) == ("csv", "cp1252", ";")
    assert table.columns == (
        "N° dossier",
        "Pays d'exploitation",
        "Type d'exploitation",
        "Âge",
        "Montant (€)",
    )
    assert rows(table)[0] == ["FR-001", "Côte d'Ivoire", "Travail forcé", "17,5", "1 250,00"]
    assert table.frame["Type d'exploitation"].tolist()[2] == "Mendicité forcée"
    # trailing empty lines are not records; numbers stay exactly as typed
    assert table.source_rows == (2, 3, 4, 5)
    assert table.frame["Âge"].tolist() == ["17,5", "24", "15", "31"]
    assert table.header_rows == (1,)
    assert_all_str(table)


def test_latin1_file_without_windows_only_characters(write: Write) -> None:
    text = "Pays;Type;Note\nCôte d'Ivoire;Travail forcé;N° 12\nSénégal;Mendicité;à revoir\n"
    table = read_table(write("x.csv", text, "latin-1"), "x.csv")
    assert table.encoding == "cp1252"  # a superset of Latin-1's printable characters
    assert rows(table) == [
        ["Côte d'Ivoire", "Travail forcé", "N° 12"],
        ["Sénégal", "Mendicité", "à revoir"],
    ]


def test_utf16_tsv(write: Write) -> None:
    text = "case_id\tcountry\tnotes\nA-1\tLibya\tarrived, then moved; twice\nA-2\tليبيا\t\n"
    table = read_table(write("cases.tsv", text, "utf-16"), "cases.tsv")
    assert (table.encoding, table.delimiter) == ("utf-16", "\t")
    assert rows(table) == [["A-1", "Libya", "arrived, then moved; twice"], ["A-2", "ليبيا", ""]]


def test_utf8_bom_csv_strips_the_bom_from_the_first_column_name(write: Write) -> None:
    table = read_table(write("x.csv", "\ufeffCase ID,Gender\n1,F\n", "utf-8"), "x.csv")
    assert table.encoding == "utf-8-sig"
    assert table.columns == ("Case ID", "Gender")


def test_pipe_csv_and_column_names_stripped(write: Write) -> None:
    table = read_table(write("x.txt", " id | sex |age \n1|F|17\n2|M|\n"), "x.txt")
    assert table.delimiter == "|"
    assert table.columns == ("id", "sex", "age")
    assert rows(table) == [["1", "F", "17"], ["2", "M", ""]]


def test_quoted_newlines_and_record_numbers(write: Write) -> None:
    text = (
        'id,notes,country\r\n1,"line one\r\nline two",LBY\r\n'
        '2,"he said ""no""; left",NER\r\n\r\n3,,"MLI"\r\n'
    )
    table = read_table(write("x.csv", text), "x.csv")
    assert rows(table) == [
        ["1", "line one\r\nline two", "LBY"],
        ["2", 'he said "no"; left', "NER"],
        ["3", "", "MLI"],
    ]
    # a record spanning two lines is one row; the blank line is record 4
    assert table.source_rows == (2, 3, 5)


def test_short_rows_padded_and_trailing_empty_cells_tolerated(write: Write) -> None:
    table = read_table(write("x.csv", "a;b;c\n1\n2;x;y;;\n"), "x.csv")
    assert rows(table) == [["1", "", ""], ["2", "x", "y"]]


def test_title_rows_above_the_header_are_skipped(write: Write) -> None:
    text = "Rapport trimestriel;;;\n;;;\nid;pays;sexe;age\n1;Libye;F;17\n2;Niger;M;24\n"
    table = read_table(write("x.csv", text), "x.csv")
    assert table.columns == ("id", "pays", "sexe", "age")
    assert table.header_rows == (3,)
    assert table.source_rows == (4, 5)


def test_unnamed_columns_named_when_they_hold_data_dropped_when_empty(write: Write) -> None:
    table = read_table(write("x.csv", "id,,country,\n1,x,LBY,\n2,,NER,\n"), "x.csv")
    assert table.columns == ("id", "column_2", "country")
    assert rows(table) == [["1", "x", "LBY"], ["2", "", "NER"]]


def test_header_only_file_gives_an_empty_table(write: Write) -> None:
    table = read_table(write("x.csv", "id;pays\n"), "x.csv")
    assert table.columns == ("id", "pays")
    assert len(table) == 0 and len(table.frame) == 0


def test_single_column_file(write: Write) -> None:
    table = read_table(write("x.csv", "country\nLibya\nNiger\n"), "x.csv")
    assert rows(table) == [["Libya"], ["Niger"]]


def test_extension_is_only_a_hint_csv_named_xls(write: Write) -> None:
    table = read_table(write("export.xls", "id,sex\n1,F\n"), "export.xls")
    assert (table.format, table.delimiter) == ("csv", ",")


def test_windows_1252_specific_characters(write: Write) -> None:
    text = "id;note\n1;l’enquête – 5 €\n"
    table = read_table(write("x.csv", text, "cp1252"), "x.csv")
    assert table.frame["note"].tolist() == ["l’enquête – 5 €"]


def test_arabic_windows_1256(write: Write) -> None:
    text = "رقم;البلد;نوع الاستغلال\n1;ليبيا;عمل قسري\n2;مصر;استغلال جنسي\n3;تونس;تسول\n"
    table = read_table(write("x.csv", text, "cp1256"), "x.csv")
    assert table.encoding == "cp1256"
    assert table.frame["البلد"].tolist() == ["ليبيا", "مصر", "تونس"]


# --- rejected text files ----------------------------------------------------------------


def test_row_longer_than_header_is_rejected_with_its_number(write: Write) -> None:
    data = write("x.csv", f"id;pays\n1;Libye\n2;Niger;{SENTINEL}\n")
    with pytest.raises(errors.RowTooLong) as info:
        read_table(data, "x.csv")
    assert info.value.code == "row-too-long"
    assert info.value.row == 3 and "Row 3" in str(info.value)
    assert_no_leak(info.value)


def test_unbalanced_quote_is_rejected_not_swallowed(write: Write) -> None:
    data = write("x.csv", f'id,notes\n1,"{SENTINEL}\n2,ok\n3,ok\n')
    with pytest.raises(errors.CorruptFile) as info:
        read_table(data, "x.csv")
    assert info.value.code == "corrupt-file"
    assert_no_leak(info.value)


def test_duplicate_columns_are_named(write: Write) -> None:
    data = write("x.csv", f"id;Pays;pays ; Pays\n1;{SENTINEL};x;y\n")
    with pytest.raises(errors.DuplicateColumns) as info:
        read_table(data, "x.csv")
    assert info.value.code == "duplicate-columns"
    assert "'Pays'" in str(info.value)
    assert_no_leak(info.value)


def test_no_header(write: Write) -> None:
    data = write("x.csv", "1;17,5;2021-03-12\n2;3;2021-04-01\n")
    with pytest.raises(errors.NoHeader) as info:
        read_table(data, "x.csv")
    assert info.value.code == "no-header"
    assert_no_leak(info.value, "17,5", "2021-03-12")


@pytest.mark.parametrize("content", [b"", b"  \r\n\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n;;;\r\n"])
def test_empty_files(write: Write, content: bytes) -> None:
    with pytest.raises(errors.EmptyFile) as info:
        read_table(write("x.csv", content), "x.csv")
    assert info.value.code == "empty-file"


def test_too_many_rows(write: Write) -> None:
    data = write("x.csv", "id\n" + "".join(f"{i}\n" for i in range(11)))
    assert len(read_table(data, "x.csv", max_rows=11)) == 11
    with pytest.raises(errors.TooManyRows) as info:
        read_table(data, "x.csv", max_rows=10)
    assert info.value.code == "too-many-rows"
    assert "10" in str(info.value)


def test_undecodable_text(write: Write) -> None:
    # a UTF-8 byte-order mark promises UTF-8; what follows is not
    data = write("x.csv", b"\xef\xbb\xbfid;name\n1;" + SENTINEL.encode() + b"\xe9\xff\xfe\n")
    with pytest.raises(errors.UnreadableEncoding) as info:
        read_table(data, "x.csv")
    assert info.value.code == "unreadable-encoding"
    assert_no_leak(info.value)
    assert "0xe9" not in str(info.value) and "0xff" not in str(info.value)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("report.pdf", b"%PDF-1.7\n" + SENTINEL.encode()),
        ("cases.csv", b"id,name\x00\x00\x00\x01\x02" + SENTINEL.encode() * 3 + b"\x00" * 40),
        ("export.xls", f"<html><body><table><tr><td>{SENTINEL}</td></tr></table>".encode()),
        ("cases.csv.gz", b"\x1f\x8b\x08\x00" + SENTINEL.encode()),
    ],
)
def test_unsupported_formats(write: Write, name: str, content: bytes) -> None:
    with pytest.raises(errors.UnsupportedFormat) as info:
        read_table(write(name, content), name)
    assert info.value.code == "unsupported-format"
    assert_no_leak(info.value)


def test_zip_that_is_not_a_workbook(write: Write) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", SENTINEL)
    with pytest.raises(errors.UnsupportedFormat) as info:
        read_table(write("x.docx", buf.getvalue()), "x.docx")
    assert "Word document" in str(info.value)
    assert_no_leak(info.value)


def test_messages_name_only_the_file_not_its_folders(write: Write) -> None:
    data = write("x.csv", "1;2\n3;4\n")
    with pytest.raises(errors.NoHeader) as info:
        read_table(data, "/home/partner/Documents/cases.csv")
    assert "cases.csv" in str(info.value) and "/home" not in str(info.value)
    assert info.value.filename == "cases.csv"
    with pytest.raises(errors.NoHeader) as info:
        read_table(data, "C:\\Users\\partner\\cases.csv")
    assert info.value.filename == "cases.csv" and "Users" not in str(info.value)


# --- Excel ------------------------------------------------------------------------------


def _northbridge_workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Cases"
    ws["A1"] = "Northbridge Network — case extract 2024"
    ws.merge_cells("A1:G1")
    # row 2 blank; rows 3-4: a two-row header, "Exploitation" spanning Type and Country
    ws["A3"], ws["B3"], ws["D3"], ws["E3"], ws["F3"], ws["G3"] = (
        "Case ID",
        "Exploitation",
        "Identified on",
        "Age",
        "Consent",
        "Serial",
    )
    for rng in ("A3:A4", "B3:C3", "D3:D4", "E3:E4", "F3:F4", "G3:G4"):
        ws.merge_cells(rng)
    ws["B4"], ws["C4"] = "Type", "Country"
    ws.append(["NB-1", "Forced labour", "Libya", dt.date(2024, 3, 12), 17.0, True, 45363])
    ws.append(["NB-2", "Sexual", "Niger", dt.datetime(2024, 3, 12, 14, 30), 17.5, False, None])
    ws.append([None] * 7)
    ws.append(["NB-3", None, "Mali", dt.datetime(2023, 1, 5, 0, 0), None, None, 12.25])
    ws["D5"].number_format = "dd/mm/yyyy"
    notes = wb.create_sheet("Notes")
    notes.append(["Topic", "Text"])
    notes.append(["source", "field office"])
    hidden = wb.create_sheet("Lists")
    hidden.append(["Value", "Label"])
    hidden.sheet_state = "hidden"
    wb.save(path)


def test_xlsx_title_row_merged_two_row_header_dates_and_numbers(tmp_path: Path) -> None:
    path = tmp_path / "northbridge.xlsx"
    _northbridge_workbook(path)
    table = read_table(path.read_bytes(), path.name)
    assert (table.format, table.sheet, table.sheets) == (
        "xlsx",
        "Cases",
        ("Cases", "Notes", "Lists"),
    )
    assert table.encoding is None and table.delimiter is None
    assert table.columns == (
        "Case ID",
        "Exploitation Type",
        "Exploitation Country",
        "Identified on",
        "Age",
        "Consent",
        "Serial",
    )
    assert table.header_rows == (3, 4)
    assert rows(table) == [
        ["NB-1", "Forced labour", "Libya", "2024-03-12", "17", "TRUE", "45363"],
        ["NB-2", "Sexual", "Niger", "2024-03-12T14:30:00", "17.5", "FALSE", ""],
        ["NB-3", "", "Mali", "2023-01-05", "", "", "12.25"],
    ]
    # sheet row numbers, the blank row 7 skipped
    assert table.source_rows == (5, 6, 8)
    assert_all_str(table)


def test_xlsx_choose_sheet_by_name(tmp_path: Path) -> None:
    path = tmp_path / "northbridge.xlsx"
    _northbridge_workbook(path)
    table = read_table(path.read_bytes(), path.name, sheet="notes")  # case-insensitive
    assert table.sheet == "Notes"
    assert rows(table) == [["source", "field office"]]


def test_xlsx_sheet_not_found_lists_the_sheets(tmp_path: Path) -> None:
    path = tmp_path / "northbridge.xlsx"
    _northbridge_workbook(path)
    with pytest.raises(errors.SheetNotFound) as info:
        read_table(path.read_bytes(), path.name, sheet="Victims")
    assert info.value.code == "sheet-not-found"
    assert "'Cases', 'Notes', 'Lists'" in str(info.value)
    assert_no_leak(info.value, "Forced labour", "NB-1")


def test_xlsx_default_sheet_is_the_first_holding_a_table(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    cover = wb.active
    assert cover is not None
    cover.title = "Cover"
    cover["B2"] = "Extract for the collaborative"
    data = wb.create_sheet("Data")
    data.append(["id", "country"])
    data.append(["1", "Libya"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    table = read_table(path.read_bytes(), path.name)
    assert table.sheet == "Data"
    assert rows(table) == [["1", "Libya"]]


def test_xlsx_merged_header_without_sub_header_is_numbered(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "Exploitation", None, "Age"])
    ws.merge_cells("B1:C1")
    ws.append(["1", "Forced labour", "Libya", 17])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    table = read_table(path.read_bytes(), path.name)
    assert table.columns == ("id", "Exploitation 1", "Exploitation 2", "Age")
    assert table.header_rows == (1,)


def test_xlsx_first_data_row_of_text_is_not_mistaken_for_a_sub_header(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "Exploitation", None])
    ws.merge_cells("B1:C1")
    ws.append(["NB-1", "Forced labour", SENTINEL])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    table = read_table(path.read_bytes(), path.name)
    assert SENTINEL not in "".join(table.columns)
    assert rows(table) == [["NB-1", "Forced labour", SENTINEL]]


def test_xlsx_duplicate_columns(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "country", "country "])
    ws.append(["1", SENTINEL, "x"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    with pytest.raises(errors.DuplicateColumns) as info:
        read_table(path.read_bytes(), path.name)
    assert "'country'" in str(info.value)
    assert_no_leak(info.value)


def test_xlsx_too_many_rows(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id"])
    for i in range(6):
        ws.append([f"{SENTINEL}-{i}"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    with pytest.raises(errors.TooManyRows) as info:
        read_table(path.read_bytes(), path.name, max_rows=5)
    assert info.value.sheet == "Sheet"
    assert_no_leak(info.value)


def test_xlsx_zip_bomb_is_refused_before_inflating(write: Write) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (40 * 1024 * 1024))
    data = write("bomb.xlsx", buf.getvalue())
    assert len(data) < 200_000
    with pytest.raises(errors.FileTooLarge) as info:
        read_table(data, "bomb.xlsx")
    assert info.value.code == "file-too-large"
    assert isinstance(info.value, PayloadTooLarge)


def test_damaged_xlsx(write: Write) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/workbook.xml", f"<workbook>{SENTINEL}")
    with pytest.raises(errors.CorruptFile) as info:
        read_table(write("x.xlsx", buf.getvalue()), "x.xlsx")
    assert info.value.code == "corrupt-file"
    assert_no_leak(info.value)


def test_password_protected_workbook(write: Write) -> None:
    # an encrypted .xlsx is an OLE2 file holding an "EncryptedPackage" stream
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "EncryptedPackage".encode("utf-16-le")
    with pytest.raises(errors.PasswordProtected) as info:
        read_table(write("locked.xlsx", ole + b"\0" * 1024), "locked.xlsx")
    assert info.value.code == "password-protected"


def _espoir_xls() -> bytes:
    return xls_bytes(
        [
            (
                "Cas",
                [
                    ["Rapport Espoir Sahel 2024"],
                    [],
                    ["N° dossier", "Pays", "Âge", "Date d'identification"],
                    ["ES-1", "Côte d'Ivoire", 17.0, dt.date(2024, 3, 12)],
                    ["ES-2", "Libye", 17.5, None],
                ],
                [(0, 0, 0, 3)],
            ),
            ("Notes", [["Sujet", "Texte"], ["source", "bureau"]], []),
        ]
    )


def test_xls_title_row_numbers_and_dates() -> None:
    table = read_table(_espoir_xls(), "espoir.xls")
    assert (table.format, table.sheet, table.sheets) == ("xls", "Cas", ("Cas", "Notes"))
    assert table.columns == ("N° dossier", "Pays", "Âge", "Date d'identification")
    assert rows(table) == [
        ["ES-1", "Côte d'Ivoire", "17", "2024-03-12"],
        ["ES-2", "Libye", "17.5", ""],
    ]
    assert table.source_rows == (4, 5)
    assert read_table(_espoir_xls(), "espoir.xls", sheet="Notes").columns == ("Sujet", "Texte")


def test_damaged_xls_is_rejected_not_a_crash() -> None:
    data = bytearray(_espoir_xls())
    # the Workbook stream's directory entry (sector 1, entry 1) now claims 100 bytes: the
    # parser looks for a mini stream that is not there, and panics inside calamine
    struct.pack_into("<Q", data, 512 + 512 + 128 + 120, 100)
    with pytest.raises(errors.CorruptFile) as info:
        read_table(bytes(data), "espoir.xls")
    assert_no_leak(info.value, "Côte d'Ivoire", "ES-1")
    with pytest.raises(errors.CorruptFile):
        read_table(_espoir_xls()[:3000], "espoir.xls")


@pytest.mark.skipif(not HTCDS.is_file(), reason="HTCDS template not available")
def test_htcds_template_reads_with_its_field_names() -> None:
    table = read_table(HTCDS.read_bytes(), HTCDS.name)
    assert table.format == "xlsx"
    # the hidden first row holds the standard's field names, the visible second the labels
    assert table.header_rows == (1, 2)
    assert table.columns[:4] == (
        "cas_CaseOwner",
        "prs_Salutation",
        "prs_FirstName",
        "prs_SecondName",
    )
    assert "prs_Gender" in table.columns
    # the template leaves one hidden field name blank: that column keeps its visible label
    assert "Reason for Outgoing Referral" in table.columns
    assert len(table.columns) == 38
    # the template's rows are only pre-numbered, empty of cases
    assert len(table) == 0


@pytest.mark.skipif(not HTCDS.is_file(), reason="HTCDS template not available")
def test_htcds_template_with_a_case_filled_in(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(HTCDS)
    ws = wb.active
    assert ws is not None
    ws["B3"], ws["H3"] = "Office A", "Female"
    path = tmp_path / "filled.xlsx"
    wb.save(path)
    table = read_table(path.read_bytes(), path.name)
    assert len(table) == 1 and table.source_rows == (3,)
    assert table.frame["cas_CaseOwner"].tolist() == ["Office A"]
    assert table.frame["prs_Gender"].tolist() == ["Female"]
    assert table.columns[0] == "column_A"  # the template's own row numbers


# --- JSON -------------------------------------------------------------------------------

EXPORT = {
    "export": {"tool": "CaseBook", "generated": "2024-05-01T10:00:00Z"},
    "cases": [
        {
            "id": "CB-1",
            "victim": {"gender": "female", "age": 17.0, "citizenship": "NGA"},
            "exploitation": ["forced_labour", "sexual_exploitation"],
            "identified": True,
            "notes": None,
        },
        {
            "id": "CB-2",
            "victim": {"gender": None, "age": 24.5},
            "exploitation": [],
            "identified": False,
            "referral": {"to": {"country": "LBY"}},
        },
    ],
}


def test_json_export_wrapper_nested_objects_and_arrays(write: Write) -> None:
    data = write("export.json", json.dumps(EXPORT, indent=2))
    table = read_table(data, "export.json")
    assert (table.format, table.encoding) == ("json", "utf-8")
    assert table.columns == (
        "id",
        "victim.gender",
        "victim.age",
        "victim.citizenship",
        "exploitation",
        "identified",
        "notes",
        "referral.to.country",
    )
    assert rows(table) == [
        ["CB-1", "female", "17", "NGA", '["forced_labour","sexual_exploitation"]', "TRUE", "", ""],
        ["CB-2", "", "24.5", "", "[]", "FALSE", "", "LBY"],
    ]
    assert table.source_rows == (1, 2)
    assert json.loads(table.frame["exploitation"][0]) == ["forced_labour", "sexual_exploitation"]
    assert_all_str(table)


def test_json_top_level_array(write: Write) -> None:
    data = write("x.json", '[{"a": 1, "b": "x"}, {"b": "y", "c": 1e3}]')
    table = read_table(data, "x.json")
    assert table.columns == ("a", "b", "c")
    assert rows(table) == [["1", "x", ""], ["", "y", "1000"]]


def test_json_array_of_arrays_uses_the_first_as_header(write: Write) -> None:
    table = read_table(write("x.json", '[["id", "country"], ["1", "LBY"], [2, null]]'), "x.json")
    assert table.columns == ("id", "country")
    assert rows(table) == [["1", "LBY"], ["2", ""]]
    assert table.source_rows == (2, 3)


def test_json_array_of_arrays_with_a_value_beyond_the_header(write: Write) -> None:
    text = json.dumps([["id", "country"], ["1", "LBY"], ["2", "NER", SENTINEL]])
    with pytest.raises(errors.RowTooLong) as info:
        read_table(write("x.json", text), "x.json")
    assert info.value.row == 3
    assert_no_leak(info.value)


def test_ndjson(write: Write) -> None:
    text = '{"id": 1, "v": {"g": "f"}}\n\n{"id": 2, "tags": ["a"]}\n'
    table = read_table(write("x.ndjson", text), "x.ndjson")
    assert table.format == "ndjson"
    assert table.columns == ("id", "v.g", "tags")
    assert rows(table) == [["1", "f", ""], ["2", "", '["a"]']]
    assert table.source_rows == (1, 2)


def test_ndjson_recognised_without_its_extension(write: Write) -> None:
    table = read_table(write("x.json", '{"id": 1}\n{"id": 2}\n'), "x.json")
    assert table.format == "ndjson" and len(table) == 2


def test_single_line_jsonl_is_one_record(write: Write) -> None:
    table = read_table(write("x.jsonl", '{"id": 1, "cases": [{"a": 1}]}\n'), "x.jsonl")
    assert table.columns == ("id", "cases")


def test_malformed_ndjson_gives_line_not_content(write: Write) -> None:
    text = f'{{"id": 1}}\n{{"id": 2}}\n{{"id": 3, "name": "{SENTINEL}" "x"}}\n'
    with pytest.raises(errors.MalformedJson) as info:
        read_table(write("x.ndjson", text), "x.ndjson")
    assert info.value.code == "malformed-json"
    assert "line 3" in str(info.value) and "record 3" in str(info.value)
    assert_no_leak(info.value)
    # the decoder's error, which holds the whole document, is not chained
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_malformed_json_array(write: Write) -> None:
    text = f'[\n {{"id": 1}},\n {{"id": 2, "name": "{SENTINEL}",}}\n]'
    with pytest.raises(errors.MalformedJson) as info:
        read_table(write("x.json", text), "x.json")
    assert "line 3" in str(info.value)
    assert_no_leak(info.value)


@pytest.mark.parametrize(
    "doc",
    [
        [{"id": 1}, SENTINEL],
        {"cases": [{"id": SENTINEL}], "victims": [{"id": 2}]},
        [[1, 2], SENTINEL],
    ],
)
def test_json_that_does_not_hold_records(write: Write, doc: object) -> None:
    with pytest.raises(errors.MalformedJson) as info:
        read_table(write("x.json", json.dumps(doc)), "x.json")
    assert_no_leak(info.value)


def test_json_duplicate_key_refused(write: Write) -> None:
    text = f'[{{"id": 1, "name": "{SENTINEL}", "name": "x"}}]'
    with pytest.raises(errors.MalformedJson) as info:
        read_table(write("x.json", text), "x.json")
    assert "'name'" in str(info.value)
    assert_no_leak(info.value)


def test_json_dotted_key_colliding_with_nested_object(write: Write) -> None:
    text = json.dumps([{"victim": {"age": SENTINEL}, "victim.age": "17"}])
    with pytest.raises(errors.MalformedJson) as info:
        read_table(write("x.json", text), "x.json")
    assert "'victim.age'" in str(info.value)
    assert_no_leak(info.value)


@pytest.mark.parametrize("text", ["[]", '{"export": {"n": 0}, "cases": []}'])
def test_json_without_records(write: Write, text: str) -> None:
    with pytest.raises(errors.EmptyFile):
        read_table(write("x.json", text), "x.json")


def test_json_too_many_records(write: Write) -> None:
    text = "\n".join(json.dumps({"id": i}) for i in range(4))
    with pytest.raises(errors.TooManyRows):
        read_table(write("x.ndjson", text), "x.ndjson", max_rows=3)
    with pytest.raises(errors.TooManyRows):
        read_table(write("x.json", f"[{text.replace(chr(10), ',')}]"), "x.json", max_rows=3)


# --- Parquet ----------------------------------------------------------------------------


def test_parquet_values_rendered_as_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "age": pa.array([17.0, 17.5, None]),
            "country": pa.array(["LBY", None, "NER"]).dictionary_encode(),
            "identified": pa.array([dt.date(2024, 3, 12), None, dt.date(2023, 1, 5)]),
            "at": pa.array(
                [dt.datetime(2024, 3, 12, 14, 30), dt.datetime(2024, 3, 12), None],
                pa.timestamp("ns"),
            ),
            "consent": pa.array([True, False, None]),
            "types": pa.array([["forced_labour"], [], None], pa.list_(pa.string())),
            "victim": pa.array(
                [{"gender": "f", "age": 17}, {"gender": None, "age": None}, None],
                pa.struct([("gender", pa.string()), ("age", pa.int64())]),
            ),
        }
    )
    path = tmp_path / "cases.parquet"
    pq.write_table(table, path)
    raw = read_table(path.read_bytes(), "cases.parquet")
    assert raw.format == "parquet" and raw.encoding is None
    assert raw.columns == (
        "id",
        "age",
        "country",
        "identified",
        "at",
        "consent",
        "types",
        "victim.gender",
        "victim.age",
    )
    assert rows(raw) == [
        [
            "1",
            "17",
            "LBY",
            "2024-03-12",
            "2024-03-12T14:30:00",
            "TRUE",
            '["forced_labour"]',
            "f",
            "17",
        ],
        ["2", "17.5", "", "", "2024-03-12", "FALSE", "[]", "", ""],
        ["3", "", "NER", "2023-01-05", "", "", "", "", ""],
    ]
    assert raw.source_rows == (1, 2, 3)
    assert_all_str(raw)


def test_parquet_written_by_pandas_drops_its_index(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"id": ["a", "b"]}, index=[10, 20])
    path = tmp_path / "x.parquet"
    frame.to_parquet(path)
    assert read_table(path.read_bytes(), "x.parquet").columns == ("id",)


def test_parquet_too_many_rows_and_damaged(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": list(range(5))}), path)
    with pytest.raises(errors.TooManyRows):
        read_table(path.read_bytes(), "x.parquet", max_rows=4)
    with pytest.raises(errors.CorruptFile) as info:
        read_table(b"PAR1" + SENTINEL.encode() + b"PAR1", "x.parquet")
    assert_no_leak(info.value)


# --- the error catalogue ----------------------------------------------------------------


def test_error_codes_are_stable_unique_and_user_errors() -> None:
    codes = [e.code for e in errors.ALL_ERRORS]
    assert len(codes) == len(set(codes))
    assert {
        "unsupported-format",
        "unreadable-encoding",
        "empty-file",
        "no-header",
        "duplicate-columns",
        "sheet-not-found",
        "too-many-rows",
        "malformed-json",
        "file-too-large",
    } <= set(codes)
    for cls in errors.ALL_ERRORS:
        assert issubclass(cls, InputRejected)
        assert cls.title and cls.title != InputRejected.title
    assert issubclass(errors.FileTooLarge, PayloadTooLarge)


def test_csv_written_by_python_reads_back(write: Write) -> None:
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows([["a", "b"], ["1;2", 'x"y'], ["", "z\nw"]])
    table = read_table(write("x.csv", buf.getvalue(), "cp1252"), "x.csv")
    assert rows(table) == [["1;2", 'x"y'], ["", "z\nw"]]
