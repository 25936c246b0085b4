"""Reproducible releases (--seed) and pac-synth charged to the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.settings import Settings, load_settings
from privacy.errors import SeedRejected
from privacy.spec import parse_spec
from schemas.errors import BudgetExceeded, UsageError
from schemas.tables import budget_ledger, releases
from tests.ctcollab.conftest import FRENCH_MAPPING, french_csv

SEED = "9d41c07a5e3b28f6c1a04e7d92b5f38a"
SPEC = """
title: Seeded test release
year_min: 2015
dp_tables:
  rho: 0.5
  tables:
    - {name: by_gender_age, title: By gender and age, dimensions: [gender, age_broad]}
    - {name: by_year_country, title: By year and country,
       dimensions: [year_of_registration, country_of_exploitation]}
    - {name: by_year, title: By year, dimensions: [year_of_registration]}
kanon: {k: 11, max_suppression: 0.05, loss_metric: ncp}
synthetic:
  method: marginal
  rho: 0.3
  columns: [year_of_registration, gender, age_broad, citizenship, country_of_exploitation]
"""
PAC_SPEC = """
title: pac-synth test release
dp_tables:
  rho: 0.25
  tables: [{name: by_gender, title: By gender, dimensions: [gender]}]
synthetic:
  method: pac-synth
  columns: [year_of_registration, gender, citizenship, country_of_exploitation]
  epsilon: 4.0
  delta: 1.0e-7
"""


def _rows(n: int) -> list[tuple[str, ...]]:
    """A French partner's extract of n cases (deterministic; no real person)."""
    rng = random.Random(11)
    out = []
    for i in range(n):
        out.append((
            f"S-{i:04d}", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                          f"{rng.choice([2019, 2020, 2021, 2022, 2023])}",
            rng.choice(["Femme", "Femme", "Homme", "Inconnu"]),
            rng.choice(["", "15", "19", "25", "34", "41", "52"]),
            rng.choice(["Nigéria", "Mali", "Tchad", "Niger"]),
            rng.choice(["Libye", "Libye", "Niger", "Algérie"]),
            rng.choice(["Travail forcé", "Exploitation sexuelle", "Mariage forcé"]),
            "", ""))
    return out


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # Room for three releases of SPEC on one snapshot.
    return load_settings(home=tmp_path / "home", database_url=db_url, budget_rho_cap=5.0)


def _ingest_cases(ctx: pipeline.Context, tmp_path: Path) -> pipeline.Context:
    data = tmp_path / "registre.csv"
    # pac-synth spends 0.5% of its epsilon on a noisy number of records and fails when that
    # comes out negative: at epsilon 4, 1,000 cases make that a 1e-9 event.
    data.write_bytes(french_csv(_rows(1000)))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    return ctx


@pytest.fixture
def loaded(ctx: pipeline.Context, tmp_path: Path) -> pipeline.Context:
    return _ingest_cases(ctx, tmp_path)


def _data_files(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((path / "data").iterdir())
            if p.suffix == ".csv"}


def _ledger(ctx: pipeline.Context, version: str) -> list[tuple[object, ...]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(budget_ledger.c.product, budget_ledger.c.item, budget_ledger.c.rho,
                      budget_ledger.c.epsilon, budget_ledger.c.delta)
            .join(releases, releases.c.id == budget_ledger.c.release_id)
            .where(releases.c.version == version).order_by(budget_ledger.c.id))
        return [tuple(r) for r in rows]


def _everything_written(ctx: pipeline.Context) -> str:
    parts = []
    with ctx.engine.connect() as conn:
        for table in (releases, budget_ledger):
            parts += [repr(tuple(r)) for r in conn.execute(sa.select(table))]
    for root, _dirs, files in os.walk(ctx.settings.releases_dir):
        for name in files:
            parts.append(Path(root, name).read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts).lower()


def test_the_same_seed_reproduces_the_data_files(loaded: pipeline.Context) -> None:
    spec = parse_spec(SPEC)
    first = pipeline.release(loaded, spec=spec, version="v1", seed=SEED)
    second = pipeline.release(loaded, spec=spec, version="v2", seed=SEED)
    files = _data_files(first.path)
    assert set(files) == {"by_gender_age.csv", "by_year_country.csv", "by_year.csv",
                          "cases_kanon.csv", "cases_synthetic.csv"}
    assert _data_files(second.path) == files  # every table, the synthetic rows, k-anon rows
    dp = json.loads((first.path / "datapackage.json").read_text())
    assert dp["ctcollab"]["noise"]["source"] == "seeded"
    for res in dp["resources"]:
        if res["privacy"]["method"] in ("dp-table", "dp-synthetic"):
            assert res["privacy"]["noise"] == "seeded", res["name"]
    assert "secret" in (first.path / "methodology.md").read_text()
    # The seed itself is written nowhere: not in the release, not in the database.
    assert SEED not in _everything_written(loaded)
    # Reproducing is charged again, exactly as planned (the ledger never assumes a copy).
    assert _ledger(loaded, "v1") == _ledger(loaded, "v2")
    assert first.noise == second.noise == "seeded"


def test_without_a_seed_two_releases_differ_and_are_charged_the_same(
        loaded: pipeline.Context) -> None:
    spec = parse_spec(SPEC)
    seeded = pipeline.release(loaded, spec=spec, version="v1", seed=SEED)
    a = pipeline.release(loaded, spec=spec, version="v2")
    b = pipeline.release(loaded, spec=spec, version="v3")
    tables_a, tables_b = _data_files(a.path), _data_files(b.path)
    assert set(tables_a) == set(tables_b)
    # Hundreds of noisy cells, dozens published with counts well above the threshold: equal
    # by chance with probability far below 1e-9.
    assert tables_a != tables_b
    assert _data_files(seeded.path) != tables_a
    dp = json.loads((a.path / "datapackage.json").read_text())
    assert dp["ctcollab"]["noise"]["source"] == "opendp-csprng"
    # The same scales, rho and ledger charge in both modes.
    assert _ledger(loaded, "v1") == _ledger(loaded, "v2") == _ledger(loaded, "v3")
    seeded_dp = json.loads((seeded.path / "datapackage.json").read_text())
    for x, y in zip(seeded_dp["resources"], dp["resources"], strict=True):
        for key in ("rho", "epsilon", "delta", "noise_scale", "ci95_half_width"):
            assert x["privacy"].get(key) == y["privacy"].get(key), (x["name"], key)


def test_another_snapshot_with_the_same_seed_gets_fresh_noise(
        loaded: pipeline.Context, tmp_path: Path) -> None:
    spec = parse_spec(SPEC)
    first = pipeline.release(loaded, spec=spec, version="v1", seed=SEED)
    more = tmp_path / "more.csv"
    more.write_bytes(french_csv([("S-9999", "01/02/2022", "Homme", "30", "Mali", "Niger",
                                  "Travail forcé", "", "")]))
    mapping = tmp_path / "m.yaml"
    pipeline.ingest_file(loaded, "ong-test", more, mapping=mapping)
    second = pipeline.release(loaded, spec=spec, version="v2", seed=SEED)
    # Reusing the noise on neighbouring snapshots would reveal the added case exactly by
    # subtraction: the keys include the snapshot, so no table keeps its noise.
    one, two = _data_files(first.path), _data_files(second.path)
    for name in ("by_gender_age.csv", "by_year_country.csv", "by_year.csv"):
        assert one[name] != two[name], name


@pytest.mark.parametrize("seed", ["42", "0" * 32, "my release seed"])
def test_a_guessable_seed_is_refused_before_anything_is_read(
        ctx: pipeline.Context, seed: str) -> None:
    with pytest.raises(SeedRejected):
        pipeline.release(ctx, spec=parse_spec(SPEC), version="v1", seed=seed)
    assert not (ctx.settings.releases_dir / "v1").exists()
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(budget_ledger)).scalar() == 0


def test_pac_synth_is_released_and_charged_epsilon_delta(loaded: pipeline.Context) -> None:
    pytest.importorskip("pacsynth", reason="pac-synth is not installed")
    rel = pipeline.release(loaded, spec=parse_spec(PAC_SPEC), version="v1")
    ledger_rows = _ledger(loaded, "v1")
    assert ("dp-synthetic", "pac-synth aggregates", None, 4.0, 1e-7) in ledger_rows
    assert ledger_rows[0][:3] == ("dp-table", "by_gender", "1/4")
    assert rel.spent is not None and rel.spent.approx_epsilon == 4
    dp = json.loads((rel.path / "datapackage.json").read_text())
    [synthetic] = [r for r in dp["resources"] if r["privacy"]["method"] == "dp-synthetic"]
    privacy = synthetic["privacy"]
    assert (privacy["epsilon"], privacy["delta"], privacy["rho"]) == (4.0, 1e-7, None)
    assert "(epsilon, delta)" in privacy["accounting"]
    assert "SYNTHETIC" in synthetic["title"]


def test_an_over_cap_pac_synth_release_writes_nothing(tmp_path: Path, db_url: str) -> None:
    pytest.importorskip("pacsynth", reason="pac-synth is not installed")
    from privacy.mechanisms import epsilon_of

    # Room for the tables (rho 0.25) and one pac-synth at epsilon 4, not for a second one.
    cap = epsilon_of(0.5, 1e-6 - 2e-7) + 6.0
    ctx = _ingest_cases(pipeline.init(load_settings(
        home=tmp_path / "h", database_url=db_url, budget_epsilon_cap=cap)), tmp_path)
    pipeline.release(ctx, spec=parse_spec(PAC_SPEC), version="v1")
    with pytest.raises(BudgetExceeded) as err:
        pipeline.release(ctx, spec=parse_spec(PAC_SPEC), version="v2")
    assert "epsilon" in str(err.value)
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()) == ["LATEST", "v1"]
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(releases)).scalar() == 1
    # A delta that leaves nothing for the tables' zCDP conversion is refused too.
    too_much = PAC_SPEC.replace("delta: 1.0e-7", "delta: 1.0e-6")
    with pytest.raises(BudgetExceeded) as err:
        pipeline.release(ctx, spec=parse_spec(too_much), version="v3")
    assert "delta" in str(err.value)


def test_a_seeded_release_refuses_pac_synth(ctx: pipeline.Context) -> None:
    with pytest.raises(UsageError):
        pipeline.release(ctx, spec=parse_spec(PAC_SPEC), version="v1",
                         seed=secrets.token_hex(16))
    assert not (ctx.settings.releases_dir / "v1").exists()
