"""Users can be removed from a store's team (kept, marked removed)

Revision ID: 6d2f8b3e9c41
Revises: c3d8a5f1e274
Create Date: 2026-12-02 02:10:00

"""
import sqlalchemy as sa
from alembic import op

from webapp.dbtypes import UTCDateTime

revision = '6d2f8b3e9c41'
down_revision = 'c3d8a5f1e274'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('removed_at')
