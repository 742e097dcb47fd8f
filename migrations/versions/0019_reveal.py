"""reveal, logged

The permissions the admin gives per role beyond what the role does by itself: revealing a
full national ID or mobile number, each reveal written on the audit trail (issue 16, point 2).

Revision ID: 0019_reveal
Revises: 0019_search
Create Date: 2026-12-04 14:15:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_reveal'
down_revision = '0019_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('role_grants',
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('permission', sa.String(length=40), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('role', 'permission', name=op.f('pk_role_grants'))
    )


def downgrade():
    op.drop_table('role_grants')
