"""Users get a session version: bumping it ends every session of the user

Revision ID: 4b7e1c9d2a60
Revises: 9e4c2d7a1b05
Create Date: 2026-12-01 23:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '4b7e1c9d2a60'
down_revision = '9e4c2d7a1b05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
