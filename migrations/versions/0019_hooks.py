"""webhooks that hold

The channel health row counts refused webhook calls (issue 22, point 1); media a WhatsApp
message names wait in media_jobs for the worker to fetch them (point 3). Columns are added with
plain add_column (never a batch rebuild of a table).

Revision ID: 0019_hooks
Revises: 0018_accounts
Create Date: 2026-12-04 14:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_hooks'
down_revision = '0018_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('channel_states', sa.Column('refused', sa.Integer(), server_default='0', nullable=False))
    op.add_column('channel_states', sa.Column('last_refused_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('channel_states', sa.Column('last_refusal', sa.String(length=200), nullable=True))
    op.create_table('media_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('message_key', sa.String(length=255), nullable=False),
    sa.Column('media_id', sa.String(length=256), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('mime_type', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_media_jobs_attachment_id_attachments'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_media_jobs_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_jobs')),
    sa.UniqueConstraint('channel', 'message_key', name='uq_media_jobs_channel_message_key')
    )
    op.create_index('ix_media_jobs_due', 'media_jobs', ['status', 'next_attempt_at'], unique=False)
    op.create_index('ix_media_jobs_ticket', 'media_jobs', ['ticket_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_media_jobs_ticket', table_name='media_jobs')
    op.drop_index('ix_media_jobs_due', table_name='media_jobs')
    op.drop_table('media_jobs')
    with op.batch_alter_table('channel_states', schema=None) as batch_op:
        batch_op.drop_column('last_refusal')
        batch_op.drop_column('last_refused_at')
        batch_op.drop_column('refused')
