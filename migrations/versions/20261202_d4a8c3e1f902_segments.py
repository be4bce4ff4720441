"""Saved segments of the customer list, for campaigns

Revision ID: d4a8c3e1f902
Revises: 9a19b8245034
Create Date: 2026-12-02 12:20:00

"""
import sqlalchemy as sa
from alembic import op

import webapp.dbtypes

revision = 'd4a8c3e1f902'
down_revision = '9a19b8245034'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'segments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('match', sa.String(length=8), nullable=False),
        sa.Column('conditions', sa.JSON(), nullable=False),
        sa.Column('created_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', webapp.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['stores.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_segments_store_id_id', 'segments', ['store_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_segments_store_id_id', table_name='segments')
    op.drop_table('segments')
