"""duplicates: tickets merged into another, and "related to" links

Issue 18, point 3. Two new tables and one column on attachments (the reference of the
duplicate a document was moved from). ``tickets`` is not touched (its SQLite full-text
triggers stay).

Revision ID: 0023_duplicates
Revises: 0022_replies
Create Date: 2026-12-05 07:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0023_duplicates'
down_revision = '0022_replies'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ticket_merges',
        sa.Column('merged_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('into_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['merged_id'], ['tickets.id'], name=op.f('fk_ticket_merges_merged_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['into_id'], ['tickets.id'], name=op.f('fk_ticket_merges_into_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_ticket_merges_actor_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('merged_id', name=op.f('pk_ticket_merges')),
    )
    op.create_index('ix_ticket_merges_into', 'ticket_merges', ['into_id'], unique=False)
    op.create_table(
        'ticket_relations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('low_id', sa.Integer(), nullable=False),
        sa.Column('high_id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('low_id < high_id', name=op.f('ck_ticket_relations_ordered')),
        sa.ForeignKeyConstraint(['low_id'], ['tickets.id'], name=op.f('fk_ticket_relations_low_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['high_id'], ['tickets.id'], name=op.f('fk_ticket_relations_high_id_tickets'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ticket_relations_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_relations')),
        sa.UniqueConstraint('low_id', 'high_id', name='uq_ticket_relations_pair'),
    )
    op.create_index('ix_ticket_relations_high', 'ticket_relations', ['high_id'], unique=False)
    op.add_column('attachments', sa.Column('merged_from', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('merged_from')
    op.drop_index('ix_ticket_relations_high', table_name='ticket_relations')
    op.drop_table('ticket_relations')
    op.drop_index('ix_ticket_merges_into', table_name='ticket_merges')
    op.drop_table('ticket_merges')
