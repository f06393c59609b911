"""Join the December features' migrations into one head (each began from the counter short codes); the report
cells and the comment search come after it, so that their SQLite triggers are made after every rebuild of
survey_responses.

Revision ID: e1f2a3b4c5d6
Revises: 7a3d9e1c5b62, 7d3f2a91c5e8, 7f3a9c1e5b20, a8e2c5f7b913, b3d9f2a6c814, d0c5e7a1b2f3
Create Date: 2026-12-04 23:00:00
"""

revision = 'e1f2a3b4c5d6'
down_revision = ('7a3d9e1c5b62', '7d3f2a91c5e8', '7f3a9c1e5b20', 'a8e2c5f7b913', 'b3d9f2a6c814', 'd0c5e7a1b2f3')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
