"""Dossier codes are unique per issuing unit, not across every unit

Revision ID: 7d3a91c4e5f2
Revises: 5c1e7a9d2b40
Create Date: 2026-12-04 21:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '7d3a91c4e5f2'
down_revision = '5c1e7a9d2b40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_survey_responses_dossier_code'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_survey_responses_unit_dossier_code'),
                                          ['unit_id', 'dossier_code'])


def downgrade():
    # Going back fails if two units rated the same dossier code meanwhile: that is data the old rule cannot hold.
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_survey_responses_unit_dossier_code'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_survey_responses_dossier_code'), ['dossier_code'])
