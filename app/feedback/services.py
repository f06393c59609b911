"""Every change to a PAKN, with plain values in (``now``, ``rng``, the calendar, the storage folder): intake with
its checks, the state machine (only legal transitions, each one logged and audited), deadlines in working days,
answers, moderation, publication, the citizen's lookup, rating and clarification, who may read the sender's
identity (every read audited), the inbox and the published list. Flushes, never commits."""
from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth import audit
from app.auth.access import ROLE_RANK
from app.errors import AppError, ConflictError, NotFoundError, PermissionDeniedError
from app.extensions import db
from app.feedback import attachments as files
from app.feedback.calendar import Calendar
from app.feedback.models import (  # noqa: F401  (KINDS: also read by the command line)
    CHANNELS, KINDS, RATINGS, REFUSAL_REASONS, SENDER_TYPES, AnswerTemplate, Feedback, FeedbackAnswer,
    FeedbackAttachment, FeedbackDeadline, FeedbackTransition, MailMessage, SenderIdentity,
)
from app.units.models import Counter, ServiceField, Unit
from app.validation import Problem, Rejected

#: Deadlines in working days when a unit (or the units above it) set none.
DEFAULT_ANSWER_DAYS = 10
DEFAULT_TRANSFER_DAYS = 5
#: Due within this many working days: "sắp đến hạn".
DUE_SOON_DAYS = 2
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_PATTERN = re.compile(r"PA-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")
#: Markup in a text field: refused rather than stored (every page escapes it anyway).
MARKUP = re.compile(r"<\s*[/!?a-zA-Z]|javascript\s*:", re.IGNORECASE)
PHONE = re.compile(r"^(\+?84|0)\d{8,10}$")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

#: The state machine: which action leads from which states to which state.
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("received",), "accepted"),
    "refuse": (("received", "accepted", "transferred"), "not_accepted"),
    "transfer": (("received", "accepted", "transferred", "in_progress"), "transferred"),
    "start": (("accepted", "transferred"), "in_progress"),
    "ask_sender": (("accepted", "transferred", "in_progress"), "waiting_sender"),
    "resume": (("waiting_sender", "answered"), "in_progress"),
    "answer": (("accepted", "transferred", "in_progress"), "in_progress"),
    "approve": (("in_progress",), "answered"),
    "insufficient": (("accepted", "transferred", "in_progress"), "insufficient"),
    "complete": (("answered",), "completed"),
}
#: Actions that change no state but are offered with them.
FLAG_ACTIONS = {"extend": ("accepted", "transferred", "in_progress", "waiting_sender"),
                "redact": ("answered", "completed"), "publish": ("answered", "completed"),
                "hide": ("answered", "completed")}
OPEN_STATUSES = ("received", "accepted", "transferred", "in_progress", "waiting_sender")
#: Who acts when the citizen does (rating, clarification): recorded without an organiser.
CITIZEN = audit.Unsigned("citizen")
#: The minimum role of each action (the approver's role is configured: FEEDBACK_APPROVER_ROLE).
ACTION_ROLES = {"approve": "administrator"}


# --- intake ------------------------------------------------------------------------------------------------------


@dataclass
class Submission:
    """A PAKN as sent by a citizen or logged by staff, checked."""

    unit_id: int
    kind: str
    title: str
    content: str
    name: str
    address: str
    phone: str
    consent_data: bool
    sender_type: str = "individual"
    organisation: str | None = None
    email: str | None = None
    proposal: str | None = None
    procedure: str | None = None
    service_field_id: int | None = None
    counter_id: int | None = None
    consent_publish: bool = False
    show_name: bool = False
    channel: str = "web"
    external_code: str | None = None
    submission_key: str | None = None
    files: list[files.CheckedFile] = field(default_factory=list)


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").replace("\r\n", "\n").strip()


def _flag(data: dict, key: str) -> bool:
    return _text(data, key).lower() in ("1", "on", "true", "yes", "co")


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


def read_submission(data: dict, *, staff: bool = False) -> Submission:
    """Check a PAKN's fields (a form's or a JSON body's); refuse every problem at once, keyed by field."""
    problems: dict[str, object] = {}

    def need(key: str, label, low: int, high: int) -> str:
        value = _text(data, key)
        if not value:
            problems[key] = _l("Vui lòng nhập %(label)s.", label=label)
        elif len(value) < low:
            problems[key] = _l("%(label)s quá ngắn.", label=label)
        elif len(value) > high:
            problems[key] = _l("%(label)s dài quá %(n)d ký tự.", label=label, n=high)
        return value

    def optional(key: str, label, high: int) -> str | None:
        value = _text(data, key)
        if len(value) > high:
            problems[key] = _l("%(label)s dài quá %(n)d ký tự.", label=label, n=high)
        return value or None

    name = need("name", _l("họ và tên"), 2, 200)
    address = need("address", _l("địa chỉ"), 5, 400)
    phone_raw = need("phone", _l("số điện thoại"), 9, 20)
    phone = re.sub(r"[\s.()-]", "", phone_raw)
    if phone_raw and "phone" not in problems and not PHONE.match(phone):
        problems["phone"] = _l("Số điện thoại không hợp lệ (ví dụ 0912 345 678).")
    email = optional("email", _l("Thư điện tử"), 254)
    if email and not EMAIL.match(email):
        problems["email"] = _l("Địa chỉ thư điện tử không hợp lệ.")
    sender_type = _text(data, "sender_type") or "individual"
    if sender_type not in SENDER_TYPES:
        problems["sender_type"] = _l("Vui lòng chọn cá nhân hoặc tổ chức.")
    organisation = optional("organisation", _l("Tên tổ chức"), 300)
    if sender_type == "organisation" and not organisation:
        problems["organisation"] = _l("Vui lòng nhập tên tổ chức.")
    kind = _text(data, "kind")
    if kind not in KINDS:
        problems["kind"] = _l("Vui lòng chọn loại phản ánh, kiến nghị.")
    title = need("title", _l("tiêu đề"), 5, 300)
    content = need("content", _l("nội dung"), 10, 10_000)
    proposal = optional("proposal", _l("Đề xuất"), 5000)
    procedure = optional("procedure", _l("Thủ tục hành chính"), 300)
    external_code = optional("external_code", _l("Mã của kênh tiếp nhận"), 64)
    for key, value in (("name", name), ("address", address), ("organisation", organisation), ("title", title),
                       ("content", content), ("proposal", proposal), ("procedure", procedure), ("email", email),
                       ("external_code", external_code)):
        if value and MARKUP.search(value):
            problems[key] = _l("Vui lòng không nhập mã HTML hay đoạn mã (script); chỉ nhập văn bản.")
    unit_id = _int(_text(data, "unit"))
    if unit_id is None:
        problems["unit"] = _l("Vui lòng chọn cơ quan tiếp nhận.")
    field_text = _text(data, "field")
    service_field_id = _int(field_text) if field_text else None
    if field_text and service_field_id is None:
        problems["field"] = _l("Lĩnh vực không hợp lệ.")
    consent = _flag(data, "consent_data")
    if not consent and not staff:
        problems["consent_data"] = _l("Cần Ông/Bà đồng ý cho xử lý dữ liệu cá nhân để cơ quan trả lời phản ánh.")
    channel = _text(data, "channel") or "web"
    if channel not in CHANNELS or (not staff and channel not in ("web", "counter")):
        problems["channel"] = _l("Kênh tiếp nhận không hợp lệ.")
    if problems:
        raise Rejected([Problem(message, path=key) for key, message in problems.items()],
                       _l("Phản ánh chưa gửi được: vui lòng sửa các mục được đánh dấu."),
                       details={"fields": {key: str(message) for key, message in problems.items()}})
    return Submission(unit_id=unit_id, kind=kind, title=title, content=content, name=name, address=address,
                      phone=phone, consent_data=consent or staff, sender_type=sender_type,
                      organisation=organisation, email=email, proposal=proposal, procedure=procedure,
                      service_field_id=service_field_id, counter_id=_int(_text(data, "counter")),
                      consent_publish=_flag(data, "consent_publish"), show_name=_flag(data, "show_name"),
                      channel=channel, external_code=external_code,
                      submission_key=_text(data, "key")[:64] or None)


def new_code(rng: random.Random) -> str:
    """Return a tracking code that cannot be guessed from others (40 random bits), e.g. PA-7KQ2-M9XD."""
    chars = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
    return f"PA-{chars[:4]}-{chars[4:]}"


def normalise_code(text: str) -> str | None:
    """Read a typed code (any case, spaces, with or without dashes); None when it cannot be one."""
    raw = re.sub(r"[\s-]", "", (text or "").upper())
    if raw.startswith("PA"):
        raw = raw[2:]
    code = f"PA-{raw[:4]}-{raw[4:]}" if len(raw) == 8 else ""
    return code if CODE_PATTERN.fullmatch(code) else None


def deadline_days(unit: Unit, kind: str) -> tuple[int, int]:
    """Return (answer days, transfer days) for a kind at a unit: its own setting, else the nearest above, else the
    defaults (10 and 5 working days)."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    rows = db.session.scalars(sa.select(FeedbackDeadline).where(FeedbackDeadline.unit_id.in_(ids))).all()
    depth = {unit_id: index for index, unit_id in enumerate(ids)}
    best = sorted(rows, key=lambda row: (-depth[row.unit_id], row.kind is None))
    for row in best:
        if row.kind in (kind, None):
            return row.answer_days, row.transfer_days
    return DEFAULT_ANSWER_DAYS, DEFAULT_TRANSFER_DAYS


def set_deadline(actor, unit: Unit, kind: str | None, answer_days: int, transfer_days: int,
                 now: dt.datetime) -> FeedbackDeadline:
    """Set a unit's deadlines (for one kind, or all kinds with None)."""
    if kind is not None and kind not in KINDS:
        raise AppError(_l("Loại phản ánh không hợp lệ."))
    if not (0 < answer_days <= 90 and 0 < transfer_days <= 30):
        raise AppError(_l("Thời hạn phải từ 1 đến 90 ngày làm việc (chuyển: 1 đến 30)."))
    row = db.session.scalar(sa.select(FeedbackDeadline).where(FeedbackDeadline.unit_id == unit.id,
                                                              FeedbackDeadline.kind.is_(None) if kind is None
                                                              else FeedbackDeadline.kind == kind))
    if row is None:
        row = FeedbackDeadline(unit_id=unit.id, kind=kind)
        db.session.add(row)
    row.answer_days, row.transfer_days = answer_days, transfer_days
    db.session.flush()
    audit.record(actor, unit.id, "feedback.deadline_set", "unit", unit.code,
                 {"kind": kind, "answer_days": answer_days, "transfer_days": transfer_days}, now)
    return row


def submit(sub: Submission, *, now: dt.datetime, zone: ZoneInfo, calendar: Calendar, rng: random.Random,
           storage: str, actor=None) -> tuple[Feedback, bool]:
    """Store a PAKN with its sender and files; return (feedback, created). The same submission key again returns
    the PAKN stored the first time (created False). Staff logging a PAKN pass themselves as `actor`."""
    if sub.submission_key:
        existing = db.session.scalar(sa.select(Feedback).where(Feedback.submission_key == sub.submission_key))
        if existing is not None:
            return existing, False
    unit = db.session.get(Unit, sub.unit_id)
    if unit is None or not unit.is_active:
        raise Rejected([Problem(_l("Cơ quan tiếp nhận không tồn tại."), path="unit")],
                       _l("Cơ quan tiếp nhận không tồn tại."), details={"fields": {"unit": "unknown"}})
    counter = db.session.get(Counter, sub.counter_id) if sub.counter_id else None
    if counter is not None and counter.unit_id != unit.id:
        counter = None
    if sub.service_field_id is not None and db.session.get(ServiceField, sub.service_field_id) is None:
        raise Rejected([Problem(_l("Lĩnh vực không hợp lệ."), path="field")], _l("Lĩnh vực không hợp lệ."),
                       details={"fields": {"field": "unknown"}})
    received_on = now.astimezone(zone).date()
    answer_days, transfer_days = deadline_days(unit, sub.kind)
    due_on = calendar.add_working_days(received_on, answer_days)
    transfer_due_on = calendar.add_working_days(received_on, transfer_days)
    code = new_code(rng)
    while db.session.scalar(sa.select(Feedback.id).where(Feedback.code == code)) is not None:
        code = new_code(rng)
    feedback = Feedback(
        code=code, received_unit_id=unit.id, unit_id=unit.id, counter_id=counter.id if counter else None,
        service_field_id=sub.service_field_id, procedure=sub.procedure, kind=sub.kind, sender_type=sub.sender_type,
        channel="counter" if counter is not None and sub.channel == "web" else sub.channel,
        external_code=sub.external_code, title=sub.title, content=sub.content, proposal=sub.proposal,
        status="received", received_at=now, received_on=received_on, due_on=due_on, transfer_due_on=transfer_due_on,
        consent_data=sub.consent_data, consent_publish=sub.consent_publish, show_name=sub.show_name,
        submission_key=sub.submission_key)
    db.session.add(feedback)
    db.session.flush()
    db.session.add(SenderIdentity(feedback_id=feedback.id, name=sub.name, organisation=sub.organisation,
                                  address=sub.address, phone=sub.phone, email=sub.email))
    for checked in sub.files:
        db.session.add(FeedbackAttachment(feedback_id=feedback.id, role="citizen", filename=checked.filename,
                                          stored_name=files.store(storage, checked), mime=checked.mime,
                                          size=len(checked.data)))
    db.session.add(FeedbackTransition(feedback_id=feedback.id, from_status=None, to_status="received",
                                      organiser_id=getattr(actor, "id", None), unit_id=unit.id,
                                      note=None, at=now))
    db.session.flush()
    if actor is not None:
        audit.record(actor, unit.id, "feedback.logged", "feedback", feedback.code, {"channel": feedback.channel}, now)
    return feedback, True


# --- access --------------------------------------------------------------------------------------------------------


def visible_to(organiser, feedback: Feedback) -> bool:
    """Staff see a PAKN their subtree handles now or received."""
    return feedback.unit.is_within(organiser.unit) or feedback.received_unit.is_within(organiser.unit)


def get_for_staff(organiser, code: str) -> Feedback:
    """Load a PAKN by code within the organiser's reach, or 404 (other tenants' codes leak nothing)."""
    normal = normalise_code(code)
    feedback = db.session.scalar(sa.select(Feedback).where(Feedback.code == normal)) if normal else None
    if feedback is None or not visible_to(organiser, feedback):
        raise NotFoundError(_l("Không tìm thấy phản ánh, kiến nghị này trong phạm vi quản lý của bạn."))
    return feedback


def may_see_identity(organiser, feedback: Feedback) -> bool:
    """Only organisers and administrators of the receiving unit (or above it) see who sent a PAKN."""
    return ROLE_RANK[organiser.role] >= ROLE_RANK["organiser"] and feedback.received_unit.is_within(organiser.unit)


def read_identity(organiser, feedback: Feedback, now: dt.datetime, purpose: str = "view") -> SenderIdentity:
    """Return the sender's identity to a permitted organiser, logging the read (view or export)."""
    if not may_see_identity(organiser, feedback):
        raise PermissionDeniedError(_l("Chỉ cán bộ được phân quyền của cơ quan tiếp nhận mới xem được thông tin "
                                       "người gửi."))
    identity = db.session.scalar(sa.select(SenderIdentity).where(SenderIdentity.feedback_id == feedback.id))
    audit.record(organiser, feedback.received_unit_id, f"feedback.identity_{purpose}", "feedback", feedback.code,
                 {}, now)
    return identity


def allowed_actions(organiser, feedback: Feedback, approver_role: str = "administrator") -> list[str]:
    """The actions this organiser may take on this PAKN now (only legal transitions are offered)."""
    if ROLE_RANK[organiser.role] < ROLE_RANK["organiser"] or not feedback.unit.is_within(organiser.unit):
        return []
    actions = [name for name, (sources, _) in ACTIONS.items() if feedback.status in sources]
    actions += [name for name, states in FLAG_ACTIONS.items() if feedback.status in states]
    if "approve" in actions and (feedback.answer is None or feedback.answer.status != "draft"
                                 or ROLE_RANK[organiser.role] < ROLE_RANK[approver_role]):
        actions.remove("approve")
    if "resume" in actions and feedback.status == "answered":
        actions.remove("resume")
    if feedback.status in ("answered", "completed") and (not feedback.consent_publish or feedback.published_at):
        actions = [name for name in actions if name != "publish"]
    if feedback.published_at is None or feedback.hidden:
        actions = [name for name in actions if name != "hide"]
    return actions


def _move(feedback: Feedback, action: str, actor, now: dt.datetime, note: str | None = None,
          detail: dict | None = None) -> None:
    sources, target = ACTIONS[action]
    if feedback.status not in sources:
        raise ConflictError(_l("Không thể thực hiện thao tác này ở trạng thái hiện tại của phản ánh."))
    previous = feedback.status
    feedback.status = target
    db.session.add(FeedbackTransition(feedback_id=feedback.id, from_status=previous, to_status=target,
                                      organiser_id=getattr(actor, "id", None), unit_id=feedback.unit_id,
                                      note=note, at=now))
    db.session.flush()
    audit.record(actor or CITIZEN, feedback.unit_id, f"feedback.{action}", "feedback", feedback.code,
                 {"from": previous, "to": target, **(detail or {})}, now)


def _check_actor(actor, feedback: Feedback, action: str, approver_role: str = "administrator") -> None:
    if actor is None or getattr(actor, "unit", None) is None:
        return  # the command line
    if not feedback.unit.is_within(actor.unit):
        raise NotFoundError(_l("Không tìm thấy phản ánh, kiến nghị này trong phạm vi quản lý của bạn."))
    needed = approver_role if action == "approve" else "organiser"
    if ROLE_RANK[actor.role] < ROLE_RANK[needed]:
        raise PermissionDeniedError(_l("Tài khoản của bạn không có quyền thực hiện thao tác này."))


def _enqueue(feedback: Feedback, subject: str, body: str, now: dt.datetime) -> None:
    identity = db.session.scalar(sa.select(SenderIdentity).where(SenderIdentity.feedback_id == feedback.id))
    if identity is not None and identity.email:
        db.session.add(MailMessage(recipient=identity.email, subject=subject, body=body, created_at=now))


def accept(feedback: Feedback, actor, now: dt.datetime, *, base_url: str = "") -> None:
    """Accept a PAKN for handling; the sender is told by mail with the code and the due date."""
    _check_actor(actor, feedback, "accept")
    _move(feedback, "accept", actor, now)
    feedback.accepted_at = now
    _enqueue(feedback, f"Phản ánh, kiến nghị {feedback.code} đã được tiếp nhận",
             f"Kính gửi Ông/Bà,\n\n{feedback.unit.name} đã tiếp nhận phản ánh, kiến nghị của Ông/Bà "
             f"“{feedback.title}” (mã {feedback.code}).\nHạn trả lời: {feedback.effective_due_on:%d/%m/%Y}.\n"
             f"Tra cứu tình trạng: {base_url}/phan-anh/tra-cuu (mã và 4 số cuối điện thoại).\n\n"
             f"{feedback.unit.name}", now)


def refuse(feedback: Feedback, actor, reason: str, note: str | None, now: dt.datetime) -> None:
    """Do not accept a PAKN, with a reason code (a misfiled complaint or denunciation is closed this way)."""
    if reason not in REFUSAL_REASONS:
        raise AppError(_l("Vui lòng chọn lý do không tiếp nhận."))
    _check_actor(actor, feedback, "refuse")
    _move(feedback, "refuse", actor, now, note, {"reason": reason})
    feedback.reason_code = reason
    feedback.closed_at = now


def transfer(feedback: Feedback, actor, target: Unit | None, note: str | None, now: dt.datetime) -> None:
    """Hand a PAKN outside the unit's competence to the competent unit (within the transfer deadline)."""
    if target is None or not target.is_active or target.id == feedback.unit_id:
        raise AppError(_l("Vui lòng chọn một cơ quan khác để chuyển đến."))
    _check_actor(actor, feedback, "transfer")
    source = feedback.unit_id
    _move(feedback, "transfer", actor, now, note, {"from_unit": source, "to_unit": target.id,
                                                   "late": now.date() > (feedback.transfer_due_on or now.date())})
    feedback.unit_id = target.id
    feedback.unit = target
    db.session.flush()


def simple(feedback: Feedback, action: str, actor, now: dt.datetime, note: str | None = None) -> None:
    """start, ask_sender, resume, insufficient, complete: a move with an optional note."""
    if action not in ("start", "ask_sender", "resume", "insufficient", "complete"):
        raise AppError(_l("Thao tác không hợp lệ."))
    _check_actor(actor, feedback, action)
    _move(feedback, action, actor, now, note)
    if action == "insufficient":
        feedback.closed_at = now
    if action == "complete":
        feedback.closed_at = now


def draft_answer(feedback: Feedback, actor, text: str, now: dt.datetime) -> FeedbackAnswer:
    """Write (or rewrite) the answer; it waits for approval."""
    text = (text or "").strip()
    if len(text) < 10:
        raise AppError(_l("Câu trả lời quá ngắn."))
    if MARKUP.search(text):
        raise AppError(_l("Vui lòng không nhập mã HTML hay đoạn mã (script); chỉ nhập văn bản."))
    _check_actor(actor, feedback, "answer")
    if feedback.status != "in_progress":
        _move(feedback, "answer", actor, now)
    answer = feedback.answer
    if answer is None:
        answer = FeedbackAnswer(feedback_id=feedback.id, unit_id=feedback.unit_id, text=text, status="draft",
                                drafted_by_id=getattr(actor, "id", None), drafted_at=now)
        db.session.add(answer)
        feedback.answer = answer
    else:
        answer.text, answer.public_text, answer.status = text, None, "draft"
        answer.unit_id, answer.drafted_by_id, answer.drafted_at = feedback.unit_id, getattr(actor, "id", None), now
    db.session.flush()
    audit.record(actor, feedback.unit_id, "feedback.answer_drafted", "feedback", feedback.code, {}, now)
    return answer


def approve(feedback: Feedback, actor, now: dt.datetime, zone: ZoneInfo, approver_role: str = "administrator",
            *, base_url: str = "") -> None:
    """Approve the drafted answer: the PAKN is answered (its clock stops) and the sender is told by mail."""
    _check_actor(actor, feedback, "approve", approver_role)
    if feedback.answer is None or feedback.answer.status != "draft":
        raise ConflictError(_l("Chưa có câu trả lời chờ duyệt."))
    _move(feedback, "approve", actor, now)
    feedback.answer.status = "approved"
    feedback.answer.approved_by_id = getattr(actor, "id", None)
    feedback.answer.approved_at = now
    if feedback.answered_at is None:
        feedback.answered_at = now
        feedback.answered_on = now.astimezone(zone).date()
    db.session.flush()
    _enqueue(feedback, f"Trả lời phản ánh, kiến nghị {feedback.code}",
             f"Kính gửi Ông/Bà,\n\n{feedback.unit.name} trả lời phản ánh, kiến nghị “{feedback.title}” "
             f"(mã {feedback.code}) như sau:\n\n{feedback.answer.text}\n\n"
             f"Ông/Bà có thể đánh giá câu trả lời tại {base_url}/phan-anh/tra-cuu.\n\n{feedback.unit.name}", now)


def extend(feedback: Feedback, actor, days: int, reason: str, now: dt.datetime, calendar: Calendar) -> None:
    """Extend the answer deadline by working days, with a reason (once more extends from the extended date)."""
    reason = (reason or "").strip()
    if not reason or MARKUP.search(reason):
        raise AppError(_l("Vui lòng ghi lý do gia hạn."))
    if not 0 < days <= 30:
        raise AppError(_l("Số ngày gia hạn phải từ 1 đến 30 ngày làm việc."))
    _check_actor(actor, feedback, "extend")
    if feedback.status not in FLAG_ACTIONS["extend"]:
        raise ConflictError(_l("Không thể gia hạn ở trạng thái hiện tại."))
    base = feedback.effective_due_on
    feedback.extended_due_on = calendar.add_working_days(base, days)
    feedback.extension_reason = reason
    db.session.add(FeedbackTransition(feedback_id=feedback.id, from_status=feedback.status,
                                      to_status=feedback.status, organiser_id=getattr(actor, "id", None),
                                      unit_id=feedback.unit_id, note=reason, at=now))
    db.session.flush()
    audit.record(actor, feedback.unit_id, "feedback.extend", "feedback", feedback.code,
                 {"days": days, "due": feedback.extended_due_on.isoformat()}, now)


def redact(feedback: Feedback, actor, title: str, content: str, answer_text: str | None, now: dt.datetime) -> None:
    """Set the public version (personal data removed); the originals are kept and the page says who edited it."""
    _check_actor(actor, feedback, "redact")
    title, content = (title or "").strip(), (content or "").strip()
    if not title or not content:
        raise AppError(_l("Tiêu đề và nội dung công khai không được để trống."))
    if any(MARKUP.search(text or "") for text in (title, content, answer_text)):
        raise AppError(_l("Vui lòng không nhập mã HTML hay đoạn mã (script); chỉ nhập văn bản."))
    feedback.public_title, feedback.public_content = title[:300], content
    if answer_text is not None and feedback.answer is not None and answer_text.strip():
        feedback.answer.public_text = answer_text.strip()
    feedback.redacted_by_unit_id = feedback.unit_id
    db.session.flush()
    audit.record(actor, feedback.unit_id, "feedback.redact", "feedback", feedback.code, {}, now)


def publish(feedbacks: Iterable[Feedback], actor, now: dt.datetime) -> list[str]:
    """Publish answered PAKN (question and approved answer together); refuse the whole batch if one may not be."""
    chosen = list(feedbacks)
    if not chosen:
        raise AppError(_l("Chưa chọn phản ánh nào để công khai."))
    for feedback in chosen:
        _check_actor(actor, feedback, "publish")
        if feedback.status not in ("answered", "completed") or feedback.answer is None \
                or feedback.answer.status == "draft":
            raise ConflictError(_l("Phản ánh %(code)s chưa có câu trả lời được duyệt.", code=feedback.code))
        if not feedback.consent_publish:
            raise ConflictError(_l("Người gửi phản ánh %(code)s không đồng ý công khai nội dung.",
                                   code=feedback.code))
    for feedback in chosen:
        feedback.published_at = feedback.published_at or now
        feedback.hidden = False
        feedback.answer.status = "published"
        audit.record(actor, feedback.unit_id, "feedback.publish", "feedback", feedback.code, {}, now)
    db.session.flush()
    return [feedback.code for feedback in chosen]


def hide(feedback: Feedback, actor, reason: str, now: dt.datetime) -> None:
    """Take a published PAKN off the public pages (it stays handled and counted)."""
    _check_actor(actor, feedback, "hide")
    feedback.hidden = True
    db.session.flush()
    audit.record(actor, feedback.unit_id, "feedback.hide", "feedback", feedback.code, {"reason": reason[:200]}, now)


def attach_letter(feedback: Feedback, actor, checked: files.CheckedFile, storage: str, now: dt.datetime) -> None:
    """Attach the signed official letter (PDF) of the answer."""
    _check_actor(actor, feedback, "answer")
    if checked.mime != "application/pdf":
        raise AppError(_l("Công văn trả lời phải là tệp PDF."), status=415)
    db.session.add(FeedbackAttachment(feedback_id=feedback.id, role="letter", filename=checked.filename,
                                      stored_name=files.store(storage, checked), mime=checked.mime,
                                      size=len(checked.data), publish=True, created_at=now))
    db.session.flush()
    audit.record(actor, feedback.unit_id, "feedback.letter", "feedback", feedback.code, {}, now)


# --- the citizen ---------------------------------------------------------------------------------------------------

#: One message for an unknown code and for wrong phone digits: a lookup tells nothing about codes it cannot open.
LOOKUP_REFUSED = _l("Không tìm thấy phản ánh với mã và 4 số cuối điện thoại này. Vui lòng kiểm tra lại.")


def lookup(code: str, last_digits: str) -> Feedback:
    """Open a PAKN with its code and the last four digits of the sender's phone."""
    normal = normalise_code(code)
    digits = (last_digits or "").strip()
    if normal is None or not re.fullmatch(r"\d{4}", digits):
        raise NotFoundError(LOOKUP_REFUSED)
    row = db.session.execute(sa.select(Feedback, SenderIdentity.phone).join(
        SenderIdentity, SenderIdentity.feedback_id == Feedback.id).where(Feedback.code == normal)).first()
    if row is None or not row.phone.endswith(digits):
        raise NotFoundError(LOOKUP_REFUSED)
    return row.Feedback


def by_code(code: str) -> Feedback:
    normal = normalise_code(code)
    feedback = db.session.scalar(sa.select(Feedback).where(Feedback.code == normal)) if normal else None
    if feedback is None:
        raise NotFoundError(_l("Không tìm thấy phản ánh, kiến nghị này."))
    return feedback


def rate(feedback: Feedback, rating: str, now: dt.datetime) -> None:
    """The citizen rates the answer once (hài lòng / chấp nhận / không hài lòng); the PAKN is completed."""
    if rating not in RATINGS:
        raise AppError(_l("Vui lòng chọn một mức đánh giá."))
    if feedback.status not in ("answered", "completed"):
        raise ConflictError(_l("Phản ánh chưa được trả lời nên chưa đánh giá được."))
    if feedback.rating is not None:
        raise ConflictError(_l("Ông/Bà đã đánh giá câu trả lời này."))
    feedback.rating, feedback.rated_at = rating, now
    if feedback.status == "answered":
        _move(feedback, "complete", None, now, None, {"by": "citizen"})
        feedback.closed_at = now
    db.session.flush()


def clarify(feedback: Feedback, text: str, now: dt.datetime) -> None:
    """The citizen asks once for clarification of the answer; the PAKN goes back to the handling unit."""
    text = (text or "").strip()
    if len(text) < 5 or len(text) > 3000:
        raise AppError(_l("Vui lòng nhập nội dung cần làm rõ (5 đến 3.000 ký tự)."))
    if MARKUP.search(text):
        raise AppError(_l("Vui lòng không nhập mã HTML hay đoạn mã (script); chỉ nhập văn bản."))
    if feedback.status != "answered" or feedback.rating is not None:
        raise ConflictError(_l("Chỉ hỏi lại được sau khi có câu trả lời và trước khi đánh giá."))
    if feedback.clarification is not None:
        raise ConflictError(_l("Ông/Bà đã hỏi lại một lần; mỗi phản ánh được hỏi lại một lần."))
    feedback.clarification, feedback.clarification_at = text, now
    previous = feedback.status
    feedback.status = "in_progress"
    feedback.answer.status = "draft" if feedback.answer.status == "approved" else feedback.answer.status
    db.session.add(FeedbackTransition(feedback_id=feedback.id, from_status=previous, to_status="in_progress",
                                      note="clarification", at=now))
    db.session.flush()


# --- lists ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    unit_id: int | None = None
    field_id: int | None = None
    channel: str | None = None
    due: str | None = None  # "overdue" | "soon"


def _scope(root: Unit):
    inside = sa.select(Unit.id).where(Unit.is_within(root))
    return sa.or_(Feedback.unit_id.in_(inside), Feedback.received_unit_id.in_(inside))


def inbox(root: Unit, filters: InboxFilters, today: dt.date, calendar: Calendar, limit: int = 200) -> dict:
    """Return the PAKN of a subtree (filtered) and the counts by status, overdue and due soon."""
    due = sa.func.coalesce(Feedback.extended_due_on, Feedback.due_on)
    soon_limit = calendar.add_working_days(today, DUE_SOON_DAYS) if today.year in calendar.years and \
        (today + dt.timedelta(days=14)).year in calendar.years else today + dt.timedelta(days=DUE_SOON_DAYS)
    query = sa.select(Feedback).where(_scope(root))
    if filters.status in STATUS_SET:
        query = query.where(Feedback.status == filters.status)
    if filters.unit_id:
        query = query.where(Feedback.unit_id == filters.unit_id)
    if filters.field_id:
        query = query.where(Feedback.service_field_id == filters.field_id)
    if filters.channel in CHANNELS:
        query = query.where(Feedback.channel == filters.channel)
    if filters.due == "overdue":
        query = query.where(Feedback.status.in_(OPEN_STATUSES), due < today)
    elif filters.due == "soon":
        query = query.where(Feedback.status.in_(OPEN_STATUSES), due >= today, due <= soon_limit)
    rows = db.session.scalars(query.order_by(Feedback.received_at.desc()).limit(limit)).all()
    counts = dict(db.session.execute(sa.select(Feedback.status, sa.func.count()).where(_scope(root))
                                     .group_by(Feedback.status)).all())
    overdue = db.session.scalar(sa.select(sa.func.count()).where(_scope(root), Feedback.status.in_(OPEN_STATUSES),
                                                                 due < today))
    soon = db.session.scalar(sa.select(sa.func.count()).where(_scope(root), Feedback.status.in_(OPEN_STATUSES),
                                                              due >= today, due <= soon_limit))
    return {"items": rows, "counts": counts, "overdue": overdue or 0, "soon": soon or 0,
            "total": sum(counts.values()), "soon_limit": soon_limit}


STATUS_SET = frozenset(("received", "accepted", "not_accepted", "transferred", "in_progress", "waiting_sender",
                        "answered", "completed", "insufficient"))


def is_overdue(feedback: Feedback, today: dt.date) -> bool:
    due = feedback.effective_due_on
    return feedback.status in OPEN_STATUSES and due is not None and due < today


def overdue(root: Unit, today: dt.date) -> list[Feedback]:
    """Open PAKN of a subtree past their (extended) due date, the latest first."""
    due = sa.func.coalesce(Feedback.extended_due_on, Feedback.due_on)
    return list(db.session.scalars(sa.select(Feedback).where(
        Feedback.unit_id.in_(sa.select(Unit.id).where(Unit.is_within(root))),
        Feedback.status.in_(OPEN_STATUSES), due < today).order_by(due)).all())


def published_query(words: str | None = None, unit: Unit | None = None, field_id: int | None = None,
                    start: dt.date | None = None, end: dt.date | None = None):
    """The published, not hidden PAKN, newest first, filtered by words, unit subtree, field and period."""
    query = sa.select(Feedback).where(Feedback.published_at.is_not(None), Feedback.hidden.is_(False))
    if words:
        for word in words.split()[:8]:
            pattern = f"%{word.lower()}%"
            query = query.where(sa.or_(sa.func.lower(sa.func.coalesce(Feedback.public_title, Feedback.title))
                                       .like(pattern, escape="\\"),
                                       sa.func.lower(sa.func.coalesce(Feedback.public_content, Feedback.content))
                                       .like(pattern, escape="\\")))
    if unit is not None:
        query = query.where(Feedback.unit_id.in_(sa.select(Unit.id).where(Unit.is_within(unit))))
    if field_id:
        query = query.where(Feedback.service_field_id == field_id)
    if start:
        query = query.where(Feedback.received_on >= start)
    if end:
        query = query.where(Feedback.received_on <= end)
    return query.order_by(Feedback.published_at.desc(), Feedback.id.desc())


def get_published(code: str) -> Feedback:
    normal = normalise_code(code)
    feedback = db.session.scalar(sa.select(Feedback).where(
        Feedback.code == normal, Feedback.published_at.is_not(None), Feedback.hidden.is_(False))) if normal else None
    if feedback is None:
        raise NotFoundError(_l("Không tìm thấy phản ánh, kiến nghị đã công khai với mã này."))
    return feedback


def public_view(feedback: Feedback) -> dict:
    """What the public sees of a published PAKN: never the sender's identity, the redacted texts only."""
    answer = feedback.answer
    return {
        "code": feedback.code,
        "title": feedback.public_title or feedback.title,
        "content": feedback.public_content or feedback.content,
        "kind": feedback.kind,
        "sender_type": feedback.sender_type,
        "unit": feedback.unit.name,
        "unit_code": feedback.unit.code,
        "field": feedback.service_field.name if feedback.service_field else None,
        "received_on": feedback.received_on.isoformat(),
        "due_on": feedback.effective_due_on.isoformat() if feedback.effective_due_on else None,
        "answered_on": feedback.answered_on.isoformat() if feedback.answered_on else None,
        "on_time": (feedback.answered_on <= feedback.effective_due_on)
        if feedback.answered_on and feedback.effective_due_on else None,
        "answer": (answer.public_text or answer.text) if answer is not None else None,
        "edited_by": feedback.redacted_by_unit.name if feedback.redacted_by_unit_id else None,
        "rating": feedback.rating,
        "status": feedback.status,
    }


def templates_for(unit: Unit) -> list[AnswerTemplate]:
    """Answer templates of the unit and the units above it."""
    ids = [int(part) for part in unit.path.strip("/").split("/") if part]
    return list(db.session.scalars(sa.select(AnswerTemplate).where(AnswerTemplate.unit_id.in_(ids))
                                   .order_by(AnswerTemplate.name)).all())


def add_template(actor, unit: Unit, name: str, body: str, now: dt.datetime) -> AnswerTemplate:
    name, body = (name or "").strip(), (body or "").strip()
    if not name or len(body) < 10 or MARKUP.search(name + body):
        raise AppError(_l("Mẫu trả lời cần tên và nội dung (chỉ văn bản)."))
    template = AnswerTemplate(unit_id=unit.id, name=name[:200], body=body)
    db.session.add(template)
    db.session.flush()
    audit.record(actor, unit.id, "feedback.template_added", "unit", unit.code, {"name": name[:200]}, now)
    return template


def public_statistics() -> dict:
    """Counts the public may read (never identities): every PAKN by status, and the published ones by field and
    by unit."""
    by_status = dict(db.session.execute(sa.select(Feedback.status, sa.func.count()).group_by(Feedback.status)).all())
    visible = sa.and_(Feedback.published_at.is_not(None), Feedback.hidden.is_(False))
    by_field = db.session.execute(sa.select(ServiceField.name, sa.func.count()).join(
        Feedback, Feedback.service_field_id == ServiceField.id).where(visible).group_by(ServiceField.name)
        .order_by(sa.func.count().desc()).limit(10)).all()
    by_unit = db.session.execute(sa.select(Unit.name, sa.func.count()).join(Feedback, Feedback.unit_id == Unit.id)
                                 .group_by(Unit.name).order_by(sa.func.count().desc()).limit(10)).all()
    return {"by_status": by_status, "by_field": [tuple(row) for row in by_field],
            "by_unit": [tuple(row) for row in by_unit], "total": sum(by_status.values())}
