"""The organiser area's queued work: raw response exports, periodic report files, the periodic fold, and the
retention of raw responses (archive then delete, daily; ``flask jobs retention``).

Each kind reads what the organiser asked for (the job's params) as that organiser, so the subtree checked when the
job was asked for is checked again when it runs, and writes its file to the path the queue gives it.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _

from app.auth.audit import COMMAND_LINE, Actor, Unsigned
from app.auth.models import Organiser
from app.database import utcnow
from app.errors import NotFoundError
from app.exports import write_csv, write_xlsx
from app.extensions import db
from app.jobs import Job, Progress, job_kind, jobs_group, periodic, purge_results, result_dir
from app.organiser import services
from app.organiser.aggregates import refresh_packs
from app.organiser.retention import archive_month, months_to_archive, retention_cut
from app.organiser.report_files import comment_rows, render_report_pdf, write_report_xlsx
from app.organiser.reports import current_report
from app.periods import parse_period
from app.units.models import Unit


def actor_and_unit(job: Job) -> tuple[Organiser, Unit]:
    """The organiser who asked and the unit, still within their subtree (else the job fails: nothing is written)."""
    actor = db.session.get(Organiser, job.owner_id) if job.owner_id else None
    unit = db.session.get(Unit, job.unit_id) if job.unit_id else None
    if actor is None or unit is None or not actor.is_active_account or not unit.is_within(actor.unit):
        raise NotFoundError(_("Không tìm thấy đơn vị này trong phạm vi quản lý của bạn."))
    return actor, unit


@job_kind("responses")
def export_responses_job(job: Job, path: Path, progress: Progress) -> None:
    """Raw responses of an instrument in a subtree and period, as CSV or XLSX (split into sheets past Excel's limit)."""
    actor, unit = actor_and_unit(job)
    params = job.params
    period = parse_period(params["period"]) if params.get("period") else None
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    headers, rows = services.export_responses(actor, unit, params["instrument"], period, params["format"], zone,
                                              utcnow())
    total = services.count_responses(unit, params["instrument"], period)
    progress(0, total)
    if params["format"] == "csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            write_csv(headers, rows, stream, progress=lambda done: progress(done, total))
    else:
        with force_locale(params.get("locale", "vi")):
            title = _("Phiếu trả lời")
        write_xlsx([(title, headers, rows)], str(path), progress=lambda done: progress(done, total))
    db.session.commit()  # the audit entry of the export


@job_kind("report")
def report_file_job(job: Job, path: Path, progress: Progress) -> None:
    """The periodic report of a unit and period as a PDF (with charts) or an XLSX workbook (with comments)."""
    _actor, unit = actor_and_unit(job)
    params = job.params
    locale = params.get("locale", "vi")
    period = parse_period(params["period"])
    instrument = (params.get("instrument"), params.get("version"))
    progress(0, 2)
    with force_locale(locale):
        report, _state = current_report(unit, period, instrument, now=utcnow(), locale=locale, full=True,
                                        state=params.get("state"))
        progress(1, 2)
        if params["format"] == "pdf":
            path.write_bytes(render_report_pdf(report))
        else:
            zone = ZoneInfo(current_app.config["TIMEZONE"])
            write_report_xlsx(report, comment_rows(unit, report, zone, locale), str(path))
    progress(2, 2)


@periodic("report-refresh", minute="*/5")
def refresh_reports(now: dt.datetime) -> str:
    """Fold the responses stored since the last fold into the report aggregates (`flask report refresh`)."""
    result = refresh_packs(now)
    return f"{result.folded} folded" + (" (rebuilt)" if result.rebuilt else "")


@periodic("jobs-purge", minute="23")
def purge_old_results(now: dt.datetime) -> str:
    """Delete finished jobs and their files after JOBS_KEEP_DAYS."""
    return f"{purge_results(current_app._get_current_object(), now)} jobs purged"


#: Who the daily retention is recorded as in the audit log.
SCHEDULER = Unsigned("scheduler")


def apply_retention(now: dt.datetime, actor: Actor) -> list[str]:
    """Fold, then archive and delete each month older than RESPONSE_RETENTION_MONTHS, one commit per month (a
    killed run loses at most the month it was on, which the next run does again); return a line per month."""
    app = current_app._get_current_object()
    cut = retention_cut(now, ZoneInfo(app.config["TIMEZONE"]), int(app.config.get("RESPONSE_RETENTION_MONTHS", 0)))
    if cut is None:
        return []
    refresh_packs(now)
    db.session.commit()
    done = []
    for plan in months_to_archive(cut, now):
        archived = archive_month(plan.month, result_dir(app) / "archive", actor, now)
        db.session.commit()
        done.append(f"{plan.label}: {archived.responses} → {archived.path.name} (sha256 {archived.sha256})")
    return done


@periodic("responses-retention", hour="19", minute="41")  # the queue keeps UTC: 02:41 in Vietnam
def daily_retention(now: dt.datetime) -> str:
    """Archive and delete raw responses older than RESPONSE_RETENTION_MONTHS (nothing when it is 0)."""
    return "; ".join(apply_retention(now, SCHEDULER)) or "nothing to archive"


@jobs_group.command("retention")
@click.option("--dry-run", is_flag=True, help="Chỉ liệt kê những tháng sẽ được lưu trữ và xoá, không thay đổi gì.")
@with_appcontext
def retention_command(dry_run: bool) -> None:
    """Archive raw responses older than RESPONSE_RETENTION_MONTHS to compressed CSV files, then delete them (the
    reports keep their figures); with --dry-run, only say what would go."""
    now = utcnow()
    months = int(current_app.config.get("RESPONSE_RETENTION_MONTHS", 0))
    cut = retention_cut(now, ZoneInfo(current_app.config["TIMEZONE"]), months)
    if cut is None:
        click.echo(_("Phiếu trả lời được giữ mãi (RESPONSE_RETENTION_MONTHS = 0): không có gì để lưu trữ."))
        return
    if dry_run:
        plans = months_to_archive(cut, now)
        db.session.rollback()
        click.echo(_("Giữ %(months)s tháng: phiếu trước ngày %(cut)s sẽ được lưu trữ rồi xoá.", months=months,
                     cut=cut.strftime("%d/%m/%Y")))
        for plan in plans:
            click.echo(_("Tháng %(month)s: %(count)s phiếu", month=plan.month.strftime("%m/%Y"),
                         count=format_decimal(plan.responses, format="#,##0")))
        if not plans:
            click.echo(_("Không có phiếu nào cần lưu trữ."))
        return
    lines = apply_retention(now, COMMAND_LINE)
    for line in lines:
        click.echo(line)
    click.echo(_("Đã lưu trữ và xoá phiếu của %(count)s tháng.", count=len(lines)) if lines else
               _("Không có phiếu nào cần lưu trữ."))
