"""A contest participant on a small phone (360×740), with JavaScript on and off: registers, reads the round's rules
and confirms the start, moves around with the question navigator and the answered counter, sees the unanswered
questions before submitting, finds their own rank on the leaderboard, and lets the timer run out on a short round
to see the attempt submitted automatically with the answers saved before the deadline."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import yaml
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, assert_accessible, screenshot

SLUG = "thi-nhanh"
TIME_LIMIT_SECONDS = 8
SMALL_PHONE = dict(PHONE, viewport={"width": 360, "height": 740})


@pytest.fixture(scope="module")
def short_contest(live_server, tmp_path_factory) -> str:
    """Load and open a contest with a 5-minute round and an 8-second round (demo bank, demo province)."""
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    now = dt.datetime.now(zone)
    window = {"opens_at": (now - dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M"),
              "closes_at": (now + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), "bank": "cchc-demo",
              "question_count": 3, "grace_seconds": 0}
    definition = {
        "slug": SLUG, "title": "Thi nhanh tìm hiểu cải cách hành chính", "unit": "AK",
        "audience_groups": [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"}],
        "leaderboard": {"visibility": "public"},
        "rounds": [dict(window, name="Vòng luyện tập", time_limit_seconds=300, attempts_allowed=2),
                   dict(window, name="Vòng chớp nhoáng", time_limit_seconds=TIME_LIMIT_SECONDS)],
    }
    path = tmp_path_factory.mktemp("contest") / "thi-nhanh.yaml"
    path.write_text(yaml.safe_dump(definition, allow_unicode=True), encoding="utf-8")
    live_server.flask("contests", "load", str(path))
    live_server.flask("contests", "status", SLUG, "open")
    return f"{live_server.url}/thi/{SLUG}"


@pytest.fixture
def small_phone(browser):
    context = browser.new_context(**SMALL_PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def small_phone_without_js(browser):
    context = browser.new_context(java_script_enabled=False, **SMALL_PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def register(page, contest_url: str, phone: str, name: str) -> None:
    page.goto(contest_url + "/dang-ky")
    page.locator("#phone").fill(phone)
    page.locator("#full_name").fill(name)
    page.locator("#birth_date").fill("15/04/1990")
    unit = page.locator("#unit_id option", has_text="Xã Tân Phú").first.get_attribute("value")
    page.locator("#unit_id").select_option(value=unit)
    page.locator("#password").fill("mat-khau-thi-1")
    page.locator("#password_again").fill("mat-khau-thi-1")
    page.locator('label.o:has(input[name="consent"])').click()
    page.get_by_role("button", name="Đăng ký").click()
    page.wait_for_url(re.compile(rf"/thi/{SLUG}/?$"))


def confirm_start(page, round_name: str) -> None:
    """From the contest home: open the round's rules page and confirm."""
    page.locator("li.round", has_text=round_name).get_by_role("link", name="Bắt đầu làm bài").click()
    page.wait_for_url(re.compile(r"/vong/\d+/bat-dau$"))
    page.get_by_role("button", name=re.compile("bắt đầu làm bài")).click()
    page.wait_for_url(re.compile(r"/bai-thi/\d+$"))


def test_with_javascript_rules_navigator_summary_and_own_rank(live_server, small_phone, short_contest, axe_source):
    page = small_phone.new_page()
    assert page.goto(short_contest).status == 200
    home = page.locator("main").inner_text()
    assert "Mỗi người được thi 2 lượt ở vòng này" in home and "ngày sau khi công bố kết quả" in home
    register(page, short_contest, "0912000111", "Nguyễn Thị Lan")

    # Before the clock: the round's rules from its settings, nothing started yet.
    page.locator("li.round", has_text="Vòng luyện tập").get_by_role("link", name="Bắt đầu làm bài").click()
    page.wait_for_url(re.compile(r"/vong/1/bat-dau$"))
    rules = page.locator("main").inner_text()
    assert "3 câu hỏi" in rules and "5 phút" in rules and "Câu hỏi dự đoán" in rules
    assert "bằng điểm thì dự đoán gần với kết quả thực hơn xếp trên" in rules
    expect(page.locator("#attempts-left")).to_have_text("2")
    assert_accessible(page, axe_source, "confirm start")
    screenshot(page, "contest-confirm-start")
    page.get_by_role("button", name=re.compile("bắt đầu làm bài")).click()
    page.wait_for_url(re.compile(r"/bai-thi/\d+$"))

    # While answering: the navigator and the counter follow the answers; the timer stays in view.
    nav = page.locator(".q-nav a")
    expect(nav).to_have_count(3)
    expect(page.locator("#answered-n")).to_have_text("0")
    page.locator("#c2 label.o").first.click()
    expect(page.locator("#answered-n")).to_have_text("1")
    expect(nav.nth(1)).to_have_class(re.compile("done"))
    expect(nav.nth(0)).not_to_have_class(re.compile("done"))
    expect(page.locator("#save-status")).to_have_text("Đã lưu")
    nav.nth(2).click()
    page.mouse.wheel(0, 600)
    expect(page.locator("#timer")).to_be_in_viewport()
    assert_accessible(page, axe_source, "attempt page")
    screenshot(page, "contest-attempt-navigator")

    # Submitting shows what is unanswered and asks to confirm.
    page.get_by_role("button", name="Nộp bài").click()
    page.wait_for_url(re.compile(r"/xem-lai$"))
    summary = page.locator(".unanswered")
    expect(summary).to_contain_text("Còn 2 câu chưa trả lời")
    expect(summary.get_by_role("link")).to_have_text(["Câu 1", "Câu 3"])
    assert_accessible(page, axe_source, "review before submit")
    screenshot(page, "contest-review-before-submit")
    summary.get_by_role("link", name="Câu 1").click()
    page.wait_for_url(re.compile(r"/bai-thi/\d+#c1$"))
    page.locator("#c1 label.o").first.click()
    expect(page.locator("#answered-n")).to_have_text("2")
    page.locator("#prediction").fill("12")
    page.get_by_role("button", name="Nộp bài").click()
    page.wait_for_url(re.compile(r"/xem-lai$"))
    expect(page.locator(".unanswered")).to_contain_text("Còn 1 câu chưa trả lời")
    page.get_by_role("button", name="Xác nhận nộp bài").click()
    page.wait_for_url(re.compile(r"/ket-qua$"))
    assert re.search(r"\d+ giây", page.locator(".result-facts").inner_text())

    # The leaderboard: score and time columns, own row highlighted and own rank stated.
    page.goto(short_contest + "/xep-hang?vong=1")
    expect(page.locator("#my-rank")).to_contain_text("Thứ hạng của bạn: 1 / 1")
    expect(page.locator("tr.me")).to_contain_text("Nguyễn T. L.")
    expect(page.locator("table.ranking thead")).to_contain_text("Điểm")
    assert_accessible(page, axe_source, "leaderboard")
    screenshot(page, "contest-leaderboard-own-rank")


def test_with_javascript_the_timer_submits_the_attempt_when_time_is_up(live_server, small_phone, short_contest):
    page = small_phone.new_page()
    register(page, short_contest, "0912000222", "Trần Văn Minh")
    confirm_start(page, "Vòng chớp nhoáng")
    page.locator("#attempt-form label.o").first.click()
    expect(page.locator("#save-status")).to_have_text("Đã lưu")  # the autosave reached the server
    # Nothing else is touched: when the countdown ends the page submits and shows the result by itself.
    page.wait_for_url(re.compile(r"/bai-thi/\d+/ket-qua$"), timeout=(TIME_LIMIT_SECONDS + 15) * 1000)
    body = page.locator("main").inner_text()
    assert "tự động nộp khi hết giờ" in body
    assert "bạn chọn" in body  # the answer saved before the deadline was submitted
    screenshot(page, "contest-result-auto-submitted")


def test_without_javascript_the_server_navigates_counts_and_confirms(live_server, small_phone_without_js,
                                                                      short_contest, axe_source):
    page = small_phone_without_js.new_page()
    register(page, short_contest, "0912000333", "Lê Hoàng Nam")
    confirm_start(page, "Vòng luyện tập")
    expect(page.locator("#answered-n")).to_have_text("0")
    page.locator("#c3 label.o").first.click()
    page.get_by_role("button", name="Lưu bài").click()
    page.wait_for_url(re.compile(r"da-luu=1"))
    expect(page.locator("#answered-n")).to_have_text("1")
    expect(page.locator(".q-nav a").nth(2)).to_have_class(re.compile("done"))

    page.locator("#c1 label.o").first.click()
    page.get_by_role("button", name="Nộp bài").click()
    page.wait_for_url(re.compile(r"/xem-lai$"))
    expect(page.locator("#review-count")).to_contain_text("2/3")
    expect(page.locator(".unanswered").get_by_role("link")).to_have_text(["Câu 2"])
    screenshot(page, "contest-review-without-js")
    page.get_by_role("link", name="Quay lại làm tiếp").click()
    page.wait_for_url(re.compile(r"/bai-thi/\d+#c2$"))
    page.locator("#c2 label.o").nth(1).click()
    page.get_by_role("button", name="Nộp bài").click()
    page.wait_for_url(re.compile(r"/xem-lai$"))
    expect(page.get_by_text("Bạn đã trả lời tất cả các câu")).to_be_visible()
    page.get_by_role("button", name="Xác nhận nộp bài").click()
    page.wait_for_url(re.compile(r"/ket-qua$"))
    assert page.locator("main").inner_text().count("bạn chọn") == 3

    page.goto(short_contest + "/xep-hang?vong=1")
    expect(page.locator("#my-rank")).to_contain_text(re.compile(r"Thứ hạng của bạn: [12] / [12]"))
    expect(page.locator("tr.me")).to_contain_text("Lê H. N.")
    screenshot(page, "contest-leaderboard-without-js")
