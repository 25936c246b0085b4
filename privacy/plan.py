"""A release plan: what each cohort measures or carries, and what it may spend, before data."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from fractions import Fraction

import sqlalchemy as sa

from privacy import cohorts as cohort_state
from privacy.dp_tables import PRODUCT as DP_TABLE
from privacy.dp_tables import item_key
from privacy.ledger import Budget
from privacy.spec import ReleaseSpec, TableSpec
from privacy.synthetic.result import PRODUCT as DP_SYNTHETIC
from schemas.errors import UsageError

KANON = "k-anonymity"


def synthetic_key(spec: ReleaseSpec) -> str:
    assert spec.synthetic is not None
    digest = hashlib.sha256(spec.synthetic.model_dump_json().encode()).hexdigest()[:12]
    return f"cases_synthetic({spec.synthetic.method},{digest})"


def kanon_key(spec: ReleaseSpec) -> str:
    assert spec.kanon is not None
    digest = hashlib.sha256(spec.kanon.model_dump_json().encode()).hexdigest()[:12]
    return f"cases_kanon(k={spec.kanon.k},{digest})"


@dataclass(frozen=True)
class CohortPlan:
    """One cohort in one release: what is measured now, what is carried unchanged."""

    cohort: int
    closed: bool
    revision: bool
    measure_tables: tuple[TableSpec, ...] = ()
    carry: dict[tuple[str, str], cohort_state.FrozenFile] = field(default_factory=dict)
    measure_synthetic: bool = False
    make_kanon: bool = False

    @property
    def spends(self) -> bool:
        return bool(self.measure_tables) or self.measure_synthetic


@dataclass(frozen=True)
class ReleasePlan:
    spec: ReleaseSpec
    cohorts: tuple[CohortPlan, ...]

    def allotments(self) -> dict[tuple[int, str], Budget]:
        """What each product may spend on each cohort (the accountant's limits)."""
        out: dict[tuple[int, str], Budget] = {}
        tables = self.spec.dp_tables
        for c in self.cohorts:
            if c.measure_tables:
                out[c.cohort, DP_TABLE] = Budget(rho=sum(
                    (tables.rho_of(t) for t in c.measure_tables), Fraction(0)))
            if c.measure_synthetic:
                out[c.cohort, DP_SYNTHETIC] = self.spec.synthetic_budget()
        return out

    def budgets(self) -> dict[int, Budget]:
        """What the release would spend on each cohort, known before any data is read."""
        out: dict[int, Budget] = {}
        for (cohort, _product), b in self.allotments().items():
            out[cohort] = out.get(cohort, Budget()) + b
        return out

    @property
    def revised(self) -> frozenset[int]:
        return frozenset(c.cohort for c in self.cohorts if c.revision)


def make_plan(conn: sa.Connection, spec: ReleaseSpec, revise: frozenset[int] = frozenset()
              ) -> ReleasePlan:
    """Open cohorts measure everything (provisional figures, each charged); a closed cohort
    carries its frozen files and measures only what it never published (or everything, for
    a revision); k-anonymised microdata is made only for closed cohorts, once."""
    domain = cohort_state.public_domain(spec.year_min)
    status = cohort_state.statuses(conn, domain)
    for c in revise:
        if c not in status or not status[c].closed:
            raise UsageError(f"cohort {c} is not closed: only a closed cohort is revised",
                             hint="open cohorts are measured again by every release")
    plans = []
    for cohort in domain:
        plans.append(
            _closed_plan(conn, spec, cohort, revision=cohort in revise)
            if status[cohort].closed else
            CohortPlan(cohort, False, False, tuple(spec.dp_tables.tables),
                       measure_synthetic=spec.synthetic is not None))
    return ReleasePlan(spec, tuple(plans))


def _closed_plan(conn: sa.Connection, spec: ReleaseSpec, cohort: int, *,
                 revision: bool) -> CohortPlan:
    """A closed cohort carries every frozen file and measures only what it never published.

    A revision measures the DP products again (charged); microdata already published for the
    cohort is never derived again (two files would single out the late cases), so it stays.
    """
    frozen = cohort_state.frozen(conn, cohort)
    carry: dict[tuple[str, str], cohort_state.FrozenFile] = {}

    def carried(key: tuple[str, str], reusable: bool = True) -> bool:
        """Carry the frozen file for ``key`` if there is one; False: measure it now."""
        if reusable and key in frozen:
            carry[key] = frozen[key]
            return True
        return False

    measure = tuple(t for t in spec.dp_tables.tables
                    if not carried((DP_TABLE, item_key(t)), not revision))
    synth = spec.synthetic is not None and not carried(
        (DP_SYNTHETIC, synthetic_key(spec)), not revision)
    kanon = spec.kanon is not None and not carried((KANON, kanon_key(spec)))
    return CohortPlan(cohort, True, revision, measure, carry, synth, kanon)
