"""channels

Email and WhatsApp intake (desk.channels): inbound messages with their unique key (exactly
once), each channel's health, and on the outbox the threading headers, the provider's message
id and its delivery status. The outbox gets plain ADD COLUMNs; `tickets` is not touched.

Revision ID: 0012_channels
Revises: 0011_statistics
Create Date: 2026-11-23 20:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_channels'
down_revision = '0011_statistics'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('sender', sa.String(length=254), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('references', sa.Text(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_inbound_messages_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('channel', 'key', name='uq_inbound_messages_channel_key')
    )
    op.create_index('ix_inbound_messages_sender', 'inbound_messages', ['channel', 'sender', 'id'], unique=False)
    op.create_index('ix_inbound_messages_ticket', 'inbound_messages', ['ticket_id', 'id'], unique=False)
    op.create_index('ix_inbound_messages_message_id', 'inbound_messages', ['message_id'], unique=False)
    op.create_table('channel_states',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_channel_states'))
    )
    op.add_column('outbox', sa.Column('meta', sa.JSON(), nullable=True))
    op.add_column('outbox', sa.Column('external_id', sa.String(length=128), nullable=True))
    op.add_column('outbox', sa.Column('delivery_status', sa.String(length=12), nullable=True))
    op.create_index('ix_outbox_external_id', 'outbox', ['external_id'], unique=False)


def downgrade():
    op.drop_index('ix_outbox_external_id', table_name='outbox')
    op.drop_column('outbox', 'delivery_status')  # SQLite ≥ 3.35 drops a column in place
    op.drop_column('outbox', 'external_id')
    op.drop_column('outbox', 'meta')
    op.drop_table('channel_states')
    op.drop_index('ix_inbound_messages_message_id', table_name='inbound_messages')
    op.drop_index('ix_inbound_messages_ticket', table_name='inbound_messages')
    op.drop_index('ix_inbound_messages_sender', table_name='inbound_messages')
    op.drop_table('inbound_messages')
