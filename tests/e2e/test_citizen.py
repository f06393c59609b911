"""A citizen at the counter: scans the printed poster's QR code with a phone, rates the service, sees thanks."""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from tests.conftest import unavailable
from tests.e2e.conftest import assert_accessible, screenshot

COUNTER_UNIT = "AK-X-TANPHU"
COMMENT = "Cán bộ hướng dẫn tận tình, thủ tục nhanh gọn."


@pytest.fixture(scope="module")
def poster_url(live_server, tmp_path_factory) -> str:
    """Print the unit's poster sheet, rasterise page 1 with pdftoppm and decode its QR code with zxing-cpp."""
    workdir = tmp_path_factory.mktemp("poster")
    if shutil.which("pdftoppm") is None:
        unavailable("pdftoppm is not installed (apt-get install poppler-utils)")
    pdf = workdir / "posters.pdf"
    live_server.flask("qr", "sheet", "--unit", COUNTER_UNIT, "--out", str(pdf))
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", str(pdf), str(workdir / "page")],
                   check=True, timeout=60)
    page_png = next(workdir.glob("page*.png"))
    codes = zxingcpp.read_barcodes(Image.open(page_png), formats=zxingcpp.BarcodeFormat.QRCode)
    survey = [code for code in codes if "/phan-anh/" not in code.text]  # the other one is the feedback form's
    assert len(survey) == 1, f"expected one survey QR code on the poster, found {len(survey)}"
    return survey[0].text


def answer_every_question(page) -> None:
    """Tap an answer for every radio question in view as a person would (4 = satisfied, else the first option)."""
    html = page.content()
    for name in dict.fromkeys(re.findall(r'type="radio" name="([A-Za-z0-9_]+)"', html)):
        options = re.findall(rf'type="radio" name="{name}" value="([^"]+)"', html)
        value = "4" if "4" in options else options[0]
        choice = page.locator(f'label:has(input[name="{name}"][value="{value}"])')
        if choice.is_visible():  # the optional groups folded behind their heading stay closed
            choice.tap()


def stored_texts(database: Path) -> list[dict]:
    """Return the free-text answers of every stored response (read straight from the server's SQLite file)."""
    with sqlite3.connect(database) as connection:
        return [json.loads(row[0]) for row in connection.execute("SELECT texts FROM survey_responses")]


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_citizen_scans_the_poster_fills_the_survey_on_a_phone_and_sees_thanks(
        live_server, phone, phone_without_js, poster_url, javascript, axe_source):
    url = poster_url
    assert url.startswith(live_server.url + "/s/")
    comment = f"{COMMENT} ({'js' if javascript else 'no-js'})"
    before = len(stored_texts(live_server.database))

    page = (phone if javascript else phone_without_js).new_page()
    response = page.goto(url)
    assert response.status == 200
    assert page.locator("header .where").inner_text().startswith("Xã Tân Phú")
    if javascript:
        assert_accessible(page, axe_source, "survey form")
    answer_every_question(page)
    page.locator("textarea").first.fill(comment)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    page.wait_for_url(re.compile(r"/s/[^/]+/cam-on$"))

    assert page.get_by_role("heading", level=1).inner_text() == "Cảm ơn Ông/Bà đã đánh giá!"
    if javascript:
        assert_accessible(page, axe_source, "thanks page")
    screenshot(page, f"citizen-thanks-{'js' if javascript else 'nojs'}")
    texts = stored_texts(live_server.database)
    assert len(texts) == before + 1
    assert [t for t in texts if comment in t.values()], "the comment typed in the browser was not stored"


def test_citizen_who_skips_a_question_sees_the_vietnamese_error_next_to_it(live_server, phone_without_js, poster_url):
    url = poster_url
    before = len(stored_texts(live_server.database))
    page = phone_without_js.new_page()
    page.goto(url)
    page.get_by_role("button", name="Gửi đánh giá").tap()
    assert page.get_by_role("alert").first.inner_text().startswith("Còn 20 câu cần xem lại:")
    assert page.locator(".err").first.inner_text() in {"Vui lòng trả lời câu này.",
                                                       "Vui lòng chọn lĩnh vực thủ tục Ông/Bà vừa thực hiện."}
    screenshot(page, "citizen-missing-answers")
    assert len(stored_texts(live_server.database)) == before
