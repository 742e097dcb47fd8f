"""stake: requesters of every kind (issue 20, point 1)

The stakeholders the policies name (أصحاب المصالح) as requesters: a kind on every beneficiary
record (every existing one is a person: the column's default), an establishment's commercial
registration and unified number (each unique when given), an organisation's contact person;
and the requester kind as a dimension of the statistics' roll-ups.

Plain ADD COLUMN (as 0017 and 0019 did on beneficiaries): no table is rebuilt. The roll-ups
made before have no requester kind, so they are emptied and marked not rolled up: the page
reads those days live until `flask desk stats-rollup` (the nightly job) rebuilds them.

Revision ID: 0024_stake
Revises: 0023_views
Create Date: 2026-12-05 11:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_stake'
down_revision = '0023_views'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('beneficiaries', sa.Column('requester_kind', sa.String(length=12), nullable=False,
                                             server_default='person'))
    op.add_column('beneficiaries', sa.Column('commercial_registration', sa.String(length=10), nullable=True))
    op.add_column('beneficiaries', sa.Column('unified_number', sa.String(length=10), nullable=True))
    op.add_column('beneficiaries', sa.Column('contact_name', sa.String(length=160), nullable=True))
    op.create_index('ix_beneficiaries_commercial_registration', 'beneficiaries',
                    ['commercial_registration'], unique=True)
    op.create_index('ix_beneficiaries_unified_number', 'beneficiaries', ['unified_number'], unique=True)

    op.add_column('stats_rollup', sa.Column('requester_kind', sa.String(length=12), nullable=False,
                                            server_default=''))
    op.execute("DELETE FROM stats_rollup")
    op.execute("DELETE FROM stats_durations")
    op.execute("UPDATE stats_rollup_state SET rolled_through = NULL")


def downgrade():
    op.execute("DELETE FROM stats_rollup")
    op.execute("DELETE FROM stats_durations")
    op.execute("UPDATE stats_rollup_state SET rolled_through = NULL")
    with op.batch_alter_table('stats_rollup', schema=None) as batch_op:
        batch_op.drop_column('requester_kind')
    op.drop_index('ix_beneficiaries_unified_number', table_name='beneficiaries')
    op.drop_index('ix_beneficiaries_commercial_registration', table_name='beneficiaries')
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_column('contact_name')
        batch_op.drop_column('unified_number')
        batch_op.drop_column('commercial_registration')
        batch_op.drop_column('requester_kind')
