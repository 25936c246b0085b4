"""One release, end to end: lock, plan, snapshot, measure per cohort, carry, publish."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from privacy import cohorts as cohort_state
from privacy import dp_tables, ledger, public_ledger
from privacy import snapshot as snapshots
from privacy.accountant import Accountant
from privacy.kanon.errors import KAnonymityInfeasible
from privacy.kanon.product import anonymise
from privacy.lock import release_lock
from privacy.noise import OPENDP, NoiseSource, SeededNoise, check_seed
from privacy.plan import KANON, CohortPlan, ReleasePlan, kanon_key, make_plan, synthetic_key
from privacy.spec import ReleaseSpec
from privacy.synthetic import publication as synthetic_publication
from privacy.synthetic.errors import SynthesizerFailed
from privacy.synthetic.result import PRODUCT as DP_SYNTHETIC
from privacy.synthetic.synthesizer import PAC_SYNTH_UNSEEDABLE, synthesize
from publish import release as publish
from publish.meta import ReleaseMeta
from publish.resources import Resource, from_dp_table, from_dp_table_raw
from schemas.errors import Conflict, InternalError, UsageError
from schemas.tables import organisations, releases

COHORTS_DIR = "cohorts"


@dataclass
class CohortFile:
    """One per-cohort file of a release: measured now, or carried from a frozen one."""

    cohort: int
    product: str
    item: str
    name: str  # file stem, e.g. victims_by_gender_age
    data: bytes | None  # None: the product is not publishable for this cohort
    # Microdata only: its Table Schema, privacy object and report as made (JSON), kept beside
    # it and carried with it, so a frozen file keeps its own description.
    sidecar: bytes | None = None
    frozen: bool = False
    revision: bool = False
    carried_from: str | None = None

    @property
    def path(self) -> str | None:
        return None if self.data is None else f"{COHORTS_DIR}/{self.cohort}/{self.name}.csv"

    @property
    def sidecar_path(self) -> str | None:
        return None if self.path is None or self.sidecar is None else (
            self.path.removesuffix(".csv") + ".json")

    @cached_property
    def meta(self) -> dict[str, Any]:
        if self.sidecar is None:
            return {}
        loaded: dict[str, Any] = json.loads(self.sidecar)
        return loaded

    @property
    def sha256(self) -> str | None:
        return None if self.data is None else hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Outcome:
    version: str
    path: Path
    spent: dict[int, ledger.Budget]
    noise: str


def run(engine: sa.Engine, releases_dir: Path, spec: ReleaseSpec, *, licence: str,
        version: str | None = None, seed: str | None = None,
        revise: frozenset[int] = frozenset()) -> Outcome:
    """Publish one release. Everything between the lock and the rename either all happens
    or leaves the last good release, ``LATEST`` and the ledger as they were."""
    if seed is not None:
        check_seed(seed)  # refuse a guessable seed before anything is read
        if spec.synthetic is not None and spec.synthetic.method == "pac-synth":
            raise UsageError(PAC_SYNTH_UNSEEDABLE)
    with ExitStack() as stack:
        stack.enter_context(release_lock(engine))
        # 1. The plan, checked against every cohort's lifetime cap before any case is read.
        with engine.begin() as conn:
            plan = make_plan(conn, spec, revise)
            ledger.check(conn, plan.budgets())
            taken = {r.version for r in conn.execute(sa.select(releases.c.version))}
        version = version or publish.next_version(releases_dir, datetime.now(UTC).date(),
                                                  taken)
        if version in taken:
            raise Conflict(f"release {version} already exists; releases are never overwritten")
        # 2. One snapshot, materialised once under the lock: what is charged is what is
        # published, whatever is uploaded meanwhile.
        with engine.begin() as conn:
            snap = snapshots.materialise(conn)
        stack.callback(_clear_snapshot, engine)
        with engine.connect() as conn:
            noise: NoiseSource = (OPENDP if seed is None else
                                  SeededNoise.from_seed(seed, snap.content_hash(conn)))
            accountant = Accountant(plan.allotments(), plan.revised)
            files = _cohort_files(conn, snap, plan, accountant, noise, releases_dir)
            contributors = tuple(r.name for r in conn.execute(
                sa.select(organisations.c.name).where(organisations.c.named_contributor)
                .order_by(organisations.c.name)))
        tables = dp_tables.combine(spec.dp_tables, spec.year_min, {
            (f.cohort, f.name): m for f, m in files.tables}, noise_kind=noise.kind)
        resources: list[Resource] = []
        for t in tables:
            resources += [from_dp_table(t), from_dp_table_raw(t)]
        not_published: list[dict[str, str]] = []
        for product, name in ((DP_SYNTHETIC, "cases_synthetic"), (KANON, "cases_kanon")):
            combined = _combined(files.others, product, name)
            if combined is not None:
                resources.append(combined)
            elif product == KANON and spec.kanon is not None:
                not_published.append({"product": "k-anonymity", "reason": (
                    "k-anonymised microdata is published only for closed cohorts, once each, "
                    "and no closed cohort has any that reaches k = "
                    f"{spec.kanon.k} within the suppression limit")})
        spent = accountant.by_cohort()
        with engine.begin() as conn:
            # 3. Re-check inside the lock what was actually spent, then record it with the
            # release, in the transaction that is committed before the folder appears.
            ledger.check(conn, spent)
            public_id = secrets.token_hex(16)  # random: says nothing about the data
            release_id = conn.execute(releases.insert().values(
                version=version, release_id=public_id,
                spec=spec.model_dump(mode="json"))).inserted_primary_key[0]  # type: ignore[index]
            ledger.record(conn, release_id, accountant.spends)
            cohort_state.record_files(conn, release_id, [
                (f.cohort, f.product, f.item, f.path, f.sha256, f.frozen, f.revision)
                for f in files.all])
            kanon_cohorts = sorted(f.cohort for f in files.all
                                   if f.product == KANON and f.data is not None)
            meta = ReleaseMeta(
                version=version, title=spec.title, created=publish.now_utc(),
                release_id=public_id,
                licence=licence, contributors=contributors, spec=spec.model_dump(mode="json"),
                privacy_ledger=public_ledger.build(
                    conn, version, cohort_state.public_domain(spec.year_min), kanon_cohorts),
                extra={"noise": _noise_statement(noise),
                       **({"not_published": not_published} if not_published else {})})
            previous = publish.latest_version(releases_dir)
            staging = stack.enter_context(publish.staged_release(releases_dir, version))
            publish.build_release_folder(
                staging, meta, resources,
                previous=releases_dir / previous if previous else None,
                extra_files=_extra_files(files.all))
        # The spend is committed before anything is visible: a crash between the commit and
        # the rename leaves a recorded spend with no folder (budget lost, nothing leaked).
        final = publish.publish_folder(staging, releases_dir, version)
    publish.set_latest(releases_dir, version)
    return Outcome(version, final, spent, noise.kind)


def _extra_files(files: list[CohortFile]) -> dict[str, bytes]:
    out = {}
    for f in files:
        if f.path is not None and f.data is not None:
            out[f.path] = f.data
        if f.sidecar_path is not None and f.sidecar is not None:
            out[f.sidecar_path] = f.sidecar
    return out


def _clear_snapshot(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        snapshots.clear(conn)


@dataclass
class _Files:
    tables: list[tuple[CohortFile, dp_tables.CohortMeasurement]] = field(default_factory=list)
    others: list[CohortFile] = field(default_factory=list)

    @property
    def all(self) -> list[CohortFile]:
        return [f for f, _m in self.tables] + self.others


def _frozen_bytes(releases_dir: Path, frozen: cohort_state.FrozenFile) -> bytes | None:
    """A frozen file's bytes from the release it was last published in, checked."""
    if frozen.path is None:
        return None
    path = releases_dir / frozen.version / frozen.path
    try:
        data = path.read_bytes()
    except OSError as err:
        raise Conflict(f"cohort {frozen.cohort}'s frozen file {frozen.path} is missing from "
                       f"release {frozen.version}",
                       hint="restore that release folder from a backup") from err
    if hashlib.sha256(data).hexdigest() != frozen.sha256:
        raise Conflict(f"cohort {frozen.cohort}'s frozen file {frozen.path} in release "
                       f"{frozen.version} does not match its recorded checksum",
                       hint="restore that release folder from a backup")
    return data


def _carried(frozen: cohort_state.FrozenFile, name: str, releases_dir: Path) -> CohortFile:
    """A closed cohort's microdata file (and its description) as last published."""
    return CohortFile(frozen.cohort, frozen.product, frozen.item, name,
                      _frozen_bytes(releases_dir, frozen), _sidecar_of(releases_dir, frozen),
                      frozen=True, carried_from=frozen.version)


def _sidecar_of(releases_dir: Path, frozen: cohort_state.FrozenFile) -> bytes | None:
    if frozen.path is None:
        return None
    side = releases_dir / frozen.version / (frozen.path.removesuffix(".csv") + ".json")
    try:
        return side.read_bytes()
    except OSError:
        return None


def _sidecar(meta: dict[str, Any]) -> bytes:
    return (json.dumps(meta, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _cohort_files(conn: sa.Connection, snap: snapshots.Snapshot, plan: ReleasePlan,
                  accountant: Accountant, noise: NoiseSource, releases_dir: Path) -> _Files:
    spec = plan.spec
    out = _Files()
    # DP tables: carried, or measured in one scan for every cohort that needs any.
    wanted = {c.cohort: c.measure_tables for c in plan.cohorts if c.measure_tables}
    measured = dp_tables.measure(conn, snap.rows(), spec.dp_tables, spec.year_min, wanted,
                                 accountant, noise=noise.derive("dp-tables"))
    for c in plan.cohorts:
        for t in spec.dp_tables.tables:
            key = (dp_tables.PRODUCT, dp_tables.item_key(t))
            if key in c.carry:
                data = _frozen_bytes(releases_dir, c.carry[key])
                m = (dp_tables.CohortMeasurement.from_csv(t, c.cohort, data, spec.year_min)
                     if data is not None else None)
                if m is None or data is None:
                    raise InternalError(f"cohort {c.cohort}'s frozen {t.name} cannot be read")
                out.tables.append((CohortFile(c.cohort, key[0], key[1], t.name, data,
                                              frozen=True,
                                              carried_from=c.carry[key].version), m))
            elif (c.cohort, t.name) in measured:
                m = measured[c.cohort, t.name]
                out.tables.append((CohortFile(c.cohort, key[0], key[1], t.name, m.to_csv(),
                                              frozen=c.closed, revision=c.revision), m))
    for c in plan.cohorts:
        out.others += _microdata(conn, snap, plan, c, accountant, noise, releases_dir)
    return out


def _microdata(conn: sa.Connection, snap: snapshots.Snapshot, plan: ReleasePlan,
               c: CohortPlan, accountant: Accountant, noise: NoiseSource,
               releases_dir: Path) -> list[CohortFile]:
    spec = plan.spec
    out = []
    frame: pd.DataFrame | None = None
    if spec.synthetic is not None:
        key = (DP_SYNTHETIC, synthetic_key(spec))
        if key in c.carry:
            out.append(_carried(c.carry[key], "cases_synthetic", releases_dir))
        elif c.measure_synthetic:
            frame = snap.frame(conn, c.cohort)
            synth_noise = noise.derive(f"dp-synthetic|{c.cohort}|"
                                       + spec.synthetic.model_dump_json())
            rows_seed = (synth_noise.post_processing_seed("rows")
                         if isinstance(synth_noise, SeededNoise) else secrets.randbits(32))
            charged = accountant.source(synth_noise, c.cohort, DP_SYNTHETIC, "cases_synthetic")
            if spec.synthetic.method == "pac-synth":
                # pac-synth draws its own noise: charge what it is given, (epsilon, delta).
                accountant.approx(c.cohort, DP_SYNTHETIC, "cases_synthetic",
                                  spec.synthetic.budget_epsilon(), spec.synthetic.delta)
                try:
                    result = synthesize(frame, spec.synthetic, seed=rows_seed)
                except SynthesizerFailed:
                    # pac-synth gives up when its own noisy count of records is not positive
                    # (an empty or tiny cohort): that outcome is DP output too, charged above.
                    out.append(CohortFile(c.cohort, *key, "cases_synthetic", None,
                                          frozen=c.closed, revision=c.revision))
                    return out + _kanon(conn, snap, plan, c, noise, releases_dir, frame)
            else:
                result = synthesize(frame, spec.synthetic, seed=rows_seed, noise=charged)
            published = synthetic_publication.to_published(result)
            out.append(CohortFile(c.cohort, *key, "cases_synthetic", _csv(published), _sidecar({
                "schema": synthetic_publication.table_schema(result),
                "privacy": synthetic_publication.privacy(result),
                "report": synthetic_publication.report_markdown(result)}),
                frozen=c.closed, revision=c.revision))
    return out + _kanon(conn, snap, plan, c, noise, releases_dir, frame)


def _kanon(conn: sa.Connection, snap: snapshots.Snapshot, plan: ReleasePlan, c: CohortPlan,
           noise: NoiseSource, releases_dir: Path, frame: pd.DataFrame | None
           ) -> list[CohortFile]:
    """A closed cohort's k-anonymised microdata: carried, or made once when it closes."""
    spec = plan.spec
    out: list[CohortFile] = []
    if spec.kanon is not None and c.closed:
        key = (KANON, kanon_key(spec))
        if key in c.carry:
            out.append(_carried(c.carry[key], "cases_kanon", releases_dir))
        elif c.make_kanon:
            frame = snap.frame(conn, c.cohort) if frame is None else frame
            seed = (noise.post_processing_seed(f"kanon-shuffle|{c.cohort}")
                    if isinstance(noise, SeededNoise) else None)
            try:
                kanon = anonymise(frame, spec.kanon, seed=seed)
                out.append(CohortFile(c.cohort, *key, "cases_kanon", _csv(kanon.frame),
                                      _sidecar({"schema": kanon.table_schema(),
                                                "privacy": kanon.privacy(),
                                                "report": kanon.report_markdown()}),
                                      frozen=True, revision=c.revision))
            except KAnonymityInfeasible:
                # Kept as an outcome: trying again later would derive microdata of the
                # cohort a second time (differencing).
                out.append(CohortFile(c.cohort, *key, "cases_kanon", None, frozen=True,
                                      revision=c.revision))
    return out


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def _combined(files: list[CohortFile], product: str, name: str) -> Resource | None:
    """One published file of a microdata product: its cohorts' files, one after another."""
    parts = sorted((f for f in files if f.product == product and f.data is not None),
                   key=lambda f: f.cohort)
    if not parts:
        return None
    frames = []
    for f in parts:
        assert f.data is not None
        frames.append(pd.read_csv(io.BytesIO(f.data), dtype=str, keep_default_na=False))
    frame = pd.concat(frames, ignore_index=True)
    first = next((f.meta for f in reversed(parts) if f.meta), {})
    schema = first.get("schema") or {"fields": [{"name": c, "type": "string"}
                                                for c in frame.columns]}
    for entry in schema.get("fields", []):
        enums = [set(_enum(f.meta, entry["name"])) for f in parts if f.meta]
        if any(enums):
            entry.setdefault("constraints", {})["enum"] = sorted(set().union(*enums))
    frame = _typed(frame, schema)
    privacy = dict(first.get("privacy") or {"method": product})
    # Each cohort's own privacy object is in the JSON file beside its file (f.sidecar_path).
    privacy["cohorts"] = [{"cohort": f.cohort, "file": f.path, "described_in": f.sidecar_path,
                           "published_in": f.carried_from or "this release"}
                          for f in parts]
    title = ("SYNTHETIC case-level data (differentially private)" if product == DP_SYNTHETIC
             else "Case-level data, k-anonymised")
    report = "\n\n".join(f"### Cohort {f.cohort}\n\n{f.meta['report']}"
                         for f in parts if f.meta.get("report"))
    return Resource(
        name=name, title=title,
        titles={"fr": "Données individuelles SYNTHÉTIQUES (confidentialité différentielle)"
                if product == DP_SYNTHETIC else "Données individuelles, k-anonymisées"},
        description=(
            "Synthetic records drawn from differentially private models, one per cohort (the "
            "persons first registered in a year): no row is a real person."
            if product == DP_SYNTHETIC else
            "One row per identified victim of the closed cohorts, in CTDC's columns and "
            "labels, generalised and suppressed cohort by cohort until every combination of "
            "the quasi-identifiers is shared by at least k records; published once per "
            "cohort, when it closed, and never derived again."),
        method="dp-synthetic" if product == DP_SYNTHETIC else "k-anonymity",
        frame=frame, schema=schema, privacy=privacy, report_markdown=report)


def _enum(meta: dict[str, Any], name: str) -> list[str]:
    for entry in (meta.get("schema") or {}).get("fields", []):
        if entry.get("name") == name:
            return list((entry.get("constraints") or {}).get("enum", []))
    return []


def _typed(frame: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    """The concatenated text as the Table Schema's types (for Parquet; CSV is text anyway)."""
    types = {f["name"]: f.get("type") for f in schema.get("fields", [])}
    out = frame.copy()
    for col in out.columns:
        blank = out[col] == ""
        if types.get(col) in ("integer", "year"):
            out[col] = pd.to_numeric(out[col].mask(blank), errors="coerce").astype("Int64")
        elif types.get(col) == "boolean":
            out[col] = out[col].mask(blank).map(
                {"true": True, "false": False, "1": True, "0": False,
                 "True": True, "False": False}).astype("boolean")
        else:
            out[col] = out[col].mask(blank).astype("string")
    return out


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

