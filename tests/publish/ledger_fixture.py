"""A realistic public privacy ledger, in the shape privacy/public_ledger.py builds: for the pages
until every release carries the real one, and for what the real one cannot show yet (closed
cohorts, a revision, an earlier release, a changed cap, k-anonymity as a weakest protection)."""

from __future__ import annotations

from typing import Any

from privacy.mechanisms import epsilon_of

DELTA = 1e-6
CAP_RHO = 2.0
THIS_VERSION = "2026.04.02"


def _at(rho: float) -> dict[str, float]:
    return {"rho": rho, "epsilon": round(epsilon_of(rho, DELTA), 6)}


def _left(spent: float) -> dict[str, float]:
    return {"rho": CAP_RHO - spent,
            "epsilon": round(epsilon_of(CAP_RHO, DELTA) - epsilon_of(spent, DELTA), 6)}


def ledger(version: str = THIS_VERSION) -> dict[str, Any]:
    """Cohort 2019 closed (frozen in the first release, k-anonymised data published in this
    one); 2020 closed with a revision in this release; 2021 open, charged twice."""
    cap = {"rho": CAP_RHO, "epsilon": round(epsilon_of(CAP_RHO, DELTA), 6), "delta": DELTA,
           "set_at": "2026-01-15T09:30:00+00:00", "reason": "cap set by the data officer"}
    return {
        "unit": "person",
        "accounting": "zCDP (rho), also stated as (epsilon, delta) at the cap's delta",
        "cap": cap,
        "cap_history": [
            {"rho": 1.5, "epsilon": round(epsilon_of(1.5, DELTA), 6), "delta": DELTA,
             "set_at": "2025-11-02T08:00:00+00:00", "reason": "initial cap"},
            cap,
        ],
        "release": {
            "version": version,
            "products": [
                {"product": "dp-table", "item": "victims_by_year_country",
                 "cohorts": [2021], **_at(0.125), "revision": False},
                {"product": "dp-table", "item": "victims_by_gender_age",
                 "cohorts": [2021], **_at(0.125), "revision": False},
                {"product": "dp-table", "item": "victims_by_year_country",
                 "cohorts": [2020], **_at(0.0625), "revision": True},
                {"product": "dp-synthetic", "item": "marginals",
                 "cohorts": [2021], **_at(0.25), "revision": False},
            ],
            "total": _at(0.5),
        },
        "releases": [
            {"version": "2026.03.01", "created": "2026-03-01T10:00:00+00:00",
             "total": _at(0.75), "cohorts": [2019, 2020, 2021]},
            {"version": version, "created": "2026-04-02T10:00:00+00:00",
             "total": _at(0.5), "cohorts": [2020, 2021]},
        ],
        "cohorts": [
            {"cohort": 2019, "status": "closed", "closed_at": "2026-03-01T09:00:00+00:00",
             "frozen_in": "2026.03.01", "spent": _at(0.75), "remaining": _left(0.75),
             "measured_in_this_release": False, "kanon_published": True},
            {"cohort": 2020, "status": "closed", "closed_at": "2026-03-20T09:00:00+00:00",
             "frozen_in": "2026.03.01", "spent": _at(0.8125), "remaining": _left(0.8125),
             "measured_in_this_release": True, "kanon_published": False},
            {"cohort": 2021, "status": "open", "closed_at": None, "frozen_in": None,
             "spent": _at(1.25), "remaining": _left(1.25),
             "measured_in_this_release": True, "kanon_published": False},
        ],
    }
