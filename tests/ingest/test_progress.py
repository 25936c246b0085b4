"""Progress of a long read: heard by a listener, never by anyone else; the CLI's bar on a TTY."""

from __future__ import annotations

import csv
import io
import os
import pty
import select
import subprocess
import sys
import threading
from pathlib import Path
from unittest import mock

import openpyxl
import pytest

from ctcollab import pipeline
from ctcollab.settings import load_settings
from ingest import delimited, errors, progress
from ingest.readers import read_table
from tests.ctcollab.conftest import FRENCH_HEADER, FRENCH_MAPPING, FRENCH_ROWS


def french(rows: int, remark: str = "") -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(FRENCH_HEADER.split(";"))
    for i in range(rows):
        row = list(FRENCH_ROWS[i % 3])
        row[0] = f"D-{i:07d}"
        row[-2] = remark or row[-2]  # "Nom", a column the mapping drops
        writer.writerow(row)
    return buffer.getvalue().encode("cp1252")


def heard(data: bytes, name: str) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    with progress.reporting(lambda done, total: calls.append((done, total))):
        read_table(data, name)
    return calls


def test_column_wise_read_reports_bytes_up_to_the_end() -> None:
    data = french(3000)
    with mock.patch.object(delimited, "_CHUNK_ROWS", 500):
        calls = heard(data, "x.csv")
    assert calls[0] == (0, len(data)) and calls[-1] == (len(data), len(data))
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) >= 4


def test_row_by_row_read_reports_too() -> None:
    # a misplaced quote on the last line: read row by row, and refused there
    data = french(210_000) + b'D-x;"ab"c;;;;;;;\r\n'
    calls: list[tuple[int, int]] = []
    with (
        progress.reporting(lambda done, total: calls.append((done, total))),
        pytest.raises(errors.CorruptFile),
    ):
        read_table(data, "x.csv")
    assert len([c for c in calls if 0 < c[0] < c[1]]) >= 2


def test_workbook_read_reports_to_the_end(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["id", "pays"])
    for i in range(50):
        ws.append([f"C-{i}", "Libye"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    data = path.read_bytes()
    calls = heard(data, "x.xlsx")
    assert calls[-1] == (len(data), len(data))


def test_nobody_else_hears() -> None:
    heard_elsewhere: list[tuple[int, int]] = []

    def other_thread() -> None:
        read_table(french(10), "y.csv")

    with progress.reporting(lambda d, t: heard_elsewhere.append((d, t))):
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert heard_elsewhere == []
    assert not progress.listening()


def test_cli_shows_a_bar_on_a_terminal_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = pipeline.init(load_settings(home=home))
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    data = tmp_path / "registre.csv"
    # a big file of few rows: long remarks in a column the mapping drops
    data.write_bytes(french(300, "r" * 30_000))
    assert data.stat().st_size >= progress.BAR_MIN_BYTES
    env = {**os.environ, "CTCOLLAB_HOME": str(home), "COLUMNS": "100"}
    env.pop("CTCOLLAB_DATABASE_URL", None)
    args = [sys.executable, "-m", "ctcollab", "ingest", "--org", "ong-test",
            "--mapping", str(mapping), str(data)]  # fmt: skip

    # stderr a terminal: the bar is drawn there, and the report still ends on stdout
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=follower, env=env)
    os.close(follower)
    drawn = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        drawn += chunk
    stdout = proc.communicate(timeout=120)[0].decode()
    os.close(leader)
    assert proc.returncode == 0, drawn.decode(errors="replace")
    assert b"reading registre.csv" in drawn
    assert "300 rows read" in stdout

    # stderr a pipe (scripts, CI): no bar, nothing on stderr at all
    again = tmp_path / "registre2.csv"
    again.write_bytes(french(301, "r" * 30_000))
    done = subprocess.run([*args[:-1], str(again)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stderr == ""
    assert "301 rows read" in done.stdout
