"""Question banks, contests with their state machine, rounds, participants and attempts (one row per attempt)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, UTCDateTime, utcnow
from app.errors import ConflictError
from app.extensions import db
from app.units.models import Unit

#: Contest statuses, in lifecycle order (contest.md §5.1).
CONTEST_STATUSES = ("draft", "open", "closed", "results_published", "archived")

#: Transition name → (statuses it may start from, status it leads to, timestamp column it sets).
CONTEST_TRANSITIONS = {
    "open": (("draft",), "open", "opened_at"),
    "close": (("open",), "closed", "closed_at"),
    "reopen": (("closed",), "open", None),
    "publish_results": (("closed",), "results_published", "results_published_at"),
    "archive": (("closed", "results_published"), "archived", "archived_at"),
}

STATUS_LABELS = {
    "draft": _l("Bản nháp"),
    "open": _l("Đang mở"),
    "closed": _l("Đã đóng"),
    "results_published": _l("Đã công bố kết quả"),
    "archived": _l("Đã lưu trữ"),
}

#: Attempt states: in progress, submitted by the participant, or submitted by the server at expiry.
ATTEMPT_STATES = ("active", "submitted", "expired")


class ContestStateError(ConflictError):
    """A lifecycle transition was asked for from a status that does not allow it."""


class QuestionBank(db.Model):
    """A named set of questions that rounds draw from."""

    __tablename__ = "question_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    language: Mapped[str] = mapped_column(sa.String(8), default="vi")
    #: Owning unit: organisers of its subtree may change it; None = shared bank (administrators change it).
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship()
    questions: Mapped[list[Question]] = relationship(back_populates="bank", order_by="Question.id")


class Question(db.Model):
    """One question: its options and key never leave the server except on allowed review pages."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("question_banks.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    #: One of grading.QUESTION_TYPES.
    type: Mapped[str] = mapped_column(sa.String(16))
    topic: Mapped[str] = mapped_column(sa.String(64))
    #: 1 easy, 2 medium, 3 hard.
    difficulty: Mapped[int] = mapped_column(sa.SmallInteger)
    text: Mapped[str] = mapped_column(sa.Text)
    #: Option texts in their original order (2–8).
    options: Mapped[list] = mapped_column(sa.JSON)
    #: Indices of the correct options in `options`.
    correct: Mapped[list] = mapped_column(sa.JSON)
    explanation: Mapped[str] = mapped_column(sa.Text, default="")
    source: Mapped[str] = mapped_column(sa.String(500), default="")
    #: sha1 of the normalised text: the same question twice in a bank is refused by the database.
    text_key: Mapped[str] = mapped_column(sa.String(40))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    bank: Mapped[QuestionBank] = relationship(back_populates="questions")

    __table_args__ = (
        sa.UniqueConstraint("bank_id", "code", name="uq_questions_bank_code"),
        sa.UniqueConstraint("bank_id", "text_key", name="uq_questions_bank_text"),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 3", name="difficulty_known"),
        sa.CheckConstraint("type IN ('single', 'multiple', 'true_false')", name="type_known"),
    )


class Contest(db.Model):
    """A contest run by a unit; its full definition (rounds, prizes, rules) is the stored canonical spec."""

    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(24), default="draft")
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    #: The thể lệ, plain text (paragraphs separated by blank lines).
    rules_text: Mapped[str] = mapped_column(sa.Text, default="")
    #: Canonical definition as produced by spec.parse_contest (what `flask contests load` reads).
    definition: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Bumped by every change that can alter results (definition, exclusions, fixed prediction values).
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    results_published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    personal_data_erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: {unit id (text): headcount} of the subtree's units, frozen when results are published: unit prizes never
    #: move afterwards, whatever a unit's headcount becomes (None while results are not published).
    unit_headcounts: Mapped[dict | None] = mapped_column(sa.JSON)

    unit: Mapped[Unit] = relationship()
    rounds: Mapped[list[Round]] = relationship(back_populates="contest", order_by="Round.number",
                                               cascade="all, delete-orphan")

    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'closed', 'results_published', 'archived')", name="status_known"
        ),
    )

    def can(self, transition: str) -> bool:
        """Tell whether a transition is allowed from the current status."""
        return self.status in CONTEST_TRANSITIONS[transition][0]

    def transition(self, name: str, now: dt.datetime) -> None:
        """Move to the next status; raise ContestStateError when the transition is not allowed from here."""
        if name not in CONTEST_TRANSITIONS:
            raise ValueError(f"unknown contest transition {name!r}")
        sources, target, stamp = CONTEST_TRANSITIONS[name]
        if self.status not in sources:
            raise ContestStateError(_l("Không thể chuyển cuộc thi từ trạng thái “%(status)s” sang “%(target)s”.",
                                       status=STATUS_LABELS[self.status], target=STATUS_LABELS[target]))
        self.status = target
        if stamp:
            setattr(self, stamp, now)
        self.updated_at = now

    def open(self, now: dt.datetime) -> None:
        """Start accepting registrations and attempts (rounds still rule their own windows)."""
        self.transition("open", now)

    def close(self, now: dt.datetime) -> None:
        """Stop accepting attempts."""
        self.transition("close", now)

    def reopen(self, now: dt.datetime) -> None:
        """Accept attempts again after a close (results not yet published)."""
        self.transition("reopen", now)

    def publish_results(self, now: dt.datetime) -> None:
        """Make the final rankings and prizes public."""
        self.transition("publish_results", now)

    def archive(self, now: dt.datetime) -> None:
        """Retire the contest: results stay readable, nothing changes any more."""
        self.transition("archive", now)

    @property
    def accepts_attempts(self) -> bool:
        """Tell whether participants may register and sit rounds (the status is open)."""
        return self.status == "open"

    @property
    def results_public(self) -> bool:
        """Tell whether final results are public."""
        return self.status in ("results_published", "archived")

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


class Round(db.Model):
    """A round (đợt / tuần) with its window in UTC; the rest of its settings live in `settings` (the round spec)."""

    __tablename__ = "contest_rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"))
    number: Mapped[int] = mapped_column(sa.SmallInteger)
    name: Mapped[str] = mapped_column(sa.String(200))
    opens_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("question_banks.id"))
    question_count: Mapped[int] = mapped_column(sa.SmallInteger)
    #: 0 = no limit other than the round's close.
    time_limit_seconds: Mapped[int] = mapped_column(sa.Integer)
    #: Network allowance after the deadline; not counted in the duration.
    grace_seconds: Mapped[int] = mapped_column(sa.Integer, default=10)
    #: 0 = unlimited.
    attempts_allowed: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    #: best | first | last.
    which_counts: Mapped[str] = mapped_column(sa.String(8), default="best")
    #: The round's canonical spec (draw, shuffling, feedback, prediction, audience groups, prizes).
    settings: Mapped[dict] = mapped_column(sa.JSON)
    #: The true value of the prediction question, frozen when results are published (or fixed by the committee).
    prediction_actual: Mapped[float | None] = mapped_column(sa.Float)
    #: True when the committee fixed prediction_actual by hand (it is then never recomputed).
    prediction_actual_fixed: Mapped[bool] = mapped_column(default=False)

    contest: Mapped[Contest] = relationship(back_populates="rounds")
    bank: Mapped[QuestionBank] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("contest_id", "number", name="uq_contest_rounds_contest_number"),
        sa.CheckConstraint("closes_at > opens_at", name="window_ordered"),
    )

    def window_state(self, now: dt.datetime) -> str:
        """Return "upcoming", "open" or "closed" for this moment."""
        if now < self.opens_at:
            return "upcoming"
        return "open" if now < self.closes_at else "closed"


class Participant(db.Model):
    """A registered (or pre-issued) contestant; personal fields become NULL when the data is erased."""

    __tablename__ = "contest_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"))
    #: Normalised Vietnamese mobile number "0xxxxxxxxx": the login, unique per contest.
    phone: Mapped[str | None] = mapped_column(sa.String(15))
    full_name: Mapped[str | None] = mapped_column(sa.String(200))
    birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    group_code: Mapped[str] = mapped_column(sa.String(32))
    #: Keyed HMAC-SHA256 of the 12-digit CCCD; the number itself is never stored.
    cccd_hash: Mapped[str | None] = mapped_column(sa.String(64))
    cccd_last4: Mapped[str | None] = mapped_column(sa.String(4))
    #: Optional, given at registration: where a password-reset link may be sent.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    consent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: sha256 prefix of the purpose text the participant agreed to.
    consent_version: Mapped[str | None] = mapped_column(sa.String(16))
    preissued: Mapped[bool] = mapped_column(default=False)
    #: Excluded from rankings and prizes by the committee (e.g. organisers, proven cheating).
    excluded: Mapped[bool] = mapped_column(default=False)
    excluded_reason: Mapped[str | None] = mapped_column(sa.String(300))
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    contest: Mapped[Contest] = relationship()
    unit: Mapped[Unit] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("contest_id", "phone", name="uq_contest_participants_contest_phone"),
        sa.Index("ix_contest_participants_contest_cccd", "contest_id", "cccd_hash"),
    )


class Attempt(db.Model):
    """One sitting of a round: the drawn snapshot, saved answers and, once submitted, marks and score.

    Arrays are packed bytes, one entry per drawn question in display order, so a report reads one narrow row per
    attempt: ``question_ids`` uint32 little-endian; ``option_orders`` 8 bytes per question (display position →
    original option index, 0xFF padding); ``types`` index into grading.QUESTION_TYPES; ``keys`` and ``answers``
    bitmasks over original option indices (answer 0 = none); ``marks`` 0/1.
    """

    __tablename__ = "contest_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"))
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("contest_rounds.id"))
    participant_id: Mapped[int] = mapped_column(sa.ForeignKey("contest_participants.id"))
    #: 1 for the participant's first attempt of the round, 2 for the second …
    number: Mapped[int] = mapped_column(sa.SmallInteger)
    state: Mapped[str] = mapped_column(sa.String(12), default="active")
    #: Copied from the participant at start, so reports need no join.
    unit_id: Mapped[int] = mapped_column(sa.Integer)
    group_code: Mapped[str] = mapped_column(sa.String(32))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: min(start + time limit, round close): the server clock's deadline (grace comes on top).
    deadline_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    saved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: min(submitted_at, deadline_at) − started_at in milliseconds.
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    score: Mapped[int | None] = mapped_column(sa.Integer)
    max_score: Mapped[int] = mapped_column(sa.Integer)
    prediction: Mapped[float | None] = mapped_column(sa.Float)
    question_ids: Mapped[bytes] = mapped_column(sa.LargeBinary)
    option_orders: Mapped[bytes] = mapped_column(sa.LargeBinary)
    types: Mapped[bytes] = mapped_column(sa.LargeBinary)
    keys: Mapped[bytes] = mapped_column(sa.LargeBinary)
    answers: Mapped[bytes] = mapped_column(sa.LargeBinary)
    marks: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    #: Keyed daily hash of address + user agent at start (shared-device signal); never the address itself.
    client_hash: Mapped[str | None] = mapped_column(sa.String(16))

    round: Mapped[Round] = relationship()
    participant: Mapped[Participant] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("participant_id", "round_id", "number",
                            name="uq_contest_attempts_participant_round_number"),
        # One attempt in progress per participant and round, even under concurrent starts.
        sa.Index("uq_contest_attempts_one_active", "participant_id", "round_id", unique=True,
                 sqlite_where=sa.text("state = 'active'"), postgresql_where=sa.text("state = 'active'")),
        sa.Index("ix_contest_attempts_round_state", "round_id", "state"),
        sa.Index("ix_contest_attempts_contest_state", "contest_id", "state"),
        sa.Index("ix_contest_attempts_state_deadline", "state", "deadline_at"),
        sa.CheckConstraint("state IN ('active', 'submitted', 'expired')", name="state_known"),
    )

    @property
    def is_active(self) -> bool:
        return self.state == "active"


class Correction(db.Model):
    """A question corrected after attempts exist (a new key, or voided), and what re-grading changed."""

    __tablename__ = "contest_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    contest_id: Mapped[int] = mapped_column(sa.ForeignKey("contests.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"))
    question_code: Mapped[str] = mapped_column(sa.String(32))
    #: "key" (the correct options changed) or "void" (the question no longer counts).
    kind: Mapped[str] = mapped_column(sa.String(8))
    old_correct: Mapped[list] = mapped_column(sa.JSON)
    new_correct: Mapped[list | None] = mapped_column(sa.JSON)
    #: Attempts that drew the question, and those whose score changed.
    attempts: Mapped[int] = mapped_column(sa.Integer)
    changed: Mapped[int] = mapped_column(sa.Integer)
    #: Before/after counts (full marks, mean score …) as recorded in the audit log.
    detail: Mapped[dict] = mapped_column(sa.JSON)
    organiser_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
