"""The registry of partner mappings: every version kept, the newest one current."""

from __future__ import annotations

import sqlalchemy as sa

from harmonize.mapping import Mapping, parse_mapping
from schemas.errors import Conflict
from schemas.tables import mappings


def check(conn: sa.Connection, org_id: int, document: str, source: str = "mapping") -> Mapping:
    """Validate a mapping; the same version registered with other content is refused."""
    mapping = parse_mapping(document, source)
    row = conn.execute(sa.select(mappings.c.document).where(
        mappings.c.org_id == org_id, mappings.c.version == mapping.mapping_version)).first()
    if row is not None and row.document != document:
        raise Conflict(f"mapping {mapping.mapping_version} is already registered with other "
                       "content", hint="give the changed mapping a new version number")
    return mapping


def register(conn: sa.Connection, org_id: int, document: str, source: str = "mapping") -> Mapping:
    """Validate and keep a mapping (idempotent for the same version and content)."""
    mapping = check(conn, org_id, document, source)
    exists = conn.execute(sa.select(mappings.c.id).where(
        mappings.c.org_id == org_id, mappings.c.version == mapping.mapping_version)).first()
    if exists is None:
        conn.execute(mappings.insert().values(org_id=org_id, version=mapping.mapping_version,
                                              document=document))
    return mapping


def current(conn: sa.Connection, org_id: int) -> Mapping | None:
    """The organisation's most recently registered mapping, if any."""
    row = conn.execute(sa.select(mappings.c.document, mappings.c.version)
                       .where(mappings.c.org_id == org_id)
                       .order_by(mappings.c.id.desc())).first()
    return parse_mapping(row.document, row.version) if row else None
