"""mail that can be trusted

The quarantine of mail the desk could not take as it came (headers that cannot be trusted,
a message that kept failing, an unverified sender writing on a ticket), and whether our
receiving server vouched for each email's sender (issue 15).

Revision ID: 0019_mail
Revises: 0019_reveal
Create Date: 2026-12-04 14:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_mail'
down_revision = '0019_reveal'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quarantined_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('sender', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_quarantined_mail_decided_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_quarantined_mail_ticket_id_tickets'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantined_mail')),
    sa.UniqueConstraint('key', name=op.f('uq_quarantined_mail_key'))
    )
    with op.batch_alter_table('quarantined_mail', schema=None) as batch_op:
        batch_op.create_index('ix_quarantined_mail_state', ['state', 'id'], unique=False)
        batch_op.create_index('ix_quarantined_mail_ticket', ['ticket_id', 'id'], unique=False)
    op.add_column('inbound_messages', sa.Column('verified', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_column('verified')
    with op.batch_alter_table('quarantined_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantined_mail_ticket')
        batch_op.drop_index('ix_quarantined_mail_state')
    op.drop_table('quarantined_mail')
