"""The documents' services: build a periodic report file in one call (the queued job behind the web download and
`flask report periodic` share it), ask for that job, and save a unit's letterhead and signature settings (audited)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.auth.audit import Actor, record
from app.documents.docx import build_docx
from app.documents.listener import Listener
from app.documents.models import DocumentSettings
from app.documents.pdf import build_pdf
from app.documents.periodic import PeriodicDocument, periodic_document
from app.extensions import db
from app.jobs import Job, enqueue
from app.organiser.reports import SipasReport
from app.periods import Period
from app.units.models import Unit

FORMATS = ("docx", "pdf")
SETTING_FIELDS = ("parent_agency", "agency", "symbol", "place", "signer_title", "signer_name", "recipients")


def periodic_report_file(unit: Unit, period: Period, fmt: str, *, now: dt.datetime, zone: ZoneInfo,
                         soffice: str | None, listener: Listener | None = None,
                         report: SipasReport | None = None) -> tuple[PeriodicDocument, bytes]:
    """Return the periodic report of a unit subtree for a period and its file as DOCX or PDF bytes (reads only).

    :param soffice: the LibreOffice program that converts the DOCX to PDF (None: the fpdf2 rendering).
    :param listener: the process's resident LibreOffice (a job worker's), tried before a cold start of ``soffice``.
    :param report: the period's SIPAS report when the caller has computed it already.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    if fmt == "pdf" and soffice and listener is not None:
        listener.warm_up()  # LibreOffice starts while the report is gathered
    document = periodic_document(unit, period, now=now, zone=zone, report=report)
    docx = build_docx(document)
    return document, (docx if fmt == "docx" else build_pdf(document, docx, soffice, listener))


def request_periodic_document(actor: Actor, unit: Unit, period: Period, fmt: str, now: dt.datetime) -> Job:
    """Queue the periodic report of a unit and period as a DOCX or PDF file (followed on the jobs page)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    return enqueue("periodic-document", owner_id=actor.id, unit_id=unit.id,
                   params={"period": period.label, "format": fmt}, title=f"{unit.name} · {period.label}",
                   result_name=f"bao-cao-dinh-ky-{unit.code}-{period.label.replace('..', '_')}.{fmt}", now=now)


def save_settings(actor: Actor, unit: Unit, values: dict[str, str], now: dt.datetime) -> DocumentSettings:
    """Store the letterhead and signature settings of a unit (only the known fields) and log the change."""
    settings = db.session.get(DocumentSettings, unit.id)
    if settings is None:
        settings = DocumentSettings(unit_id=unit.id)
        db.session.add(settings)
    for name in SETTING_FIELDS:
        setattr(settings, name, (values.get(name) or "").strip())
    settings.updated_at = now
    db.session.flush()
    record(actor, unit.id, "documents.settings", "unit", unit.code, {"fields": list(SETTING_FIELDS)}, now)
    return settings
