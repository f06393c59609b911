"""Dashboard charts: SVG images with their words as text (Vietnamese kept, markup escaped), safe and deterministic.

The PNG versions are drawn by the same code for the PDF report (tests/organiser/test_dashboard.py downloads it).
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest

from tests.organiser.reporting import store_many, vector

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: A unit name with markup and a mathtext-like dollar pair: it must be drawn as the plain text it is.
ODD_NAME = 'Xã <b>Hòa</b> & "Bình" $x_1$'


@pytest.fixture
def chart_sources(app, client, make, login) -> dict[str, str]:
    """T → T-A ("Phường Đông Hưng Thuận"), T-B (ODD_NAME), responses in May; the dashboard's chart URLs by name."""
    make.unit("T", name="Tỉnh Thử")
    make.unit("T-A", name="Phường Đông Hưng Thuận", parent="T")
    make.unit("T-B", name=ODD_NAME, parent="T")
    for unit, value in (("T-A", 5), ("T-B", 2)):
        store_many(app, make.counter(unit, code=f"Q{unit}"), vector(value), 12, day=dt.date(2026, 5, 20),
                   field="HO_TICH")
    login(make.organiser("T", role="viewer"))
    html = client.get("/quan-tri/tong-quan?year=2026&preset=Q2").get_data(as_text=True)
    return {name: src.replace("&amp;", "&")
            for src, name in re.findall(r'<img src="(/quan-tri/bieu-do/([a-z-]+)\.svg[^"]*)"', html)}


def test_svg_charts_carry_their_words_as_text_and_reference_nothing_outside(client, chart_sources):
    assert {"yeu-to", "xu-huong", "theo-ngay", "don-vi", "linh-vuc"} <= set(chart_sources)
    words = {}
    for name, src in chart_sources.items():
        body = client.get(src).get_data()
        assert client.get(src).get_data() == body  # deterministic: the same bytes every time
        root = ET.fromstring(body)
        assert not [element.tag for element in root.iter() if element.tag.endswith("script")]
        assert not [element for element in root.iter() if any(key.startswith("on") for key in element.attrib)]
        assert all(element.get(XLINK_HREF, "#").startswith("#") for element in root.iter())
        texts = list(root.iter(f"{SVG}text"))
        assert texts and all("font-family: 'DejaVu Sans', sans-serif" in text.get("style") for text in texts)
        assert b"DejaVuSans-" not in body  # no glyph outlines: the text is text
        words[name] = [text.text for text in texts]
    assert "Chỉ số chung và theo yếu tố" in words["yeu-to"] and "Chỉ số chung" in words["yeu-to"]
    assert "Chỉ số hài lòng (%) và khoảng tin cậy 95%" in words["yeu-to"]
    assert {"1. Phường Đông Hưng Thuận", f"2. {ODD_NAME}"} <= set(words["don-vi"])
    assert "100,00 (n = 12)" in words["don-vi"]
    assert "Số phiếu theo ngày" in words["theo-ngay"] and "Xu hướng chỉ số chung" in words["xu-huong"]
    # Months and days as people write them, not ISO codes.
    assert "05/2026" in words["xu-huong"] and not [word for word in words["xu-huong"] if "2026-" in word]
    assert [word for word in words["theo-ngay"] if re.fullmatch(r"\d\d/\d\d/2026", word or "")]
    assert not [word for word in words["theo-ngay"] if "2026-" in (word or "")]



def test_trend_ticks_name_quarters_and_months_as_people_write_them(app, english):
    from app.organiser.charts import tick_label

    with app.test_request_context("/?lang=vi"):
        assert [tick_label(label) for label in ("2026-Q3", "2026-07")] == ["Quý 3/2026", "07/2026"]
    with app.test_request_context("/?lang=en"):
        assert tick_label("2026-Q1") == "Q1 2026"
