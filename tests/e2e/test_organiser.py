"""An organiser on a desktop browser: signs in, reads the dashboard, opens the periodic report, asks for its XLSX,
follows the job on the jobs page and downloads the file, and downloads the period's document as Word and PDF."""
from __future__ import annotations

import io
import re

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.e2e.conftest import assert_accessible, screenshot

EMAIL = "canbo.tinh@ankhang.gov.vn"
PASSWORD = "mat-khau-quan-tri-dai-1"


@pytest.fixture(scope="module")
def organiser(live_server) -> str:
    """Create a province administrator on the live server's database."""
    live_server.flask("create-organiser", "--email", EMAIL, "--unit", "AK", "--role", "administrator",
                      "--name", "Cán bộ Sở Nội vụ", "--password", PASSWORD)
    return EMAIL


def test_organiser_signs_in_reads_the_dashboard_and_downloads_the_xlsx_report(live_server, desktop, organiser,
                                                                               axe_source):
    page = desktop.new_page()
    page.goto(f"{live_server.url}/quan-tri/dang-nhap")
    assert_accessible(page, axe_source, "login page")
    page.get_by_label("Email").fill(organiser)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/quan-tri/"))

    page.goto(f"{live_server.url}/quan-tri/tong-quan?preset=Y")
    assert page.get_by_role("heading", level=1).count() == 1
    assert "Tỉnh An Khang" in page.locator("main").inner_text()
    page.locator("main img").first.wait_for()  # the charts are separate SVG images
    assert_accessible(page, axe_source, "dashboard")
    screenshot(page, "organiser-dashboard")

    page.get_by_role("link", name="Báo cáo định kỳ").first.click()
    page.wait_for_url(re.compile(r"/quan-tri/bao-cao"))
    report_url = page.url
    assert_accessible(page, axe_source, "periodic report")
    page.get_by_role("button", name="Tải XLSX").click()  # queues the file: the jobs page follows its progress
    page.wait_for_url(re.compile(r"/quan-tri/tac-vu/\d+"))
    assert "Tác vụ xuất dữ liệu và báo cáo" in page.locator("h1").inner_text()
    link = page.get_by_role("link", name="Tải về")
    link.wait_for(timeout=60_000)  # the page refreshes itself every 3 s until the worker is done
    assert "Hoàn tất" in page.locator("main").inner_text()
    assert_accessible(page, axe_source, "jobs page")
    screenshot(page, "organiser-jobs")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(open(download.path(), "rb").read()), read_only=True)
    assert len(book.sheetnames) >= 2
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
             if isinstance(cell, str)]
    assert any("An Khang" in cell for cell in cells)
    screenshot(page, "organiser-report")

    # The period's official document: Word, then the same as PDF, each queued from the report page and downloaded
    # from the jobs page.
    for button, suffix in (("Tải báo cáo (Word)", ".docx"), ("Tải báo cáo (PDF)", ".pdf")):
        page.goto(report_url)
        page.get_by_role("button", name=button).click()
        page.wait_for_url(re.compile(r"/quan-tri/tac-vu/\d+"))
        link = page.locator("tr.current").get_by_role("link", name="Tải về")  # the row of the job just asked for
        link.wait_for(timeout=120_000)
        with page.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename.endswith(suffix)
        if suffix == ".docx":
            document = Document(download.path())
            lines = [paragraph.text for paragraph in document.paragraphs]
            assert "BÁO CÁO" in lines and any("chỉ số hài lòng chung đạt" in line for line in lines)
    assert open(download.path(), "rb").read(5) == b"%PDF-"  # the last download: the PDF


def test_organiser_finds_comments_typed_without_accents(live_server, desktop, organiser, axe_source):
    page = desktop.new_page()
    page.goto(f"{live_server.url}/quan-tri/dang-nhap")
    page.get_by_label("Email").fill(organiser)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/quan-tri/"))
    page.goto(f"{live_server.url}/quan-tri/y-kien?q=huong+dan")
    texts = page.locator("main p.text").all_inner_texts()
    assert texts and all("hướng dẫn" in text.lower() for text in texts)
    assert re.search(r"\d[\d.]* ý kiến\.", page.locator("main").inner_text())  # indexed: the total is shown
    assert_accessible(page, axe_source, "comments search")
    screenshot(page, "organiser-comments-search")
