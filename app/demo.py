"""The demo province loaded by `flask seed-demo`: units, service fields, counters, instruments, responses, a contest."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import sqlalchemy as sa

from app.contests.synth import seed_demo_contest
from app.database import utcnow
from app.extensions import db
from app.surveys.instruments import load_instrument
from app.surveys.services import publish_instrument
from app.synth import synthesise_responses
from app.units.models import Unit
from app.units.services import create_counter, create_service_field, create_unit

DEMO_ROOT = "AK"

SERVICE_FIELDS = (
    ("DAT_DAI", "Đất đai", "Land"),
    ("HO_TICH", "Hộ tịch", "Civil status"),
    ("XAY_DUNG", "Xây dựng", "Construction"),
    ("DKKD", "Đăng ký kinh doanh", "Business registration"),
    ("CHUNG_THUC", "Chứng thực", "Certification"),
    ("LAO_DONG", "Lao động, việc làm và bảo trợ xã hội", "Labour, employment and social protection"),
    ("GIAO_THONG", "Giao thông vận tải", "Transport"),
    ("TU_PHAP", "Tư pháp", "Justice"),
)

#: (code, name, kind, parent code, headcount, block, [(counter code, counter name, [field codes])])
UNITS = (
    ("AK", "Tỉnh An Khang (dữ liệu mẫu)", "province", None, None, None, []),
    ("AK-TTPVHCC", "Trung tâm Phục vụ hành chính công tỉnh An Khang", "center", "AK", 48, "hanh_chinh", [
        ("AK-TT-Q01", "Quầy 1 – Đất đai và môi trường", ["DAT_DAI"]),
        ("AK-TT-Q02", "Quầy 2 – Xây dựng, giao thông", ["XAY_DUNG", "GIAO_THONG"]),
        ("AK-TT-Q03", "Quầy 3 – Đăng ký kinh doanh", ["DKKD"]),
        ("AK-TT-Q04", "Quầy 4 – Tư pháp, lao động", ["TU_PHAP", "LAO_DONG"]),
    ]),
    ("AK-SNV", "Sở Nội vụ", "department", "AK", 65, "hanh_chinh", [
        ("AK-SNV-MC", "Bộ phận Một cửa Sở Nội vụ", ["LAO_DONG"]),
    ]),
    ("AK-STP", "Sở Tư pháp", "department", "AK", 52, "hanh_chinh", [
        ("AK-STP-MC", "Bộ phận Một cửa Sở Tư pháp", ["TU_PHAP", "HO_TICH"]),
    ]),
    ("AK-SXD", "Sở Xây dựng", "department", "AK", 70, "hanh_chinh", [
        ("AK-SXD-MC", "Bộ phận Một cửa Sở Xây dựng", ["XAY_DUNG", "GIAO_THONG"]),
    ]),
    ("AK-P-ANKHANG", "Phường An Khang", "ward", "AK", 38, "xa", [
        ("AK-PAK-Q1", "Quầy 1 – Hộ tịch, chứng thực", ["HO_TICH", "CHUNG_THUC"]),
        ("AK-PAK-Q2", "Quầy 2 – Đất đai, xây dựng", ["DAT_DAI", "XAY_DUNG"]),
    ]),
    ("AK-P-BINHMINH", "Phường Bình Minh", "ward", "AK", 35, "xa", [
        ("AK-PBM-Q1", "Quầy tiếp nhận và trả kết quả", ["HO_TICH", "CHUNG_THUC", "DAT_DAI"]),
    ]),
    ("AK-X-TANPHU", "Xã Tân Phú", "commune", "AK", 27, "xa", [
        ("AK-XTP-Q1", "Bộ phận Một cửa xã Tân Phú", ["HO_TICH", "CHUNG_THUC", "DAT_DAI", "LAO_DONG"]),
    ]),
    ("AK-X-HOABINH", "Xã Hòa Bình", "commune", "AK", 25, "xa", [
        ("AK-XHB-Q1", "Bộ phận Một cửa xã Hòa Bình", ["HO_TICH", "CHUNG_THUC", "DAT_DAI"]),
    ]),
    ("AK-X-LONGTHANH", "Xã Long Thạnh", "commune", "AK", 24, "xa", [
        ("AK-XLT-Q1", "Bộ phận Một cửa xã Long Thạnh", ["HO_TICH", "DAT_DAI", "LAO_DONG"]),
    ]),
)


#: Demo counters that serve the quick instrument (one statement per SIPAS element) instead of the full one.
QUICK_COUNTERS = frozenset({"AK-XLT-Q1"})


def surveys_dir() -> Path:
    """Return the top-level surveys/ folder of instrument files."""
    return Path(__file__).resolve().parent.parent / "surveys"


def publish_shipped_instruments() -> None:
    """Publish every instrument file shipped in surveys/ (unchanged versions are left as they are)."""
    for path in sorted(surveys_dir().glob("*.yaml")):
        publish_instrument(load_instrument(path))


def seed_demo(*, responses: int, seed: int) -> bool:
    """Create the demo province once; return False when it is already there."""
    if db.session.scalar(sa.select(Unit.id).where(Unit.code == DEMO_ROOT)) is not None:
        return False
    now = utcnow()
    publish_shipped_instruments()
    fields = {code: create_service_field(code, name, name_en) for code, name, name_en in SERVICE_FIELDS}
    units: dict[str, Unit] = {}
    for code, name, kind, parent, headcount, block, counters in UNITS:
        units[code] = create_unit(code, name, kind=kind, parent=units.get(parent), headcount=headcount, block=block)
        for counter_code, counter_name, field_codes in counters:
            create_counter(counter_code, counter_name, units[code], now=now,
                           service_fields=[fields[f] for f in field_codes],
                           instrument_code="sipas-quick" if counter_code in QUICK_COUNTERS else "sipas-counter")
    if responses:
        rng = np.random.default_rng(seed)
        quick = max(1, responses // 10)
        synthesise_responses(responses - quick, rng, now, days=270)
        synthesise_responses(quick, rng, now, days=270, instrument_code="sipas-quick")
    seed_demo_contest(now, np.random.default_rng(seed))
    return True
