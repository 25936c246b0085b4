"""Privacy over time, attacked: per-cohort lifetime caps, frozen closed cohorts, serialised
releases, one snapshot per release (issue 14's attacks (a)-(c), (f))."""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import sqlalchemy as sa

from ctcollab import pipeline
from ctcollab.settings import Settings, load_settings
from privacy import dp_tables as dp_tables_module
from privacy import ledger
from schemas.errors import BudgetExceeded
from schemas.tables import privacy_spends, releases
from tests.ctcollab.privacy_support import (
    COHORTS,
    SPEC_RHO,
    YEAR,
    cohort_files,
    datapackage,
    ingest,
    measurement,
    write_inputs,
)

ROWS = [(f"A-{i:03d}", COHORTS[i % 3], ("Femme", "Homme", "Inconnu")[i % 2]) for i in range(60)]


@pytest.fixture
def world(ctx: pipeline.Context, tmp_path: Path) -> tuple[pipeline.Context, Path, Path]:
    spec, mapping = write_inputs(tmp_path / "inputs")
    pipeline.add_org(ctx, "ong-test", "ONG Test")
    ingest(ctx, tmp_path, "first", ROWS, mapping)
    return ctx, spec, mapping


def _spent(ctx: pipeline.Context) -> dict[int, ledger.Budget]:
    with ctx.engine.connect() as conn:
        return ledger.totals(conn)


def test_one_added_case_does_not_reset_the_budget(world: tuple[pipeline.Context, Path, Path],
                                                  tmp_path: Path) -> None:
    """The old attack: snapshots one case apart each opened a fresh cap. Now the cap is each
    cohort's, for life: adding or editing a case changes nothing about what is left."""
    ctx, spec, mapping = world
    with ctx.engine.begin() as conn:
        ledger.set_cap(conn, ledger.Cap.of(1.0, 1e-6), reason="test: two releases")
    pipeline.release(ctx, spec_path=spec, version="r1")
    pipeline.release(ctx, spec_path=spec, version="r2")
    for i in range(3):  # one dummy case each time, as the attacker did
        ingest(ctx, tmp_path, f"dummy{i}", [(f"Z-{i}", COHORTS[0], "Femme")], mapping)
        with pytest.raises(BudgetExceeded, match=f"cohort {COHORTS[0]}"):
            pipeline.release(ctx, spec_path=spec, version=f"r{3 + i}")
    spent = _spent(ctx)
    assert set(spent) == set(COHORTS)
    assert all(b.rho <= Fraction(1) for b in spent.values())
    assert all(b.rho > Fraction(99, 100) for b in spent.values())  # both releases charged
    # Refused before anything was computed or written: no third release, no folder.
    with ctx.engine.connect() as conn:
        assert [r.version for r in conn.execute(sa.select(releases.c.version))] == ["r1", "r2"]
    assert sorted(p.name for p in ctx.settings.releases_dir.iterdir()
                  if not p.name.startswith(".") and p.is_dir()) == ["r1", "r2"]


def test_averaging_every_release_learns_no_more_than_one_release_at_the_cap(
        world: tuple[pipeline.Context, Path, Path]) -> None:
    """The averaging attack on the published measurements: the inverse-variance average of
    every distinct measurement of a cohort's cell has variance >= that of one measurement
    at the cap (information adds up as 1 / variance = 2 rho per measurement)."""
    ctx, spec, _mapping = world
    cap_rho = 2.0
    done = []
    for i in range(10):
        try:
            done.append(pipeline.release(ctx, spec_path=spec, version=f"v{i}"))
        except BudgetExceeded:
            break
    assert len(done) == 4  # 4 x 0.5 = the cap of 2; the fifth is refused
    for cohort in COHORTS:
        # Every release measured every cohort anew here (none is closed): one measurement
        # per release and table, whatever the bytes (two small tables may repeat by chance).
        seen: dict[tuple[str, str], float] = {}
        for r in done:
            for table in ("by_gender", "by_year"):
                frame = measurement(r.path, cohort, table)
                seen[r.version, table] = float(frame["noise_scale"].iloc[0])
        information = sum(1 / s**2 for s in seen.values())
        # Two tables share a person's budget: each gets half, so per table 2 * (cap / 2).
        assert information <= 2 * cap_rho * (1 + 1e-9)
        assert information > 2 * cap_rho * 0.99


def test_closed_cohort_is_carried_byte_for_byte_at_no_cost(
        world: tuple[pipeline.Context, Path, Path], tmp_path: Path) -> None:
    ctx, spec, mapping = world
    first = pipeline.release(ctx, spec_path=spec, version="first")
    pipeline.close_cohort(ctx, COHORTS[0], reason="complete")
    # Late cases of the closed cohort, and new ones of the open cohorts, arrive meanwhile.
    ingest(ctx, tmp_path, "late", [("L-1", COHORTS[0], "Femme"), ("L-2", COHORTS[2], "Homme")],
           mapping)
    second = pipeline.release(ctx, spec_path=spec, version="second")
    before, after = cohort_files(first.path), cohort_files(second.path)
    closed = {p: d for p, d in before.items() if p.startswith(f"cohorts/{COHORTS[0]}/")}
    assert closed and all(after[p] == d for p, d in closed.items())
    # The open cohorts were measured again: fresh noise, new bytes.
    opened = [p for p in before if p.startswith(f"cohorts/{COHORTS[2]}/")]
    assert any(after[p] != before[p] for p in opened)
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(privacy_spends.c.cohort, releases.c.version)
                            .join(releases, releases.c.id == privacy_spends.c.release_id)).all()
    assert {c for c, v in rows if v == "second"} == set(COHORTS[1:])
    assert {c for c, v in rows if v == "first"} == set(COHORTS)
    lg = datapackage(second.path)["ctcollab"]["privacy_ledger"]
    by_cohort = {c["cohort"]: c for c in lg["cohorts"]}
    assert by_cohort[COHORTS[0]]["status"] == "closed"
    assert not by_cohort[COHORTS[0]]["measured_in_this_release"]
    # Its final figures were measured in the first release (the second only copied them).
    assert by_cohort[COHORTS[0]]["frozen_in"] == "first"
    assert by_cohort[COHORTS[2]]["frozen_in"] is None
    assert [r["version"] for r in lg["releases"]] == ["first", "second"]
    assert lg["releases"][1]["cohorts"] == list(COHORTS[1:])
    # A revision is explicit, charged, and labelled.
    third = pipeline.release(ctx, spec_path=spec, version="third",
                             revise=frozenset({COHORTS[0]}))
    assert COHORTS[0] in third.spent
    revised = cohort_files(third.path)
    assert any(revised[p] != d for p, d in closed.items())
    lg3 = datapackage(third.path)["ctcollab"]["privacy_ledger"]
    assert any(p["revision"] and COHORTS[0] in p["cohorts"] for p in lg3["release"]["products"])
    fourth = pipeline.release(ctx, spec_path=spec, version="fourth")
    assert all(cohort_files(fourth.path)[p] == revised[p] for p in closed)
    assert COHORTS[0] not in fourth.spent
    lg4 = {c["cohort"]: c for c in datapackage(fourth.path)["ctcollab"]["privacy_ledger"]
           ["cohorts"]}
    assert lg4[COHORTS[0]]["frozen_in"] == "third"  # the revision measured it last


def test_an_upload_committed_during_a_release_is_neither_published_nor_charged(
        world: tuple[pipeline.Context, Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot is materialised once under the lock: an upload that commits while the
    release measures is in neither its figures nor its charge. Shown with a seeded release:
    the same seed on the same snapshot draws the same noise, so the files equal those of a
    release of the data without the late upload."""
    ctx, spec, mapping = world
    seed = "3f9a1c7e5b2d4f6081a3c5e7f9b1d3e5"
    real_measure = dp_tables_module.measure
    late = [(f"LATE-{i}", COHORTS[1], "Homme") for i in range(25)]

    def measure_after_an_upload(*args: object, **kwargs: object) -> object:
        ingest(ctx, tmp_path, "late", late, mapping)  # commits in its own transaction
        return real_measure(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dp_tables_module, "measure", measure_after_an_upload)
    during = pipeline.release(ctx, spec_path=spec, version="during", seed=seed)
    monkeypatch.undo()

    twin_settings = load_settings(home=tmp_path / "twin", database_url=(
        f"sqlite:///{tmp_path / 'twin.db'}"))
    twin = pipeline.init(twin_settings)
    pipeline.add_org(twin, "ong-test", "ONG Test")
    _same_secret(ctx.settings, twin_settings)
    ingest(twin, tmp_path, "first-twin", ROWS, mapping)
    without = pipeline.release(twin, spec_path=spec, version="during", seed=seed)
    for name in ("by_gender", "by_year"):
        assert ((during.path / "data" / f"{name}_raw.csv").read_bytes()
                == (without.path / "data" / f"{name}_raw.csv").read_bytes())
    # The late upload is stored, and the next release counts (and charges) it.
    after = pipeline.release(ctx, spec_path=spec, version="after", seed=seed)
    assert ((after.path / "data" / "by_year_raw.csv").read_bytes()
            != (during.path / "data" / "by_year_raw.csv").read_bytes())


def _same_secret(a: Settings, b: Settings) -> None:
    """Give the twin deployment the same case-key secret (same case keys, same snapshot)."""
    (b.home / "case-key.secret").parent.mkdir(parents=True, exist_ok=True)
    for p in a.home.iterdir():
        if "secret" in p.name and p.is_file():
            (b.home / p.name).write_bytes(p.read_bytes())


def _cli(home: Path, db_url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "CTCOLLAB_HOME": str(home), "CTCOLLAB_DATABASE_URL": db_url}
    return subprocess.Popen([sys.executable, "-m", "ctcollab", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_release_processes_started_together_keep_the_cap(
        world: tuple[pipeline.Context, Path, Path], db_url: str) -> None:
    """Two real `ctcollab release` processes at once, with room for one: exactly one wins."""
    ctx, spec, _mapping = world
    with ctx.engine.begin() as conn:
        ledger.set_cap(conn, ledger.Cap.of(SPEC_RHO * 1.5, 1e-6), reason="test: room for one")
    procs = [_cli(ctx.settings.home, db_url, "release", "--spec", str(spec), "--version", v)
             for v in ("race-a", "race-b")]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    codes = sorted(code for code, _err in results)
    assert codes == [0, 1], results
    assert any("cohort" in err and "lifetime cap" in err for code, err in results if code == 1)
    spent = _spent(ctx)
    assert all(b.rho <= Fraction(SPEC_RHO * 1.5) for b in spent.values())
    with ctx.engine.connect() as conn:
        assert len(conn.execute(sa.select(releases.c.version)).all()) == 1


def test_the_public_ledger_states_every_spend(
        world: tuple[pipeline.Context, Path, Path]) -> None:
    ctx, spec, _mapping = world
    r1 = pipeline.release(ctx, spec_path=spec, version="one")
    lg = datapackage(r1.path)["ctcollab"]["privacy_ledger"]
    assert lg["unit"] == "person"
    assert lg["cap"]["rho"] == 2.0
    assert lg["release"]["total"]["rho"] == pytest.approx(SPEC_RHO, rel=1e-9)
    assert sum(p["rho"] for p in lg["release"]["products"]) == pytest.approx(SPEC_RHO, rel=1e-9)
    assert {c["cohort"] for c in lg["cohorts"]} == set(COHORTS)
    for c in lg["cohorts"]:
        assert c["spent"]["rho"] + c["remaining"]["rho"] == pytest.approx(2.0)
    assert YEAR in {c["cohort"] for c in lg["cohorts"] if c["status"] == "open"}


def test_microdata_of_a_cohort_is_made_once_and_never_derived_again(
        world: tuple[pipeline.Context, Path, Path], tmp_path: Path) -> None:
    """The differencing attack on k-anonymised files: two files of one cohort that differ
    by a late case single it out. The file is made when the cohort closes, then carried
    byte for byte, through later uploads and through a revision of its DP figures."""
    ctx, _spec, mapping = world
    spec = tmp_path / "kanon.yaml"
    spec.write_text((tmp_path / "inputs" / "spec.yaml").read_text(encoding="utf-8")
                    + "kanon: {k: 3, max_suppression: 0.5}\n", encoding="utf-8")
    pipeline.close_cohort(ctx, COHORTS[0])
    first = pipeline.release(ctx, spec_path=spec, version="k1")
    kanon = f"cohorts/{COHORTS[0]}/cases_kanon.csv"
    made = cohort_files(first.path)[kanon]
    assert made.count(b"\n") > 3  # a real file, header and rows
    assert not any(p.endswith("cases_kanon.csv") and not p.startswith(f"cohorts/{COHORTS[0]}/")
                   for p in cohort_files(first.path))  # open cohorts get none
    ingest(ctx, tmp_path, "late-k", [(f"K-{i}", COHORTS[0], "Homme") for i in range(6)],
           mapping)
    second = pipeline.release(ctx, spec_path=spec, version="k2")
    revised = pipeline.release(ctx, spec_path=spec, version="k3",
                               revise=frozenset({COHORTS[0]}))
    assert COHORTS[0] in revised.spent  # the DP figures were measured again ...
    for r in (second, revised):
        assert cohort_files(r.path)[kanon] == made  # ... the microdata never
        assert (r.path / "data" / "cases_kanon.csv").read_bytes() == (
            first.path / "data" / "cases_kanon.csv").read_bytes()
