"""Counters in the organiser area: create, edit, instrument choice, deactivate, rotate, QR codes and posters."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.factories import csrf_from, decode_qr


def counters(app) -> dict[str, tuple]:
    from app.extensions import db
    from app.units.models import Counter

    with app.app_context():
        return {counter.code: (counter.name, counter.unit_id, counter.instrument_code, counter.is_active,
                               sorted(field.code for field in counter.service_fields), counter.token_nonce)
                for counter in db.session.scalars(sa.select(Counter))}


def field_ids(app) -> dict[str, int]:
    from app.extensions import db
    from app.units.models import ServiceField

    with app.app_context():
        return dict(db.session.execute(sa.select(ServiceField.code, ServiceField.id)).all())


def post_form(client, path: str, data: dict):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


@pytest.fixture
def tree(make):
    """Province T with communes T-A and T-B, an existing counter in T-A, instruments published."""
    ids = {code: make.unit(code, name=f"Đơn vị {code}", parent=parent)
           for code, parent in (("T", None), ("T-A", "T"), ("T-B", "T"))}
    make.counter("T-A", code="QA1", name="Quầy Hộ tịch", fields=("HO_TICH",))
    return ids


def test_organiser_creates_a_counter_with_fields_and_instrument(app, client, make, login, tree):
    login(make.organiser("T-A"))
    form = client.get(f"/quan-tri/quay/moi?unit={tree['T-A']}").get_data(as_text=True)
    assert 'value="sipas-counter"' in form and 'value="dossier-rating"' not in form
    response = post_form(client, "/quan-tri/quay/moi",
                         {"code": "QA2", "name": "Quầy Đất đai", "unit": tree["T-A"],
                          "fields": [field_ids(app)["HO_TICH"]], "instrument_code": "sipas-counter"})
    assert response.status_code == 303
    created = counters(app)["QA2"]
    assert created[:5] == ("Quầy Đất đai", tree["T-A"], "sipas-counter", True, ["HO_TICH"])
    assert response.headers["Location"].startswith("/quan-tri/quay/")


@pytest.mark.parametrize("change, message, status", [
    ({"instrument_code": "dossier-rating"}, "Lựa chọn không hợp lệ", 400),
    ({"code": "QA1"}, "Mã quầy “QA1” đã tồn tại.", 409),
    ({"code": "sai mã"}, "Mã chỉ gồm chữ không dấu", 400),
    ({"fields": ["99999"]}, "Có lĩnh vực không hợp lệ", 400),
    ({"fields": [str(10**30)]}, "Có lĩnh vực không hợp lệ", 400),
])
def test_bad_counter_details_are_refused_and_nothing_is_written(app, client, make, login, tree, change, message,
                                                               status):
    login(make.organiser("T-A"))
    before = counters(app)
    data = {"code": "QA2", "name": "Quầy mới", "unit": tree["T-A"], "instrument_code": "sipas-counter", **change}
    response = post_form(client, "/quan-tri/quay/moi", data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert counters(app) == before


def test_counter_edit_moves_it_within_the_subtree_and_keeps_its_token(app, client, make, login, tree):
    counter = make.counter("T-A", code="QA2", fields=("HO_TICH", "DAT_DAI"))
    hamlet = make.unit("T-A-1", parent="T-A")
    token_before = counters(app)["QA2"][5]
    login(make.organiser("T-A"))
    response = post_form(client, f"/quan-tri/quay/{counter.id}/sua",
                         {"name": "Quầy Tư pháp – Hộ tịch", "unit": hamlet, "fields": [field_ids(app)["DAT_DAI"]],
                          "instrument_code": "sipas-counter", "code": "DOI-MA"})
    assert response.status_code == 303
    assert counters(app)["QA2"] == ("Quầy Tư pháp – Hộ tịch", hamlet, "sipas-counter", True, ["DAT_DAI"],
                                    token_before)
    assert "Quầy Tư pháp – Hộ tịch" in client.get(counter.path).get_data(as_text=True)


def test_counter_cannot_be_moved_into_another_subtree(app, client, make, login, tree):
    counter = make.counter("T-A", code="QA2")
    login(make.organiser("T-A"))
    before = counters(app)
    response = post_form(client, f"/quan-tri/quay/{counter.id}/sua",
                         {"name": "Quầy", "unit": tree["T-B"], "instrument_code": "sipas-counter"})
    assert response.status_code == 404
    assert counters(app) == before


def test_deactivation_asks_first_and_stops_the_qr_code(app, client, make, login, tree):
    counter = make.counter("T-A", code="QA2")
    login(make.organiser("T-A"))
    path = f"/quan-tri/quay/{counter.id}/ngung"
    assert "Ngừng hoạt động quầy" in client.get(path).get_data(as_text=True)
    assert client.get(counter.path).status_code == 200
    assert post_form(client, path, {}).status_code == 303
    assert client.get(counter.path).status_code == 410
    assert post_form(client, f"/quan-tri/quay/{counter.id}/kich-hoat", {}).status_code == 303
    assert client.get(counter.path).status_code == 200


def test_rotating_the_token_retires_printed_posters(app, client, make, login, tree):
    counter = make.counter("T-A", code="QA2")
    login(make.organiser("T-A"))
    path = f"/quan-tri/quay/{counter.id}/doi-ma"
    assert "Mọi áp phích đã in" in client.get(path).get_data(as_text=True)
    assert client.get(counter.path).status_code == 200
    assert post_form(client, path, {}).status_code == 303
    assert client.get(counter.path).status_code == 410  # the old QR says it was replaced
    new_url = decode_qr(client.get(f"/quan-tri/quay/{counter.id}/qr.png").data)[0]
    assert new_url.startswith("http://hailong.test/s/") and new_url != "http://hailong.test" + counter.path
    assert client.get(new_url.removeprefix("http://hailong.test")).status_code == 200


def test_qr_png_and_poster_encode_the_counters_survey_url(client, make, login, tree):
    counter = make.counter("T-A", code="QA2")
    login(make.organiser("T-A", role="viewer"))
    png = client.get(f"/quan-tri/quay/{counter.id}/qr.png")
    assert png.mimetype == "image/png" and "attachment" in png.headers["Content-Disposition"]
    assert decode_qr(png.data) == ["http://hailong.test" + counter.path]
    svg = client.get(f"/quan-tri/quay/{counter.id}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.lstrip().startswith(b"<")
    assert "inline" in svg.headers["Content-Disposition"]
    pdf = client.get(f"/quan-tri/quay/{counter.id}/ap-phich.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF") and pdf_pages(pdf.data) == 1


@pytest.mark.parametrize("per_page, pages", [(1, 5), (2, 3), (4, 2)])
def test_unit_poster_sheet_lays_out_active_counters_per_page(client, make, login, tree, per_page, pages):
    for n in range(4):
        make.counter("T-A", code=f"QA-{n}")
    inactive = make.counter("T-B", code="QB-OFF")
    login(make.organiser("T"))
    token = csrf_from(client.get(f"/quan-tri/quay/{inactive.id}/ngung").get_data(as_text=True))
    client.post(f"/quan-tri/quay/{inactive.id}/ngung", data={"csrf_token": token})
    response = client.get(f"/quan-tri/ap-phich.pdf?unit={tree['T']}&per_page={per_page}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert pdf_pages(response.data) == pages  # 5 active counters (QA1 and QA-0..3), the inactive one left out


def test_unit_poster_sheet_refuses_other_layouts_and_empty_units(client, make, login, tree):
    login(make.organiser("T"))
    bad = client.get(f"/quan-tri/ap-phich.pdf?unit={tree['T']}&per_page=3")
    assert bad.status_code == 400 and "1, 2 hoặc 4" in bad.get_data(as_text=True)
    empty = client.get(f"/quan-tri/ap-phich.pdf?unit={tree['T-B']}&per_page=1")
    assert empty.status_code == 404 and "không có quầy nào đang hoạt động" in empty.get_data(as_text=True)


def test_counter_list_is_scoped_and_filterable_by_unit(client, make, login, tree):
    make.counter("T-B", code="QB1", name="Quầy xã B")
    login(make.organiser("T"))
    everything = client.get("/quan-tri/quay").get_data(as_text=True)
    assert "Quầy Hộ tịch" in everything and "Quầy xã B" in everything
    only_b = client.get(f"/quan-tri/quay?unit={tree['T-B']}").get_data(as_text=True)
    assert "Quầy xã B" in only_b and "Quầy Hộ tịch" not in only_b


def test_viewer_cannot_change_counters(app, client, make, login, tree):
    counter = make.counter("T-A", code="QA2")
    login(make.organiser("T-A", role="viewer"))
    before = counters(app)
    token = csrf_from(client.get("/quan-tri/quay").get_data(as_text=True))
    for path in ("/quan-tri/quay/moi", f"/quan-tri/quay/{counter.id}/sua", f"/quan-tri/quay/{counter.id}/ngung",
                 f"/quan-tri/quay/{counter.id}/doi-ma"):
        assert client.post(path, data={"csrf_token": token}).status_code == 403
    assert counters(app) == before


@pytest.fixture
def counter_with_two_periods(app, make, login):
    """A counter with 30 satisfied responses in April 2025 and 2 unsatisfied ones today; a viewer signed in."""
    import datetime as dt

    from app.database import utcnow
    from tests.organiser.reporting import store, store_many, vector

    make.unit("Q", name="Tỉnh Quầy")
    counter = make.counter("Q", code="Q-1", name="Quầy Một")
    store_many(app, counter, vector(5), 30, day=dt.date(2025, 4, 10), field="HO_TICH")
    store_many(app, counter, vector(1), 2, day=utcnow().date())
    login(make.organiser("Q", role="viewer"))
    return counter


def test_the_counter_page_shows_the_chosen_period(client, counter_with_two_periods):
    from app.database import utcnow

    path = f"/quan-tri/quay/{counter_with_two_periods.id}"
    chosen = client.get(f"{path}?year=2025&preset=H1")
    assert chosen.status_code == 200
    html = chosen.get_data(as_text=True)
    assert "Số phiếu, 6 tháng đầu năm 2025</dt><dd>30</dd>" in html
    assert "100,0 % (n = 30)" in html  # the index of that period alone
    assert '<option selected value="H1">' in html and '<option selected value="2025">' in html
    custom = client.get(f"{path}?year=2025&preset=custom&start=2025-04-10&end=2025-04-10").get_data(as_text=True)
    assert "Số phiếu, từ ngày 10/04/2025 đến ngày 10/04/2025</dt><dd>30</dd>" in custom
    today = utcnow().date()
    default = client.get(path).get_data(as_text=True)  # no choice: this quarter, with today's two responses
    quarter = ("I", "II", "III", "IV")[(today.month - 1) // 3]
    assert f"Số phiếu, quý {quarter} năm {today.year}</dt><dd>2</dd>" in default


@pytest.mark.parametrize("query, message", [
    ("year=2025&preset=custom&start=2025-06-30&end=2025-04-01", "Ngày kết thúc phải sau ngày bắt đầu."),
    ("year=2025&preset=custom&start=2025-04-01", "Chọn cả ngày bắt đầu và ngày kết thúc."),
    ("year=2025&preset=Q5", "Lựa chọn không hợp lệ; vui lòng chọn lại."),
    ("year=1990&preset=Q1", "Lựa chọn không hợp lệ; vui lòng chọn lại."),
    ("year=2025&preset=custom&start=31/02/2025&end=2025-04-01", "Ngày không hợp lệ; vui lòng chọn ngày trên lịch."),
])
def test_a_bad_period_on_the_counter_page_is_said_clearly_with_a_400(client, counter_with_two_periods, query,
                                                                     message):
    response = client.get(f"/quan-tri/quay/{counter_with_two_periods.id}?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Vui lòng sửa các mục được đánh dấu bên dưới." in html
    assert "Số phiếu," not in html  # no figures for a period that was not understood
    assert "Quầy Một" in html  # the counter itself is still shown
