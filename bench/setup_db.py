"""Bench-only set-up of a fresh database: migrate, publish the shipped instruments, build a province.

Usage: python bench/setup_db.py DATABASE_URL SECRET_KEY --units N [--quick M]
Prints JSON: {"province": CODE, "counters": [{"code": …, "unit": …, "token": …}, …]}. Everything goes through the
application's own services (app.units.services), so the rows are exactly what organisers would create.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROVINCE = "BENCH"
SERVICE_FIELDS = (("HO_TICH", "Hộ tịch", "Civil status"), ("DAT_DAI", "Đất đai", "Land"),
                  ("CHUNG_THUC", "Chứng thực", "Certification"))


def build(url: str, secret: str, units: int, quick: int = 0) -> dict:
    """Migrate the database at `url` and create a province with `units` child units, one counter each; the last
    `quick` counters serve the quick instrument (sipas-quick), the others the full one."""
    import logging

    from flask_migrate import upgrade

    from app import create_app
    from app.database import utcnow
    from app.demo import publish_shipped_instruments
    from app.extensions import db
    from app.units.tokens import counter_token
    from app.units.services import create_counter, create_service_field, create_unit

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        publish_shipped_instruments()
        now = utcnow()
        fields = [create_service_field(code, name, name_en) for code, name, name_en in SERVICE_FIELDS]
        province = create_unit(PROVINCE, "Tỉnh Đo Hiệu Năng", kind="province")
        counters = []
        for number in range(1, units + 1):
            unit = create_unit(f"{PROVINCE}-{number:03d}", f"Xã Đo Hiệu Năng {number}", kind="commune",
                               parent=province, headcount=30)
            instrument = "sipas-quick" if number > units - quick else "sipas-counter"
            counter = create_counter(f"{PROVINCE}-Q{number:03d}", "Bộ phận Một cửa", unit, now=now,
                                     service_fields=fields[: 1 + number % len(fields)], instrument_code=instrument)
            counters.append({"code": counter.code, "unit": unit.code, "instrument": instrument,
                             "fields": 1 + number % len(fields), "token": counter_token(counter.token_nonce, secret)})
        db.session.commit()
    return {"province": PROVINCE, "counters": counters}


def main() -> None:
    """Parse the arguments, build, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("--units", type=int, default=1)
    parser.add_argument("--quick", type=int, default=0, help="how many of the last counters serve sipas-quick")
    args = parser.parse_args()
    print(json.dumps(build(args.url, args.secret, args.units, args.quick)))


if __name__ == "__main__":
    main()
