"""event reason codes

A ticket event's reason when the desk decided (a routing rule, a category's default, a
department deactivated): stored as a code and translated for each reader, never as text in
the language of whoever was signed in.

Revision ID: 0004_event_reason
Revises: 0003_routing_outbox
Create Date: 2026-11-23 17:28:02.765490

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_event_reason'
down_revision = '0003_routing_outbox'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=60), nullable=True))



def downgrade():
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_column('reason')

