"""outbox truth

The outbox tells the truth (issue 14, point 7): a message's temporary failures are retried
for a time (failing_since) rather than a few attempts, attempts that ended with no outcome are
counted apart (stalls), and a message that finally failed says when and why (failed_at,
failure) and which supervisor dealt with it (handled_at, handled_by_id). A partial index
serves the supervisors' notice: the failed messages nobody has handled yet.

Revision ID: 0015_outbox_truth
Revises: 0014_form_submissions
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_outbox_truth'
down_revision = '0014_form_submissions'
branch_labels = None
depends_on = None

UNHANDLED = "status = 'failed' AND handled_at IS NULL"


def upgrade():
    # batch: SQLite cannot add a foreign key to a table in place (the outbox has no trigger to lose).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stalls', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failure', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handled_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_handled_by_id_users'), 'users', ['handled_by_id'], ['id'],
                                    ondelete='SET NULL')
    # The messages that failed before this migration: failed when they were last touched, and
    # not yet seen by anyone (the notice shows them once).
    op.execute("UPDATE outbox SET failed_at = COALESCE(next_attempt_at, created_at) WHERE status = 'failed'")
    op.create_index('ix_outbox_unhandled', 'outbox', ['failed_at'], unique=False,
                    postgresql_where=sa.text(UNHANDLED), sqlite_where=sa.text(UNHANDLED))


def downgrade():
    op.drop_index('ix_outbox_unhandled', table_name='outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_handled_by_id_users'), type_='foreignkey')
        batch_op.drop_column('handled_by_id')
        batch_op.drop_column('handled_at')
        batch_op.drop_column('failure')
        batch_op.drop_column('failed_at')
        batch_op.drop_column('stalls')
        batch_op.drop_column('failing_since')
