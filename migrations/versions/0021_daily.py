"""daily: new beneficiary messages stand out until staff read them

Two columns on tickets (issue 18, point 6): when the beneficiary last wrote and when staff
last opened the ticket after that. Indexed for the workspace's unread count per department
and the queue's change token. Plain add_column: on SQLite a batch rebuild of tickets would
drop its full-text search triggers.

Revision ID: 0021_daily
Revises: 0020_policies
Create Date: 2026-12-04 15:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021_daily'
down_revision = '0020_policies'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('beneficiary_message_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tickets', sa.Column('staff_read_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tickets_department_message', 'tickets', ['department_id', 'beneficiary_message_at'])
    op.create_index('ix_tickets_staff_read', 'tickets', ['staff_read_at'])


def downgrade():
    op.drop_index('ix_tickets_staff_read', table_name='tickets')
    op.drop_index('ix_tickets_department_message', table_name='tickets')
    op.drop_column('tickets', 'staff_read_at')
    op.drop_column('tickets', 'beneficiary_message_at')
