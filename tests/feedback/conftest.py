"""PAKN fixtures: two sibling units under a province, a counter, organisers and approvers of each, and helpers."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from PIL import Image

from tests.factories import CounterInfo, OrganiserInfo, csrf_from

SENDER_NAME = "Nguyễn Thị Bích Ngọc"
SENDER_PHONE = "0912345678"


@dataclass
class World:
    counter: CounterInfo
    a_organiser: OrganiserInfo
    a_admin: OrganiserInfo
    b_organiser: OrganiserInfo
    b_admin: OrganiserInfo
    a_viewer: OrganiserInfo


@pytest.fixture
def world(make, app) -> World:
    make.unit("T01", "Tỉnh Thử Nghiệm", kind="province")
    make.unit("T01-A", "Sở Tư pháp", parent="T01", kind="department")
    make.unit("T01-B", "Sở Xây dựng", parent="T01", kind="department")
    counter = make.counter("T01-A", code="QA1", name="Quầy số 1")
    return World(counter, make.organiser("T01-A"), make.organiser("T01-A", role="administrator"),
                 make.organiser("T01-B"), make.organiser("T01-B", role="administrator"),
                 make.organiser("T01-A", role="viewer"))


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker GPS-SECRET"
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes())
    return out.getvalue()


def form_values(html: str) -> dict:
    return {"csrf_token": csrf_from(html), "key": re.search(r'name="key" value="([^"]+)"', html).group(1)}


def citizen_fields(**changes) -> dict:
    data = {"sender_type": "individual", "name": SENDER_NAME, "address": "12 Lê Lợi, phường Bến Thành",
            "phone": SENDER_PHONE, "email": "ngoc@example.vn", "kind": "behaviour", "title": "Hẹn trả kết quả quá lâu",
            "content": "Hồ sơ cấp bản sao trích lục hộ tịch nộp từ lâu mà chưa có kết quả, cán bộ hẹn nhiều lần.",
            "proposal": "Trả kết quả đúng hẹn.", "consent_data": "1", "consent_publish": "1"}
    data.update(changes)
    return data


@pytest.fixture(autouse=True)
def holidays(app):
    """Load the shipped calendars (the app fixture empties every table after each test, the seeded ones too)."""
    from app.extensions import db
    from app.feedback.calendar import SHIPPED, load_year

    with app.app_context():
        for path in sorted(SHIPPED.glob("*.yaml")):
            load_year(path.read_text(encoding="utf-8"))
        db.session.commit()
