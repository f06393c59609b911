"""Comment search: PostgreSQL full-text index (unaccent + simple, configuration hailong_vi) over the answers' texts;
SQLite FTS5 table comment_search (unicode61, remove_diacritics 2) kept by triggers

Revision ID: 9b2e6c4d1f37
Revises: 7d3f9a1c5e20
Create Date: 2026-12-04 21:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9b2e6c4d1f37'
down_revision = '7d3f9a1c5e20'
branch_labels = None
depends_on = None

# The texts of a response (the values of its JSON object, never the item codes) as one document.
_SQLITE_BODY = "(SELECT group_concat(value, ' ') FROM json_each({row}.texts) WHERE type = 'text')"


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS unaccent')
        op.execute('DROP TEXT SEARCH CONFIGURATION IF EXISTS hailong_vi')
        op.execute('CREATE TEXT SEARCH CONFIGURATION hailong_vi (COPY = simple)')
        op.execute('ALTER TEXT SEARCH CONFIGURATION hailong_vi ALTER MAPPING FOR hword, hword_part, word '
                   'WITH unaccent, simple')
        op.execute("CREATE INDEX ix_survey_responses_comment_search ON survey_responses USING gin "
                   "(jsonb_to_tsvector('hailong_vi'::regconfig, texts::jsonb, '[\"string\"]')) "
                   "WHERE texts::text <> '{}'")
        return
    op.execute("CREATE VIRTUAL TABLE comment_search USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')")
    op.execute("INSERT INTO comment_search (rowid, body) SELECT id, " + _SQLITE_BODY.format(row='survey_responses')
               + " FROM survey_responses WHERE texts <> '{}'")
    op.execute("CREATE TRIGGER comment_search_insert AFTER INSERT ON survey_responses WHEN new.texts <> '{}' BEGIN "
               "INSERT INTO comment_search (rowid, body) VALUES (new.id, " + _SQLITE_BODY.format(row='new') + "); END")
    op.execute("CREATE TRIGGER comment_search_delete AFTER DELETE ON survey_responses BEGIN "
               "DELETE FROM comment_search WHERE rowid = old.id; END")
    op.execute("CREATE TRIGGER comment_search_update AFTER UPDATE OF texts ON survey_responses BEGIN "
               "DELETE FROM comment_search WHERE rowid = old.id; "
               "INSERT INTO comment_search (rowid, body) SELECT new.id, " + _SQLITE_BODY.format(row='new')
               + " WHERE new.texts <> '{}'; END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_survey_responses_comment_search')
        op.execute('DROP TEXT SEARCH CONFIGURATION IF EXISTS hailong_vi')
        return
    for trigger in ('comment_search_insert', 'comment_search_delete', 'comment_search_update'):
        op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
    op.execute('DROP TABLE IF EXISTS comment_search')
