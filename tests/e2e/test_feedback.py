"""A citizen sends a feedback (PAKN) from the counter poster's second QR code on a 360×740 phone, with a photo,
then looks it up; an organiser of the unit sees it in the inbox (1366×768)."""
from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import unavailable
from tests.e2e.conftest import assert_accessible, screenshot

COUNTER_UNIT = "AK-X-TANPHU"
SMALL_PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True,
               "has_touch": True, "locale": "vi-VN"}
EMAIL, PASSWORD = "pakn@ankhang.gov.vn", "mat-khau-pakn-rat-dai"


@pytest.fixture(scope="module")
def feedback_url(live_server, tmp_path_factory) -> str:
    """Print the unit's posters, rasterise page 1, decode the feedback form's (smaller) QR code."""
    if shutil.which("pdftoppm") is None:
        unavailable("pdftoppm is not installed (apt-get install poppler-utils)")
    workdir = tmp_path_factory.mktemp("pakn-poster")
    pdf = workdir / "posters.pdf"
    live_server.flask("qr", "sheet", "--unit", COUNTER_UNIT, "--out", str(pdf))
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "1", "-l", "1", str(pdf), str(workdir / "page")],
                   check=True, timeout=60)
    codes = zxingcpp.read_barcodes(Image.open(next(workdir.glob("page*.png"))),
                                   formats=zxingcpp.BarcodeFormat.QRCode)
    [url] = [code.text for code in codes if "/phan-anh/gui" in code.text]
    return url


@pytest.fixture
def small_phone(browser):
    context = browser.new_context(**SMALL_PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def test_a_citizen_sends_feedback_from_the_poster_and_looks_it_up(live_server, small_phone, desktop, feedback_url,
                                                                   axe_source, tmp_path):
    page = small_phone.new_page()
    page.goto(feedback_url)
    assert "không nhận ẩn danh" in page.locator("main").inner_text()
    assert_accessible(page, axe_source, "feedback form")
    screenshot(page, "feedback-form-360")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the form scrolls sideways on a 360 px phone ({width} px)"
    page.locator("#f-name").fill("Lê Thị Thu Hà")
    page.locator("#f-address").fill("15 Trần Phú, xã Tân Phú")
    page.locator("#f-phone").fill("0987 654 321")
    page.locator('label:has(input[name="kind"][value="behaviour"])').tap()
    page.locator("#f-title").fill("Hẹn trả kết quả nhiều lần")
    page.locator("#f-content").fill("Hồ sơ đăng ký khai sinh nộp đã hai tuần, cán bộ hẹn nhiều lần.")
    photo = tmp_path / "anh.jpg"
    Image.new("RGB", (120, 90), (10, 120, 200)).save(photo, format="JPEG")
    page.set_input_files('input[name="files"]', str(photo))
    page.locator('input[name="consent_data"]').check()
    page.locator('input[name="consent_publish"]').check()
    page.get_by_role("button", name="Gửi phản ánh").click()
    page.wait_for_url(re.compile(r"/phan-anh/gui/PA-"))
    code = page.locator("#ma-tra-cuu").inner_text()
    assert re.fullmatch(r"PA-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    assert_accessible(page, axe_source, "feedback thanks")
    screenshot(page, "feedback-thanks-360")

    other = small_phone.browser.new_context(**SMALL_PHONE).new_page()
    other.goto(f"{live_server.url}/phan-anh/tra-cuu")
    other.get_by_label("Mã phản ánh").fill(code.lower())
    other.get_by_label("4 số cuối số điện thoại đã ghi khi gửi").fill("4321")
    other.get_by_role("button", name="Tra cứu").click()
    other.wait_for_url(re.compile(rf"/phan-anh/tra-cuu/{code}"))
    assert "Chờ tiếp nhận" in other.locator("main").inner_text()
    assert_accessible(other, axe_source, "feedback status")
    screenshot(other, "feedback-status-360")

    live_server.flask("create-organiser", "--email", EMAIL, "--unit", COUNTER_UNIT, "--role", "administrator",
                      "--name", "Cán bộ một cửa", "--password", PASSWORD)
    staff = desktop.new_page()
    staff.set_viewport_size({"width": 1366, "height": 768})
    staff.goto(f"{live_server.url}/quan-tri/dang-nhap")
    staff.get_by_label("Email").fill(EMAIL)
    staff.get_by_label("Mật khẩu").fill(PASSWORD)
    staff.get_by_role("button", name="Đăng nhập").click()
    staff.wait_for_url(re.compile(r"/quan-tri/"))
    staff.goto(f"{live_server.url}/quan-tri/phan-anh")
    assert code in staff.locator("main").inner_text()
    assert_accessible(staff, axe_source, "feedback inbox")
    screenshot(staff, "feedback-inbox-1366")
    staff.get_by_role("link", name=code).click()
    assert "Lê Thị Thu Hà" not in staff.locator("main").inner_text()
    staff.get_by_role("button", name="Tiếp nhận", exact=True).click()
    staff.wait_for_url(re.compile(rf"/quan-tri/phan-anh/{code}$"))
    assert "Đã tiếp nhận" in staff.locator("main").inner_text()
    assert_accessible(staff, axe_source, "feedback detail")
    screenshot(staff, "feedback-detail-1366")
    staff.get_by_label("Câu trả lời").fill("Xã Tân Phú đã trả kết quả khai sinh; cán bộ đã được nhắc nhở.")
    staff.get_by_role("button", name="Lưu câu trả lời (chờ duyệt)").click()
    staff.get_by_role("button", name="Duyệt câu trả lời").click()
    staff.wait_for_url(re.compile(rf"/quan-tri/phan-anh/{code}$"))
    staff.get_by_role("button", name="Công khai", exact=True).click()
    staff.wait_for_url(re.compile(rf"/quan-tri/phan-anh/{code}$"))
    public = small_phone.new_page()
    public.goto(f"{live_server.url}/phan-anh/{code}")
    text = public.content()
    assert "cán bộ đã được nhắc nhở" in text
    assert "Lê Thị Thu Hà" not in text and "0987" not in text and "654 321" not in text
    assert_accessible(public, axe_source, "published feedback")
    screenshot(public, "feedback-public-360")
    public.goto(f"{live_server.url}/phan-anh")
    assert code in public.locator("main").inner_text()
    assert_accessible(public, axe_source, "published list")
    screenshot(public, "feedback-list-360")
