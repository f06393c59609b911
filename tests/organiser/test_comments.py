"""The comments list: free-text answers of the subtree, search and filters, pagination, escaping."""
from __future__ import annotations

import datetime as dt
import re

import pytest

UTC = dt.timezone.utc


def shown(response) -> list[str]:
    return re.findall(r'<p class="text">([^<]*)</p>', response.get_data(as_text=True))


@pytest.fixture
def site(make, login):
    """Communes A and B under province T, a counter in each, and an organiser of A signed in."""
    for code, parent in (("T", None), ("T-A", "T"), ("T-B", "T")):
        make.unit(code, parent=parent)
    counters = {"A": make.counter("T-A", code="QA", fields=("HO_TICH", "DAT_DAI")),
                "B": make.counter("T-B", code="QB", fields=("HO_TICH",))}
    login(make.organiser("T-A", role="viewer"))
    return counters


def test_comments_of_the_subtree_are_listed_newest_first_and_others_are_not(client, make, site):
    make.response(site["A"], comment="Góp ý cũ", when=dt.datetime(2026, 1, 5, 3, tzinfo=UTC))
    make.response(site["A"], comment="Góp ý mới", when=dt.datetime(2026, 2, 5, 3, tzinfo=UTC))
    make.response(site["A"])  # no comment: not listed
    make.response(site["B"], comment="Góp ý ở xã khác")
    response = client.get("/quan-tri/y-kien")
    assert response.status_code == 200
    assert shown(response) == ["Góp ý mới", "Góp ý cũ"]
    assert "2 ý kiến." in response.get_data(as_text=True)


def test_a_stored_script_is_shown_as_text(client, make, site):
    make.response(site["A"], comment='<script>alert(1)</script><img src=x onerror="alert(2)">')
    html = client.get("/quan-tri/y-kien").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html


def test_search_matches_text_inside_comments_and_treats_wildcards_literally(client, make, site):
    make.response(site["A"], comment="Thủ tục còn chậm, chờ lâu")
    make.response(site["A"], comment="Cán bộ nhiệt tình")
    make.response(site["A"], comment="Giảm 100% phí")
    assert shown(client.get("/quan-tri/y-kien?q=chờ lâu")) == ["Thủ tục còn chậm, chờ lâu"]
    assert shown(client.get("/quan-tri/y-kien?q=CÁN")) in (["Cán bộ nhiệt tình"], [])  # SQLite folds ASCII only
    assert shown(client.get("/quan-tri/y-kien?q=nhiệt")) == ["Cán bộ nhiệt tình"]
    assert shown(client.get("/quan-tri/y-kien?q=%25")) == ["Giảm 100% phí"]
    assert shown(client.get("/quan-tri/y-kien?q=_")) == []
    assert shown(client.get("/quan-tri/y-kien?q=KIEN")) == []  # the item code is not the answer


def test_filters_by_field_and_period(app, client, make, site):
    import sqlalchemy as sa

    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        land = db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == "DAT_DAI"))
    make.response(site["A"], comment="Đất đai quý 1", field="DAT_DAI", when=dt.datetime(2026, 2, 1, 3, tzinfo=UTC))
    make.response(site["A"], comment="Hộ tịch quý 1", field="HO_TICH", when=dt.datetime(2026, 3, 1, 3, tzinfo=UTC))
    # Periods are local days (UTC+7): 16:30 UTC on 31/3 is 23:30 on 31/3, 17:30 UTC is already 00:30 on 1/4.
    make.response(site["A"], comment="Cuối quý 1 giờ địa phương", field="HO_TICH",
                  when=dt.datetime(2026, 3, 31, 16, 30, tzinfo=UTC))
    make.response(site["A"], comment="Đầu quý 2 giờ địa phương", field="HO_TICH",
                  when=dt.datetime(2026, 3, 31, 17, 30, tzinfo=UTC))
    assert shown(client.get(f"/quan-tri/y-kien?field={land}")) == ["Đất đai quý 1"]
    assert shown(client.get("/quan-tri/y-kien?period=2026-Q1")) == [
        "Cuối quý 1 giờ địa phương", "Hộ tịch quý 1", "Đất đai quý 1"]
    assert shown(client.get("/quan-tri/y-kien?period=2026-04")) == ["Đầu quý 2 giờ địa phương"]


def test_bad_period_is_refused_with_the_accepted_forms(client, site):
    response = client.get("/quan-tri/y-kien?period=quý-một")
    assert response.status_code == 400
    assert "Kỳ không hợp lệ: dùng 2026-Q3" in response.get_data(as_text=True)


def test_element_score_filter_keeps_responses_at_or_below_the_chosen_mean(client, make, site):
    make.response(site["A"], comment="Chờ quá lâu", score=5, element_scores={"TC": 1})
    make.response(site["A"], comment="Thủ tục rườm rà", score=5, element_scores={"TTHC": 2})
    make.response(site["A"], comment="Rất tốt", score=5)
    assert shown(client.get("/quan-tri/y-kien?element=TC&max_score=2")) == ["Chờ quá lâu"]
    assert shown(client.get("/quan-tri/y-kien?element=TTHC&max_score=2")) == ["Thủ tục rườm rà"]
    assert sorted(shown(client.get("/quan-tri/y-kien?max_score=2"))) == ["Chờ quá lâu", "Thủ tục rườm rà"]
    assert shown(client.get("/quan-tri/y-kien?element=TC&max_score=1")) == ["Chờ quá lâu"]
    assert len(shown(client.get("/quan-tri/y-kien?element=TC&max_score=4"))) == 1


def test_pages_hold_twenty_five_comments_with_or_without_a_score_filter(client, make, site):
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(30):
        make.response(site["A"], comment=f"Ý kiến số {n:02d}", score=1, when=start + dt.timedelta(hours=n))
    for query in ("", "max_score=2&"):
        first = client.get(f"/quan-tri/y-kien?{query}")
        second = client.get(f"/quan-tri/y-kien?{query}trang=2")
        assert shown(first) == [f"Ý kiến số {n:02d}" for n in range(29, 4, -1)]
        assert shown(second) == [f"Ý kiến số {n:02d}" for n in range(4, -1, -1)]
        assert "Trang sau" in first.get_data(as_text=True) and "Trang sau" not in second.get_data(as_text=True)


def test_another_subtrees_unit_as_a_filter_is_not_found(client, make, site):
    make.response(site["B"], comment="Góp ý ở xã khác")
    response = client.get(f"/quan-tri/y-kien?unit={site['B'].unit_id}")
    assert response.status_code == 404
    assert "Góp ý ở xã khác" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["trang=0", "trang=-3", "trang=abc", f"trang={10**30}", "max_score=2&trang=" + "9" * 40,
                                   "q=" + "x" * 300, "field=abc", "unit=abc", "element=KHONG_CO&max_score=9"])
def test_odd_query_strings_get_a_page_or_a_clear_refusal_never_an_error(client, make, site, query):
    make.response(site["A"], comment="Một ý kiến")
    response = client.get(f"/quan-tri/y-kien?{query}")
    assert response.status_code in (200, 400)
    assert "Hệ thống gặp sự cố" not in response.get_data(as_text=True)


def test_search_ignores_accents_and_case_and_finds_word_starts(client, make, site):
    make.response(site["A"], comment="Thủ tục còn chậm, chờ lâu")
    make.response(site["A"], comment="Cán bộ nhiệt tình, hướng dẫn kỹ")
    make.response(site["B"], comment="Chờ lâu ở xã khác")  # outside the organiser's subtree
    assert shown(client.get("/quan-tri/y-kien?q=cho lau")) == ["Thủ tục còn chậm, chờ lâu"]
    assert shown(client.get("/quan-tri/y-kien?q=HUONG dan")) == ["Cán bộ nhiệt tình, hướng dẫn kỹ"]
    assert shown(client.get("/quan-tri/y-kien?q=nhiê")) == ["Cán bộ nhiệt tình, hướng dẫn kỹ"]  # a word's start
    assert shown(client.get("/quan-tri/y-kien?q=chậm nhiệt")) == []  # every word must be in one comment
    assert shown(client.get("/quan-tri/y-kien?q=\"*:&|!")) == []  # signs of the query languages are plain text
    page = client.get("/quan-tri/y-kien?q=cho")
    assert page.status_code == 200 and "1 ý kiến." in page.get_data(as_text=True)  # indexed: the total is known


def test_the_search_index_follows_deleted_responses(app, client, make, site):
    import sqlalchemy as sa

    from app.extensions import db
    from app.surveys.models import SurveyResponse

    make.response(site["A"], comment="Sẽ bị xoá")
    assert shown(client.get("/quan-tri/y-kien?q=xoa")) == ["Sẽ bị xoá"]
    with app.app_context():
        db.session.execute(sa.delete(SurveyResponse))
        db.session.commit()
    assert shown(client.get("/quan-tri/y-kien?q=xoa")) == []
