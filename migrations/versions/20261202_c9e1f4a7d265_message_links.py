"""Push and in-app messages keep the link a tap opens

Revision ID: c9e1f4a7d265
Revises: b7d3e2a9c518
Create Date: 2026-12-02 03:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c9e1f4a7d265'
down_revision = 'b7d3e2a9c518'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link', sa.String(length=2000), nullable=True))
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link', sa.String(length=2000), nullable=True))


def downgrade():
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_column('link')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('link')
