"""Reproducible releases (--seed) and pac-synth charged to the ledger in (epsilon, delta), per
cohort, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.settings import Settings, load_settings
from privacy.errors import SeedRejected
from privacy.spec import parse_spec
from schemas.errors import BudgetExceeded, UsageError
from schemas.tables import (
    cohort_files,
    cohorts,
    privacy_caps,
    privacy_spends,
    releases,
    snapshot_cases,
)
from tests.conftest import _postgres_url
from tests.ctcollab.conftest import FRENCH_MAPPING, french_csv

SEED = "9d41c07a5e3b28f6c1a04e7d92b5f38a"
YEARS = (2019, 2020, 2021, 2022, 2023)
CLOSED = 2021
YEAR = datetime.now(UTC).year
# year_min 2019: the cohorts measured are 2019 to this year (empty ones too).
SPEC = """
title: Seeded test release
year_min: 2019
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
# pac-synth on cohorts of 1,000 cases each: it spends 0.5% of its epsilon on a noisy number of
# records and fails when that comes out negative (at epsilon 4, a 1e-9 event per cohort).
PAC_YEARS = (YEAR - 1, YEAR)
PAC_SPEC = f"""
title: pac-synth test release
year_min: {YEAR - 1}
dp_tables:
  rho: 0.25
  tables: [{{name: by_gender, title: By gender, dimensions: [gender]}}]
synthetic:
  method: pac-synth
  columns: [year_of_registration, gender, citizenship, country_of_exploitation]
  epsilon: 4.0
  delta: 1.0e-7
"""
TABLES = ("by_gender_age", "by_year_country", "by_year")


def _rows(n: int) -> list[tuple[str, ...]]:
    """A French partner's extract of n cases (deterministic; no real person)."""
    rng = random.Random(11)
    out: list[tuple[str, ...]] = []
    for i in range(n):
        out.append((
            f"S-{i:04d}", f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                          f"{rng.choice(YEARS)}",
            rng.choice(["Femme", "Femme", "Homme", "Inconnu"]),
            rng.choice(["", "15", "19", "25", "34", "41", "52"]),
            rng.choice(["Nigéria", "Mali", "Tchad", "Niger"]),
            rng.choice(["Libye", "Libye", "Niger", "Algérie"]),
            rng.choice(["Travail forcé", "Exploitation sexuelle", "Mariage forcé"]),
            "", ""))
    return out


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    # Room for three releases of SPEC (rho 0.8 per cohort each): the cap first recorded.
    return load_settings(home=tmp_path / "home", database_url=db_url, budget_rho_cap=5.0)


def _pac_rows() -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = [
        (f"P-{i:04d}", f"15/06/{PAC_YEARS[i % 2]}", ("Femme", "Homme", "Inconnu")[i % 3], "",
         ("Nigéria", "Mali")[i % 2], "Libye", "Travail forcé", "", "")
        for i in range(2000)]
    return rows


def _ingest_cases(ctx: pipeline.Context, tmp_path: Path, pac: bool = False
                  ) -> pipeline.Context:
    data = tmp_path / "registre.csv"
    data.write_bytes(french_csv(_pac_rows() if pac else _rows(1000)))
    mapping = tmp_path / "m.yaml"
    mapping.write_text(FRENCH_MAPPING, encoding="utf-8")
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    pipeline.ingest_file(ctx, "ong-test", data, mapping=mapping)
    return ctx


@pytest.fixture
def loaded(ctx: pipeline.Context, tmp_path: Path) -> pipeline.Context:
    return _ingest_cases(ctx, tmp_path)


def _data_files(path: Path) -> dict[str, bytes]:
    """The published data: the combined files and every cohort's own files."""
    files = {p.name: p.read_bytes() for p in sorted((path / "data").iterdir())
             if p.suffix == ".csv"}
    files.update({p.relative_to(path).as_posix(): p.read_bytes()
                  for p in sorted((path / "cohorts").rglob("*")) if p.is_file()})
    return files


def _ledger(ctx: pipeline.Context, version: str) -> list[tuple[object, ...]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(privacy_spends.c.cohort, privacy_spends.c.product,
                      privacy_spends.c.item, privacy_spends.c.rho,
                      privacy_spends.c.epsilon, privacy_spends.c.delta)
            .join(releases, releases.c.id == privacy_spends.c.release_id)
            .where(releases.c.version == version).order_by(privacy_spends.c.id))
        return [tuple(r) for r in rows]


def _everything_written(ctx: pipeline.Context) -> str:
    parts = []
    with ctx.engine.connect() as conn:
        for table in (releases, privacy_spends, privacy_caps, cohorts, cohort_files,
                      snapshot_cases):
            parts += [repr(tuple(r)) for r in conn.execute(sa.select(table))]
    for root, _dirs, files in os.walk(ctx.settings.releases_dir):
        for name in files:
            parts.append(Path(root, name).read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts).lower()


def _count(ctx: pipeline.Context, table: sa.Table) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.fixture
def twin_url(db_url: str, tmp_path: Path, postgres_reason: str | None) -> Iterator[str]:
    """A second, empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'twin.db'}"
    else:
        yield from _postgres_url(postgres_reason)


def test_the_same_seed_reproduces_the_data_files(loaded: pipeline.Context, tmp_path: Path,
                                                 twin_url: str) -> None:
    spec = parse_spec(SPEC)
    pipeline.close_cohort(loaded, CLOSED)  # so that k-anonymised microdata is published
    first = pipeline.release(loaded, spec=spec, version="v1", seed=SEED)
    second = pipeline.release(loaded, spec=spec, version="v2", seed=SEED)
    files = _data_files(first.path)
    assert {n for n in files if "/" not in n} == {
        *(f"{t}.csv" for t in TABLES), *(f"{t}_raw.csv" for t in TABLES),
        "cases_kanon.csv", "cases_synthetic.csv"}
    assert f"cohorts/{CLOSED}/cases_kanon.csv" in files
    # Every table, raw measurement, synthetic and k-anonymised row, cohort by cohort: the
    # open cohorts measured again with the same seed on the same snapshot, the closed one
    # carried.
    assert _data_files(second.path) == files
    # The same seed and data in another deployment (same kind of database) publish the same
    # files too: nothing but the seed and the snapshot keys the noise (k-anonymity's row
    # order included).
    (tmp_path / "twin-input").mkdir()
    twin = _ingest_cases(pipeline.init(load_settings(
        home=tmp_path / "twin", database_url=twin_url,
        budget_rho_cap=5.0)), tmp_path / "twin-input")
    pipeline.close_cohort(twin, CLOSED)
    assert _data_files(pipeline.release(twin, spec=spec, version="v1", seed=SEED).path) == files
    dp = json.loads((first.path / "datapackage.json").read_text())
    assert dp["ctcollab"]["noise"]["source"] == "seeded"
    for res in dp["resources"]:
        if res["privacy"]["method"] in ("dp-table", "dp-synthetic"):
            assert res["privacy"]["noise"] == "seeded", res["name"]
    assert "secret" in (first.path / "methodology.md").read_text()
    # The seed itself is written nowhere: not in the release, not in the database.
    assert SEED not in _everything_written(loaded)
    # Reproducing is charged again, exactly as the first time (the ledger never assumes a
    # copy), on every cohort measured; the closed cohort, carried, is charged nothing more.
    again = _ledger(loaded, "v2")
    assert again == [r for r in _ledger(loaded, "v1") if r[0] != CLOSED]
    assert again and CLOSED not in second.spent
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
    for name in (*(f"{t}.csv" for t in TABLES), *(f"{t}_raw.csv" for t in TABLES)):
        assert tables_a[name] != tables_b[name], name
        assert _data_files(seeded.path)[name] != tables_a[name], name
    dp = json.loads((a.path / "datapackage.json").read_text())
    assert dp["ctcollab"]["noise"]["source"] == "opendp-csprng"
    # The same scales, rho and ledger charge in both modes.
    assert _ledger(loaded, "v1") == _ledger(loaded, "v2") == _ledger(loaded, "v3")
    assert seeded.spent == a.spent == b.spent
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
    # subtraction: the keys include the snapshot, so no table keeps its noise, in any cohort.
    one, two = _data_files(first.path), _data_files(second.path)
    for name in (*(f"{t}.csv" for t in TABLES), *(f"{t}_raw.csv" for t in TABLES)):
        assert one[name] != two[name], name
    for year in YEARS:
        assert one[f"cohorts/{year}/by_gender_age.csv"] != two[f"cohorts/{year}/by_gender_age.csv"]


@pytest.mark.parametrize("seed", ["42", "0" * 32, "my release seed"])
def test_a_guessable_seed_is_refused_before_anything_is_read(
        ctx: pipeline.Context, seed: str) -> None:
    with pytest.raises(SeedRejected):
        pipeline.release(ctx, spec=parse_spec(SPEC), version="v1", seed=seed)
    assert not (ctx.settings.releases_dir / "v1").exists()
    assert _count(ctx, privacy_spends) == _count(ctx, releases) == 0
    assert _count(ctx, snapshot_cases) == 0


def test_pac_synth_is_released_and_charged_epsilon_delta(ctx: pipeline.Context,
                                                         tmp_path: Path) -> None:
    pytest.importorskip("pacsynth", reason="pac-synth is not installed")
    loaded = _ingest_cases(ctx, tmp_path, pac=True)
    rel = pipeline.release(loaded, spec=parse_spec(PAC_SPEC), version="v1")
    ledger_rows = _ledger(loaded, "v1")
    measured = sorted(rel.spent)
    assert measured == list(PAC_YEARS)
    for cohort in measured:
        mine = [r[1:] for r in ledger_rows if r[0] == cohort]
        assert ("dp-synthetic", "cases_synthetic", None, 4.0, 1e-7) in mine, cohort
        [table] = [r for r in mine if r[0] == "dp-table"]
        assert table[1] == "by_gender" and table[3:] == (None, None)
        # zCDP part: OpenDP's map of the table's scale, within the planned 1/4.
        assert 0 < rel.spent[cohort].rho <= parse_spec(PAC_SPEC).planned_rho()
        assert rel.spent[cohort].approx_epsilon == 4
        assert float(rel.spent[cohort].approx_delta) == 1e-7
    dp = json.loads((rel.path / "datapackage.json").read_text())
    [synthetic] = [r for r in dp["resources"] if r["privacy"]["method"] == "dp-synthetic"]
    privacy = synthetic["privacy"]
    assert (privacy["epsilon"], privacy["delta"], privacy["rho"]) == (4.0, 1e-7, None)
    assert "(epsilon, delta)" in privacy["accounting"]
    assert "SYNTHETIC" in synthetic["title"]
    lg = dp["ctcollab"]["privacy_ledger"]
    [pac] = [p for p in lg["release"]["products"] if p["product"] == "dp-synthetic"]
    assert pac["rho"] is None and pac["cohorts"] == measured


def test_an_over_cap_pac_synth_release_writes_nothing(tmp_path: Path, db_url: str) -> None:
    pytest.importorskip("pacsynth", reason="pac-synth is not installed")
    from privacy.mechanisms import epsilon_of

    # Room for the tables (rho 0.25) and one pac-synth at epsilon 4, not for a second one.
    cap = epsilon_of(0.5, 1e-6 - 2e-7) + 6.0
    ctx = _ingest_cases(pipeline.init(load_settings(
        home=tmp_path / "h", database_url=db_url, budget_epsilon_cap=cap)), tmp_path, pac=True)
    pipeline.release(ctx, spec=parse_spec(PAC_SPEC), version="v1")
    spent = _ledger(ctx, "v1")
    with pytest.raises(BudgetExceeded) as err:
        pipeline.release(ctx, spec=parse_spec(PAC_SPEC), version="v2")
    assert "epsilon" in str(err.value) and f"cohort {PAC_YEARS[0]} cannot take" in str(err.value)
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()) == ["LATEST", "v1"]
    assert _count(ctx, releases) == 1 and _ledger(ctx, "v1") == spent
    assert _count(ctx, privacy_spends) == len(spent)
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
