"""Notifications keep an email's plain-text part

Revision ID: b7d3e2a9c518
Revises: 8a1c4e7f2b93
Create Date: 2026-12-02 03:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d3e2a9c518'
down_revision = '8a1c4e7f2b93'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_text', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('body_text')
