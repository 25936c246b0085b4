"""The persistent privacy budget ledger: what each release spent against which snapshot."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import sqlalchemy as sa

from privacy.errors import BudgetExceeded
from privacy.mechanisms import epsilon_of
from schemas.tables import budget_ledger, releases

# How spends compose (per snapshot):
# - zCDP spends (rho) add up exactly: the zCDP total rho_z.
# - (epsilon, delta)-only spends (pac-synth) add up by basic composition: (eps_a, delta_a).
# - Together they are (epsilon_of(rho_z, delta_z) + eps_a, delta_z + delta_a)-DP for every
#   delta_z > 0. Why this holds when the two kinds interleave adaptively: an (eps_i, delta_i)
#   mechanism is within total variation delta_i of an eps_i-pure one (Dwork, Rothblum and
#   Vadhan 2010, Lemma 3.17); replacing each costs delta_i, after which all Renyi divergences
#   add up, giving alpha * rho_z + eps_a at every order alpha, and the zCDP conversion of
#   alpha * rho_z (OpenDP's, which uses only the Renyi curve) just shifts by eps_a.
# - Against a cap (rho_cap, eps_cap, delta_cap): rho_z <= rho_cap, and with all of the cap's
#   delta not spent by pac-synth given to the conversion (delta_z = delta_cap - delta_a, the
#   tightest choice; rho-zCDP holds at every delta_z at once), the composed epsilon <= eps_cap.
# With no (epsilon, delta)-only spend and the default eps_cap (the rho cap converted at
# delta_cap), this is exactly the rho cap: the epsilon conversion is increasing in rho.


@dataclass(frozen=True)
class Spend:
    """One budget item. ``rho`` is None when the guarantee is only (epsilon, delta)-DP."""

    product: str
    item: str
    rho: Fraction | None
    epsilon: float | None = None
    delta: float | None = None

    def __post_init__(self) -> None:
        if self.rho is None and (self.epsilon is None or self.delta is None):
            raise ValueError("an (epsilon, delta)-only spend needs both epsilon and delta")


@dataclass(frozen=True)
class Budget:
    """A composed spend: zCDP ``rho`` and, apart, the (epsilon, delta)-only spends."""

    rho: Fraction = Fraction(0)
    # Exact sums of the stored floats (Fraction(float) is exact): no rounding near the cap.
    approx_epsilon: Fraction = Fraction(0)
    approx_delta: Fraction = Fraction(0)

    @classmethod
    def of(cls, spends: Iterable[Spend]) -> Budget:
        total = cls()
        for s in spends:
            total = total + _budget_of(s)
        return total

    def __add__(self, other: Budget) -> Budget:
        return Budget(self.rho + other.rho, self.approx_epsilon + other.approx_epsilon,
                      self.approx_delta + other.approx_delta)

    def epsilon(self, delta_total: float) -> float:
        """The composed epsilon at a total delta of ``delta_total`` (inf if none is left)."""
        left = Fraction(delta_total) - self.approx_delta
        if self.rho > 0 and left <= 0:
            return math.inf
        zcdp = epsilon_of(float(self.rho), float(left)) if self.rho > 0 else 0.0
        return float(Fraction(zcdp) + self.approx_epsilon)


@dataclass(frozen=True)
class Cap:
    """The per-snapshot budget: zCDP rho, and the composed (epsilon, delta)."""

    rho: Fraction
    epsilon: float
    delta: float

    @classmethod
    def of(cls, rho: float, delta: float, epsilon: float | None = None) -> Cap:
        """A cap from settings; epsilon defaults to the rho cap converted at ``delta``."""
        exact = Fraction(str(rho))
        return cls(exact, epsilon if epsilon is not None else epsilon_of(float(exact), delta),
                   delta)


# The delta of a cap given as a bare rho (tests, callers that only know rho).
DEFAULT_DELTA_CAP = 1e-6


def _budget_of(s: Spend) -> Budget:
    if s.rho is not None:
        return Budget(rho=s.rho)
    assert s.epsilon is not None and s.delta is not None  # Spend checks it
    return Budget(approx_epsilon=Fraction(s.epsilon), approx_delta=Fraction(s.delta))


def _exact(rho: Fraction | None) -> str | None:
    # "1/6", never a rounded 0.1666...7: the ledger must add up exactly to what was planned.
    return None if rho is None else str(rho)


def _spends(conn: sa.Connection, snapshot_hash: str) -> list[Spend]:
    rows = conn.execute(sa.select(budget_ledger.c.product, budget_ledger.c.item,
                                  budget_ledger.c.rho, budget_ledger.c.epsilon,
                                  budget_ledger.c.delta)
                        .where(budget_ledger.c.snapshot_hash == snapshot_hash))
    return [Spend(r.product, r.item, None if r.rho is None else Fraction(r.rho),
                  r.epsilon, r.delta) for r in rows]


def spent(conn: sa.Connection, snapshot_hash: str) -> Fraction:
    """The zCDP rho already spent on a snapshot."""
    return total(conn, snapshot_hash).rho


def total(conn: sa.Connection, snapshot_hash: str) -> Budget:
    """Everything already spent on a snapshot: zCDP rho and (epsilon, delta)-only spends."""
    return Budget.of(_spends(conn, snapshot_hash))


def check(conn: sa.Connection, snapshot_hash: str, planned: Budget | Fraction,
          cap: Cap | Fraction) -> None:
    """Refuse, before anything is computed or written, a release that would exceed the cap."""
    if isinstance(planned, Fraction):
        planned = Budget(rho=planned)
    if isinstance(cap, Fraction):
        cap = Cap(cap, math.inf, DEFAULT_DELTA_CAP)  # a bare rho cap: no epsilon cap beyond it
    already = total(conn, snapshot_hash)
    after = already + planned
    hint = "lower the spec's budget, or wait for new data (a new snapshot)"
    if after.rho > cap.rho:
        remaining = max(cap.rho - already.rho, Fraction(0))
        raise BudgetExceeded(
            f"this release needs rho={float(planned.rho):.4g} but only "
            f"rho={float(remaining):.4g} of the cap {float(cap.rho):.4g} remains for this "
            "snapshot", hint=hint)
    if after.approx_delta > Fraction(cap.delta) or (
            after.rho > 0 and after.approx_delta >= Fraction(cap.delta)):
        raise BudgetExceeded(
            f"this release's (epsilon, delta)-only spends would bring delta to "
            f"{float(after.approx_delta):.2g}, leaving none of the cap delta={cap.delta:.2g} "
            "for the zCDP products of this snapshot",
            hint="lower the synthetic spec's delta, or raise CTCOLLAB_BUDGET_DELTA_CAP")
    epsilon = after.epsilon(cap.delta)
    if epsilon > cap.epsilon:
        raise BudgetExceeded(
            f"this release would bring the snapshot's composed epsilon to {epsilon:.4g} "
            f"(at delta={cap.delta:.2g}), over the cap epsilon={cap.epsilon:.4g}", hint=hint)


def record(conn: sa.Connection, release_id: int, snapshot_hash: str,
           spends: Iterable[Spend]) -> None:
    """Write the spend in the caller's transaction (the one that records the release)."""
    rows = [{"release_id": release_id, "snapshot_hash": snapshot_hash, "product": s.product,
             "item": s.item, "rho": _exact(s.rho), "epsilon": s.epsilon, "delta": s.delta}
            for s in spends]
    if rows:
        conn.execute(budget_ledger.insert(), rows)


def entries(conn: sa.Connection) -> list[sa.Row[tuple[object, ...]]]:
    query = (sa.select(releases.c.version, budget_ledger.c.snapshot_hash, budget_ledger.c.product,
                       budget_ledger.c.item, budget_ledger.c.rho, budget_ledger.c.epsilon,
                       budget_ledger.c.delta, budget_ledger.c.created_at)
             .join(releases, releases.c.id == budget_ledger.c.release_id)
             .order_by(budget_ledger.c.id))
    return list(conn.execute(query))


def snapshots(conn: sa.Connection) -> list[str]:
    """Snapshots with spends, oldest first."""
    first = sa.func.min(budget_ledger.c.id)
    query = (sa.select(budget_ledger.c.snapshot_hash, first)
             .group_by(budget_ledger.c.snapshot_hash).order_by(first))
    return [r.snapshot_hash for r in conn.execute(query)]
