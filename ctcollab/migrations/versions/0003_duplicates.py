"""linkage keys and duplicate marks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 00:46:31.191674
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('linkage_key', sa.String(length=64), nullable=True, comment='Linkage key'))
        batch_op.add_column(sa.Column('duplicate_of', sa.String(length=64), nullable=True, comment='Duplicate of'))
        batch_op.create_index('ix_cases_linkage_key', ['linkage_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_linkage_key')
        batch_op.drop_column('duplicate_of')
        batch_op.drop_column('linkage_key')

