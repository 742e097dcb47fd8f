"""routing, categories, focal positions, notifications, outbox

Issue 4: categories per kind, ordered routing rules, a primary/deputy/member position for
focal points, the rule and category on a ticket and its action taken (الإجراء المتخذ), the
notification kinds a user turned off, and the outbox the worker delivers.

Revision ID: 0003_routing_outbox
Revises: 0002_search_due
Create Date: 2026-11-23 16:55:28.876483

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003_routing_outbox'
down_revision = '0002_search_due'
branch_labels = None
depends_on = None


def _search_triggers_again():
    if op.get_bind().dialect.name == "sqlite":
        search = op.get_context().script.get_revision("0002_search_due").module
        for statement in search.SQLITE_UP:
            if statement.startswith("CREATE TRIGGER"):
                op.execute(statement)


def _sqlite_analysed(table):
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return False
    if not bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        return False
    return bool(bind.exec_driver_sql("SELECT 1 FROM sqlite_stat1 WHERE tbl = ?", (table,)).first())


def upgrade():
    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name_ar', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('default_department_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['default_department_id'], ['departments.id'], name=op.f('fk_categories_default_department_id_departments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories'))
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_kind'), ['kind'], unique=False)

    op.create_table('routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('category_ids', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_routing_rules_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_routing_rules_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules'))
    )
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_routing_rules_position'), ['position'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outbox_ticket_id_tickets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_outbox_to_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_to_user_id'), ['to_user_id'], unique=False)

    # A focal point's place in the department: primary / deputy / member (was is_primary).
    with op.batch_alter_table('department_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.String(length=10), nullable=False, server_default='primary'))
    op.execute("UPDATE department_members SET position = 'member' WHERE NOT is_primary")
    with op.batch_alter_table('department_members', schema=None) as batch_op:
        batch_op.drop_column('is_primary')

    # On SQLite the new foreign keys need a batch "move and copy" of tickets, which drops the
    # search triggers with the old table: they are made again from migration 0002's own text.
    # It drops the table's planner statistics too: a database that had them gets them again.
    analysed = _sqlite_analysed('tickets')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('routing_rule_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('action_taken', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_tickets_category_id_categories'), 'categories', ['category_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_tickets_routing_rule_id_routing_rules'), 'routing_rules', ['routing_rule_id'], ['id'], ondelete='SET NULL')
    _search_triggers_again()
    if analysed:
        op.execute("ANALYZE tickets")

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notifications_off', sa.JSON(), nullable=False, server_default='[]'))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('notifications_off')

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tickets_routing_rule_id_routing_rules'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_tickets_category_id_categories'), type_='foreignkey')
        batch_op.drop_column('action_taken')
        batch_op.drop_column('routing_rule_id')
        batch_op.drop_column('category_id')
    _search_triggers_again()

    with op.batch_alter_table('department_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_primary', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute("UPDATE department_members SET is_primary = (position <> 'member')")
    with op.batch_alter_table('department_members', schema=None) as batch_op:
        batch_op.drop_column('position')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_to_user_id'))
        batch_op.drop_index(batch_op.f('ix_outbox_ticket_id'))
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('routing_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_rules_position'))

    op.drop_table('routing_rules')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_kind'))

    op.drop_table('categories')
