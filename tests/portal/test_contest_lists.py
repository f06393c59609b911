"""The public contest list and the contests' share images: open, upcoming and finished contests, never a draft."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image

from tests.contests.conftest import bank, make_contest, units  # noqa: F401  (the contest suites' fixtures)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def contests(app, make_contest):  # noqa: F811
    """One open now, one upcoming, one draft (never public)."""
    running = make_contest(slug="dang-mo", opens=now() - dt.timedelta(days=1), closes=now() + dt.timedelta(days=5),
                           title="Cuộc thi đang mở")
    later = make_contest(slug="sap-toi", opens=now() + dt.timedelta(days=10), closes=now() + dt.timedelta(days=20),
                         title="Cuộc thi sắp tới")
    draft = make_contest(open_it=False, slug="nhap", opens=now() + dt.timedelta(days=1),
                         closes=now() + dt.timedelta(days=3), title="Cuộc thi còn nháp")
    return running, later, draft


def sections(html: str) -> dict[str, str]:
    parts = re.split(r"<h2[^>]*>", html)
    return {part.split("</h2>")[0]: part for part in parts[1:]}


def test_open_upcoming_and_no_draft(client, contests):
    html = client.get("/thi").get_data(as_text=True)
    found = sections(html)
    assert "/thi/dang-mo" in found["Đang diễn ra"] and "/thi/sap-toi" not in found["Đang diễn ra"]
    assert "/thi/sap-toi" in found["Sắp diễn ra"]
    assert "Chưa có cuộc thi nào công bố kết quả." in found["Đã có kết quả"]
    for path in ("/thi", "/", "/sitemap.xml"):
        assert "nhap" not in client.get(path).get_data(as_text=True), path
    home = client.get("/").get_data(as_text=True)
    assert "/thi/dang-mo" in home and "/thi/sap-toi" in home
    sitemap = client.get("/sitemap.xml").get_data(as_text=True)
    assert "http://hailong.test/thi/dang-mo" in sitemap and "http://hailong.test/thi/sap-toi" in sitemap


def test_contest_share_image_and_version(client, contests, app):
    html = client.get("/thi").get_data(as_text=True)
    image = re.search(r'og:image" content="http://hailong.test(/anh/thi/dang-mo/\d+\.png)"', html).group(1)
    response = client.get(image)
    assert response.status_code == 200 and Image.open(io.BytesIO(response.data)).size == (1200, 630)
    stale = client.get("/anh/thi/dang-mo/1.png")
    assert stale.status_code == 302 and stale.location.endswith(image)
    assert client.get("/anh/thi/nhap/1.png").status_code == 404
    with app.app_context():
        from app.contests.models import Contest
        from app.extensions import db
        from app.portal.views import portal_contest_card

        with app.test_request_context("/"):
            contest = db.session.query(Contest).filter_by(slug="dang-mo").one()
            assert portal_contest_card(contest) == "http://hailong.test" + image


def test_a_contests_own_page_carries_share_tags_naming_its_card(client, contests):
    html = client.get("/thi/dang-mo").get_data(as_text=True)
    assert '<meta property="og:title" content="Cuộc thi đang mở">' in html
    assert '<meta property="og:url" content="http://hailong.test/thi/dang-mo">' in html
    assert '<meta property="og:locale" content="vi_VN">' in html
    image = re.search(r'og:image" content="http://hailong.test(/anh/thi/dang-mo/\d+\.png)"', html).group(1)
    response = client.get(image)
    assert response.status_code == 200 and Image.open(io.BytesIO(response.data)).size == (1200, 630)
