"""Pipeline wiring: ingest -> harmonize -> store; snapshot -> privacy -> publish."""

from __future__ import annotations

import contextlib
import dataclasses
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
from privacy import dp_tables, ledger
from privacy.kanon.errors import KAnonymityInfeasible
from privacy.kanon.product import anonymise
from privacy.noise import OPENDP, NoiseKind, NoiseSource, SeededNoise, check_seed
from privacy.snapshot import snapshot_frame, snapshot_hash
from privacy.spec import ReleaseSpec, load_spec
from privacy.synthetic.synthesizer import PAC_SYNTH_UNSEEDABLE, synthesize
from publish import release as publish
from publish.meta import ReleaseMeta
from publish.resources import from_dp_table, from_kanon, from_synthetic
from schemas.definition import SCHEMA
from schemas.errors import Conflict, InputRejected, NotFound, UsageError
from schemas.tables import api_keys, cases, organisations, releases

log = logging.getLogger("ctcollab")


@dataclass(frozen=True)
class Context:
    settings: Settings
    engine: sa.Engine

    @property
    def raw_store(self) -> RawStore:
        return RawStore(self.settings.raw_dir)


def open_context(settings: Settings, *, migrate: bool = True) -> Context:
    engine = make_engine(settings.db_url)
    if migrate:
        upgrade(engine)
    return Context(settings, engine)


def init(settings: Settings) -> Context:
    """Create the home folders and bring the database to the newest schema."""
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
    case_count: int
    rho_spent: Fraction  # the zCDP part of ``spent``
    spent: ledger.Budget | None = None
    noise: NoiseKind = "opendp-csprng"


def budget_cap(settings: Settings) -> ledger.Cap:
    """The per-snapshot cap the settings state: rho, and the composed (epsilon, delta)."""
    return ledger.Cap.of(settings.budget_rho_cap, settings.budget_delta_cap,
                         settings.budget_epsilon_cap)


def release(ctx: Context, *, spec_path: Path | None = None, version: str | None = None,
            spec: ReleaseSpec | None = None, seed: str | None = None) -> ReleaseResult:
    """Snapshot the cases, run the privacy products of the spec, publish a release folder.

    The plan (spec, budget) is checked before any case is read; files are staged in a
    temporary folder; the release record and the ledger entries are committed in one
    transaction, and only then is the folder renamed into place and ``LATEST`` moved.

    Without ``seed`` the noise comes from OpenDP's CSPRNG and no two releases share it. With
    one, every noise draw is keyed by the seed and the snapshot (``privacy.noise``), so the
    same seed, snapshot and spec publish the same data files again: reproducible by whoever
    holds the seed, who can therefore also remove the noise; it must be kept like a key and
    is never stored. Either way the scales, rho and ledger charge are the same.
    """
    spec = spec or load_spec(spec_path)
    if seed is not None:
        check_seed(seed)  # refuse a guessable seed before anything is read
        if spec.synthetic is not None and spec.synthetic.method == "pac-synth":
            raise UsageError(PAC_SYNTH_UNSEEDABLE)
    planned = spec.planned()
    cap = budget_cap(ctx.settings)
    releases_dir = ctx.settings.releases_dir

    with contextlib.ExitStack() as stack:
        with ctx.engine.begin() as conn:
            snap, n = snapshot_hash(conn)
            ledger.check(conn, snap, planned, cap)
            taken = {r.version for r in conn.execute(sa.select(releases.c.version))}
            version = version or publish.next_version(
                releases_dir, datetime.now(UTC).date(), taken)
            if version in taken:
                raise Conflict(f"release {version} already exists; releases are never overwritten")
            noise: NoiseSource = (OPENDP if seed is None
                                  else SeededNoise.from_seed(seed, snap))
            tables = dp_tables.release_tables(conn, spec.dp_tables, spec.year_min,
                                              noise=noise.derive("dp-tables"))
            meta = ReleaseMeta(
                version=version, title=spec.title, created=publish.now_utc(),
                snapshot_hash=snap, case_count=n, licence=ctx.settings.licence,
                contributors=_contributors(conn), mapping_versions=_mapping_versions(conn),
                spec=spec.model_dump(mode="json"),
                extra={"noise": _noise_statement(noise)},
            )
            resources = [from_dp_table(t) for t in tables]
            not_published: list[dict[str, str]] = []
            # Read once for both microdata products (neither changes it).
            frame = (snapshot_frame(conn)
                     if spec.kanon is not None or spec.synthetic is not None else None)
            if spec.kanon is not None and frame is not None:
                # Verified with pycanon inside anonymise: a failed check stops the release
                # here, before anything is written. Too few cases for k only skips it.
                try:
                    resources.append(from_kanon(anonymise(
                        frame, spec.kanon,
                        seed=_post_processing_seed(noise, "kanon-shuffle"))))
                except KAnonymityInfeasible:
                    not_published.append({
                        "product": "k-anonymity",
                        "reason": f"no generalisation reaches k = {spec.kanon.k} within the "
                                  "suppression limit on this snapshot"})
            spends = [ledger.Spend("dp-table", t.spec.name, t.rho, t.epsilon, t.delta)
                      for t in tables]
            if spec.synthetic is not None and frame is not None:
                # Keyed by the synthetic spec too: another plan on the same seed and snapshot
                # draws unrelated noise.
                synth_noise = noise.derive(
                    "dp-synthetic|" + spec.synthetic.model_dump_json())
                rows_seed = _post_processing_seed(synth_noise, "rows")
                synthetic = synthesize(frame, spec.synthetic,
                                       seed=secrets.randbits(32) if rows_seed is None
                                       else rows_seed, noise=synth_noise)
                resources.append(from_synthetic(synthetic))
                spends += [ledger.Spend(s.product, s.item, s.rho, s.epsilon, s.delta)
                           for s in synthetic.spends]
            if not_published:
                meta = dataclasses.replace(meta, extra={**meta.extra,
                                                        "not_published": not_published})
            previous = publish.latest_version(releases_dir)
            staging = stack.enter_context(publish.staged_release(releases_dir, version))
            publish.build_release_folder(
                staging, meta, resources,
                previous=releases_dir / previous if previous else None)
            release_id = conn.execute(releases.insert().values(
                version=version, snapshot_hash=snap, case_count=n,
                spec=spec.model_dump(mode="json"))).inserted_primary_key[0]  # type: ignore[index]
            ledger.record(conn, release_id, snap, spends)
        # The spend is committed before anything is visible: a crash between the commit and
        # the rename leaves a recorded spend with no folder (budget lost, nothing leaked);
        # the other order could leave a published folder with no spend on record.
        final = publish.publish_folder(staging, releases_dir, version)
    publish.set_latest(releases_dir, version)
    return ReleaseResult(version, final, n, planned.rho, planned, noise.kind)


def _post_processing_seed(noise: NoiseSource, label: str) -> int | None:
    """In a seeded release, a secret seed for post-processing derived from the release seed
    (so its shuffles and samples reproduce too); otherwise None: fresh entropy."""
    return noise.post_processing_seed(label) if isinstance(noise, SeededNoise) else None


def _noise_statement(noise: NoiseSource) -> dict[str, str]:
    """What the datapackage says about where the noise came from."""
    if noise.kind == "seeded":
        return {"source": "seeded", "note": (
            "Noise drawn by a deterministic sampler keyed by a secret release seed and the "
            "snapshot (same distributions, scales and privacy parameters as OpenDP's). Whoever "
            "holds the seed can reproduce this release, and remove its noise: the seed is kept "
            "secret like a key and is not published.")}
    return {"source": "opendp-csprng", "note": (
        "Noise drawn by cryptographically secure generators (OpenDP's; pac-synth's own for a "
        "pac-synth file), never seeded: this release cannot be reproduced, by anyone.")}


def _contributors(conn: sa.Connection) -> tuple[str, ...]:
    """Partner organisations that agreed to be named in releases."""
    return tuple(r.name for r in conn.execute(
        sa.select(organisations.c.name).where(organisations.c.named_contributor)
        .order_by(organisations.c.name)))


def _mapping_versions(conn: sa.Connection) -> tuple[str, ...]:
    return tuple(r.mapping_version for r in conn.execute(
        sa.select(cases.c.mapping_version).distinct().order_by(cases.c.mapping_version)))


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
