"""Mark records of the same person so each person counts once; never merge or delete."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from schemas.tables import cases

# Two records with the same linkage key are the same person only if these also agree
# (or one is not supplied): a guard against two people sharing a name and birth date.
AGREE = ("gender", "citizenship")
CHUNK = 1_000


def _agree(a: sa.Row[tuple[object, ...]], b: sa.Row[tuple[object, ...]]) -> bool:
    return all(getattr(a, f) is None or getattr(b, f) is None or getattr(a, f) == getattr(b, f)
               for f in AGREE)


def mark(conn: sa.Connection, linkage_keys: Iterable[str]) -> int:
    """Recompute duplicate marks for the given linkage keys; returns records marked.

    In each group the earliest stored record is the person's primary record; later ones
    that agree with it point to it through ``duplicate_of`` and leave the snapshot.
    """
    keys = sorted({k for k in linkage_keys if k})
    marked = 0
    for i in range(0, len(keys), CHUNK):
        rows = conn.execute(
            sa.select(cases.c.case_key, cases.c.linkage_key, cases.c.duplicate_of,
                      *(cases.c[f] for f in AGREE))
            .where(cases.c.linkage_key.in_(keys[i:i + CHUNK]))
            .order_by(cases.c.linkage_key, cases.c.ingested_at, cases.c.case_key)).all()
        primary: dict[str, list[sa.Row[tuple[object, ...]]]] = {}
        for row in rows:
            heads = primary.setdefault(row.linkage_key, [])
            head = next((h for h in heads if _agree(h, row)), None)
            target = head.case_key if head is not None else None
            if head is None:
                heads.append(row)
            if row.duplicate_of != target:
                conn.execute(cases.update().where(cases.c.case_key == row.case_key)
                             .values(duplicate_of=target))
            marked += target is not None
    return marked
