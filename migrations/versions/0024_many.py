"""many: messages to many (تعاميم) and the beneficiaries who opted out of them

Issue 20, point 6 (desk.broadcasts): the broadcasts table (who sent what to which group, and
how many it reached), broadcast_optouts (the addresses that receive no message to many), and
outbox.broadcast_id, the send an outbox row belongs to (nullable: every other message has none).

Revision ID: 0024_many
Revises: 0024_appt
Create Date: 2026-12-05 11:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_many'
down_revision = '0024_appt'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'broadcasts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('author_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('purpose', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('audience', sa.String(length=12), nullable=False),
        sa.Column('criteria', sa.JSON(), nullable=False),
        sa.Column('body_ar', sa.Text(), nullable=False),
        sa.Column('body_en', sa.Text(), nullable=False),
        sa.Column('people', sa.Integer(), nullable=False),
        sa.Column('queued', sa.Integer(), nullable=False),
        sa.Column('skipped_no_address', sa.Integer(), nullable=False),
        sa.Column('skipped_opted_out', sa.Integer(), nullable=False),
        sa.Column('tickets_marked', sa.Integer(), nullable=False),
    )
    op.create_index('ix_broadcasts_created', 'broadcasts', ['created_at'])
    op.create_table(
        'broadcast_optouts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('address', sa.String(length=254), nullable=False, unique=True),
        sa.Column('beneficiary_id', sa.Integer(), sa.ForeignKey('beneficiaries.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('via', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_broadcast_optouts_beneficiary_id', 'broadcast_optouts', ['beneficiary_id'])
    op.add_column('outbox', sa.Column('broadcast_id', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_broadcast_id', 'outbox', ['broadcast_id'])


def downgrade():
    op.drop_index('ix_outbox_broadcast_id', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('broadcast_id')
    op.drop_index('ix_broadcast_optouts_beneficiary_id', table_name='broadcast_optouts')
    op.drop_table('broadcast_optouts')
    op.drop_index('ix_broadcasts_created', table_name='broadcasts')
    op.drop_table('broadcasts')
