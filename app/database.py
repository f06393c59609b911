"""Declarative base, naming convention and column types shared by every model, and the SQL that differs between the
two backends (SQLite, PostgreSQL): dialect inserts, raw cursors, per-dialect functions."""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert

#: Named constraints let Alembic create and drop them predictably (Indico's convention).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps naive UTC text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


#: Integer primary keys that grow past 2**31 on PostgreSQL yet stay ROWID aliases on SQLite.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware UTC."""
    return dt.datetime.now(dt.timezone.utc)


def render_migration_type(type_: str, obj: object, autogen_context) -> str | bool:
    """Write UTCDateTime into migrations as a plain timestamp, so migrations never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


# --- what differs between the backends (SQLite, PostgreSQL) -----------------------------------------------------------


def is_postgresql(bind: Session | Connection) -> bool:
    """Tell whether a session's or connection's database is PostgreSQL (the other backend is SQLite)."""
    dialect = bind.dialect if isinstance(bind, Connection) else bind.get_bind().dialect
    return dialect.name == "postgresql"


#: INSERT constructors by backend name: theirs offer ON CONFLICT DO NOTHING / UPDATE, the generic one does not.
DIALECT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(bind: Session | Connection, table: sa.Table | type) -> Insert:
    """Return an INSERT into ``table`` in the dialect of the backend of ``bind`` (with ON CONFLICT clauses)."""
    return DIALECT_INSERTS["postgresql" if is_postgresql(bind) else "sqlite"](table)


@contextlib.contextmanager
def raw_cursor(connection: Connection, statement: sa.Executable) -> Iterator:
    """Run a Core statement in the connection's transaction and yield the DBAPI cursor, for plain tuples.

    Skipping SQLAlchemy's Row objects saves about a third of the time for a million rows. On PostgreSQL the cursor
    is binary (psycopg): bytea arrives as bytes without hex decoding, which halves reading packed columns.
    """
    if is_postgresql(connection):
        compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        with connection.connection.driver_connection.cursor(binary=True) as cursor:
            cursor.execute(compiled.string, compiled.params)
            yield cursor
        return
    result = connection.execute(statement)
    try:
        yield result.cursor
    finally:
        result.close()


class _PerDialect(sa.sql.functions.FunctionElement):
    """A SQL function each backend writes its own way: a subclass gives its type and, for "sqlite" and
    "postgresql", a static method that writes the SQL from its compiled arguments."""

    inherit_cache = True

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.inherit_cache = True
        for dialect in ("sqlite", "postgresql"):
            compiles(cls, dialect)(functools.partial(_write_sql, getattr(cls, dialect)))


def _write_sql(write: Callable[..., str], element: _PerDialect, compiler: SQLCompiler, **kw: object) -> str:
    return write(*(compiler.process(argument, **kw) for argument in element.clauses))


class epoch_ms(_PerDialect):
    """Milliseconds since 1970 of a timestamp column, computed by the database (no per-row datetime objects)."""

    type = sa.BigInteger()

    @staticmethod
    def sqlite(column: str) -> str:
        return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"

    @staticmethod
    def postgresql(column: str) -> str:
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT)"


# Aggregates that return a whole column of the selected rows as one value, every row in the same (scan) order:
# a report reads 200,000 rows as a dozen values instead of millions of per-row driver objects.


class packed_integers(_PerDialect):
    """Integer columns of every row as 64-bit big-endian values, row after row (NULL counts as 0).

    PostgreSQL sends them as bytea; SQLite, which has no binary encoding of integers, as hex text.
    """

    type = sa.LargeBinary()

    @staticmethod
    def sqlite(*columns: str) -> str:
        return f"group_concat(printf('{'%016x' * len(columns)}', {', '.join(columns)}), '')"

    @staticmethod
    def postgresql(*columns: str) -> str:
        return f"string_agg({' || '.join(f'int8send(CAST({column} AS BIGINT))' for column in columns)}, ''::bytea)"


class packed_floats(_PerDialect):
    """A float column of every row, exactly, NULL as nan: float8 bytea (PostgreSQL) or 17-digit text (SQLite)."""

    type = sa.LargeBinary()

    @staticmethod
    def sqlite(column: str) -> str:
        # Whole numbers (most predictions) go out as integers: exact, and half the cost of printf's 17 digits.
        return (f"group_concat(CASE WHEN {column} IS NULL THEN 'nan' WHEN {column} = CAST({column} AS INTEGER) "
                f"THEN CAST({column} AS INTEGER) ELSE printf('%!.17g', {column}) END, ',')")

    @staticmethod
    def postgresql(column: str) -> str:
        return f"string_agg(COALESCE(float8send({column}), '\\x7ff8000000000000'::bytea), ''::bytea)"


class joined_text(_PerDialect):
    """A text column of every row, joined by the unit separator (U+001F)."""

    type = sa.Text()

    @staticmethod
    def sqlite(column: str) -> str:
        return f"group_concat({column}, char(31))"

    @staticmethod
    def postgresql(column: str) -> str:
        return f"string_agg({column}, chr(31))"


class joined_bytes(_PerDialect):
    """A binary column of every row, concatenated."""

    type = sa.LargeBinary()

    @staticmethod
    def sqlite(column: str) -> str:
        return f"CAST(group_concat({column}, '') AS BLOB)"

    @staticmethod
    def postgresql(column: str) -> str:
        return f"string_agg({column}, ''::bytea)"


T = TypeVar("T")

#: Values per IN list. PostgreSQL's protocol carries at most 65,535 bind parameters per statement (psycopg refuses
#: more, and the statement's text alone would be megabytes), SQLite 32,766: a longer list is sent in parts.
IN_LIST_LIMIT = 5000


def in_batches(values: Iterable[T], size: int = IN_LIST_LIMIT) -> Iterator[list[T]]:
    """Yield the distinct values in sorted lists of at most ``size``, one IN list each."""
    ordered = sorted(set(values))
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


#: Search structures made by migrations, not models (they have no model form): the SQLite FTS5 table and its
#: shadow tables, the PostgreSQL expression index. Comparisons of the schema with the models leave them out.
UNMODELLED = ("comment_search", "ix_survey_responses_comment_search")


def unmodelled(name: str | None) -> bool:
    """Whether a table or index name belongs to the search structures of ``UNMODELLED``."""
    return bool(name) and any(name == known or name.startswith(known + "_") for known in UNMODELLED)


def text_search(bind: Session | Connection, texts: sa.ColumnElement, ids: sa.ColumnElement,
                words: list[str]) -> sa.ColumnElement[bool]:
    """Select the rows of ``survey_responses`` whose JSON ``texts`` hold every word as the start of a word,
    diacritics and case ignored (``words``: letters and digits only, already split).

    PostgreSQL: the GIN index ``ix_survey_responses_comment_search`` over ``jsonb_to_tsvector('hailong_vi', texts,
    '["string"]')`` (configuration simple + unaccent: "cho lau" finds "chờ lâu"; only the answers, never the keys),
    queried with prefix terms. SQLite: the FTS5 table ``comment_search`` (unicode61, remove_diacritics 2; rowid =
    response id) kept by triggers on survey_responses, queried with quoted prefix terms.
    """
    if is_postgresql(bind):
        config = sa.literal_column("'hailong_vi'::regconfig")
        document = sa.func.jsonb_to_tsvector(config, sa.cast(texts, postgresql.JSONB),
                                             sa.literal_column("'[\"string\"]'"))
        query = " & ".join(f"{word}:*" for word in words)
        return sa.and_(sa.cast(texts, sa.Text).op("<>")(sa.literal_column("'{}'")),
                       document.op("@@")(sa.func.to_tsquery(config, query)))
    match = " ".join('"' + word.replace('"', "") + '"*' for word in words)
    found = sa.select(sa.literal_column("rowid")).select_from(sa.table("comment_search")).where(
        sa.literal_column("comment_search").op("MATCH")(match))
    return ids.in_(found)
