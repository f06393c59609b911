"""The documents' queued work: the periodic report as DOCX or PDF (LibreOffice's conversion takes seconds, so it
never runs inside a request). The organiser who asked is checked against the unit again when the job runs."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app

from app.database import utcnow
from app.documents.listener import resident_listener
from app.documents.pdf import find_soffice
from app.documents.services import periodic_report_file
from app.jobs import Job, Progress, job_kind
from app.organiser.jobs import actor_and_unit
from app.periods import parse_period


@job_kind("periodic-document")
def periodic_document_job(job: Job, path: Path, progress: Progress) -> None:
    """Write the official periodic report of the job's unit and period (always in Vietnamese)."""
    _actor, unit = actor_and_unit(job)
    progress(0, 1)
    soffice = find_soffice(current_app.config["DOCUMENT_SOFFICE"])
    # A worker keeps LibreOffice resident between documents; a job run inside the process that queued it
    # (JOBS_IMMEDIATE: the tests, a single-process setup) is a web process and starts nothing that outlives it.
    listener = resident_listener(soffice) if soffice and not current_app.config.get("JOBS_IMMEDIATE") else None
    _document, data = periodic_report_file(unit, parse_period(job.params["period"]), job.params["format"],
                                           now=utcnow(), zone=ZoneInfo(current_app.config["TIMEZONE"]),
                                           soffice=soffice, listener=listener)
    path.write_bytes(data)
    progress(1, 1)
