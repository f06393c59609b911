"""The public pages (blueprint ``portal``) and the organiser's publishing page (blueprint ``portal_admin``, under
/quan-tri/ket-qua).

Public pages are rendered once per state of what they show (``public.state()``, one query at most once a second per
process), language and minute, and served from ``app.cache.portal_pages`` with an ETag (304 on a match) and a public
Cache-Control; they never read the live responses, only published snapshots.
"""
from __future__ import annotations

import hashlib
import time
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _

from app import cache
from app.auth.access import current_organiser, get_visible_unit, organiser_required
from app.database import utcnow
from app.errors import AppError, NotFoundError
from app.i18n import local_time, percent, period_in_words
from app.portal import cards, fastpath, public, services
from app.portal.forms import PublishForm, SettingsForm
from app.security import allow_framing
from app.units.forms import unit_choices
from app.web import ConfirmPage, confirm_then

bp = Blueprint("portal", __name__)
admin = Blueprint("portal_admin", __name__)

#: Seconds browsers and shared caches may keep a public page (a withdrawal reaches them within this).
PAGE_MAX_AGE = 60
#: Share images are immutable: their URL carries the version of what they show.
IMAGE_MAX_AGE = 365 * 86400


# --- helpers ------------------------------------------------------------------------------------------------------


def absolute(endpoint: str, **values) -> str:
    """Return the public address of a page, built on BASE_URL (never on the Host header)."""
    return current_app.config["BASE_URL"] + url_for(endpoint, **values)


def _respond(body: bytes, etag: str, mimetype: str, max_age: int, *, immutable: bool = False) -> Response:
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(body, content_type=mimetype)
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def cached_page(name: str, render, *key, mimetype: str = "text/html; charset=utf-8") -> Response:
    """Serve a public page from the cache of its state, rendering it on a miss."""
    locale = str(get_locale())
    full_key = (name, *key, locale, request.args.get("lang") in ("vi", "en"), public.state(), int(time.time() // 60))
    entry = cache.portal_pages.get(full_key)
    if entry is None:
        text = render()
        body = text.encode() if isinstance(text, str) else text
        entry = (body, hashlib.sha256(body).hexdigest()[:32])
        cache.portal_pages.put(full_key, entry)
    request.environ[fastpath.MARK] = full_key[-2]
    return _respond(entry[0], entry[1], mimetype, PAGE_MAX_AGE)


def one_decimal(value: float | None) -> str:
    """84.45 → "84,5" in Vietnamese ("84.5" in English); a dash without a value."""
    return percent(value, 1)


@bp.app_template_filter("thousands")
def thousands(value) -> str:
    """1204 → "1.204" in Vietnamese ("1,204" in English)."""
    return format_decimal(int(value or 0), format="#,##0")


def plain_words(value: float | None) -> str:
    """Say the index in words a citizen reads at once."""
    if value is None:
        return _("chưa đủ phiếu để tính")
    return _("khoảng %(n)d trên 100 người được hỏi hài lòng", n=int(round(value)))


def share_links(url: str) -> dict:
    """Facebook's sharer, and Zalo's share by link only when the province configured its Official Account id."""
    links = {"facebook": "https://www.facebook.com/sharer/sharer.php?u=" + quote(url, safe="")}
    oa_id = current_app.config.get("PORTAL_ZALO_OA_ID")
    if oa_id:
        links["zalo"] = ("https://button-share.zalo.me/share_external?layout=1&color=blue&customize=false&href="
                         + quote(url, safe="") + "&oaid=" + quote(str(oa_id), safe=""))
    return links


def result_card_url(publication: public.Publication) -> str:
    return absolute("portal.result_card", unit=publication.unit_code, period=publication.period,
                    version=publication.version)


def contest_card_url(entry: public.ContestEntry) -> str:
    return absolute("portal.contest_card", slug=entry.slug, version=entry.version)


@bp.app_template_global("portal_contest_card")
def portal_contest_card(contest) -> str:
    """The share image of a contest (for the contest's own pages' Open Graph tags)."""
    return absolute("portal.contest_card", slug=contest.slug, version=public.contest_version(contest))


def _site() -> public.Site:
    site = public.site()
    if site is None:
        abort(404)
    return site


def _page(template: str, **context) -> str:
    return render_template(template, one_decimal=one_decimal, plain_words=plain_words,
                           feedback=("feedback.send" in current_app.view_functions), **context)


# --- public pages -------------------------------------------------------------------------------------------------


@bp.get("/")
def home():
    """The province's public CCHC page: what a citizen can do, contests, the latest published results and answered
    feedback."""
    def render() -> str:
        site = _site()
        lists = public.contests(utcnow())
        latest = public.publications(limit=6)
        image = (contest_card_url(lists.open[0]) if lists.open else result_card_url(latest[0]) if latest
                 else absolute("portal.site_card", version=_version(site.name)))
        url = absolute("portal.home")
        return _page("portal/home.html", site=site, contests=lists, latest=latest, canonical=url, og_image=image,
                     share=share_links(url), answered=public.answered_feedback(3))
    return cached_page("home", render)


@bp.get("/thi")
def contests():
    """Public contests: open, upcoming, and finished with their published results."""
    def render() -> str:
        site = _site()
        lists = public.contests(utcnow())
        image = (contest_card_url(lists.open[0]) if lists.open
                 else absolute("portal.site_card", version=_version(site.name)))
        url = absolute("portal.contests")
        return _page("portal/contests.html", site=site, contests=lists, canonical=url, og_image=image,
                     share=share_links(url))
    return cached_page("contests", render)


@bp.get("/ket-qua")
def results():
    """Every published result, newest period first."""
    def render() -> str:
        site = _site()
        items = public.publications()
        image = result_card_url(items[0]) if items else absolute("portal.site_card", version=_version(site.name))
        url = absolute("portal.results")
        return _page("portal/results.html", site=site, publications=items, canonical=url, og_image=image,
                     share=share_links(url))
    return cached_page("results", render)


@bp.get("/ket-qua/<unit>")
def unit_results(unit: str):
    """A unit's published periods (the thanks page after a survey links here), or why there is none yet."""
    def render() -> str:
        site = _site()
        name, items = public.unit_publications(unit)
        url = absolute("portal.unit_results", unit=unit)
        image = result_card_url(items[0]) if items else absolute("portal.site_card", version=_version(site.name))
        return _page("portal/unit_results.html", site=site, unit_name=name, unit_code=unit, publications=items,
                     canonical=url, og_image=image, share=share_links(url))
    return cached_page("unit_results", render, unit)


@bp.get("/ket-qua/<unit>/<period>")
def result(unit: str, period: str):
    """One published result: the frozen figures, in words, with intervals, levels, elements and child units."""
    def render() -> str:
        site = _site()
        item = public.publication(unit, period)
        previous = public.previous_publication(item)
        url = absolute("portal.result", unit=unit, period=period)
        return _page("portal/result.html", site=site, pub=item, previous=previous, canonical=url,
                     og_image=result_card_url(item), share=share_links(url), local_time=local_time)
    return cached_page("result", render, unit, period)


@bp.get("/nhung/ket-qua/<unit>")
def embed(unit: str):
    """A small card of the unit's latest published result, for the province's own portal to frame."""
    def render() -> str:
        site = _site()
        item = public.latest_publication(unit)
        return _page("portal/embed.html", site=site, pub=item,
                     target=absolute("portal.result", unit=item.unit_code, period=item.period))
    response = cached_page("embed", render, unit)
    return allow_framing(response, current_app.config.get("PORTAL_EMBED_ORIGINS") or ())


@bp.get("/robots.txt")
def robots():
    def render() -> str:
        base = current_app.config["BASE_URL"]
        # The citizen's pages (/s/, /d/, /q/) stay crawlable: their addresses are printed on posters anyway, and
        # blocking them would make every search engine (and Lighthouse) call them uncrawlable.
        return ("User-agent: *\nDisallow: /quan-tri/\nDisallow: /api/\nDisallow: /nhung/\n"
                f"Sitemap: {base}/sitemap.xml\n")
    return cached_page("robots", render, mimetype="text/plain; charset=utf-8")


@bp.get("/sitemap.xml")
def sitemap():
    """The public pages: home, contests, results, every public publication and every public contest."""
    def render() -> str:
        pages = [(absolute("portal.home"), None), (absolute("portal.contests"), None),
                 (absolute("portal.results"), None)]
        for item in public.publications():
            pages.append((absolute("portal.result", unit=item.unit_code, period=item.period),
                          item.published_at.date().isoformat()))
        lists = public.contests(utcnow())
        if "contests.home" in current_app.view_functions:
            for entry in (*lists.open, *lists.upcoming, *lists.finished):
                pages.append((absolute("contests.home", slug=entry.slug), None))
        return render_template("portal/sitemap.xml", pages=pages)
    return cached_page("sitemap", render, mimetype="application/xml; charset=utf-8")


# --- share images -------------------------------------------------------------------------------------------------


def _version(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:6], 16)


def _image(key: tuple, draw) -> Response:
    body = cache.portal_cards.get(key)
    if body is None:
        body = draw()
        cache.portal_cards.put(key, body)
    request.environ[fastpath.MARK] = public.state()
    return _respond(body, hashlib.sha256(body).hexdigest()[:32], "image/png", IMAGE_MAX_AGE, immutable=True)


@bp.get("/anh/trang/<int:version>.png")
def site_card(version: int):
    """The portal's own share image (pages without a contest or result of their own)."""
    locale = str(get_locale())

    def draw() -> bytes:
        site = _site()
        if version != _version(site.name):
            abort(404)
        return cards.contest_card(site.name, _("Cổng thông tin cải cách hành chính"), site.name,
                                  [_("Đánh giá sự hài lòng · Cuộc thi tìm hiểu CCHC · Kết quả công khai")],
                                  _("Tham gia ngay"))
    return _image(("site", version, locale), draw)


@bp.get("/anh/thi/<slug>/<int:version>.png")
def contest_card(slug: str, version: int):
    """A contest's share image; an older version's address leads to the current one."""
    locale = str(get_locale())
    body = cache.portal_cards.get(("contest", slug, version, locale))
    if body is not None:
        return _image(("contest", slug, version, locale), lambda: body)
    entry = public.public_contest(slug, utcnow())
    if entry.version != version:
        return redirect(url_for(".contest_card", slug=slug, version=entry.version), 302)
    site = _site()
    if entry.status in public.FINISHED:
        kicker, call = _("Cuộc thi đã có kết quả"), _("Xem kết quả")
    else:
        kicker, call = _("Cuộc thi trực tuyến"), _("Tham gia ngay")
    lines = []
    if entry.starts and entry.ends:
        lines.append(_("Từ %(start)s đến %(end)s", start=local_time(entry.starts, "dd/MM/yyyy"),
                       end=local_time(entry.ends, "dd/MM/yyyy")))
    lines.append(entry.unit_name)
    return _image(("contest", slug, version, locale),
                  lambda: cards.contest_card(site.name, kicker, entry.title, lines, call))


@bp.get("/anh/ket-qua/<unit>/<period>/<int:version>.png")
def result_card(unit: str, period: str, version: int):
    """A published result's share image; a withdrawn one is gone (404), an older version leads to the current."""
    locale = str(get_locale())
    key = ("result", unit, period, version, locale, public.state())
    body = cache.portal_cards.get(key)
    if body is not None:
        return _image(key, lambda: body)
    item = public.publication(unit, period)
    if item.version != version:
        return redirect(url_for(".result_card", unit=unit, period=period, version=item.version), 302)
    site = _site()
    value = item.overall.get("value")
    details = [_("%(n)s phiếu khảo sát", n=thousands(item.responses)),
               _("Khoảng tin cậy 95 %%: %(low)s–%(high)s", low=one_decimal(item.overall.get("ci_low")),
                 high=one_decimal(item.overall.get("ci_high"))),
        _("Số liệu đến %(date)s", date=local_time(item.data_at, "dd/MM/yyyy"))]
    return _image(key, lambda: cards.result_card(
        site.name, item.unit_name, _("Chỉ số hài lòng · %(period)s", period=period_in_words(item.period)), one_decimal(value),
        plain_words(value), details))


# --- the organiser's page -----------------------------------------------------------------------------------------


@admin.route("/", methods=["GET", "POST"])
@organiser_required
def index():
    """Publications of the organiser's subtree, the publish form, and (for the root unit) the home page's texts."""
    organiser = current_organiser()
    form = PublishForm(request.args if request.method == "GET" else None, meta={"csrf": False})
    form.unit.choices = unit_choices(organiser)
    settings = services.get_settings(organiser.unit)
    settings_form = None
    if organiser.unit.parent_id is None and organiser.role != "viewer":
        settings_form = SettingsForm(obj=settings) if request.method == "GET" else SettingsForm()
        if request.method == "POST":
            if settings_form.validate_on_submit():
                try:
                    services.save_settings(organiser, organiser.unit, settings_form.intro.data or "",
                                           settings_form.hotline.data or "", now=utcnow())
                except AppError as error:
                    return _admin_page(form, settings_form, error)
                flash(_("Đã lưu lời giới thiệu và đường dây nóng của trang công khai."), "info")
                return redirect(url_for(".index"), 303)
            return _admin_page(form, settings_form, None, status=400)
    elif request.method == "POST":
        abort(403)
    return _admin_page(form, settings_form, None)


def _admin_page(form, settings_form, error, status: int | None = None):
    organiser = current_organiser()
    body = render_template("portal/admin.html", form=form, settings_form=settings_form,
                           error=error.message if error else None,
                           rows=services.publications(organiser.unit), can_publish=organiser.role != "viewer",
                           one_decimal=one_decimal, nav="portal_admin.index")
    return body, status or (error.status if error else 200)


def _target():
    organiser = current_organiser()
    try:
        unit_id = int(request.args.get("unit", ""))
    except ValueError:
        raise NotFoundError(_("Không tìm thấy đơn vị này trong phạm vi quản lý của bạn.")) from None
    period = (request.args.get("period") or "").strip()
    if not period:
        raise AppError(_("Vui lòng nhập kỳ, ví dụ 2026, 2026-Q3, 2026-H1 hoặc 2026-07."))
    return organiser, get_visible_unit(organiser, unit_id), period


@admin.route("/cong-bo", methods=["GET", "POST"])
@organiser_required("organiser")
def publish():
    """Ask, then freeze and publish a unit's results for a period."""
    organiser, unit, period = _target()
    back = url_for(".index")

    def page() -> ConfirmPage:
        seen = services.preview(unit, period, now=utcnow())
        details = (_("Số phiếu: %(n)d", n=seen.responses),
                   _("Chỉ số hài lòng chung: %(value)s", value=one_decimal(seen.overall)))
        if seen.republish:
            return ConfirmPage(_("Công bố lại kết quả %(period)s của %(unit)s", period=period_in_words(seen.period),
                                 unit=seen.unit_name),
                               _("Kết quả đang công bố sẽ được thay bằng số liệu tại thời điểm này; ảnh chia sẻ "
                                 "sẽ có địa chỉ mới."), _("Công bố lại"), back, danger=False, details=details)
        return ConfirmPage(_("Công bố kết quả %(period)s của %(unit)s", period=period_in_words(seen.period), unit=seen.unit_name),
                           _("Số liệu tại thời điểm này sẽ được công khai trên trang kết quả, kể cả xếp hạng các "
                             "đơn vị trực thuộc có đủ phiếu. Phiếu gửi sau không làm thay đổi kết quả đã công bố."),
                           _("Công bố"), back, danger=False, details=details)

    return confirm_then(page, lambda: services.publish(organiser, unit, period, now=utcnow()),
                        done=lambda row: _("Đã công bố kết quả %(period)s của %(unit)s.", period=period_in_words(row.period),
                                           unit=unit.name),
                        back=back, refusals=AppError)


@admin.route("/rut", methods=["GET", "POST"])
@organiser_required("organiser")
def withdraw():
    """Ask, then take a publication off the public pages."""
    organiser, unit, period = _target()
    back = url_for(".index")

    def page() -> ConfirmPage:
        return ConfirmPage(_("Rút kết quả %(period)s của %(unit)s", period=period_in_words(period), unit=unit.name),
                           _("Trang kết quả, ảnh chia sẻ và thẻ nhúng của kỳ này sẽ không còn truy cập được."),
                           _("Rút kết quả"), back)

    return confirm_then(page, lambda: services.withdraw(organiser, unit, period, now=utcnow()),
                        done=lambda row: _("Đã rút kết quả %(period)s của %(unit)s.", period=period_in_words(row.period),
                                           unit=unit.name),
                        back=back, refusals=AppError)
