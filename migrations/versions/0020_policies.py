"""policies: disputes settled amicably first, and interim measures on compensation claims

Each attempt at amicable settlement of a dispute (date, parties, outcome, to whom referred,
the agreement concerned) and each interim measure taken to limit the harm on a compensation
claim (what, from when, until when). Issue 20, point 7. New tables only: ``tickets`` is not
touched (its SQLite full-text triggers stay).

Revision ID: 0020_policies
Revises: 0019_arabic
Create Date: 2026-12-04 15:25:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020_policies'
down_revision = '0019_arabic'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'settlement_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('attempted_on', sa.Date(), nullable=False),
        sa.Column('parties', sa.Text(), nullable=False),
        sa.Column('outcome', sa.String(length=10), nullable=False),
        sa.Column('referred_to', sa.String(length=200), nullable=True),
        sa.Column('agreement_id', sa.Integer(), nullable=True),
        sa.Column('agreement_ref', sa.String(length=300), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agreement_id'], ['attachments.id'], name=op.f('fk_settlement_attempts_agreement_id_attachments'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_settlement_attempts_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_settlement_attempts_ticket_id_tickets'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_attempts')),
    )
    op.create_index('ix_settlement_attempts_ticket', 'settlement_attempts', ['ticket_id', 'id'], unique=False)
    op.create_table(
        'interim_measures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('measure', sa.Text(), nullable=False),
        sa.Column('taken_on', sa.Date(), nullable=False),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_interim_measures_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_interim_measures_ticket_id_tickets'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_interim_measures')),
    )
    op.create_index('ix_interim_measures_ticket', 'interim_measures', ['ticket_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_interim_measures_ticket', table_name='interim_measures')
    op.drop_table('interim_measures')
    op.drop_index('ix_settlement_attempts_ticket', table_name='settlement_attempts')
    op.drop_table('settlement_attempts')
