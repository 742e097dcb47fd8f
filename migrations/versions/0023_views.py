"""views: personal and shared queue views, and the indexes their counts need

The saved_views table (issue 18, point 5): a named set of queue filters for one person, a
department or the whole desk. The queue shows every view's count on each 30-second refresh,
so each count must be one index range scan: the open tickets by kind, by priority and by
channel had no index that serves them (partial, open tickets only, like 0022_speed's).

Revision ID: 0023_views
Revises: 0023_duplicates
Create Date: 2026-12-05 07:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0023_views'
down_revision = '0023_duplicates'
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'open', 'waiting', 'awaiting_committee')"  # models.tickets.OPEN_DUE_WHERE


def upgrade():
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('owner_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE'), nullable=False),
        sa.Column('scope', sa.String(length=12), nullable=False),
        sa.Column('department_id', sa.Integer(), sa.ForeignKey('departments.id', ondelete='CASCADE'), nullable=True),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_saved_views_owner', 'saved_views', ['owner_id'])
    op.create_index('ix_saved_views_scope_department', 'saved_views', ['scope', 'department_id'])
    for column in ('kind', 'priority', 'channel'):
        op.create_index(f'ix_tickets_open_{column}', 'tickets', [column, 'status'],
                        sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade():
    for column in ('channel', 'priority', 'kind'):
        op.drop_index(f'ix_tickets_open_{column}', table_name='tickets')
    op.drop_index('ix_saved_views_scope_department', table_name='saved_views')
    op.drop_index('ix_saved_views_owner', table_name='saved_views')
    op.drop_table('saved_views')
