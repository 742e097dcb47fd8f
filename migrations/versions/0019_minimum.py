"""privacy notice and the portal's ceiling

The portal's privacy notice, versioned (each save a new row), and on each ticket the version its
sender accepted and when they consented to the processing of their documents; the hours in
which the desk-wide ceiling on portal submissions was reached (issue 16, points 1 and 8).

Revision ID: 0019_minimum
Revises: 0019_hooks
Create Date: 2026-12-04 14:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_minimum'
down_revision = '0019_hooks'
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
    op.create_table('privacy_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body_ar', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_privacy_notices_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_notices')),
    sa.UniqueConstraint('version', name=op.f('uq_privacy_notices_version'))
    )
    op.create_table('portal_ceilings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refused', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_ceilings')),
    sa.UniqueConstraint('hour', name=op.f('uq_portal_ceilings_hour'))
    )
    # A plain ADD COLUMN, not batch mode: on SQLite, rebuilding `tickets` would drop the search
    # triggers of 0002_search_due with the old table.
    op.add_column('tickets', sa.Column('privacy_notice_version', sa.Integer(), nullable=True))
    op.add_column('tickets', sa.Column('sensitive_consent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('sensitive_consent_at')
        batch_op.drop_column('privacy_notice_version')
    _search_triggers_again()
    op.drop_table('portal_ceilings')
    op.drop_table('privacy_notices')
