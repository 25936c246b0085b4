"""The ledger composes zCDP and (epsilon, delta)-only spends against one cap, on both databases."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sqlalchemy as sa
from alembic import command

from ctcollab.database import alembic_config, make_engine, upgrade
from privacy import ledger
from privacy.errors import BudgetExceeded
from privacy.mechanisms import epsilon_of
from privacy.spec import parse_spec
from schemas.tables import budget_ledger, releases

DELTA_CAP = 1e-6
PAC = ledger.Spend("dp-synthetic", "pac-synth aggregates", None, 1.0, 1e-7)


def _release(conn: sa.Connection, version: str, spends: list[ledger.Spend]) -> None:
    rid = conn.execute(releases.insert().values(version=version, snapshot_hash="s",
                                                case_count=1, spec={})
                       .returning(releases.c.id)).scalar_one()
    ledger.record(conn, rid, "s", spends)


def test_both_kinds_are_recorded_and_composed(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _release(conn, "v1", [ledger.Spend("dp-table", "t", Fraction(1, 4), 2.0, 1e-9), PAC])
    with engine.connect() as conn:
        total = ledger.total(conn, "s")
        rows = conn.execute(sa.select(budget_ledger.c.rho, budget_ledger.c.epsilon,
                                      budget_ledger.c.delta).order_by(budget_ledger.c.id)).all()
    assert [tuple(r) for r in rows] == [("1/4", 2.0, 1e-9), (None, 1.0, 1e-7)]
    assert total == ledger.Budget(Fraction(1, 4), Fraction(1.0), Fraction(1e-7))
    # zCDP converted at the delta pac-synth leaves, plus pac-synth's epsilon (basic composition).
    assert total.epsilon(DELTA_CAP) == pytest.approx(epsilon_of(0.25, DELTA_CAP - 1e-7) + 1.0)
    # The classic conversion bounds OpenDP's from above: the total is no looser than the brief's.
    classic = 0.25 + 2 * math.sqrt(0.25 * math.log(1 / (DELTA_CAP - 1e-7))) + 1.0
    assert total.epsilon(DELTA_CAP) <= classic


def test_a_pac_synth_release_over_the_epsilon_cap_is_refused(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(2.0, DELTA_CAP, epsilon=9.0)
    with engine.begin() as conn:
        _release(conn, "v1", [ledger.Spend("dp-table", "t", Fraction(1, 2)), PAC])
    pac = ledger.Budget(approx_epsilon=Fraction(1), approx_delta=Fraction(1e-7))
    with engine.connect() as conn:
        already = ledger.total(conn, "s")
        assert already.epsilon(DELTA_CAP) < 9.0
        headroom = 9.0 - (already + pac).epsilon(DELTA_CAP)
        assert headroom > 0
        ledger.check(conn, "s", pac, cap)  # fits
        more = pac + ledger.Budget(approx_epsilon=Fraction(headroom) * 2)
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, "s", more, cap)
        assert "epsilon" in str(err.value)
        ledger.check(conn, "another-snapshot", more, cap)  # budgets are per snapshot


def test_deltas_add_up_and_must_leave_some_for_the_zcdp_part(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(2.0, DELTA_CAP)
    with engine.begin() as conn:
        _release(conn, "v1", [ledger.Spend("dp-table", "t", Fraction(1, 10))])
    with engine.connect() as conn:
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, "s", ledger.Budget(approx_epsilon=Fraction(1),
                                                  approx_delta=Fraction(DELTA_CAP)), cap)
        assert "delta" in str(err.value)
        # Without any zCDP spend, pac-synth may use the whole delta.
        ledger.check(conn, "fresh", ledger.Budget(approx_epsilon=Fraction(1),
                                                  approx_delta=Fraction(DELTA_CAP)), cap)


def test_the_default_epsilon_cap_is_exactly_the_rho_cap_for_zcdp(engine: sa.Engine) -> None:
    cap = ledger.Cap.of(1.0, DELTA_CAP)
    assert cap.epsilon == epsilon_of(1.0, DELTA_CAP)
    with engine.begin() as conn:
        _release(conn, "v1", [ledger.Spend("dp-table", "t", Fraction(3, 10))])
    with engine.connect() as conn:
        ledger.check(conn, "s", ledger.Budget(rho=Fraction(7, 10)), cap)  # exactly at the cap
        with pytest.raises(BudgetExceeded) as err:
            ledger.check(conn, "s", ledger.Budget(rho=Fraction(71, 100)), cap)
        assert "rho" in str(err.value)
        # Any (epsilon, delta)-only spend on top of a full rho is over the epsilon cap.
        with pytest.raises(BudgetExceeded):
            ledger.check(conn, "s", ledger.Budget(Fraction(7, 10), Fraction(1, 100),
                                                  Fraction(1, 10**9)), cap)


def test_an_approx_spend_needs_epsilon_and_delta(engine: sa.Engine) -> None:
    with pytest.raises(ValueError):
        ledger.Spend("dp-synthetic", "x", None, 1.0, None)
    # The database refuses it too, whoever writes.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        rid = conn.execute(releases.insert().values(version="v1", snapshot_hash="s",
                                                    case_count=1, spec={})
                           .returning(releases.c.id)).scalar_one()
        conn.execute(budget_ledger.insert().values(release_id=rid, snapshot_hash="s",
                                                   product="p", item="i", rho=None,
                                                   epsilon=1.0, delta=None))


def test_planned_spend_of_a_pac_synth_spec() -> None:
    spec = parse_spec("""
dp_tables: {rho: 0.3, tables: [{name: t, title: t, dimensions: [gender]}]}
synthetic: {method: pac-synth, columns: [gender, age_broad], epsilon: 1.5, delta: 1.0e-7}
""")
    assert spec.planned() == ledger.Budget(Fraction(3, 10), Fraction(1.5), Fraction(1e-7))
    assert spec.planned_rho() == Fraction(3, 10)


def test_approx_spends_survive_a_restart_and_the_0003_ledger_upgrades(db_url: str) -> None:
    first = make_engine(db_url)
    command.upgrade(alembic_config(first), "0003")  # a ledger from before (epsilon, delta)
    with first.begin() as conn:
        conn.execute(sa.text("INSERT INTO releases (version, snapshot_hash, case_count, spec) "
                             "VALUES ('v1', 's', 1, '{}')"))
        conn.execute(sa.text("INSERT INTO budget_ledger (release_id, snapshot_hash, product, "
                             "item, rho, epsilon, delta) VALUES (1, 's', 'dp-table', 't', "
                             "'1/4', 1.5, 1e-9)"))
    upgrade(first)
    with first.begin() as conn:
        _release(conn, "v2", [PAC])
    first.dispose()
    second = make_engine(db_url)
    with second.connect() as conn:
        assert ledger.total(conn, "s") == ledger.Budget(Fraction(1, 4), Fraction(1.0),
                                                        Fraction(1e-7))
        with pytest.raises(BudgetExceeded):
            ledger.check(conn, "s", ledger.Budget(approx_epsilon=Fraction(100)),
                         ledger.Cap.of(2.0, DELTA_CAP))
        assert ledger.snapshots(conn) == ["s"]
    second.dispose()


def test_the_migration_downgrades_only_without_approx_spends(engine: sa.Engine) -> None:
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        _release(conn, "v1", [PAC])
    with pytest.raises(RuntimeError):
        command.downgrade(cfg, "0003")
    with engine.begin() as conn:
        conn.execute(budget_ledger.delete())
        _release(conn, "v2", [ledger.Spend("dp-table", "t", Fraction(1, 4))])
    command.downgrade(cfg, "0003")
    upgrade(engine)
    with engine.connect() as conn:
        assert ledger.total(conn, "s") == ledger.Budget(rho=Fraction(1, 4))
