"""Plain fixture-factories: each builds rows in its own app context, commits, and returns plain values."""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
_sequence = itertools.count(1)


@dataclass(frozen=True)
class CounterInfo:
    """What tests need of a counter: ids, codes and its public URL path."""

    id: int
    code: str
    unit_id: int
    unit_code: str
    token: str
    path: str


class Factories:
    """Builders for the rows tests need, committed and returned as plain values."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def instruments(self) -> dict[str, int]:
        """Publish every instrument shipped in surveys/; return version ids by code."""
        from app.extensions import db
        from app.surveys.instruments import load_instrument
        from app.surveys.services import publish_instrument

        with self.app.app_context():
            ids = {}
            for path in sorted((ROOT / "surveys").glob("*.yaml")):
                version = publish_instrument(load_instrument(path))
                ids[version.code] = version.id
            db.session.commit()
            return ids

    def unit(self, code: str | None = None, name: str | None = None, parent: str | None = None,
             kind: str = "commune", **fields) -> int:
        """Create a unit (under the unit with code `parent`); return its id."""
        from app.extensions import db
        from app.units.services import create_unit, get_unit_by_code

        with self.app.app_context():
            number = next(_sequence)
            unit = create_unit(code or f"U{number}", name or f"Xã Thử Nghiệm {number}", kind=kind,
                               parent=get_unit_by_code(parent) if parent else None, **fields)
            db.session.commit()
            return unit.id

    def counter(self, unit: str | None = None, code: str | None = None, name: str | None = None,
                fields: tuple[str, ...] = ("HO_TICH", "DAT_DAI"), instrument_code: str = "sipas-counter",
                ) -> CounterInfo:
        """Create a counter (and its unit and service fields if needed); instruments are published first."""
        from app.database import utcnow
        from app.extensions import db
        from app.surveys.tokens import counter_token
        from app.units.models import ServiceField
        from app.units.services import create_counter, create_service_field, get_unit_by_code

        self.instruments()
        if unit is None:
            unit = f"U{next(_sequence)}"
            self.unit(unit)
        with self.app.app_context():
            service_fields = []
            for field_code in fields:
                field = db.session.query(ServiceField).filter_by(code=field_code).first()
                service_fields.append(field or create_service_field(field_code, f"Lĩnh vực {field_code}",
                                                                    f"Field {field_code}"))
            counter = create_counter(code or f"Q{next(_sequence)}", name or "Quầy 1", get_unit_by_code(unit),
                                     now=utcnow(), service_fields=service_fields, instrument_code=instrument_code)
            db.session.commit()
            token = counter_token(counter.token_nonce, self.app.config["SECRET_KEY"])
            return CounterInfo(counter.id, counter.code, counter.unit_id, unit, token, f"/s/{token}")


def form_fields(html: str) -> dict[str, str]:
    """Return the hidden fields of a rendered survey form (csrf_token, k, t)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def full_answers(html: str, value: str = "4") -> dict[str, str]:
    """Fill every radio question of a rendered form with `value` (or its first option) and pick a field."""
    data = form_fields(html)
    for name in dict.fromkeys(re.findall(r'type="radio" name="([A-Za-z0-9_]+)"', html)):
        options = re.findall(rf'type="radio" name="{name}" value="([^"]+)"', html)
        data[name] = value if value in options else options[0]
    return data
