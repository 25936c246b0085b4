"""SQLAlchemy tables: the `cases` table derived from the common schema, plus the storage tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from schemas.definition import SCHEMA, Field, Schema

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Length of a stored vocabulary code: the longest code today is 27 characters; 40 leaves room
# for new codes without a migration.
CODE_LENGTH = 40


def sql_type(f: Field) -> sa.types.TypeEngine[Any]:
    """The SQL column type of a stored field of the common schema."""
    types: dict[str, sa.types.TypeEngine[Any]] = {
        "year": sa.SmallInteger(),
        "category": sa.String(CODE_LENGTH),
        "country": sa.String(CODE_LENGTH),
        "flag": sa.Boolean(create_constraint=False),
        "key": sa.String(64),
        "text": sa.String(100),
        "integer": sa.Integer(),
        "smallint": sa.SmallInteger(),
        "timestamp": sa.DateTime(timezone=True),
    }
    return types[f.type]


def now() -> sa.sql.functions.now:
    return sa.func.now()


organisations = sa.Table(
    "organisations", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    # Whether the organisation agreed to be named as a contributor in published releases.
    sa.Column("named_contributor", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
    # Only a SHA-256 of the key is stored; the key itself is printed once at creation.
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

mappings = sa.Table(
    "mappings", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
    # "<name>/<n>", as written in the mapping file; case rows record it.
    sa.Column("version", sa.String(100), nullable=False),
    # The mapping file itself (YAML), kept so every version stays reproducible.
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.UniqueConstraint("org_id", "version"),
)

uploads = sa.Table(
    "uploads", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("org_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("format", sa.String(16), nullable=True),
    sa.Column("encoding", sa.String(32), nullable=True),
    # received -> parsed -> harmonised | rejected; withdrawn when the partner takes it back
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("mapping_version", sa.String(100), nullable=True),
    sa.Column("rows_read", sa.Integer, nullable=True),
    sa.Column("rows_accepted", sa.Integer, nullable=True),
    sa.Column("rows_quarantined", sa.Integer, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    # The report shown to the uploading organisation only (JSON, never cell values).
    sa.Column("report", sa.JSON, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Index("ix_uploads_org_sha", "org_id", "sha256"),
)


def _case_columns(schema: Schema) -> list[sa.Column[Any]]:
    cols: list[sa.Column[Any]] = []
    for f in schema.stored_fields:
        if f.name == "case_key":
            cols.append(sa.Column(f.name, sql_type(f), primary_key=True, comment=f.title))
        elif f.name == "org_id":
            cols.append(sa.Column(f.name, sa.Integer, sa.ForeignKey("organisations.id"),
                                  nullable=False, comment=f.title))
        elif f.name == "upload_id":
            cols.append(sa.Column(f.name, sql_type(f), sa.ForeignKey("uploads.id"),
                                  nullable=False, comment=f.title))
        elif f.internal:
            cols.append(sa.Column(f.name, sql_type(f), nullable=f.optional, comment=f.title))
        else:
            cols.append(sa.Column(f.name, sql_type(f), nullable=True, comment=f.title))
    return cols


cases = sa.Table(
    "cases", metadata, *_case_columns(SCHEMA),
    sa.Index("ix_cases_upload_id", "upload_id"),
    sa.Index("ix_cases_org_id", "org_id"),
    sa.Index("ix_cases_linkage_key", "linkage_key"),
    sa.Index("ix_cases_linkage_key_year", "linkage_key_year"),
    sa.Index("ix_cases_cohort", "cohort"),
)


def counted_cases() -> sa.Select[tuple[object, ...]]:
    """The cases a snapshot counts: each person once (records marked duplicate left out)."""
    return sa.select(cases).where(cases.c.duplicate_of.is_(None))

releases = sa.Table(
    "releases", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.String(32), nullable=False, unique=True),
    # A random id published with the release (never derived from the data).
    sa.Column("release_id", sa.String(32), nullable=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

# --- privacy model v2: persons' lifetime budget, per cohort ---------------------------------

# The collaborative's lifetime cap per cohort: every change is a new row (the newest rules),
# written only by `ctcollab budget cap`, so the cap's history is itself on record.
privacy_caps = sa.Table(
    "privacy_caps", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rho", sa.String(40), nullable=False),  # exact decimal/fraction string
    sa.Column("epsilon", sa.Float, nullable=False),
    sa.Column("delta", sa.Float, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
)

# Every spend of every release, against every cohort it touched. Cohorts are disjoint sets of
# persons, so a cohort's lifetime loss is the composition of its own rows only.
privacy_spends = sa.Table(
    "privacy_spends", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id"), nullable=False),
    sa.Column("cohort", sa.SmallInteger, nullable=False),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("item", sa.String(200), nullable=False),
    # Exact budget arithmetic: rho is stored as a fraction string, never a binary float.
    # rho is NULL for a spend that is only (epsilon, delta)-DP (pac-synth).
    sa.Column("rho", sa.String(80), nullable=True),
    sa.Column("epsilon", sa.Float, nullable=True),
    sa.Column("delta", sa.Float, nullable=True),
    # A re-measurement of a closed cohort (late cases), published as a revision.
    sa.Column("revision", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Index("ix_privacy_spends_cohort", "cohort"),
    sa.CheckConstraint("rho IS NOT NULL OR (epsilon IS NOT NULL AND delta IS NOT NULL)",
                       name="measured"),
)

# Cohorts the collaborative has closed (a cohort without a row is open).
cohorts = sa.Table(
    "cohorts", metadata,
    sa.Column("cohort", sa.SmallInteger, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # "closed"
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False, server_default=now()),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
)

# Every per-cohort file a release wrote (a measurement of one product item for one cohort),
# and which of them are frozen: a closed cohort's frozen files are copied byte for byte into
# every later release instead of being measured again.
cohort_files = sa.Table(
    "cohort_files", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id"), nullable=False),
    sa.Column("cohort", sa.SmallInteger, nullable=False),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("item", sa.String(200), nullable=False),
    # Relative to the release folder; NULL when the product could not be published for the
    # cohort (e.g. k-anonymity infeasible): that outcome is frozen too, never retried.
    sa.Column("path", sa.String(300), nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("frozen", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("revision", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_cohort_files_cohort", "cohort", "product", "item"),
)


def _snapshot_columns(schema: Schema) -> list[sa.Column[Any]]:
    cols: list[sa.Column[Any]] = [sa.Column("cohort", sa.SmallInteger, nullable=False)]
    cols += [sa.Column(f.name, sql_type(f), nullable=True) for f in schema.case_fields]
    return cols


# The snapshot a release is computed from: the counted cases (one record per person) with
# their person's cohort, copied in one statement under the release lock. Every product of the
# release reads this copy, so an upload committed meanwhile is neither published nor charged.
# It holds at most one snapshot (releases are serialised) and is emptied when the release ends.
snapshot_cases = sa.Table(
    "snapshot_cases", metadata, *_snapshot_columns(SCHEMA),
    sa.Index("ix_snapshot_cases_cohort", "cohort"),
)
