"""replies: saved replies (الردود الجاهزة), desk-wide or per department, with their use count

Issue 18, point 1. A new table only: ``tickets`` is not touched (its SQLite full-text
triggers stay).

Revision ID: 0022_replies
Revises: 0022_views
Create Date: 2026-12-05 07:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0022_replies'
down_revision = '0022_views'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'saved_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('body_ar', sa.Text(), nullable=False),
        sa.Column('body_en', sa.Text(), nullable=False),
        sa.Column('department_id', sa.Integer(), nullable=True),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('use_count', sa.Integer(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_saved_replies_department_id_departments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_saved_replies_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_replies')),
    )
    op.create_index('ix_saved_replies_department', 'saved_replies', ['department_id', 'title'], unique=False)


def downgrade():
    op.drop_index('ix_saved_replies_department', table_name='saved_replies')
    op.drop_table('saved_replies')
