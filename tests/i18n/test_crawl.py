"""No English and no internal codes on a Vietnamese page, no Vietnamese left on an English one: a crawler opens every
organiser and public page (GET, HTML) of a site with a unit tree, counters, responses, comments, a dossier rating,
a contest with finished attempts and audit entries, signed in as an administrator, and reads the visible text.

Data people typed (unit, counter, contest and question names, comments) is theirs and is not checked; everything the
application writes around it is.
"""
from __future__ import annotations

import datetime as dt
import html as htmllib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.contests.helpers import finished_attempt, local
from tests.organiser.reporting import store, store_many, vector

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
#: snake_case codes (two or more lower-case words joined by "_").
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
#: English words that have no business on a Vietnamese page (whole words, as written by code or a template).
ENGLISH = ("mean", "pooled", "rank", "tied", "participant", "participants", "organiser", "failures", "submitted",
           "score", "items", "the", "and", "of", "error", "export", "import", "bank", "contest", "round", "true",
           "false", "none", "None", "True", "False", "null", "single", "multiple", "draft", "open", "closed")
ENGLISH_WORD = re.compile(r"\b(" + "|".join(ENGLISH) + r")\b")
#: Internal codes of instruments and audiences that a page must name in words.
CODES = re.compile(r"\b(sipas-counter|sipas-quick|dossier-rating|cbccvc|nguoi_dan)\b")
#: Letters only Vietnamese uses (an English page must not show them outside people's data).
VIETNAMESE = re.compile("[ăâđêôơưĂÂĐÊÔƠƯạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
                        "àáèéìíòóùúýãẽĩõũỹ]")
#: Pages whose address carries values the crawl cannot make up, or that are files, not pages.
SKIPPED = {"static", "health.favicon", "health.healthz", "health.readyz", "surveys.mangled_link", "surveys.short",
           "organiser.chart", "organiser.report_download", "documents.periodic", "units.unit_posters",
           "units.counter_poster", "units.counter_qr", "units.import_template", "contest_admin.template",
           "contest_admin.export", "contest_admin.personal_data", "contest_admin.certificates",
           "contest_admin.definition_file", "contests.certificate", "contests.verify", "contests.attempt",
           "contests.result", "surveys.rate_dossier", "surveys.dossier_thanks", "surveys.fill", "surveys.thanks",
           "auth.login"}


class _Text(HTMLParser):
    """The visible text of a page: no script, style, code, and (on request) nothing inside lang="vi"."""

    HIDDEN = {"script", "style", "code", "pre", "title", "textarea"}

    def __init__(self, skip_vietnamese: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.skip_vietnamese = skip_vietnamese
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            values = dict(attrs)
            for name in ("alt", "placeholder", "aria-label", "title"):
                if values.get(name) and not self._hidden():
                    self.parts.append(values[name])
            return
        values = dict(attrs)
        hidden = tag in self.HIDDEN or (self.skip_vietnamese and values.get("lang") == "vi")
        self.stack.append((tag, hidden))
        for name in ("aria-label", "title"):
            if values.get(name) and not self._hidden():
                self.parts.append(values[name])

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def _hidden(self) -> bool:
        return any(hidden for _, hidden in self.stack)

    def handle_data(self, data):
        if not self._hidden():
            self.parts.append(data)


def visible_text(page: str, *, skip_vietnamese: bool = False) -> str:
    parser = _Text(skip_vietnamese)
    parser.feed(page)
    text = _without_data(" ".join(" ".join(parser.parts).split()))
    return re.sub(r"\S+@\S+|https?://\S+|/\S+", " ", text)  # addresses and paths are not words


@pytest.fixture
def site(app, make, units, make_contest):
    """A province with a department and a commune, counters with responses and comments, a dossier rating, a
    contest with two finished attempts, a question bank, audit entries; an administrator of the province."""
    from app.auth.audit import COMMAND_LINE, record
    from app.extensions import db

    counter = make.counter("T-SNV", code="Q-SNV", name="Quay 1")
    store_many(app, counter, vector(5), 31, day=dt.date(2026, 1, 15), field="HO_TICH")
    store(app, counter, vector(2), day=dt.date(2026, 1, 16), texts={"Y_KIEN": "Cho lau qua"})
    store(app, counter, bytes([1]), day=dt.date(2026, 1, 17), code="dossier-rating", texts={"LY_DO": "Tra cham"})
    contest = make_contest(opens=local("2026-03-01 08:00"), closes=local("2026-03-20 17:00"))
    finished_attempt(app, contest.id, "0912345601", 4, units=units, questions=6)
    with app.app_context():
        record(COMMAND_LINE, units["T"], "unit.edit", "unit", units["T"], {"changes": {"headcount": [1, 2]}},
               dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))
        db.session.commit()
    admin = make.organiser("T", role="administrator", name="Can bo Tinh")
    return {"contest": contest, "counter": counter, "admin": admin, "units": units}


def pages(app, site) -> list[str]:
    """Every GET page of the organiser area and the public side the site gives values for."""
    values = {"unit_id": site["units"]["T-SNV"], "counter_id": site["counter"].id, "slug": site["contest"].slug,
              "field_id": None, "organiser_id": site["admin"].id, "code": "bank-a", "kind": None, "fmt": None,
              "number": 1}
    with app.app_context():
        from app.units.models import ServiceField
        from app.extensions import db
        import sqlalchemy as sa

        values["field_id"] = db.session.scalar(sa.select(ServiceField.id).limit(1))
    paths = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in SKIPPED or rule.rule.startswith("/api"):
                continue
            arguments = {name: values.get(name) for name in rule.arguments}
            if any(value is None for value in arguments.values()):
                kinds = {"units.import_table": "quay"}
                if rule.endpoint in kinds:
                    arguments["kind"] = kinds[rule.endpoint]
                else:
                    continue
            paths.append(url_for(rule.endpoint, **arguments))
    extra = ["/quan-tri/tong-quan?year=2026&preset=Q1", "/quan-tri/bao-cao?year=2026&preset=Q1",
             "/quan-tri/y-kien?period=2026-Q1"]
    return sorted(set(paths)) + extra


#: What people typed or the product's name: theirs, in their language, not checked.
#: Data the organiser typed (names, titles; a list of audience groups lowers all but the first): shown as typed.
DATA = ("HàiLòng", "Tỉnh Thử Nghiệm", "Sở Nội vụ Thử", "Xã Thử", "Tỉnh Khác", "Cuộc thi thử nghiệm", "Vòng 1",
        "Cán bộ, công chức, viên chức", "Người dân", "người dân", "Dữ liệu thử", "bank-a", "chi_so", "mot_cua", "the_che",
        "thi-thu", "hanh_chinh", "Lĩnh vực HO_TICH", "Lĩnh vực DAT_DAI", "Nguyễn Văn An", "Thử", "Tiếng Việt")
QUESTION = re.compile(r"(Câu hỏi thử số \d+ về cải cách hành chính\?|Phương án [A-D] của câu \d+|"
                      r"Giải thích câu \d+\.)")


def _without_data(text: str) -> str:
    from app.contests.spec import DEFAULT_CONSENT  # a contest's consent text is part of its definition

    for value in (*DATA, DEFAULT_CONSENT):
        text = text.replace(value, " ")
    return QUESTION.sub(" ", text)


def crawl(app, client, site, lang: str) -> dict[str, list[str]]:
    problems, checked = {}, []
    for path in pages(app, site):
        joined = f"{path}{'&' if '?' in path else '?'}lang={lang}"
        response = client.get(joined)
        if 300 <= response.status_code < 400:
            continue
        if response.status_code >= 500 or not response.mimetype == "text/html":
            if response.status_code >= 500:
                problems[path] = [f"status {response.status_code}"]
            continue
        text = visible_text(response.get_data(as_text=True), skip_vietnamese=lang == "en")
        checked.append(path)
        if lang == "vi":
            found = SNAKE.findall(text) + ENGLISH_WORD.findall(text) + CODES.findall(text)
        else:
            found = [match.group(0) + ": " + text[max(0, match.start() - 40):match.end() + 20]
                     for match in VIETNAMESE.finditer(text)][:3]
        if found:
            problems[path] = sorted(set(found))[:8]
    assert len(checked) >= 35, checked  # the organiser area and the public pages, not a handful
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"crawl-{lang}.txt").write_text("\n".join(f"{path}: {found}" for path, found in problems.items())
                                                 or "nothing found\n", encoding="utf-8")
    return problems


def test_vietnamese_pages_show_no_english_and_no_codes(app, client, login, site):
    login(site["admin"])
    problems = crawl(app, client, site, "vi")
    assert not problems, problems


def test_english_pages_show_no_vietnamese_left_over(app, client, login, site, english):
    login(site["admin"])
    problems = crawl(app, client, site, "en")
    assert not problems, problems
