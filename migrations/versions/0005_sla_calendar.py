"""sla calendar and service targets

The business calendar (working days and hours, Ramadan hours, holidays stored as Gregorian
date ranges) and the service-level targets per kind and priority (desk/models/sla.py).

Revision ID: 0005_sla_calendar
Revises: 0004_event_reason
Create Date: 2026-11-23 17:30:23.498805

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_sla_calendar'
down_revision = '0004_event_reason'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sla_holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_ar', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('entered_as', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_sla_holidays_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_holidays'))
    )
    with op.batch_alter_table('sla_holidays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sla_holidays_first_day'), ['first_day'], unique=False)

    op.create_table('sla_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=True),
    sa.Column('first_response_amount', sa.Integer(), nullable=True),
    sa.Column('first_response_unit', sa.String(length=10), nullable=True),
    sa.Column('resolution_amount', sa.Integer(), nullable=True),
    sa.Column('resolution_unit', sa.String(length=10), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_sla_targets_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_targets')),
    sa.UniqueConstraint('kind', 'priority', name='kind_priority')
    )
    op.create_table('sla_working_time',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_days', sa.JSON(), nullable=False),
    sa.Column('day_start', sa.Time(), nullable=False),
    sa.Column('day_end', sa.Time(), nullable=False),
    sa.Column('ramadan_start', sa.Time(), nullable=True),
    sa.Column('ramadan_end', sa.Time(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_sla_working_time_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_working_time'))
    )


def downgrade():
    op.drop_table('sla_working_time')
    op.drop_table('sla_targets')
    with op.batch_alter_table('sla_holidays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sla_holidays_first_day'))

    op.drop_table('sla_holidays')
