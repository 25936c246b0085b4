"""Cohorts: which are open or closed, and the frozen files a closed cohort carries forever."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from schemas.errors import Conflict, UsageError
from schemas.tables import cohort_files, cohorts, releases

# A person's cohort is the year the collaborative first registered them (harmonize sets it
# when a person is first seen; it never moves). Cohorts are disjoint, so products measured
# per cohort compose in parallel: a person's loss is what their own cohort was charged.
# A closed cohort's products were measured for the last time: every later release copies
# their files byte for byte and spends nothing on it, unless an explicit revision is asked.


def public_domain(year_min: int, today: datetime | None = None) -> list[int]:
    """The cohorts a release measures: every year from ``year_min`` to this year.

    A public list (never read from data): measuring empty cohorts too means the release
    does not tell which years have any person in them.
    """
    now = today or datetime.now(UTC)
    return list(range(year_min, now.year + 1))


@dataclass(frozen=True)
class CohortStatus:
    cohort: int
    closed: bool
    closed_at: datetime | None = None
    reason: str = ""


def statuses(conn: sa.Connection, domain: list[int]) -> dict[int, CohortStatus]:
    closed = {r.cohort: r for r in conn.execute(sa.select(cohorts))}
    out = {c: CohortStatus(c, c in closed, closed[c].closed_at if c in closed else None,
                           closed[c].reason if c in closed else "") for c in domain}
    for c, r in closed.items():
        out.setdefault(c, CohortStatus(c, True, r.closed_at, r.reason))
    return dict(sorted(out.items()))


def close(conn: sa.Connection, cohort: int, reason: str = "") -> int:
    """Close a cohort: its latest published files become final. Returns how many files froze.

    Nothing is measured here; the next release measures (once) whatever it has never
    published for the cohort, and from then on carries every file unchanged.
    """
    if cohort > datetime.now(UTC).year:
        raise UsageError(f"cohort {cohort} is in the future")
    if conn.execute(sa.select(cohorts.c.cohort).where(cohorts.c.cohort == cohort)).first():
        raise Conflict(f"cohort {cohort} is already closed",
                       hint="late cases are published as a revision: "
                            f"`ctcollab release --revise {cohort}`")
    conn.execute(cohorts.insert().values(cohort=cohort, status="closed", reason=reason))
    latest = conn.execute(sa.select(sa.func.max(cohort_files.c.release_id))
                          .where(cohort_files.c.cohort == cohort)).scalar_one()
    if latest is None:
        return 0
    result = conn.execute(cohort_files.update().where(
        cohort_files.c.cohort == cohort, cohort_files.c.release_id == latest)
        .values(frozen=True))
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class FrozenFile:
    cohort: int
    product: str
    item: str
    version: str  # the release folder it is copied from (its newest copy)
    path: str | None  # None: the product was not publishable for this cohort (kept so)
    sha256: str | None
    measured_in: str  # the release that first published these bytes (where it was measured)
    measured_order: int  # that release's position (its id): releases in the order made


def frozen(conn: sa.Connection, cohort: int) -> dict[tuple[str, str], FrozenFile]:
    """A closed cohort's final file for each (product, item): the newest frozen one."""
    rows = conn.execute(
        sa.select(cohort_files, releases.c.version)
        .join(releases, releases.c.id == cohort_files.c.release_id)
        .where(cohort_files.c.cohort == cohort, cohort_files.c.frozen)
        .order_by(cohort_files.c.id))
    first: dict[tuple[str, str, str | None], tuple[str, int]] = {}
    out: dict[tuple[str, str], FrozenFile] = {}
    for r in rows:
        since = first.setdefault((r.product, r.item, r.sha256), (r.version, r.release_id))
        out[r.product, r.item] = FrozenFile(cohort, r.product, r.item, r.version, r.path,
                                            r.sha256, *since)
    return out


def measured_in(conn: sa.Connection, cohort: int) -> str | None:
    """The release in which a closed cohort's final files were (last) measured, if any."""
    files = frozen(conn, cohort).values()
    return max(files, key=lambda f: f.measured_order).measured_in if files else None


def record_files(conn: sa.Connection, release_id: int,
                 files: list[tuple[int, str, str, str | None, str | None, bool, bool]]) -> None:
    """Write the per-cohort files of a release: (cohort, product, item, path, sha256, frozen,
    revision), in the caller's transaction."""
    if files:
        conn.execute(cohort_files.insert(), [
            {"release_id": release_id, "cohort": c, "product": p, "item": i, "path": path,
             "sha256": sha, "frozen": fz, "revision": rev}
            for c, p, i, path, sha, fz, rev in files])


# The methodology's statement of the privacy model (publish/ renders it in every release).
METHODOLOGY = (
    "Every person belongs for life to one cohort: the year the collaborative first registered "
    "them (or, when no registration date was supplied, the year it received their first "
    "record). Later edits and records do not move a person to another cohort. Every product "
    "is measured cohort by cohort; a figure over several years (all years together, say) is "
    "the sum of the cohorts' measurements, whose noise variances add up (the raw "
    "measurements and their variances are published). Because cohorts are disjoint sets of "
    "persons, a person's privacy loss over every release ever published is what their own "
    "cohort was charged, and the collaborative holds each cohort to a lifetime cap, recorded "
    "and published in the privacy ledger below. Releases are made one at a time, each from one "
    "snapshot of the cases taken when it started. While a cohort is open, each release "
    "publishes provisional figures for it and each is charged. Once the collaborative closes "
    "a cohort, its figures, synthetic data and k-anonymised microdata are final: they are "
    "carried unchanged, byte for byte, into every later release at no further cost; late "
    "cases are published only as an explicit, charged revision. k-anonymised microdata of a "
    "cohort is published once, when it closes, and never derived again, so that two files can "
    "never be compared to single out a case. A withdrawn upload leaves every future "
    "measurement; what was published before cannot be recalled, and closed cohorts' files "
    "keep the withdrawn records' share of the noise-protected figures.")
