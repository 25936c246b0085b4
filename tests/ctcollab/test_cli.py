"""The CLI as a user runs it: real subprocesses, exit codes 0/1/2, one line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ctcollab.conftest import FRENCH_MAPPING, FRENCH_ROWS, french_csv


def ctcollab(home: Path, *args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CTCOLLAB_HOME": str(home), **(env or {})}
    full_env.pop("CTCOLLAB_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "ctcollab", *args], capture_output=True,
                          text=True, env=full_env, timeout=120, check=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    assert ctcollab(h, "init").returncode == 0
    return h


def test_org_ingest_release_budget(home: Path, tmp_path: Path) -> None:
    added = ctcollab(home, "org", "add", "ong-test", "--name", "ONG Test")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("ctc_") and len(key) > 30
    data = tmp_path / "registre.csv"
    data.write_bytes(french_csv(FRENCH_ROWS))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    ing = ctcollab(home, "ingest", "--org", "ong-test", "--mapping", str(mapping), str(data))
    assert ing.returncode == 0, ing.stderr
    assert "4 rows read, 3 accepted, 1 quarantined" in ing.stdout
    assert "date-unparseable" in ing.stdout
    for pii in ("Aminata", "+218", "D-001", "pas de date"):
        assert pii not in ing.stdout + ing.stderr
    rel = ctcollab(home, "release", "--version", "2026.04.01")
    assert rel.returncode == 0, rel.stderr
    assert (home / "releases" / "2026.04.01" / "datapackage.json").exists()
    budget = ctcollab(home, "budget")
    assert "2026.04.01" in budget.stdout and "victims_by_gender_age" in budget.stdout
    out = tmp_path / "export.csv"
    exp = ctcollab(home, "export", "--org", "ong-test", "--out", str(out))
    assert exp.returncode == 0, exp.stderr
    header = out.read_text().splitlines()[0]
    assert header.startswith("yearOfRegistration,Datasource,gender,ageBroad")


def test_rejected_input_exits_1_with_one_line(home: Path, tmp_path: Path) -> None:
    ctcollab(home, "org", "add", "ong-test", "--name", "ONG Test")
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    r = ctcollab(home, "ingest", "--org", "ong-test", "--mapping", str(mapping), str(empty))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "empty" in r.stderr


def test_bad_mapping_exits_1_naming_the_line(home: Path, tmp_path: Path) -> None:
    ctcollab(home, "org", "add", "ong-test", "--name", "ONG Test")
    data = tmp_path / "registre.csv"
    data.write_bytes(french_csv(FRENCH_ROWS))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING.replace("gender:", "genre:"), encoding="utf-8")
    r = ctcollab(home, "ingest", "--org", "ong-test", "--mapping", str(mapping), str(data))
    assert r.returncode == 1
    assert "m.yaml line 6" in r.stderr and "Traceback" not in r.stderr


def test_usage_error_exits_2(home: Path) -> None:
    r = ctcollab(home, "ingest")
    assert r.returncode == 2
    r = ctcollab(home, "no-such-command")
    assert r.returncode == 2


def test_invalid_setting_exits_2_naming_it(tmp_path: Path) -> None:
    r = ctcollab(tmp_path, "init", env={"CTCOLLAB_MAX_UPLOAD_BYTES": "lots"})
    assert r.returncode == 2
    assert "CTCOLLAB_MAX_UPLOAD_BYTES" in r.stderr and "Traceback" not in r.stderr


def test_duplicate_organisation_exits_1(home: Path) -> None:
    assert ctcollab(home, "org", "add", "x", "--name", "X").returncode == 0
    r = ctcollab(home, "org", "add", "x", "--name", "X")
    assert r.returncode == 1 and "already exists" in r.stderr


def test_mapping_suggest_then_check(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "registre.csv"
    rows = [(f"{r[0]}-{i}", *r[1:]) for i in range(3) for r in FRENCH_ROWS]
    data.write_bytes(french_csv(rows))
    suggested = ctcollab(home, "mapping", "suggest", str(data))
    assert suggested.returncode == 0, suggested.stderr
    assert 'case_id: "N° dossier"' in suggested.stdout
    assert '"Nom": looks like an identifier' in suggested.stdout
    for pii in ("Aminata", "+218"):
        assert pii not in suggested.stdout
    draft = tmp_path / "draft.yaml"
    draft.write_text(suggested.stdout, encoding="utf-8")
    checked = ctcollab(home, "mapping", "check", str(draft), str(data))
    assert checked.returncode == 0, checked.stderr
    assert "12 rows read" in checked.stdout
    assert not (home / "raw").exists() or not any((home / "raw").rglob("*.csv"))
