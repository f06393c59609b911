"""Record corrections of contest questions after attempts exist (a new key, or voided) and their re-grading

Revision ID: b3d9f2a6c814
Revises: a7c3e5f91b20
Create Date: 2026-12-04 21:55:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3d9f2a6c814'
down_revision = 'a7c3e5f91b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'contest_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('contest_id', sa.Integer(), nullable=False),
        sa.Column('question_id', sa.Integer(), nullable=False),
        sa.Column('question_code', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('old_correct', sa.JSON(), nullable=False),
        sa.Column('new_correct', sa.JSON(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('changed', sa.Integer(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('organiser_id', sa.Integer(), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contest_id'], ['contests.id'], name=op.f('fk_contest_corrections_contest_id_contests')),
        sa.ForeignKeyConstraint(['organiser_id'], ['organisers.id'],
                                name=op.f('fk_contest_corrections_organiser_id_organisers')),
        sa.ForeignKeyConstraint(['question_id'], ['questions.id'],
                                name=op.f('fk_contest_corrections_question_id_questions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_contest_corrections')),
    )
    with op.batch_alter_table('contest_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contest_corrections_contest_id'), ['contest_id'], unique=False)


def downgrade():
    with op.batch_alter_table('contest_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contest_corrections_contest_id'))
    op.drop_table('contest_corrections')
