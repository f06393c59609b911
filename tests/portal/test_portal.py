"""The public face: publishing and withdrawing results, what the public pages show (and never show), the frozen
snapshot against `flask report sipas`, share tags and images, the embed card's framing, and the page cache.

Site: province P → communes P-A (with a child P-A-X) and P-B. In 2026-Q2 P-A's own counter has 12 responses (9 all
5, 3 all 2), P-A-X has 3 (below the instrument's minimum of 10) and P-B 10 (4 all 4, 6 all 3); in 2026-Q1 P-A has
10 (5 all 5, 5 all 1).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from tests.factories import csrf_from
from tests.organiser.reporting import store_many, vector

APRIL, MARCH = dt.date(2026, 4, 10), dt.date(2026, 3, 15)


@pytest.fixture
def site(app, make):
    for code, parent in (("P", None), ("P-A", "P"), ("P-B", "P"), ("P-A-X", "P-A")):
        make.unit(code, name=f"Đơn vị {code}", parent=parent)
    counters = {"A": make.counter("P-A", code="QA"), "B": make.counter("P-B", code="QB"),
                "X": make.counter("P-A-X", code="QX")}
    store_many(app, counters["A"], vector(5), 9, day=APRIL, field="HO_TICH")
    store_many(app, counters["A"], vector(2), 3, day=APRIL, field="HO_TICH")
    store_many(app, counters["X"], vector(5), 3, day=APRIL, field="HO_TICH")
    store_many(app, counters["B"], vector(4), 4, day=APRIL, field="HO_TICH")
    store_many(app, counters["B"], vector(3), 6, day=APRIL, field="HO_TICH")
    store_many(app, counters["A"], vector(5), 5, day=MARCH, field="HO_TICH")
    store_many(app, counters["A"], vector(1), 5, day=MARCH, field="HO_TICH")
    return counters


def publish(runner, unit: str, period: str):
    result = runner.invoke(args=["results", "publish", "--unit", unit, "--period", period])
    assert result.exit_code == 0, result.output
    return result


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_nothing_is_public_before_publication(client, site):
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 404
    assert "Chưa có kết quả nào được công bố" in page(client, "/ket-qua")
    assert "/ket-qua/P-A" not in page(client, "/sitemap.xml")
    assert client.get("/nhung/ket-qua/P-A").status_code == 404


def test_publish_makes_the_period_visible_with_its_figures(client, runner, site):
    publish(runner, "P-A", "2026-Q2")
    html = page(client, "/ket-qua/P-A/2026-Q2")
    words = text_of(html)
    # P-A's subtree: 12 own responses (9 satisfied) and P-A-X's 3 (all satisfied): 12/15 = 80 points.
    assert "80,0" in words
    assert "khoảng 80 trên 100 người được hỏi hài lòng" in words.lower()
    assert "Số phiếu: 15" in words
    assert "Khoảng tin cậy 95 %" in words
    # Counts per level over all 22 criteria: 3 × 22 answers at 2, 12 × 22 at 5.
    levels = re.findall(r'<th scope="row">(\d)\. [^<]+</th><td class="num">([\d.]+)</td>', html)
    assert dict(levels) == {"1": "0", "2": "66", "3": "0", "4": "0", "5": "264"}
    assert "Tiếp cận dịch vụ" in words  # element results
    assert '<svg class="pub-chart" role="img"' in html and "<title id=" in html and "<table>" in html
    assert "/ket-qua/P-A/2026-Q2" in page(client, "/ket-qua")
    assert "/ket-qua/P-A/2026-Q2" in page(client, "/")
    assert "http://hailong.test/ket-qua/P-A/2026-Q2" in page(client, "/sitemap.xml")


def test_small_units_are_not_ranked(client, runner, site):
    publish(runner, "P-A", "2026-Q2")
    words = text_of(page(client, "/ket-qua/P-A/2026-Q2"))
    ranking = words.split("Xếp hạng các đơn vị trực thuộc", 1)[1]
    assert "Chưa đủ phiếu để xếp hạng" in ranking
    assert "Đơn vị P-A-X: chưa đủ phiếu (3 phiếu)" in ranking
    ranked = ranking.split("Chưa đủ phiếu để xếp hạng")[0]
    assert "P-A-X" not in ranked


def test_a_period_below_the_minimum_cannot_be_published(runner, site, app):
    result = runner.invoke(args=["results", "publish", "--unit", "P-A-X", "--period", "2026-Q2"])
    assert result.exit_code != 0
    assert "chưa đủ 10 phiếu để công bố" in result.output
    result = runner.invoke(args=["results", "publish", "--unit", "P-B", "--period", "2025"])
    assert result.exit_code != 0 and "chưa có phiếu khảo sát nào" in result.output
    result = runner.invoke(args=["results", "publish", "--unit", "P-B", "--period", "quý hai"])
    assert result.exit_code != 0
    from app.extensions import db
    from app.portal.models import PublishedResult

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PublishedResult.id))) == 0


def test_published_figures_equal_the_report_command_at_publication(runner, site, app, client):
    publish(runner, "P-A", "2026-Q2")
    cli = runner.invoke(args=["report", "sipas", "--unit", "P-A", "--period", "2026-Q2", "--format", "json"])
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.output)
    from app.extensions import db
    from app.portal.models import PublishedResult

    with app.app_context():
        snapshot = db.session.scalar(sa.select(PublishedResult.snapshot))
    frozen = dict(snapshot["report"])
    frozen.pop("generated_at"), expected.pop("generated_at")
    assert frozen == expected
    words = text_of(page(client, "/ket-qua/P-A/2026-Q2"))
    value = f"{expected['overall']['value']:.1f}".replace(".", ",")
    low = f"{expected['overall']['ci_low']:.1f}".replace(".", ",")
    assert value in words and low in words
    for element in expected["elements"]:
        assert f"{element['title']} {element['value']:.1f}".replace(".", ",") in words


def test_a_response_after_publication_does_not_change_the_page(client, runner, site, app):
    from app.cache import caches

    publish(runner, "P-A", "2026-Q2")
    before = page(client, "/ket-qua/P-A/2026-Q2")
    store_many(app, site["A"], vector(1), 20, day=APRIL, field="HO_TICH")
    caches.clear()  # nothing cached helps: the page is rebuilt from the stored snapshot
    after = page(client, "/ket-qua/P-A/2026-Q2")
    assert after == before
    assert "Số phiếu: 15" in text_of(after)


def test_withdraw_removes_the_page_card_embed_and_sitemap_entry(client, runner, site):
    publish(runner, "P-A", "2026-Q2")
    html = page(client, "/ket-qua/P-A/2026-Q2")
    image = re.search(r'<meta property="og:image" content="http://hailong.test([^"]+)"', html).group(1)
    assert client.get(image).status_code == 200
    result = runner.invoke(args=["results", "withdraw", "--unit", "P-A", "--period", "2026-Q2"])
    assert result.exit_code == 0, result.output
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 404
    assert client.get(image).status_code == 404
    assert client.get("/nhung/ket-qua/P-A").status_code == 404
    assert "/ket-qua/P-A/" not in page(client, "/sitemap.xml")
    assert "/ket-qua/P-A/" not in page(client, "/ket-qua")
    again = runner.invoke(args=["results", "withdraw", "--unit", "P-A", "--period", "2026-Q2"])
    assert again.exit_code != 0 and "chưa được công bố" in again.output


def test_an_unpublished_sibling_never_leaks(client, runner, site):
    publish(runner, "P-A", "2026-Q2")
    for path in ("/ket-qua/P-B/2026-Q2", "/nhung/ket-qua/P-B", "/anh/ket-qua/P-B/2026-Q2/1.png",
                 "/ket-qua/P/2026-Q2", "/nhung/ket-qua/P"):
        assert client.get(path).status_code == 404, path
    for path in ("/", "/thi", "/ket-qua", "/sitemap.xml", "/ket-qua/P-A/2026-Q2", "/nhung/ket-qua/P-A"):
        body = page(client, path)
        assert "P-B" not in body, path
        # P-B's index is 40 points (4 of 10 satisfied): never shown anywhere.
        assert "40,0" not in body, path


def test_comparison_with_the_previous_published_period(client, runner, site):
    publish(runner, "P-A", "2026-Q2")
    assert "Chưa có kỳ trước cùng loại được công bố" in text_of(page(client, "/ket-qua/P-A/2026-Q2"))
    publish(runner, "P-A", "2026-Q1")  # 5 of 10 satisfied: 50 points
    words = text_of(page(client, "/ket-qua/P-A/2026-Q2"))
    assert "Kỳ quý I năm 2026 (đã công bố): 50,0 điểm." in words
    assert "Kỳ này cao hơn 30,0 điểm." in words


def test_share_tags_and_the_image_they_name(client, runner, site):
    publish(runner, "P-A", "2026-Q2")
    for path in ("/", "/thi", "/ket-qua", "/ket-qua/P-A/2026-Q2"):
        html = page(client, path)
        tags = dict(re.findall(r'<meta (?:property|name)="((?:og|twitter):[a-z:_]+)" content="([^"]*)"', html))
        assert tags["og:locale"] == "vi_VN"
        assert tags["og:url"] == "http://hailong.test" + path
        assert tags["twitter:card"] == "summary_large_image"
        assert tags["og:title"] and tags["og:description"]
        assert f'<link rel="canonical" href="http://hailong.test{path}">' in html
        assert '<meta name="description" content="' in html
        assert "https://www.facebook.com/sharer/sharer.php?u=http%3A%2F%2Fhailong.test" in html
        assert "zalo" not in html.lower()  # no Official Account configured
        image = client.get(tags["og:image"].removeprefix("http://hailong.test"))
        assert image.status_code == 200 and image.mimetype == "image/png"
        assert Image.open(io.BytesIO(image.data)).size == (1200, 630)
        assert "immutable" in image.headers["Cache-Control"]
    html = page(client, "/ket-qua/P-A/2026-Q2")
    assert re.search(r'og:image" content="http://hailong.test/anh/ket-qua/P-A/2026-Q2/1.png"', html)
    publish(runner, "P-A", "2026-Q2")  # a new publication: a new image address (Zalo caches previews for long)
    html = page(client, "/ket-qua/P-A/2026-Q2")
    assert re.search(r'og:image" content="http://hailong.test/anh/ket-qua/P-A/2026-Q2/2.png"', html)
    old = client.get("/anh/ket-qua/P-A/2026-Q2/1.png")
    assert old.status_code == 302 and old.location.endswith("/anh/ket-qua/P-A/2026-Q2/2.png")


def test_zalo_share_only_with_an_official_account(client, runner, site, app, monkeypatch):
    from app.cache import caches

    publish(runner, "P-A", "2026-Q2")
    monkeypatch.setitem(app.config, "PORTAL_ZALO_OA_ID", "1234567890")
    caches.clear()
    html = page(client, "/ket-qua/P-A/2026-Q2")
    assert "Chia sẻ qua Zalo" in html and "oaid=1234567890" in html


def test_embed_framing_is_configured_and_nothing_else_is_framed(client, runner, site, app, monkeypatch):
    from app.cache import caches

    publish(runner, "P-A", "2026-Q2")
    response = client.get("/nhung/ket-qua/P-A")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    monkeypatch.setitem(app.config, "PORTAL_EMBED_ORIGINS", ("https://ankhang.gov.vn", "javascript:alert(1)"))
    caches.clear()  # settings are read at start-up; the cached card was made under the old ones
    response = client.get("/nhung/ket-qua/P-A")
    assert "frame-ancestors https://ankhang.gov.vn;" in response.headers["Content-Security-Policy"]
    assert "javascript" not in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers
    assert "80,0" in response.get_data(as_text=True)
    other = client.get("/ket-qua/P-A/2026-Q2")
    assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"]
    assert other.headers["X-Frame-Options"] == "DENY"


def test_public_pages_are_cached_with_etags_and_no_query(client, runner, site, app):
    from app.extensions import db

    publish(runner, "P-A", "2026-Q2")
    first = client.get("/ket-qua/P-A/2026-Q2")
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    etag = first.headers["ETag"]
    assert client.get("/ket-qua/P-A/2026-Q2", headers={"If-None-Match": etag}).status_code == 304
    statements = []

    def seen(connection, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        for path in ("/ket-qua/P-A/2026-Q2", "/", "/thi", "/ket-qua"):
            client.get(path)
        statements.clear()
        for _ in range(5):
            for path in ("/ket-qua/P-A/2026-Q2", "/", "/thi", "/ket-qua"):
                assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    # At most the cheap state check (once a second), never the pages' own queries.
    assert len(statements) <= 2, statements


def test_robots_txt(client, site):
    body = page(client, "/robots.txt")
    assert "Disallow: /quan-tri/" in body and "Sitemap: http://hailong.test/sitemap.xml" in body


def test_home_page_uses_the_root_unit_and_its_settings(client, login, make, site):
    account = make.organiser("P", role="organiser")
    login(account)
    html = page(client, "/quan-tri/ket-qua/")
    token = csrf_from(html)
    response = client.post("/quan-tri/ket-qua/", data={"csrf_token": token, "intro": "Chào mừng Ông/Bà.",
                                                      "hotline": "0236 3 888 999"})
    assert response.status_code == 303
    home = text_of(page(client, "/"))
    assert "Cải cách hành chính Đơn vị P" in home
    assert "Chào mừng Ông/Bà." in home and "0236 3 888 999" in home
    too_long = client.post("/quan-tri/ket-qua/", data={"csrf_token": token, "intro": "x" * 601, "hotline": ""})
    assert too_long.status_code == 400 and "tối đa 600 ký tự" in too_long.get_data(as_text=True)


def test_organiser_publishes_and_withdraws_after_confirming(client, login, make, site, app):
    account = make.organiser("P-A", role="organiser")
    login(account)
    with app.app_context():
        from app.extensions import db
        from app.units.models import Unit

        ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    ask = client.get(f"/quan-tri/ket-qua/cong-bo?unit={ids['P-A']}&period=2026-Q2")
    assert ask.status_code == 200
    words = text_of(ask.get_data(as_text=True))
    assert "Công bố kết quả quý II năm 2026 của Đơn vị P-A" in words and "Số phiếu: 15" in words
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 404  # asking published nothing
    done = client.post(f"/quan-tri/ket-qua/cong-bo?unit={ids['P-A']}&period=2026-Q2",
                       data={"csrf_token": csrf_from(ask.get_data(as_text=True))})
    assert done.status_code == 303
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 200
    # A sibling outside the organiser's subtree: 404, nothing published.
    assert client.get(f"/quan-tri/ket-qua/cong-bo?unit={ids['P-B']}&period=2026-Q2").status_code == 404
    # Without a CSRF token: refused, nothing withdrawn.
    assert client.post(f"/quan-tri/ket-qua/rut?unit={ids['P-A']}&period=2026-Q2").status_code == 400
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 200
    ask = client.get(f"/quan-tri/ket-qua/rut?unit={ids['P-A']}&period=2026-Q2")
    done = client.post(f"/quan-tri/ket-qua/rut?unit={ids['P-A']}&period=2026-Q2",
                       data={"csrf_token": csrf_from(ask.get_data(as_text=True))})
    assert done.status_code == 303
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 404
    from app.auth.models import AuditEntry
    from app.extensions import db

    with app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions[-2:] == ["results.publish", "results.withdraw"]


def test_refusals_are_clear(client, login, make, site, app):
    viewer = make.organiser("P", role="viewer")
    login(viewer)
    assert client.get("/quan-tri/ket-qua/").status_code == 200
    assert client.get("/quan-tri/ket-qua/cong-bo?unit=1&period=2026-Q2").status_code == 403


def test_bad_period_and_small_unit_on_the_organiser_page(client, login, make, site, app):
    account = make.organiser("P", role="organiser")
    login(account)
    with app.app_context():
        from app.extensions import db
        from app.units.models import Unit

        ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    bad = client.get(f"/quan-tri/ket-qua/cong-bo?unit={ids['P-A']}&period=quy-2")
    assert bad.status_code == 400
    small = client.get(f"/quan-tri/ket-qua/cong-bo?unit={ids['P-A-X']}&period=2026-Q2")
    assert small.status_code == 409 and "chưa đủ 10 phiếu" in small.get_data(as_text=True)
    empty = client.get(f"/quan-tri/ket-qua/cong-bo?unit={ids['P-A']}&period=")
    assert empty.status_code == 400 and "Vui lòng nhập kỳ" in empty.get_data(as_text=True)


def test_replayed_pages_follow_withdrawal_and_language(client, runner, site, app):
    """The WSGI fast path replays a page only for the state it was rendered for, with the app's own headers."""
    from app.cache import caches

    publish(runner, "P-A", "2026-Q2")
    first = client.get("/ket-qua/P-A/2026-Q2")
    replayed = client.get("/ket-qua/P-A/2026-Q2")
    assert replayed.get_data() == first.get_data()
    for header in ("Content-Security-Policy", "X-Frame-Options", "ETag", "Cache-Control", "Vary"):
        assert replayed.headers[header] == first.headers[header]
    assert client.get("/ket-qua/P-A/2026-Q2", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    english = client.get("/ket-qua/P-A/2026-Q2", headers={"Accept-Language": "en"})
    assert english.get_data(as_text=True).startswith("<!doctype html>\n<html lang=\"en\">")
    runner.invoke(args=["results", "withdraw", "--unit", "P-A", "--period", "2026-Q2"])
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 404
    caches.clear()
    assert client.get("/ket-qua/P-A/2026-Q2").status_code == 404


def test_public_pages_in_english(client, runner, site, english):
    publish(runner, "P-A", "2026-Q2")
    for path in ("/?lang=en", "/thi?lang=en", "/ket-qua?lang=en", "/ket-qua/P-A/2026-Q2?lang=en",
                 "/nhung/ket-qua/P-A?lang=en"):
        assert client.get(path).status_code == 200, path
    words = text_of(page(client, "/ket-qua/P-A/2026-Q2?lang=en"))
    assert "Satisfaction index of Đơn vị P-A, Q2 2026" in words
    assert "about 80 in 100 people asked are satisfied" in words.lower()
    assert "95 % confidence interval: from " in words and "Responses: 15" in words
    image = client.get("/anh/ket-qua/P-A/2026-Q2/1.png?lang=en")
    assert image.status_code == 200 and Image.open(io.BytesIO(image.data)).size == (1200, 630)


def test_a_units_results_page(client, runner, site):
    """/ket-qua/<unit> (linked from the thanks page after a survey): the unit's published periods, or why none."""
    assert client.get("/ket-qua/KHONG-CO").status_code == 404
    words = text_of(page(client, "/ket-qua/P-A"))
    assert "Chưa có kết quả nào của Đơn vị P-A được công bố" in words
    publish(runner, "P-A", "2026-Q2")
    html = page(client, "/ket-qua/P-A")
    assert "/ket-qua/P-A/2026-Q2" in html and "80,0" in html
    sibling = page(client, "/ket-qua/P-B")
    assert "Chưa có kết quả nào của Đơn vị P-B được công bố" in text_of(sibling) and "40,0" not in sibling
