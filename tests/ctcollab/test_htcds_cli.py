"""`ctcollab ingest --org X FILE` with no mapping, as a partner runs it, on every HTCDS form:
exactly the eligible, consenting cases are stored, with the right values, and the planted
identifiers are nowhere — not in the database file, the output or the logs."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

import pandas as pd
import pytest

from harmonize.harmonizer import case_key
from tests.ctcollab.test_cli import ctcollab
from tests.harmonize.htcds.conftest import htcds_files  # noqa: F401 (fixture)
from tests.harmonize.htcds.support import WORKERS, compare_cases, generate
from tests.harmonize.htcds.test_end_to_end import VARIANTS, Variant

pytestmark = pytest.mark.usefixtures("htcds_files")
SECRET = "htcds-cli-test-secret-0123456789abcdef"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_ingest_with_no_mapping_stores_exactly_the_eligible_cases(
        variant: Variant, tmp_path: Path) -> None:
    home, env = tmp_path / "home", {"CTCOLLAB_SECRET": SECRET, "CTCOLLAB_LOG_LEVEL": "DEBUG"}
    assert ctcollab(home, "init", env=env).returncode == 0
    assert ctcollab(home, "org", "add", "front-line", "--name", "Front-line NGO",
                    env=env).returncode == 0
    written = [variant.adapt(c) for c in generate()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl: the templates' validation extension
        path = variant.write(written, tmp_path)

    done = ctcollab(home, "ingest", "--org", "front-line", str(path), env=env)
    assert done.returncode == 0, done.stderr
    eligible = [c for c in written if c.eligible]
    assert f"{len(eligible)} accepted" in done.stdout

    db = home / "ctcollab.db"
    with sqlite3.connect(db) as conn:
        org_id = conn.execute("SELECT id FROM organisations WHERE slug = 'front-line'"
                              ).fetchone()[0]
        stored = pd.read_sql("SELECT * FROM cases", conn).set_index("case_key")
    assert len(stored) == len(eligible) > 0
    compared = compare_cases(eligible, stored,
                             lambda c: case_key(SECRET.encode(), org_id, variant.local_id(c)),
                             variant.case_date)
    assert compared > len(eligible) * 20

    planted = {s for c in written for s in c.pii if len(s) > 3}
    planted |= {w.lower().replace(" ", "_") for w in WORKERS}
    database = b"".join(p.read_bytes() for p in home.glob("ctcollab.db*"))
    assert b"Front-line NGO" in database  # the search does see text stored in the file
    seen = done.stdout + done.stderr
    for secret in planted:
        assert secret.encode() not in database, secret
        assert secret not in seen, secret
