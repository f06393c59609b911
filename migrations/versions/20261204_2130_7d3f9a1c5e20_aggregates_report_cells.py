"""Report cells (sufficient statistics per version × unit × month × service field) and review-flag day counts

The fold fills them; existing packs are dropped and the fold state reset, so the next ``flask report refresh`` folds
every response into packs and cells together (until then reports read the raw responses).

Revision ID: 7d3f9a1c5e20
Revises: e1f2a3b4c5d6
Create Date: 2026-12-04 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d3f9a1c5e20'
down_revision = 'e1f2a3b4c5d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_cells',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instrument_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('service_field_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('moments', sa.LargeBinary(), nullable=False),
    sa.Column('means', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_version_id'], ['instrument_versions.id'], name=op.f('fk_response_cells_instrument_version_id_instrument_versions')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_response_cells_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_cells')),
    sa.UniqueConstraint('instrument_version_id', 'month', 'unit_id', 'service_field_id', name='uq_response_cells_key')
    )
    op.create_table('response_day_counts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instrument_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('fast', sa.Integer(), nullable=False),
    sa.Column('burst', sa.Integer(), nullable=False),
    sa.Column('duplicate', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_version_id'], ['instrument_versions.id'], name=op.f('fk_response_day_counts_instrument_version_id_instrument_versions')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_response_day_counts_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_day_counts')),
    sa.UniqueConstraint('instrument_version_id', 'day', 'unit_id', 'counter_id', name='uq_response_day_counts_key')
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Cells are read whole on every report: keep them uncompressed (pglz costs more than the bytes it saves).
        op.execute('ALTER TABLE response_cells ALTER COLUMN moments SET STORAGE EXTERNAL')
    # Packs and cells hold the same folded responses: fold everything again into both.
    op.execute('DELETE FROM response_packs')
    op.execute('DELETE FROM response_fold_state')


def downgrade():
    op.drop_table('response_day_counts')
    op.drop_table('response_cells')
