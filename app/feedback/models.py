"""PAKN rows: the feedback itself, its sender's identity in a separate table, attachments, the transitions log,
the answer, per-unit answer templates and deadlines, the holiday calendar and the mail outbox."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.units.models import Counter, ServiceField, Unit

#: NĐ 20 Art 5 categories, as codes (labels in app.feedback.labels).
KINDS = ("behaviour", "unsuited", "inconsistent", "unlawful", "treaty", "initiative", "other")
CHANNELS = ("web", "counter", "paper", "phone", "zalo", "facebook", "email", "national_portal")
SENDER_TYPES = ("individual", "organisation")
STATUSES = ("received", "accepted", "not_accepted", "transferred", "in_progress", "waiting_sender", "answered",
            "completed", "insufficient")
#: Why a PAKN is not accepted (NĐ 20 Art 9.1.d and the provincial rules).
REFUSAL_REASONS = ("missing_sender", "complaint", "out_of_scope", "duplicate", "abusive", "unclear")
RATINGS = ("satisfied", "accepted", "dissatisfied")


class Feedback(db.Model):
    """One PAKN: what was sent, where it is handled, its clock and its public version."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Tracking code: random, not sequential (PA-XXXX-XXXX).
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    #: The unit that received it (its staff may see the sender's identity) and the one handling it now.
    received_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counters.id"))
    service_field_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_fields.id"))
    procedure: Mapped[str | None] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(16))
    sender_type: Mapped[str] = mapped_column(sa.String(16), default="individual")
    channel: Mapped[str] = mapped_column(sa.String(16), default="web")
    #: The code given by another system (national portal, Zalo thread …).
    external_code: Mapped[str | None] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(300))
    content: Mapped[str] = mapped_column(sa.Text)
    proposal: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="received", index=True)
    reason_code: Mapped[str | None] = mapped_column(sa.String(16))
    #: Local calendar dates of the clock: received, transfer and answer deadlines, an extension.
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    received_on: Mapped[dt.date] = mapped_column(sa.Date)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    transfer_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    due_on: Mapped[dt.date | None] = mapped_column(sa.Date, index=True)
    extended_due_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    hidden: Mapped[bool] = mapped_column(default=False)
    consent_data: Mapped[bool] = mapped_column(default=False)
    consent_publish: Mapped[bool] = mapped_column(default=False)
    show_name: Mapped[bool] = mapped_column(default=False)
    #: The key of the form it was sent with: sending the same form twice stores it once.
    submission_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: The public version after moderation (None: the original is used); the unit that edited it.
    public_title: Mapped[str | None] = mapped_column(sa.String(300))
    public_content: Mapped[str | None] = mapped_column(sa.Text)
    redacted_by_unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    #: The citizen's one request for clarification, and the rating of the answer.
    clarification: Mapped[str | None] = mapped_column(sa.Text)
    clarification_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rating: Mapped[str | None] = mapped_column(sa.String(16))
    rated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    received_unit: Mapped[Unit] = relationship(foreign_keys=[received_unit_id])
    redacted_by_unit: Mapped[Unit | None] = relationship(foreign_keys=[redacted_by_unit_id])
    counter: Mapped[Counter | None] = relationship()
    service_field: Mapped[ServiceField | None] = relationship()
    answer: Mapped[FeedbackAnswer | None] = relationship(back_populates="feedback", uselist=False)
    attachments: Mapped[list[FeedbackAttachment]] = relationship(order_by="FeedbackAttachment.id")
    transitions: Mapped[list[FeedbackTransition]] = relationship(order_by="FeedbackTransition.id")

    __table_args__ = (
        sa.CheckConstraint("status IN ('received', 'accepted', 'not_accepted', 'transferred', 'in_progress', "
                           "'waiting_sender', 'answered', 'completed', 'insufficient')", name="status_known"),
    )

    @property
    def effective_due_on(self) -> dt.date | None:
        return self.extended_due_on or self.due_on


class SenderIdentity(db.Model):
    """Who sent a PAKN: kept apart, read only by permitted roles at the receiving unit, every read logged."""

    __tablename__ = "feedback_senders"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    organisation: Mapped[str | None] = mapped_column(sa.String(300))
    address: Mapped[str] = mapped_column(sa.String(400))
    phone: Mapped[str] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(254))


class FeedbackAttachment(db.Model):
    """A file sent with a PAKN (images re-encoded, PDFs) or the signed letter of the answer."""

    __tablename__ = "feedback_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    #: "citizen" (sent with the PAKN) or "letter" (the signed official letter of the answer).
    role: Mapped[str] = mapped_column(sa.String(16), default="citizen")
    filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    mime: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer)
    publish: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackTransition(db.Model):
    """One change of state: from, to, by whom (None: the citizen or a system), where, why, when."""

    __tablename__ = "feedback_transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    organiser_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackAnswer(db.Model):
    """The answer: drafted, approved, then published with the question (public text redacted, original kept)."""

    __tablename__ = "feedback_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id", ondelete="CASCADE"), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    text: Mapped[str] = mapped_column(sa.Text)
    public_text: Mapped[str | None] = mapped_column(sa.Text)
    #: draft → approved → published
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    drafted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id"))
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id"))
    drafted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    feedback: Mapped[Feedback] = relationship(back_populates="answer")
    unit: Mapped[Unit] = relationship()


class AnswerTemplate(db.Model):
    """A unit's reusable answer text."""

    __tablename__ = "feedback_answer_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)


class FeedbackDeadline(db.Model):
    """A unit's deadlines in working days, for one kind of PAKN or (kind None) for all."""

    __tablename__ = "feedback_deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    kind: Mapped[str | None] = mapped_column(sa.String(16))
    answer_days: Mapped[int] = mapped_column(sa.Integer, default=10)
    transfer_days: Mapped[int] = mapped_column(sa.Integer, default=5)

    __table_args__ = (sa.UniqueConstraint("unit_id", "kind", name="uq_feedback_deadlines_unit_kind"),
                      sa.CheckConstraint("answer_days > 0 AND transfer_days > 0", name="days_positive"))


class Holiday(db.Model):
    """A day off (public holiday, Tết, compensatory day) or, with ``working`` true, a weekend day worked instead."""

    __tablename__ = "holidays"

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    year: Mapped[int] = mapped_column(sa.Integer, index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    working: Mapped[bool] = mapped_column(default=False)


class MailMessage(db.Model):
    """A message waiting in the outbox (sent by `flask feedback send-mail`)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
