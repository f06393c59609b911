"""`flask holidays load FILE`, `flask feedback overdue --unit CODE`, `flask feedback send-mail`, and
`flask report feedback --unit CODE --period P --format json|csv|xlsx`."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.cli import fail_on_app_error, open_output, report_group
from app.database import utcnow
from app.errors import AppError
from app.exports import write_csv, write_xlsx
from app.extensions import db
from app.feedback import calendar, figures, mail, services
from app.i18n import local_zone
from app.periods import parse_period
from app.units.services import get_unit_by_code

holidays_group = AppGroup("holidays", help="Lịch nghỉ lễ, Tết dùng để tính ngày làm việc.")
feedback_group = AppGroup("feedback", help="Phản ánh, kiến nghị (PAKN).")


@holidays_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@fail_on_app_error
def holidays_load_command(path: str) -> None:
    """Load (replace) one year's holidays from a YAML file (see app/feedback/holidays/2026.yaml)."""
    year, days = calendar.load_year(Path(path).read_text(encoding="utf-8"))
    db.session.commit()
    click.echo(f"Đã nạp lịch năm {year}: {days} ngày.")


@holidays_group.command("list")
@fail_on_app_error
def holidays_list_command() -> None:
    """List the years whose calendar is loaded."""
    loaded = calendar.load_calendar()
    for year in sorted(loaded.years):
        off = sorted(day for day in loaded.days_off if day.year == year)
        click.echo(f"{year}: {len(off)} ngày nghỉ")


@feedback_group.command("overdue")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị: cả cây đơn vị bên dưới.")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON.")
@fail_on_app_error
def feedback_overdue_command(unit_code: str, as_json: bool) -> None:
    """List the open PAKN past their due date in a unit's subtree."""
    today = utcnow().astimezone(local_zone()).date()
    rows = services.overdue(get_unit_by_code(unit_code), today)
    if as_json:
        click.echo(json.dumps([{"code": row.code, "unit": row.unit.code, "status": row.status,
                                "due_on": row.effective_due_on.isoformat(),
                                "days_late": (today - row.effective_due_on).days} for row in rows],
                              ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("Không có phản ánh nào quá hạn.")
    for row in rows:
        click.echo(f"{row.code}\t{row.unit.code}\t{row.status}\thạn {row.effective_due_on:%d/%m/%Y}\t"
                   f"trễ {(today - row.effective_due_on).days} ngày")


@feedback_group.command("deadline")
@click.option("--unit", "unit_code", required=True,
              help="Mã đơn vị (áp dụng cho cả các đơn vị bên dưới chưa đặt riêng).")
@click.option("--kind", type=click.Choice(services.KINDS), help="Loại PAKN (mặc định: mọi loại).")
@click.option("--answer-days", type=int, required=True, help="Thời hạn trả lời, ngày làm việc (mặc định 10).")
@click.option("--transfer-days", type=int, default=services.DEFAULT_TRANSFER_DAYS, show_default=True,
              help="Thời hạn chuyển cơ quan có thẩm quyền, ngày làm việc.")
@fail_on_app_error
def feedback_deadline_command(unit_code: str, kind: str | None, answer_days: int, transfer_days: int) -> None:
    """Set a unit's PAKN deadlines in working days (for new PAKN)."""
    from app.auth.audit import COMMAND_LINE

    services.set_deadline(COMMAND_LINE, get_unit_by_code(unit_code), kind, answer_days, transfer_days, utcnow())
    db.session.commit()
    click.echo(f"Đã đặt thời hạn của {unit_code}: trả lời {answer_days}, chuyển {transfer_days} ngày làm việc.")


@feedback_group.command("send-mail")
@fail_on_app_error
def feedback_send_mail_command() -> None:
    """Send the messages waiting in the outbox through MAIL_URL (schedule it every few minutes)."""
    url = current_app.config.get("MAIL_URL")
    if not url:
        raise AppError("Chưa cấu hình MAIL_URL (smtp://máy:cổng): thư vẫn chờ trong hộp thư đi.")
    try:
        sent, failed = mail.drain(url, current_app.config["MAIL_FROM"], utcnow())
    except OSError as error:
        raise AppError(f"Không kết nối được máy chủ thư {url}: {error}") from None
    click.echo(f"Đã gửi {sent} thư" + (f", {failed} thư lỗi (sẽ thử lại)." if failed else "."))


FIGURE_ROWS = (
    ("received", "Số PAKN nhận"), ("accepted", "Số PAKN tiếp nhận"), ("answered", "Số PAKN đã trả lời"),
    ("due", "Số PAKN đến hạn trong kỳ"), ("decided", "Số PAKN đến hạn đã xác định đúng/trễ hạn (n)"),
    ("on_time", "Số PAKN trả lời đúng hạn"), ("on_time_share", "Tỷ lệ đúng hạn"), ("extended", "Số PAKN gia hạn"),
    ("median_working_days", "Trung vị số ngày làm việc đến khi trả lời"), ("overdue_now", "Số PAKN đang quá hạn"),
    ("rated", "Số câu trả lời được đánh giá"), ("indicator_8_points", "Điểm chỉ số 8 (tiếp thu, giải trình PAKN)"),
)


@report_group.command("feedback")
@click.option("--unit", "unit_code", required=True, help="Mã đơn vị: báo cáo cả cây đơn vị bên dưới.")
@click.option("--period", required=True, help="Kỳ: 2026-Q3, 2026-H1, 2026-07, 2026 hoặc 2026-01-01..2026-03-31.")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Tệp đích (mặc định: stdout).")
@fail_on_app_error
def report_feedback_command(unit_code: str, period: str, fmt: str, out: str | None) -> None:
    """Report PAKN figures (received, answered, on-time share with n, indicator 8, ratings) of a unit and period."""
    data = figures.feedback_figures(get_unit_by_code(unit_code), parse_period(period), utcnow(), local_zone())
    rows = [(label, data[key]) for key, label in FIGURE_ROWS]
    rows += [(f"Đánh giá: {label}", data["ratings"][key]) for key, label in
             (("satisfied", "hài lòng"), ("accepted", "chấp nhận"), ("dissatisfied", "không hài lòng"))]
    headers = ("Chỉ tiêu", f"{data['unit']} · {data['period']}")
    if fmt == "json":
        stream = open_output(out, binary=False)
        json.dump(data, stream, ensure_ascii=False, indent=2)
        stream.write("\n")
    elif fmt == "csv":
        write_csv(headers, rows, open_output(out, binary=False))
    else:
        write_xlsx([("PAKN", headers, rows)], open_output(out, binary=True))


COMMANDS = (holidays_group, feedback_group)
