"""`ctcollab release --seed/--seed-file` and `ctcollab budget` with both kinds of spend, as run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.ctcollab.conftest import FRENCH_MAPPING, french_csv
from tests.ctcollab.test_cli import ctcollab, home  # noqa: F401  (the fixture)
from tests.ctcollab.test_release_seed import PAC_SPEC, SPEC, _rows

SEED = "c0ffee41d2b7a95e68f1032bd4e7a9c5"


@pytest.fixture
def ingested(home: Path, tmp_path: Path) -> Path:  # noqa: F811
    assert ctcollab(home, "org", "add", "ong-test", "--name", "ONG Test").returncode == 0
    data = tmp_path / "registre.csv"
    data.write_bytes(french_csv(_rows(1000)))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    ing = ctcollab(home, "ingest", "--org", "ong-test", "--mapping", str(mapping), str(data))
    assert ing.returncode == 0, ing.stderr
    return home


def test_seeded_release_seed_checks_and_budget_with_both_kinds(
        ingested: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    seed_file = tmp_path / "seed"
    seed_file.write_text(SEED + "\n", encoding="utf-8")
    env = {"CTCOLLAB_BUDGET_RHO_CAP": "5"}
    for version in ("v1", "v2"):
        rel = ctcollab(ingested, "release", "--spec", str(spec), "--version", version,
                       "--seed-file", str(seed_file), env=env)
        assert rel.returncode == 0, rel.stderr
        assert "noise: seeded" in rel.stdout and SEED not in rel.stdout + rel.stderr
    data = {v: {p.name: p.read_bytes() for p in (ingested / "releases" / v / "data").glob("*.csv")}
            for v in ("v1", "v2")}
    assert data["v1"] == data["v2"] and data["v1"]

    short = ctcollab(ingested, "release", "--spec", str(spec), "--version", "v3",
                     "--seed", "42", env=env)
    assert short.returncode == 2
    assert len(short.stderr.strip().splitlines()) == 1 and "128 bits" in short.stderr
    assert not (ingested / "releases" / "v3").exists()

    if importlib.util.find_spec("pacsynth") is None:
        pytest.skip("pac-synth is not installed")
    pac = tmp_path / "pac.yaml"
    pac.write_text(PAC_SPEC, encoding="utf-8")
    rel = ctcollab(ingested, "release", "--spec", str(pac), "--version", "v3", env=env)
    assert rel.returncode == 0, rel.stderr
    assert "noise: opendp-csprng" in rel.stdout and "epsilon 4" in rel.stdout
    budget = ctcollab(ingested, "budget", env=env)
    assert budget.returncode == 0, budget.stderr
    out = budget.stdout
    assert "pac-synth aggregates" in out and "(epsilon, delta)" in out and "zCDP" in out
    assert "composed epsilon" in out and "delta = 1.0e-06" in out and "rho = 5" in out
