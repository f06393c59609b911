"""Let a contest participant give an e-mail address, where a password-reset link may be sent

Revision ID: a7c3e5f91b20
Revises: 5c1e7a9d2b40
Create Date: 2026-12-04 21:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7c3e5f91b20'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contest_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('contest_participants', schema=None) as batch_op:
        batch_op.drop_column('email')
