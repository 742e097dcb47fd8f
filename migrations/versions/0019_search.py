"""search: words in any order, stems, word groups, exact numbers (issue 17)

- `search_words`: groups of interchangeable words (broken plurals of the desk's vocabulary,
  synonyms, names written two ways), seeded here and edited at /admin/search-words.
- PostgreSQL: a pg_trgm GIN index on beneficiaries.search_name (the intake's name search).
- Every ticket's `search_text` is written again in the new layout (normalised text and its
  stems, the subject half first: desk.search.indexed_text) and every `search_name` with the
  completed normaliser (hamza carriers, the defective noun, compound names). No table is
  rebuilt: on SQLite that would drop the FTS triggers of migration 0002, which keep
  `tickets_fts` in step with these updates.

Downgrade drops the table and the index; the texts stay in the new layout, which the old
substring search still finds (it holds the old text's words), until the next reindex.

Revision ID: 0019_search
Revises: 0019_minimum
Create Date: 2026-12-04 14:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0019_search'
down_revision = '0019_minimum'
branch_labels = None
depends_on = None

# Broken plurals of the words tickets use, a few synonyms, and names people write two ways.
GROUPS = [
    "شكوى، شكاوى", "سلة، سلال", "حقيبة، حقائب", "فاتورة، فواتير", "كرسي، كراسي", "دواء، أدوية",
    "مدرسة، مدارس", "موعد، مواعيد", "طالب، طلاب", "طفل، أطفال", "جهاز، أجهزة", "مريض، مرضى",
    "يتيم، أيتام", "أسرة، أسر", "منزل، منازل", "بيت، بيوت", "مبلغ، مبالغ", "وثيقة، وثائق",
    "قسيمة، قسائم", "مسكن، مساكن", "فرد، أفراد", "ولد، أولاد", "ابن، أبناء", "بنت، بنات",
    "رجل، رجال", "امرأة، نساء", "أرملة، أرامل", "كتاب، كتب", "دفتر، دفاتر", "مكتب، مكاتب",
    "فرع، فروع", "شخص، أشخاص", "حي، أحياء", "مدينة، مدن", "قرية، قرى", "سرير، أسرة",
    "عقد، عقود", "قرض، قروض", "دين، ديون", "حق، حقوق", "مشكلة، مشاكل، مشكلات", "سؤال، أسئلة",
    "رد، ردود", "غذاء، أغذية", "ملبس، ملابس", "حذاء، أحذية", "لعبة، ألعاب", "شهر، أشهر، شهور",
    "يوم، أيام", "أسبوع، أسابيع", "جوال، هاتف، موبايل",
    "عائشة، عايشة", "فائز، فايز", "عائض، عايض", "هيفاء، هيفا", "أسماء، اسما",
    "mohammed, muhammad, mohamed, mohammad", "abdullah, abdallah, abdulla",
]

POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_beneficiaries_search_name_trgm ON beneficiaries USING gin (search_name gin_trgm_ops)",
]


def upgrade():
    table = op.create_table(
        'search_words',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('typed', sa.String(length=400), nullable=False),
        sa.Column('words', sa.String(length=400), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_search_words_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_words')),
    )
    # The desk's own code, imported here so the rows and texts are written exactly as the
    # running desk writes them; only public, stable functions (desk.search, desk.tickets.search).
    from datetime import UTC, datetime

    from desk.search import parse_group
    from desk.tickets.search import reindex
    now = datetime.now(UTC)
    op.bulk_insert(table, [{"typed": g, "words": " ".join(parse_group(g)), "created_at": now} for g in GROUPS])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in POSTGRES_UP:
            op.execute(statement)
    reindex(op.get_bind)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_beneficiaries_search_name_trgm")
    op.drop_table('search_words')
