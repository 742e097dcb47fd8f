"""data-subject requests and retention

The beneficiary's requests about their data (export, correction, erasure) and what became of
them; the admin's retention period per kind of request; when a ticket or a beneficiary was
anonymised (desk.privacy).

Revision ID: 0017_dsr
Revises: 0016_audit_trail
Create Date: 2026-12-03 21:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017_dsr'
down_revision = '0016_audit_trail'
branch_labels = None
depends_on = None

def _search_triggers_again():
    """SQLite's batch mode rebuilt `tickets` without the search triggers: put them back."""
    if op.get_bind().dialect.name == "sqlite":
        search = op.get_context().script.get_revision("0002_search_due").module
        for statement in search.SQLITE_UP:
            if statement.startswith("CREATE TRIGGER"):
                op.execute(statement)


def upgrade():
    op.create_table('subject_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_id'], ['beneficiaries.id'],
                            name=op.f('fk_subject_requests_beneficiary_id_beneficiaries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_subject_requests_actor_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subject_requests'))
    )
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.create_index('ix_subject_requests_beneficiary', ['beneficiary_id', 'id'], unique=False)
    op.create_table('retention_periods',
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_retention_periods_updated_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('kind', name=op.f('pk_retention_periods'))
    )
    # A plain ADD COLUMN, not batch mode: on SQLite, rebuilding `tickets` would drop the search
    # triggers of 0002_search_due with the old table.
    op.add_column('tickets', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('beneficiaries', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))

def downgrade():
    with op.batch_alter_table('beneficiaries', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
    _search_triggers_again()
    op.drop_table('retention_periods')
    with op.batch_alter_table('subject_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_subject_requests_beneficiary')
    op.drop_table('subject_requests')
