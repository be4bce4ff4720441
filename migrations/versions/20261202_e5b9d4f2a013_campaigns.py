"""Campaigns and their recipient snapshots; per-recipient substitutions on notifications (batch
sends of personalised mail); rolling-window rate limits on provider accounts

Revision ID: e5b9d4f2a013
Revises: d4a8c3e1f902
Create Date: 2026-12-02 13:40:00

"""
import sqlalchemy as sa
from alembic import op

import webapp.dbtypes

revision = 'e5b9d4f2a013'
down_revision = 'd4a8c3e1f902'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'campaigns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('segment_id', sa.Integer(), nullable=True),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('sender', sa.JSON(), nullable=True),
        sa.Column('utm', sa.JSON(), nullable=True),
        sa.Column('ab_test', sa.JSON(), nullable=True),
        sa.Column('ab_winner', sa.String(length=1), nullable=True),
        sa.Column('send_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('local_time', sa.Boolean(), nullable=False),
        sa.Column('send_window', sa.JSON(), nullable=True),
        sa.Column('rate_limits', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('status_reason', sa.String(length=500), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('finished_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('pumped_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ),
        sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], ),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_campaigns_store_id_id', 'campaigns', ['store_id', 'id'], unique=False)
    op.create_index('ix_campaigns_status_send_at', 'campaigns', ['status', 'send_at'], unique=False)
    op.create_table(
        'campaign_recipients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('variant', sa.String(length=1), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('due_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('notification_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ),
        sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('campaign_id', 'customer_id', name='uq_campaign_recipients_campaign_customer'),
    )
    op.create_index('ix_campaign_recipients_campaign_id_status_due_at', 'campaign_recipients',
                    ['campaign_id', 'status', 'due_at'], unique=False)
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('substitutions', sa.JSON(), nullable=True))
    with op.batch_alter_table('provider_configs') as batch:
        batch.add_column(sa.Column('rate_limits', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('provider_configs') as batch:
        batch.drop_column('rate_limits')
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('substitutions')
    op.drop_index('ix_campaign_recipients_campaign_id_status_due_at', table_name='campaign_recipients')
    op.drop_table('campaign_recipients')
    op.drop_index('ix_campaigns_status_send_at', table_name='campaigns')
    op.drop_index('ix_campaigns_store_id_id', table_name='campaigns')
    op.drop_table('campaigns')
