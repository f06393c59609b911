"""Certificates (giấy chứng nhận) as PDF with a verification URL and its QR code, and their signed tokens."""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from fpdf import FPDF
from itsdangerous import BadSignature, URLSafeSerializer

from app.contests.models import Contest, Participant
from app.contests.results import ContestResults
from app.contests.spec import contest_spec
from app.database import in_batches
from app.extensions import db
from app.pdf import add_dejavu
from app.units.qr import make_qr_png

_SALT = "contest-certificate"


@dataclass(frozen=True)
class CertificateData:
    """What one certificate says."""

    heading: str
    contest_title: str
    organiser: str
    full_name: str
    unit_name: str
    achievement: str
    issued_on: str
    signer: str
    verify_label: str
    verify_url: str


def certificate_token(contest_id: int, participant_id: int, secret: str) -> str:
    """Return the signed token of a participant's certificate (it only names ids; the page looks them up)."""
    return URLSafeSerializer(secret, salt=_SALT).dumps([contest_id, participant_id])


def read_certificate_token(token: str, secret: str) -> tuple[int, int] | None:
    """Return (contest id, participant id) of a genuine token, or None for a forged or damaged one."""
    try:
        contest_id, participant_id = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(contest_id, int) or not isinstance(participant_id, int):
        return None
    return contest_id, participant_id


def achievements(contest: Contest, results: ContestResults, zone: ZoneInfo) -> dict[int, str | None]:
    """Return who gets a certificate: participant id → prize label (None = completed, no prize).

    ``certificate.awarded_to``: winners (prize holders), completers (every valid participant with a counted
    attempt), threshold (total score at least ``min_score_percent`` of the maximum, plus every winner).
    """
    spec = contest_spec(contest, zone).certificate
    prizes = {award.participant_id: award.label for award in results.awards}
    overall = results.overall
    if spec.awarded_to == "winners":
        return dict(prizes)
    chosen: dict[int, str | None] = {}
    for pid, score, maximum in zip(overall.participant_id, overall.score, overall.max_score):
        enough = spec.awarded_to == "completers" or (maximum > 0 and 100 * score / maximum >= spec.min_score_percent)
        if enough or int(pid) in prizes:
            chosen[int(pid)] = prizes.get(int(pid))
    return chosen


def certificate_data(contest: Contest, participant: Participant, prize: str | None, zone: ZoneInfo, *,
                     base_url: str, secret: str) -> CertificateData:
    """Assemble one certificate's wording and its verification link (base_url/thi/chung-nhan/<token>)."""
    issued = (contest.results_published_at or contest.updated_at).astimezone(zone)
    return CertificateData(
        heading=str(_l("GIẤY CHỨNG NHẬN")), contest_title=contest.title, organiser=contest.unit.name,
        full_name=participant.full_name or "", unit_name=participant.unit.name,
        achievement=str(_l("Đạt %(prize)s", prize=prize) if prize else _l("Đã hoàn thành cuộc thi")),
        issued_on=str(_l("Ngày %(d)s tháng %(m)s năm %(y)s", d=issued.day, m=issued.month, y=issued.year)),
        signer=contest_spec(contest, zone).certificate.signer, verify_label=str(_l("Kiểm tra giấy chứng nhận tại:")),
        verify_url=f"{base_url}/thi/chung-nhan/{certificate_token(contest.id, participant.id, secret)}",
    )


def certificates_pdf(contest: Contest, earned: dict[int, str | None], zone: ZoneInfo, *, base_url: str,
                     secret: str) -> bytes:
    """Return the certificates of the participants in ``earned`` (id → prize, None for completing), by id."""
    participants = {participant.id: participant for batch in in_batches(earned) for participant in db.session.scalars(
        sa.select(Participant).where(Participant.id.in_(batch)))}
    return render_certificates([certificate_data(contest, participants[pid], prize, zone, base_url=base_url,
                                                 secret=secret)
                                for pid, prize in sorted(earned.items()) if pid in participants])


def render_certificates(certificates: Sequence[CertificateData]) -> bytes:
    """Return a PDF with one landscape A4 certificate per page."""
    if not certificates:
        raise ValueError("no certificates to render")
    pdf = FPDF(orientation="L", format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_title("Giấy chứng nhận")
    add_dejavu(pdf)
    for certificate in certificates:
        _draw(pdf, certificate)
    return bytes(pdf.output())


def _draw(pdf: FPDF, item: CertificateData) -> None:
    pdf.add_page()
    width, height = 297.0, 210.0
    pdf.set_draw_color(11, 83, 148)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, width - 28, height - 28)
    inner = width - 60
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(30, 24)
    pdf.set_font("DejaVu", "", 12)
    pdf.multi_cell(inner, 6, item.organiser.upper(), align="C")
    pdf.set_x(30)
    pdf.set_font("DejaVu", "B", 28)
    pdf.set_text_color(11, 83, 148)
    pdf.multi_cell(inner, 16, item.heading, align="C")
    pdf.set_text_color(0, 0, 0)
    pdf.set_x(30)
    pdf.set_font("DejaVu", "", 13)
    pdf.multi_cell(inner, 7, item.contest_title, align="C")
    pdf.ln(4)
    pdf.set_x(30)
    pdf.set_font("DejaVu", "B", 22)
    pdf.multi_cell(inner, 12, item.full_name, align="C")
    pdf.set_x(30)
    pdf.set_font("DejaVu", "", 13)
    pdf.multi_cell(inner, 7, item.unit_name, align="C")
    pdf.ln(2)
    pdf.set_x(30)
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(inner, 9, item.achievement, align="C")
    qr_size = 34
    pdf.image(io.BytesIO(make_qr_png(item.verify_url, box_size=6)), x=24, y=height - 24 - qr_size, w=qr_size,
              h=qr_size)
    pdf.set_xy(24 + qr_size + 4, height - 24 - 16)
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(110, 4, f"{item.verify_label}\n{item.verify_url}")
    pdf.set_xy(width - 24 - 90, height - 24 - 34)
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(90, 6, item.issued_on, align="C")
    pdf.set_x(width - 24 - 90)
    pdf.set_font("DejaVu", "B", 12)
    pdf.multi_cell(90, 6, item.signer, align="C")
