"""Publishing instruments, finding a counter from its token, and storing responses idempotently."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app import cache
from app.database import DIALECT_INSERTS, UTCDateTime
from app.engine import single_statement_connection
from app.errors import AppError, ConflictError, GoneError, NotFoundError
from app.extensions import db
from app.surveys.forms import FieldChoice, ResponseForm, ValidAnswers
from app.surveys.instruments import Instrument, instrument_from_definition
from app.surveys.models import InstrumentVersion, SurveyResponse
from app.units.models import Counter, ServiceField, Unit, counter_service_fields
from app.units.tokens import counter_token, nonce_from_token

@dataclass(frozen=True)
class CounterRef:
    """What a citizen's page needs to know about a counter, loaded in one query."""

    id: int
    code: str
    name: str
    unit_id: int
    unit_name: str
    instrument_code: str
    updated_at: dt.datetime
    #: When the token was last rotated (None: never).
    rotated_at: dt.datetime | None
    nonce: str
    #: False when the token names the counter's token before its last rotation (see accepts_submissions).
    current: bool = True

    def accepts_submissions(self, now: dt.datetime, grace: dt.timedelta) -> bool:
        """Tell whether a form sent to this token may be stored: always with the current token; with the token
        before the last rotation, for ``grace`` after the rotation (a form fetched just before it keeps its answers).
        """
        return self.current or (self.rotated_at is not None and now - self.rotated_at <= grace)


#: The instrument every one-time dossier link serves.
DOSSIER_INSTRUMENT = "dossier-rating"

NOT_FOUND_MESSAGE = _l("Mã QR hoặc đường dẫn không hợp lệ. Vui lòng quét lại mã tại quầy hoặc hỏi cán bộ hướng dẫn.")
REPLACED_MESSAGE = _l("Mã QR này đã được quầy thay bằng mã mới. Vui lòng quét mã QR đang dán tại quầy.")


class ReplacedTokenError(GoneError):
    """The token was rotated away (and, for a submission, its grace period is over)."""


#: The counter a token names (its current token, or the one before its last rotation) and what its pages show, built
#: once so each request only binds the nonce.
_COUNTER_BY_NONCE = (
    sa.select(Counter.id, Counter.code, Counter.name, Counter.unit_id, Unit.name, Counter.instrument_code,
              Counter.updated_at, Counter.rotated_at, Counter.is_active, Unit.is_active, Counter.token_nonce)
    .join(Unit, Unit.id == Counter.unit_id)
    .where(sa.or_(Counter.token_nonce == sa.bindparam("nonce"), Counter.previous_token_nonce == sa.bindparam("nonce")))
)


def _counter_row(nonce: str) -> sa.Row | None:
    """Read a counter by nonce without ORM machinery (in the session's transaction when one is open, so it sees
    that transaction's changes)."""
    with single_statement_connection() as connection:
        return connection.execute(_COUNTER_BY_NONCE, {"nonce": nonce}).first()


def _live_counter(nonce: str, row: tuple | sa.Row | None) -> CounterRef:
    """The counter of a looked-up row; 404 when there is none, 410 when it (or its unit) was switched off."""
    if row is None:
        raise NotFoundError(NOT_FOUND_MESSAGE)
    if not (row[8] and row[9]):
        raise GoneError(_l("Quầy này đã ngừng nhận đánh giá qua mã QR. Xin cảm ơn Ông/Bà."))
    return CounterRef(*row[:8], nonce=nonce, current=row[10] == nonce)


def get_counter_for_token(token: str, secret: str) -> CounterRef:
    """Return the active counter a token names; 404 for tampered or unknown tokens, 410 for retired ones.

    The token before the counter's last rotation still names it, with ``current`` False: the form is no longer
    served there, but a form fetched before the rotation is accepted for a grace period.

    A counter looked up in the last few seconds comes from ``app.cache.counters``, unless the session has a
    transaction open (it may have changed the counter). A submission checks again, atomically, as it stores.
    """
    nonce = nonce_from_token(token, secret)
    if nonce is None:
        raise NotFoundError(NOT_FOUND_MESSAGE)
    cacheable = not db.session().in_transaction()
    row = cache.counters.get(nonce) if cacheable else None
    if row is None:
        row = _counter_row(nonce)
        if cacheable and row is not None:
            cache.counters.put(nonce, tuple(row))
    return _live_counter(nonce, row)


def _changes_counters(session: sa.orm.Session) -> bool:
    return any(isinstance(item, (Counter, Unit)) for group in (session.new, session.dirty, session.deleted)
               for item in group)


@sa.event.listens_for(sa.orm.Session, "after_flush")
def _note_counter_changes(session: sa.orm.Session, flush_context) -> None:
    """Remember that this transaction changed counters or units (rotation, deactivation, a unit switched off)."""
    if _changes_counters(session):
        session.info["counters_changed"] = True


@sa.event.listens_for(sa.orm.Session, "do_orm_execute")
def _note_bulk_counter_changes(state: sa.orm.ORMExecuteState) -> None:
    """Remember ORM-enabled UPDATE/DELETE statements on counters or units (e.g. a subtree switched off)."""
    if (state.is_update or state.is_delete) and any(mapper.class_ in (Counter, Unit) for mapper in state.all_mappers):
        state.session.info["counters_changed"] = True


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _forget_changed_counters(session: sa.orm.Session) -> None:
    """Empty the counter cache once such a change is committed (in this process; others wait for the TTL)."""
    if session.info.pop("counters_changed", False):
        cache.counters.invalidate()


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _drop_counter_changes(session: sa.orm.Session) -> None:
    session.info.pop("counters_changed", None)


def token_for_short_code(code: str, secret: str) -> str | None:
    """Return the counter token a short code stands for (the token before the last rotation for the short code
    before it), or None when no counter has it."""
    row = db.session.execute(
        sa.select(Counter.short_code, Counter.token_nonce, Counter.previous_token_nonce)
        .where(sa.or_(Counter.short_code == code, Counter.previous_short_code == code))
    ).first()
    if row is None:
        return None
    return counter_token(row.token_nonce if row.short_code == code else row.previous_token_nonce, secret)


def get_counter_by_id(counter_id: int) -> CounterRef:
    """Return an active counter by id (for dossier links); 410 when it was retired."""
    counter = db.session.get(Counter, counter_id)
    if counter is None:
        raise NotFoundError(NOT_FOUND_MESSAGE)
    if not (counter.is_active and counter.unit.is_active):
        raise GoneError(_l("Quầy này đã ngừng nhận đánh giá. Xin cảm ơn Ông/Bà."))
    return CounterRef(counter.id, counter.code, counter.name, counter.unit_id, counter.unit.name,
                      counter.instrument_code, counter.updated_at, counter.rotated_at, counter.token_nonce)


def get_instrument(version_id: int) -> Instrument:
    """Return the parsed instrument of a stored version (cached: versions do not change once answered)."""
    instrument = cache.instruments.get(version_id)
    if instrument is None:
        version = db.session.get(InstrumentVersion, version_id)
        if version is None:
            raise NotFoundError(_l("Không tìm thấy phiếu khảo sát."))
        instrument = instrument_from_definition(version.definition)
        cache.instruments.put(version_id, instrument)
    return instrument


def instrument_codes(kind: str | None = None) -> list[str]:
    """Return the codes of published instruments (of one kind, e.g. "sipas": those a counter may serve), sorted."""
    query = sa.select(InstrumentVersion.code).distinct().order_by(InstrumentVersion.code)
    if kind is not None:
        query = query.where(InstrumentVersion.kind == kind)
    return list(db.session.scalars(query))


def sipas_versions() -> list[tuple[str, int]]:
    """Return (code, version) of every version of the SIPAS instruments, newest version first within a code."""
    sipas = sa.select(InstrumentVersion.code).where(InstrumentVersion.kind == "sipas")
    return [tuple(row) for row in db.session.execute(
        sa.select(InstrumentVersion.code, InstrumentVersion.version).where(InstrumentVersion.code.in_(sipas))
        .order_by(InstrumentVersion.code, InstrumentVersion.version.desc()))]


def instrument_names(locale: str = "vi") -> dict[str, str]:
    """Return code → title (in the locale, else Vietnamese) of the newest published version of every instrument."""
    names: dict[str, str] = {}
    rows = db.session.execute(sa.select(InstrumentVersion.code, InstrumentVersion.id)
                              .order_by(InstrumentVersion.code, InstrumentVersion.version.desc()))
    for code, version_id in rows:
        if code not in names:
            title = get_instrument(version_id).title
            names[code] = title.get(locale) or title["vi"]
    return names


def sipas_instrument_codes() -> list[str]:
    """Return the codes of the published SIPAS instruments, the ones a counter may serve."""
    return instrument_codes("sipas")


def current_version_id(code: str) -> int:
    """Return the id of the newest published version of an instrument code."""
    version_id = cache.current_versions.get(code)
    if version_id is None:
        version_id = db.session.scalar(
            sa.select(InstrumentVersion.id).where(InstrumentVersion.code == code)
            .order_by(InstrumentVersion.version.desc()).limit(1)
        )
        if version_id is None:
            raise GoneError(_l("Quầy này chưa được gắn phiếu khảo sát. Vui lòng báo cán bộ tại quầy."))
        cache.current_versions.put(code, version_id)
    return version_id


def get_response_form(counter: CounterRef, instrument_code: str | None = None, *,
                      fixed_field_id: int | None = None) -> ResponseForm:
    """Return the compiled form of a counter, built once per change of the counter.

    :param fixed_field_id: the service field already known (a dossier link minted with it): the form does not ask
        for one. It must be among the counter's fields, or the form asks as usual.
    """
    code = instrument_code or counter.instrument_code
    version_id = current_version_id(code)
    key = (counter.id, counter.updated_at, version_id, fixed_field_id)
    form = cache.survey_forms.get(key)
    if form is None:
        fields = db.session.execute(
            sa.select(ServiceField.id, ServiceField.name, ServiceField.name_en)
            .join(counter_service_fields, counter_service_fields.c.service_field_id == ServiceField.id)
            .where(counter_service_fields.c.counter_id == counter.id)
            .order_by(ServiceField.name)
        ).all()
        choices = tuple(FieldChoice(*row) for row in fields)
        if fixed_field_id is not None and any(choice.id == fixed_field_id for choice in choices):
            form = ResponseForm(version_id, get_instrument(version_id), (), fixed_field_id)
        else:
            form = ResponseForm(version_id, get_instrument(version_id), choices)
        cache.survey_forms.put(key, form)
    return form


_RESPONSES = SurveyResponse.__table__
#: Columns a submission binds; the counter and its unit come from the counters row itself (see below).
_BOUND = ("instrument_version_id", "service_field_id", "submission_key", "dossier_code", "submitted_at",
          "local_day", "scores", "answers", "texts", "duration_ms", "client_hash")
#: One statement stores a response: INSERT … SELECT from the counter, only while it and its unit are active and its
#: token is current, ON CONFLICT DO NOTHING (a replayed submission key, a dossier rated before) … RETURNING, which
#: tells whether the row went in (rowcount is -1 for an insert that returns rows, psycopg 3). So a counter retired a
#: moment ago is refused even if a cached lookup served its form, and the unit is the counter's unit now.
_LIVE_COUNTER = (
    sa.select(*(sa.bindparam(name, type_=_RESPONSES.c[name].type) for name in _BOUND), Counter.id, Counter.unit_id)
    .join(Unit, Unit.id == Counter.unit_id)
    .where(Counter.id == sa.bindparam("counter_id"),
           sa.or_(Counter.token_nonce == sa.bindparam("nonce"),
                  sa.and_(Counter.previous_token_nonce == sa.bindparam("nonce"),
                          Counter.rotated_at >= sa.bindparam("rotated_since", type_=UTCDateTime))),
           Counter.is_active, Unit.is_active)
)
#: PostgreSQL, unless the flush is awaited: commit this statement's transaction without waiting for the WAL flush
#: (synchronous_commit is set for this transaction only; the predicate is true whenever it runs). About a third of a
#: submission's time on PostgreSQL goes to that wait, since two sync workers have nothing else to do meanwhile.
_NO_FLUSH_WAIT = sa.func.set_config("synchronous_commit", "off", True) == "off"
_INSERT_RESPONSE = {
    (name, wait): insert(_RESPONSES).from_select(
        [*_BOUND, "counter_id", "unit_id"],
        _LIVE_COUNTER if wait or name != "postgresql" else _LIVE_COUNTER.where(_NO_FLUSH_WAIT),
    ).on_conflict_do_nothing().returning(_RESPONSES.c.id)
    for name, insert in DIALECT_INSERTS.items() for wait in (True, False)
}


def submit_response(
    counter: CounterRef,
    form: ResponseForm,
    answers: ValidAnswers,
    *,
    submission_key: str,
    now: dt.datetime,
    zone: ZoneInfo,
    duration_ms: int | None,
    client_hash: str | None,
    dossier_code: str | None = None,
    wait_for_flush: bool = True,
    rotation_grace: dt.timedelta = dt.timedelta(0),
) -> bool:
    """Store one response; return False when this submission key was already stored (a replay).

    A unique submission key makes a double tap or a retry store one row; a unique dossier code makes a
    dossier rated once. Both are enforced by the database (INSERT … ON CONFLICT DO NOTHING), not by a
    check-then-insert, so concurrent requests cannot slip through.

    :param wait_for_flush: False lets PostgreSQL acknowledge the response before its WAL record is on disk (see
        SURVEY_WAIT_FOR_FLUSH); SQLite's own setting applies there.
    :param rotation_grace: how long after a rotation the token before it is still accepted.
    :raise NotFoundError, GoneError: when the counter's token was rotated (ReplacedTokenError past the grace period)
        or the counter (or its unit) switched off.
    """
    values = dict(
        instrument_version_id=form.instrument_version_id,
        service_field_id=answers.service_field_id,
        submission_key=submission_key,
        dossier_code=dossier_code,
        submitted_at=now,
        local_day=now.astimezone(zone).date(),
        scores=answers.scores,
        answers=answers.answers,
        texts=answers.texts,
        duration_ms=duration_ms,
        client_hash=client_hash,
        counter_id=counter.id,
        nonce=counter.nonce,
        rotated_since=now - rotation_grace,
    )
    with single_statement_connection() as connection:
        insert = _INSERT_RESPONSE[connection.dialect.name, wait_for_flush]
        if connection.execute(insert, values).first() is not None:
            return True
        # Nothing stored: the counter is no longer live, or the key (or dossier) was used before.
        live = _live_counter(counter.nonce, connection.execute(_COUNTER_BY_NONCE, {"nonce": counter.nonce}).first())
        if not live.accepts_submissions(now, rotation_grace):
            raise ReplacedTokenError(REPLACED_MESSAGE)
        stored = connection.execute(
            sa.select(SurveyResponse.counter_id, SurveyResponse.dossier_code)
            .where(SurveyResponse.submission_key == submission_key)
        ).first()
    if stored is not None and stored == (counter.id, dossier_code):
        return False
    if dossier_code is not None and stored is None:
        raise ConflictError(DOSSIER_RATED_MESSAGE)
    raise AppError(_l("Mã gửi phiếu không hợp lệ. Vui lòng tải lại trang và gửi lại."))


DOSSIER_RATED_MESSAGE = _l("Hồ sơ này đã được đánh giá. Cảm ơn Ông/Bà đã góp ý.")


def dossier_submission_key(unit_id: int, dossier_code: str) -> str | None:
    """Return the submission key of a dossier's rating in the unit that issued it, or None while it is not rated
    (dossier codes are unique per issuing unit, not across units)."""
    return db.session.scalar(
        sa.select(SurveyResponse.submission_key).where(SurveyResponse.unit_id == unit_id,
                                                       SurveyResponse.dossier_code == dossier_code)
    )


def publish_instrument(instrument: Instrument) -> InstrumentVersion:
    """Store a parsed instrument version; a version that has responses can never change.

    :raise AppError: when the file changes a version that already has responses (make a new version).
    """
    version = db.session.scalar(
        sa.select(InstrumentVersion).where(InstrumentVersion.code == instrument.code,
                                           InstrumentVersion.version == instrument.version)
    )
    if version is not None and version.checksum == instrument.checksum:
        return version
    if version is not None:
        answered = db.session.scalar(
            sa.select(sa.func.count()).select_from(SurveyResponse)
            .where(SurveyResponse.instrument_version_id == version.id)
        )
        if answered:
            raise AppError(_l("Phiên bản %(code)s v%(version)d đã có %(n)d phiếu trả lời nên không thể sửa. "
                              "Hãy tạo phiên bản mới (%(code)s-v%(next)d.yaml).",
                              code=instrument.code, version=instrument.version, n=answered,
                              next=instrument.version + 1))
    else:
        version = InstrumentVersion(code=instrument.code, version=instrument.version)
        db.session.add(version)
    version.kind = instrument.kind
    version.title = instrument.title["vi"]
    version.definition = instrument.definition
    version.checksum = instrument.checksum
    db.session.flush()
    _forget_published()
    return version


def _forget_published() -> None:
    """Forget what depends on the published instruments: counters, compiled forms and pages, version lookups."""
    for name in ("counters", "survey_forms", "survey_pages", "instruments", "current_versions"):
        cache.caches[name].invalidate()
