"""Tests of the instrument loader: the shipped instruments, every validation rule, checksums and round trips."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from app.surveys.instruments import Instrument, instrument_from_definition, load_instrument, parse_instrument
from app.validation import Problem
from app.validation import Rejected as InstrumentError

ROOT = Path(__file__).resolve().parents[2]
SURVEYS = ROOT / "surveys"
DATA = ROOT / "tests" / "data" / "instruments"

SIPAS_ELEMENTS = ["TC", "TTHC", "CC", "KQ", "PAKN"]
SIPAS_CRITERIA = [
    "TC1", "TC2", "TC3", "TC4",
    "TTHC1", "TTHC2", "TTHC3", "TTHC4", "TTHC5",
    "CC1", "CC2", "CC3", "CC4", "CC5", "CC6",
    "KQ1", "KQ2", "KQ3",
    "PAKN1", "PAKN2", "PAKN3", "PAKN4",
]
SIPAS_ITEMS = SIPAS_CRITERIA + ["HL_CHUNG", "MONG_DOI", "GIOI_TINH", "DO_TUOI", "HOC_VAN", "NGHE_NGHIEP", "Y_KIEN"]
DOSSIER_ITEMS = ["DANH_GIA", "LY_DO", "Y_KIEN"]


def read_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def mini() -> dict:
    """Return the small valid instrument of tests/data as plain data, ready to be broken."""
    return read_yaml(DATA / "mini-v1.yaml")


def dossier() -> dict:
    return read_yaml(SURVEYS / "dossier-rating-v1.yaml")


def problems_of(data: object) -> list[Problem]:
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, "mini.yaml")
    return caught.value.problems


def looks_vietnamese(message: str) -> bool:
    """Tell whether a message has Vietnamese letters (every message has at least one diacritic)."""
    return any(character.isalpha() and ord(character) > 127 for character in message)


def scale_item(code: str) -> dict:
    return {"code": code, "type": "scale", "scale": "sat5", "text": {"vi": f"Tiêu chí {code}", "en": code}}


# --- the shipped instruments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(SURVEYS.glob("*.yaml")), ids=lambda path: path.name)
def test_every_instrument_file_in_surveys_loads_and_is_named_after_its_code_and_version(path: Path) -> None:
    instrument = load_instrument(path)
    assert path.name == f"{instrument.code}-v{instrument.version}.yaml"


def test_the_surveys_folder_holds_the_shipped_instruments() -> None:
    assert sorted(path.name for path in SURVEYS.glob("*.yaml")) == [
        "dossier-rating-v1.yaml", "sipas-counter-v1.yaml", "sipas-counter-v2.yaml", "sipas-quick-v1.yaml"]


def test_version_2_of_the_counter_survey_asks_what_version_1_asked_in_the_same_order() -> None:
    first, second = (load_instrument(SURVEYS / f"sipas-counter-v{n}.yaml") for n in (1, 2))
    assert [(item.code, item.type, item.text, item.choices, item.required) for item in first.items] == \
        [(item.code, item.type, item.text, item.choices, item.required) for item in second.items]
    assert "một phút" not in second.intro["vi"] and "minute" not in second.intro["en"]


def test_the_quick_instrument_has_one_criterion_per_sipas_element_then_overall_and_a_comment() -> None:
    full, quick = (load_instrument(SURVEYS / name) for name in ("sipas-counter-v2.yaml", "sipas-quick-v1.yaml"))
    assert [section.code for section in quick.elements] == [section.code for section in full.elements]
    assert [len(section.items) for section in quick.elements] == [1] * 5
    assert [(item.code, item.required) for item in quick.items[5:]] == [("HL_CHUNG", True), ("Y_KIEN", False)]
    assert quick.item("PHAN_ANH").required is False  # like the feedback element of the full survey
    assert quick.aggregation == full.aggregation


def test_the_example_in_the_readme_is_a_valid_instrument() -> None:
    readme = (SURVEYS / "README.md").read_text(encoding="utf-8")
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    instrument = parse_instrument(yaml.safe_load(example), "README.md")
    assert [item.code for item in instrument.items] == ["CC1", "HL_CHUNG", "LY_DO"]
    assert instrument.element_columns == ((0,),)


def test_sipas_counter_has_five_elements_and_twenty_two_criteria() -> None:
    instrument = load_instrument(SURVEYS / "sipas-counter-v1.yaml")
    assert (instrument.code, instrument.version, instrument.kind) == ("sipas-counter", 1, "sipas")
    assert [section.code for section in instrument.elements] == SIPAS_ELEMENTS
    assert [item.code for item in instrument.criteria] == SIPAS_CRITERIA
    assert [item.code for item in instrument.items] == SIPAS_ITEMS
    assert [item.code for item in instrument.scale_items] == SIPAS_CRITERIA + ["HL_CHUNG"]


def test_sipas_counter_element_columns_index_the_criteria_within_the_scale_items() -> None:
    instrument = load_instrument(SURVEYS / "sipas-counter-v1.yaml")
    assert instrument.element_columns == (
        (0, 1, 2, 3),
        (4, 5, 6, 7, 8),
        (9, 10, 11, 12, 13, 14),
        (15, 16, 17),
        (18, 19, 20, 21),
    )


def test_sipas_counter_uses_the_five_point_satisfaction_scale_everywhere() -> None:
    instrument = load_instrument(SURVEYS / "sipas-counter-v1.yaml")
    expected = [
        (1, "Rất không hài lòng", "Very dissatisfied"),
        (2, "Không hài lòng", "Dissatisfied"),
        (3, "Bình thường", "Neutral"),
        (4, "Hài lòng", "Satisfied"),
        (5, "Rất hài lòng", "Very satisfied"),
    ]
    for item in instrument.scale_items:
        assert [(c.value, c.label["vi"], c.label["en"]) for c in item.choices] == expected


def test_sipas_counter_requires_every_criterion_except_feedback_handling() -> None:
    instrument = load_instrument(SURVEYS / "sipas-counter-v1.yaml")
    required = {item.code for item in instrument.items if item.required}
    assert required == set(SIPAS_CRITERIA[:18]) | {"HL_CHUNG"}
    for code in ("PAKN1", "PAKN2", "PAKN3", "PAKN4"):
        assert "bỏ qua" in instrument.item(code).help["vi"]


def test_sipas_counter_optional_parts_have_the_asked_shapes() -> None:
    instrument = load_instrument(SURVEYS / "sipas-counter-v1.yaml")
    expectations = instrument.item("MONG_DOI")
    assert (expectations.type, expectations.max_choices, len(expectations.choices)) == ("multi", 3, 7)
    assert expectations.text["vi"] == "Ông/Bà mong muốn cơ quan ưu tiên cải thiện điều gì?"
    assert [c.label["vi"] for c in instrument.item("GIOI_TINH").choices] == ["Nam", "Nữ"]
    assert len(instrument.item("DO_TUOI").choices) == 5
    comment = instrument.item("Y_KIEN")
    assert (comment.type, comment.max_length, comment.required) == ("text", 1000, False)
    kinds = [section.kind for section in instrument.sections]
    assert kinds == ["element"] * 5 + ["overall", "expectations", "demographics", "comment"]
    assert instrument.aggregation.satisfied == frozenset({4, 5})
    assert (instrument.aggregation.overall_rule, instrument.aggregation.unit_rule) == ("mean_of_elements", "pooled")
    assert instrument.aggregation.min_n == 10


def test_dossier_rating_has_one_three_level_rating_and_a_reason_required_when_dissatisfied() -> None:
    instrument = load_instrument(SURVEYS / "dossier-rating-v1.yaml")
    assert (instrument.code, instrument.version, instrument.kind) == ("dossier-rating", 1, "dossier")
    assert [item.code for item in instrument.items] == DOSSIER_ITEMS
    rating = instrument.item("DANH_GIA")
    assert [(c.value, c.label["vi"]) for c in rating.choices] == [
        (3, "Rất hài lòng"), (2, "Hài lòng"), (1, "Không hài lòng"),
    ]
    assert rating.required
    reason = instrument.item("LY_DO")
    assert (reason.type, reason.max_length, reason.required) == ("text", 500, False)
    assert reason.required_if == ("DANH_GIA", (1,))
    assert instrument.scale_items == (rating,)
    assert instrument.elements == () and instrument.criteria == () and instrument.element_columns == ()
    assert instrument.aggregation.satisfied == frozenset({2, 3})


# --- normalisation, checksum and round trips -----------------------------------------------------------------------


def test_defaults_are_filled_in() -> None:
    instrument = parse_instrument(mini())
    assert instrument.item("A2").required is False
    assert instrument.item("B_NOTE").max_length == 1000
    assert instrument.item("A1").help is None and instrument.item("A1").required_if is None
    assert instrument.item("A1").max_choices is None and instrument.item("A1").max_length is None
    assert instrument.item("AGE").max_choices is None
    aggregation = instrument.aggregation
    assert (aggregation.element_rule, aggregation.overall_rule, aggregation.unit_rule, aggregation.min_n) == (
        "mean", "mean_of_elements", "pooled", 10
    )


def test_multi_item_without_max_choices_allows_every_option() -> None:
    data = mini()
    del data["sections"][3]["items"][0]["max_choices"]
    assert parse_instrument(data).item("PRIORITY").max_choices == 3


def test_text_is_normalised_to_nfc_and_trimmed() -> None:
    data = mini()
    data["title"]["vi"] = "  Phie\u0302\u0301u thu\u031b\u0309\n"  # "Phiếu thử" typed with combining marks
    assert parse_instrument(data).title["vi"] == "Phi\u1ebfu th\u1eed"


def test_option_values_may_start_at_zero() -> None:
    data = mini()
    data["sections"][4]["items"][0]["options"][0]["value"] = 0
    assert [c.value for c in parse_instrument(data).item("AGE").choices] == [0, 2]


def test_required_if_may_point_to_an_earlier_choice_item() -> None:
    data = mini()
    data["sections"][5]["items"][0]["required_if"] = ["AGE", [2, 1, 2]]
    assert parse_instrument(data).item("REASON").required_if == ("AGE", (1, 2))


def test_checksum_is_stable_across_a_reformatted_copy() -> None:
    original = load_instrument(DATA / "mini-v1.yaml")
    reformatted = load_instrument(DATA / "mini-v1-reformatted.yaml")
    assert reformatted.checksum == original.checksum
    assert reformatted == original


def test_checksum_of_a_shipped_instrument_survives_a_yaml_round_trip(tmp_path: Path) -> None:
    source = SURVEYS / "sipas-counter-v1.yaml"
    copy_path = tmp_path / "sipas-counter-v1.yaml"
    dumped = yaml.safe_dump(read_yaml(source), allow_unicode=True, default_flow_style=True, sort_keys=True, width=50)
    copy_path.write_text(dumped, encoding="utf-8")
    assert dumped != source.read_text(encoding="utf-8")
    assert load_instrument(copy_path).checksum == load_instrument(source).checksum


def test_checksum_changes_when_a_text_changes() -> None:
    data = mini()
    before = parse_instrument(data).checksum
    data["sections"][0]["items"][0]["text"]["vi"] = "Tiêu chí A1."
    assert parse_instrument(data).checksum != before


def test_checksum_changes_when_a_required_flag_changes() -> None:
    data = mini()
    before = parse_instrument(data).checksum
    data["sections"][0]["items"][1]["required"] = True
    assert parse_instrument(data).checksum != before


def test_checksum_is_the_sha256_of_the_canonical_json_definition() -> None:
    instrument = load_instrument(SURVEYS / "sipas-counter-v1.yaml")
    canonical = json.dumps(instrument.definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert instrument.checksum == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert len(instrument.checksum) == 64


def _reverse_keys(value: object) -> object:
    if isinstance(value, dict):
        return {key: _reverse_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(entry) for entry in value]
    return value


@pytest.mark.parametrize("name", ["sipas-counter-v1.yaml", "dossier-rating-v1.yaml"])
def test_instrument_from_definition_round_trips(name: str) -> None:
    instrument = load_instrument(SURVEYS / name)
    stored = _reverse_keys(json.loads(json.dumps(instrument.definition)))  # as a JSON column may hand it back
    rebuilt = instrument_from_definition(stored)
    assert rebuilt == instrument
    assert rebuilt.checksum == instrument.checksum
    assert rebuilt.element_columns == instrument.element_columns
    assert parse_instrument(instrument.definition) == instrument  # the canonical form is itself valid input


def test_instrument_from_definition_keeps_no_reference_to_the_given_dict() -> None:
    definition = copy.deepcopy(load_instrument(SURVEYS / "dossier-rating-v1.yaml").definition)
    rebuilt = instrument_from_definition(definition)
    definition["sections"][0]["items"][0]["text"]["vi"] = "đã sửa"
    assert rebuilt.item("DANH_GIA").text["vi"] == "Ông/Bà hài lòng thế nào với việc giải quyết hồ sơ?"


def test_instrument_is_frozen_hashable_and_looks_items_up_by_code() -> None:
    instrument = parse_instrument(mini())
    with pytest.raises(dataclasses.FrozenInstanceError):
        instrument.version = 2  # type: ignore[misc]
    assert hash(instrument) == hash(parse_instrument(mini()))
    assert instrument.item("OVERALL").code == "OVERALL"
    with pytest.raises(KeyError):
        instrument.item("NOPE")
    assert instrument.element_columns == ((0, 1), (2,))
    assert isinstance(instrument, Instrument)


# --- every loader problem ------------------------------------------------------------------------------------------

CASES: list = []


def case(path: str, fragment: str, base: Callable[[], dict] = mini) -> Callable:
    """Register a mutation of a valid instrument that must produce a problem at path whose message has fragment."""

    def register(mutate: Callable[[dict], None]) -> Callable[[dict], None]:
        CASES.append(pytest.param(base, mutate, path, fragment, id=mutate.__name__))
        return mutate

    return register


@case("title", "thiếu khoá bắt buộc “title”")
def top_level_key_missing(d: dict) -> None:
    del d["title"]


@case("titel", "khoá “titel” không được hỗ trợ")
def unknown_top_level_key(d: dict) -> None:
    d["titel"] = {"vi": "x", "en": "x"}


@case("code", "mã “Mini Form” không hợp lệ")
def instrument_code_with_spaces(d: dict) -> None:
    d["code"] = "Mini Form"


@case("version", "số phiên bản phải từ 1 đến 9999, nhận được 0")
def version_zero(d: dict) -> None:
    d["version"] = 0


@case("version", "phải là một số nguyên, không phải “1”")
def version_as_text(d: dict) -> None:
    d["version"] = "1"


@case("kind", "loại phiếu “poll” không hợp lệ")
def unknown_instrument_kind(d: dict) -> None:
    d["kind"] = "poll"


@case("title.en", "thiếu nội dung tiếng Anh (“en”)")
def english_title_missing(d: dict) -> None:
    del d["title"]["en"]


@case("sections[0].items[1].text.vi", "thiếu nội dung tiếng Việt (“vi”)")
def vietnamese_item_text_missing(d: dict) -> None:
    del d["sections"][0]["items"][1]["text"]["vi"]


@case("scales.sat5[2].label.en", "thiếu nội dung tiếng Anh")
def english_scale_label_missing(d: dict) -> None:
    del d["scales"]["sat5"][2]["label"]["en"]


@case("title.Vietnamese", "mã ngôn ngữ “Vietnamese” không hợp lệ")
def language_name_instead_of_code(d: dict) -> None:
    d["title"]["Vietnamese"] = "Phiếu"


@case("intro.vi", "không được để trống")
def blank_text(d: dict) -> None:
    d["intro"]["vi"] = "   "


@case("title.vi", "phải là một chuỗi văn bản, không phải số 5")
def text_that_is_a_number(d: dict) -> None:
    d["title"]["vi"] = 5


@case("title.vi", "chứa ký tự không hợp lệ U+D800")
def lone_surrogate_in_text(d: dict) -> None:
    d["title"]["vi"] = "Phi\ud800u"


@case("sections[0].title.en", "chứa ký tự không hợp lệ U+0007")
def control_character_in_text(d: dict) -> None:
    d["sections"][0]["title"]["en"] = "Element\x07A"


@case("sections[0].items[1].scale", "thang đo “satisfaction_6” không được khai báo trong scales")
def unknown_scale(d: dict) -> None:
    d["sections"][0]["items"][1]["scale"] = "satisfaction_6"


@case("scales.extra", "thang đo “extra” được khai báo nhưng không câu hỏi nào dùng")
def unused_scale(d: dict) -> None:
    d["scales"]["extra"] = copy.deepcopy(d["scales"]["sat5"])


@case("scales.Sat5", "tên thang đo")
def scale_name_with_capitals(d: dict) -> None:
    d["scales"]["Sat5"] = d["scales"].pop("sat5")


@case("sections[1].items[0].code", "mã câu hỏi “A1” bị trùng (đã dùng ở sections[0].items[0])")
def duplicate_item_code(d: dict) -> None:
    d["sections"][1]["items"][0]["code"] = "A1"


@case("sections[1].code", "mã phần “A” bị trùng (đã dùng ở sections[0])")
def duplicate_section_code(d: dict) -> None:
    d["sections"][1]["code"] = "A"


@case("sections[0].items[0].code", "mã “a1” không hợp lệ")
def lower_case_item_code(d: dict) -> None:
    d["sections"][0]["items"][0]["code"] = "a1"


@case("scales.sat5[4].value", "giá trị 4 bị trùng (đã dùng ở scales.sat5[3])")
def duplicate_scale_value(d: dict) -> None:
    d["scales"]["sat5"][4]["value"] = 4


@case("sections[3].items[0].options[2].value", "giá trị 1 bị trùng")
def duplicate_option_value(d: dict) -> None:
    d["sections"][3]["items"][0]["options"][2]["value"] = 1


@case("scales.sat5[0].value", "giá trị của thang đo phải từ 1 đến 255, nhận được 0 (0 dành cho câu bỏ trống)")
def scale_value_zero(d: dict) -> None:
    d["scales"]["sat5"][0]["value"] = 0


@case("scales.sat5[4].value", "phải từ 1 đến 255, nhận được 256")
def scale_value_above_255(d: dict) -> None:
    d["scales"]["sat5"][4]["value"] = 256


@case("sections[4].items[0].options[1].value", "giá trị của lựa chọn phải từ 0 đến 255, nhận được 256")
def option_value_above_255(d: dict) -> None:
    d["sections"][4]["items"][0]["options"][1]["value"] = 256


@case("sections[4].items[0].options[0].value", "phải từ 0 đến 255, nhận được -1")
def negative_option_value(d: dict) -> None:
    d["sections"][4]["items"][0]["options"][0]["value"] = -1


@case("sections[4].items[0].options[0].value", "phải là một số nguyên, không phải giá trị đúng/sai")
def boolean_option_value(d: dict) -> None:
    d["sections"][4]["items"][0]["options"][0]["value"] = True


@case("sections[4].items[0].options", "cần ít nhất 2 lựa chọn, hiện có 1")
def choice_with_one_option(d: dict) -> None:
    del d["sections"][4]["items"][0]["options"][1]


@case("sections[4].items[0].options", "thiếu khoá bắt buộc “options”")
def choice_without_options(d: dict) -> None:
    del d["sections"][4]["items"][0]["options"]


@case("sections[4].items", "phần này chưa có câu hỏi nào")
def empty_section(d: dict) -> None:
    d["sections"][4]["items"] = []


@case("sections", "phải là một danh sách phần không rỗng")
def no_sections(d: dict) -> None:
    d["sections"] = []


@case("sections[4]", "phải là một bảng khoá–giá trị, không phải “ABOUT”")
def section_that_is_a_string(d: dict) -> None:
    d["sections"][4] = "ABOUT"


@case("sections[2].kind", "loại phần “summary” không hợp lệ")
def unknown_section_kind(d: dict) -> None:
    d["sections"][2]["kind"] = "summary"


@case("sections[1].items[1].type", "loại câu hỏi “slider” không hợp lệ")
def unknown_item_type(d: dict) -> None:
    d["sections"][1]["items"][1]["type"] = "slider"


@case("sections[0].items[0].max_length", "khoá “max_length” chỉ dùng cho câu hỏi loại text")
def text_key_on_a_scale_item(d: dict) -> None:
    d["sections"][0]["items"][0]["max_length"] = 10


@case("sections[0].items[0].colour", "khoá “colour” không được hỗ trợ")
def unknown_item_key(d: dict) -> None:
    d["sections"][0]["items"][0]["colour"] = "red"


@case("sections[0].items[1].required", "phải là true hoặc false")
def required_as_text(d: dict) -> None:
    d["sections"][0]["items"][1]["required"] = "có"


@case("sections[5].items[0].required_if", "câu hỏi “MISSING” không tồn tại")
def required_if_unknown_item(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = ["MISSING", [1]]


@case("sections[1].items[1].required_if", "câu hỏi “OVERALL” phải đứng trước câu hỏi này")
def required_if_later_item(d: dict) -> None:
    d["sections"][1]["items"][1]["required_if"] = ["OVERALL", [1]]


@case("sections[5].items[0].required_if", "câu hỏi “REASON” phải đứng trước câu hỏi này")
def required_if_itself(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = ["REASON", [1]]


@case("sections[5].items[0].required_if", "giá trị 9 không có trong các lựa chọn của “OVERALL”")
def required_if_value_not_on_the_scale(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = ["OVERALL", [2, 9]]


@case("sections[5].items[0].required_if", "giá trị 3 không có trong các lựa chọn của “AGE”")
def required_if_value_not_among_the_options(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = ["AGE", [3]]


@case("sections[5].items[0].required_if", "chỉ có thể phụ thuộc vào câu hỏi loại scale hoặc choice")
def required_if_text_item(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = ["B_NOTE", [1]]


@case("sections[5].items[0].required_if", "chỉ có thể phụ thuộc vào câu hỏi loại scale hoặc choice")
def required_if_multi_item(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = ["PRIORITY", [1]]


@case("sections[5].items[0].required_if", "phải có dạng [MÃ_CÂU_HỎI, [giá trị, …]]")
def required_if_without_values(d: dict) -> None:
    d["sections"][5]["items"][0]["required_if"] = "OVERALL"


@case("sections[5].items[0].required_if", "câu hỏi đã bắt buộc (required: true) thì không dùng required_if")
def required_if_on_a_required_item(d: dict) -> None:
    d["sections"][5]["items"][0]["required"] = True


@case("sections[5].items[0].max_length", "độ dài tối đa phải từ 1 đến 5000, nhận được 0")
def text_max_length_zero(d: dict) -> None:
    d["sections"][5]["items"][0]["max_length"] = 0


@case("sections[5].items[0].max_length", "độ dài tối đa phải từ 1 đến 5000, nhận được 5001")
def text_max_length_too_long(d: dict) -> None:
    d["sections"][5]["items"][0]["max_length"] = 5001


@case("sections[3].items[0].max_choices", "số lựa chọn tối đa phải từ 1 đến 3, nhận được 4")
def multi_max_choices_above_the_options(d: dict) -> None:
    d["sections"][3]["items"][0]["max_choices"] = 4


@case("aggregation.satisfied", "giá trị 6 không có trong thang đo “sat5”")
def satisfied_value_not_on_the_scale(d: dict) -> None:
    d["aggregation"]["satisfied"] = [4, 5, 6]


@case("aggregation.satisfied", "phải là danh sách các giá trị được tính là hài lòng")
def satisfied_not_a_list(d: dict) -> None:
    d["aggregation"]["satisfied"] = 4


@case("aggregation.satisfied", "thiếu khoá bắt buộc “satisfied”")
def satisfied_missing(d: dict) -> None:
    del d["aggregation"]["satisfied"]


@case("aggregation.overall_rule", "quy tắc “median” không hợp lệ (dùng: mean_of_elements, mean_of_criteria, pooled)")
def unknown_overall_rule(d: dict) -> None:
    d["aggregation"]["overall_rule"] = "median"


@case("aggregation.unit_rule", "quy tắc “weighted” không hợp lệ")
def unknown_unit_rule(d: dict) -> None:
    d["aggregation"]["unit_rule"] = "weighted"


@case("aggregation.min_n", "ngưỡng ẩn số liệu phải từ 1 đến 1000000, nhận được 0")
def min_n_zero(d: dict) -> None:
    d["aggregation"]["min_n"] = 0


@case("sections", "có 63 câu hỏi thang đo, tối đa 62")
def more_than_62_scale_items(d: dict) -> None:
    d["sections"][2]["items"] += [scale_item(f"X{number}") for number in range(59)]  # 4 + 59 = 63


@case("sections[1]", "phần loại element (yếu tố) phải có ít nhất một câu hỏi thang đo")
def element_without_scale_items(d: dict) -> None:
    del d["sections"][1]["items"][0]


@case("sections", "phiếu loại sipas cần ít nhất một phần loại element")
def sipas_without_elements(d: dict) -> None:
    d["sections"][0]["kind"] = d["sections"][1]["kind"] = "overall"


@case("sections[2].kind", "phiếu loại sipas không dùng phần loại rating")
def sipas_with_a_rating_section(d: dict) -> None:
    d["sections"][2]["kind"] = "rating"


@case("sections", "phiếu loại dossier cần đúng một phần loại rating, hiện có 0")
def dossier_without_a_rating_section(d: dict) -> None:
    d["kind"] = "dossier"


@case("sections[0].kind", "phiếu loại dossier không dùng phần loại element")
def dossier_with_an_element_section(d: dict) -> None:
    d["kind"] = "dossier"


@case("sections", "phiếu loại dossier cần đúng một phần loại rating, hiện có 2", base=dossier)
def dossier_with_two_rating_sections(d: dict) -> None:
    second = copy.deepcopy(d["sections"][0])
    second["code"] = "LAN_HAI"
    for item in second["items"]:
        item["code"] += "_2"
    second["items"][1]["required_if"] = ["DANH_GIA_2", [1]]
    d["sections"].append(second)


@case("sections[0]", "phần loại rating cần đúng một câu hỏi thang đo, hiện có 2", base=dossier)
def dossier_rating_with_two_scale_items(d: dict) -> None:
    extra = copy.deepcopy(d["sections"][0]["items"][0])
    extra["code"] = "DANH_GIA_THEM"
    d["sections"][0]["items"].append(extra)


@case("sections[0]", "phần loại rating cần đúng một câu hỏi thang đo, hiện có 0", base=dossier)
def dossier_rating_without_a_scale_item(d: dict) -> None:
    rating = d["sections"][0]["items"][0]
    del rating["scale"]
    rating["type"] = "choice"
    rating["options"] = d["scales"].pop("dossier_3")


@pytest.mark.parametrize(("base", "mutate", "path", "fragment"), CASES)
def test_each_problem_is_reported_at_its_path_in_vietnamese(
    base: Callable[[], dict], mutate: Callable[[dict], None], path: str, fragment: str
) -> None:
    data = base()
    parse_instrument(data)  # the base is valid before the mutation
    mutate(data)
    problems = problems_of(data)
    assert any(p.path == path and fragment in p.message for p in problems), "\n".join(map(str, problems))
    assert all(looks_vietnamese(p.message) for p in problems)


def test_data_that_is_not_a_mapping_is_reported() -> None:
    assert problems_of(["code", "mini"]) == [
        Problem("phải là một bảng khoá–giá trị, không phải một danh sách", file="mini.yaml"),
    ]


def test_an_error_lists_one_problem_per_line_as_file_path_message() -> None:
    data = mini()
    del data["title"]
    data["version"] = 0
    with pytest.raises(InstrumentError) as caught:
        parse_instrument(data, "mini.yaml")
    assert str(caught.value) == (
        "mini.yaml: title: thiếu khoá bắt buộc “title”\n"
        "mini.yaml: version: số phiên bản phải từ 1 đến 9999, nhận được 0"
    )
    assert isinstance(caught.value, ValueError)


def test_many_problems_are_reported_at_once() -> None:
    path = DATA / "many-problems.yaml"
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert sorted(p.path for p in caught.value.problems) == sorted([
        "colour",
        "code",
        "version",
        "title.en",
        "scales.sat5[0].value",
        "scales.sat5[2].value",
        "sections[0].items[0].scale",
        "sections[0].items[1].type",
        "sections[0].items[1].code",
        "sections[1].items",
        "sections[1]",
    ])
    assert {p.file for p in caught.value.problems} == {str(path)}
    assert len(str(caught.value).splitlines()) == 11


# --- reading files -------------------------------------------------------------------------------------------------


def test_a_yaml_syntax_error_reports_its_line() -> None:
    with pytest.raises(InstrumentError) as caught:
        load_instrument(DATA / "syntax-error.yaml")
    [problem] = caught.value.problems
    assert problem.message.startswith("dòng 7, cột 6: lỗi cú pháp YAML")


def test_a_duplicated_key_is_reported_with_its_line(tmp_path: Path) -> None:
    text = (DATA / "mini-v1.yaml").read_text(encoding="utf-8")
    path = tmp_path / "mini-v1.yaml"
    path.write_text(text.replace("version: 1\n", "version: 1\nversion: 2\n"), encoding="utf-8")
    line = text.splitlines().index("version: 1") + 2
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert [p.message for p in caught.value.problems] == [f"dòng {line}: khoá “version” bị lặp lại trong cùng một bảng"]


def test_a_file_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "mini-v1.yaml"
    path.write_bytes(b"code: mini\nversion: 1\ntitle: {vi: Phi\xe9u}\n")
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert [p.message for p in caught.value.problems] == ["dòng 3: tệp không phải văn bản UTF-8 hợp lệ (byte 0xE9)"]


def test_a_utf8_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = tmp_path / "mini-v1.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + (DATA / "mini-v1.yaml").read_bytes())
    assert load_instrument(path) == load_instrument(DATA / "mini-v1.yaml")


def test_an_empty_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InstrumentError) as caught:
        load_instrument(path)
    assert [p.message for p in caught.value.problems] == ["phải là một bảng khoá–giá trị, không phải giá trị rỗng"]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError) as caught:
        load_instrument(tmp_path / "none-v1.yaml")
    assert [p.message for p in caught.value.problems] == ["không tìm thấy tệp"]


# --- robustness ----------------------------------------------------------------------------------------------------

_SCALARS = st.none() | st.booleans() | st.integers(-300, 300) | st.text(max_size=8) | st.floats(allow_nan=False)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)


def _paths(value: object, prefix: tuple = ()) -> list[tuple]:
    """Every (key or index) path inside a nested value, to pick a place to break."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, prefix + (index,))
    return found


_MINI_PATHS = _paths(mini())


@settings(max_examples=300, deadline=None)
@given(where=st.sampled_from(_MINI_PATHS), replacement=_VALUES)
def test_any_broken_value_gives_problems_and_never_a_crash(where: tuple, replacement: object) -> None:
    data = mini()
    parent = data
    for step in where[:-1]:
        parent = parent[step]
    parent[where[-1]] = replacement
    try:
        parse_instrument(data)
    except InstrumentError as error:
        assert error.problems
        assert all(looks_vietnamese(p.message) for p in error.problems)


@settings(max_examples=100, deadline=None)
@given(data=_VALUES)
def test_arbitrary_data_gives_problems_and_never_a_crash(data: object) -> None:
    with pytest.raises(InstrumentError):
        parse_instrument(data)
