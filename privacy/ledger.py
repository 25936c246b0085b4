"""The persistent privacy budget ledger: what each release spent against which snapshot."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from privacy.errors import BudgetExceeded
from schemas.tables import budget_ledger, releases


@dataclass(frozen=True)
class Spend:
    product: str
    item: str
    rho: Fraction
    epsilon: float | None = None
    delta: float | None = None


def _exact(rho: Fraction) -> str:
    # "1/6", never a rounded 0.1666...7: the ledger must add up exactly to what was planned.
    return str(rho)


def spent(conn: sa.Connection, snapshot_hash: str) -> Fraction:
    rows = conn.execute(sa.select(budget_ledger.c.rho)
                        .where(budget_ledger.c.snapshot_hash == snapshot_hash))
    return sum((Fraction(r.rho) for r in rows), Fraction(0))


def check(conn: sa.Connection, snapshot_hash: str, planned: Fraction, cap: Fraction) -> None:
    """Refuse, before anything is computed or written, a release that would exceed the cap."""
    already = spent(conn, snapshot_hash)
    if already + planned > cap:
        remaining = max(cap - already, Fraction(0))
        raise BudgetExceeded(
            f"this release needs rho={float(planned):.4g} but only rho={float(remaining):.4g} "
            f"of the cap {float(cap):.4g} remains for this snapshot",
            hint="lower the spec's rho, or wait for new data (a new snapshot)")


def record(conn: sa.Connection, release_id: int, snapshot_hash: str,
           spends: Iterable[Spend]) -> None:
    """Write the spend in the caller's transaction (the one that records the release)."""
    conn.execute(budget_ledger.insert(), [
        {"release_id": release_id, "snapshot_hash": snapshot_hash, "product": s.product,
         "item": s.item, "rho": _exact(s.rho), "epsilon": s.epsilon, "delta": s.delta}
        for s in spends
    ])


def entries(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    query = (sa.select(releases.c.version, budget_ledger.c.snapshot_hash, budget_ledger.c.product,
                       budget_ledger.c.item, budget_ledger.c.rho, budget_ledger.c.epsilon,
                       budget_ledger.c.delta, budget_ledger.c.created_at)
             .join(releases, releases.c.id == budget_ledger.c.release_id)
             .order_by(budget_ledger.c.id))
    return list(conn.execute(query))
