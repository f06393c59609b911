"""Give counters a short code to type from the poster, and keep the token they had before the last rotation

Revision ID: 5c1e7a9d2b40
Revises: cb0db23463d0
Create Date: 2026-11-23 09:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '5c1e7a9d2b40'
down_revision = 'cb0db23463d0'
branch_labels = None
depends_on = None

#: The alphabet of app.units.tokens.SHORT_ALPHABET, copied: a migration must not change when the app does.
_SHORT_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"


def upgrade():
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('previous_token_nonce', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('previous_short_code', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    counters = sa.table('counters', sa.column('id', sa.Integer), sa.column('short_code', sa.String))
    used = set()
    for (counter_id,) in connection.execute(sa.select(counters.c.id)).all():
        code = None
        while code is None or code in used:
            code = "".join(secrets.choice(_SHORT_ALPHABET) for _ in range(7))
        used.add(code)
        connection.execute(counters.update().where(counters.c.id == counter_id).values(short_code=code))
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.alter_column('short_code', existing_type=sa.String(length=12), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_counters_short_code'), ['short_code'])
        batch_op.create_unique_constraint(batch_op.f('uq_counters_previous_token_nonce'), ['previous_token_nonce'])
        batch_op.create_unique_constraint(batch_op.f('uq_counters_previous_short_code'), ['previous_short_code'])


def downgrade():
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_counters_previous_short_code'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_counters_previous_token_nonce'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_counters_short_code'), type_='unique')
        batch_op.drop_column('rotated_at')
        batch_op.drop_column('previous_short_code')
        batch_op.drop_column('previous_token_nonce')
        batch_op.drop_column('short_code')
