"""kb: the knowledge base (articles, their published versions, categories, documents) and the
association's social accounts

Issue 20, point 4 (R46, R67, R48, R12): user guides, FAQ and the beneficiaries' rights on the
portal, the staff's library of tools. New tables only; the association gets four nullable
columns (op.add_column, no table rebuilt).

Revision ID: 0024_kb
Revises: 0024_stake
Create Date: 2026-12-05 11:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_kb'
down_revision = '0024_stake'
branch_labels = None
depends_on = None

SOCIAL = ('x_account', 'instagram', 'snapchat', 'youtube')


def upgrade():
    op.create_table(
        'kb_categories',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name_ar', sa.String(length=120), nullable=False),
        sa.Column('name_en', sa.String(length=120), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('seed_key', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('seed_key', name=op.f('uq_kb_categories_seed_key')),
    )
    op.create_table(
        'kb_articles',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('category_id', sa.Integer(), sa.ForeignKey('kb_categories.id', ondelete='SET NULL'), nullable=True),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('title_ar', sa.String(length=200), nullable=False),
        sa.Column('title_en', sa.String(length=200), nullable=False),
        sa.Column('body_ar', sa.Text(), nullable=False),
        sa.Column('body_en', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('published_number', sa.Integer(), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('draft_changed', sa.Boolean(), nullable=False),
        sa.Column('seed_key', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.UniqueConstraint('seed_key', name=op.f('uq_kb_articles_seed_key')),
    )
    op.create_index('ix_kb_articles_audience', 'kb_articles', ['audience', 'published_number'])
    op.create_table(
        'kb_versions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('article_id', sa.Integer(), sa.ForeignKey('kb_articles.id', ondelete='CASCADE'), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('audience', sa.String(length=10), nullable=False),
        sa.Column('title_ar', sa.String(length=200), nullable=False),
        sa.Column('title_en', sa.String(length=200), nullable=False),
        sa.Column('body_ar', sa.Text(), nullable=False),
        sa.Column('body_en', sa.Text(), nullable=False),
        sa.Column('search_text', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.UniqueConstraint('article_id', 'number', name='uq_kb_versions_number'),
    )
    op.create_table(
        'kb_documents',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('article_id', sa.Integer(), sa.ForeignKey('kb_articles.id', ondelete='CASCADE'), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('uploaded_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('stored_name', name=op.f('uq_kb_documents_stored_name')),
    )
    op.create_index('ix_kb_documents_article', 'kb_documents', ['article_id', 'id'])
    for column in SOCIAL:
        op.add_column('association', sa.Column(column, sa.String(length=254), nullable=True))


def downgrade():
    for column in reversed(SOCIAL):
        with op.batch_alter_table('association') as batch:
            batch.drop_column(column)
    op.drop_index('ix_kb_documents_article', table_name='kb_documents')
    op.drop_table('kb_documents')
    op.drop_table('kb_versions')
    op.drop_index('ix_kb_articles_audience', table_name='kb_articles')
    op.drop_table('kb_articles')
    op.drop_table('kb_categories')
