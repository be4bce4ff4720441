"""A claimed notification carries a lease (owner, expiry); the sweep takes only expired ones

Revision ID: c3d8a5f1e274
Revises: 4b7e1c9d2a60
Create Date: 2026-12-01 23:55:00

"""
import sqlalchemy as sa
from alembic import op

from webapp.dbtypes import UTCDateTime

revision = 'c3d8a5f1e274'
down_revision = '4b7e1c9d2a60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('lease_owner')
