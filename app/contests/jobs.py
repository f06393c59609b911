"""Contests' queued work: result, attempt and report exports, and the periodic auto-submission of expired attempts."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.auth.models import Organiser
from app.contests.attempts import finalise_expired
from app.contests.models import Contest
from app.contests.reports import export_contest, group_names, tables_in_words
from app.database import utcnow
from app.errors import NotFoundError
from app.exports import write_csv, write_xlsx
from app.extensions import db
from app.jobs import Job, Progress, enqueue, job_kind, periodic


def request_export(actor: Organiser, contest: Contest, kind: str, fmt: str, round_number: int | None, locale: str,
                   now: dt.datetime) -> Job:
    """Queue a contest export: "ket-qua" (results with names), "bai-thi" (attempts) or "bao-cao" (the report)."""
    name = f"{contest.slug}-vong-{round_number}-{kind}" if round_number else f"{contest.slug}-{kind}"
    return enqueue("contest", owner_id=actor.id, unit_id=contest.unit_id,
                   params={"contest": contest.id, "kind": kind, "format": fmt, "round": round_number, "locale": locale},
                   title=f"{contest.title} · {kind}" + (f" · {round_number}" if round_number else ""),
                   result_name=f"{name}.{fmt}", now=now)


@job_kind("contest")
def export_contest_job(job: Job, path: Path, progress: Progress) -> None:
    """Write a contest export (logged as the organiser who asked, still within their subtree)."""
    params = job.params
    actor = db.session.get(Organiser, job.owner_id) if job.owner_id else None
    contest = db.session.get(Contest, params["contest"])
    if actor is None or contest is None or not contest.unit.is_within(actor.unit):
        raise NotFoundError(_("Không tìm thấy cuộc thi này."))
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    with force_locale(params.get("locale", "vi")):  # labels, sheets and columns in the organiser's language
        exported = export_contest(actor, contest, params["kind"], params["format"], zone=zone,
                                  round_number=params.get("round"), now=utcnow())
        if params["format"] == "xlsx":
            exported = tables_in_words(exported, zone, group_names(contest, zone))
    if params["format"] == "json":
        path.write_text(json.dumps(exported, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    elif params["format"] == "xlsx":
        write_xlsx(exported, str(path), progress=lambda done: progress(done, None))
    else:
        _title, headers, rows = exported[0]
        with path.open("w", encoding="utf-8", newline="") as stream:
            write_csv(headers, rows, stream, progress=lambda done: progress(done, None))
    db.session.commit()  # the audit entry of the export


@periodic("contests-finalize-expired", minute="*")
def finalize_expired(now: dt.datetime) -> str:
    """Auto-submit attempts whose deadline (plus grace) has passed (`flask contests finalize-expired`)."""
    return f"{finalise_expired(now)} attempts submitted"
