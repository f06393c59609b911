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
from app.pdf import add_dejavu, font_dir
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
    #: The body above the issuer ("UBND TỈNH AN KHANG"), possibly empty.
    issuer_parent: str = ""
    signer_name: str = ""
    #: The round the prize was won in ("Tuần 1"), or "" for an overall prize or for completing.
    round_name: str = ""
    number: str = ""


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


def prize_rounds(contest: Contest, results: ContestResults) -> dict[int, str]:
    """Return participant id → the name of the round of their prize ("" for an overall prize)."""
    names = {round_.number: round_.name for round_ in contest.rounds}
    return {award.participant_id: names.get(award.round_number, "") if award.round_number else ""
            for award in results.awards}


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
                     base_url: str, secret: str, round_name: str = "") -> CertificateData:
    """Assemble one certificate's wording and its verification link (base_url/thi/chung-nhan/<token>)."""
    issued = (contest.results_published_at or contest.updated_at).astimezone(zone)
    rules = contest_spec(contest, zone).certificate
    place = f"{rules.place}, " if rules.place else ""
    return CertificateData(
        heading=str(_l("GIẤY KHEN") if rules.title == "giay_khen" else _l("GIẤY CHỨNG NHẬN")),
        contest_title=contest.title, organiser=rules.issuer or contest.unit.name,
        full_name=participant.full_name or "", unit_name=participant.unit.name,
        achievement=str(_l("Đạt %(prize)s", prize=prize) if prize else _l("Đã hoàn thành cuộc thi")),
        issued_on=place + str(_l("ngày %(d)s tháng %(m)s năm %(y)s", d=issued.day, m=issued.month, y=issued.year)),
        signer=rules.signer, verify_label=str(_l("Kiểm tra giấy chứng nhận tại:")),
        verify_url=f"{base_url}/thi/chung-nhan/{certificate_token(contest.id, participant.id, secret)}",
        issuer_parent=rules.issuer_parent, signer_name=rules.signer_name, round_name=round_name,
        number=f"{contest.id:03d}-{participant.id:06d}",
    )


def certificates_pdf(contest: Contest, earned: dict[int, str | None], zone: ZoneInfo, *, base_url: str,
                     secret: str, rounds: dict[int, str] | None = None) -> bytes:
    """Return the certificates of the participants in ``earned`` (id → prize, None for completing), by id.

    ``rounds`` names the round of each prize (see prize_rounds); left out, no round is printed.
    """
    participants = {participant.id: participant for batch in in_batches(earned) for participant in db.session.scalars(
        sa.select(Participant).where(Participant.id.in_(batch)))}
    return render_certificates([certificate_data(contest, participants[pid], prize, zone, base_url=base_url,
                                                 secret=secret, round_name=(rounds or {}).get(pid, ""))
                                for pid, prize in sorted(earned.items()) if pid in participants])


def render_certificates(certificates: Sequence[CertificateData]) -> bytes:
    """Return a PDF with one landscape A4 certificate per page, in the official style."""
    if not certificates:
        raise ValueError("no certificates to render")
    pdf = FPDF(orientation="L", format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_title("Giấy chứng nhận")
    add_dejavu(pdf)
    fonts = font_dir()
    pdf.add_font("Serif", "", str(fonts / "DejaVuSerif.ttf"))
    pdf.add_font("Serif", "B", str(fonts / "DejaVuSerif-Bold.ttf"))
    pdf.add_font("Serif", "I", str(fonts / "DejaVuSerif-Italic.ttf"))
    pdf.add_font("Serif", "BI", str(fonts / "DejaVuSerif-BoldItalic.ttf"))
    for certificate in certificates:
        _draw(pdf, certificate)
    return bytes(pdf.output())


RED = (166, 28, 28)
GOLD = (184, 134, 11)
INK = (20, 20, 20)


def _centred(pdf: FPDF, x: float, width: float, y: float, text: str, style: str, size: float, *,
             colour: tuple[int, int, int] = INK, line: float | None = None) -> float:
    """Write centred (wrapping) text in the column [x, x + width] from y; return the y below it."""
    pdf.set_font("Serif", style, size)
    pdf.set_text_color(*colour)
    pdf.set_xy(x, y)
    pdf.multi_cell(width, line or size * 0.48, text, align="C")
    return pdf.get_y()


def _ornament(pdf: FPDF, x: float, y: float, dx: int, dy: int) -> None:
    """Draw a small L-shaped corner ornament pointing into the page."""
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.8)
    pdf.line(x, y, x + dx * 18, y)
    pdf.line(x, y, x, y + dy * 18)
    pdf.set_fill_color(*GOLD)
    pdf.rect(x + dx * 3 - 1.5, y + dy * 3 - 1.5, 3, 3, style="F")


def _draw(pdf: FPDF, item: CertificateData) -> None:
    pdf.add_page()
    width, height = 297.0, 210.0
    # Frame: a red outer rule, a gold inner rule, gold corner ornaments.
    pdf.set_draw_color(*RED)
    pdf.set_line_width(2.2)
    pdf.rect(8, 8, width - 16, height - 16)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.6)
    pdf.rect(12.5, 12.5, width - 25, height - 25)
    for x, y, dx, dy in ((17, 17, 1, 1), (width - 17, 17, -1, 1), (17, height - 17, 1, -1),
                         (width - 17, height - 17, -1, -1)):
        _ornament(pdf, x, y, dx, dy)

    # Heading: the issuing body on the left, the national heading and motto on the right.
    left_x, left_w = 24.0, 118.0
    y = 24.0
    if item.issuer_parent:
        y = _centred(pdf, left_x, left_w, y, item.issuer_parent.upper(), "", 11.5)
    y = _centred(pdf, left_x, left_w, y, item.organiser.upper(), "B", 11.5)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    pdf.line(left_x + left_w / 2 - 18, y + 1.2, left_x + left_w / 2 + 18, y + 1.2)
    right_x, right_w = 146.0, 128.0
    y2 = _centred(pdf, right_x, right_w, 24.0, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "B", 11.5)
    y2 = _centred(pdf, right_x, right_w, y2, "Độc lập - Tự do - Hạnh phúc", "B", 12.5)
    pdf.line(right_x + right_w / 2 - 31, y2 + 1.2, right_x + right_w / 2 + 31, y2 + 1.2)

    # The title, who, what for: spread over the middle of the page.
    body_x, body_w = 30.0, width - 60
    y = max(y, y2) + 14
    y = _centred(pdf, body_x, body_w, y, item.heading, "B", 38, colour=RED, line=18)
    y = _centred(pdf, body_x, body_w, y + 3, "Trân trọng chứng nhận" if "KHEN" not in item.heading
                 else "Khen tặng", "I", 14.5)
    y = _centred(pdf, body_x, body_w, y + 5, item.full_name, "B", 28, colour=(11, 61, 120), line=14)
    pdf.set_draw_color(*GOLD)
    pdf.set_line_width(0.5)
    middle = width / 2
    pdf.line(middle - 45, y + 2.5, middle - 4, y + 2.5)
    pdf.line(middle + 4, y + 2.5, middle + 45, y + 2.5)
    pdf.set_fill_color(*GOLD)
    pdf.rect(middle - 1.5, y + 1, 3, 3, style="F")
    y = _centred(pdf, body_x, body_w, y + 6, item.unit_name, "", 14)
    achievement = item.achievement + (f" · {item.round_name}" if item.round_name else "")
    y = _centred(pdf, body_x, body_w, y + 6, achievement, "B", 20, colour=RED, line=10)
    _centred(pdf, body_x + 20, body_w - 40, y + 2, f"tại {item.contest_title}", "I", 14.5, line=7)

    # Foot: verification on the left, place, date and signer on the right.
    qr_size = 30.0
    foot = height - 22 - qr_size
    pdf.image(io.BytesIO(make_qr_png(item.verify_url, box_size=6)), x=24, y=foot, w=qr_size, h=qr_size)
    pdf.set_text_color(*INK)
    pdf.set_font("DejaVu", "", 7.5)
    pdf.set_xy(24 + qr_size + 3, foot + 8)
    pdf.multi_cell(78, 3.6, f"{item.verify_label}\n{item.verify_url}\nSố: {item.number}")
    sign_x, sign_w = width - 26 - 100, 100.0
    y = _centred(pdf, sign_x, sign_w, foot - 14, item.issued_on, "I", 12.5)
    y = _centred(pdf, sign_x, sign_w, y + 1, "\n".join(part.strip() for part in item.signer.upper().split("/")),
                 "B", 12.5)
    if item.signer_name:
        _centred(pdf, sign_x, sign_w, height - 32, item.signer_name, "B", 13.5)
