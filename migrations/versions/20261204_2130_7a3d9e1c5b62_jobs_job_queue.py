"""Jobs of the task queue: what was asked, by whom, for which unit, progress, claim and result file

Revision ID: 7a3d9e1c5b62
Revises: 5c1e7a9d2b40
Create Date: 2026-12-04 21:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7a3d9e1c5b62'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('progress_done', sa.BigInteger(), nullable=False),
        sa.Column('progress_total', sa.BigInteger(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('result_path', sa.String(length=500), nullable=True),
        sa.Column('result_name', sa.String(length=200), nullable=False),
        sa.Column('result_bytes', sa.BigInteger(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['owner_id'], ['organisers.id'], name=op.f('fk_jobs_owner_id_organisers'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_jobs_unit_id_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_jobs_state'), ['state'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_state'))
        batch_op.drop_index(batch_op.f('ix_jobs_owner_id'))
    op.drop_table('jobs')
