"""counts: a focal point's saved views, one index range each

Measured at 1,000,000 tickets on PostgreSQL (tests/bench/views.py): ten saved views' counts
took 32 ms for a supervisor but 728 ms (p95 1.2 s) for a focal point of two departments.
0023_views' open-ticket indexes by kind, priority and channel lead with that column alone, so a
count restricted to the person's departments ANDed a bitmap of the department index with it and
read the table's rows. With the department second, (kind, department_id, status) over the open
tickets, both counts are one index range: the column alone for the desk, the column and each
department for a focal point.

Revision ID: 0025_counts
Revises: 0024_casefile
Create Date: 2026-12-05 12:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0025_counts'
down_revision = '0024_casefile'
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'open', 'waiting', 'awaiting_committee')"  # models.tickets.OPEN_DUE_WHERE
COLUMNS = ('kind', 'priority', 'channel')


def _rebuild(second: list[str]) -> None:
    for column in COLUMNS:
        op.drop_index(f'ix_tickets_open_{column}', table_name='tickets')
        op.create_index(f'ix_tickets_open_{column}', 'tickets', [column, *second],
                        sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def upgrade():
    _rebuild(['department_id', 'status'])


def downgrade():
    _rebuild(['status'])
