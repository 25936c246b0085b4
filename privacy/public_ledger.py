"""The public privacy ledger: every release's spend and each cohort's lifetime spend vs its cap.

Its shape is the models below (one owner: the builder here produces them; publish/ checks any
ledger it is given against them and documents every key from their descriptions).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from privacy import cohorts as cohort_state
from privacy.ledger import Budget, Cap, budget_of, cap_history, current_cap, spend_of
from schemas.errors import InternalError
from schemas.tables import privacy_spends, releases

# What `datapackage.json` (ctcollab.privacy_ledger), the methodology and the site's ledger page
# state. Spends are public by design (they are parameters, not data); cohort sizes, counts and
# anything else computed from the cases are not in it.


class _Part(BaseModel):
    # Frozen and closed: a key the codebook does not document can never reach a release.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _text_of_time(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


class StatedBudget(_Part):
    """A privacy loss, as zCDP rho and as epsilon at the cap's delta."""

    rho: float = Field(ge=0, description="zCDP rho.")
    epsilon: float | None = Field(ge=0, description="the same loss as epsilon, at the cap's "
                                  "delta (null: no delta of the cap is left to state it at).")
    approx_epsilon: float | None = Field(None, ge=0, description="present when some of the "
                                         "loss is (epsilon, delta)-DP only (pac-synth): that "
                                         "part's epsilon, composed by basic composition and "
                                         "included in epsilon.")
    approx_delta: float | None = Field(None, ge=0, description="with approx_epsilon: that "
                                       "part's delta, taken from the cap's delta.")


class StatedCap(_Part):
    """The lifetime cap of every cohort."""

    rho: float = Field(gt=0, description="the most zCDP rho any cohort may ever spend.")
    epsilon: float = Field(gt=0, description="the most epsilon (at delta) any cohort may ever "
                           "spend, every product composed.")
    delta: float = Field(gt=0, lt=1, description="the delta at which every epsilon of the "
                         "ledger is stated.")
    set_at: str | None = Field(description="when this cap was set (ISO 8601, UTC).")
    reason: str = Field("", description="why the cap was set or changed, as recorded by the "
                        "command that set it.")

    _set_at = field_validator("set_at", mode="before")(_text_of_time)


class ProductSpend(_Part):
    """What one product of this release charged."""

    product: str = Field(description="the kind of product: dp-table, dp-synthetic, ...")
    item: str = Field(description="the product's name (a table, the synthesizer's part).")
    cohorts: list[int] = Field(description="the cohorts it measured; each was charged rho.")
    rho: float | None = Field(ge=0, description="what each of these cohorts was charged for "
                              "it (cohorts are disjoint: this is also each person's loss from "
                              "it); null for an (epsilon, delta)-only product.")
    epsilon: float | None = Field(ge=0, description="the same charge as epsilon at the cap's "
                                  "delta.")
    revision: bool = Field(description="true when it re-measures a closed cohort (late "
                           "cases): a revision, paid from that cohort's remaining budget.")


class ThisRelease(_Part):
    """What this release spent."""

    version: str = Field(description="this release's version.")
    products: list[ProductSpend] = Field(description="every product that spent budget.")
    total: StatedBudget = Field(description="the release's total: the most any one cohort was "
                          "charged by this release.")


class ReleaseTotal(_Part):
    """One release, this one included, and what it spent."""

    version: str = Field(description="the release's version.")
    created: str | None = Field(description="when it was made (ISO 8601, UTC).")
    total: StatedBudget = Field(description="its total: the most any one cohort was charged by it.")
    cohorts: list[int] = Field(description="the cohorts it charged.")

    _created = field_validator("created", mode="before")(_text_of_time)


class CohortBudget(_Part):
    """One cohort's lifetime account."""

    cohort: int = Field(description="the cohort: the year in which the collaborative first "
                        "registered its people (a person's cohort never changes).")
    status: Literal["open", "closed"] = Field(description="open: its figures are provisional "
                                              "and each measurement is charged; closed: "
                                              "measured once, carried unchanged, at no cost.")
    closed_at: str | None = Field(None, description="when it was closed (ISO 8601, UTC); null "
                                  "while open.")
    frozen_in: str | None = Field(None, description="the release in which its final figures "
                                  "were measured; null while open.")
    spent: StatedBudget = Field(description="its lifetime spend, every release so far composed.")
    remaining: StatedBudget = Field(description="what is left of the cap for it.")
    measured_in_this_release: bool = Field(description="whether this release charged it.")
    kanon_published: bool = Field(description="true when this release publishes k-anonymised "
                                  "case-level data of it: k-anonymity, not differential "
                                  "privacy, is then its weakest protection.")

    _closed_at = field_validator("closed_at", mode="before")(_text_of_time)


class PrivacyLedger(_Part):
    """The public privacy ledger of a release."""

    unit: str = Field(description="the unit of privacy (one person).")
    accounting: str = Field(description="how losses are accounted and stated.")
    cap: StatedCap = Field(description="the lifetime cap of every cohort now in force.")
    cap_history: list[StatedCap] = Field(description="every recorded setting of the cap, "
                                         "oldest first.")
    release: ThisRelease = Field(description="what this release spent.")
    releases: list[ReleaseTotal] = Field(description="every release so far, this one included, "
                                         "oldest first.")
    cohorts: list[CohortBudget] = Field(description="every cohort's lifetime account.")



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
    made = conn.execute(sa.select(releases.c.version, releases.c.created_at)
                        .order_by(releases.c.id)).all()
    versions = [r.version for r in made]
    created = {r.version: r.created_at for r in made}
    per_release: dict[str, dict[int, Budget]] = {v: {} for v in versions}
    lifetime: dict[int, Budget] = {}
    products: dict[tuple[str, str, Fraction | None, bool], list[int]] = {}
    for r in rows:
        s = spend_of(r)
        b = budget_of(s)
        cohorts_of = per_release.setdefault(r.version, {})
        cohorts_of[s.cohort] = cohorts_of.get(s.cohort, Budget()) + b
        lifetime[s.cohort] = lifetime.get(s.cohort, Budget()) + b
        if r.version == version:
            products.setdefault((s.product, s.item, s.rho, s.revision), []).append(s.cohort)

    def total(by_cohort: dict[int, Budget]) -> Budget:
        # Each person is in one cohort: a release's loss for a person is their cohort's, so
        # the release's total is the largest, as epsilon at the cap's delta (then rho).
        return max(by_cohort.values(), key=lambda b: (b.epsilon(cap.delta), b.rho),
                   default=Budget())

    this = per_release.get(version, {})
    status = cohort_state.statuses(conn, domain)
    frozen_in = {c: cohort_state.measured_in(conn, c)
                 for c, state in status.items() if state.closed}
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
    return public({
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
    })


def public(ledger: dict[str, Any]) -> dict[str, Any]:
    """The ledger as datapackage.json states it: checked against the documented shape (``{}``:
    none recorded). A ledger off that shape is a bug of the caller, not the user's mistake."""
    if not ledger:
        return {}
    try:
        checked = PrivacyLedger.model_validate(ledger)
    except ValidationError as err:
        raise InternalError("the release's privacy ledger is not in the documented shape "
                            f"({err.error_count()} problems); this is a bug") from err
    # Only the keys given: the optional ones (approx_epsilon, ...) stay out when not stated.
    return checked.model_dump(mode="json", exclude_unset=True)
