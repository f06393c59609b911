"""Units in the organiser area: the tree, create, edit, deactivate with confirmation, roles, escaping."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.factories import csrf_from


def units(app) -> dict[str, tuple]:
    from app.extensions import db
    from app.units.models import Unit

    with app.app_context():
        rows = db.session.execute(sa.select(Unit.code, Unit.name, Unit.kind, Unit.parent_id, Unit.headcount,
                                            Unit.block, Unit.is_active))
        return {row[0]: tuple(row[1:]) for row in rows}


def post_form(client, path: str, data: dict):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


@pytest.fixture
def tree(make):
    """Province T with communes T-A (with hamlet T-A-1) and T-B; returns unit ids by code."""
    rows = (("T", None, "province"), ("T-A", "T", "commune"), ("T-A-1", "T-A", "other"), ("T-B", "T", "commune"))
    return {code: make.unit(code, name=f"Đơn vị {code}", parent=parent, kind=kind) for code, parent, kind in rows}


def test_unit_list_shows_the_subtree_as_an_indented_tree(client, make, login, tree):
    login(make.organiser("T-A", role="viewer"))
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    assert 'class="depth-0">Đơn vị T-A<' in html
    assert 'class="depth-1">Đơn vị T-A-1<' in html
    assert "Đơn vị T-B" not in html and ">Đơn vị T<" not in html
    assert "<th scope=\"col\">" in html and "<caption" in html


def test_organiser_creates_a_unit_under_a_visible_parent(app, client, make, login, tree):
    login(make.organiser("T-A"))
    response = post_form(client, f"/quan-tri/don-vi/moi?parent={tree['T-A']}",
                         {"parent": tree["T-A-1"], "code": "T-A-1-X", "name": "  Tổ   dân phố 1 ", "kind": "other",
                          "headcount": "12", "block": "Khối thôn"})
    assert response.status_code == 303
    assert units(app)["T-A-1-X"] == ("Tổ dân phố 1", "other", tree["T-A-1"], 12, "Khối thôn", True)


def test_unit_under_a_parent_outside_the_subtree_is_not_found(app, client, make, login, tree):
    login(make.organiser("T-A"))
    response = post_form(client, "/quan-tri/don-vi/moi",
                         {"parent": tree["T-B"], "code": "LAN-SAN", "name": "Lấn sân", "kind": "other"})
    assert response.status_code == 404
    assert "LAN-SAN" not in units(app)


@pytest.mark.parametrize("change, message, status", [
    ({"code": "có dấu"}, "Mã chỉ gồm chữ không dấu", 400),
    ({"code": ""}, "Vui lòng điền mục này.", 400),
    ({"name": ""}, "Vui lòng điền mục này.", 400),
    ({"headcount": "-3"}, "Biên chế phải là số nguyên không âm.", 400),
    ({"headcount": "mười"}, "Biên chế phải là số nguyên không âm.", 400),
    ({"kind": "empire"}, "Lựa chọn không hợp lệ", 400),
    ({"code": "T-B"}, "Mã đơn vị “T-B” đã tồn tại.", 409),
])
def test_bad_unit_details_are_refused_with_a_clear_message(app, client, make, login, tree, change, message, status):
    login(make.organiser("T-A"))
    before = units(app)
    data = {"parent": tree["T-A"], "code": "MOI", "name": "Đơn vị mới", "kind": "other", "headcount": "", **change}
    response = post_form(client, "/quan-tri/don-vi/moi", data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert units(app) == before


def test_unit_edit_changes_name_kind_headcount_and_block_only(app, client, make, login, tree):
    login(make.organiser("T-A"))
    response = post_form(client, f"/quan-tri/don-vi/{tree['T-A-1']}/sua",
                         {"name": "Thôn Một", "kind": "division", "headcount": "", "block": "",
                          "code": "DOI-MA", "parent": tree["T-B"]})
    assert response.status_code == 303
    assert units(app)["T-A-1"] == ("Thôn Một", "division", tree["T-A"], None, None, True)


def test_deactivation_asks_first_then_stops_the_subtree_and_its_counters(app, client, make, login, tree):
    counter = make.counter("T-A-1")
    login(make.organiser("T"))
    page = client.get(f"/quan-tri/don-vi/{tree['T-A']}/ngung")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Số đơn vị (gồm đơn vị này và các đơn vị trực thuộc): 2" in html
    assert "Số quầy thuộc các đơn vị này: 1" in html
    assert units(app)["T-A"][-1] is True
    assert post_form(client, f"/quan-tri/don-vi/{tree['T-A']}/ngung", {}).status_code == 303
    state = units(app)
    assert (state["T-A"][-1], state["T-A-1"][-1], state["T-B"][-1]) == (False, False, True)
    assert client.get(counter.path).status_code == 410
    assert post_form(client, f"/quan-tri/don-vi/{tree['T-A']}/kich-hoat", {}).status_code == 303
    assert client.get(counter.path).status_code == 200


def test_an_organiser_cannot_deactivate_their_own_root_unit(app, client, make, login, tree):
    login(make.organiser("T-A"))
    response = post_form(client, f"/quan-tri/don-vi/{tree['T-A']}/ngung", {})
    assert response.status_code == 403
    assert units(app)["T-A"][-1] is True


def test_viewer_reads_units_but_cannot_change_them(app, client, make, login, tree):
    login(make.organiser("T", role="viewer"))
    assert client.get("/quan-tri/don-vi").status_code == 200
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    assert "Thêm đơn vị" not in html
    token = csrf_from(html)
    unit = tree["T-A"]
    for path in ("/quan-tri/don-vi/moi", f"/quan-tri/don-vi/{unit}/sua", f"/quan-tri/don-vi/{unit}/ngung"):
        assert client.get(path).status_code == 403
        response = client.post(path, data={"csrf_token": token, "parent": tree["T"], "code": "X", "name": "X",
                                           "kind": "other"})
        assert response.status_code == 403
    assert "X" not in units(app)


def test_unit_names_with_html_are_shown_as_text(client, make, login):
    make.unit("T", kind="province")
    make.unit("T-X", name="<script>alert(1)</script><b>Xã</b>", parent="T")
    login(make.organiser("T"))
    html = client.get("/quan-tri/don-vi").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "<b>Xã</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Xã&lt;/b&gt;" in html
