"""The persistent privacy ledger: each cohort's lifetime spend, the recorded cap, and checks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from privacy.errors import BudgetExceeded
from privacy.mechanisms import epsilon_of
from schemas.errors import UsageError
from schemas.tables import privacy_caps, privacy_spends, releases

# The unit of privacy is one person, and every person belongs to exactly one cohort for life.
# Cohorts are disjoint, so a person's total loss over all releases is the composition of the
# spends recorded against their cohort, and nothing else: the lifetime cap is per cohort.
#
# How spends compose (per cohort):
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


@dataclass(frozen=True)
class Spend:
    """One budget item charged to one cohort. ``rho`` is None for (epsilon, delta)-only DP."""

    cohort: int
    product: str
    item: str
    rho: Fraction | None
    epsilon: float | None = None
    delta: float | None = None
    revision: bool = False

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
            total = total + budget_of(s)
        return total

    def __add__(self, other: Budget) -> Budget:
        return Budget(self.rho + other.rho, self.approx_epsilon + other.approx_epsilon,
                      self.approx_delta + other.approx_delta)

    @property
    def empty(self) -> bool:
        return not (self.rho or self.approx_epsilon or self.approx_delta)

    def epsilon(self, delta_total: float) -> float:
        """The composed epsilon at a total delta of ``delta_total`` (inf if none is left)."""
        left = Fraction(delta_total) - self.approx_delta
        if self.rho > 0 and left <= 0:
            return math.inf
        zcdp = epsilon_of(float(self.rho), float(left)) if self.rho > 0 else 0.0
        return float(Fraction(zcdp) + self.approx_epsilon)


@dataclass(frozen=True)
class Cap:
    """The lifetime budget of every cohort: zCDP rho, and the composed (epsilon, delta)."""

    rho: Fraction
    epsilon: float
    delta: float
    reason: str = ""
    set_at: datetime | None = None

    @classmethod
    def of(cls, rho: float | Fraction | str, delta: float, epsilon: float | None = None,
           reason: str = "") -> Cap:
        """A cap; epsilon defaults to the rho cap converted at ``delta``."""
        exact = Fraction(str(rho)) if not isinstance(rho, Fraction) else rho
        if exact <= 0 or not 0 < delta < 1 or (epsilon is not None and epsilon <= 0):
            raise UsageError("a cap needs rho > 0, 0 < delta < 1 and epsilon > 0")
        return cls(exact, epsilon if epsilon is not None else epsilon_of(float(exact), delta),
                   delta, reason)

    def allows(self, total: Budget) -> bool:
        return self.problem(total) is None

    def problem(self, total: Budget) -> str | None:
        """Why ``total`` does not fit this cap, or None when it does."""
        if total.rho > self.rho:
            return f"rho {float(total.rho):.4g} over the cap {float(self.rho):.4g}"
        if total.approx_delta > Fraction(self.delta) or (
                total.rho > 0 and total.approx_delta >= Fraction(self.delta)):
            return (f"(epsilon, delta)-only spends bring delta to "
                    f"{float(total.approx_delta):.2g}, leaving none of the cap "
                    f"delta={self.delta:.2g} for the zCDP products")
        epsilon = total.epsilon(self.delta)
        if epsilon > self.epsilon:
            return (f"composed epsilon {epsilon:.4g} (at delta={self.delta:.2g}) over the cap "
                    f"epsilon={self.epsilon:.4g}")
        return None


def budget_of(s: Spend) -> Budget:
    if s.rho is not None:
        return Budget(rho=s.rho)
    assert s.epsilon is not None and s.delta is not None  # Spend checks it
    return Budget(approx_epsilon=Fraction(s.epsilon), approx_delta=Fraction(s.delta))


def _exact(rho: Fraction | None) -> str | None:
    # "1/6", never a rounded 0.1666...7: the ledger must add up exactly to what was spent.
    return None if rho is None else str(rho)


# --- the cap ---------------------------------------------------------------------------------


def current_cap(conn: sa.Connection) -> Cap:
    """The collaborative's lifetime cap per cohort (the newest recorded)."""
    row = conn.execute(sa.select(privacy_caps).order_by(privacy_caps.c.id.desc())
                       .limit(1)).first()
    if row is None:
        raise UsageError("no privacy cap is recorded", hint="run `ctcollab init`")
    return Cap(Fraction(row.rho), row.epsilon, row.delta, row.reason, row.set_at)


def cap_history(conn: sa.Connection) -> list[Cap]:
    rows = conn.execute(sa.select(privacy_caps).order_by(privacy_caps.c.id)).all()
    return [Cap(Fraction(r.rho), r.epsilon, r.delta, r.reason, r.set_at) for r in rows]


def set_cap(conn: sa.Connection, cap: Cap, reason: str) -> Cap:
    """Record a new lifetime cap (the only way the cap changes; every change stays on record).

    Lowering it below what a cohort has already spent is allowed (it stops further spending
    on that cohort) and said; the spends already made cannot be undone.
    """
    if not reason.strip():
        raise UsageError("a cap change needs a reason (it is published in the ledger)")
    conn.execute(privacy_caps.insert().values(rho=_exact(cap.rho), epsilon=cap.epsilon,
                                              delta=cap.delta, reason=reason.strip()))
    return current_cap(conn)


def ensure_cap(conn: sa.Connection, cap: Cap) -> None:
    """Record ``cap`` as the initial cap when none is recorded yet (first `init`)."""
    if conn.execute(sa.select(privacy_caps.c.id).limit(1)).first() is None:
        conn.execute(privacy_caps.insert().values(
            rho=_exact(cap.rho), epsilon=cap.epsilon, delta=cap.delta,
            reason=cap.reason or "initial cap"))


# --- spends ----------------------------------------------------------------------------------


def spend_of(row: Any) -> Spend:
    """A recorded spend, read back exactly (rho from its fraction string)."""
    return Spend(row.cohort, row.product, row.item,
                 None if row.rho is None else Fraction(row.rho), row.epsilon, row.delta,
                 bool(row.revision))


def spends(conn: sa.Connection, cohort: int | None = None) -> list[Spend]:
    query = sa.select(privacy_spends).order_by(privacy_spends.c.id)
    if cohort is not None:
        query = query.where(privacy_spends.c.cohort == cohort)
    return [spend_of(r) for r in conn.execute(query)]


def totals(conn: sa.Connection) -> dict[int, Budget]:
    """Every cohort's lifetime spend so far."""
    out: dict[int, Budget] = {}
    for s in spends(conn):
        out[s.cohort] = out.get(s.cohort, Budget()) + budget_of(s)
    return out


def check(conn: sa.Connection, planned: Mapping[int, Budget], cap: Cap | None = None) -> None:
    """Refuse, before anything is computed or written, a plan that takes a cohort over the cap.

    The message names the first cohort that would go over and what it has left.
    """
    cap = cap or current_cap(conn)
    already = totals(conn)
    for cohort in sorted(planned):
        need = planned[cohort]
        have = already.get(cohort, Budget())
        problem = cap.problem(have + need)
        if problem is not None:
            left_rho = max(cap.rho - have.rho, Fraction(0))
            left_eps = max(cap.epsilon - have.epsilon(cap.delta), 0.0)
            raise BudgetExceeded(
                f"cohort {cohort} cannot take this release: it needs rho={float(need.rho):.4g}"
                f" but only rho={float(left_rho):.4g} (epsilon={left_eps:.4g} at "
                f"delta={cap.delta:.2g}) of its lifetime cap remains ({problem})",
                hint=f"close cohort {cohort} (`ctcollab cohort close {cohort}`) so that its "
                     "published figures are carried without new spending, or lower the "
                     "spec's budget")


def record(conn: sa.Connection, release_id: int, spent: Iterable[Spend]) -> None:
    """Write the spends in the caller's transaction (the one that records the release)."""
    rows = [{"release_id": release_id, "cohort": s.cohort, "product": s.product,
             "item": s.item, "rho": _exact(s.rho), "epsilon": s.epsilon, "delta": s.delta,
             "revision": s.revision} for s in spent]
    if rows:
        conn.execute(privacy_spends.insert(), rows)


def entries(conn: sa.Connection) -> list[sa.Row[Any]]:
    query = (sa.select(releases.c.version, privacy_spends.c.cohort, privacy_spends.c.product,
                       privacy_spends.c.item, privacy_spends.c.rho, privacy_spends.c.epsilon,
                       privacy_spends.c.delta, privacy_spends.c.revision,
                       privacy_spends.c.created_at)
             .join(releases, releases.c.id == privacy_spends.c.release_id)
             .order_by(privacy_spends.c.id))
    return list(conn.execute(query))
