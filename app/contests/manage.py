"""Organiser pages of contests under /quan-tri/cuoc-thi: banks, definitions, lifecycle, participants, results,
item analysis, integrity signals, exports, certificates and personal data. Every contest and bank is loaded within
the signed-in organiser's subtree (404 otherwise)."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.access import current_organiser, organiser_required
from app.contests import lifecycle
from app.contests.banks import banks_for, get_bank, import_questions, may_import_into, topic_name
from app.contests.certificates import achievements, certificates_pdf
from app.contests.forms import (
    FROZEN_FIELDS,
    BankUploadForm,
    DefinitionForm,
    Edit,
    ExcludeForm,
    GeneralForm,
    GroupsForm,
    NewContestForm,
    PredictionActualForm,
    PrizesForm,
    RoundForm,
    StatusForm,
    UploadForm,
)
from app.contests.imports import parse_participants, parse_questions, participant_template, question_template
from app.contests.jobs import request_export
from app.contests.models import CONTEST_TRANSITIONS, STATUS_LABELS, Contest, Participant, Question, QuestionBank
from app.contests.participants import (PERSONAL_DATA_COLUMNS, erase_personal_data, export_personal_data,
                                       preissue_participants, retention_ends, set_excluded)
from app.contests.reports import ITEM_FLAG_LABELS, group_names, people, tables_in_words
from app.contests.results import contest_results, integrity_report, item_report
from app.contests.spec import contest_spec, dump_definition, parse_contest
from app.database import utcnow
from app.errors import AppError, NotFoundError
from app.exports import iter_csv, write_csv, write_xlsx
from app.extensions import db
from app.forms import ConfirmForm, choice_list
from app.i18n import local_zone
from app.units.services import list_units
from app.uploads import UploadLimits
from app.validation import MAX_YAML_BYTES, Problem, Rejected, read_yaml
from app.web import ConfirmPage, confirm_page, confirm_then, download, page_number, refused

bp = Blueprint("contest_admin", __name__)

TRANSITION_LABELS = {
    "open": _l("Mở cuộc thi"),
    "close": _l("Đóng cuộc thi"),
    "reopen": _l("Mở lại"),
    "publish_results": _l("Công bố kết quả"),
    "archive": _l("Lưu trữ"),
}
SIGNAL_LABELS = {
    "too_fast_full_marks": _l("Điểm tối đa trong thời gian quá ngắn"),
    "identical_answers": _l("Bài làm giống hệt nhau"),
    "shared_device": _l("Nhiều người dùng chung một thiết bị"),
    "duplicate_identity": _l("Trùng danh tính (CCCD, hoặc họ tên và ngày sinh)"),
}
PAGE_SIZE = 100


@bp.app_template_filter("topic_name")
def _topic_name(code: str) -> str:
    """Return a question topic's name in words."""
    return topic_name(code)


@bp.app_template_filter("item_flag")
def item_flag_label(code: str) -> str:
    """Return the Vietnamese label of an item flag."""
    return str(ITEM_FLAG_LABELS.get(code, code))


def _contest(slug: str) -> Contest:
    """Return a contest of the organiser's subtree, or 404 (other tenants' contests are not found)."""
    contest = lifecycle.get_contest(slug)
    if not contest.unit.is_within(current_organiser().unit):
        raise NotFoundError(_l("Không tìm thấy cuộc thi này."))
    return contest


def _bank(code: str) -> QuestionBank:
    bank = get_bank(code)
    if bank.unit is not None and not bank.unit.is_within(current_organiser().unit):
        raise NotFoundError(_l("Không tìm thấy ngân hàng câu hỏi này."))
    return bank


def _tables_download(tables, fmt: str, name: str, contest: Contest) -> Response:
    """Return tables as one XLSX (a sheet each, in words, the contest's groups by name) or one CSV (the first table,
    machine keys)."""
    if fmt == "xlsx":
        buffer = io.BytesIO()
        zone = local_zone()
        write_xlsx(tables_in_words(tables, zone, group_names(contest, zone)), buffer)
        return download(buffer.getvalue(), "xlsx", f"{name}.xlsx")
    title, headers, rows = tables[0]
    return download("".join(iter_csv(headers, rows)), "csv", f"{name}.csv")


def _problems_page(template: str, error: Rejected, **context):
    """Show a form again with the numbered problems of a refusal, after undoing what the refused call flushed."""
    return render_template(template, problems=refused(error).problems, **context), error.status


# --- contests ----------------------------------------------------------------------------------------------------


@bp.get("/")
@organiser_required
def index():
    """List the contests and question banks of the organiser's subtree."""
    organiser = current_organiser()
    return render_template("contests/manage/index.html", contests=lifecycle.contests_for(organiser.unit),
                           banks=banks_for(organiser.unit), labels=STATUS_LABELS)


@bp.route("/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def new():
    """Create a contest with one round from a short form (everything else is then set in the settings pages)."""
    organiser = current_organiser()
    form = NewContestForm()
    form.unit.choices = [(unit.code, unit.name) for unit in list_units(organiser.unit) if unit.is_active]
    form.bank.choices = [(bank.code, bank.title) for bank in banks_for(organiser.unit)]
    if not form.validate_on_submit():
        return render_template("contests/manage/new.html", form=form, problems=[],
                               marked=request.method == "POST"), 400 if request.method == "POST" else 200
    return _save_settings(form.starter_definition(), "contests/manage/new.html", form=form, must_be_new=True)


def _save_definition(data: object, template: str, *, must_be_new: bool = False, **context):
    """Validate and store a definition; on problems show the page again with the numbered list (400)."""
    organiser = current_organiser()
    zone = local_zone()
    try:
        spec = parse_contest(data, zone)
    except Rejected as error:
        return _problems_page(template, error, **context)
    try:
        contest, created = lifecycle.save_contest(spec, actor=organiser, now=utcnow(), scope=organiser.unit,
                                                  must_be_new=must_be_new)
    except Rejected as error:
        return _problems_page(template, error, **context)
    flash(_("Đã tạo cuộc thi.") if created else _("Đã lưu định nghĩa cuộc thi."), "info")
    return redirect(url_for(".contest", slug=contest.slug), 303)


#: A key of a definition named in words, for a problem no field of the page stands for.
_PLACES = {"slug": _l("Mã cuộc thi"), "title": _l("Tên cuộc thi"), "unit": _l("Đơn vị tổ chức"),
           "legal_basis": _l("Căn cứ"), "rules": _l("Thể lệ"), "audience_groups": _l("Đối tượng dự thi"),
           "registration": _l("Đăng ký dự thi"), "leaderboard": _l("Bảng xếp hạng"), "ranking": _l("Xếp hạng"),
           "prizes": _l("Giải thưởng"), "collective": _l("Giải tập thể"), "certificate": _l("Giấy chứng nhận")}
#: A machine key quoted after a message ("(opens_at)", "(enabled: false)"): the field's label already says it.
_QUOTED_KEY = re.compile(r"\s*\([a-z_]+(?::\s*[a-z_]+)?\)")


def _in_words(problem: Problem) -> str:
    """Return a problem as "where: what", the where in words ("Vòng 2", "Giải thưởng") rather than a key path."""
    message = _QUOTED_KEY.sub("", str(problem.message))
    round_ = re.match(r"rounds\[(\d+)\]", problem.path)
    if round_:
        where = _("Vòng %(n)d", n=int(round_.group(1)) + 1)
    else:
        where = str(_PLACES.get(re.split(r"[.\[]", problem.path)[0], problem.path))
    return f"{where}: {message}" if where else message


def _field_message(problem: Problem) -> str:
    """Return a problem as a sentence under its field ("Phải sau thời điểm mở."): the label says where."""
    message = _QUOTED_KEY.sub("", str(problem.message)).strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith((".", ")")) else ".")


def _save_settings(edit: Edit, template: str, *, must_be_new: bool = False, back: str | None = None, **context):
    """Check and store a definition edited in a form: the problems ``parse_contest`` and ``save_contest`` find are
    shown on the fields they concern, the others listed in words; nothing is stored unless all is well (400)."""
    if edit.refused:
        return render_template(template, problems=[], marked=True, **context), 400
    organiser = current_organiser()
    try:
        contest, created = lifecycle.save_contest(parse_contest(edit.definition, local_zone()), actor=organiser,
                                                  now=utcnow(), scope=organiser.unit, must_be_new=must_be_new)
    except Rejected as error:
        listed = []
        for problem in refused(error).problems:
            field = edit.field_for(problem.path) if problem.path else None
            if field is not None:
                field.errors = [*field.errors, _field_message(problem)]
            else:
                listed.append(_in_words(problem))
        return render_template(template, problems=listed, marked=len(listed) < len(error.problems), **context), \
            error.status
    flash(_("Đã tạo cuộc thi.") if created else _("Đã lưu thiết lập cuộc thi."), "info")
    return redirect(back or url_for(".contest", slug=contest.slug), 303)


@bp.route("/nap", methods=["GET", "POST"])
@organiser_required("organiser")
def upload_definition():
    """Create or update a contest from a YAML file (the same format as `flask contests load`)."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("contests/manage/upload_definition.html", form=form, problems=[]), \
            400 if request.method == "POST" else 200
    try:
        data = read_yaml(form.file.data.read(MAX_YAML_BYTES + 1))
    except Rejected as error:
        return _problems_page("contests/manage/upload_definition.html", error, form=form)
    return _save_definition(data, "contests/manage/upload_definition.html", form=form)


@bp.get("/<slug>")
@organiser_required
def contest(slug: str):
    """Show a contest: status and its transitions, rounds, numbers, links to everything else."""
    found = _contest(slug)
    counts, registered = lifecycle.contest_numbers(found)
    transitions = [name for name in CONTEST_TRANSITIONS if found.can(name)]
    return render_template("contests/manage/contest.html", contest=found, counts=counts, registered=registered,
                           transitions=transitions, transition_labels=TRANSITION_LABELS, form=StatusForm(),
                           retention_ends=retention_ends(found, local_zone()))


@bp.post("/<slug>/trang-thai")
@organiser_required("organiser")
def change_status(slug: str):
    """Apply a lifecycle transition (open, close, reopen, publish results, archive)."""
    found = _contest(slug)
    form = StatusForm()
    if not form.validate_on_submit():
        raise AppError(_l("Thao tác không hợp lệ."))
    try:
        lifecycle.change_status(found, form.transition.data, actor=current_organiser(), now=utcnow(), zone=local_zone())
    except Rejected as error:
        refused(error)
        flash(str(error.message) + " " + "; ".join(str(problem) for problem in error.problems), "error")
        return redirect(url_for(".contest", slug=slug), 303)
    flash(_("Cuộc thi chuyển sang trạng thái: %(status)s.", status=found.status_label), "info")
    return redirect(url_for(".contest", slug=slug), 303)


#: Transitions that cannot be taken back lightly: each is asked for on a confirmation page saying what happens.
CONFIRMED_TRANSITIONS = {
    "close": (_l("Đóng cuộc thi"),
              _l("Không ai bắt đầu bài thi mới được nữa; bài đang làm dở được nộp tự động khi hết giờ. Bạn có thể mở "
                 "lại cuộc thi sau nếu cần."), _l("Đóng cuộc thi")),
    "publish_results": (_l("Công bố kết quả"),
                        _l("Bảng xếp hạng, giải thưởng và giấy chứng nhận trở nên công khai cho mọi người; đáp án câu "
                           "hỏi dự đoán được chốt và không thay đổi nữa. Không thể huỷ công bố."),
                        _l("Công bố kết quả")),
}


@bp.route("/<slug>/xac-nhan/<any(close, publish_results):transition>", methods=["GET", "POST"])
@organiser_required("organiser")
def confirm_status(slug: str, transition: str):
    """Ask before closing a contest or publishing its results, saying what will happen, then do it."""
    found = _contest(slug)
    title, message, button = CONFIRMED_TRANSITIONS[transition]
    back = url_for(".contest", slug=slug)

    def act():
        lifecycle.change_status(found, transition, actor=current_organiser(), now=utcnow(), zone=local_zone())
        return found.status_label

    return confirm_then(lambda: ConfirmPage(str(title), str(message), str(button), back,
                                            danger=transition == "publish_results"),
                        act, done=lambda label: _("Cuộc thi chuyển sang trạng thái: %(status)s.", status=label),
                        back=back, refusals=(Rejected, AppError))


@bp.route("/<slug>/dinh-nghia", methods=["GET", "POST"])
@organiser_required("organiser")
def definition(slug: str):
    """Edit the whole definition as YAML (validated; rounds with attempts keep their draw and grading)."""
    found = _contest(slug)
    form = DefinitionForm()
    if request.method == "GET":
        form.definition.data = dump_definition(found.definition)
    if not form.validate_on_submit():
        return render_template("contests/manage/definition.html", contest=found, form=form, problems=[]), \
            400 if request.method == "POST" else 200
    try:
        data = read_yaml(form.definition.data.encode("utf-8"))
    except Rejected as error:
        return _problems_page("contests/manage/definition.html", error, contest=found, form=form)
    if isinstance(data, dict) and data.get("slug") != found.slug:
        kept = Rejected([Problem(_l("slug: không đổi được mã cuộc thi (%(slug)s).", slug=found.slug))])
        return _problems_page("contests/manage/definition.html", kept, contest=found, form=form)
    return _save_definition(data, "contests/manage/definition.html", contest=found, form=form)


@bp.get("/<slug>/dinh-nghia.yaml")
@organiser_required
def definition_file(slug: str):
    """Download the definition as a YAML file that `flask contests load` reads back."""
    found = _contest(slug)
    return download(dump_definition(found.definition), "yaml", f"{found.slug}.yaml")


# --- settings: the definition edited in forms, part by part ------------------------------------------------------


def _settings_page(template: str, found: Contest, form, **context):
    """Show a settings form (200), or again after the form's own checks refused it (400)."""
    return render_template(template, contest=found, form=form, problems=[], marked=request.method == "POST",
                           **context), 400 if request.method == "POST" else 200


@bp.route("/<slug>/thiet-lap", methods=["GET", "POST"])
@organiser_required("organiser")
def settings(slug: str):
    """Thông tin chung: title, organising unit, legal basis and rules."""
    found = _contest(slug)
    form = GeneralForm()
    form.unit.choices = choice_list((unit.code, unit.name) for unit in list_units(current_organiser().unit)
                                    if unit.is_active)
    if request.method == "GET":
        form.fill(found.definition)
    if not form.validate_on_submit():
        return _settings_page("contests/manage/settings_general.html", found, form)
    return _save_settings(form.apply(found.definition), "contests/manage/settings_general.html", contest=found,
                          form=form, back=url_for(".settings", slug=slug))


@bp.route("/<slug>/thiet-lap/doi-tuong", methods=["GET", "POST"])
@organiser_required("organiser")
def settings_groups(slug: str):
    """Đối tượng dự thi: audience groups named in words (their codes are made from the names and never shown)."""
    found = _contest(slug)
    form = GroupsForm()
    if request.method == "GET":
        form.fill(found.definition)
    elif "them_dong" in request.form:  # another blank row, nothing saved yet
        form.rows.append_entry()
        return render_template("contests/manage/settings_groups.html", contest=found, form=form, problems=[])
    if not form.validate_on_submit():
        return _settings_page("contests/manage/settings_groups.html", found, form)
    return _save_settings(form.apply(found.definition), "contests/manage/settings_groups.html", contest=found,
                          form=form, back=url_for(".settings_groups", slug=slug))


@bp.get("/<slug>/thiet-lap/vong-thi")
@organiser_required("organiser")
def settings_rounds(slug: str):
    """Vòng thi: the rounds, with links to edit, add and remove one."""
    found = _contest(slug)
    return render_template("contests/manage/settings_rounds.html", contest=found,
                           used=lifecycle.rounds_with_attempts(found))


def _round_form(found: Contest, index: int, shown: dict) -> tuple[RoundForm, RoundForm | None]:
    """Return the form of a round and, for a round with attempts, a copy showing what it keeps (disabled)."""
    organiser = current_organiser()
    banks = banks_for(organiser.unit)
    topics = lifecycle.bank_topics([bank.id for bank in banks])
    groups = [(group["code"], group["name"]) for group in found.definition.get("audience_groups") or []]
    frozen = index < len(found.rounds) and index + 1 in lifecycle.rounds_with_attempts(found)
    forms = [RoundForm(), RoundForm(formdata=None, meta={"csrf": False})] if frozen else [RoundForm()]
    for form in forms:
        if form is not forms[0] or request.method == "GET":
            form.fill(shown)
            form.add_blank_parts()
        form.bank.choices = choice_list((bank.code, bank.title) for bank in banks)
        form.topics.choices = choice_list((topic, topic_name(topic)) for topic in topics)
        form.audience.choices = choice_list(groups)
        for part in form.parts:
            part.form.topic.choices = choice_list([("", _l("Mọi chủ đề")), *((topic, topic_name(topic)) for topic in topics)])
    if frozen:
        forms[0].keep_questions()
    return forms[0], forms[1] if frozen else None


@bp.route("/<slug>/thiet-lap/vong-thi/<int:number>", methods=["GET", "POST"])
@bp.route("/<slug>/thiet-lap/vong-thi/moi", methods=["GET", "POST"])
@organiser_required("organiser")
def settings_round(slug: str, number: int | None = None):
    """Add a round, or edit one (a round with attempts keeps its questions, time, attempts and prediction)."""
    found = _contest(slug)
    rounds = found.definition["rounds"]
    if number is None:
        index = len(rounds)
        # A new round starts as a copy of the last one (most contests repeat it week after week), opening when it
        # closes; left unnamed, it is called by its number.
        shown = dict(rounds[-1], name="", opens_at=rounds[-1]["closes_at"], closes_at=rounds[-1]["closes_at"])
    else:
        index = lifecycle.get_round(found, number).number - 1
        shown = rounds[index]
    form, kept = _round_form(found, index, shown)
    template = "contests/manage/settings_round.html"
    if not form.validate_on_submit():
        return _settings_page(template, found, form, kept=kept, number=number, frozen=FROZEN_FIELDS)
    return _save_settings(form.apply(found.definition, index, frozen=kept is not None), template, contest=found,
                          form=form, kept=kept, number=number, frozen=FROZEN_FIELDS,
                          back=url_for(".settings_rounds", slug=slug))


@bp.route("/<slug>/thiet-lap/vong-thi/<int:number>/xoa", methods=["GET", "POST"])
@organiser_required("organiser")
def remove_round(slug: str, number: int):
    """Remove a round without attempts, after saying what happens (later rounds move up a number)."""
    found = _contest(slug)
    round_ = lifecycle.get_round(found, number)
    back = url_for(".settings_rounds", slug=slug)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return confirm_page(form, ConfirmPage(
            _("Xoá vòng “%(name)s”", name=round_.name),
            _("Vòng thi này và thiết lập của nó bị xoá khỏi cuộc thi; các vòng sau được đánh số lại. Vòng đã có bài "
              "thi thì không xoá được."), _("Xoá vòng thi"), back))
    definition = dict(found.definition, rounds=[r for i, r in enumerate(found.definition["rounds"]) if i != number - 1])
    organiser = current_organiser()
    try:
        lifecycle.save_contest(parse_contest(definition, local_zone()), actor=organiser, now=utcnow(),
                               scope=organiser.unit)
    except Rejected as error:
        flash(" ".join([_("Chưa xoá được vòng thi."), *(_in_words(p) for p in refused(error).problems)]), "error")
        return redirect(back, 303)
    flash(_("Đã xoá vòng thi."), "info")
    return redirect(back, 303)


@bp.route("/<slug>/thiet-lap/giai-thuong", methods=["GET", "POST"])
@organiser_required("organiser")
def settings_prizes(slug: str):
    """Xếp hạng và giải thưởng: ranking order, public leaderboard, prize tables and certificates."""
    found = _contest(slug)
    form = PrizesForm()
    if request.method == "GET":
        form.fill(found.definition)
    elif "them_dong" in request.form:
        form.rows.append_entry()
    form.offer(found.definition)
    if "them_dong" in request.form:
        return render_template("contests/manage/settings_prizes.html", contest=found, form=form, problems=[])
    if not form.validate_on_submit():
        return _settings_page("contests/manage/settings_prizes.html", found, form)
    return _save_settings(form.apply(found.definition), "contests/manage/settings_prizes.html", contest=found,
                          form=form, back=url_for(".settings_prizes", slug=slug))


# --- results -----------------------------------------------------------------------------------------------------


def _round_number(found: Contest) -> int | None:
    number = request.args.get("vong", type=int)
    if number is not None:
        lifecycle.get_round(found, number)
    return number


@bp.get("/<slug>/ket-qua")
@organiser_required
def results(slug: str):
    """Show rankings with names, prizes, unit standings and the prediction values (organisers see everything)."""
    found = _contest(slug)
    zone = local_zone()
    number = _round_number(found)
    computed = contest_results(found, zone)
    standing = computed.overall if number is None else computed.rounds[number - 1].standing
    page = page_number()
    order = standing.ranking.order[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
    awards = [a for a in computed.awards if number is None or a.round_number == number]
    who = people([int(standing.participant_id[i]) for i in order] + [a.participant_id for a in awards])
    entries = [dict(index=int(i), pid=int(standing.participant_id[i]), person=who.get(int(standing.participant_id[i])))
               for i in order]
    return render_template("contests/manage/results.html", contest=found, number=number, results=computed,
                           standing=standing, entries=entries, awards=awards, who=who, page=page,
                           more=standing.ranking.order.shape[0] > page * PAGE_SIZE,
                           actual_form=PredictionActualForm(), spec=contest_spec(found, zone))


@bp.post("/<slug>/vong/<int:number>/du-doan")
@organiser_required("organiser")
def prediction_actual(slug: str, number: int):
    """Fix a round's prediction value by committee decision (empty: compute it from the attempts)."""
    found = _contest(slug)
    round_ = lifecycle.get_round(found, number)
    form = PredictionActualForm()
    if not form.validate_on_submit():
        raise AppError(_l("Giá trị thực phải là số không âm."))
    value = None if form.value.data is None else float(form.value.data)
    lifecycle.set_prediction_actual(round_, value, actor=current_organiser(), now=utcnow())
    flash(_("Đã lưu giá trị thực của câu dự đoán."), "info")
    return redirect(url_for(".results", slug=slug, vong=number), 303)


@bp.get("/<slug>/phan-tich")
@organiser_required
def analysis(slug: str):
    """Show item analysis (Moodle's definitions) and round statistics, with flags for weak questions."""
    found = _contest(slug)
    number = _round_number(found)
    report = item_report(contest_results(found, local_zone()), number)
    texts = {} if report is None else dict(db.session.execute(
        sa.select(Question.id, Question.text).where(Question.id.in_([int(qid) for qid in report.question_ids]))).all())
    return render_template("contests/manage/analysis.html", contest=found, number=number, report=report, texts=texts,
                           items=[] if report is None else list(zip(report.question_ids, report.codes, report.types,
                                                                    report.analysis.items)))


@bp.get("/<slug>/gian-lan")
@organiser_required
def integrity(slug: str):
    """Show integrity signals for review (never verdicts: nobody is disqualified automatically)."""
    found = _contest(slug)
    report = integrity_report(found, contest_results(found, local_zone()))
    return render_template("contests/manage/integrity.html", contest=found, report=report, labels=SIGNAL_LABELS)


@bp.post("/<slug>/xuat/<any('ket-qua', 'bai-thi', 'bao-cao'):kind>.<any(csv, xlsx, json):fmt>")
@organiser_required
def export(slug: str, kind: str, fmt: str):
    """Queue results with names, raw attempts, or the statistical report (formula-safe cells; logged when written)."""
    found = _contest(slug)
    if fmt == "json" and kind != "bao-cao":
        raise NotFoundError(_l("Định dạng không được hỗ trợ."))
    job = request_export(current_organiser(), found, kind, fmt, _round_number(found), str(get_locale()), utcnow())
    return redirect(url_for("organiser.job", job_id=job.id), 303)


@bp.get("/<slug>/chung-nhan.pdf")
@organiser_required
def certificates(slug: str):
    """Download every certificate of a contest whose results are published, one page each."""
    found = _contest(slug)
    if not found.results_public:
        raise AppError(_l("Giấy chứng nhận có sau khi công bố kết quả."), status=409)
    zone = local_zone()
    earned = achievements(found, contest_results(found, zone), zone)
    if not earned:
        raise NotFoundError(_l("Chưa có ai được cấp giấy chứng nhận."))
    pdf = certificates_pdf(found, earned, zone, base_url=current_app.config["BASE_URL"],
                           secret=current_app.config["SECRET_KEY"])
    return download(pdf, "pdf", f"{slug}-chung-nhan.pdf")


# --- participants ------------------------------------------------------------------------------------------------


@bp.get("/<slug>/thi-sinh")
@organiser_required
def participants(slug: str):
    """List participants (page by page) with their exclusion status."""
    found = _contest(slug)
    page = db.paginate(db.select(Participant).where(Participant.contest_id == found.id).order_by(Participant.id),
                       page=page_number(), per_page=PAGE_SIZE, error_out=False)
    groups = {group.code: group.name for group in contest_spec(found, local_zone()).groups}
    return render_template("contests/manage/participants.html", contest=found, page=page, form=ExcludeForm(),
                           upload=UploadForm(), retention_ends=retention_ends(found, local_zone()), group_names=groups)


@bp.post("/<slug>/thi-sinh/<int:participant_id>/loai")
@organiser_required("organiser")
def exclude(slug: str, participant_id: int):
    """Exclude a participant from rankings and prizes with a reason, or include them again."""
    found = _contest(slug)
    participant = db.session.get(Participant, participant_id)
    if participant is None or participant.contest_id != found.id:
        raise NotFoundError(_l("Không tìm thấy người dự thi."))
    form = ExcludeForm()
    if not form.validate_on_submit():
        raise AppError(_l("Thao tác không hợp lệ."))
    set_excluded(participant, form.excluded.data, form.reason.data or "", actor=current_organiser(), now=utcnow())
    flash(_("Đã cập nhật người dự thi #%(id)d.", id=participant.id), "info")
    return redirect(url_for(".participants", slug=slug), 303)


@bp.route("/<slug>/thi-sinh/cap-tai-khoan", methods=["GET", "POST"])
@organiser_required("organiser")
def preissue(slug: str):
    """Create accounts from a list (CSV/XLSX); the generated login codes are downloaded once, as CSV."""
    found = _contest(slug)
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("contests/manage/preissue.html", contest=found, form=form, problems=[]), \
            400 if request.method == "POST" else 200
    limits = UploadLimits.from_config(current_app.config, "CONTEST_IMPORT")
    try:
        rows = parse_participants(form.file.data.filename or "", form.file.data.read(limits.max_bytes + 1), limits)
        credentials = preissue_participants(found, rows, actor=current_organiser(), now=utcnow(), zone=local_zone(),
                                            secret=current_app.config["SECRET_KEY"])
    except Rejected as error:
        return _problems_page("contests/manage/preissue.html", error, contest=found, form=form)
    buffer = io.StringIO()
    write_csv(["row", "phone", "full_name", "code"], ([c.row, c.phone, c.full_name, c.code] for c in credentials),
              buffer)
    return download(buffer.getvalue(), "csv", f"{slug}-tai-khoan.csv")


@bp.get("/mau/<any('cau-hoi', 'thi-sinh'):kind>.xlsx")
@organiser_required
def template(kind: str):
    """Download the XLSX template of a question bank or of a list of accounts."""
    data = question_template() if kind == "cau-hoi" else participant_template()
    return download(data, "xlsx", f"mau-{kind}.xlsx")


@bp.get("/<slug>/du-lieu-ca-nhan.<any(csv, xlsx):fmt>")
@organiser_required("organiser")
def personal_data(slug: str, fmt: str):
    """Export participants' personal data (audited), e.g. to verify winners or answer a data subject."""
    found = _contest(slug)
    rows = export_personal_data(current_organiser(), found, fmt, zone=local_zone(), now=utcnow())
    return _tables_download([("thi_sinh", PERSONAL_DATA_COLUMNS, rows)], fmt, f"{slug}-du-lieu-ca-nhan", found)


@bp.route("/<slug>/xoa-du-lieu", methods=["GET", "POST"])
@organiser_required("organiser")
def erase(slug: str):
    """Erase participants' personal data after the retention period (anonymous attempt statistics stay)."""
    found = _contest(slug)
    page = ConfirmPage(_("Xoá dữ liệu cá nhân"),
                       _("Xoá họ tên, số điện thoại, ngày sinh, số CCCD (mã hoá) và mật khẩu của mọi người dự thi. Kết "
                         "quả thi được giữ ở dạng ẩn danh. Không thể hoàn tác."),
                       _("Xoá vĩnh viễn"), url_for(".participants", slug=slug))
    return confirm_then(lambda: page,
                        lambda: erase_personal_data(found, actor=current_organiser(), now=utcnow(), zone=local_zone()),
                        done=lambda count: _("Đã xoá dữ liệu cá nhân của %(n)d người dự thi.", n=count),
                        back=url_for(".participants", slug=slug))


# --- question banks ----------------------------------------------------------------------------------------------


@bp.get("/ngan-hang/<code>")
@organiser_required
def bank(code: str):
    """Show a bank's questions with keys, topics, difficulty and sources (organisers only)."""
    found = _bank(code)
    return render_template("contests/manage/bank.html", bank=found, questions=found.questions)


@bp.route("/ngan-hang/nhap", methods=["GET", "POST"])
@organiser_required("organiser")
def import_bank():
    """Import questions from XLSX, CSV or YAML into a bank: all or nothing, problems listed by row."""
    organiser = current_organiser()
    form = BankUploadForm()
    if not form.validate_on_submit():
        return render_template("contests/manage/import_bank.html", form=form, problems=[]), \
            400 if request.method == "POST" else 200
    if not may_import_into(form.bank.data, organiser.unit, organiser.role == "administrator"):
        refusal = Rejected([Problem(_l("Bạn không có quyền thêm câu hỏi vào ngân hàng này."))], status=403)
        return _problems_page("contests/manage/import_bank.html", refusal, form=form)
    limits = UploadLimits.from_config(current_app.config, "CONTEST_IMPORT")
    try:
        rows = parse_questions(form.file.data.filename or "", form.file.data.read(limits.max_bytes + 1), limits)
        found, added = import_questions(form.bank.data, rows, actor=organiser, now=utcnow(),
                                        title=form.title.data or None, unit=organiser.unit)
    except Rejected as error:
        return _problems_page("contests/manage/import_bank.html", error, form=form)
    flash(_("Đã nhập %(n)d câu hỏi vào ngân hàng %(code)s.", n=added, code=found.code), "info")
    return redirect(url_for(".bank", code=found.code), 303)
