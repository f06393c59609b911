"""Plain fixture-factories: each builds rows in its own app context, commits, and returns plain values."""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parent.parent
_sequence = itertools.count(1)


@functools.lru_cache(maxsize=32)
def _parsed_instrument(path: str, mtime_ns: int):
    """Parse a shipped instrument file once per version of the file (parsing dominates a test's set-up)."""
    from app.surveys.instruments import load_instrument

    return load_instrument(path)


@dataclass(frozen=True)
class CounterInfo:
    """What tests need of a counter: ids, codes and its public URL path."""

    id: int
    code: str
    unit_id: int
    unit_code: str
    token: str
    path: str


@dataclass(frozen=True)
class OrganiserInfo:
    """What tests need of an organiser account: ids, the credentials, the unit and the role."""

    id: int
    email: str
    password: str
    unit_id: int
    unit_code: str
    role: str

class BrowserLikeClient(FlaskClient):
    """The test client, following the citizen's "see the form again" redirect as a browser does.

    A refused survey submission is answered 303 to the form it was sent from, which shows the answers kept with what to
    fix (and a 4xx status); this client returns that page, so a test reads the refusal as the citizen does. Every
    other response comes back as it is (tests/surveys/test_views.py checks the redirect itself).
    """

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        request = response.request
        if (request.method == "POST" and response.status_code == 303 and request.path.startswith(("/s/", "/d/"))
                and response.location == request.path):
            return super().open(response.location, method="GET", headers={
                key: value for key, value in (kwargs.get("headers") or {}).items() if key.lower() != "content-type"})
        return response


class Factories:
    """Builders for the rows tests need, committed and returned as plain values."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def instruments(self) -> dict[str, int]:
        """Publish every instrument shipped in surveys/; return version ids by code."""
        from app.extensions import db
        from app.surveys.services import publish_instrument

        with self.app.app_context():
            ids = {}
            for path in sorted((ROOT / "surveys").glob("*.yaml")):
                version = publish_instrument(_parsed_instrument(str(path), path.stat().st_mtime_ns))
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
        from app.units.tokens import counter_token
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


    def dossier_path(self, counter: CounterInfo, dossier_code: str = "HS-2026-000123", *, days: float = 30) -> str:
        """Return the path of a one-time rating link for a dossier returned at `counter` (negative days: expired)."""
        from app.database import utcnow
        from app.units.tokens import DossierClaim, dossier_token

        expires = (utcnow() + dt.timedelta(days=days)).replace(microsecond=0)
        return "/d/" + dossier_token(DossierClaim(dossier_code, counter.id, expires), self.app.config["SECRET_KEY"])

    def organiser(self, unit: str | None = None, role: str = "organiser", email: str | None = None,
                  password: str = "mat-khau-thu-nghiem-dai", name: str | None = None) -> OrganiserInfo:
        """Create an organiser account for the unit with code `unit` (a new unit when None)."""
        from app.auth.services import create_organiser
        from app.database import utcnow
        from app.extensions import db
        from app.units.services import get_unit_by_code

        if unit is None:
            unit = f"U{next(_sequence)}"
            self.unit(unit)
        with self.app.app_context():
            number = next(_sequence)
            account = create_organiser(email or f"canbo{number}@thu.gov.vn", name or f"Cán bộ {number}",
                                       get_unit_by_code(unit), role, password, utcnow(),
                                       method=self.app.config["AUTH_PASSWORD_METHOD"])
            db.session.commit()
            return OrganiserInfo(account.id, account.email, password, account.unit_id, unit, role)

    def response(self, counter: CounterInfo, *, score: int = 4, element_scores: dict[str, int] | None = None,
                 comment: str | None = None, field: str | None = None, when=None) -> int:
        """Store one complete response at a counter through the survey services; return its id.

        Every criterion gets `score` unless `element_scores` gives its element (by code) another; the comment goes
        to the instrument's last free-text item; `field` is a service field code (default: the counter's
        first); `when` is an aware datetime.
        """
        import uuid
        from zoneinfo import ZoneInfo

        import sqlalchemy as sa

        from app.database import utcnow
        from app.extensions import db
        from app.surveys import services
        from app.surveys.models import SurveyResponse
        from app.units.models import ServiceField

        with self.app.app_context():
            ref = services.get_counter_for_token(counter.token, self.app.config["SECRET_KEY"])
            form = services.get_response_form(ref)
            instrument = form.instrument
            by_item = {item.code: (element_scores or {}).get(element.code, score)
                       for element in instrument.elements for item in element.items}
            data: dict[str, list[str]] = {}
            for item in instrument.items:
                if item.type == "scale":
                    data[item.code] = [str(by_item.get(item.code, score))]
                elif item.type in ("choice", "multi") and item.required:
                    data[item.code] = [str(item.choices[0].value)]
            if comment is not None:
                data[[item for item in instrument.items if item.type == "text"][-1].code] = [comment]
            if field is not None:
                data["field"] = [str(db.session.scalar(sa.select(ServiceField.id).where(ServiceField.code == field)))]
            elif form.service_fields:  # a counter that offers fields requires one
                data["field"] = [str(form.service_fields[0].id)]
            key = uuid.uuid4().hex
            services.submit_response(ref, form, form.validate(data), submission_key=key, now=when or utcnow(),
                                     zone=ZoneInfo(self.app.config["TIMEZONE"]), duration_ms=30_000,
                                     client_hash=None)
            db.session.commit()
            return db.session.scalar(sa.select(SurveyResponse.id).where(SurveyResponse.submission_key == key))

def form_fields(html: str) -> dict[str, str]:
    """Return the hidden fields of a rendered survey form (csrf_token, k, t)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def new_visit_page(client, path: str, **kwargs) -> str:
    """Return the form of a new visit at a counter: a client that has just sent a response is shown that its visit was
    recorded, and follows the page's "rate another visit" link, as a citizen would."""
    html = client.get(path, **kwargs).get_data(as_text=True)
    again = re.search(r'<p class="again"><a href="([^"]+)"', html)
    if again is None:
        return html
    return client.get(again[1].replace("&amp;", "&"), **kwargs).get_data(as_text=True)


def full_answers(html: str, value: str = "4") -> dict[str, str]:
    """Fill every radio question of a rendered form with `value` (or its first option) and pick a field."""
    data = form_fields(html)
    for name in dict.fromkeys(re.findall(r'type="radio" name="([A-Za-z0-9_]+)"', html)):
        options = re.findall(rf'type="radio" name="{name}" value="([^"]+)"', html)
        data[name] = value if value in options else options[0]
    return data


def count_responses(app: Flask) -> int:
    """Return how many survey responses are stored."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.surveys.models import SurveyResponse

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


def stored_responses(app: Flask) -> list:
    """Return every stored survey response row (detached plain rows), oldest first."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.surveys.models import SurveyResponse

    with app.app_context():
        return list(db.session.execute(sa.select(SurveyResponse.__table__).order_by(SurveyResponse.id)))


@contextlib.contextmanager
def separate_app(database_url: str | None, *, migrate: bool = True, **overrides) -> Iterator[Flask]:
    """Yield a second app (own database, own settings), migrated unless told not to.

    The limiter and the survey caches are process-wide: they are put back for the shared test app afterwards.
    """
    from flask_migrate import upgrade

    from app import create_app
    from app.cache import caches
    from app.extensions import db, limiter

    saved = (limiter._storage, limiter._limiter)
    caches.clear()  # ids repeat across databases: cached forms must not leak between them
    config = {"TESTING": True, "SECRET_KEY": "second-test-secret-key", "BASE_URL": "http://hailong.test", **overrides}
    if database_url is not None:
        config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    try:
        if migrate:
            with app.app_context():
                upgrade()
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        limiter._storage, limiter._limiter = saved
        caches.clear()


def concurrent_posts(app, path: str, bodies: list[dict], cookie: str) -> list:
    """POST the bodies at the same moment from separate clients that share one visitor's session cookie."""
    clients = []
    for _ in bodies:
        visitor = app.test_client()
        visitor.set_cookie("session", cookie)
        clients.append(visitor)
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)

    def send(index: int) -> None:
        barrier.wait()
        results[index] = clients[index].post(path, data=bodies[index])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def decode_qr(image) -> list[str]:
    """Return the texts of every QR code a real decoder (zxing-cpp) finds in an image, a file or PNG bytes."""
    import io

    import zxingcpp
    from PIL import Image

    if isinstance(image, bytes):
        image = Image.open(io.BytesIO(image))
    elif not isinstance(image, Image.Image):
        image = Image.open(image)
    return [result.text for result in zxingcpp.read_barcodes(image) if result.format == zxingcpp.BarcodeFormat.QRCode]


def csrf_from(html: str) -> str:
    """Return the CSRF token of the first form of an organiser page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1) or match.group(2)


def log_in(client, email: str, password: str):
    """Sign in through the login form the way a browser does (fetch the form for its CSRF token, then post)."""
    token = csrf_from(client.get("/quan-tri/dang-nhap").get_data(as_text=True))
    return client.post("/quan-tri/dang-nhap", data={"csrf_token": token, "email": email, "password": password})


def form_data(form, value: str = "4", **changes) -> dict[str, list[str]]:
    """Answer every scale item with `value` and pick the first service field, as a parsed form body."""
    data = {item.code: [value] for item in form.instrument.scale_items}
    if form.service_fields:
        data["field"] = [str(form.service_fields[0].id)]
    data.update({code: [answer] if isinstance(answer, str) else answer for code, answer in changes.items()})
    return data


def submit(app: Flask, counter: CounterInfo, key: str, *, now: dt.datetime | None = None,
           dossier: str | None = None, value: str = "4", **changes) -> bool:
    """Validate and store one response through the services, committing; return what submit_response says."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from app.extensions import db
    from app.surveys import services

    with app.app_context():
        ref = services.get_counter_for_token(counter.token, app.config["SECRET_KEY"])
        form = services.get_response_form(ref, services.DOSSIER_INSTRUMENT if dossier else None)
        answers = form.validate(form_data(form, value, **changes))
        stored = services.submit_response(ref, form, answers, submission_key=key,
                                          now=now or dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.timezone.utc),
                                          zone=ZoneInfo("Asia/Ho_Chi_Minh"),
                                          duration_ms=42_000, client_hash="0123456789abcdef", dossier_code=dossier)
        db.session.commit()
        return stored


#: Downloads the app prepares as jobs (asked for with a POST; the file comes from the jobs page).
JOB_URLS = re.compile(r"^/quan-tri/(xuat-du-lieu/tai-ve|bao-cao/tai-ve\.|van-ban/bao-cao-dinh-ky\.|cuoc-thi/[^/]+/xuat/)")


def job_file(client, url: str, **kwargs):
    """Ask for a download: a job URL is POSTed (with the CSRF token of an organiser page) and followed to its job
    (already run, JOBS_IMMEDIATE) to fetch the file; any other URL is a plain GET.

    A response that is not the redirect to a job (a refusal, a 404 outside the organiser's subtree) is returned as is.
    """
    if not JOB_URLS.match(url):
        return client.get(url, **kwargs)
    token = csrf_from(client.get("/quan-tri/tac-vu").get_data(as_text=True))
    response = client.post(url, data={"csrf_token": token}, **kwargs)
    if response.status_code != 303 or "/quan-tri/tac-vu/" not in response.location:
        return response
    status = client.get(response.location, headers={"Accept": "application/json"}).get_json()
    assert status["state"] == "done", status
    return client.get(status["download"])


def assert_finished(sheet) -> None:
    """Check that a worksheet of a people's workbook looks finished: bold header frozen at the top with an autofilter,
    sized columns, a number format on every number and a date format on every date."""
    assert sheet.freeze_panes == "A2", sheet.title
    assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title
    assert all(cell.font.bold for cell in sheet[1] if cell.value), sheet.title
    assert sheet.column_dimensions["A"].width and sheet.column_dimensions["A"].width >= 6, sheet.title
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                assert cell.number_format != "General", (sheet.title, cell.coordinate)
            if isinstance(cell.value, dt.datetime):
                assert cell.number_format.startswith("dd/mm/yyyy"), (sheet.title, cell.coordinate)
