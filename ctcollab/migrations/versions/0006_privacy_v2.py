"""privacy model v2: lifetime cap per cohort, spends per cohort, closed cohorts, frozen files,
the materialised release snapshot; releases lose their content hash and exact case count

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'privacy_caps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rho', sa.String(length=40), nullable=False),
        sa.Column('epsilon', sa.Float(), nullable=False),
        sa.Column('delta', sa.Float(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_caps')),
    )
    op.create_table(
        'privacy_spends',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=False),
        sa.Column('cohort', sa.SmallInteger(), nullable=False),
        sa.Column('product', sa.String(length=64), nullable=False),
        sa.Column('item', sa.String(length=200), nullable=False),
        sa.Column('rho', sa.String(length=80), nullable=True),
        sa.Column('epsilon', sa.Float(), nullable=True),
        sa.Column('delta', sa.Float(), nullable=True),
        sa.Column('revision', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint('rho IS NOT NULL OR (epsilon IS NOT NULL AND delta IS NOT NULL)', name=op.f('ck_privacy_spends_measured')),
        sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_privacy_spends_release_id_releases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_spends')),
    )
    op.create_index('ix_privacy_spends_cohort', 'privacy_spends', ['cohort'], unique=False)
    op.create_table(
        'cohorts',
        sa.Column('cohort', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column('reason', sa.Text(), server_default='', nullable=False),
        sa.PrimaryKeyConstraint('cohort', name=op.f('pk_cohorts')),
    )
    op.create_table(
        'cohort_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=False),
        sa.Column('cohort', sa.SmallInteger(), nullable=False),
        sa.Column('product', sa.String(length=64), nullable=False),
        sa.Column('item', sa.String(length=200), nullable=False),
        sa.Column('path', sa.String(length=300), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('frozen', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('revision', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_cohort_files_release_id_releases')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cohort_files')),
    )
    op.create_index('ix_cohort_files_cohort', 'cohort_files', ['cohort', 'product', 'item'], unique=False)
    op.create_table(
        'snapshot_cases',
        sa.Column('cohort', sa.SmallInteger(), nullable=False),
        sa.Column('year_of_registration', sa.SmallInteger(), nullable=True),
        sa.Column('data_source', sa.String(length=40), nullable=True),
        sa.Column('gender', sa.String(length=40), nullable=True),
        sa.Column('age_broad', sa.String(length=40), nullable=True),
        sa.Column('majority_status', sa.String(length=40), nullable=True),
        sa.Column('majority_status_at_exploit', sa.String(length=40), nullable=True),
        sa.Column('majority_entry', sa.String(length=40), nullable=True),
        sa.Column('citizenship', sa.String(length=40), nullable=True),
        sa.Column('means_of_control_debt_bondage', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_takes_earnings', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_restricts_financial_access', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_threats', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_psychological_abuse', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_physical_abuse', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_sexual_abuse', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_false_promises', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_psychoactive_substances', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_restricts_movement', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_restricts_medical_care', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_excessive_working_hours', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_uses_children', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_threat_of_law_enforcement', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_withholds_necessities', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_withholds_documents', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_other', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('means_of_control_not_specified', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_forced_labour', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_sexual_exploit', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_other_exploit', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_sex_and_labour', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_forced_marriage', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_forced_military', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_organ_removal', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_agriculture', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_aquafarming', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_begging', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_construction', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_domestic_work', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_hospitality', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_illicit_activities', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_manufacturing', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_mining_or_drilling', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_peddling', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_transportation', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_other', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_labour_not_specified', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_sex_prostitution', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_sex_pornography', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_sex_remote_interactive_services', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('type_of_sex_private_sexual_services', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('is_abduction', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('country_of_exploitation', sa.String(length=40), nullable=True),
        sa.Column('recruiter_relation_intimate_partner', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('recruiter_relation_friend', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('recruiter_relation_family', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('recruiter_relation_other', sa.Boolean(create_constraint=False), nullable=True),
        sa.Column('recruiter_relation_unknown', sa.Boolean(create_constraint=False), nullable=True),
    )
    op.create_index('ix_snapshot_cases_cohort', 'snapshot_cases', ['cohort'], unique=False)

    # Old spends were charged per content hash of the cases; the persons behind them are in
    # today's cohorts. Charge each old spend to every cohort present now: an over-count of
    # loss (safe), never an under-count.
    bind = op.get_bind()
    present = [r[0] for r in bind.execute(sa.text(
        'SELECT DISTINCT cohort FROM cases WHERE cohort IS NOT NULL ORDER BY cohort'))]
    old = bind.execute(sa.text(
        'SELECT release_id, product, item, rho, epsilon, delta, created_at FROM budget_ledger '
        'ORDER BY id')).all()
    spends = sa.table('privacy_spends', sa.column('release_id'), sa.column('cohort'),
                      sa.column('product'), sa.column('item'), sa.column('rho'),
                      sa.column('epsilon'), sa.column('delta'), sa.column('revision'),
                      sa.column('created_at'))
    rows = [dict(release_id=r.release_id, cohort=c, product=r.product, item=r.item, rho=r.rho,
                 epsilon=r.epsilon, delta=r.delta, revision=False, created_at=r.created_at)
            for r in old for c in present]
    op.drop_index('ix_budget_ledger_snapshot', table_name='budget_ledger')
    op.drop_table('budget_ledger')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_id', sa.String(length=32), nullable=True))
        batch_op.drop_column('snapshot_hash')
        batch_op.drop_column('case_count')
    # Only now: on SQLite the batch above rebuilds `releases` (DROP TABLE), which foreign keys
    # refuse while any privacy_spends row refers to it.
    if rows:
        op.bulk_insert(spends, rows)


def downgrade() -> None:
    raise RuntimeError('privacy model v2 cannot be downgraded: per-cohort spends have no '
                       'per-snapshot form, and dropping them would forget privacy loss')
