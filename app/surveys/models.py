"""Published instrument versions and stored survey responses (one row per response)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, UTCDateTime, utcnow
from app.extensions import db


class InstrumentVersion(db.Model):
    """One immutable version of an instrument, as loaded from surveys/<code>-v<N>.yaml."""

    __tablename__ = "instrument_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64))
    version: Mapped[int] = mapped_column(sa.Integer)
    #: "sipas" (5-point elements) or "dossier" (3-level rating): never mixed in one index.
    kind: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(300))
    #: The canonical parsed definition; `checksum` is its sha256 and detects edits of a published version.
    definition: Mapped[dict] = mapped_column(sa.JSON)
    checksum: Mapped[str] = mapped_column(sa.String(64))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.UniqueConstraint("code", "version", name="uq_instrument_versions_code_version"),)

    def __repr__(self) -> str:
        return f"<InstrumentVersion {self.code} v{self.version}>"


class SurveyResponse(db.Model):
    """One citizen's answers. Anonymous: no name, phone or IP, only a daily-rotating keyed client hash."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    instrument_version_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_versions.id"))
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counters.id"))
    #: The counter's unit at submission time, so reports group and scope without a join.
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    service_field_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_fields.id"))
    #: Generated into the form: a double tap or a retry carries the same key and stores nothing new.
    submission_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    #: Set for one-time dossier links; unique per issuing unit (two units may number dossiers alike), so a dossier
    #: is rated once.
    dossier_code: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Calendar day in the display time zone, the grain of every report.
    local_day: Mapped[dt.date] = mapped_column(sa.Date)
    #: One byte per scale item of the instrument, in its order; 0 = not answered. Reports load only this.
    scores: Mapped[bytes] = mapped_column(sa.LargeBinary)
    #: Closed answers that are not scale items (choices, multi-choices), by item code.
    answers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Free-text answers by item code (comments, reasons), kept apart for search and review.
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: Milliseconds between the form being served and submitted (None if unknown): flags hurried entries.
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    client_hash: Mapped[str | None] = mapped_column(sa.String(16))

    instrument_version: Mapped[InstrumentVersion] = relationship()

    __table_args__ = (
        sa.Index("ix_survey_responses_report", "instrument_version_id", "local_day", "unit_id"),
        sa.Index("ix_survey_responses_counter_time", "counter_id", "submitted_at"),
        sa.UniqueConstraint("unit_id", "dossier_code", name="uq_survey_responses_unit_dossier_code"),
    )


#: A response with free text (a comment); the partial indexes below hold only those (about 3 % of responses).
_COMMENTED = sa.cast(SurveyResponse.__table__.c.texts, sa.Text) != "{}"
# The dashboard's newest comments of a period and their count, without reading every response of the period:
# newest first by submission time, and by local day for the count.
sa.Index("ix_survey_responses_commented_time", SurveyResponse.__table__.c.submitted_at, SurveyResponse.__table__.c.id,
         postgresql_where=_COMMENTED, sqlite_where=_COMMENTED)
sa.Index("ix_survey_responses_commented_day", SurveyResponse.__table__.c.local_day, SurveyResponse.__table__.c.unit_id,
         postgresql_where=_COMMENTED, sqlite_where=_COMMENTED)
