"""Store templates per message type, channel and locale, their versions, and email branding

Revision ID: 8a1c4e7f2b93
Revises: 6d2f8b3e9c41
Create Date: 2026-12-02 03:00:00

"""
import sqlalchemy as sa
from alembic import op

from webapp.dbtypes import UTCDateTime

revision = '8a1c4e7f2b93'
down_revision = '6d2f8b3e9c41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'message_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('message_type', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id']),
        sa.ForeignKeyConstraint(['updated_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'message_type', 'channel', 'locale'),
    )
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_templates_store_id'), ['store_id'], unique=False)
    op.create_table(
        'message_template_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('message_type', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id']),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('message_template_versions', schema=None) as batch_op:
        batch_op.create_index('ix_template_versions_key', ['store_id', 'message_type', 'channel', 'locale'],
                              unique=False)
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('brand_color', sa.String(length=7), nullable=True))
        batch_op.add_column(sa.Column('logo_url', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('postal_address', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_column('postal_address')
        batch_op.drop_column('logo_url')
        batch_op.drop_column('brand_color')
    with op.batch_alter_table('message_template_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_template_versions_key')
    op.drop_table('message_template_versions')
    with op.batch_alter_table('message_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_templates_store_id'))
    op.drop_table('message_templates')
