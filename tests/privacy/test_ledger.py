"""The ledger: each cohort's lifetime spend, zCDP and (epsilon, delta)-only spends composed
against one recorded cap; the cap's history; the release lock; on both databases."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time
from fractions import Fraction

import pytest
import sqlalchemy as sa
from alembic import command

from ctcollab.database import alembic_config, make_engine, upgrade
from privacy import ledger
from privacy.errors import BudgetExceeded
from privacy.lock import release_lock
from privacy.mechanisms import epsilon_of
from privacy.spec import parse_spec
from schemas.errors import Conflict, UsageError
from schemas.tables import privacy_caps, privacy_spends, releases

DELTA_CAP = 1e-6
COHORT = 2024
PAC = ledger.Spend(COHORT, "dp-synthetic", "cases_synthetic", None, 1.0, 1e-7)


def _release(conn: sa.Connection, version: str, spends: list[ledger.Spend]) -> int:
    rid = int(conn.execute(releases.insert().values(version=version, spec={})
                           .returning(releases.c.id)).scalar_one())
    ledger.record(conn, rid, spends)
    return rid


def _table(cohort: int, rho: Fraction) -> ledger.Spend:
    return ledger.Spend(cohort, "dp-table", "t", rho)


def test_both_kinds_are_recorded_exactly_and_composed(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _release(conn, "v1", [_table(COHORT, Fraction(1, 4)), PAC,
                              _table(2023, Fraction(1, 3))])
    with engine.connect() as conn:
        totals = ledger.totals(conn)
        rows = conn.execute(sa.select(privacy_spends.c.cohort, privacy_spends.c.rho,
                                      privacy_spends.c.epsilon, privacy_spends.c.delta)
                            .order_by(privacy_spends.c.id)).all()
        assert ledger.spends(conn, 2023) == [_table(2023, Fraction(1, 3))]
    # rho is stored as the exact fraction ("1/3", never 0.333...), the approx part as given.
    assert [tuple(r) for r in rows] == [(COHORT, "1/4", None, None), (COHORT, None, 1.0, 1e-7),
                                        (2023, "1/3", None, None)]
    total = totals[COHORT]
    assert total == ledger.Budget(Fraction(1, 4), Fraction(1.0), Fraction(1e-7))
    assert totals[2023] == ledger.Budget(rho=Fraction(1, 3))  # cohorts never mix
    # zCDP converted at the delta pac-synth leaves, plus pac-synth's epsilon (basic composition).
    assert total.epsilon(DELTA_CAP) == pytest.approx(epsilon_of(0.25, DELTA_CAP - 1e-7) + 1.0)
    # The classic conversion bounds OpenDP's from above: the total is no looser than it.
    classic = 0.25 + 2 * math.sqrt(0.25 * math.log(1 / (DELTA_CAP - 1e-7))) + 1.0
    assert total.epsilon(DELTA_CAP) <= classic


def test_the_lifetime_composition_over_releases_with_pac_synth(engine: sa.Engine) -> None:
    """A cohort's spends add up over every release, forever: rho exactly, pac-synth's
    epsilon and delta by basic composition, the two together at the cap's delta."""
    pac = [ledger.Spend(COHORT, "dp-synthetic", "cases_synthetic", None, eps, d)
           for eps, d in ((0.5, 1e-8), (0.25, 2e-8), (1.5, 3e-8))]
    tables = [Fraction(1, 10), Fraction(1, 6), Fraction(1, 7)]
    with engine.begin() as conn:
        for i, (rho, p) in enumerate(zip(tables, pac, strict=True)):
            _release(conn, f"v{i}", [_table(COHORT, rho), p, _table(COHORT + 1, rho)])
    with engine.connect() as conn:
        total = ledger.totals(conn)[COHORT]
        other = ledger.totals(conn)[COHORT + 1]
    assert total.rho == Fraction(1, 10) + Fraction(1, 6) + Fraction(1, 7)  # 86/210, exact
    assert total.approx_epsilon == Fraction(0.5) + Fraction(0.25) + Fraction(1.5)
    assert total.approx_delta == Fraction(1e-8) + Fraction(2e-8) + Fraction(3e-8)
    assert other == ledger.Budget(rho=total.rho)
    left = DELTA_CAP - float(total.approx_delta)
    assert total.epsilon(DELTA_CAP) == pytest.approx(epsilon_of(float(total.rho), left) + 2.25)
    # The cap is checked against exactly that composition: what fits, and what does not.
    exact_cap = ledger.Cap.of(1, DELTA_CAP, epsilon=total.epsilon(DELTA_CAP))
    assert exact_cap.allows(total)
    with engine.connect() as conn:
        ledger.check(conn, {COHORT + 1: ledger.Budget(approx_epsilon=Fraction(2.25),
                                                      approx_delta=total.approx_delta)},
                     exact_cap)
        with pytest.raises(BudgetExceeded, match=f"cohort {COHORT}"):
            ledger.check(conn, {COHORT: ledger.Budget(approx_epsilon=Fraction(1, 100))},
                         exact_cap)


def test_check_names_the_cohort_and_what_it_has_left(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(1, DELTA_CAP)
    with engine.begin() as conn:
        _release(conn, "v1", [_table(2021, Fraction(3, 10)), _table(2022, Fraction(9, 10))])
    plan = {c: ledger.Budget(rho=Fraction(1, 5)) for c in (2020, 2021, 2022, 2023)}
    with engine.connect() as conn:
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, plan, cap)
        message = str(err.value)
        assert "cohort 2022 cannot take this release" in message
        assert "needs rho=0.2" in message and "only rho=0.1 " in message
        left = cap.epsilon - ledger.Budget(rho=Fraction(9, 10)).epsilon(DELTA_CAP)
        assert f"epsilon={left:.4g}" in message and "lifetime cap" in message
        assert "`ctcollab cohort close 2022`" in (err.value.hint or "")
        for other in (2020, 2021, 2023):
            assert f"cohort {other}" not in message
        # The first cohort over the cap, in order, is the one named.
        with pytest.raises(BudgetExceeded, match="cohort 2021 cannot"):
            ledger.check(conn, {2022: plan[2022], 2021: ledger.Budget(rho=Fraction(8, 10))},
                         cap)
        # Exactly at the cap is allowed; the other cohorts have their own, untouched.
        ledger.check(conn, {2021: ledger.Budget(rho=Fraction(7, 10)),
                            2022: ledger.Budget(rho=Fraction(1, 10)),
                            2030: ledger.Budget(rho=Fraction(1))}, cap)
        with pytest.raises(BudgetExceeded, match=r"rho 1\.01 over the cap 1"):
            ledger.check(conn, {2021: ledger.Budget(rho=Fraction(71, 100))}, cap)
    with engine.connect() as conn:  # a check writes nothing
        assert len(ledger.spends(conn)) == 2


def test_a_pac_synth_release_over_the_epsilon_cap_is_refused(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(2.0, DELTA_CAP, epsilon=9.0)
    with engine.begin() as conn:
        _release(conn, "v1", [_table(COHORT, Fraction(1, 2)), PAC])
    pac = ledger.Budget(approx_epsilon=Fraction(1), approx_delta=Fraction(1e-7))
    with engine.connect() as conn:
        already = ledger.totals(conn)[COHORT]
        assert already.epsilon(DELTA_CAP) < 9.0
        headroom = 9.0 - (already + pac).epsilon(DELTA_CAP)
        assert headroom > 0
        ledger.check(conn, {COHORT: pac}, cap)  # fits
        more = pac + ledger.Budget(approx_epsilon=Fraction(headroom) * 2)
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, {COHORT: more}, cap)
        assert "epsilon" in str(err.value) and f"cohort {COHORT}" in str(err.value)
        ledger.check(conn, {COHORT - 1: more}, cap)  # budgets are per cohort


def test_deltas_add_up_and_must_leave_some_for_the_zcdp_part(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(2.0, DELTA_CAP)
    with engine.begin() as conn:
        _release(conn, "v1", [_table(COHORT, Fraction(1, 10))])
    whole_delta = ledger.Budget(approx_epsilon=Fraction(1), approx_delta=Fraction(DELTA_CAP))
    with engine.connect() as conn:
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, {COHORT: whole_delta}, cap)
        assert "delta" in str(err.value)
        # Without any zCDP spend, pac-synth may use the whole delta.
        ledger.check(conn, {COHORT + 1: whole_delta}, cap)


def test_the_default_epsilon_cap_is_exactly_the_rho_cap_for_zcdp(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(1.0, DELTA_CAP)
    assert cap.epsilon == epsilon_of(1.0, DELTA_CAP)
    with engine.begin() as conn:
        _release(conn, "v1", [_table(COHORT, Fraction(3, 10))])
    with engine.connect() as conn:
        ledger.check(conn, {COHORT: ledger.Budget(rho=Fraction(7, 10))}, cap)  # at the cap
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, {COHORT: ledger.Budget(rho=Fraction(71, 100))}, cap)
        assert "rho" in str(err.value)
        # Any (epsilon, delta)-only spend on top of a full rho is over the epsilon cap.
        with pytest.raises(BudgetExceeded):
            ledger.check(conn, {COHORT: ledger.Budget(Fraction(7, 10), Fraction(1, 100),
                                                      Fraction(1, 10**9))}, cap)


def test_an_approx_spend_needs_epsilon_and_delta(engine: sa.Engine) -> None:
    with pytest.raises(ValueError):
        ledger.Spend(COHORT, "dp-synthetic", "x", None, 1.0, None)
    # The database refuses it too, whoever writes.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        rid = conn.execute(releases.insert().values(version="v1", spec={})
                           .returning(releases.c.id)).scalar_one()
        conn.execute(privacy_spends.insert().values(release_id=rid, cohort=COHORT,
                                                    product="p", item="i", rho=None,
                                                    epsilon=1.0, delta=None))


def test_planned_spend_of_a_pac_synth_spec() -> None:
    spec = parse_spec("""
dp_tables: {rho: 0.3, tables: [{name: t, title: t, dimensions: [gender]}]}
synthetic: {method: pac-synth, columns: [gender, age_broad], epsilon: 1.5, delta: 1.0e-7}
""")
    assert spec.planned() == ledger.Budget(Fraction(3, 10), Fraction(1.5), Fraction(1e-7))
    assert spec.planned_rho() == Fraction(3, 10)
    assert spec.synthetic_budget() == ledger.Budget(approx_epsilon=Fraction(1.5),
                                                    approx_delta=Fraction(1e-7))


def test_the_cap_is_recorded_and_every_change_kept(engine: sa.Engine) -> None:
    with engine.connect() as conn, pytest.raises(UsageError, match="no privacy cap"):
        ledger.current_cap(conn)
    with engine.begin() as conn:
        ledger.ensure_cap(conn, ledger.Cap.of("0.3", DELTA_CAP))
        ledger.ensure_cap(conn, ledger.Cap.of(5, DELTA_CAP))  # only the first init records
    with engine.begin() as conn:
        first = ledger.current_cap(conn)
        assert (first.rho, first.reason) == (Fraction(3, 10), "initial cap")  # exact: "3/10"
        assert first.epsilon == epsilon_of(0.3, DELTA_CAP) and first.set_at is not None
        with pytest.raises(UsageError, match="reason"):
            ledger.set_cap(conn, ledger.Cap.of(1, DELTA_CAP), reason="  ")
        raised = ledger.set_cap(conn, ledger.Cap.of(1, 1e-7, epsilon=4.0), reason=" board ")
        assert (raised.rho, raised.epsilon, raised.delta, raised.reason) == (
            Fraction(1), 4.0, 1e-7, "board")
    for bad in ((0, DELTA_CAP, None), (1, 0.0, None), (1, 1.0, None), (1, DELTA_CAP, -1.0)):
        with pytest.raises(UsageError):
            ledger.Cap.of(*bad)
    with engine.begin() as conn:
        _release(conn, "v1", [_table(COHORT, Fraction(1, 2))])
        # Lowering the cap below what a cohort has spent is allowed: it stops its spending.
        ledger.set_cap(conn, ledger.Cap.of("0.25", DELTA_CAP), reason="stricter")
    with engine.connect() as conn:
        history = ledger.cap_history(conn)
        assert [(c.rho, c.reason) for c in history] == [
            (Fraction(3, 10), "initial cap"), (Fraction(1), "board"),
            (Fraction(1, 4), "stricter")]
        assert ledger.current_cap(conn) == history[-1]
        with pytest.raises(BudgetExceeded, match=f"cohort {COHORT}.*only rho=0 "):
            ledger.check(conn, {COHORT: ledger.Budget(rho=Fraction(1, 100))})
        ledger.check(conn, {COHORT + 1: ledger.Budget(rho=Fraction(1, 4))})
        assert conn.execute(sa.select(sa.func.count()).select_from(privacy_caps)).scalar() == 3


def test_the_ledger_survives_a_restart(db_url: str) -> None:
    first = make_engine(db_url)
    upgrade(first)
    with first.begin() as conn:
        ledger.ensure_cap(conn, ledger.Cap.of(1, DELTA_CAP))
        _release(conn, "v1", [_table(COHORT, Fraction(1, 4)), PAC])
    first.dispose()
    second = make_engine(db_url)
    with second.connect() as conn:
        assert ledger.totals(conn) == {COHORT: ledger.Budget(Fraction(1, 4), Fraction(1.0),
                                                             Fraction(1e-7))}
        assert ledger.current_cap(conn).rho == 1
        with pytest.raises(BudgetExceeded):
            ledger.check(conn, {COHORT: ledger.Budget(rho=Fraction(4, 5))})
        with pytest.raises(BudgetExceeded):
            ledger.check(conn, {COHORT: ledger.Budget(approx_epsilon=Fraction(100))},
                         ledger.Cap.of(2.0, DELTA_CAP))
    second.dispose()


def test_an_old_per_snapshot_ledger_is_charged_to_every_cohort_present(db_url: str) -> None:
    """Migration 0006: old spends were per content hash; the persons behind them are in
    today's cohorts, so each old spend is charged to every cohort present (never less)."""
    engine = make_engine(db_url)
    command.upgrade(alembic_config(engine), "0005")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO organisations (id, slug, name) VALUES (1, 'a', 'A')"))
        conn.execute(sa.text("INSERT INTO uploads (id, org_id, filename, size, sha256, status) "
                             "VALUES (1, 1, 'f', 1, 'x', 'harmonised')"))
        for i, cohort in enumerate((2021, 2023, 2023)):
            conn.execute(sa.text(
                "INSERT INTO cases (case_key, org_id, upload_id, mapping_version, ingested_at, "
                "cohort) VALUES (:k, 1, 1, 'a/1', :at, :c)"),
                {"k": f"{i:064d}", "at": "2024-01-01 00:00:00+00:00", "c": cohort})
        conn.execute(sa.text("INSERT INTO releases (version, snapshot_hash, case_count, spec) "
                             "VALUES ('v1', 's', 3, '{}')"))
        conn.execute(sa.text("INSERT INTO budget_ledger (release_id, snapshot_hash, product, "
                             "item, rho, epsilon, delta) VALUES (1, 's', 'dp-table', 't', "
                             "'1/4', NULL, NULL), (1, 's', 'dp-synthetic', 'pac', NULL, 1.0, "
                             "1e-7)"))
    upgrade(engine)
    engine.dispose()
    again = make_engine(db_url)
    with again.connect() as conn:
        old = ledger.Budget(Fraction(1, 4), Fraction(1.0), Fraction(1e-7))
        assert ledger.totals(conn) == {2021: old, 2023: old}
        assert {r.version for r in ledger.entries(conn)} == {"v1"}
        assert "snapshot_hash" not in {c["name"] for c in sa.inspect(conn).get_columns(
            "releases")}
    # Per-cohort spends have no per-snapshot form: the migration refuses to go back rather
    # than forget privacy loss, and leaves the ledger as it was.
    with pytest.raises(RuntimeError, match="cannot be downgraded"):
        command.downgrade(alembic_config(again), "0005")
    with again.connect() as conn:
        assert ledger.totals(conn) == {2021: old, 2023: old}
    again.dispose()


# --- the release lock ------------------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from ctcollab.database import make_engine
    from privacy.lock import release_lock
    engine = make_engine(sys.argv[1])
    with release_lock(engine, wait=float(sys.argv[2])):
        print("held", time.time(), flush=True)
        sys.stdin.readline()  # hold until told to let go (or killed)
        print("released", time.time(), flush=True)
""")


def _holder(db_url: str, wait: float = 30.0) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", HOLDER, db_url, str(wait)], text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _line(proc: subprocess.Popen[str], word: str) -> float:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith(word), (line, proc.stderr.read() if proc.stderr else "")
    return float(line.split()[1])


def test_the_release_lock_serialises_processes(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    first = _holder(db_url)
    try:
        _line(first, "held")
        # Another release (here: this process) waits, then gives up with a Conflict.
        started = time.monotonic()
        with (pytest.raises(Conflict, match="another release is running"),
              release_lock(engine, wait=0.5)):
            pytest.fail("two holders of the release lock")
        assert time.monotonic() - started >= 0.5
        # A second process waits for the first, and gets the lock once it has let go.
        second = _holder(db_url)
        time.sleep(1.0)
        assert second.poll() is None  # still waiting
        assert first.stdin is not None
        first.stdin.write("\n")
        first.stdin.flush()
        let_go = _line(first, "released")
        got = _line(second, "held")
        assert got >= let_go
        assert second.stdin is not None
        second.stdin.write("\n")
        second.stdin.flush()
        assert second.wait(30) == 0 and first.wait(30) == 0
        # A holder killed with SIGKILL holds nothing: the OS (flock) or the server (the
        # session's advisory lock) lets go when the process dies.
        killed = _holder(db_url)
        _line(killed, "held")
        killed.kill()
        killed.wait(30)
        with release_lock(engine, wait=20):
            pass
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()
        engine.dispose()
