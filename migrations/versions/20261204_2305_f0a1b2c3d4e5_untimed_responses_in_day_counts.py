"""Count responses without a plausible start time ("untimed", a review flag) in the day counts of the report cells.

Revision ID: f0a1b2c3d4e5
Revises: 9b2e6c4d1f37
Create Date: 2026-12-04 23:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'f0a1b2c3d4e5'
down_revision = '9b2e6c4d1f37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response_day_counts') as batch:
        batch.add_column(sa.Column('untimed', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('response_day_counts') as batch:
        batch.drop_column('untimed')
