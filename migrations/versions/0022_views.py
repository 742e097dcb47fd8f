"""views: the ticket page's timeline order, remembered per person

One column on users (issue 18, point 7): whether the person reads timelines newest first.
Defaults to false (oldest first, the order the page always had).

Revision ID: 0022_views
Revises: 0022_bulk
Create Date: 2026-12-05 07:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0022_views'
down_revision = '0022_bulk'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('timeline_newest_first', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('timeline_newest_first')
