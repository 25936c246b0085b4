"""persons: the year-of-birth linkage key and every record's cohort

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 12:00:00.000000

Existing records get no year-of-birth key (their names were never stored, so it cannot be
computed: they link by the keys they have). Their cohort is backfilled by the rule new records
follow: the year of registration when supplied and not after the year received, else the UTC
year received; then every record marked as another's duplicate takes the cohort of the
record it points to (its person's counted record).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _received_year(dialect: str) -> sa.ColumnElement[int]:
    ingested = sa.column('ingested_at', sa.DateTime(timezone=True))
    if dialect == 'postgresql':
        # EXTRACT on a timestamptz follows the session's time zone: ask for UTC.
        return sa.cast(sa.extract('year', sa.func.timezone('UTC', ingested)), sa.SmallInteger)
    # SQLite holds the UTC timestamp as text.
    return sa.cast(sa.func.strftime('%Y', ingested), sa.SmallInteger)


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linkage_key_year', sa.String(length=64), nullable=True,
                                      comment='Linkage key (year of birth)'))
        batch_op.add_column(sa.Column('cohort', sa.SmallInteger(), nullable=True,
                                      comment='Cohort'))

    bind = op.get_bind()
    cases = sa.table('cases', sa.column('case_key', sa.String), sa.column('cohort', sa.SmallInteger),
                     sa.column('year_of_registration', sa.SmallInteger),
                     sa.column('duplicate_of', sa.String))
    received = _received_year(bind.dialect.name)
    registered = cases.c.year_of_registration
    bind.execute(cases.update().values(cohort=sa.case(
        (sa.and_(registered.is_not(None), registered <= received), registered),
        else_=received)))
    counted = cases.alias('counted')
    bind.execute(cases.update().where(cases.c.duplicate_of.is_not(None)).values(
        cohort=sa.select(counted.c.cohort).where(counted.c.case_key == cases.c.duplicate_of)
        .scalar_subquery()))
    # A duplicate_of pointing nowhere (never written so, but cheap to guard): its own year.
    bind.execute(cases.update().where(cases.c.cohort.is_(None)).values(cohort=received))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('cohort', existing_type=sa.SmallInteger(), nullable=False,
                              existing_comment='Cohort')
        batch_op.create_index('ix_cases_linkage_key_year', ['linkage_key_year'], unique=False)
        batch_op.create_index('ix_cases_cohort', ['cohort'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_cohort')
        batch_op.drop_index('ix_cases_linkage_key_year')
        batch_op.drop_column('cohort')
        batch_op.drop_column('linkage_key_year')
