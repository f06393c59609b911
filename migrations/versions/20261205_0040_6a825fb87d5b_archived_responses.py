"""Remember up to which month raw responses were archived by retention (their aggregates survive a rebuild).

Revision ID: 6a825fb87d5b
Revises: 1ccd64d31338
Create Date: 2026-12-05 00:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '6a825fb87d5b'
down_revision = '1ccd64d31338'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response_fold_state') as batch:
        batch.add_column(sa.Column('archived_before', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('response_fold_state') as batch:
        batch.drop_column('archived_before')
