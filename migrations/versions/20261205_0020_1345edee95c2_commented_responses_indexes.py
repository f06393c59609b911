"""Partial indexes over the responses with free text (comments): the dashboard's newest comments of a period and
their count without reading every response of the period.

Revision ID: 1345edee95c2
Revises: f0a1b2c3d4e5
Create Date: 2026-12-05 00:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '1345edee95c2'
down_revision = 'f0a1b2c3d4e5'
branch_labels = None
depends_on = None

_COMMENTED = sa.text("CAST(texts AS TEXT) != '{}'")


def upgrade():
    op.create_index('ix_survey_responses_commented_time', 'survey_responses', ['submitted_at', 'id'],
                    postgresql_where=_COMMENTED, sqlite_where=_COMMENTED)
    op.create_index('ix_survey_responses_commented_day', 'survey_responses', ['local_day', 'unit_id'],
                    postgresql_where=_COMMENTED, sqlite_where=_COMMENTED)


def downgrade():
    op.drop_index('ix_survey_responses_commented_day', table_name='survey_responses')
    op.drop_index('ix_survey_responses_commented_time', table_name='survey_responses')
