"""The public privacy ledger: every release's spend and each cohort's lifetime spend vs its cap."""

from __future__ import annotations

import math
from collections.abc import Collection
from fractions import Fraction
from typing import Any

import sqlalchemy as sa

from privacy import cohorts as cohort_state
from privacy.ledger import Budget, Cap, Spend, budget_of, cap_history, current_cap
from schemas.tables import privacy_spends, releases

# What `datapackage.json` (ctcollab.privacy_ledger), the methodology and the site's ledger page
# state. Spends are public by design (they are parameters, not data); cohort sizes, counts and
# anything else computed from the cases are not in it.


def _num(x: float) -> float | None:
    return None if math.isinf(x) or math.isnan(x) else x


def _stated(b: Budget, cap: Cap) -> dict[str, float | None]:
    return {"rho": float(b.rho), "epsilon": _num(b.epsilon(cap.delta)),
            **({"approx_epsilon": float(b.approx_epsilon),
                "approx_delta": float(b.approx_delta)} if b.approx_delta else {})}


def _cap(cap: Cap) -> dict[str, Any]:
    return {"rho": float(cap.rho), "epsilon": cap.epsilon, "delta": cap.delta,
            "set_at": cap.set_at.isoformat(timespec="seconds") if cap.set_at else None,
            "reason": cap.reason}


def build(conn: sa.Connection, version: str, domain: list[int],
          kanon_cohorts: Collection[int] = ()) -> dict[str, Any]:
    """The ledger as of release ``version`` (its spends already recorded in ``conn``)."""
    cap = current_cap(conn)
    rows = conn.execute(
        sa.select(releases.c.version, releases.c.created_at, privacy_spends)
        .join(releases, releases.c.id == privacy_spends.c.release_id)
        .order_by(releases.c.id, privacy_spends.c.id)).all()
    versions = [r.version for r in conn.execute(
        sa.select(releases.c.version).order_by(releases.c.id))]
    created = {r.version: r.created_at for r in conn.execute(
        sa.select(releases.c.version, releases.c.created_at))}
    per_release: dict[str, dict[int, Budget]] = {v: {} for v in versions}
    lifetime: dict[int, Budget] = {}
    products: dict[tuple[str, str, Fraction | None, bool], list[int]] = {}
    for r in rows:
        s = Spend(r.cohort, r.product, r.item, None if r.rho is None else Fraction(r.rho),
                  r.epsilon, r.delta, bool(r.revision))
        b = budget_of(s)
        cohorts_of = per_release.setdefault(r.version, {})
        cohorts_of[s.cohort] = cohorts_of.get(s.cohort, Budget()) + b
        lifetime[s.cohort] = lifetime.get(s.cohort, Budget()) + b
        if r.version == version:
            products.setdefault((s.product, s.item, s.rho, s.revision), []).append(s.cohort)

    def total(by_cohort: dict[int, Budget]) -> Budget:
        # Each person is in one cohort: a release's loss for a person is their cohort's.
        worst = Budget()
        for b in by_cohort.values():
            if b.rho > worst.rho or b.approx_epsilon > worst.approx_epsilon:
                worst = b
        return worst

    this = per_release.get(version, {})
    status = cohort_state.statuses(conn, domain)
    frozen_in = {}
    for c, state in status.items():
        if state.closed:
            files = cohort_state.frozen(conn, c)
            if files:
                frozen_in[c] = max(f.version for f in files.values())
    cohort_rows = []
    for c in sorted(set(status) | set(lifetime)):
        spent = lifetime.get(c, Budget())
        st: cohort_state.CohortStatus | None = status.get(c)
        left = Budget(rho=max(cap.rho - spent.rho, Fraction(0)))
        eps_left = max(cap.epsilon - spent.epsilon(cap.delta), 0.0)
        cohort_rows.append({
            "cohort": c, "status": "closed" if st and st.closed else "open",
            "closed_at": (st.closed_at.isoformat(timespec="seconds")
                          if st and st.closed_at else None),
            "frozen_in": frozen_in.get(c),
            "spent": _stated(spent, cap),
            "remaining": {"rho": float(left.rho), "epsilon": _num(eps_left)},
            "measured_in_this_release": c in this,
            "kanon_published": c in kanon_cohorts,
        })
    return {
        "unit": "person",
        "accounting": "zCDP (rho), also stated as (epsilon, delta) at the cap's delta",
        "cap": _cap(cap),
        "cap_history": [_cap(c) for c in cap_history(conn)],
        "release": {
            "version": version,
            "products": [
                {"product": p, "item": i, "cohorts": sorted(cs),
                 "rho": float(rho) if rho is not None else None,
                 "epsilon": _num(Budget(rho=rho).epsilon(cap.delta)) if rho is not None else None,
                 "revision": rev}
                for (p, i, rho, rev), cs in products.items()],
            "total": _stated(total(this), cap),
        },
        "releases": [
            {"version": v, "created": created[v].isoformat(timespec="seconds")
             if created.get(v) else None,
             "total": _stated(total(per_release.get(v, {})), cap),
             "cohorts": sorted(per_release.get(v, {}))}
            for v in versions],
        "cohorts": cohort_rows,
    }
