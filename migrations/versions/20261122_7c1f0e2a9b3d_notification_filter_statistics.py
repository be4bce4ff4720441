"""PostgreSQL extended statistics for the Activity filters

Without them the planner assumes store_id and status are independent, and a filter matching
nothing in a store (say status=failed where nothing failed) walks the whole primary key backwards:
~250 ms on a million rows, against 0.05 ms with these statistics. SQLite has no such feature.

Revision ID: 7c1f0e2a9b3d
Revises: 5fd0ce985f31
Create Date: 2026-11-22 21:40:00

"""
from alembic import op

revision = '7c1f0e2a9b3d'
down_revision = '5fd0ce985f31'
branch_labels = None
depends_on = None

STATISTICS = {
    "st_notifications_store_status": "store_id, status",
    "st_notifications_store_status_channel": "store_id, status, channel",
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in STATISTICS.items():
        op.execute(f"CREATE STATISTICS IF NOT EXISTS {name} (mcv) ON {columns} FROM notifications")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS {name}")
