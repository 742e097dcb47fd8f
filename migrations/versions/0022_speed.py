"""speed: the open views read newest first from partial indexes

Partial indexes over the open tickets (issue 21): (created_at, id) for the desk-wide open
views and (department_id, created_at, id) for one department's. The queue's first page
reads them in order and stops after a page; before, the planner (on SQLite with its
sampled statistics) sorted every open ticket: 55-80 ms of SQL at 100,000 tickets, 750 ms
at 1,000,000. And (department_id, assignee_id, status) for a focal point's "unassigned" and "mine"
counts, which otherwise read the table row of every open ticket of their departments.

Revision ID: 0022_speed
Revises: 0021_daily
Create Date: 2026-12-05 07:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0022_speed'
down_revision = '0021_daily'
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'open', 'waiting', 'awaiting_committee')"  # models.tickets.OPEN_DUE_WHERE


def upgrade():
    op.create_index('ix_tickets_open_created', 'tickets', ['created_at', 'id'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_index('ix_tickets_open_department_created', 'tickets', ['department_id', 'created_at', 'id'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_index('ix_tickets_open_department_assignee', 'tickets', ['department_id', 'assignee_id', 'status'],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    op.drop_index('ix_tickets_open_department_assignee', table_name='tickets')
    op.drop_index('ix_tickets_open_department_created', table_name='tickets')
    op.drop_index('ix_tickets_open_created', table_name='tickets')
