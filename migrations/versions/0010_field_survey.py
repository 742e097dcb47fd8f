"""field survey

The supervisors' field work (desk.survey): sites, the daily field survey's items, surveys
(one per site per day: a unique constraint), their answers and photos, emergencies reported
to the general manager, and the visitor counter's taps. The seven items of the policy are
inserted here, so every database has them from the start; admins may add more.

Revision ID: 0010_field_survey
Revises: 0009_portal
Create Date: 2026-11-23 19:25:25.281915

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010_field_survey'
down_revision = '0009_portal'
branch_labels = None
depends_on = None

# The supervisory tasks of the policy (المسح الميداني اليومي), in its order and wording.
POLICY_ITEMS = (
    ('public_order', 'النظام العام', 'Public order'),
    ('guidelines', 'التأكد من وضوح إرشادات تقديم الخدمة في الجمعية',
     "The service guidelines are clear to visitors"),
    ('workflow', 'الإشراف العام على سير العمل في موقع تقديم الخدمة',
     'General supervision of the workflow at the service site'),
    ('emergencies', 'الحالات الطارئة: اتخاذ إجراءات تصحيحية في حينها ثم الرفع بتقرير للمدير العام',
     'Emergencies: corrective action on the spot, then a report to the general manager'),
    ('offices', 'الإشراف على مكاتب خدمة المستفيد في الواقع التابعة للجمعية',
     "Supervision of the beneficiary service offices at the association's sites"),
    ('complaints', 'الإشراف على استقبال شكاوى المستفيدين عبر جميع القنوات ومتابعتها لدى الإدارات لحين حلها',
     'Supervision of complaint intake across all channels, and follow-up with the departments until resolved'),
    ('website', 'الإشراف على صفحة مركز خدمة المستفيد على موقع الجمعية وتفعيل تقديم الخدمات من خلالها',
     "The service centre's page on the association's website, and the services offered through it"),
)


def upgrade():
    op.create_table('sites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name_ar', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites'))
    )
    op.create_table('survey_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=True),
    sa.Column('text_ar', sa.String(length=400), nullable=False),
    sa.Column('text_en', sa.String(length=400), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_items')),
    sa.UniqueConstraint('code', name=op.f('uq_survey_items_code'))
    )
    op.create_table('surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_surveys_opened_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_surveys_site_id_sites'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_surveys_submitted_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surveys')),
    sa.UniqueConstraint('site_id', 'day', name='uq_surveys_site_day')
    )
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.create_index('ix_surveys_day', ['day'], unique=False)

    op.create_table('visitor_taps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('reason_text', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_visitor_taps_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_visitor_taps_site_id_sites'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitor_taps'))
    )
    with op.batch_alter_table('visitor_taps', schema=None) as batch_op:
        batch_op.create_index('ix_visitor_taps_day_site', ['day', 'site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visitor_taps_recorded_by_id'), ['recorded_by_id'], unique=False)

    op.create_table('emergencies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('action_taken', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledgement_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_emergencies_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_emergencies_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_emergencies_site_id_sites'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_emergencies_survey_id_surveys'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_emergencies'))
    )
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.create_index('ix_emergencies_occurred', ['occurred_at'], unique=False)
        batch_op.create_index('ix_emergencies_status_occurred', ['status', 'occurred_at'], unique=False)

    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('item_text_ar', sa.String(length=400), nullable=False),
    sa.Column('item_text_en', sa.String(length=400), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_survey_answers_answered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['survey_items.id'], name=op.f('fk_survey_answers_item_id_survey_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_survey_answers_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('survey_id', 'item_id', name='uq_survey_answers_survey_item')
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answers_item_state', ['item_id', 'state'], unique=False)

    op.create_table('survey_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['survey_answers.id'], name=op.f('fk_survey_photos_answer_id_survey_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_survey_photos_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_photos')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_survey_photos_stored_name'))
    )
    with op.batch_alter_table('survey_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_photos_answer_id'), ['answer_id'], unique=False)

    items = sa.table(
        'survey_items', sa.column('code', sa.String), sa.column('text_ar', sa.String),
        sa.column('text_en', sa.String), sa.column('position', sa.Integer),
        sa.column('active', sa.Boolean), sa.column('created_at', sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    op.bulk_insert(items, [
        {'code': code, 'text_ar': text_ar, 'text_en': text_en, 'position': n, 'active': True,
         'created_at': now}
        for n, (code, text_ar, text_en) in enumerate(POLICY_ITEMS, start=1)
    ])


def downgrade():
    with op.batch_alter_table('survey_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_photos_answer_id'))

    op.drop_table('survey_photos')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answers_item_state')

    op.drop_table('survey_answers')
    with op.batch_alter_table('emergencies', schema=None) as batch_op:
        batch_op.drop_index('ix_emergencies_status_occurred')
        batch_op.drop_index('ix_emergencies_occurred')

    op.drop_table('emergencies')
    with op.batch_alter_table('visitor_taps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visitor_taps_recorded_by_id'))
        batch_op.drop_index('ix_visitor_taps_day_site')

    op.drop_table('visitor_taps')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_index('ix_surveys_day')

    op.drop_table('surveys')
    op.drop_table('survey_items')
    op.drop_table('sites')
