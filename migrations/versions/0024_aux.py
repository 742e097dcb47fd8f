"""aux: auxiliary services on the visitor counter, staff readiness in the survey, training log

Issue 20, point 9 (R51, R49, R52):
- aux_services, the auxiliary services given at the desk (الخدمات المساعدة: copying, a call,
  a form filled in), with the policy's three inserted; aux_service_taps counts them per site
  and day like the visitor taps;
- survey_answers.readiness (nullable JSON): who is on duty and whether reception is staffed,
  for a survey item of the new staff-readiness kind (an admin adds it: code 'staff_readiness');
- training_entries, the training log of service staff.

Revision ID: 0024_aux
Revises: 0024_kb
Create Date: 2026-12-05 11:45:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0024_aux'
down_revision = '0024_kb'
branch_labels = None
depends_on = None

SERVICES = (
    ('copying', 'تصوير المستندات', 'Copying documents'),
    ('call', 'اتصال لصالح المستفيد', 'A call made for the beneficiary'),
    ('form', 'تعبئة نموذج للمستفيد', 'A form filled in for the beneficiary'),
)


def upgrade():
    op.create_table(
        'aux_services',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=True),
        sa.Column('name_ar', sa.String(length=120), nullable=False),
        sa.Column('name_en', sa.String(length=120), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_aux_services')),
        sa.UniqueConstraint('code', name=op.f('uq_aux_services_code')),
    )
    op.create_table(
        'aux_service_taps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_aux_service_taps_site_id_sites'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['service_id'], ['aux_services.id'],
                                name=op.f('fk_aux_service_taps_service_id_aux_services'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_aux_service_taps_recorded_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_aux_service_taps')),
    )
    op.create_index('ix_aux_service_taps_day_site', 'aux_service_taps', ['day', 'site_id'])
    op.create_index(op.f('ix_aux_service_taps_service_id'), 'aux_service_taps', ['service_id'])
    op.create_index(op.f('ix_aux_service_taps_recorded_by_id'), 'aux_service_taps', ['recorded_by_id'])

    op.add_column('survey_answers', sa.Column('readiness', sa.JSON(), nullable=True))

    op.create_table(
        'training_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course', sa.String(length=200), nullable=False),
        sa.Column('provider', sa.String(length=200), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('centihours', sa.Integer(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('certificate_filename', sa.String(length=255), nullable=True),
        sa.Column('certificate_stored_name', sa.String(length=64), nullable=True),
        sa.Column('certificate_content_type', sa.String(length=100), nullable=True),
        sa.Column('certificate_size', sa.Integer(), nullable=True),
        sa.Column('certificate_sha256', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_entries_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_training_entries_recorded_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_entries')),
        sa.UniqueConstraint('certificate_stored_name', name=op.f('uq_training_entries_certificate_stored_name')),
    )
    op.create_index('ix_training_entries_user_day', 'training_entries', ['user_id', 'day'])
    op.create_index('ix_training_entries_day', 'training_entries', ['day'])

    now = datetime.now(UTC)
    services = sa.table(
        'aux_services', sa.column('code', sa.String), sa.column('name_ar', sa.String),
        sa.column('name_en', sa.String), sa.column('position', sa.Integer), sa.column('active', sa.Boolean),
        sa.column('created_at', sa.DateTime(timezone=True)))
    op.bulk_insert(services, [{'code': code, 'name_ar': ar, 'name_en': en, 'position': n, 'active': True,
                               'created_at': now} for n, (code, ar, en) in enumerate(SERVICES, start=1)])


def downgrade():
    op.drop_index('ix_training_entries_day', table_name='training_entries')
    op.drop_index('ix_training_entries_user_day', table_name='training_entries')
    op.drop_table('training_entries')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_column('readiness')
    op.drop_index(op.f('ix_aux_service_taps_recorded_by_id'), table_name='aux_service_taps')
    op.drop_index(op.f('ix_aux_service_taps_service_id'), table_name='aux_service_taps')
    op.drop_index('ix_aux_service_taps_day_site', table_name='aux_service_taps')
    op.drop_table('aux_service_taps')
    op.drop_table('aux_services')
