"""Keep each unit's letterhead and signature for its official documents (the periodic report)

Revision ID: d0c5e7a1b2f3
Revises: 5c1e7a9d2b40
Create Date: 2026-12-04 21:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd0c5e7a1b2f3'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'document_settings',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('parent_agency', sa.String(length=200), nullable=False),
        sa.Column('agency', sa.String(length=200), nullable=False),
        sa.Column('symbol', sa.String(length=40), nullable=False),
        sa.Column('place', sa.String(length=100), nullable=False),
        sa.Column('signer_title', sa.String(length=200), nullable=False),
        sa.Column('signer_name', sa.String(length=120), nullable=False),
        sa.Column('recipients', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_document_settings_unit_id_units'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('unit_id', name=op.f('pk_document_settings')),
    )


def downgrade():
    op.drop_table('document_settings')
