"""The citizen's minute on a 360×740 phone, with JavaScript and without: page heights, the numbered scale, the error
summary, Back after sending, a QR code rotated while the form was open, and the dossier page."""
from __future__ import annotations

import json
import re
import sqlite3
import time

import pytest

from tests.e2e.conftest import screenshot

SMALL_PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True,
               "has_touch": True, "locale": "vi-VN"}
FULL, QUICK, ROTATED = "AK-XTP-Q1", "AK-XLT-Q1", "AK-XHB-Q1"


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def small_phone(browser, request):
    """A 360×740 phone, with JavaScript on or off."""
    context = browser.new_context(java_script_enabled=request.param, **SMALL_PHONE)
    context.set_default_timeout(15_000)
    context.javascript = request.param
    yield context
    context.close()


def counters(live_server) -> dict[str, dict]:
    return {row["code"]: row for row in json.loads(live_server.flask("counters", "list", "--format", "json").stdout)}


def stored(live_server) -> int:
    with sqlite3.connect(live_server.database) as connection:
        return connection.execute("SELECT COUNT(*) FROM survey_responses").fetchone()[0]


def answer_all(page) -> None:
    """Tap 4 on every numbered row and the first option of every other required single choice."""
    for row in page.locator("fieldset.scale:visible").all():  # folded optional groups stay closed
        row.locator("label.n", has_text="4").tap()
    for group in page.locator("fieldset.chips[data-required]").all():
        group.locator("label.o").first.tap()


def suffix(context) -> str:
    return "js" if context.javascript else "nojs"


def test_both_surveys_fit_their_height_and_show_numbers_1_to_5_on_every_row(live_server, small_phone):
    rows = counters(live_server)
    page = small_phone.new_page()
    for code, limit, name in ((FULL, 4000, "full"), (QUICK, 1600, "quick")):
        page.goto(rows[code]["url"])
        height = page.evaluate("document.documentElement.scrollHeight")
        screenshot(page, f"minute-{name}-{suffix(small_phone)}")
        assert height <= limit, f"{code}: {height} px"
        for row in page.locator("fieldset.scale .row:visible").all():
            assert row.locator("label.n .num").all_inner_texts() == ["1", "2", "3", "4", "5"]  # visible text
            box = row.locator("label.n").first.bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44
        assert page.get_by_role("radio", name="1 Rất không hài lòng").count() >= 6
        assert page.locator(".key .ends").inner_text().replace("\n", " ").startswith("1 = Rất không hài lòng")
        assert page.locator(".progress").is_visible() == small_phone.javascript
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(rows[FULL]["url"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 320  # nothing wider than the smallest phone


def test_an_empty_submit_lists_every_question_in_page_order_and_the_count_follows_the_taps(live_server,
                                                                                          small_phone):
    page = small_phone.new_page()
    page.goto(counters(live_server)[FULL]["url"])
    before = stored(live_server)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_selector("#loi")
    summary = page.locator("#loi")
    links = summary.locator("a").all_inner_texts()
    assert links[:3] == ["Lĩnh vực thủ tục vừa thực hiện", "Nơi ngồi chờ có đủ chỗ ngồi",
                         "Trang thiết bị phục vụ người dân đầy đủ"]
    assert len(links) == 20 and len(set(links)) == 20
    assert "Còn 20 câu cần xem lại" in summary.inner_text()
    screenshot(page, f"minute-errors-{suffix(small_phone)}")
    if small_phone.javascript:
        assert page.evaluate("document.activeElement.id") == "loi"
        page.locator("fieldset.scale").first.locator("label.n", has_text="5").tap()
        assert page.locator(".progress .answered").inner_text() == "1"
    assert stored(live_server) == before


def test_back_after_sending_then_sending_again_stores_one_response(live_server, small_phone):
    page = small_phone.new_page()
    page.goto(counters(live_server)[FULL]["url"])
    before = stored(live_server)
    answer_all(page)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url(re.compile(r"/cam-on$"))
    page.go_back()
    page.wait_for_load_state()
    send = page.get_by_role("button", name="Gửi đánh giá")
    if send.count():  # the browser restored the filled form from its cache: sending it again is a replay
        send.tap()
        page.wait_for_url(re.compile(r"/cam-on$"))
    else:
        assert "Lượt đánh giá này đã được ghi nhận" in page.locator("h1").inner_text()
    page.reload()
    screenshot(page, f"minute-back-{suffix(small_phone)}")
    assert stored(live_server) == before + 1


def test_a_form_opened_before_the_qr_code_was_rotated_is_still_accepted(live_server, small_phone):
    page = small_phone.new_page()
    old_url = counters(live_server)[ROTATED]["url"]
    page.goto(old_url)
    before = stored(live_server)
    answer_all(page)
    live_server.flask("counters", "rotate", ROTATED)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url(re.compile(r"/cam-on$"))
    assert stored(live_server) == before + 1
    other = small_phone.new_page()
    # Without Redis a worker may keep the counter it read for up to 5 s (the counters cache): then the old address
    # answers 410.
    deadline = time.monotonic() + 8
    response = other.goto(old_url)
    while response.status == 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        response = other.goto(old_url)
    assert response.status == 410 and "Mã QR này đã được quầy thay bằng mã mới" in other.content()
    screenshot(other, f"minute-replaced-{suffix(small_phone)}")


def test_the_dossier_page_names_the_counter_hides_the_code_and_asks_for_a_reason_when_dissatisfied(live_server,
                                                                                                  small_phone):
    url = live_server.flask("dossier-link", "--counter", FULL, "--dossier", f"HS-2026-{suffix(small_phone)}-4821",
                            "--field", "HO_TICH").stdout.strip()
    page = small_phone.new_page()
    page.goto(url)
    body = page.locator("main").inner_text()
    assert "Bộ phận Một cửa xã Tân Phú" in body and "4821" in body and "HS-2026" not in body
    assert "Lĩnh vực thủ tục" not in body  # minted with its field
    reason = page.get_by_role("textbox", name=re.compile("Vì sao"))
    assert "Bắt buộc khi Ông/Bà chọn “Không hài lòng”." in body
    assert "không bắt buộc" not in page.locator("label[for=LY_DO]").inner_text()
    page.get_by_role("radio", name="Không hài lòng").check()
    if small_phone.javascript:
        assert reason.get_attribute("aria-required") == "true"
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_selector("#loi")
    assert "Vui lòng cho biết lý do." in page.locator("#loi").inner_text()
    screenshot(page, f"minute-dossier-{suffix(small_phone)}")
    page.get_by_role("textbox", name=re.compile("Vì sao")).fill("Phải đi lại hai lần.")
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url(re.compile(r"/cam-on$"))
