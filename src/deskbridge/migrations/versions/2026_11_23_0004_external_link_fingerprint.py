"""external link fingerprint; case-folded lookup indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 05:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# (table, column): the desk compares these ignoring case, so the index is on lower(column).
LOWER = [
    ('asset', 'name'),
    ('asset', 'serial_number'),
    ('asset', 'inventory_number'),
    ('customer', 'name'),
    ('site', 'name'),
    ('end_user', 'name'),
    ('end_user', 'email'),
]
# The plain indexes they replace (a plain index cannot serve lower(column) = value).
PLAIN = [(t, c) for t, c in LOWER if (t, c) != ('site', 'name')]


def upgrade() -> None:
    """Apply this migration."""
    with op.batch_alter_table('external_link', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fingerprint', sa.String(length=64), nullable=True))
    for table, column in PLAIN:
        op.drop_index(f'ix_{table}_{column}', table_name=table)
    for table, column in LOWER:
        op.create_index(f'ix_{table}_lower_{column}', table, [sa.text(f'lower({column})')])


def downgrade() -> None:
    """Revert this migration."""
    for table, column in LOWER:
        op.drop_index(f'ix_{table}_lower_{column}', table_name=table)
    for table, column in PLAIN:
        op.create_index(f'ix_{table}_{column}', table, [column])
    with op.batch_alter_table('external_link', schema=None) as batch_op:
        batch_op.drop_column('fingerprint')
