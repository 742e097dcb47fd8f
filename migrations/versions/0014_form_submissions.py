"""form submissions

A form that creates something (a portal request or reply, a ticket at intake, a note or reply,
a document) is taken once: one row per form used, its unique key the digest of the form's
token and its sender (desk.submissions). A new table only; nothing else is touched, so SQLite
needs no table rebuild.

Revision ID: 0014_form_submissions
Revises: 0013_sla_policy
Create Date: 2026-11-24 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_form_submissions'
down_revision = '0013_sla_policy'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_submissions_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submissions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('key', name=op.f('uq_submissions_key'))
    )
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.create_index('ix_submissions_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_created_at')
    op.drop_table('submissions')
