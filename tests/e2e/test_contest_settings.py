"""An organiser sets a contest up in forms on a desktop browser: reads each settings page, adds a round with
date-time inputs, sees it in the rounds list and in the YAML export; every page is looked at and checked by axe."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.e2e.conftest import assert_accessible, screenshot

EMAIL = "canbo.cuocthi@ankhang.gov.vn"
PASSWORD = "mat-khau-quan-tri-dai-2"


@pytest.fixture(scope="module")
def organiser(live_server) -> str:
    live_server.flask("create-organiser", "--email", EMAIL, "--unit", "AK", "--role", "organiser",
                      "--name", "Cán bộ Ban Tổ chức", "--password", PASSWORD)
    return EMAIL


def test_organiser_sets_up_a_contest_in_forms(live_server, desktop, organiser, axe_source):
    page = desktop.new_page()
    page.goto(f"{live_server.url}/quan-tri/dang-nhap")
    page.get_by_label("Email").fill(organiser)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/quan-tri/"))
    base = f"{live_server.url}/quan-tri/cuoc-thi/cchc-2026"

    page.goto(f"{live_server.url}/quan-tri/cuoc-thi/moi")
    assert page.locator('input[type="datetime-local"]').count() == 2
    assert_accessible(page, axe_source, "new contest")
    screenshot(page, "contest-new")

    page.goto(f"{base}/thiet-lap")
    assert_accessible(page, axe_source, "contest settings: general")
    screenshot(page, "contest-settings-general")
    page.get_by_role("link", name="Đối tượng dự thi").click()
    assert page.get_by_label("Tên đối tượng 2").input_value() == "Người dân"
    assert_accessible(page, axe_source, "contest settings: groups")
    screenshot(page, "contest-settings-groups")
    page.get_by_role("link", name="Xếp hạng và giải thưởng").click()
    assert_accessible(page, axe_source, "contest settings: prizes")
    screenshot(page, "contest-settings-prizes")

    page.goto(f"{base}/thiet-lap/vong-thi/1")  # week 1 has attempts: its questions are shown, disabled
    assert "Vòng này đã có bài thi" in page.locator("main").inner_text()
    assert page.locator("#question_count").is_disabled()
    assert_accessible(page, axe_source, "contest settings: a round with attempts")
    screenshot(page, "contest-settings-round-kept")

    page.goto(f"{base}/thiet-lap/vong-thi")
    page.get_by_role("link", name="Thêm vòng thi").click()
    page.get_by_label("Tên vòng").fill("Tuần 3")
    page.get_by_label("Mở lúc (giờ Việt Nam)").fill("2027-01-04T10:00")
    page.get_by_label("Đóng lúc (giờ Việt Nam)").fill("2027-01-03T09:30")  # before it opens: refused
    page.get_by_role("button", name="Lưu vòng thi").click()
    assert "Phải sau thời điểm mở." in page.locator("main").inner_text()
    assert_accessible(page, axe_source, "contest settings: a refused round")
    screenshot(page, "contest-settings-round-refused")
    page.get_by_label("Đóng lúc (giờ Việt Nam)").fill("2027-01-11T09:30")
    page.get_by_role("button", name="Lưu vòng thi").click()
    page.wait_for_url(re.compile(r"/thiet-lap/vong-thi$"))
    assert "Tuần 3" in page.locator("main").inner_text()
    screenshot(page, "contest-settings-rounds")

    exported = yaml.safe_load(page.request.get(f"{base}/dinh-nghia.yaml").text())
    assert exported["rounds"][-1]["name"] == "Tuần 3"
    assert (exported["rounds"][-1]["opens_at"], exported["rounds"][-1]["closes_at"]) == \
        ("2027-01-04 10:00", "2027-01-11 09:30")
