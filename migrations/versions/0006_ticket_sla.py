"""service levels on tickets

Issue 5, item 2 and 3: beside ``due_at`` (the resolution due time) a ticket stores when it
enters "at risk", its first-response due time and at-risk moment, and the SLA sweep's marks
(``breached_at``, ``escalated_at``), so the queue and the sweep compare columns only
(desk/sla/tickets.py). Plain nullable columns without foreign keys: ``op.add_column`` is an
``ALTER TABLE … ADD COLUMN`` on SQLite too, the table is not rebuilt, so the search triggers
of 0002 and the planner statistics stay as they are.

Revision ID: 0006_ticket_sla
Revises: 0005_sla_calendar
Create Date: 2026-11-23 18:04:14.567168

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_ticket_sla'
down_revision = '0005_sla_calendar'
branch_labels = None
depends_on = None

OPEN_DUE_WHERE = "status IN ('new', 'open', 'waiting', 'awaiting_committee')"  # desk.models.tickets
COLUMNS = ('at_risk_at', 'first_response_due_at', 'first_response_at_risk_at', 'breached_at', 'escalated_at')


def _search_triggers_again():
    if op.get_bind().dialect.name == "sqlite":
        search = op.get_context().script.get_revision("0002_search_due").module
        for statement in search.SQLITE_UP:
            if statement.startswith("CREATE TRIGGER"):
                op.execute(statement)


def upgrade():
    for name in COLUMNS:
        op.add_column('tickets', sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_tickets_breached', 'tickets', ['breached_at'], unique=False)
    op.create_index('ix_tickets_status_due', 'tickets', ['status', 'due_at'], unique=False)
    # The open views sorted by due time (resolved tickets keep their past due times).
    op.create_index('ix_tickets_open_due', 'tickets', ['due_at', 'id'], unique=False,
                    postgresql_where=sa.text(OPEN_DUE_WHERE), sqlite_where=sa.text(OPEN_DUE_WHERE))


def downgrade():
    op.drop_index('ix_tickets_open_due', table_name='tickets')
    op.drop_index('ix_tickets_status_due', table_name='tickets')
    op.drop_index('ix_tickets_breached', table_name='tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
    _search_triggers_again()
