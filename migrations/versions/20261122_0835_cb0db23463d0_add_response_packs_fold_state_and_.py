"""Add response packs, fold state and dossier volumes for reports

Revision ID: cb0db23463d0
Revises: 01b44d092d4b
Create Date: 2026-11-22 08:35:00.694294

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cb0db23463d0'
down_revision = '01b44d092d4b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('response_fold_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_response_id', sa.BigInteger(), nullable=False),
    sa.Column('folded', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_fold_state'))
    )
    op.create_table('dossier_volumes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('service_field_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('dossiers', sa.Integer(), nullable=False),
    sa.CheckConstraint('dossiers >= 0', name=op.f('ck_dossier_volumes_dossiers_not_negative')),
    sa.ForeignKeyConstraint(['service_field_id'], ['service_fields.id'], name=op.f('fk_dossier_volumes_service_field_id_service_fields')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_dossier_volumes_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_volumes')),
    sa.UniqueConstraint('unit_id', 'service_field_id', 'month', name='uq_dossier_volumes_cell')
    )
    op.create_table('response_packs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instrument_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('records', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['instrument_version_id'], ['instrument_versions.id'], name=op.f('fk_response_packs_instrument_version_id_instrument_versions')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_response_packs_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_packs'))
    )
    with op.batch_alter_table('response_packs', schema=None) as batch_op:
        batch_op.create_index('ix_response_packs_lookup', ['instrument_version_id', 'month', 'unit_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Packs are read whole on every report: keep them uncompressed (pglz costs more than the bytes it saves).
        op.execute('ALTER TABLE response_packs ALTER COLUMN records SET STORAGE EXTERNAL')


def downgrade():
    with op.batch_alter_table('response_packs', schema=None) as batch_op:
        batch_op.drop_index('ix_response_packs_lookup')

    op.drop_table('response_packs')
    op.drop_table('dossier_volumes')
    op.drop_table('response_fold_state')
