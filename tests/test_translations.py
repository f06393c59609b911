"""The English catalogue covers every UI string in the code, keeps its placeholders, and is served for ?lang=en."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"

#: printf-style conversions (named or not, and "%%") and str.format fields. The space flag is left out on purpose so
#: that prose such as "95% có" is not taken for a conversion.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0+-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{[^{}]*\}")
HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def forms(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return a message's singular and plural forms as a tuple (a plain string has one form)."""
    return (value,) if isinstance(value, str) else tuple(value)


def placeholders(text: str) -> Counter[str]:
    """Count the placeholders in one message form."""
    return Counter(PLACEHOLDER.findall(text))


class AnyValue(dict):
    """A mapping that has a value (1, fit for %s, %d and %f) for every placeholder name."""

    def __missing__(self, key: str) -> int:
        return 1


def formats(text: str) -> bool:
    """Tell whether `text % mapping` works, as Jinja's newstyle gettext does to every template string."""
    try:
        text % AnyValue()
    except (ValueError, TypeError):
        return False
    return True


def extract_template(target: Path) -> Catalog:
    """Extract the current code's messages exactly as `make extract-messages` does, into `target`."""
    pot = target / "messages.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
                                "-o", str(pot), "--no-location", "--omit-header", str(ROOT)])
    with pot.open("rb") as stream:
        return read_po(stream)


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    with CATALOGUE.open("rb") as stream:
        return read_po(stream, locale="en")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract_template(tmp_path_factory.mktemp("pot"))


def test_the_extraction_finds_the_ui_strings(template: Catalog) -> None:
    msgids = {message.id for message in template if message.id}
    assert "Không tìm thấy trang bạn yêu cầu." in msgids
    assert len(msgids) > 100


def test_every_msgid_in_the_code_has_a_non_fuzzy_english_translation(template: Catalog, catalogue: Catalog) -> None:
    missing, fuzzy, empty = [], [], []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id)
        if translated is None:
            missing.append(message.id)
        elif translated.fuzzy:
            fuzzy.append(message.id)
        elif not all(form.strip() for form in forms(translated.string)):
            empty.append(message.id)
    assert not missing, f"{len(missing)} msgids are not in the catalogue (run make extract-messages): {missing[:20]}"
    assert not fuzzy, f"fuzzy translations: {fuzzy[:20]}"
    assert not empty, f"{len(empty)} msgids have no English translation: {empty[:20]}"


def test_translations_keep_the_placeholders_of_their_msgid(catalogue: Catalog) -> None:
    mismatched = []
    for message in catalogue:
        if not message.id or not message.string:
            continue
        expected = placeholders(forms(message.id)[0])
        for form in forms(message.string):
            if placeholders(form) != expected:
                mismatched.append((forms(message.id)[0], form))
    assert not mismatched, mismatched[:20]


def test_translations_of_format_strings_are_format_strings(catalogue: Catalog) -> None:
    # A template renders `_("…") % variables` even without variables, so "95%" must be "95%%" there.
    broken = [form for message in catalogue if message.id and formats(forms(message.id)[0])
              for form in forms(message.string) if not formats(form)]
    assert not broken, broken[:20]


def test_translations_contain_no_html(catalogue: Catalog) -> None:
    tagged = [form for message in catalogue if message.id for form in forms(message.string) if HTML_TAG.search(form)]
    assert not tagged, tagged[:20]


def test_the_placeholder_check_notices_a_dropped_or_renamed_placeholder() -> None:
    assert placeholders("Đã nhập %(n)d dòng.") == placeholders("%(n)d rows imported.")
    assert placeholders("Đã nhập %(n)d dòng.") != placeholders("Rows imported.")
    assert placeholders("Đã nhập %(n)d dòng.") != placeholders("%(count)d rows imported.")
    assert placeholders("Tỷ lệ (%%)") == Counter({"%%": 1})
    assert placeholders("khoảng tin cậy 95% có ý nghĩa") == Counter()


def test_the_format_check_notices_a_bare_percent_sign() -> None:
    assert formats("KTC 95%%: %(ci)s") and formats("95%% CI: %(ci)s")
    assert not formats("95% CI: %(ci)s")
    assert not formats("Tỷ lệ (%)")


def test_the_compiled_catalogue_translates_a_page_requested_with_lang_en(app, client, english) -> None:
    in_english = client.get("/khong-co-trang-nay?lang=en", headers={"Accept": "text/html"})
    in_vietnamese = client.get("/khong-co-trang-nay?lang=vi", headers={"Accept": "text/html"})

    assert in_english.status_code == in_vietnamese.status_code == 404
    assert "The page you requested could not be found." in in_english.get_data(as_text=True)
    assert "Không tìm thấy trang bạn yêu cầu." not in in_english.get_data(as_text=True)
    assert "Không tìm thấy trang bạn yêu cầu." in in_vietnamese.get_data(as_text=True)
