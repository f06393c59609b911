"""Roll-up cells and day counts: per unit with a parent, the report cells (rollup = true) and day counts (counter 0)
of every unit below it, so that a report reads its children's totals instead of every unit's cells; indexes for the
cells and day counts a report reads (its units' rows, the flagged counters).

Existing cells have no roll-ups: the fold state is marked as failing its guard, so that reports read the responses
themselves until the next fold (`flask report refresh`, or the periodic fold) rebuilds packs and cells with their
roll-ups.

Revision ID: 1ccd64d31338
Revises: 1345edee95c2
Create Date: 2026-12-05 00:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '1ccd64d31338'
down_revision = '1345edee95c2'
branch_labels = None
depends_on = None

_FLAGGED = sa.text('flagged > 0')


def upgrade():
    with op.batch_alter_table('response_cells') as batch:
        batch.add_column(sa.Column('rollup', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.drop_constraint('uq_response_cells_key', type_='unique')
        batch.create_unique_constraint('uq_response_cells_key', ['instrument_version_id', 'month', 'unit_id',
                                                                 'service_field_id', 'rollup'])
    op.create_index('ix_response_cells_unit', 'response_cells', ['unit_id', 'instrument_version_id', 'month'])
    op.create_index('ix_response_day_counts_unit', 'response_day_counts',
                    ['unit_id', 'instrument_version_id', 'day', 'counter_id'])
    op.create_index('ix_response_day_counts_flagged', 'response_day_counts', ['instrument_version_id', 'day'],
                    postgresql_where=_FLAGGED, sqlite_where=_FLAGGED)
    # A folded count that no count of stored responses can equal: the next fold rebuilds everything.
    op.execute('UPDATE response_fold_state SET folded = -1')


def downgrade():
    op.drop_index('ix_response_day_counts_flagged', table_name='response_day_counts')
    op.drop_index('ix_response_day_counts_unit', table_name='response_day_counts')
    op.drop_index('ix_response_cells_unit', table_name='response_cells')
    op.execute('DELETE FROM response_day_counts WHERE counter_id = 0')
    op.execute('DELETE FROM response_cells WHERE rollup')
    with op.batch_alter_table('response_cells') as batch:
        batch.drop_constraint('uq_response_cells_key', type_='unique')
        batch.create_unique_constraint('uq_response_cells_key', ['instrument_version_id', 'month', 'unit_id',
                                                                 'service_field_id'])
        batch.drop_column('rollup')
