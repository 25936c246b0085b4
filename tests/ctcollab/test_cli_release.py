"""`ctcollab release --seed/--seed-file/--revise`, `ctcollab budget [cap]` and `ctcollab cohort
list|close`, with both kinds of spend, as run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.ctcollab.conftest import FRENCH_MAPPING, french_csv
from tests.ctcollab.test_cli import ctcollab, home  # noqa: F401  (the fixture)
from tests.ctcollab.test_release_seed import PAC_SPEC, SPEC, _pac_rows, _rows

SEED = "c0ffee41d2b7a95e68f1032bd4e7a9c5"


def _ingested(home: Path, tmp_path: Path, rows: list[tuple[str, ...]]) -> Path:  # noqa: F811
    assert ctcollab(home, "org", "add", "ong-test", "--name", "ONG Test").returncode == 0
    data = tmp_path / "registre.csv"
    data.write_bytes(french_csv(rows))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    ing = ctcollab(home, "ingest", "--org", "ong-test", "--mapping", str(mapping), str(data))
    assert ing.returncode == 0, ing.stderr
    return home


def _row(table: str, first: str) -> list[str]:
    """The cells of the row of a Rich table whose first cell is ``first``."""
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip(" │┃|").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first} in:\n{table}")


@pytest.fixture
def ingested(home: Path, tmp_path: Path) -> Path:  # noqa: F811
    return _ingested(home, tmp_path, _rows(1000))


def test_seeded_release_seed_checks_cap_and_cohorts(ingested: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    seed_file = tmp_path / "seed"
    seed_file.write_text(SEED + "\n", encoding="utf-8")
    # The cap was recorded by `init` (rho 2 per cohort): a setting changes nothing any more,
    # only `budget cap`, which is itself recorded.
    env = {"CTCOLLAB_BUDGET_RHO_CAP": "5"}
    assert "rho = 2 " in ctcollab(ingested, "budget", env=env).stdout
    blank = ctcollab(ingested, "budget", "cap", "--rho", "5", "--reason", " ")
    assert blank.returncode == 2 and "reason" in blank.stderr
    cap = ctcollab(ingested, "budget", "cap", "--rho", "5", "--reason", "test: room")
    assert cap.returncode == 0, cap.stderr
    assert "lifetime cap per cohort is now rho = 5" in cap.stdout
    for version in ("v1", "v2"):
        rel = ctcollab(ingested, "release", "--spec", str(spec), "--version", version,
                       "--seed-file", str(seed_file))
        assert rel.returncode == 0, rel.stderr
        assert "noise: seeded" in rel.stdout and SEED not in rel.stdout + rel.stderr
        assert "cohorts 2019-" in rel.stdout and "at most rho 0.8 per person" in rel.stdout
    data = {v: {p.relative_to(ingested / "releases" / v).as_posix(): p.read_bytes()
                for p in (ingested / "releases" / v).glob("*/*.csv")} for v in ("v1", "v2")}
    assert data["v1"] == data["v2"] and data["v1"]

    short = ctcollab(ingested, "release", "--spec", str(spec), "--version", "v3",
                     "--seed", "42")
    assert short.returncode == 2
    assert len(short.stderr.strip().splitlines()) == 1 and "128 bits" in short.stderr
    assert not (ingested / "releases" / "v3").exists()

    # Cohorts: listed with their spend; closing one is recorded once; only a closed cohort
    # can be revised.
    listed = ctcollab(ingested, "cohort", "list")
    assert listed.returncode == 0, listed.stderr
    row = _row(listed.stdout, "2021")
    assert row[1:2] == ["open"] and row[3:5] == ["1.6", "3.4"]  # spent, remaining rho
    not_closed = ctcollab(ingested, "release", "--spec", str(spec), "--revise", "2021")
    assert not_closed.returncode == 2 and "cohort 2021 is not closed" in not_closed.stderr
    closed = ctcollab(ingested, "cohort", "close", "2021", "--reason", "complete")
    assert closed.returncode == 0 and "cohort 2021 closed" in closed.stdout
    # v2's three tables and synthetic file of the cohort (no k-anonymity while it was open).
    assert "4 published file(s) frozen" in closed.stdout
    twice = ctcollab(ingested, "cohort", "close", "2021")
    assert twice.returncode == 1 and "already closed" in twice.stderr
    assert "--revise 2021" in twice.stderr
    row = _row(ctcollab(ingested, "cohort", "list").stdout, "2021")
    assert row[1] == "closed" and row[3] == "1.6"
    revised = ctcollab(ingested, "release", "--spec", str(spec), "--version", "v3",
                       "--revise", "2021")
    assert revised.returncode == 0, revised.stderr
    budget = ctcollab(ingested, "budget")
    assert "v3" in budget.stdout and "revision" in budget.stdout
    assert "rho = 5" in budget.stdout and "delta = 1.0e-06" in budget.stdout


def test_pac_synth_release_and_budget_with_both_kinds(home: Path,  # noqa: F811
                                                       tmp_path: Path) -> None:
    if importlib.util.find_spec("pacsynth") is None:
        pytest.skip("pac-synth is not installed")
    ingested = _ingested(home, tmp_path, _pac_rows())
    pac = tmp_path / "pac.yaml"
    pac.write_text(PAC_SPEC, encoding="utf-8")
    rel = ctcollab(ingested, "release", "--spec", str(pac), "--version", "v1")
    assert rel.returncode == 0, rel.stderr
    assert "noise: opendp-csprng" in rel.stdout and "epsilon 4" in rel.stdout
    budget = ctcollab(ingested, "budget")
    assert budget.returncode == 0, budget.stderr
    out = budget.stdout
    assert "cases_synthetic" in out and "(epsilon, delta)" in out and "zCDP" in out
    assert "composed epsilon" in out and "delta = 1.0e-06" in out and "rho = 2" in out
