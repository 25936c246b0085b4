"""Link records of the same person and mark all but one, so each person counts once; never merge.

Two records are the same person when they share either linkage key (name and date of birth;
name, year of birth and citizenship) and do not contradict each other on gender, citizenship
or date of birth, where a missing or "unknown" value contradicts nothing. (Every key holds the
name, so two linked records with different full keys were born on different days: the same
name, year and citizenship do not make one person of them.) Linking is transitive, but a
person never holds two different known genders, citizenships or dates of birth: records are
taken in stored order (ingested_at, then case_key) and each joins every person it shares a
key with that it, and what it has joined so far, does not contradict. The person's earliest
record is the one counted; every other record points to it through ``duplicate_of``, and all
take its cohort. Work is per touched key: the records reachable from those keys are read in
chunks, never the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from harmonize.linkage import known
from schemas.tables import cases

# Fields that must not contradict between two records of one person: a guard against two
# people sharing a name and a birth date.
AGREE = ("gender", "citizenship")
KEYS = ("linkage_key", "linkage_key_year")
# The full key stands for the date of birth (its name part is the same in linked records).
BIRTH = "linkage_key"
CHUNK = 1_000

_COLUMNS = (cases.c.case_key, cases.c.org_id, cases.c.upload_id, cases.c.ingested_at,
            cases.c.duplicate_of, cases.c.cohort, *(cases.c[k] for k in KEYS),
            *(cases.c[f] for f in AGREE))


@dataclass(frozen=True)
class Record:
    """What linking needs of one stored record."""

    case_key: str
    org_id: int
    upload_id: int
    ingested_at: datetime
    duplicate_of: str | None
    cohort: int | None
    keys: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]  # the known values of AGREE and BIRTH

    @classmethod
    def of(cls, row: Any) -> Record:
        return cls(
            case_key=row.case_key, org_id=row.org_id, upload_id=row.upload_id,
            ingested_at=row.ingested_at, duplicate_of=row.duplicate_of, cohort=row.cohort,
            keys=tuple(k for k in (getattr(row, name) for name in KEYS) if k),
            attributes=(*((f, v) for f in AGREE if (v := known(f, getattr(row, f)))),
                        *(((BIRTH, b),) if (b := getattr(row, BIRTH)) else ())))


@dataclass
class _Person:
    first: Record
    attributes: dict[str, str] = field(default_factory=dict)

    def agrees(self, other: dict[str, str]) -> bool:
        return all(self.attributes.get(f, v) == v for f, v in other.items())


def persons(records: Iterable[Record]) -> dict[str, Record]:
    """Each record's person, as the person's counted (earliest stored) record."""
    ordered = sorted(records, key=lambda r: (r.ingested_at, r.case_key))
    parent: dict[str, str] = {}
    people: dict[str, _Person] = {}
    by_key: dict[str, list[str]] = {}

    def find(key: str) -> str:
        root = key
        while parent[root] != root:
            root = parent[root]
        while parent[key] != root:  # path compression
            parent[key], key = root, parent[key]
        return root

    for record in ordered:
        me = record.case_key
        parent[me] = me
        people[me] = _Person(record, dict(record.attributes))
        for key in record.keys:
            roots = list(dict.fromkeys(find(r) for r in by_key.get(key, ())))
            # Join the earliest persons first: the counted record is the earliest.
            for root in sorted(roots, key=lambda r: (people[r].first.ingested_at, r)):
                mine = find(me)
                if root == mine or not people[root].agrees(people[mine].attributes):
                    continue
                first, second = sorted((root, mine), key=lambda r: (
                    people[r].first.ingested_at, people[r].first.case_key))
                parent[second] = first
                people[first].attributes.update(people.pop(second).attributes)
            by_key[key] = list(dict.fromkeys([*(find(r) for r in by_key.get(key, ())),
                                              find(me)]))
    return {r.case_key: people[find(r.case_key)].first for r in ordered}


def _reachable(conn: sa.Connection, keys: Iterable[str], *, org_id: int | None = None
               ) -> tuple[dict[str, Record], set[str]]:
    """Every record reachable from ``keys`` through shared keys (of one organisation only,
    when given), and the keys seen on the way."""
    records: dict[str, Record] = {}
    seen: set[str] = set()
    frontier = {k for k in keys if k}
    while frontier:
        batch = sorted(frontier)
        seen |= frontier
        frontier = set()
        for i in range(0, len(batch), CHUNK):
            chunk = batch[i:i + CHUNK]
            for name in KEYS:
                query = sa.select(*_COLUMNS).where(cases.c[name].in_(chunk))
                if org_id is not None:
                    # "+ 0": found through the key's index, not by scanning the whole
                    # organisation (the planner's choice for a bare org_id = ?).
                    query = query.where(cases.c.org_id + 0 == org_id)
                for row in conn.execute(query):
                    if row.case_key in records:
                        continue
                    record = records[row.case_key] = Record.of(row)
                    frontier.update(k for k in record.keys if k not in seen)
    return records, seen


def _chunks(conn: sa.Connection, keys: Iterable[str], *, org_id: int | None = None
            ) -> Iterable[list[str]]:
    """The keys, in chunks, that can matter: held by more than one record, or (without an
    organisation) by a record still marked. A record whose keys are all its own and that
    points nowhere is its own counted record already: most of a big upload, skipped in SQL."""
    ordered = sorted({k for k in keys if k})
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i:i + CHUNK]
        wanted: list[str] = []
        for name in KEYS:
            column = cases.c[name]
            query = (sa.select(column).where(column.in_(chunk)).group_by(column)
                     .having(sa.or_(sa.func.count() > 1, sa.func.max(cases.c.duplicate_of)
                                    .is_not(None)) if org_id is None
                             else sa.func.count() > 1))
            if org_id is not None:
                query = query.where(cases.c.org_id + 0 == org_id)  # see _reachable
            wanted += conn.execute(query).scalars().all()
        if wanted:
            yield sorted(set(wanted))


def mark(conn: sa.Connection, linkage_keys: Iterable[str]) -> int:
    """Recompute the persons reachable from the given keys; returns the records marked.

    Writes ``duplicate_of`` and ``cohort`` only where they change.
    """
    done: set[str] = set()
    marked = 0
    for chunk in _chunks(conn, linkage_keys):
        todo = [k for k in chunk if k not in done]
        if not todo:
            continue
        records, seen = _reachable(conn, todo)
        done |= seen
        changes: list[dict[str, Any]] = []
        for key, counted in persons(records.values()).items():
            record = records[key]
            target = None if counted.case_key == key else counted.case_key
            marked += target is not None
            if record.duplicate_of != target or record.cohort != counted.cohort:
                changes.append({"k": key, "d": target, "c": counted.cohort})
        if changes:
            conn.execute(cases.update().where(cases.c.case_key == sa.bindparam("k"))
                         .values(duplicate_of=sa.bindparam("d"), cohort=sa.bindparam("c")),
                         changes)
    return marked


def repeat_records(conn: sa.Connection, org_id: int, upload_id: int,
                   linkage_keys: Sequence[str]) -> int:
    """How many records of the upload are the same person as another record of the same
    organisation, computed from that organisation's records alone.

    Nothing of another organisation is read: the answer is the same whether or not another
    partner holds these people (it goes into the partner's report).
    """
    repeats = 0
    done: set[str] = set()
    for chunk in _chunks(conn, linkage_keys, org_id=org_id):
        todo = [k for k in chunk if k not in done]
        if not todo:
            continue
        records, seen = _reachable(conn, todo, org_id=org_id)
        done |= seen
        of = persons(records.values())
        size: dict[str, int] = {}
        for counted in of.values():
            size[counted.case_key] = size.get(counted.case_key, 0) + 1
        repeats += sum(1 for key, counted in of.items()
                       if records[key].upload_id == upload_id and size[counted.case_key] > 1)
    return repeats
