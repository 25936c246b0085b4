"""Pipeline wiring: ingest -> harmonize -> store; snapshot -> privacy -> publish."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ctcollab import release_run
from ctcollab.database import make_engine, upgrade
from ctcollab.settings import Settings
from harmonize import registry
from harmonize.harmonizer import harmonize
from harmonize.mapping import Mapping, load_mapping
from harmonize.process import process, shown_to_partner
from harmonize.store import withdraw_cases
from harmonize.suggest import draft_yaml, suggest
from ingest import uploads
from ingest.raw_store import RawStore
from ingest.readers import read_table
from ingest.table import RawTable
from privacy import cohorts as cohort_state
from privacy import ledger
from privacy.noise import NoiseKind
from privacy.spec import ReleaseSpec, load_spec
from schemas.definition import SCHEMA
from schemas.errors import Conflict, InputRejected, NotFound, UsageError
from schemas.tables import api_keys, cases, organisations

log = logging.getLogger("ctcollab")


@dataclass(frozen=True)
class Context:
    settings: Settings
    engine: sa.Engine

    @property
    def raw_store(self) -> RawStore:
        return RawStore(self.settings.raw_dir)


def open_context(settings: Settings, *, migrate: bool = True) -> Context:
    """The engine on the newest schema, with the lifetime cap recorded if none is yet."""
    engine = make_engine(settings.db_url)
    if migrate:
        upgrade(engine)
        with engine.begin() as conn:
            ledger.ensure_cap(conn, initial_cap(settings))
    return Context(settings, engine)


def init(settings: Settings) -> Context:
    """Create the home folders and bring the database to the newest schema."""
    settings.ensure_home()  # 0700; the SQLite file and its journals are made 0600 by the engine
    for folder in (settings.home, settings.raw_dir, settings.releases_dir):
        folder.mkdir(parents=True, exist_ok=True)
    settings.raw_dir.chmod(0o700)
    settings.case_key_secret()
    return open_context(settings)


# --- organisations -------------------------------------------------------------------------


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_org(ctx: Context, slug: str, name: str, *, named_contributor: bool = False) -> str:
    """Register an organisation and return its first API key (shown once, stored hashed)."""
    if not slug.replace("-", "").isalnum() or slug != slug.lower() or len(slug) > 64:
        raise UsageError("an organisation slug is lowercase letters, digits and '-'")
    key = "ctc_" + secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        if conn.execute(sa.select(organisations.c.id).where(organisations.c.slug == slug)).first():
            raise Conflict(f"organisation {slug!r} already exists")
        org_id = conn.execute(organisations.insert().values(
            slug=slug, name=name, named_contributor=named_contributor)).inserted_primary_key[0]  # type: ignore[index]
        conn.execute(api_keys.insert().values(org_id=org_id, key_hash=hash_key(key),
                                              prefix=key[:12]))
    return key


def org_id_of(conn: sa.Connection, slug: str) -> int:
    row = conn.execute(sa.select(organisations.c.id).where(organisations.c.slug == slug)).first()
    if row is None:
        raise NotFound(f"no organisation {slug!r}", hint="register it with `ctcollab org add`")
    return int(row.id)


# --- ingest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestResult:
    upload_id: int
    duplicate: bool
    report: dict[str, Any]


def _mapping_for(
    conn: sa.Connection, org_id: int, mapping: Path | None
) -> tuple[Mapping | None, str | None]:
    """The mapping to use and, when given as a file, its document to register on success.

    Without a file: the organisation's registered mapping, if any (HTCDS extracts need none).
    """
    if mapping is not None:
        try:
            document = mapping.read_text(encoding="utf-8")
        except OSError as err:
            raise InputRejected(f"{mapping.name}: cannot be read") from err
        parsed = registry.check(conn, org_id, document, mapping.name)
        return parsed, document
    return registry.current(conn, org_id), None


def ingest_file(ctx: Context, org_slug: str, path: Path, *, mapping: Path | None,
                sheet: str | None = None) -> IngestResult:
    """Ingest one file for one organisation, synchronously. A rejected file writes nothing."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputRejected(f"{path.name}: cannot be read") from err
    with ctx.engine.connect() as conn:
        org_id = org_id_of(conn, org_slug)
        parsed, document = _mapping_for(conn, org_id, mapping)
    received = uploads.receive(ctx.engine, ctx.raw_store, org_id=org_id, filename=path.name,
                               data=data, max_bytes=ctx.settings.max_upload_bytes,
                               sheet=sheet or (parsed.sheet if parsed else None))
    table = received.table
    if received.duplicate:
        if received.upload.status not in uploads.OPEN:
            return IngestResult(received.upload.id, True, dict(received.upload.report or {}))
        # The same bytes were received but never finished (a run killed mid-way: its cases
        # were never committed). Finish that upload now rather than report it as done.
        log.info("upload %s was interrupted; processing it again", received.upload.id)
        table = read_table(data, path.name, sheet=sheet or (parsed.sheet if parsed else None))
    try:
        done = process(ctx.engine, ctx.raw_store, received.upload, parsed,
                       secret=ctx.settings.case_key_secret(), table=table,
                       explicit=mapping is not None)
    except InputRejected:
        uploads.forget(ctx.engine, ctx.raw_store, received.upload)
        raise
    if document is not None:
        with ctx.engine.begin() as conn:
            registry.register(conn, org_id, document, mapping.name if mapping else "mapping")
    return IngestResult(done.id, False, dict(done.report or {}))


def withdraw(ctx: Context, org_slug: str, upload_id: int) -> int:
    """Withdraw an upload: its cases leave the next snapshot. Returns the cases removed."""
    with ctx.engine.begin() as conn:
        org_id = org_id_of(conn, org_slug)
        uploads.get(conn, org_id, upload_id)
        removed = withdraw_cases(conn, upload_id)
        uploads.mark(conn, upload_id, uploads.WITHDRAWN)
    return removed


def _read(path: Path, sheet: str | None) -> RawTable:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputRejected(f"{path.name}: cannot be read") from err
    return read_table(data, path.name, sheet=sheet)


def suggest_mapping(path: Path, *, sheet: str | None = None) -> str:
    """A draft mapping for an unseen extract (nothing is stored)."""
    table = _read(path, sheet)
    return draft_yaml(suggest(table), name=path.stem, sheet=table.sheet)


def check_mapping(mapping_path: Path, path: Path) -> dict[str, Any]:
    """The coverage a mapping would give on a file; nothing is stored."""
    mapping = load_mapping(mapping_path)
    table = _read(path, mapping.sheet)
    # A throwaway key: the case keys of a check are never stored or shown.
    result = harmonize(table.frame, table.source_rows, mapping, org_id=0,
                       secret=secrets.token_bytes(32))
    report = result.report(show_unmapped=shown_to_partner)
    report["columns_dropped"] = [c for c in table.frame.columns if c not in mapping.columns]
    return report


def export_cases(ctx: Context, org_slug: str) -> pd.DataFrame:
    """An organisation's harmonised cases in CTDC-compatible form (secure zone only)."""
    from schemas.ctdc_form import to_ctdc

    with ctx.engine.connect() as conn:
        org_id = org_id_of(conn, org_slug)
        frame = pd.read_sql(sa.select(cases).where(cases.c.org_id == org_id), conn)
    for f in SCHEMA.case_fields:
        if f.type == "flag":
            frame[f.name] = frame[f.name].astype("boolean")
    return to_ctdc(frame)


# --- release ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleaseResult:
    version: str
    path: Path
    spent: dict[int, ledger.Budget]  # what each cohort measured by this release was charged
    noise: NoiseKind = "opendp-csprng"

    @property
    def rho_spent(self) -> Fraction:
        """The largest rho any one person (any cohort) was charged by this release."""
        return max((b.rho for b in self.spent.values()), default=Fraction(0))


def initial_cap(settings: Settings) -> ledger.Cap:
    """The lifetime cap per cohort recorded by the first `init` (changed only by `budget cap`)."""
    return ledger.Cap.of(settings.budget_rho_cap, settings.budget_delta_cap,
                         settings.budget_epsilon_cap, reason="initial cap")


def release(ctx: Context, *, spec_path: Path | None = None, version: str | None = None,
            spec: ReleaseSpec | None = None, seed: str | None = None,
            revise: frozenset[int] = frozenset()) -> ReleaseResult:
    """Publish a release: every product measured per cohort from one snapshot, under the
    release lock, charged by the accountant against every cohort's lifetime cap
    (``ctcollab.release_run``).

    Without ``seed`` the noise comes from OpenDP's CSPRNG and no two releases share it. With
    one, every noise draw is keyed by the seed and the snapshot (``privacy.noise``), so the
    same seed, snapshot, spec and ledger state publish the same data files again: reproducible
    by whoever holds the seed, who can therefore also remove the noise; it must be kept like
    a key and is never stored. Either way the scales and charges are the same.
    """
    spec = spec or load_spec(spec_path)
    with ctx.engine.begin() as conn:
        # A Context need not come from open_context (the API process builds its own).
        ledger.ensure_cap(conn, initial_cap(ctx.settings))
    outcome = release_run.run(ctx.engine, ctx.settings.releases_dir, spec,
                              licence=ctx.settings.licence, version=version, seed=seed,
                              revise=revise)
    return ReleaseResult(outcome.version, outcome.path, outcome.spent,
                         "seeded" if outcome.noise == "seeded" else "opendp-csprng")


def close_cohort(ctx: Context, cohort: int, reason: str = "") -> int:
    """Close a cohort (its published files become final); returns how many files froze."""
    with ctx.engine.begin() as conn:
        return cohort_state.close(conn, cohort, reason)


def set_cap(ctx: Context, rho: float, delta: float, epsilon: float | None,
            reason: str) -> ledger.Cap:
    """Record a new lifetime cap per cohort (itself recorded, and published in the ledger)."""
    with ctx.engine.begin() as conn:
        return ledger.set_cap(conn, ledger.Cap.of(rho, delta, epsilon), reason)


# --- API keys (appended for the partner API) -----------------------------------------------


@dataclass(frozen=True)
class KeyInfo:
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def new_key(ctx: Context, slug: str) -> str:
    """Issue another API key for an organisation (shown once, stored hashed)."""
    key = "ctc_" + secrets.token_urlsafe(32)
    with ctx.engine.begin() as conn:
        org_id = org_id_of(conn, slug)
        conn.execute(api_keys.insert().values(org_id=org_id, key_hash=hash_key(key),
                                              prefix=key[:12]))
    return key


def revoke_key(ctx: Context, slug: str, prefix: str) -> int:
    """Revoke the organisation's live keys that start with ``prefix``; returns how many."""
    if len(prefix) < 8:
        raise UsageError("give at least the first 8 characters of the key (e.g. ctc_AbCd)")
    now = datetime.now(UTC)
    with ctx.engine.begin() as conn:
        org_id = org_id_of(conn, slug)
        live = conn.execute(sa.select(api_keys.c.id, api_keys.c.prefix).where(
            api_keys.c.org_id == org_id, api_keys.c.revoked_at.is_(None))).all()
        ids = [r.id for r in live if r.prefix.startswith(prefix[:12])]
        if not ids:
            raise NotFound(f"organisation {slug!r} has no live key starting with that prefix",
                           hint="`ctcollab org keys SLUG` lists them")
        conn.execute(api_keys.update().where(api_keys.c.id.in_(ids)).values(revoked_at=now))
    return len(ids)


def list_keys(ctx: Context, slug: str) -> list[KeyInfo]:
    with ctx.engine.connect() as conn:
        org_id = org_id_of(conn, slug)
        rows = conn.execute(sa.select(api_keys.c.prefix, api_keys.c.created_at,
                                      api_keys.c.revoked_at)
                            .where(api_keys.c.org_id == org_id).order_by(api_keys.c.id)).all()
    return [KeyInfo(r.prefix, r.created_at, r.revoked_at) for r in rows]
