"""The bad-input corpus, end to end through `pipeline.ingest_file` on a real home.

Every file is generated here (nothing big is committed) and carries a planted value, the
SENTINEL, in a cell. On SQLite and PostgreSQL, each file is either refused with its error
code and leaves nothing behind — no upload record, no case, no mapping, no raw bytes — or
accepted as documented; and either way the planted value appears nowhere: not in the
exception (with its chained causes), not in the logs captured at DEBUG (SQLAlchemy's
statements and parameters included), not on stdout/stderr, not in a dump of every table,
not in the release folder. A few files also go through the real command line.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import os
import random
import subprocess
import sys
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.demodata import mapping_path
from ctcollab.settings import Settings, load_settings
from harmonize import registry
from schemas.errors import CtcollabError
from schemas.tables import cases, mappings, metadata, uploads
from tests.ctcollab.conftest import FRENCH_HEADER, FRENCH_MAPPING
from tests.ingest.xls_writer import encrypted_xlsx_bytes, xls_bytes

#: planted in a cell of every file; ASCII, so it reads the same in every encoding
SENTINEL = "Zainab-Kamara-SENTINEL-7731"
HEADER = FRENCH_HEADER.split(";")
ORG = "ong-test"
LOGGERS = ("", "ctcollab", "ingest", "harmonize", "privacy", "publish", "sqlalchemy.engine")


def _row(case_id: str, name: str = "", phone: str = "", **cells: str) -> list[str]:
    values = {
        "N° dossier": case_id,
        "Date d'enregistrement": "12/03/2021",
        "Sexe": "Femme",
        "Âge": "17,5",
        "Nationalité": "Nigéria",
        "Pays d'exploitation": "Libye",
        "Type d'exploitation": "Travail forcé",
        "Nom": name,
        "Téléphone": phone,
    }
    values.update(cells)
    return [values[h] for h in HEADER]


GOOD_ROWS = [
    _row("D-001", SENTINEL),
    _row("D-002", "Moussa Keita", Sexe="Homme", **{"Âge": "34"}),
    _row("D-003", "", **{"Pays d'exploitation": "Niger"}),
]


def french_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def xlsx(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Registre"
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A workbook whose one sheet claims 40 MB of XML, from a few tens of kilobytes."""
    sheet = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{SENTINEL}</t></is></c></row>'
    ).encode() + b" " * (40 * 1024 * 1024) + b"</sheetData></worksheet>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def garbage() -> bytes:
    rng = random.Random(4)
    noise = bytes(rng.randrange(256) for _ in range(20_000))
    return noise[:9000] + SENTINEL.encode() + noise[9000:]


def deep_json(depth: int) -> bytes:
    nested = "[" * depth + json.dumps(SENTINEL) + "]" * depth
    return f'{{"cases": [{{"id": "D-1", "notes": {nested}}}]}}'.encode()


FORMULAS = (
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "+HYPERLINK(1)",
    "-cmd|' /C calc'!A1",
)
#: what of a formula would show wherever it surfaced, however quoted or escaped
FORMULA_PARTS = ("HYPERLINK", "cmd|", "@SUM(", "/C calc")


@dataclass(frozen=True)
class Case:
    """One bad input: its file, and the code it is refused with (None: accepted)."""

    id: str
    filename: str
    content: Callable[[], bytes]
    code: str | None
    #: text the message must hold (row, column, line: where, never what)
    says: tuple[str, ...] = ()
    settings: dict[str, object] = field(default_factory=dict)
    #: for accepted files: rows read and accepted
    rows: tuple[int, int] | None = None
    #: other values that must not surface (besides the SENTINEL)
    secrets: tuple[str, ...] = ()


def _header_only() -> bytes:
    return f"Registre {SENTINEL}\r\n{FRENCH_HEADER}\r\n".encode("cp1252")


def _wide() -> bytes:
    header = ";".join(f"colonne {i}" for i in range(600))
    return f"{header}\r\n{SENTINEL};{';' * 598}\r\n".encode()


def _mixed() -> bytes:
    good = french_text([GOOD_ROWS[1], GOOD_ROWS[2]]).encode("utf-8")
    odd = french_text([_row("D-004", SENTINEL, **{"Nationalité": "Sénégal"})]).split("\r\n")[1]
    return good + (odd + "\r\n").encode("cp1252")


def _ragged() -> bytes:
    rows = [GOOD_ROWS[1], [*_row("D-005", "Awa"), SENTINEL]]
    return french_text(rows).encode("cp1252")


def _duplicates() -> bytes:
    header = [*HEADER[:-1], "Sexe"]
    return french_text([_row("D-1", SENTINEL)], header).encode("cp1252")


def _huge_cell() -> bytes:
    cell = (SENTINEL + " ") * (1_048_576 // (len(SENTINEL) + 1) + 1)
    return french_text([GOOD_ROWS[1], _row("D-006", cell)]).encode("cp1252")


def _nul() -> bytes:
    rows = [GOOD_ROWS[1], GOOD_ROWS[2], _row("D-007", f"Ami\x00na {SENTINEL}")]
    return french_text(rows).encode("cp1252")


def _formulas_csv() -> bytes:
    rows = [
        _row(FORMULAS[0], FORMULAS[1], FORMULAS[2]),
        _row("D-002", SENTINEL, FORMULAS[3]),
        _row("D-003", FORMULAS[4]),
    ]
    return french_text(rows).encode("cp1252")


def _formulas_xlsx() -> bytes:
    # openpyxl stores "=..." as a formula without a cached result: what Excel shows for it
    # is never computed by anyone, and its text is never read
    rows: list[list[object]] = [HEADER]
    rows.append(_row("D-001", FORMULAS[0], FORMULAS[1], Sexe="=IF(1,\"Femme\",\"Homme\")"))
    rows.append(_row("D-002", SENTINEL, FORMULAS[2]))
    return xlsx(rows)


CASES = [
    Case("empty", "vide.csv", lambda: b"", "empty-file"),
    Case("header-only", "entete.csv", _header_only, "no-data-rows"),
    Case("binary-garbage", "registre.csv", garbage, "unsupported-format"),
    Case(
        "utf16-named-csv",
        "registre.csv",
        lambda: french_text(GOOD_ROWS).encode("utf-16"),
        None,
        rows=(3, 3),
    ),
    Case(
        "cp1252-with-utf8-bom",
        "registre.csv",
        lambda: codecs.BOM_UTF8 + french_text(GOOD_ROWS).encode("cp1252"),
        "unreadable-encoding",
    ),
    Case("mixed-encodings", "registre.csv", _mixed, "unreadable-encoding", says=("line 4",)),
    Case("ragged-rows", "registre.csv", _ragged, "row-too-long", says=("Row 3", "10 cells")),
    Case("duplicate-columns", "registre.csv", _duplicates, "duplicate-columns", says=("'Sexe'",)),
    Case(
        "over-size-cap",
        "registre.csv",
        lambda: french_text(GOOD_ROWS * 20).encode("cp1252"),
        "file-too-large",
        settings={"max_upload_bytes": 1024},
    ),
    Case("xlsx-zip-bomb", "registre.xlsx", zip_bomb, "file-too-large"),
    Case(
        "password-xlsx",
        "registre.xlsx",
        lambda: encrypted_xlsx_bytes(xlsx([HEADER, GOOD_ROWS[0]])),
        "password-protected",
    ),
    Case(
        "password-xls",
        "registre.xls",
        lambda: xls_bytes([("Registre", [HEADER, GOOD_ROWS[0]], [])], filepass=True),
        "password-protected",
    ),
    Case(
        "formulas-csv", "registre.csv", _formulas_csv, None, rows=(3, 3), secrets=FORMULA_PARTS
    ),
    Case(
        "formulas-xlsx",
        "registre.xlsx",
        _formulas_xlsx,
        None,
        rows=(2, 2),
        secrets=(*FORMULA_PARTS, "IF(1"),
    ),
    Case("nul-bytes", "registre.csv", _nul, "nul-character", says=("Line 4",)),
    Case(
        "one-mb-cell",
        "registre.csv",
        _huge_cell,
        "cell-too-long",
        says=("Row 3", "'Nom'", "32,768"),
    ),
    Case("too-many-columns", "registre.csv", _wide, "too-many-columns", says=("600",)),
    Case("deep-json", "registre.json", lambda: deep_json(100_000), "nesting-too-deep"),
    Case("deep-json-40", "registre.json", lambda: deep_json(40), "nesting-too-deep"),
]


# --- fixtures and checks -----------------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, db_url: str) -> Callable[..., pipeline.Context]:
    def make(**overrides: object) -> pipeline.Context:
        settings: Settings = load_settings(
            home=tmp_path / "home", database_url=db_url, **overrides
        )
        ctx = pipeline.init(settings)
        pipeline.add_org(ctx, ORG, "ONG Test")
        return ctx

    return make


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "ong-test.yaml"
    path.write_text(FRENCH_MAPPING, encoding="utf-8")
    return path


def everything_written(ctx: pipeline.Context) -> str:
    """A dump of every table, and every file of the release folder."""
    parts = []
    with ctx.engine.connect() as conn:
        for table in metadata.sorted_tables:
            parts += [repr(tuple(row)) for row in conn.execute(sa.select(table))]
    for root, _dirs, files in os.walk(ctx.settings.releases_dir):
        for name in files:
            parts.append(Path(root, name).read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def count(ctx: pipeline.Context, table: sa.Table) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def raw_files(ctx: pipeline.Context) -> list[Path]:
    return [p for p in ctx.settings.raw_dir.rglob("*") if p.is_file()]


def shown(err: BaseException) -> str:
    """All an exception can say: message, repr, full traceback with chained causes."""
    return "\n".join([str(err), repr(err), "".join(traceback.format_exception(err))])


def planted(data: bytes) -> bool:
    """Whether the file holds the SENTINEL (inside a zip's members for .xlsx)."""
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return any(SENTINEL.encode() in z.read(n) for n in z.namelist())
    return SENTINEL.encode() in data or SENTINEL.encode("utf-16-le") in data


def assert_absent(values: tuple[str, ...], **places: str) -> None:
    for value in values:
        for where, text in places.items():
            assert value not in text, f"{value!r} found in {where}"


def capture_logs(caplog: pytest.LogCaptureFixture) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)


# --- the corpus ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Case,
    home: Callable[..., pipeline.Context],
    mapping_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ctx = home(**case.settings)
    path = tmp_path / case.filename
    path.write_bytes(case.content())
    assert case.id in ("empty", "password-xlsx") or planted(path.read_bytes())
    capture_logs(caplog)
    secrets = (SENTINEL, *case.secrets)

    if case.code is None:
        result = pipeline.ingest_file(ctx, ORG, path, mapping=mapping_file)
        assert case.rows == (result.report["rows_read"], result.report["rows_accepted"])
        assert count(ctx, uploads) == 1 and count(ctx, cases) == case.rows[1]
        assert len(raw_files(ctx)) == 1  # the bytes as uploaded, kept in the raw store only
        pipeline.release(ctx, version="2026.01.01")
        error_text = ""
    else:
        with pytest.raises(CtcollabError) as info:
            pipeline.ingest_file(ctx, ORG, path, mapping=mapping_file)
        err = info.value
        assert err.code == case.code, str(err)
        for text in case.says:
            assert text in str(err)
        assert case.filename in str(err) or case.code in ("file-too-large",)
        # nothing written: no upload, no case, no mapping, no raw bytes, no release
        assert count(ctx, uploads) == 0 and count(ctx, cases) == 0
        assert count(ctx, mappings) == 0
        assert raw_files(ctx) == []
        assert not any(ctx.settings.releases_dir.iterdir())
        error_text = shown(err)

    out, errors = capsys.readouterr()
    assert_absent(
        secrets,
        exception=error_text,
        logs=caplog.text + "\n".join(str(r.args) for r in caplog.records),
        stdout=out,
        stderr=errors,
        database_and_release=everything_written(ctx),
    )


def test_formulas_are_text_never_evaluated(
    home: Callable[..., pipeline.Context], mapping_file: Path, tmp_path: Path
) -> None:
    """A formula in a case id is hashed like any id; in a dropped column it is dropped."""
    ctx = home()
    path = tmp_path / "registre.csv"
    path.write_bytes(_formulas_csv())
    result = pipeline.ingest_file(ctx, ORG, path, mapping=mapping_file)
    assert result.report["columns_dropped"] == ["Nom", "Téléphone"]
    with ctx.engine.connect() as conn:
        keys = [r.case_key for r in conn.execute(sa.select(cases.c.case_key))]
    assert len(keys) == 3 and all(len(k) == 64 for k in keys)


def test_a_formula_in_a_mapped_column_is_not_echoed_in_the_report(
    home: Callable[..., pipeline.Context], mapping_file: Path, tmp_path: Path
) -> None:
    ctx = home()
    path = tmp_path / "registre.csv"
    path.write_bytes(french_text([_row("D-1", Sexe=FORMULAS[0])]).encode("cp1252"))
    result = pipeline.ingest_file(ctx, ORG, path, mapping=mapping_file)
    assert result.report["fields"]["gender"]["not_supplied_pct"] == 100.0  # read, not matched
    assert not any("HYPERLINK" in text for text in strings_in(result.report))


def strings_in(value: object) -> list[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*strings_in(k), *strings_in(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings_in(v)]
    return []


def test_unknown_organisation_is_not_found(
    home: Callable[..., pipeline.Context], mapping_file: Path, tmp_path: Path
) -> None:
    ctx = home()
    path = tmp_path / "registre.csv"
    path.write_bytes(french_text(GOOD_ROWS).encode("cp1252"))
    with pytest.raises(CtcollabError) as info:
        pipeline.ingest_file(ctx, "nobody", path, mapping=mapping_file)
    assert info.value.code == "not-found"
    assert SENTINEL not in shown(info.value)
    assert count(ctx, uploads) == 0 and raw_files(ctx) == []


@pytest.mark.parametrize("how", ["their-mapping-file", "their-slug"])
def test_a_file_under_another_organisations_mapping_does_not_fit(
    how: str,
    home: Callable[..., pipeline.Context],
    mapping_file: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = home()
    pipeline.add_org(ctx, "northbridge", "Northbridge")
    theirs = mapping_path("northbridge")
    with ctx.engine.begin() as conn:
        org_id = pipeline.org_id_of(conn, "northbridge")
        registry.register(conn, org_id, theirs.read_text(encoding="utf-8"), theirs.name)
    path = tmp_path / "registre.csv"
    path.write_bytes(french_text(GOOD_ROWS).encode("cp1252"))
    capture_logs(caplog)
    with pytest.raises(CtcollabError) as info:
        if how == "their-mapping-file":
            pipeline.ingest_file(ctx, ORG, path, mapping=theirs)
        else:
            pipeline.ingest_file(ctx, "northbridge", path, mapping=None)
    assert info.value.code == "mapping-does-not-fit"
    assert count(ctx, uploads) == 0 and count(ctx, cases) == 0
    assert count(ctx, mappings) == 1  # theirs, registered before; nothing added
    assert raw_files(ctx) == []
    assert_absent(
        (SENTINEL,),
        exception=shown(info.value),
        logs=caplog.text,
        database=everything_written(ctx),
    )


# --- the command line ------------------------------------------------------------------------

CLI_CASES = ["binary-garbage", "mixed-encodings", "one-mb-cell", "xlsx-zip-bomb", "deep-json",
             "header-only", "over-size-cap"]


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_cli_refuses_in_one_line(case_id: str, tmp_path: Path, mapping_file: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    home = tmp_path / "cli-home"
    # SQLite only: the command line is the same on both, the pipeline tests cover PostgreSQL
    settings = load_settings(home=home, **case.settings)  # type: ignore[arg-type]
    ctx = pipeline.init(settings)
    pipeline.add_org(ctx, ORG, "ONG Test")
    path = tmp_path / case.filename
    path.write_bytes(case.content())
    env = {**os.environ, "CTCOLLAB_HOME": str(home)}
    env.pop("CTCOLLAB_DATABASE_URL", None)
    for name, value in case.settings.items():
        env[f"CTCOLLAB_{name.upper()}"] = str(value)
    done = subprocess.run(
        [sys.executable, "-m", "ctcollab", "ingest", "--org", ORG, "--mapping",
         str(mapping_file), str(path)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert SENTINEL not in done.stderr + done.stdout
    assert count(ctx, uploads) == 0 and raw_files(ctx) == []
