"""The public face in Chromium: the home page and a published results page on a 360×740 phone and a 1366×768 screen
(screenshots kept in tests/artifacts/portal-*.png), no serious or critical axe violation on any public page, nothing
wider than the phone, and the share image the page names is a 1200×630 PNG."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.e2e.conftest import assert_accessible, screenshot

SIZES = {"360x740": {"width": 360, "height": 740}, "1366x768": {"width": 1366, "height": 768}}
#: The demo province's results for the current year, published by the fixture below.
RESULT = "/ket-qua/AK/2026"


@pytest.fixture(scope="module")
def published(live_server) -> str:
    """Publish the demo province's results for 2026 (the demo's responses fall in it)."""
    live_server.flask("results", "publish", "--unit", "AK", "--period", "2026")
    return RESULT


@pytest.mark.parametrize("size", SIZES)
def test_home_and_results_pages_at_phone_and_desktop_sizes(live_server, browser, published, axe_source, size):
    context = browser.new_context(viewport=SIZES[size], locale="vi-VN")
    try:
        page = context.new_page()
        for path, name, expected in (("/", "home", "Cải cách hành chính Tỉnh An Khang"),
                                     (published, "result", "Chỉ số hài lòng của Tỉnh An Khang"),
                                     ("/thi", "contests", "Cuộc thi tìm hiểu cải cách hành chính"),
                                     ("/ket-qua", "results", "Kết quả khảo sát sự hài lòng")):
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            assert expected in page.get_by_role("heading", level=1).inner_text()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"], f"{path} overflows: {width}px"
            assert_accessible(page, axe_source, f"{path} at {size}")
            screenshot(page, f"portal-{name}-{size}")
        # The results page says its index in words, with its chart described for screen readers.
        page.goto(live_server.url + published)
        main = page.locator("main").inner_text()
        assert "trên 100 người được hỏi hài lòng" in main
        assert page.locator("svg[role=img] title").count() >= 1
        image = page.locator('meta[property="og:image"]').get_attribute("content")
        fetched = context.request.get(image)
        assert fetched.status == 200
        assert Image.open(io.BytesIO(fetched.body())).size == (1200, 630)
    finally:
        context.close()


def test_embed_card_in_a_frame_of_an_allowed_origin(live_server, browser, published):
    """Without an allowed origin the card refuses to be framed (the default); the page itself still renders."""
    context = browser.new_context(viewport={"width": 400, "height": 300}, locale="vi-VN")
    try:
        page = context.new_page()
        response = page.goto(live_server.url + "/nhung/ket-qua/AK")
        assert response.status == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "điểm hài lòng" in page.locator("main").inner_text()
        screenshot(page, "portal-embed")
    finally:
        context.close()
