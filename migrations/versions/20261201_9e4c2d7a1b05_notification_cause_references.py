"""Notifications point back at the campaign or automation that planned them

Both nullable: rule and staff sends leave them empty. Plain indexed integers for now; each gets
its foreign key in the migration that creates the table it refers to.

Revision ID: 9e4c2d7a1b05
Revises: 5a4abda3fa8d
Create Date: 2026-12-01 22:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '9e4c2d7a1b05'
down_revision = '5a4abda3fa8d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('automation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_automation_id'), ['automation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_automation_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_campaign_id'))
        batch_op.drop_column('automation_id')
        batch_op.drop_column('campaign_id')
