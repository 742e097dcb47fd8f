"""sla policy

The sweep recomputes open tickets' due times after a calendar or target change (the policy
fingerprint applied, on sla_working_time) and marks first-response breaches (a column and a
partial index on tickets, added in place: no table rebuild, the SQLite search triggers stay);
attachments remember whether the beneficiary sent them (the portal shows only those back).

Revision ID: 0013_sla_policy
Revises: 0012_channels
Create Date: 2026-11-23 19:52:11.864049

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_sla_policy'
down_revision = '0012_channels'
branch_labels = None
depends_on = None


PENDING = ("status IN ('new', 'open', 'waiting', 'awaiting_committee') "
           "AND first_response_at IS NULL AND first_response_breached_at IS NULL")


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('from_beneficiary', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Until now only the portal stored documents without an uploader.
    op.execute("UPDATE attachments SET from_beneficiary = (uploaded_by_id IS NULL)")
    with op.batch_alter_table('sla_working_time', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied_policy', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('recomputing_policy', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('recompute_cursor', sa.Integer(), nullable=True))
    op.add_column('tickets', sa.Column('first_response_breached_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tickets_first_response_pending', 'tickets', ['first_response_due_at'], unique=False,
                    postgresql_where=sa.text(PENDING), sqlite_where=sa.text(PENDING))


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_column('from_beneficiary')
    op.drop_index('ix_tickets_first_response_pending', table_name='tickets')
    op.drop_column('tickets', 'first_response_breached_at')  # SQLite >= 3.35 drops a column in place
    with op.batch_alter_table('sla_working_time', schema=None) as batch_op:
        batch_op.drop_column('recompute_cursor')
        batch_op.drop_column('recomputing_policy')
        batch_op.drop_column('applied_policy')
