"""Freeze the headcounts a contest's unit prizes use when its results are published

Revision ID: a8e2c5f7b913
Revises: 7d3a91c4e5f2
Create Date: 2026-12-04 21:25:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a8e2c5f7b913'
down_revision = '7d3a91c4e5f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_headcounts', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('contests', schema=None) as batch_op:
        batch_op.drop_column('unit_headcounts')
