"""initial storage: organisations, api keys, uploads, cases, releases, budget ledger

Revision ID: 0001
Revises:
Create Date: 2026-11-24 00:09:16.491803
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('organisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('named_contributor', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('slug', name=op.f('uq_organisations_slug'))
    )
    op.create_table('releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=False),
    sa.Column('case_count', sa.Integer(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_releases')),
    sa.UniqueConstraint('version', name=op.f('uq_releases_version'))
    )
    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_api_keys_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash'))
    )
    op.create_table('budget_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('snapshot_hash', sa.String(length=64), nullable=False),
    sa.Column('product', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('rho', sa.String(length=40), nullable=False),
    sa.Column('epsilon', sa.Float(), nullable=True),
    sa.Column('delta', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_budget_ledger_release_id_releases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_ledger'))
    )
    with op.batch_alter_table('budget_ledger', schema=None) as batch_op:
        batch_op.create_index('ix_budget_ledger_snapshot', ['snapshot_hash'], unique=False)

    op.create_table('uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=True),
    sa.Column('encoding', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('mapping_version', sa.String(length=100), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=True),
    sa.Column('rows_accepted', sa.Integer(), nullable=True),
    sa.Column('rows_quarantined', sa.Integer(), nullable=True),
    sa.Column('error_code', sa.String(length=64), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_uploads_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads'))
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index('ix_uploads_org_sha', ['org_id', 'sha256'], unique=False)

    op.create_table('cases',
    sa.Column('year_of_registration', sa.SmallInteger(), nullable=True, comment='Year of registration'),
    sa.Column('data_source', sa.String(length=40), nullable=True, comment='Data source'),
    sa.Column('gender', sa.String(length=40), nullable=True, comment='Gender'),
    sa.Column('age_broad', sa.String(length=40), nullable=True, comment='Age band at registration'),
    sa.Column('majority_status', sa.String(length=40), nullable=True, comment='Majority status at registration'),
    sa.Column('majority_status_at_exploit', sa.String(length=40), nullable=True, comment='Majority status at exploitation'),
    sa.Column('majority_entry', sa.String(length=40), nullable=True, comment='Majority status at entry into trafficking'),
    sa.Column('citizenship', sa.String(length=40), nullable=True, comment='Citizenship'),
    sa.Column('means_of_control_debt_bondage', sa.Boolean(), nullable=True, comment='Means of control: Debt bondage'),
    sa.Column('means_of_control_takes_earnings', sa.Boolean(), nullable=True, comment='Means of control: Takes earnings'),
    sa.Column('means_of_control_restricts_financial_access', sa.Boolean(), nullable=True, comment='Means of control: Restricts financial access'),
    sa.Column('means_of_control_threats', sa.Boolean(), nullable=True, comment='Means of control: Threats'),
    sa.Column('means_of_control_psychological_abuse', sa.Boolean(), nullable=True, comment='Means of control: Psychological abuse'),
    sa.Column('means_of_control_physical_abuse', sa.Boolean(), nullable=True, comment='Means of control: Physical abuse'),
    sa.Column('means_of_control_sexual_abuse', sa.Boolean(), nullable=True, comment='Means of control: Sexual abuse'),
    sa.Column('means_of_control_false_promises', sa.Boolean(), nullable=True, comment='Means of control: False promises'),
    sa.Column('means_of_control_psychoactive_substances', sa.Boolean(), nullable=True, comment='Means of control: Psychoactive substances'),
    sa.Column('means_of_control_restricts_movement', sa.Boolean(), nullable=True, comment='Means of control: Restricts movement'),
    sa.Column('means_of_control_restricts_medical_care', sa.Boolean(), nullable=True, comment='Means of control: Restricts medical care'),
    sa.Column('means_of_control_excessive_working_hours', sa.Boolean(), nullable=True, comment='Means of control: Excessive working hours'),
    sa.Column('means_of_control_uses_children', sa.Boolean(), nullable=True, comment='Means of control: Uses children'),
    sa.Column('means_of_control_threat_of_law_enforcement', sa.Boolean(), nullable=True, comment='Means of control: Threat of law enforcement'),
    sa.Column('means_of_control_withholds_necessities', sa.Boolean(), nullable=True, comment='Means of control: Withholds necessities'),
    sa.Column('means_of_control_withholds_documents', sa.Boolean(), nullable=True, comment='Means of control: Withholds documents'),
    sa.Column('means_of_control_other', sa.Boolean(), nullable=True, comment='Means of control: Other means of control'),
    sa.Column('means_of_control_not_specified', sa.Boolean(), nullable=True, comment='Means of control: Not specified'),
    sa.Column('is_forced_labour', sa.Boolean(), nullable=True, comment='Type of exploitation: Forced labour'),
    sa.Column('is_sexual_exploit', sa.Boolean(), nullable=True, comment='Type of exploitation: Sexual exploitation'),
    sa.Column('is_other_exploit', sa.Boolean(), nullable=True, comment='Type of exploitation: Other exploitation'),
    sa.Column('is_sex_and_labour', sa.Boolean(), nullable=True, comment='Type of exploitation: Sexual exploitation and forced labour'),
    sa.Column('is_forced_marriage', sa.Boolean(), nullable=True, comment='Type of exploitation: Forced marriage'),
    sa.Column('is_forced_military', sa.Boolean(), nullable=True, comment='Type of exploitation: Forced military service'),
    sa.Column('is_organ_removal', sa.Boolean(), nullable=True, comment='Type of exploitation: Organ removal'),
    sa.Column('type_of_labour_agriculture', sa.Boolean(), nullable=True, comment='Forced labour sector: Agriculture'),
    sa.Column('type_of_labour_aquafarming', sa.Boolean(), nullable=True, comment='Forced labour sector: Aquafarming'),
    sa.Column('type_of_labour_begging', sa.Boolean(), nullable=True, comment='Forced labour sector: Begging'),
    sa.Column('type_of_labour_construction', sa.Boolean(), nullable=True, comment='Forced labour sector: Construction'),
    sa.Column('type_of_labour_domestic_work', sa.Boolean(), nullable=True, comment='Forced labour sector: Domestic work'),
    sa.Column('type_of_labour_hospitality', sa.Boolean(), nullable=True, comment='Forced labour sector: Hospitality'),
    sa.Column('type_of_labour_illicit_activities', sa.Boolean(), nullable=True, comment='Forced labour sector: Illicit activities'),
    sa.Column('type_of_labour_manufacturing', sa.Boolean(), nullable=True, comment='Forced labour sector: Manufacturing'),
    sa.Column('type_of_labour_mining_or_drilling', sa.Boolean(), nullable=True, comment='Forced labour sector: Mining or drilling'),
    sa.Column('type_of_labour_peddling', sa.Boolean(), nullable=True, comment='Forced labour sector: Peddling'),
    sa.Column('type_of_labour_transportation', sa.Boolean(), nullable=True, comment='Forced labour sector: Transportation'),
    sa.Column('type_of_labour_other', sa.Boolean(), nullable=True, comment='Forced labour sector: Other'),
    sa.Column('type_of_labour_not_specified', sa.Boolean(), nullable=True, comment='Forced labour sector: Not specified'),
    sa.Column('type_of_sex_prostitution', sa.Boolean(), nullable=True, comment='Sexual exploitation: Prostitution'),
    sa.Column('type_of_sex_pornography', sa.Boolean(), nullable=True, comment='Sexual exploitation: Pornography'),
    sa.Column('type_of_sex_remote_interactive_services', sa.Boolean(), nullable=True, comment='Sexual exploitation: Remote interactive services'),
    sa.Column('type_of_sex_private_sexual_services', sa.Boolean(), nullable=True, comment='Sexual exploitation: Private sexual services'),
    sa.Column('is_abduction', sa.Boolean(), nullable=True, comment='Abduction'),
    sa.Column('country_of_exploitation', sa.String(length=40), nullable=True, comment='Country of exploitation'),
    sa.Column('recruiter_relation_intimate_partner', sa.Boolean(), nullable=True, comment='Recruiter relationship: Intimate Partner'),
    sa.Column('recruiter_relation_friend', sa.Boolean(), nullable=True, comment='Recruiter relationship: Friend'),
    sa.Column('recruiter_relation_family', sa.Boolean(), nullable=True, comment='Recruiter relationship: Family/Relative'),
    sa.Column('recruiter_relation_other', sa.Boolean(), nullable=True, comment='Recruiter relationship: Other'),
    sa.Column('recruiter_relation_unknown', sa.Boolean(), nullable=True, comment='Recruiter relationship: Unknown'),
    sa.Column('case_key', sa.String(length=64), nullable=False, comment='Case key'),
    sa.Column('org_id', sa.Integer(), nullable=False, comment='Organisation'),
    sa.Column('upload_id', sa.Integer(), nullable=False, comment='Upload'),
    sa.Column('mapping_version', sa.String(length=100), nullable=False, comment='Mapping version'),
    sa.Column('ingested_at', sa.DateTime(timezone=True), nullable=False, comment='Ingested at'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_cases_org_id_organisations')),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_cases_upload_id_uploads')),
    sa.PrimaryKeyConstraint('case_key', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_org_id', ['org_id'], unique=False)
        batch_op.create_index('ix_cases_upload_id', ['upload_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_upload_id')
        batch_op.drop_index('ix_cases_org_id')

    op.drop_table('cases')
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_uploads_org_sha')

    op.drop_table('uploads')
    with op.batch_alter_table('budget_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_budget_ledger_snapshot')

    op.drop_table('budget_ledger')
    op.drop_table('api_keys')
    op.drop_table('releases')
    op.drop_table('organisations')

