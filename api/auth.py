"""Partner authentication: an API key names its organisation; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from schemas.errors import Unauthorized
from schemas.tables import api_keys, organisations


@dataclass(frozen=True)
class OrgRef:
    """The organisation a request acts for: always taken from its key, never from the request."""

    id: int
    slug: str
    name: str


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def organisation_for_key(engine: sa.Engine, key: str | None) -> OrgRef:
    if not key:
        raise Unauthorized("this route needs the organisation's API key",
                           hint="send it as 'Authorization: Bearer <key>'")
    query = (sa.select(organisations.c.id, organisations.c.slug, organisations.c.name)
             .join(api_keys, api_keys.c.org_id == organisations.c.id)
             .where(api_keys.c.key_hash == key_hash(key.strip()),
                    api_keys.c.revoked_at.is_(None)))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        raise Unauthorized("the API key is unknown or has been revoked",
                           hint="ask the data officer for a new key")
    return OrgRef(int(row.id), str(row.slug), str(row.name))
