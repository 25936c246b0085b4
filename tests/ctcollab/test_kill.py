"""kill -9 in the middle of an ingest and of a release, as a crash or an operator would:
nothing half-done becomes visible, nothing is lost, the next run finishes the job."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from publish.release import latest_version, list_versions
from tests.ctcollab.conftest import FRENCH_MAPPING, french_csv
from tests.ctcollab.test_cli import ctcollab

ROWS = 60_000
GENDERS, COUNTRIES = ("Femme", "Homme", "Inconnu"), ("Nigéria", "Mali", "Tchad", "Niger")


def _big_register(path: Path) -> None:
    path.write_bytes(french_csv([
        (f"K-{i:06d}", f"{1 + i % 28:02d}/{1 + i % 12:02d}/{2018 + i % 6}", GENDERS[i % 3],
         str(12 + i % 50), COUNTRIES[i % 4], "Libye", "Travail forcé", "", "")
        for i in range(ROWS)]))


def _start(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CTCOLLAB_HOME": str(home)}
    env.pop("CTCOLLAB_DATABASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "ctcollab", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it finished first (then the test
    would prove nothing)."""
    deadline = time.monotonic() + 120
    while not ready():
        assert proc.poll() is None, f"finished before it could be killed: {proc.stderr}"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert proc.poll() is None, "finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def _query(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "ctcollab.db", timeout=30) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("kill") / "home"
    assert ctcollab(h, "init").returncode == 0
    assert ctcollab(h, "org", "add", "ong-test", "--name", "ONG Test").returncode == 0
    return h


def test_an_ingest_killed_mid_way_stores_nothing_and_the_next_run_finishes_it(
        home: Path, tmp_path: Path) -> None:
    data, mapping = tmp_path / "registre.csv", tmp_path / "m.yaml"
    _big_register(data)
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    args = ("ingest", "--org", "ong-test", "--mapping", str(mapping), str(data))

    proc = _start(home, *args)
    # Killed once the upload is recorded and its harmonisation under way.
    _kill_when(proc, lambda: (home / "ctcollab.db").exists() and _query(
        home, "SELECT count(*) FROM uploads WHERE status = 'parsed'")[0][0] == 1)
    assert _query(home, "SELECT count(*) FROM cases") == [(0,)]

    again = ctcollab(home, *args)
    assert again.returncode == 0, again.stderr
    assert f"{ROWS} accepted" in again.stdout
    assert _query(home, "SELECT count(*) FROM cases") == [(ROWS,)]
    assert _query(home, "SELECT status, count(*) FROM uploads GROUP BY status") == [
        ("harmonised", 1)]
    # And once done, the same bytes are recognised as already ingested.
    third = ctcollab(home, *args)
    assert third.returncode == 0 and _query(home, "SELECT count(*) FROM cases") == [(ROWS,)]


def test_a_release_killed_mid_way_leaves_the_last_release_and_latest(home: Path) -> None:
    first = ctcollab(home, "release", "--version", "2026.05.01")
    assert first.returncode == 0, first.stderr
    releases = home / "releases"
    before = {p.relative_to(releases): p.read_bytes()
              for p in releases.rglob("*") if p.is_file()}
    spent = _query(home, "SELECT count(*) FROM privacy_spends")

    proc = _start(home, "release", "--version", "2026.05.02")
    _kill_when(proc, lambda: any(p.name.startswith(".tmp-") for p in releases.iterdir()))

    assert list_versions(releases) == ["2026.05.01"]
    assert latest_version(releases) == "2026.05.01"
    assert not (releases / "2026.05.02").exists()
    after = {p.relative_to(releases): p.read_bytes() for p in releases.rglob("*")
             if p.is_file() and not p.relative_to(releases).parts[0].startswith(".tmp-")}
    assert after == before
    assert _query(home, "SELECT version FROM releases") == [("2026.05.01",)]
    assert _query(home, "SELECT count(*) FROM privacy_spends") == spent

    # The version was never taken: the next release publishes it.
    again = ctcollab(home, "release", "--version", "2026.05.02")
    assert again.returncode == 0, again.stderr
    assert list_versions(releases) == ["2026.05.02", "2026.05.01"]
    assert latest_version(releases) == "2026.05.02"
