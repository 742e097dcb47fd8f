"""statistics

The statistics' daily roll-ups (desk.stats.rollup) and the ticket indexes they read by:
the resolution and first-response times, and the open tickets per department ("open now").

Revision ID: 0011_statistics
Revises: 0010_field_survey
Create Date: 2026-11-23 19:30:00

"""
import sqlalchemy as sa
from alembic import op

# The open statuses, spelled out as in migration 0006 (desk.models.tickets.OPEN_DUE_WHERE).
OPEN_DUE_WHERE = "status IN ('new', 'open', 'waiting', 'awaiting_committee')"


# revision identifiers, used by Alembic.
revision = '0011_statistics'
down_revision = '0010_field_survey'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in (
        'received', 'resolved', 'actioned', 'responded', 'sla_targets', 'sla_met', 'breached', 'answers')],
    sa.Column('rating_sum', sa.BigInteger(), nullable=False),
    *[sa.Column(name, sa.Integer(), nullable=False) for name in (
        'rating_1', 'rating_2', 'rating_3', 'rating_4', 'rating_5', 'solved', 'comments')],
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_rollup'))
    )
    op.create_index('ix_stats_rollup_grain_day', 'stats_rollup', ['grain', 'day'], unique=False)
    op.create_table('stats_durations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=1), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_durations'))
    )
    op.create_index('ix_stats_durations_grain_day', 'stats_durations', ['grain', 'day'], unique=False)
    op.create_table('stats_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rolled_through', sa.Date(), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_rollup_state'))
    )
    op.create_index('ix_tickets_resolved', 'tickets', ['resolved_at'], unique=False)
    op.create_index('ix_tickets_first_response', 'tickets', ['first_response_at'], unique=False)
    op.create_index('ix_tickets_open_department', 'tickets', ['department_id', 'status', 'due_at'], unique=False,
                    postgresql_where=sa.text(OPEN_DUE_WHERE), sqlite_where=sa.text(OPEN_DUE_WHERE))


def downgrade():
    op.drop_index('ix_tickets_open_department', table_name='tickets')
    op.drop_index('ix_tickets_first_response', table_name='tickets')
    op.drop_index('ix_tickets_resolved', table_name='tickets')
    op.drop_table('stats_rollup_state')
    op.drop_index('ix_stats_durations_grain_day', table_name='stats_durations')
    op.drop_table('stats_durations')
    op.drop_index('ix_stats_rollup_grain_day', table_name='stats_rollup')
    op.drop_table('stats_rollup')
