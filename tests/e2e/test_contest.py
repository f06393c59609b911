"""A contest participant on a phone: registers, starts a short round, answers, lets the timer run out and sees
the attempt submitted automatically with the answers saved before the deadline."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import yaml
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot

SLUG = "thi-nhanh"
TIME_LIMIT_SECONDS = 8


@pytest.fixture(scope="module")
def short_contest(live_server, tmp_path_factory) -> str:
    """Load and open a contest whose only round lasts a few seconds (demo bank, demo province)."""
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    now = dt.datetime.now(zone)
    definition = {
        "slug": SLUG, "title": "Thi nhanh tìm hiểu cải cách hành chính", "unit": "AK",
        "audience_groups": [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"}],
        "rounds": [{"name": "Vòng chớp nhoáng", "opens_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
                    "closes_at": (now + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), "bank": "cchc-demo",
                    "question_count": 3, "time_limit_seconds": TIME_LIMIT_SECONDS, "grace_seconds": 0}],
    }
    path = tmp_path_factory.mktemp("contest") / "thi-nhanh.yaml"
    path.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    live_server.flask("contests", "load", str(path))
    live_server.flask("contests", "status", SLUG, "open")
    return f"{live_server.url}/thi/{SLUG}"


def test_participant_registers_answers_and_the_timer_submits_the_attempt(live_server, phone, short_contest,
                                                                         axe_source):
    page = phone.new_page()
    assert page.goto(short_contest).status == 200
    assert_accessible(page, axe_source, "contest home")
    page.goto(short_contest + "/dang-ky")
    page.locator("#phone").fill("0912000111")
    page.locator("#full_name").fill("Nguyễn Thị Lan")
    page.locator("#birth_date").fill("15/04/1990")
    unit = page.locator("#unit_id option", has_text="Xã Tân Phú").first.get_attribute("value")
    page.locator("#unit_id").select_option(value=unit)
    page.locator("#password").fill("mat-khau-thi-1")
    page.locator("#password_again").fill("mat-khau-thi-1")
    page.locator('label.o:has(input[name="consent"])').tap()
    assert_accessible(page, axe_source, "registration form")
    page.get_by_role("button", name="Đăng ký").tap()
    page.wait_for_url(re.compile(rf"/thi/{SLUG}/?$"))

    page.get_by_role("button", name=re.compile("Bắt đầu làm bài")).tap()
    page.wait_for_url(re.compile(r"/bai-thi/\d+$"))
    assert_accessible(page, axe_source, "attempt page")
    first_option = page.locator("#attempt-form label.o").first
    first_option.tap()
    saved = page.locator("#save-status").get_attribute("data-saved-text")
    expect(page.locator("#save-status")).to_have_text(saved)  # the autosave reached the server
    expired_text = page.locator("#timer").get_attribute("data-expired-text")
    expect(page.locator("#timer")).to_have_text(expired_text, timeout=(TIME_LIMIT_SECONDS + 10) * 1000)

    # Touching an answer after the deadline: the autosave is refused (409) and the page reloads into the result.
    page.locator("#attempt-form label.o").nth(1).tap()
    page.wait_for_url(re.compile(r"/bai-thi/\d+/ket-qua$"), timeout=15_000)
    body = page.locator("main").inner_text()
    assert "tự động nộp khi hết giờ" in body
    assert_accessible(page, axe_source, "result page")
    screenshot(page, "contest-result-auto-submitted")
