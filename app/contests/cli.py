"""`flask questions …`, `flask contests …`, `flask export attempts`, `flask report contest`."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.auth.audit import COMMAND_LINE
from app.cli import echo_json, export_group, fail_on_app_error, open_output, report_group
from app.contests.attempts import finalise_expired
from app.contests.banks import import_questions
from app.contests.imports import parse_participants, parse_questions, question_template
from app.contests.lifecycle import change_status, contests_for, get_contest, save_contest
from app.contests.models import CONTEST_TRANSITIONS, Contest
from app.contests.participants import preissue_participants
from app.contests.reports import attempt_table, contest_report, group_names, report_tables, tables_in_words
from app.contests.spec import load_contest_file
from app.database import utcnow
from app.exports import iter_csv, write_csv, write_xlsx
from app.extensions import db
from app.i18n import local_zone
from app.units.services import get_unit_by_code
from app.uploads import UploadLimits
from app.validation import Rejected

questions_group = AppGroup("questions", help="Ngân hàng câu hỏi của cuộc thi.")
contests_group = AppGroup("contests", help="Cuộc thi tìm hiểu: định nghĩa, trạng thái, bài thi.")


def _reject(error: Rejected, summary: str) -> None:
    """List a refused file's problems, roll back what was flushed, and stop with the summary ({n}: their count)."""
    db.session.rollback()
    for problem in error.problems:
        click.echo(str(problem), err=True)
    raise click.ClickException(summary.format(n=len(error.problems)))


@questions_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--bank", "bank_code", required=True, help="Mã ngân hàng (tạo mới nếu chưa có).")
@click.option("--title", help="Tên ngân hàng khi tạo mới.")
@click.option("--unit", "unit_code", help="Đơn vị sở hữu ngân hàng mới (bỏ trống: ngân hàng dùng chung).")
@fail_on_app_error
def import_questions_command(path: str, bank_code: str, title: str | None, unit_code: str | None) -> None:
    """Import questions from XLSX, CSV or YAML: all or nothing, every problem listed by row."""
    limits = UploadLimits.from_config(current_app.config, "CONTEST_IMPORT")
    unit = get_unit_by_code(unit_code) if unit_code else None
    try:
        rows = parse_questions(path, Path(path).read_bytes(), limits)
        bank, added = import_questions(bank_code, rows, actor=COMMAND_LINE, now=utcnow(), title=title, unit=unit)
    except Rejected as error:
        _reject(error, "{n} lỗi; không câu hỏi nào được nhập.")
    db.session.commit()
    click.echo(f"Đã nhập {added} câu hỏi vào ngân hàng {bank.code}.")


@questions_group.command("template")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Tệp XLSX mẫu cần ghi.")
def questions_template_command(out: str) -> None:
    """Write the XLSX template of a question bank."""
    Path(out).write_bytes(question_template())
    click.echo(f"Đã ghi mẫu vào {out}.")


@contests_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@fail_on_app_error
def load_contest_command(path: str) -> None:
    """Validate a contest YAML file and create or update the contest it defines."""
    try:
        spec = load_contest_file(Path(path).read_bytes(), local_zone(), source=path)
        contest, created = save_contest(spec, actor=COMMAND_LINE, now=utcnow())
    except Rejected as error:
        _reject(error, "{n} lỗi; cuộc thi chưa được nạp.")
    db.session.commit()
    verb = "Đã tạo" if created else "Đã cập nhật"
    click.echo(f"{verb} cuộc thi {contest.slug} ({len(contest.rounds)} vòng, trạng thái {contest.status}).")


@contests_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="text", show_default=True)
def list_contests_command(fmt: str) -> None:
    """List contests with their rounds."""
    zone = local_zone()
    contests = contests_for(None)
    if fmt == "json":
        echo_json([{
            "slug": contest.slug, "title": contest.title, "status": contest.status, "unit": contest.unit.code,
            "rounds": [{"number": r.number, "name": r.name, "opens_at": r.opens_at.astimezone(zone).isoformat(),
                        "closes_at": r.closes_at.astimezone(zone).isoformat(), "question_count": r.question_count}
                       for r in contest.rounds],
        } for contest in contests])
        return
    for contest in contests:
        click.echo(f"{contest.slug:<24} {contest.status:<18} {len(contest.rounds)} vòng  {contest.title}")


@contests_group.command("regrade")
@click.argument("slug")
@click.option("--question", "code", required=True, help="Mã câu hỏi trong ngân hàng (ví dụ CCHC-002).")
@click.option("--key", "key", default=None, help="Đáp án đúng mới, bằng chữ cái (B, hoặc A,C).")
@click.option("--void", "void", is_flag=True, help="Huỷ câu hỏi: không tính vào điểm và điểm tối đa.")
@fail_on_app_error
def regrade_command(slug: str, code: str, key: str | None, void: bool) -> None:
    """Correct a question's key or void it after attempts exist, and re-grade every affected attempt."""
    from app.contests.regrade import contest_question, parse_key, regrade_question

    if void == (key is not None):
        raise click.UsageError("Ghi đúng một trong hai: --key ĐÁP_ÁN hoặc --void.")
    contest = get_contest(slug)
    question = contest_question(contest, code)
    done = regrade_question(contest, question, key=parse_key(key, question) if key is not None else None, void=void,
                            actor=COMMAND_LINE, now=utcnow())
    db.session.commit()
    detail = done.detail
    click.echo(f"Đã chấm lại {done.attempts} bài thi có câu {question.code}; {done.changed} bài đổi điểm; "
               f"số bài đạt điểm tối đa: {detail['full_marks_before']} → {detail['full_marks_after']}.")


@contests_group.command("status")
@click.argument("slug")
@click.argument("transition", type=click.Choice(sorted(CONTEST_TRANSITIONS)))
@fail_on_app_error
def contest_status_command(slug: str, transition: str) -> None:
    """Move a contest through its lifecycle (open, close, reopen, publish_results, archive)."""
    contest = get_contest(slug)
    change_status(contest, transition, actor=COMMAND_LINE, now=utcnow(), zone=local_zone())
    db.session.commit()
    click.echo(f"Cuộc thi {contest.slug}: {contest.status}.")


@contests_group.command("finalize-expired")
@fail_on_app_error
def finalize_expired_command() -> None:
    """Auto-submit, with their saved answers, attempts whose deadline (plus grace) has passed."""
    count = finalise_expired(utcnow())
    db.session.commit()
    click.echo(f"Đã nộp tự động {count} bài thi quá giờ.")


@contests_group.command("issue")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="CSV ghi mã đăng nhập (chỉ hiện một lần).")
@fail_on_app_error
def issue_accounts_command(slug: str, path: str, out: str) -> None:
    """Pre-issue participant accounts from a CSV/XLSX list; write each login code once to --out."""
    contest = get_contest(slug)
    limits = UploadLimits.from_config(current_app.config, "CONTEST_IMPORT")
    try:
        rows = parse_participants(path, Path(path).read_bytes(), limits)
        credentials = preissue_participants(contest, rows, actor=COMMAND_LINE, now=utcnow(), zone=local_zone(),
                                            secret=current_app.config["SECRET_KEY"])
    except Rejected as error:
        _reject(error, "{n} lỗi; chưa tài khoản nào được tạo.")
    with open(out, "w", encoding="utf-8", newline="") as stream:
        write_csv(["row", "phone", "full_name", "code"],
                  ([c.row, c.phone, c.full_name, c.code] for c in credentials), stream)
    db.session.commit()
    click.echo(f"Đã tạo {len(credentials)} tài khoản; mã đăng nhập ghi trong {out}.")


@export_group.command("attempts")
@click.option("--contest", "slug", required=True, help="Mã (slug) cuộc thi.")
@click.option("--round", "round_number", type=int, help="Chỉ một vòng (số thứ tự).")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: stdout).")
@fail_on_app_error
def export_attempts_command(slug: str, round_number: int | None, fmt: str, out: str | None) -> None:
    """Export finished attempts: participant, unit, group, score, prediction, times, rank, then 0/1 per question id."""
    contest = get_contest(slug)
    headers, rows = attempt_table(contest, local_zone(), round_number)
    _write([("attempts", headers, rows)], fmt, out, contest)


@report_group.command("contest")
@click.option("--contest", "slug", required=True, help="Mã (slug) cuộc thi.")
@click.option("--round", "round_number", type=int, help="Một vòng (mặc định: cả cuộc thi).")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: stdout).")
@fail_on_app_error
def report_contest_command(slug: str, round_number: int | None, fmt: str, out: str | None) -> None:
    """Report a contest or round: ranking, prediction value, item analysis, test statistics, prizes, units."""
    contest = get_contest(slug)
    report = contest_report(contest, local_zone(), round_number)
    if fmt == "json":
        if out:
            with open(out, "w", encoding="utf-8") as stream:
                json.dump(report, stream, ensure_ascii=False, indent=2)
        else:
            echo_json(report)
        return
    _write(report_tables(report), fmt, out, contest)


def _write(tables, fmt: str, out: str | None, contest: Contest) -> None:
    """Write tables as a people's workbook (sheets, columns, audience groups in words, real dates), or as CSV
    sections one after another (a blank line and a title between) with the documented machine keys."""
    if fmt == "xlsx":
        stream = open_output(out, binary=True)
        zone = local_zone()
        write_xlsx(tables_in_words(tables, zone, group_names(contest, zone)), stream)
        stream.flush()
        return
    stream = open_output(out, binary=False)
    for index, (title, headers, rows) in enumerate(tables):
        if len(tables) > 1:
            stream.write(("\r\n" if index else "\ufeff") + f"# {title}\r\n")
        for position, chunk in enumerate(iter_csv(headers, rows)):
            # One byte-order mark per file: iter_csv starts every table with one.
            stream.write(chunk.lstrip("\ufeff") if position == 0 and len(tables) > 1 else chunk)
    stream.flush()


COMMANDS = (questions_group, contests_group)
