"""Participants: registration (contest.md §5.2), pre-issued accounts, sign-in with lockout, exclusion by the
committee, and their personal data (masked in public lists, exported with an audit entry, erased after retention).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app import cache
from app.auth.audit import Actor, record
from app.contests.imports import ParticipantRow, parse_birth_date
from app.contests.models import Contest, Participant
from app.contests.spec import contest_spec
from app.database import insert_for
from app.errors import AppError, ConflictError
from app.extensions import db
from app.units.models import Unit
from app.validation import Message, Problem, Rejected, ascii_digits

MIN_PASSWORD_LENGTH = 8
#: Generated login codes for pre-issued accounts: no look-alike characters (0/O, 1/I/L).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_FAILED_LOGINS = 10
LOCKOUT = dt.timedelta(minutes=15)
#: Vietnamese mobile numbers after the 2018 renumbering: 03x, 05x, 07x, 08x, 09x + 7 digits.
_MOBILE = re.compile(r"0(?:3[2-9]|5[25689]|7[06-9]|8[1-9]|9[0-9])[0-9]{7}")
#: A CCCD number: 12 ASCII digits (digits of other scripts are converted first, see ``ascii_digits``).
_CCCD = re.compile(r"[0-9]{12}")


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_phone(raw: str) -> str | None:
    """Return a Vietnamese mobile number as "0xxxxxxxxx" (accepting +84, spaces, dots, dashes, and the digits of
    any script, written back in ASCII), or None."""
    digits = ascii_digits(re.sub(r"[\s.\-()]", "", raw or ""))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


def keyed_hash(secret: str, purpose: str, value: str) -> str:
    """Return HMAC-SHA256 of a value under a key derived from the secret for one purpose (hex)."""
    key = hmac.new(secret.encode(), f"contest-{purpose}".encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def mask_name(full_name: str | None) -> str:
    """Return a name for public lists: family name in full, the other names as initials ("Nguyễn V. A.")."""
    if not full_name:
        return "—"
    words = full_name.split()
    return " ".join([words[0], *(f"{word[0]}." for word in words[1:])])


def mask_phone(phone: str | None) -> str:
    """Return a phone number for public lists: only its last four digits ("***1234")."""
    return f"***{phone[-4:]}" if phone else "—"


def age_on(birth: dt.date, day: dt.date) -> int:
    """Return the age in whole years on a day."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Registration:
    """What a participant typed into the registration form (raw text; the service checks it)."""

    phone: str
    full_name: str
    birth_date: str
    unit_id: str
    group: str
    cccd: str
    password: str
    password_again: str
    consent: bool
    #: Optional: where a password-reset link may be sent.
    email: str = ""


def registration_units(contest: Contest) -> list[Unit]:
    """Return the active units a participant may pick: the organiser unit's subtree, in tree order."""
    return list(db.session.scalars(
        sa.select(Unit).where(Unit.is_within(contest.unit), Unit.is_active).order_by(Unit.path)
    ))


def register_participant(contest: Contest, form: Registration, *, now: dt.datetime, zone: ZoneInfo,
                         secret: str, client_hash: str | None = None) -> Participant:
    """Create a participant after checking every field (contest.md §5.2); one account per phone and contest.

    :raise Rejected: field → Vietnamese message for every mistake; nothing is stored.
    :raise ConflictError: the contest does not take registrations now.
    """
    if not contest.accepts_attempts:
        raise ConflictError(_l("Cuộc thi hiện không nhận đăng ký."))
    spec = contest_spec(contest, zone)
    rules = spec.registration
    errors: dict[str, str] = {}
    phone = normalise_phone(form.phone)
    if phone is None:
        errors["phone"] = _l("Số điện thoại di động không hợp lệ (10 chữ số, ví dụ 0912345678).")
    elif db.session.scalar(sa.select(Participant.id).where(Participant.contest_id == contest.id,
                                                           Participant.phone == phone)) is not None:
        errors["phone"] = _l("Số điện thoại này đã đăng ký dự thi. Vui lòng đăng nhập.")
    full_name = " ".join(unicodedata.normalize("NFC", form.full_name or "").split())
    if len(full_name) < 2 or len(full_name.split()) < 2:
        errors["full_name"] = _l("Vui lòng ghi đầy đủ họ và tên.")
    elif len(full_name) > 200 or any(char.isdigit() for char in full_name):
        errors["full_name"] = _l("Họ và tên không hợp lệ.")
    birth = parse_birth_date(form.birth_date) if form.birth_date else None
    today = now.astimezone(zone).date()
    if birth is None:
        errors["birth_date"] = _l("Vui lòng nhập ngày sinh hợp lệ (ngày/tháng/năm).")
    elif birth > today or birth.year < 1900:
        errors["birth_date"] = _l("Ngày sinh không hợp lệ.")
    elif rules.min_age is not None and age_on(birth, today) < rules.min_age:
        errors["birth_date"] = _l("Người dự thi phải từ đủ %(n)d tuổi trở lên.", n=rules.min_age)
    elif rules.max_age is not None and age_on(birth, today) > rules.max_age:
        errors["birth_date"] = _l("Người dự thi không quá %(n)d tuổi.", n=rules.max_age)
    unit = _unit_in_contest(contest, form.unit_id)
    if unit is None:
        errors["unit_id"] = _l("Vui lòng chọn đơn vị trong danh sách.")
    if spec.group(form.group) is None:
        errors["group"] = _l("Vui lòng chọn đối tượng dự thi.")
    cccd = ascii_digits(re.sub(r"\s", "", form.cccd or ""))
    if rules.cccd == "off":
        cccd = ""
    elif cccd and not _CCCD.fullmatch(cccd):
        errors["cccd"] = _l("Số CCCD gồm đúng 12 chữ số.")
    elif not cccd and rules.cccd == "required":
        errors["cccd"] = _l("Vui lòng nhập số CCCD (12 chữ số).")
    email = (form.email or "").strip()
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        errors["email"] = _l("Địa chỉ email không hợp lệ (ví dụ ten@example.vn).")
    if len(form.password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = _l("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)
    elif form.password != form.password_again:
        errors["password_again"] = _l("Hai lần nhập mật khẩu không khớp.")
    if not form.consent:
        errors["consent"] = _l("Vui lòng đồng ý với việc xử lý dữ liệu cá nhân để dự thi.")
    if errors:
        raise _invalid_registration(errors)
    values = dict(
        contest_id=contest.id, phone=phone, full_name=full_name, birth_date=birth, unit_id=unit.id,
        group_code=form.group, cccd_hash=keyed_hash(secret, "cccd", cccd) if cccd else None,
        cccd_last4=cccd[-4:] if cccd else None, email=email or None,
        password_hash=generate_password_hash(form.password), consent_at=now,
        consent_version=consent_version(f"{rules.consent_text}\n{rules.retention_days}"), created_at=now,
    )
    # The unique (contest, phone) constraint decides between two concurrent registrations of one number.
    participant_id = db.session.execute(insert_for(db.session, Participant).values(**values).on_conflict_do_nothing()
                                        .returning(Participant.id)).scalar()
    if participant_id is None:
        raise _invalid_registration({"phone": _l("Số điện thoại này đã đăng ký dự thi. Vui lòng đăng nhập.")})
    return db.session.get(Participant, participant_id)


def _invalid_registration(errors: dict[str, Message]) -> Rejected:
    """Refuse a registration form: every field's mistake, shown beside the field (``Rejected.by_field``)."""
    return Rejected.fields(errors, _l("Thông tin đăng ký chưa hợp lệ. Vui lòng xem lại các mục được đánh dấu."),
                           key="errors")


def consent_version(text: str) -> str:
    """Return the short hash that records which purpose text was agreed to."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _unit_in_contest(contest: Contest, unit_id: str | int) -> Unit | None:
    """Return the active unit with this id inside the contest's subtree, or None."""
    try:
        unit = db.session.get(Unit, int(unit_id))
    except (TypeError, ValueError):
        return None
    if unit is None or not unit.is_active or not unit.is_within(contest.unit):
        return None
    return unit


@dataclass(frozen=True)
class Credential:
    """A pre-issued account's login, shown to the organiser once."""

    row: int
    phone: str
    full_name: str
    code: str


def preissue_participants(contest: Contest, rows: Sequence[ParticipantRow], *, actor: Actor, now: dt.datetime,
                          zone: ZoneInfo, secret: str, rng: secrets.SystemRandom | None = None) -> list[Credential]:
    """Create accounts from a checked list, all or nothing; return each account's generated login code.

    The code is random (8 characters, about 40 bits) and only its hash is stored: hand it to the person once.
    :raise Rejected: listing every row problem (bad phone, unit outside the subtree, unknown group, duplicates).
    """
    spec = contest_spec(contest, zone)
    units = {unit.code: unit for unit in registration_units(contest)}
    taken = set(db.session.scalars(sa.select(Participant.phone).where(Participant.contest_id == contest.id)))
    problems: list[Message] = []
    seen: dict[str, int] = {}
    cleaned = []
    default_group = spec.groups[0].code if len(spec.groups) == 1 else None
    for row in rows:
        phone = normalise_phone(row.phone)
        group = row.group or default_group
        if phone is None:
            problems.append(_l("Dòng %(row)d: số điện thoại “%(phone)s” không hợp lệ", row=row.row, phone=row.phone))
        elif phone in taken:
            problems.append(_l("Dòng %(row)d: số điện thoại %(phone)s đã có tài khoản trong cuộc thi",
                               row=row.row, phone=phone))
        elif phone in seen:
            problems.append(_l("Dòng %(row)d: số điện thoại %(phone)s trùng với dòng %(first)d",
                               row=row.row, phone=phone, first=seen[phone]))
        if len(row.full_name.split()) < 2:
            problems.append(_l("Dòng %(row)d: thiếu họ và tên đầy đủ", row=row.row))
        if row.unit not in units:
            problems.append(_l("Dòng %(row)d: đơn vị “%(code)s” không có trong phạm vi cuộc thi",
                               row=row.row, code=row.unit))
        if group is None or spec.group(group) is None:
            problems.append(_l("Dòng %(row)d: đối tượng “%(code)s” không có trong cuộc thi",
                               row=row.row, code=row.group))
        cccd = ascii_digits(re.sub(r"\s", "", row.cccd))
        if cccd and not _CCCD.fullmatch(cccd):
            problems.append(_l("Dòng %(row)d: số CCCD phải gồm đúng 12 chữ số", row=row.row))
        if phone:
            seen.setdefault(phone, row.row)
        cleaned.append((row, phone, group, cccd))
    if problems:
        raise Rejected([Problem(message) for message in problems],
                       _l("Danh sách có lỗi; chưa tài khoản nào được tạo."))
    chooser = rng or secrets.SystemRandom()
    credentials = []
    values = []
    for row, phone, group, cccd in cleaned:
        code = "".join(chooser.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        credentials.append(Credential(row.row, phone, row.full_name, code))
        values.append(dict(
            contest_id=contest.id, phone=phone, full_name=row.full_name, birth_date=row.birth_date,
            unit_id=units[row.unit].id, group_code=group,
            cccd_hash=keyed_hash(secret, "cccd", cccd) if cccd else None, cccd_last4=cccd[-4:] if cccd else None,
            # A random 40-bit code needs no slow hash to resist guessing; pbkdf2 keeps big lists quick to issue.
            password_hash=generate_password_hash(code, method="pbkdf2:sha256:1000"), preissued=True, created_at=now,
        ))
    db.session.execute(sa.insert(Participant), values)
    record(actor, contest.unit_id, "participant.preissue", "contest", contest.id, {"count": len(values)}, now)
    return credentials


def authenticate(contest: Contest, phone_text: str, password: str, *, now: dt.datetime) -> Participant | None:
    """Return the participant these credentials name, or None; failures are counted and lock the account.

    The caller commits either way (so the failure count sticks) and shows one message for every failure.
    """
    phone = normalise_phone(phone_text)
    participant = None if phone is None else db.session.scalar(
        sa.select(Participant).where(Participant.contest_id == contest.id, Participant.phone == phone))
    if participant is None or participant.password_hash is None:
        check_password_hash(_decoy_hash(), password or "")
        return None
    if participant.locked_until is not None and participant.locked_until > now:
        return None
    if not check_password_hash(participant.password_hash, password or ""):
        participant.failed_logins += 1
        if participant.failed_logins >= MAX_FAILED_LOGINS:
            participant.failed_logins = 0
            participant.locked_until = now + LOCKOUT
        return None
    participant.failed_logins = 0
    participant.locked_until = None
    return participant


def end_sessions(participant: Participant) -> None:
    """Revoke every session of a participant (sign-out, password change or reset): their cookies open nothing."""
    participant.session_version += 1
    db.session.flush()


@cache.constants.memoise
def _decoy_hash() -> str:
    # A wrong phone costs as long as a wrong password, so responses do not reveal who registered.
    return generate_password_hash("no participant has this password")


def retention_ends(contest: Contest, zone: ZoneInfo) -> dt.datetime | None:
    """Return when personal data may be erased: retention days after results (or closing); None while running."""
    end = contest.results_published_at or contest.closed_at
    if end is None or contest.status in ("draft", "open"):
        return None
    return end + dt.timedelta(days=contest_spec(contest, zone).registration.retention_days)


def erase_personal_data(contest: Contest, *, actor: Actor, now: dt.datetime, zone: ZoneInfo) -> int:
    """Erase names, phones, birth dates, CCCD hashes and passwords; attempts stay as anonymous statistics.

    :raise ConflictError: before the retention period has ended.
    """
    ends = retention_ends(contest, zone)
    if ends is None or now < ends:
        when = ends.astimezone(zone).strftime("%d/%m/%Y") if ends else None
        raise ConflictError(_l("Chưa hết thời hạn lưu trữ dữ liệu cá nhân (đến %(day)s).", day=when)
                            if when else _l("Cuộc thi chưa kết thúc nên chưa thể xoá dữ liệu cá nhân."))
    result = db.session.execute(
        sa.update(Participant).where(Participant.contest_id == contest.id, Participant.erased_at.is_(None))
        .values(phone=None, full_name=None, birth_date=None, cccd_hash=None, cccd_last4=None,
                password_hash=None, email=None, erased_at=now, session_version=Participant.session_version + 1)
    )
    contest.personal_data_erased_at = now
    record(actor, contest.unit_id, "participant.erase", "contest", contest.id, {"count": result.rowcount},
           now)
    return result.rowcount


PERSONAL_DATA_COLUMNS = ["participant_id", "phone", "full_name", "birth_date", "unit", "group", "cccd_last4",
                         "consent_at", "consent_version", "preissued", "excluded", "excluded_reason", "created_at"]


def export_personal_data(actor: Actor, contest: Contest, fmt: str, *, zone: ZoneInfo, now: dt.datetime
                         ) -> list[list[object]]:
    """Log the export of the participants' personal data, then return its rows (PERSONAL_DATA_COLUMNS)."""
    record(actor, contest.unit_id, "participant.export", "contest", contest.id, {"format": fmt}, now)
    return list(personal_data_rows(contest, zone))


def personal_data_rows(contest: Contest, zone: ZoneInfo) -> Iterator[list[object]]:
    """Yield the participants' personal data (``export_personal_data`` logs who asked for it)."""
    query = (sa.select(Participant, Unit.code).join(Unit, Unit.id == Participant.unit_id)
             .where(Participant.contest_id == contest.id).order_by(Participant.id))
    for participant, unit_code in db.session.execute(query):
        yield [participant.id, participant.phone, participant.full_name,
               participant.birth_date.isoformat() if participant.birth_date else None, unit_code,
               participant.group_code, participant.cccd_last4, _local(participant.consent_at, zone),
               participant.consent_version, int(participant.preissued), int(participant.excluded),
               participant.excluded_reason, _local(participant.created_at, zone)]


def _local(moment: dt.datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def set_excluded(participant: Participant, excluded: bool, reason: str, *, actor: Actor, now: dt.datetime) -> None:
    """Exclude a participant from rankings and prizes (or include them again); the reason is kept and audited."""
    reason = (reason or "").strip()[:300]
    if excluded and not reason:
        raise AppError(_l("Vui lòng ghi lý do loại khỏi xếp hạng."))
    participant.excluded = excluded
    participant.excluded_reason = reason if excluded else None
    participant.contest.updated_at = now
    record(actor, participant.contest.unit_id, "participant.exclude" if excluded else "participant.include",
           "participant", participant.id, {"reason": reason}, now)
