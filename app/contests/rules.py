"""The rules of a contest and of a round in plain Vietnamese, generated from its settings (never typed twice).

The home page, the page that confirms the start of an attempt, and the consent of the registration form all read
these sentences, so what they say cannot contradict what the server enforces. Pure functions of the spec.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask_babel import format_decimal
from flask_babel import gettext as _

from app.contests.spec import ContestSpec, RoundSpec


def duration_text(seconds: float | None) -> str:
    """Return a duration the way people say it: "12 phút 05 giây", "45 giây", "1 giờ 02 phút 03 giây"; "–" if none."""
    if seconds is None or seconds != seconds:
        return "–"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d giờ %(m)02d phút %(s)02d giây", h=hours, m=minutes, s=secs)
    if minutes:
        return _("%(m)d phút %(s)02d giây", m=minutes, s=secs)
    return _("%(s)d giây", s=secs)


def limit_text(seconds: int) -> str:
    """Return a time limit: "15 phút", "1 giờ 30 phút", "90 giây"."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if secs:
        return duration_text(seconds)
    if hours:
        return _("%(h)d giờ %(m)02d phút", h=hours, m=minutes) if minutes else _("%(h)d giờ", h=hours)
    return _("%(m)d phút", m=minutes)


def number(value: float) -> str:
    """Return a number the Vietnamese way (1.204; 84,2)."""
    return format_decimal(value)


def _moment(value: dt.datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return _("%(time)s ngày %(date)s", time=local.strftime("%H:%M"), date=local.strftime("%d/%m/%Y"))


_CRITERIA = {
    "prediction_distance": lambda: _("dự đoán gần với kết quả thực hơn xếp trên"),
    "duration": lambda: _("thời gian làm bài ít hơn xếp trên"),
    "submitted_at": lambda: _("người nộp bài sớm hơn xếp trên"),
    "started_at": lambda: _("người bắt đầu làm bài sớm hơn xếp trên"),
}

_COUNTS = {
    "best": lambda: _("tính lượt có kết quả tốt nhất"),
    "first": lambda: _("tính lượt thi đầu tiên"),
    "last": lambda: _("tính lượt thi cuối cùng"),
}


def ranking_sentence(spec: ContestSpec) -> str:
    """Return how ties are broken, in the configured order."""
    parts = [_("điểm cao hơn xếp trên")]
    for index, criterion in enumerate(spec.ranking.criteria[1:]):
        lead = _("bằng điểm thì") if index == 0 else _("vẫn bằng thì")
        parts.append(f"{lead} {_CRITERIA[criterion]()}")
    parts.append(_("nếu vẫn bằng nhau, Ban Tổ chức quyết định"))
    return _("Xếp hạng: %(order)s.", order="; ".join(parts))


def retention_sentence(spec: ContestSpec) -> str:
    """Return how long personal data is kept (the period the consent refers to)."""
    return _("Dữ liệu cá nhân được lưu đến hết %(n)s ngày sau khi công bố kết quả cuộc thi, sau đó được xoá; "
             "thống kê bài thi không kèm danh tính được giữ lại.", n=number(spec.registration.retention_days))


def consent_text(spec: ContestSpec) -> str:
    """Return the consent shown at registration: the contest's text followed by its retention period."""
    return f"{spec.registration.consent_text.strip()} {retention_sentence(spec)}"


def attempts_sentence(round_: RoundSpec) -> str:
    """Return how many attempts a round allows and which one counts."""
    if round_.attempts_allowed == 1:
        return _("Mỗi người được thi 1 lượt ở vòng này.")
    if round_.attempts_allowed == 0:
        return _("Không giới hạn số lượt thi ở vòng này; %(which)s.", which=_COUNTS[round_.counts]())
    return _("Mỗi người được thi %(n)d lượt ở vòng này; %(which)s.", n=round_.attempts_allowed,
             which=_COUNTS[round_.counts]())


def round_rules(spec: ContestSpec, round_: RoundSpec, zone: ZoneInfo) -> list[str]:
    """Return the rules of one round, one sentence each, from its settings."""
    rules = [
        _("Thời gian mở vòng thi: từ %(start)s đến %(end)s (giờ Việt Nam).",
          start=_moment(round_.opens_at, zone), end=_moment(round_.closes_at, zone)),
        _("Mỗi lượt thi gồm %(n)d câu hỏi trắc nghiệm rút ngẫu nhiên từ ngân hàng câu hỏi; mỗi câu trả lời đúng "
          "được 1 điểm, câu sai hoặc bỏ trống không bị trừ điểm.", n=round_.question_count),
    ]
    if round_.time_limit_seconds:
        rules.append(_("Thời gian làm bài: %(limit)s, tính theo đồng hồ máy chủ từ lúc bấm “Bắt đầu”. Hết giờ, "
                       "hệ thống tự nộp các câu trả lời đã lưu.", limit=limit_text(round_.time_limit_seconds)))
    else:
        rules.append(_("Không giới hạn thời gian làm bài; bài thi phải nộp trước khi vòng thi kết thúc."))
    rules.append(attempts_sentence(round_))
    prediction = round_.prediction
    if prediction.enabled:
        need = _("bắt buộc") if prediction.required else _("không bắt buộc")
        rules.append(_("Câu hỏi dự đoán (%(need)s): “%(question)s” Câu dự đoán chỉ dùng để xếp hạng khi bằng "
                       "điểm và không sửa được sau khi nộp bài.", need=need, question=prediction.question))
    rules.append(ranking_sentence(spec))
    shown = {
        "never": _("Đáp án đúng không được công bố trên trang kết quả."),
        "after_round_close": _("Đáp án đúng được công bố sau khi vòng thi kết thúc."),
        "immediately": _("Đáp án đúng hiện ngay sau khi nộp bài."),
    }
    rules.append(shown[round_.show_correct])
    return rules


def contest_rules(spec: ContestSpec, zone: ZoneInfo) -> list[str]:
    """Return the rules of the whole contest (eligibility, rounds, ranking, prizes, personal data)."""
    rules = []
    who = ", ".join(group.name.lower() if index else group.name for index, group in enumerate(spec.groups))
    registration = spec.registration
    if registration.min_age is not None and registration.max_age is not None:
        rules.append(_("Đối tượng dự thi: %(who)s, từ đủ %(min)d đến %(max)d tuổi.", who=who,
                       min=registration.min_age, max=registration.max_age))
    elif registration.min_age is not None:
        rules.append(_("Đối tượng dự thi: %(who)s, từ đủ %(min)d tuổi.", who=who, min=registration.min_age))
    else:
        rules.append(_("Đối tượng dự thi: %(who)s.", who=who))
    rules.append(_("Cuộc thi gồm %(n)d vòng thi.", n=len(spec.rounds)))
    for round_ in spec.rounds:
        limit = (limit_text(round_.time_limit_seconds) if round_.time_limit_seconds
                 else _("không giới hạn thời gian"))
        rules.append(_("%(name)s (từ %(start)s đến %(end)s): %(n)d câu hỏi, %(limit)s. %(attempts)s",
                       name=round_.name, start=_moment(round_.opens_at, zone), end=_moment(round_.closes_at, zone),
                       n=round_.question_count, limit=limit, attempts=attempts_sentence(round_)))
    rules.append(ranking_sentence(spec))
    for group in spec.groups:
        tiers = spec.round_prizes.get(group.code, ())
        if tiers:
            listed = ", ".join(_("%(n)d %(label)s", n=tier.count, label=tier.label) for tier in tiers)
            rules.append(_("Giải mỗi vòng cho %(group)s: %(prizes)s.", group=group.name.lower(), prizes=listed))
        tiers = spec.overall_prizes.get(group.code, ())
        if tiers:
            listed = ", ".join(_("%(n)d %(label)s", n=tier.count, label=tier.label) for tier in tiers)
            rules.append(_("Giải toàn cuộc thi cho %(group)s: %(prizes)s.", group=group.name.lower(), prizes=listed))
    rules.append(retention_sentence(spec))
    return rules
