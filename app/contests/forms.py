"""Organiser forms of the contest area (CSRF on every one); participants' forms are checked by the services.

The settings forms (general, audiences, a round, ranking and prizes) each edit one part of a stored definition:
``fill`` shows the part, ``apply`` writes the submitted part into a copy of the definition and says which form
field stands for which definition path, so that what ``parse_contest`` and ``save_contest`` refuse (the one
validation of a definition, shared with YAML) is shown on the field it concerns.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateTimeLocalField, DecimalField, FieldList, Form, FormField, HiddenField,
                     IntegerField, StringField, TextAreaField)
from wtforms.fields.core import Field
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from app.contests.models import CONTEST_TRANSITIONS
from app.contests.spec import DEFAULT_CONSENT, DEFAULT_PREDICTION_QUESTION
from app.forms import choice_list, select_field
from app.stats.ranking import PRESETS

#: The local time text of definitions ("2026-03-02 10:00"); the date-time inputs send "2026-03-02T10:00".
DEFINITION_TIME = "%Y-%m-%d %H:%M"
_NUMBER = _l("Vui lòng nhập một số nguyên.")
_DUPLICATE_GROUP = _l("Trùng tên với một đối tượng ở trên; mỗi đối tượng một tên.")
_MOMENT = _l("Ngày giờ không hợp lệ; vui lòng chọn ngày và giờ (giờ Việt Nam).")

RANKING_PRESETS = {
    "default": _l("Điểm; bằng điểm thì dự đoán gần đúng hơn; rồi làm bài nhanh hơn; rồi nộp sớm hơn (mặc định)"),
    "ward_party": _l("Điểm; bằng điểm thì làm bài nhanh hơn; rồi dự đoán gần đúng hơn (kiểu cuộc thi của Đảng bộ)"),
    "youth_union": _l("Điểm; bằng điểm thì làm bài nhanh hơn; rồi bắt đầu sớm hơn (kiểu cuộc thi của Đoàn Thanh "
                      "niên)"),
}
LEADERBOARD_CHOICES = (("hidden", _l("Ẩn đến khi công bố kết quả")),
                       ("top_n", _l("Hiện những người đứng đầu")),
                       ("public", _l("Hiện toàn bộ bảng xếp hạng")))
AGGREGATION_CHOICES = (("sum_of_round_scores", _l("Tổng điểm các vòng")),
                       ("best_round", _l("Điểm của vòng tốt nhất")))
CERTIFICATE_AWARDS = (("winners", _l("Người đạt giải")),
                      ("completers", _l("Mọi người đã hoàn thành bài thi")),
                      ("threshold", _l("Người đạt từ mức điểm tối thiểu trở lên")))
CCCD_CHOICES = (("optional", _l("Không bắt buộc")), ("required", _l("Bắt buộc")), ("off", _l("Không hỏi")))
CERTIFICATE_TITLES = (("giay_chung_nhan", _l("Giấy chứng nhận")), ("giay_khen", _l("Giấy khen")))
PRIZE_SCOPES = (("round", _l("Mỗi vòng thi")), ("overall", _l("Toàn cuộc thi")))
DRAW_MODES = (("random", _l("Ngẫu nhiên trong các câu đã lọc")),
              ("blueprint", _l("Theo cơ cấu: số câu cho từng chủ đề hoặc mức độ")))
DIFFICULTIES = (("1", _l("Dễ")), ("2", _l("Trung bình")), ("3", _l("Khó")))
COUNTS = (("best", _l("Lượt có kết quả tốt nhất")), ("first", _l("Lượt đầu tiên")), ("last", _l("Lượt cuối cùng")))
SHOW_CORRECT = (("after_round_close", _l("Sau khi vòng thi kết thúc")), ("immediately", _l("Ngay sau khi nộp bài")),
                ("never", _l("Không công bố")))
PREDICTION_TARGETS = (
    ("persons_full_marks", _l("Số người trả lời đúng tất cả các câu")),
    ("attempts_full_marks", _l("Số lượt thi trả lời đúng tất cả các câu")),
    ("persons_participating", _l("Số người tham gia vòng thi")),
    ("attempts_participating", _l("Số lượt tham gia vòng thi")),
    ("percent_persons_full_marks", _l("Tỷ lệ phần trăm người trả lời đúng tất cả các câu")),
)


def _integer(label, *validators, **options) -> IntegerField:
    return IntegerField(label, validators=list(validators), invalid_value_message=_NUMBER, **options)


class LocalMomentField(DateTimeLocalField):
    """A date and time in Vietnam local time (``<input type="datetime-local">``); empty is None, not a mistake."""

    def __init__(self, label, validators=None, **options) -> None:
        super().__init__(label, validators, format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
                         invalid_value_message=_MOMENT, **options)

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and not "".join(valuelist).strip():
            self.data = None
            return
        super().process_formdata(valuelist)

    @property
    def text(self) -> str:
        """The moment as the local text of definitions."""
        return self.data.strftime(DEFINITION_TIME)


def _moment(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, DEFINITION_TIME)


def group_code(name: str, taken: set[str]) -> str:
    """Return a code for an audience group from its name ("Người dân" → "nguoi_dan"), unlike every taken one.

    Codes are what rounds, prizes and registrations refer to; the organiser only ever sees the name.
    """
    plain = unicodedata.normalize("NFD", name.replace("đ", "d").replace("Đ", "D"))
    plain = "".join(char for char in plain if not unicodedata.combining(char)).lower()
    base = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")[:28].strip("_") or "nhom"
    if not base[0].isalpha():
        base = f"nhom_{base}"[:28]
    code, number = base, 2
    while code in taken:
        code, number = f"{base}_{number}", number + 1
    return code


@dataclass
class Edit:
    """A definition with one part edited, and the form field that stands for each definition path of that part."""

    definition: dict
    fields: dict[str, Field] = field(default_factory=dict)
    #: True when the form itself found a mistake (shown on its field); nothing is then checked further or saved.
    refused: bool = False

    def field_for(self, location: str) -> Field | None:
        """Return the field of the longest key that contains a problem's ``location`` (``rounds[0].draw.mode`` → the
        draw)."""
        best = None
        for key, found in self.fields.items():
            if location == key or location.startswith((key + ".", key + "[")):
                if best is None or len(key) > len(best[0]):
                    best = (key, found)
        return best[1] if best else None


class UploadForm(FlaskForm):
    """One file to check and import (questions, accounts, or a contest definition)."""

    file = FileField(_l("Tệp"), validators=[FileRequired(_l("Vui lòng chọn tệp."))])


class BankUploadForm(UploadForm):
    """A question file and the bank it goes into."""

    bank = StringField(_l("Mã ngân hàng"), validators=[
        DataRequired(_l("Vui lòng nhập mã ngân hàng.")),
        Regexp(r"^[a-z0-9][a-z0-9-]{0,63}$", message=_l("Chỉ dùng chữ thường không dấu, chữ số và “-”.")),
    ])
    title = StringField(_l("Tên ngân hàng (khi tạo mới)"), validators=[Optional(), Length(max=300)])


class DefinitionForm(FlaskForm):
    """A whole contest definition as YAML text."""

    definition = TextAreaField(_l("Định nghĩa cuộc thi (YAML)"),
                               validators=[DataRequired(_l("Định nghĩa không được để trống.")),
                                           Length(max=1_000_000)])


def _group_lines(text: str) -> list[dict]:
    groups: list[dict] = []
    for line in text.splitlines():
        if line.strip():
            groups.append({"code": group_code(line.strip(), {group["code"] for group in groups}),
                           "name": line.strip()})
    return groups


class NewContestForm(FlaskForm):
    """The essentials of a new contest and its first round; the rest takes the defaults (editable in the settings)."""

    slug = StringField(_l("Mã cuộc thi (dùng trong đường dẫn)"), validators=[
        DataRequired(_l("Vui lòng nhập mã cuộc thi.")),
        Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$", message=_l("Chỉ dùng chữ thường không dấu, chữ số và “-”.")),
        Length(max=64)])
    title = StringField(_l("Tên cuộc thi"), validators=[DataRequired(_l("Vui lòng nhập tên cuộc thi.")),
                                                         Length(max=300)])
    unit = select_field(_l("Đơn vị tổ chức"), validators=[InputRequired(_l("Vui lòng chọn đơn vị."))])
    legal_basis = TextAreaField(_l("Căn cứ (kế hoạch, quyết định)"), validators=[Optional(), Length(max=2000)])
    rules = TextAreaField(_l("Thể lệ"), validators=[Optional(), Length(max=50_000)])
    groups = TextAreaField(_l("Đối tượng dự thi (mỗi dòng một đối tượng)"),
                           default="Cán bộ, công chức, viên chức\nNgười dân",
                           validators=[DataRequired(_l("Cần ít nhất một đối tượng dự thi."))])
    bank = select_field(_l("Ngân hàng câu hỏi"), validators=[InputRequired(_l("Vui lòng chọn ngân hàng."))])
    opens_at = LocalMomentField(_l("Vòng 1 mở lúc (giờ Việt Nam)"),
                                validators=[InputRequired(_l("Vui lòng chọn thời điểm mở."))])
    closes_at = LocalMomentField(_l("Vòng 1 đóng lúc (giờ Việt Nam)"),
                                 validators=[InputRequired(_l("Vui lòng chọn thời điểm đóng."))])
    question_count = _integer(_l("Số câu hỏi mỗi lượt"), InputRequired(_l("Vui lòng nhập số câu.")),
                              NumberRange(1, 200), default=20)
    time_limit_minutes = _integer(_l("Thời gian làm bài (phút; 0 = đến khi vòng đóng)"),
                                  InputRequired(_l("Vui lòng nhập thời gian.")), NumberRange(0, 1440), default=15)
    attempts_allowed = _integer(_l("Số lượt thi mỗi người (0 = không giới hạn)"),
                                InputRequired(_l("Vui lòng nhập số lượt.")), NumberRange(0, 100), default=1)

    def starter_definition(self) -> Edit:
        """Return the definition of the new contest with one round (defaults elsewhere)."""
        definition = {
            "slug": self.slug.data, "title": self.title.data, "unit": self.unit.data,
            "legal_basis": self.legal_basis.data or "", "rules": self.rules.data or "",
            "audience_groups": _group_lines(self.groups.data) or None,
            "rounds": [{"name": "Vòng 1", "opens_at": self.opens_at.text, "closes_at": self.closes_at.text,
                        "bank": self.bank.data, "question_count": self.question_count.data,
                        "time_limit_minutes": self.time_limit_minutes.data,
                        "attempts_allowed": self.attempts_allowed.data}],
        }
        fields = {"slug": self.slug, "title": self.title, "unit": self.unit, "legal_basis": self.legal_basis,
                  "rules": self.rules, "audience_groups": self.groups, "rounds[0].opens_at": self.opens_at,
                  "rounds[0].closes_at": self.closes_at, "rounds[0].bank": self.bank,
                  "rounds[0].question_count": self.question_count, "rounds[0].draw": self.question_count,
                  "rounds[0].time_limit_minutes": self.time_limit_minutes,
                  "rounds[0].attempts_allowed": self.attempts_allowed}
        names = [group["name"].casefold() for group in definition["audience_groups"] or []]
        refused = len(set(names)) != len(names)
        if refused:
            self.groups.errors = [*self.groups.errors, _DUPLICATE_GROUP]
        return Edit(definition, fields, refused)


# --- the settings of a contest, part by part -------------------------------------------------------------------------


_GENERAL = ("title", "unit", "legal_basis", "rules")
_REGISTRATION = ("min_age", "max_age", "cccd", "retention_days", "consent_text")


class GeneralForm(FlaskForm):
    """Thông tin chung: title, organising unit, legal basis, rules, and who may register."""

    title = StringField(_l("Tên cuộc thi"), validators=[Length(max=300)])
    unit = select_field(_l("Đơn vị tổ chức"))
    legal_basis = TextAreaField(_l("Căn cứ (kế hoạch, quyết định)"), validators=[Length(max=2000)])
    rules = TextAreaField(_l("Thể lệ (các quy định khác của Ban Tổ chức)"), validators=[Length(max=50_000)])
    min_age = _integer(_l("Tuổi tối thiểu (để trống = không giới hạn)"), Optional())
    max_age = _integer(_l("Tuổi tối đa (để trống = không giới hạn)"), Optional())
    cccd = select_field(_l("Số căn cước công dân khi đăng ký"), choices=choice_list(CCCD_CHOICES))
    retention_days = _integer(_l("Giữ dữ liệu cá nhân sau khi công bố kết quả (ngày)"),
                              InputRequired(_l("Vui lòng nhập số ngày.")))
    consent_text = TextAreaField(_l("Lời đồng ý xử lý dữ liệu cá nhân (để trống = lời mặc định theo Nghị định "
                                    "13/2023/NĐ-CP)"), validators=[Length(max=3000)])

    def fill(self, definition: dict) -> None:
        for name in _GENERAL:
            self[name].data = definition.get(name) or ""
        registration = definition.get("registration") or {}
        for name in _REGISTRATION:
            self[name].data = registration.get(name)
        if registration.get("consent_text") == DEFAULT_CONSENT:  # shown empty: the standard wording
            self.consent_text.data = ""

    def apply(self, definition: dict) -> Edit:
        edited = copy.deepcopy(definition)
        for name in _GENERAL:
            edited[name] = (self[name].data or "").strip()
        edited["registration"] = dict(edited.get("registration") or {}, min_age=self.min_age.data,
                                      max_age=self.max_age.data, cccd=self.cccd.data,
                                      retention_days=self.retention_days.data,
                                      consent_text=self.consent_text.data.strip() or None)
        fields = {name: self[name] for name in _GENERAL}
        fields.update({f"registration.{name}": self[name] for name in _REGISTRATION})
        return Edit(edited, fields)


class GroupRow(Form):
    """An audience group: its name; its code (hidden) stays the same when the name changes."""

    code = HiddenField()
    name = StringField(_l("Tên đối tượng"), validators=[Length(max=200)])
    remove = BooleanField(_l("Bỏ đối tượng này"))


def _groups_in_use(definition: dict) -> set[str]:
    """Return the audience groups that prize tables or rounds name."""
    prizes = definition.get("prizes") or {}
    used = {*(prizes.get("round") or {}), *(prizes.get("overall") or {})}
    for round_ in definition.get("rounds") or []:
        used.update(round_.get("audience_groups") or [], round_.get("prizes") or {})
    return used


class GroupsForm(FlaskForm):
    """Đối tượng dự thi: a row per audience group; a blank row adds one."""

    rows = FieldList(FormField(GroupRow))

    def fill(self, definition: dict) -> None:
        for group in definition.get("audience_groups") or []:
            self.rows.append_entry(group)
        self.rows.append_entry()

    def apply(self, definition: dict) -> Edit:
        edited = copy.deepcopy(definition)
        taken = {row.form.code.data for row in self.rows if row.form.code.data}
        used = _groups_in_use(definition)
        groups, fields, names, refused = [], {}, {}, False
        for row in self.rows:
            name = " ".join((row.form.name.data or "").split())
            code = row.form.code.data or ""
            if row.form.remove.data and code in used:
                row.form.name.errors.append(_l("Đối tượng này đang có giải thưởng hoặc được chọn riêng cho một vòng "
                                               "thi; bỏ ở đó trước rồi mới bỏ đối tượng."))
                refused = True
            if row.form.remove.data or not (code or name):
                continue
            key = unicodedata.normalize("NFC", name).casefold()
            if name and key in names:
                row.form.name.errors.append(_DUPLICATE_GROUP)
                refused = True
            names[key] = row
            if not code:
                code = group_code(name, taken)
                taken.add(code)
            fields[f"audience_groups[{len(groups)}]"] = row.form.name
            groups.append({"code": code, "name": name})
        edited["audience_groups"] = groups
        return Edit(edited, fields, refused)


class BlueprintRow(Form):
    """A part of a round's questions: how many of a topic and/or a difficulty."""

    topic = select_field(_l("Chủ đề"), choices=[])
    difficulty = select_field(_l("Mức độ"), choices=choice_list([("", _l("Mọi mức độ")), *DIFFICULTIES]))
    count = _integer(_l("Số câu"), Optional(), NumberRange(min=0))


#: The field of a round's form that stands for each key of its definition (a shortfall of the draw: the count).
_ROUND_PATHS = {"name": "name", "opens_at": "opens_at", "closes_at": "closes_at", "bank": "bank",
                "question_count": "question_count", "draw": "question_count", "draw.mode": "draw_mode",
                "draw.topics": "topics", "draw.difficulties": "difficulties",
                "time_limit_seconds": "time_limit_minutes", "time_limit_minutes": "time_limit_minutes",
                "attempts_allowed": "attempts_allowed", "counts": "counts", "show_correct": "show_correct",
                "audience_groups": "audience", "prediction": "prediction_enabled",
                "prediction.question": "prediction_question", "prediction.target": "prediction_target"}
#: Fields that shape attempts (lifecycle._FROZEN_ROUND_FIELDS and the opening time): fixed once a round has attempts.
FROZEN_FIELDS = ("opens_at", "bank", "question_count", "draw_mode", "topics", "difficulties", "parts",
                 "time_limit_minutes", "attempts_allowed", "counts", "prediction_enabled", "prediction_required",
                 "prediction_target", "prediction_question")


class RoundForm(FlaskForm):
    """A round: its name, window, questions and how they are drawn, time, attempts and the prediction question."""

    name = StringField(_l("Tên vòng"), validators=[Length(max=200)])
    opens_at = LocalMomentField(_l("Mở lúc (giờ Việt Nam)"), validators=[InputRequired(_l("Vui lòng chọn giờ mở."))])
    closes_at = LocalMomentField(_l("Đóng lúc (giờ Việt Nam)"),
                                 validators=[InputRequired(_l("Vui lòng chọn giờ đóng."))])
    bank = select_field(_l("Ngân hàng câu hỏi"))
    question_count = _integer(_l("Số câu hỏi mỗi lượt"), InputRequired(_l("Vui lòng nhập số câu.")), default=20)
    draw_mode = select_field(_l("Cách rút câu hỏi"), choices=choice_list(DRAW_MODES), default="random")
    topics = select_field(_l("Chỉ rút từ các chủ đề (không chọn = mọi chủ đề)"), many=True, choices=[])
    difficulties = select_field(_l("Chỉ rút các mức độ (không chọn = mọi mức độ)"), many=True,
                                choices=choice_list(DIFFICULTIES))
    parts = FieldList(FormField(BlueprintRow))
    time_limit_minutes = _integer(_l("Thời gian làm bài (phút; 0 = đến khi vòng đóng)"),
                                  InputRequired(_l("Vui lòng nhập thời gian.")), default=15)
    attempts_allowed = _integer(_l("Số lượt thi mỗi người (0 = không giới hạn)"),
                                InputRequired(_l("Vui lòng nhập số lượt.")), default=1)
    counts = select_field(_l("Khi thi nhiều lượt, lượt được tính"), choices=choice_list(COUNTS), default="best")
    show_correct = select_field(_l("Công bố đáp án đúng"), choices=choice_list(SHOW_CORRECT),
                                default="after_round_close")
    audience = select_field(_l("Đối tượng được thi vòng này (không chọn = mọi đối tượng)"), many=True, choices=[])
    prediction_enabled = BooleanField(_l("Có câu hỏi dự đoán (dùng để xếp hạng khi bằng điểm)"), default=True)
    prediction_required = BooleanField(_l("Bắt buộc trả lời câu dự đoán"))
    prediction_target = select_field(_l("Dự đoán về"), choices=choice_list(PREDICTION_TARGETS),
                                     default="persons_full_marks")
    prediction_question = TextAreaField(_l("Câu hỏi dự đoán (để trống = câu mặc định theo nội dung dự đoán)"),
                                        validators=[Length(max=500)])

    def fill(self, round_: dict) -> None:
        """Show a round of a definition (its canonical form: every key present)."""
        self.name.data = round_.get("name") or ""
        self.opens_at.data = _moment(round_["opens_at"])
        self.closes_at.data = _moment(round_["closes_at"])
        self.bank.data = round_["bank"]
        self.question_count.data = round_["question_count"]
        draw = round_.get("draw") or {}
        self.draw_mode.data = draw.get("mode") or "random"
        self.topics.data = list(draw.get("topics") or [])
        self.difficulties.data = [str(level) for level in draw.get("difficulties") or []]
        for part in draw.get("blueprint") or []:
            self.parts.append_entry({"topic": part.get("topic") or "", "difficulty": str(part.get("difficulty") or ""),
                                     "count": part.get("count")})
        self.time_limit_minutes.data = round_["time_limit_seconds"] // 60
        self.attempts_allowed.data = round_["attempts_allowed"]
        self.counts.data = round_["counts"]
        self.show_correct.data = round_["show_correct"]
        self.audience.data = list(round_.get("audience_groups") or [])
        prediction = round_.get("prediction") or {}
        self.prediction_enabled.data = prediction.get("enabled", True)
        self.prediction_required.data = prediction.get("required", False)
        self.prediction_target.data = prediction.get("target") or "persons_full_marks"
        question = prediction.get("question") or ""
        # The stored definition spells the standard wording out; shown empty, it follows a change of target.
        self.prediction_question.data = "" if question == DEFAULT_PREDICTION_QUESTION.get(
            self.prediction_target.data) else question

    def keep_questions(self) -> None:
        """Ask nothing of the fields a round with attempts keeps: they are shown disabled, so never sent."""
        for name in FROZEN_FIELDS:
            self[name].validators = [Optional()]

    def add_blank_parts(self, count: int = 2) -> None:
        for _ in range(count):
            self.parts.append_entry()

    def apply(self, definition: dict, index: int, *, frozen: bool) -> Edit:
        """Write this round at ``index`` (appended when it is past the last); a frozen round keeps its questions."""
        edited = copy.deepcopy(definition)
        rounds = edited.setdefault("rounds", [])
        old = rounds[index] if index < len(rounds) else {}
        round_ = dict(old)
        round_.update(name=self.name.data.strip() or None, closes_at=self.closes_at.text,
                      show_correct=self.show_correct.data, audience_groups=list(self.audience.data) or None)
        if not frozen:
            round_.update(self._questions(old))
        if index < len(rounds):
            rounds[index] = round_
        else:
            rounds.append(round_)
        path = f"rounds[{index}]"
        fields: dict[str, Field] = {f"{path}.{key}": self[name] for key, name in _ROUND_PATHS.items()}
        fields[path] = self.name
        for number, part in enumerate(self._filled_parts()):
            fields[f"{path}.draw.blueprint[{number}]"] = part.form.count
        return Edit(edited, fields)

    def _filled_parts(self) -> list:
        return [part for part in self.parts
                if part.form.count.data or part.form.topic.data or part.form.difficulty.data]

    def _questions(self, old: dict) -> dict:
        """The settings that shape attempts, from the form (a round without attempts may change them)."""
        minutes = self.time_limit_minutes.data
        seconds = old.get("time_limit_seconds")
        keep_seconds = seconds is not None and seconds // 60 == minutes  # a limit set in seconds in YAML stays
        draw: dict = {"mode": self.draw_mode.data, "topics": list(self.topics.data) or None,
                      "difficulties": [int(level) for level in self.difficulties.data] or None}
        if self.draw_mode.data == "blueprint":
            draw["blueprint"] = [{"topic": part.form.topic.data or None,
                                  "difficulty": int(part.form.difficulty.data) if part.form.difficulty.data else None,
                                  "count": part.form.count.data} for part in self._filled_parts()]
        prediction = dict(old.get("prediction") or {})
        target_changed = prediction.get("target") != self.prediction_target.data
        question = self.prediction_question.data.strip()
        prediction.update(enabled=self.prediction_enabled.data,
                          required=self.prediction_enabled.data and self.prediction_required.data,
                          target=self.prediction_target.data, question=question or None)
        if target_changed:  # the bounds of the answer follow the new target (a count or a percentage)
            prediction.update(max_value=None, decimals=None)
        return {"opens_at": self.opens_at.text, "bank": self.bank.data, "question_count": self.question_count.data,
                "draw": draw, "time_limit_minutes": None if keep_seconds else minutes,
                "time_limit_seconds": seconds if keep_seconds else None,
                "attempts_allowed": self.attempts_allowed.data, "counts": self.counts.data,
                "prediction": prediction}


class PrizeRow(Form):
    """A line of a prize table: for each round or the whole contest, one audience group, a name, how many, worth."""

    scope = select_field(_l("Giải cho"), choices=choice_list(PRIZE_SCOPES))
    group = select_field(_l("Đối tượng"), choices=[])
    label = StringField(_l("Tên giải"), validators=[Length(max=100)])
    count = _integer(_l("Số giải"), Optional())
    amount = _integer(_l("Giá trị mỗi giải (đồng)"), Optional(), NumberRange(min=0))
    remove = BooleanField(_l("Bỏ"))


class PrizesForm(FlaskForm):
    """Xếp hạng và giải thưởng: ranking order, public leaderboard, prize tables and certificates."""

    preset = select_field(_l("Thứ tự xếp hạng"), choices=[])
    visibility = select_field(_l("Bảng xếp hạng công khai trước khi công bố kết quả"),
                              choices=choice_list(LEADERBOARD_CHOICES))
    top_n = _integer(_l("Số người đứng đầu được hiện"), InputRequired(_l("Vui lòng nhập số người.")))
    rows = FieldList(FormField(PrizeRow))
    overall_aggregation = select_field(_l("Giải toàn cuộc thi xét theo"), choices=choice_list(AGGREGATION_CHOICES))
    awarded_to = select_field(_l("Cấp giấy chứng nhận cho"), choices=choice_list(CERTIFICATE_AWARDS))
    min_score_percent = DecimalField(_l("Mức điểm tối thiểu để nhận giấy (phần trăm số điểm tối đa)"), places=None,
                                     validators=[Optional(), NumberRange(0, 100)])
    certificate_title = select_field(_l("Loại giấy"), choices=choice_list(CERTIFICATE_TITLES))
    issuer_parent = StringField(_l("Cơ quan cấp trên (dòng trên cùng)"), validators=[Length(max=200)])
    issuer = StringField(_l("Cơ quan cấp giấy"), validators=[Length(max=200)])
    signer = StringField(_l("Chức danh người ký (“ / ” để xuống dòng)"), validators=[Length(max=200)])
    signer_name = StringField(_l("Họ tên người ký"), validators=[Length(max=200)])
    place = StringField(_l("Địa danh ghi trước ngày tháng"), validators=[Length(max=100)])

    def offer(self, definition: dict) -> None:
        """Offer the contest's audience groups and rounds, and the ranking presets (and a custom order from YAML)."""
        presets = [(key, label) for key, label in RANKING_PRESETS.items()]
        if tuple(definition["ranking"]["criteria"]) not in PRESETS.values():
            presets.append(("", _l("Thứ tự riêng đã ghi trong tệp định nghĩa (giữ nguyên)")))
        self.preset.choices = choice_list(presets)
        scopes = [*PRIZE_SCOPES, *((f"round-{number}", _l("Riêng %(name)s", name=round_["name"]))
                                   for number, round_ in enumerate(definition["rounds"], start=1))]
        for row in self.rows:
            row.form.scope.choices = choice_list(scopes)
            row.form.group.choices = choice_list((group["code"], group["name"])
                                                 for group in definition.get("audience_groups") or [])

    def fill(self, definition: dict) -> None:
        criteria = tuple((definition.get("ranking") or {}).get("criteria") or PRESETS["default"])
        self.preset.data = next((key for key, value in PRESETS.items() if value == criteria), "")
        leaderboard = definition.get("leaderboard") or {}
        self.visibility.data = leaderboard.get("visibility", "hidden")
        self.top_n.data = leaderboard.get("top_n", 10)
        prizes = definition.get("prizes") or {}
        tables = [(scope, prizes.get(scope)) for scope, _label in PRIZE_SCOPES]
        tables += [(f"round-{number}", round_.get("prizes"))
                   for number, round_ in enumerate(definition.get("rounds") or [], start=1)]
        for scope, table in tables:
            for group, tiers in (table or {}).items():
                for tier in tiers:
                    self.rows.append_entry({"scope": scope, "group": group, "label": tier["label"],
                                            "count": tier["count"], "amount": int(tier.get("amount") or 0)})
        for _blank in range(2):
            self.rows.append_entry()
        self.overall_aggregation.data = prizes.get("overall_aggregation", "sum_of_round_scores")
        certificate = definition.get("certificate") or {}
        self.awarded_to.data = certificate.get("awarded_to", "winners")
        threshold = certificate.get("min_score_percent", 80.0)
        self.min_score_percent.data = int(threshold) if float(threshold).is_integer() else threshold
        self.certificate_title.data = certificate.get("title", "giay_chung_nhan")
        for name in ("issuer_parent", "issuer", "signer", "signer_name", "place"):
            self[name].data = certificate.get(name) or ""

    def apply(self, definition: dict) -> Edit:
        edited = copy.deepcopy(definition)
        fields: dict[str, Field] = {"ranking": self.preset, "leaderboard.visibility": self.visibility,
                                    "leaderboard.top_n": self.top_n,
                                    "prizes.overall_aggregation": self.overall_aggregation,
                                    "certificate.awarded_to": self.awarded_to,
                                    "certificate.min_score_percent": self.min_score_percent}
        if self.preset.data:
            # Preferring an under-estimate means something only where the prediction breaks ties.
            prefer_under = (edited.get("ranking") or {}).get("prefer_under", False) and \
                "prediction_distance" in PRESETS[self.preset.data]
            edited["ranking"] = {"preset": self.preset.data, "prefer_under": prefer_under}
        edited["leaderboard"] = dict(edited.get("leaderboard") or {}, visibility=self.visibility.data,
                                     top_n=self.top_n.data)
        tables: dict[str, dict[str, list]] = {"round": {}, "overall": {}}
        for row in self.rows:
            line = row.form
            if line.remove.data or not (line.label.data.strip() or line.count.raw_data and line.count.raw_data[0]):
                continue
            table = tables.setdefault(line.scope.data, {}).setdefault(line.group.data, [])
            index = line.scope.data.removeprefix("round-")
            path = f"rounds[{int(index) - 1}].prizes.{line.group.data}" if index.isdigit() else \
                f"prizes.{line.scope.data}.{line.group.data}"
            fields.setdefault(path, line.amount)
            fields[f"{path}[{len(table)}].label"] = line.label
            fields[f"{path}[{len(table)}].count"] = line.count
            fields[f"{path}[{len(table)}].amount"] = line.amount
            table.append({"label": line.label.data.strip(), "count": line.count.data,
                          "amount": line.amount.data or 0})
        edited["prizes"] = {"round": tables["round"], "overall": tables["overall"],
                            "overall_aggregation": self.overall_aggregation.data}
        for number, round_ in enumerate(edited["rounds"], start=1):  # a round's own tables replace "each round"
            round_["prizes"] = tables.get(f"round-{number}") or None
        certificate = dict(edited.get("certificate") or {})
        certificate.update(awarded_to=self.awarded_to.data, title=self.certificate_title.data,
                           min_score_percent=float(self.min_score_percent.data)
                           if self.min_score_percent.data is not None else None)
        for name in ("issuer_parent", "issuer", "signer", "signer_name", "place"):
            certificate[name] = self[name].data.strip()
            fields[f"certificate.{name}"] = self[name]
        edited["certificate"] = certificate
        return Edit(edited, fields)


class StatusForm(FlaskForm):
    """A lifecycle transition."""

    transition = HiddenField(validators=[DataRequired(), Regexp("^(" + "|".join(CONTEST_TRANSITIONS) + ")$")])


class PredictionActualForm(FlaskForm):
    """The committee fixes a round's prediction value (empty = compute from the attempts)."""

    value = DecimalField(_l("Giá trị thực của câu dự đoán"), places=None, validators=[Optional(), NumberRange(min=0)])


class ExcludeForm(FlaskForm):
    """Exclude a participant from rankings and prizes, with a reason, or include them again."""

    excluded = BooleanField(_l("Loại khỏi xếp hạng"))
    reason = StringField(_l("Lý do"), validators=[Length(max=300)])
