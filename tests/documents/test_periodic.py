"""The periodic report as an official document: DOCX read back with python-docx, PDF through LibreOffice (page 1
kept as a PNG artifact) and through the fpdf2 fallback, the same figures as the JSON report, the settings form."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess  # nosec B404
from pathlib import Path

import pytest
from docx import Document

from tests.conftest import unavailable
from tests.factories import csrf_from, job_file
from tests.contests.helpers import finished_attempt, local
from tests.organiser.reporting import store_many, vector

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
JANUARY, FEBRUARY, NOVEMBER = dt.date(2026, 1, 15), dt.date(2026, 2, 10), dt.date(2025, 11, 12)


@pytest.fixture
def site(app, make, units, make_contest):
    """T with T-SNV (21 satisfied responses in Q1 2026) and T-XA (9 unhappy ones); Q4 2025 far lower; a contest in
    March 2026 with two finishers; T's letterhead set by its administrator."""
    snv, xa = make.counter("T-SNV", code="Q-SNV"), make.counter("T-XA", code="Q-XA")
    store_many(app, snv, vector(5), 21, day=JANUARY, field="HO_TICH")
    store_many(app, xa, vector(2, TC=[5, 5, 2, 2], CC=[4, 2, 2, 2, 2, 2]), 9, day=FEBRUARY, field="HO_TICH")
    store_many(app, snv, vector(2), 20, day=NOVEMBER, field="HO_TICH")
    store_many(app, xa, vector(4), 10, day=NOVEMBER, field="HO_TICH")
    contest = make_contest(opens=local("2026-03-01 08:00"), closes=local("2026-03-20 17:00"))
    finished_attempt(app, contest.id, "0912345601", 4, units=units, questions=6)
    finished_attempt(app, contest.id, "0912345602", 2, units=units, unit="T-XA", name="Lê Thị Cúc", seed=2,
                     questions=6)
    return contest


def settings(app, unit="T", **values):
    from app.auth.audit import COMMAND_LINE
    from app.documents.services import save_settings
    from app.extensions import db
    from app.units.services import get_unit_by_code

    defaults = dict(parent_agency="Bộ Nội vụ thử", agency="Ủy ban nhân dân tỉnh Thử Nghiệm", symbol="UBND",
                    place="Thử Nghiệm", signer_title="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH", signer_name="Nguyễn Văn Ký",
                    recipients="Bộ Nội vụ;\nThường trực Tỉnh ủy")
    with app.app_context():
        save_settings(COMMAND_LINE, get_unit_by_code(unit), {**defaults, **values}, dt.datetime.now(dt.timezone.utc))
        db.session.commit()


def docx_text(data: bytes) -> tuple[Document, list[str]]:
    document = Document(io.BytesIO(data))
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines += [p.text for cell in row.cells for p in cell.paragraphs]
    return document, lines


def vn(value: float, decimals: int = 1) -> str:
    return f"{value:,.{decimals}f}".replace(",", "\u0001").replace(".", ",").replace("\u0001", ".")


def test_the_docx_has_the_decree_layout_and_the_json_reports_figures(app, runner, site, tmp_path):
    settings(app)
    out = tmp_path / "bao-cao.docx"
    result = runner.invoke(args=["report", "periodic", "--unit", "T", "--period", "2026-Q1", "--format", "docx",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(runner.invoke(args=["report", "sipas", "--unit", "T", "--period", "2026-Q1",
                                          "--format", "json"]).output)
    document, lines = docx_text(out.read_bytes())
    text = "\n".join(lines)

    page = document.sections[0]
    sizes = [round(length.mm) for length in (page.page_width, page.page_height, page.top_margin,
                                             page.bottom_margin, page.left_margin, page.right_margin)]
    assert sizes == [210, 297, 20, 20, 30, 15]  # A4; margins within the decree's 20–25, 20–25, 30–35, 15–20 mm
    assert document.styles["Normal"].font.name == "Times New Roman"
    assert page.different_first_page_header_footer  # page numbers from page 2 on
    for line in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BỘ NỘI VỤ THỬ",
                 "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM", "Số: …/BC-UBND", "BÁO CÁO", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH",
                 "Nguyễn Văn Ký", "Nơi nhận:", "- Bộ Nội vụ;", "- Thường trực Tỉnh ủy;", "- Lưu: VT."):
        assert line in lines, line
    assert re.search(r"^Thử Nghiệm, ngày \d\d tháng \d+ năm \d{4}$", text, re.M)
    assert "Kết quả cải cách hành chính và mức độ hài lòng của người dân, tổ chức quý I năm 2026" in lines

    # The narrative states the JSON report's figures at the precision it shows.
    overall = data["overall"]["value"]
    change = data["comparison"]["overall"]
    assert data["responses"] == 30 and change["p_value"] < 0.05 and change["difference"] > 0
    sentence = next(line for line in lines if "chỉ số hài lòng chung đạt" in line)
    assert f"đạt {vn(overall)} % (n = 30)" in sentence
    assert f"tăng {vn(change['difference'])} điểm so với quý IV năm 2025" in sentence
    assert "mức tăng có ý nghĩa thống kê" in sentence
    weakest = min(data["criteria"], key=lambda c: c["value"])
    assert weakest["text"] in text
    assert "Sở Nội vụ Thử" in text and "T-SNV" not in text  # names, never codes

    # Contests held in the period: participants, completion, participation per unit.
    contest = next(line for line in lines if line.startswith("Cuộc thi “Cuộc thi thử nghiệm”"))
    assert "2 người đăng ký dự thi, 2 người hoàn thành bài thi (đạt 100,0 %)" in contest
    assert "Tỷ lệ tham gia theo đơn vị – Cuộc thi thử nghiệm" in lines
    assert "10,0 %" in lines and "25,0 %" in lines  # 1 of 10 at the department, 1 of 4 at the commune
    assert not any("phản ánh, kiến nghị" in line and line.startswith("Trong kỳ") for line in lines)


def test_the_dashboard_names_the_weakest_and_strongest_criteria(app, client, make, login, site):
    login(make.organiser("T", role="viewer"))
    html = client.get("/quan-tri/tong-quan?year=2026&preset=Q1").get_data(as_text=True)
    head = html.partition('<details class="stats">')[0]
    assert "Ba tiêu chí yếu nhất" in head and "Ba tiêu chí mạnh nhất" in head
    assert "Cuộc thi thử nghiệm" in head and "2 người đăng ký, 2 người hoàn thành" in head
    assert "Đây là thay đổi thật, vượt quá sai số ngẫu nhiên." in head


def test_a_period_without_contests_or_responses_still_makes_a_document(app, runner, site, tmp_path):
    out = tmp_path / "trong.docx"
    result = runner.invoke(args=["report", "periodic", "--unit", "T", "--period", "2024", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _, lines = docx_text(out.read_bytes())
    assert "TỈNH THỬ NGHIỆM" in lines  # the unit's name when no letterhead is set
    assert any("chưa có đủ phiếu khảo sát hợp lệ" in line for line in lines)
    assert not any("CUỘC THI" in line for line in lines)
    assert "THỦ TRƯỞNG CƠ QUAN" in lines


def test_bad_units_and_periods_are_refused_clearly(runner, site, tmp_path):
    result = runner.invoke(args=["report", "periodic", "--unit", "KHONG", "--period", "2026-Q1",
                                 "--out", str(tmp_path / "x.docx")])
    assert result.exit_code == 1 and "Không tìm thấy đơn vị" in result.output
    result = runner.invoke(args=["report", "periodic", "--unit", "T", "--period", "quý 1",
                                 "--out", str(tmp_path / "y.docx")])
    assert result.exit_code == 1 and not (tmp_path / "y.docx").exists()


def pdf_text(data: bytes, tmp_path: Path) -> str:
    if not shutil.which("pdftotext"):
        unavailable("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True,  # nosec
                          text=True).stdout


def test_libreoffice_turns_the_docx_into_the_pdf_and_page_one_is_kept_as_png(app, runner, site, tmp_path):
    if not shutil.which("soffice"):
        unavailable("LibreOffice (soffice) is not installed")
    if not shutil.which("pdftoppm"):
        unavailable("pdftoppm (poppler-utils) is not installed")
    settings(app)
    out = tmp_path / "bao-cao.pdf"
    result = runner.invoke(args=["report", "periodic", "--unit", "T", "--period", "2026-Q1", "--format", "pdf",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    text = pdf_text(data, tmp_path)
    for words in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "BÁO CÁO", "Nguyễn Văn Ký",
                  "Số: …/BC-UBND"):
        assert words in text, words
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout  # nosec
    assert "Serif" in fonts or "Times" in fonts
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(out),  # nosec
                    str(ARTIFACTS / "periodic-report-page1")], check=True)
    assert (ARTIFACTS / "periodic-report-page1.png").stat().st_size > 10_000


def test_without_libreoffice_fpdf2_prints_the_same_text(app, site, tmp_path):
    from app.database import utcnow
    from app.documents.services import periodic_report_file
    from app.periods import parse_period
    from app.units.services import get_unit_by_code
    from zoneinfo import ZoneInfo

    settings(app)
    with app.app_context():
        document, data = periodic_report_file(get_unit_by_code("T"), parse_period("2026-Q1"), "pdf", now=utcnow(),
                                              zone=ZoneInfo("Asia/Ho_Chi_Minh"), soffice=None)
    text = " ".join(pdf_text(data, tmp_path).split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Nguyễn Văn Ký" in text
    assert f"đạt {document.headline.overall} (n = 30)" in text


def test_organisers_download_the_document_of_their_subtree_only(app, client, make, login, site):
    from app.units.services import get_unit_by_code

    login(make.organiser("T-SNV", role="viewer"))
    with app.app_context():
        own, parent = get_unit_by_code("T-SNV").id, get_unit_by_code("T").id
    # A job: the request queues it and leads to the jobs page, whose signed link gives the file.
    response = job_file(client, f"/quan-tri/van-ban/bao-cao-dinh-ky.docx?unit={own}&period=2026-Q1")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=bao-cao-dinh-ky-T-SNV-2026-Q1.docx"
    _, lines = docx_text(response.get_data())
    assert any("n = 21" in line for line in lines)
    assert client.get(f"/quan-tri/van-ban/bao-cao-dinh-ky.docx?unit={own}&period=2026-Q1").status_code == 405
    outside = job_file(client, f"/quan-tri/van-ban/bao-cao-dinh-ky.docx?unit={parent}&period=2026-Q1")
    assert outside.status_code == 404
    refused = job_file(client, f"/quan-tri/van-ban/bao-cao-dinh-ky.docx?unit={own}&period=quy-mot")
    assert refused.status_code == 400 and "kỳ báo cáo không hợp lệ" in refused.get_data(as_text=True)
    assert client.get(f"/quan-tri/van-ban/cai-dat/{own}").status_code == 403  # viewers read, never set


def test_the_settings_form_saves_and_refuses_with_clear_messages(app, client, make, login, site):
    from app.documents.models import DocumentSettings
    from app.extensions import db
    from app.units.services import get_unit_by_code

    login(make.organiser("T", role="organiser"))
    with app.app_context():
        unit_id, other = get_unit_by_code("T").id, get_unit_by_code("X").id
    page = client.get(f"/quan-tri/van-ban/cai-dat/{unit_id}")
    assert page.status_code == 200 and "TỈNH THỬ NGHIỆM" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    bad = client.post(f"/quan-tri/van-ban/cai-dat/{unit_id}", data={
        "csrf_token": token, "agency": "", "symbol": "ubnd tỉnh", "signer_title": "CHỦ TỊCH"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Nhập tên cơ quan ban hành." in html and "Chỉ dùng chữ in hoa" in html
    with app.app_context():
        assert db.session.get(DocumentSettings, unit_id) is None
    good = client.post(f"/quan-tri/van-ban/cai-dat/{unit_id}", data={
        "csrf_token": token, "agency": "UBND tỉnh Thử", "symbol": "UBND", "signer_title": "CHỦ TỊCH",
        "signer_name": "Trần Ký",
        "recipients": "Bộ Nội vụ"})
    assert good.status_code == 303
    with app.app_context():
        assert db.session.get(DocumentSettings, unit_id).signer_name == "Trần Ký"
    assert client.get(f"/quan-tri/van-ban/cai-dat/{other}").status_code == 404


def test_without_a_previous_period_the_first_sentence_ends_once(app, runner, site, tmp_path):
    out = tmp_path / "q4.docx"
    result = runner.invoke(args=["report", "periodic", "--unit", "T", "--period", "2025-Q4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    _, lines = docx_text(out.read_bytes())
    [first] = [line for line in lines if "chỉ số hài lòng chung đạt" in line]
    assert first.endswith("(n = 30). Không có số liệu kỳ trước để so sánh.")
    assert not any(".." in line.replace("…", "") for line in lines)


def test_a_province_names_five_units_apart_and_counts_the_rest():
    from types import SimpleNamespace

    from app.documents.periodic import _some_units

    communes = [SimpleNamespace(name=f"Xã {index}", estimate=SimpleNamespace(value=90 - index)) for index in range(7)]
    assert _some_units(communes) == ("Xã 0 (90,0 %), Xã 1 (89,0 %), Xã 2 (88,0 %), Xã 3 (87,0 %), Xã 4 (86,0 %) "
                                     "và 2 đơn vị khác (Bảng 2)")
    assert _some_units(communes[:2]) == "Xã 0 (90,0 %), Xã 1 (89,0 %)"
