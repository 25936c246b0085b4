"""budget ledger: spends that are only (epsilon, delta)-DP (rho NULL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('budget_ledger', schema=None) as batch_op:
        batch_op.alter_column('rho', existing_type=sa.String(length=40), nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_budget_ledger_measured'), 'rho IS NOT NULL OR (epsilon IS NOT NULL AND delta IS NOT NULL)')


def downgrade() -> None:
    # An (epsilon, delta)-only spend has no rho to write back: refuse rather than lose it.
    bind = op.get_bind()
    approx = bind.execute(sa.text('SELECT count(*) FROM budget_ledger WHERE rho IS NULL'))
    if approx.scalar_one():
        raise RuntimeError('the ledger holds (epsilon, delta)-only spends; '
                           'they cannot be expressed before revision 0004')
    with op.batch_alter_table('budget_ledger', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_budget_ledger_measured'), type_='check')
        batch_op.alter_column('rho', existing_type=sa.String(length=40), nullable=False)
