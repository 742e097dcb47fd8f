"""arabic: a Saudi calendar right out of the box

Official holidays carry when an admin confirmed them (none: proposed by rule, to confirm
after the announcement) and the key of the official holiday they are; the working time gets six Ramadan
hours (10:00-16:00) where none were saved (Labour Law art. 98). Issue 19.

Revision ID: 0019_arabic
Revises: 0019_mail
Create Date: 2026-12-04 14:30:00

"""
from datetime import time

import sqlalchemy as sa
from alembic import op

revision = '0019_arabic'
down_revision = '0019_mail'
branch_labels = None
depends_on = None


def upgrade():
    # A landline beside the mobile (issue 19, point 6). Numbers already in ``phone`` stay there.
    op.add_column('beneficiaries', sa.Column('landline', sa.String(length=20), nullable=True))
    # The identity document's type and, for a document that is not a Saudi ID, its number (point 7).
    op.add_column('beneficiaries', sa.Column('id_type', sa.String(length=12), nullable=True))
    op.add_column('beneficiaries', sa.Column('id_document', sa.String(length=30), nullable=True))
    with op.batch_alter_table('sla_holidays', schema=None) as batch_op:
        batch_op.add_column(sa.Column('official_key', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_sla_holidays_official_key'), ['official_key'])
    # The holidays an admin typed before this migration are theirs: confirmed.
    holidays = sa.table('sla_holidays', sa.column('confirmed_at', sa.DateTime(timezone=True)),
                        sa.column('updated_at', sa.DateTime(timezone=True)))
    op.execute(holidays.update().values(confirmed_at=holidays.c.updated_at))
    working = sa.table('sla_working_time', sa.column('ramadan_start', sa.Time()), sa.column('ramadan_end', sa.Time()))
    op.execute(working.update().where(working.c.ramadan_start.is_(None), working.c.ramadan_end.is_(None))
               .values(ramadan_start=time(10, 0), ramadan_end=time(16, 0)))


def downgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_column('id_document')
        batch_op.drop_column('id_type')
        batch_op.drop_column('landline')
    with op.batch_alter_table('sla_holidays', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sla_holidays_official_key'), type_='unique')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('official_key')
