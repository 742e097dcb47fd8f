"""casefile: the applicant's attestation and the documents per kind of request, registration

Issue 20, points 3 and 5 (R17, R21). kind_requirements: the admin's rule per kind of request
(attestation none, tick or signed scan; the documents registration needs). attachments gains
document_type (what the document is: the signed attestation, a national ID copy…).
beneficiaries gain their registration state and file number (unique), and beneficiary_events
keeps each registration step (who, when). Only new tables and added columns: tickets untouched.

Revision ID: 0024_casefile
Revises: 0024_many
Create Date: 2026-12-05 11:45:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_casefile'
down_revision = '0024_many'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kind_requirements',
        sa.Column('kind', sa.String(length=20), primary_key=True),
        sa.Column('attestation', sa.String(length=10), nullable=False),
        sa.Column('documents', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(),
                  sa.ForeignKey('users.id', ondelete='SET NULL', name='fk_kind_requirements_updated_by_id_users'),
                  nullable=True),
    )
    op.create_table(
        'beneficiary_events',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('beneficiary_id', sa.Integer(),
                  sa.ForeignKey('beneficiaries.id', ondelete='CASCADE',
                                name='fk_beneficiary_events_beneficiary_id_beneficiaries'), nullable=False),
        sa.Column('actor_id', sa.Integer(),
                  sa.ForeignKey('users.id', ondelete='SET NULL', name='fk_beneficiary_events_actor_id_users'),
                  nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('old_value', sa.String(length=40), nullable=True),
        sa.Column('new_value', sa.String(length=40), nullable=True),
        sa.Column('file_number', sa.String(length=30), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
    )
    op.create_index('ix_beneficiary_events_beneficiary', 'beneficiary_events', ['beneficiary_id', 'id'])
    op.add_column('attachments', sa.Column('document_type', sa.String(length=30), nullable=True))
    op.add_column('beneficiaries', sa.Column('registration_state', sa.String(length=20), nullable=False,
                                             server_default=sa.text("'new'")))
    op.add_column('beneficiaries', sa.Column('file_number', sa.String(length=30), nullable=True))
    op.create_index('ix_beneficiaries_file_number', 'beneficiaries', ['file_number'], unique=True)


def downgrade():
    op.drop_index('ix_beneficiaries_file_number', table_name='beneficiaries')
    with op.batch_alter_table('beneficiaries') as batch_op:
        batch_op.drop_column('file_number')
        batch_op.drop_column('registration_state')
    with op.batch_alter_table('attachments') as batch_op:
        batch_op.drop_column('document_type')
    op.drop_index('ix_beneficiary_events_beneficiary', table_name='beneficiary_events')
    op.drop_table('beneficiary_events')
    op.drop_table('kind_requirements')
