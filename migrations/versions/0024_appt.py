"""appointments: officials' availability, their slots, and bookings (R53, issue 20 point 8)

One slot holds one booking: appointments.slot_id is unique (a cancelled booking lets go of its
slot by setting it to NULL, which a unique index allows many of on SQLite and PostgreSQL).
New tables only.

Revision ID: 0024_appt
Revises: 0024_aux
Create Date: 2026-12-05 11:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_appt'
down_revision = '0024_aux'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'appointment_availability',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('official_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE',
                                                             name='fk_appointment_availability_official_id_users'),
                  nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=True),
        sa.Column('on_day', sa.Date(), nullable=True),
        sa.Column('starts', sa.Time(), nullable=False),
        sa.Column('ends', sa.Time(), nullable=False),
        sa.Column('slot_minutes', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL',
                                                               name='fk_appointment_availability_created_by_id_users'),
                  nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_appointment_availability'),
    )
    op.create_index('ix_appointment_availability_official_id', 'appointment_availability', ['official_id'])
    op.create_table(
        'appointment_slots',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('official_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE',
                                                             name='fk_appointment_slots_official_id_users'),
                  nullable=False),
        sa.Column('availability_id', sa.Integer(),
                  sa.ForeignKey('appointment_availability.id', ondelete='SET NULL',
                                name='fk_appointment_slots_availability_id_appointment_availability'),
                  nullable=True),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_appointment_slots'),
        sa.UniqueConstraint('official_id', 'starts_at', name='uq_appointment_slots_official_start'),
    )
    op.create_index('ix_appointment_slots_starts_at', 'appointment_slots', ['starts_at'])
    op.create_index('ix_appointment_slots_availability_id', 'appointment_slots', ['availability_id'])
    op.create_table(
        'appointments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('slot_id', sa.Integer(), sa.ForeignKey('appointment_slots.id', ondelete='SET NULL',
                                                         name='fk_appointments_slot_id_appointment_slots'),
                  nullable=True),
        sa.Column('official_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='CASCADE',
                                                             name='fk_appointments_official_id_users'),
                  nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id', ondelete='SET NULL',
                                                           name='fk_appointments_ticket_id_tickets'),
                  nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('locale', sa.String(length=5), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.Column('booked_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL',
                                                              name='fk_appointments_booked_by_id_users'),
                  nullable=True),
        sa.Column('key_hash', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by', sa.String(length=12), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL',
                                                                name='fk_appointments_recorded_by_id_users'),
                  nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_appointments'),
        sa.UniqueConstraint('slot_id', name='uq_appointments_slot_id'),
        sa.UniqueConstraint('key_hash', name='uq_appointments_key_hash'),
    )
    op.create_index('ix_appointments_starts_at', 'appointments', ['starts_at'])
    op.create_index('ix_appointments_remind', 'appointments', ['status', 'reminded_at', 'starts_at'])
    op.create_index('ix_appointments_official_id', 'appointments', ['official_id'])
    op.create_index('ix_appointments_ticket_id', 'appointments', ['ticket_id'])


def downgrade():
    op.drop_index('ix_appointments_ticket_id', table_name='appointments')
    op.drop_index('ix_appointments_official_id', table_name='appointments')
    op.drop_index('ix_appointments_remind', table_name='appointments')
    op.drop_index('ix_appointments_starts_at', table_name='appointments')
    op.drop_table('appointments')
    op.drop_index('ix_appointment_slots_availability_id', table_name='appointment_slots')
    op.drop_index('ix_appointment_slots_starts_at', table_name='appointment_slots')
    op.drop_table('appointment_slots')
    op.drop_index('ix_appointment_availability_official_id', table_name='appointment_availability')
    op.drop_table('appointment_availability')
