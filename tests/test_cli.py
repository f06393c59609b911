"""The `flask` command line of issue 2: units, counters, instruments, seed-demo and init-db, as DESIGN.md says."""
from __future__ import annotations

import re

import json
import shutil

import click
import pytest
import sqlalchemy as sa

from tests.factories import ROOT, submit

MINI = ROOT / "tests" / "data" / "instruments" / "mini-v1.yaml"


@pytest.fixture
def tree(make):
    """A province with a department (with a division below it) and a commune; one counter in three of them."""
    make.unit("TINH", "Tỉnh Thử Nghiệm", kind="province")
    make.unit("TINH-SNV", "Sở Nội vụ", kind="department", parent="TINH")
    make.unit("TINH-SNV-P1", "Phòng Cải cách hành chính", kind="division", parent="TINH-SNV")
    make.unit("TINH-XA", "Xã Hoà An", parent="TINH")
    return {
        "TINH-SNV": make.counter(unit="TINH-SNV", code="Q-SNV", name="Bộ phận Một cửa Sở Nội vụ"),
        "TINH-SNV-P1": make.counter(unit="TINH-SNV-P1", code="Q-P1", name="Quầy Phòng CCHC"),
        "TINH-XA": make.counter(unit="TINH-XA", code="Q-XA", name="Quầy xã Hoà An"),
    }


def invoke_json(runner, *args: str):
    result = runner.invoke(args=[*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# --- units and counters --------------------------------------------------------------------------------------------


def test_units_list_json_gives_code_name_and_parent_code_with_null_for_the_root(runner, tree):
    assert invoke_json(runner, "units", "list") == [
        {"code": "TINH", "name": "Tỉnh Thử Nghiệm", "parent": None},
        {"code": "TINH-SNV", "name": "Sở Nội vụ", "parent": "TINH"},
        {"code": "TINH-SNV-P1", "name": "Phòng Cải cách hành chính", "parent": "TINH-SNV"},
        {"code": "TINH-XA", "name": "Xã Hoà An", "parent": "TINH"},
    ]


def test_counters_list_json_gives_code_name_unit_survey_url_and_short_url(runner, tree):
    rows = invoke_json(runner, "counters", "list")
    assert [{key: row[key] for key in ("code", "name", "unit", "url")} for row in rows] == [
        {"code": "Q-P1", "name": "Quầy Phòng CCHC", "unit": "TINH-SNV-P1",
         "url": f"http://hailong.test{tree['TINH-SNV-P1'].path}"},
        {"code": "Q-SNV", "name": "Bộ phận Một cửa Sở Nội vụ", "unit": "TINH-SNV",
         "url": f"http://hailong.test{tree['TINH-SNV'].path}"},
        {"code": "Q-XA", "name": "Quầy xã Hoà An", "unit": "TINH-XA",
         "url": f"http://hailong.test{tree['TINH-XA'].path}"},
    ]
    for row in rows:
        assert re.fullmatch(r"http://hailong\.test/q/[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{7}", row["short_url"])
        assert row["instrument"] == "sipas-counter"


def test_counters_list_for_a_unit_covers_its_whole_subtree(runner, tree):
    assert [c["code"] for c in invoke_json(runner, "counters", "list", "--unit", "TINH-SNV")] == ["Q-P1", "Q-SNV"]
    assert [c["code"] for c in invoke_json(runner, "counters", "list", "--unit", "TINH-XA")] == ["Q-XA"]
    assert [c["code"] for c in invoke_json(runner, "counters", "list", "--unit", "TINH")] == ["Q-P1", "Q-SNV", "Q-XA"]


def test_counters_list_leaves_out_retired_counters_unless_asked(app, client, runner, tree):
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_counter_by_code, get_unit_by_code, set_counter_active

    with app.app_context():
        set_counter_active(get_counter_by_code("Q-P1"), False, utcnow())
        get_unit_by_code("TINH-XA").is_active = False
        db.session.commit()
    assert [c["code"] for c in invoke_json(runner, "counters", "list")] == ["Q-SNV"]
    listed = invoke_json(runner, "counters", "list", "--all")
    assert [(c["code"], c["active"]) for c in listed] == [("Q-P1", False), ("Q-SNV", True), ("Q-XA", False)]
    assert client.get(listed[0]["url"].removeprefix("http://hailong.test")).status_code == 410
    table = runner.invoke(args=["counters", "list", "--all"]).output
    assert "Q-P1" in table and "(ngừng)" in table


def test_listed_urls_open_the_counters_form(client, runner, tree):
    for counter in invoke_json(runner, "counters", "list"):
        assert client.get(counter["url"].removeprefix("http://hailong.test")).status_code == 200


def test_lists_name_an_unknown_unit_and_fail(runner, tree):
    for group in ("units", "counters"):
        result = runner.invoke(args=[group, "list", "--unit", "KHONG-CO", "--format", "json"])
        assert result.exit_code != 0
        assert "Không tìm thấy đơn vị có mã “KHONG-CO”." in result.output


# --- instruments load ------------------------------------------------------------------------------------------------


def _published(app) -> list[tuple]:
    from app.extensions import db
    from app.surveys.models import InstrumentVersion

    with app.app_context():
        return list(db.session.execute(sa.select(InstrumentVersion.code, InstrumentVersion.version,
                                                 InstrumentVersion.checksum, InstrumentVersion.published_at)
                                       .order_by(InstrumentVersion.id)))


def test_loading_a_broken_file_lists_every_problem_with_file_and_path_and_publishes_nothing(app, runner, tmp_path):
    broken = tmp_path / "broken-v1.yaml"
    text = MINI.read_text(encoding="utf-8")
    text = text.replace("version: 1", "version: 0")
    text = text.replace("{code: A2, type: scale,", "{code: A1, type: slider,")
    text = text.replace("title: {vi: Phiếu thử, en: Test form}", "title: {vi: Phiếu thử}")
    broken.write_text(text, encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(MINI), str(broken)])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.startswith(str(broken))]
    paths = {line.removeprefix(f"{broken}: ").split(": ")[0] for line in lines}
    assert {"version", "title.en", "sections[0].items[1].type", "sections[0].items[1].code"} <= paths
    assert f"{len(lines)} lỗi; không phiếu nào được nạp." in result.output
    assert _published(app) == []  # not even the valid file given alongside


def test_loading_a_file_with_invalid_yaml_names_the_file(app, runner, tmp_path):
    broken = tmp_path / "syntax-v1.yaml"
    broken.write_text("code: [unclosed\n", encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(broken)])
    assert result.exit_code != 0 and str(broken) in result.output
    assert _published(app) == []


def test_reloading_an_unchanged_published_version_is_a_no_op(app, runner):
    assert runner.invoke(args=["instruments", "load", str(MINI)]).exit_code == 0
    before = _published(app)
    again = runner.invoke(args=["instruments", "load", str(MINI)])
    assert again.exit_code == 0, again.output
    assert _published(app) == before and len(before) == 1


def test_changing_a_published_version_that_has_responses_is_refused(app, runner, make, tmp_path):
    counter = make.counter()
    submit(app, counter, "answered-before-edit-01")
    before = _published(app)
    edited = tmp_path / "sipas-counter-v2.yaml"
    text = (ROOT / "surveys" / "sipas-counter-v2.yaml").read_text(encoding="utf-8")
    edited.write_text(text.replace("Nơi ngồi chờ có đủ chỗ ngồi", "Nơi ngồi chờ rộng rãi"), encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(edited)])
    assert result.exit_code != 0
    assert "đã có 1 phiếu trả lời nên không thể sửa" in result.output
    assert "Hãy tạo phiên bản mới (sipas-counter-v3.yaml)" in result.output
    assert _published(app) == before


def test_a_changed_version_saved_as_a_new_file_is_published_beside_the_old(app, runner, make, tmp_path):
    make.instruments()
    new = tmp_path / "sipas-counter-v2.yaml"
    text = (ROOT / "surveys" / "sipas-counter-v1.yaml").read_text(encoding="utf-8")
    new.write_text(text.replace("version: 1", "version: 2", 1), encoding="utf-8")
    result = runner.invoke(args=["instruments", "load", str(new)])
    assert result.exit_code == 0, result.output
    assert [(code, version) for code, version, *_ in _published(app) if code == "sipas-counter"] == [
        ("sipas-counter", 1), ("sipas-counter", 2)]


# --- seed-demo and init-db -----------------------------------------------------------------------------------------


def _row_counts(app) -> dict[str, int]:
    from app.extensions import db

    with app.app_context():
        return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


def test_seed_demo_twice_builds_the_demo_once(app, runner):
    first = runner.invoke(args=["seed-demo", "--responses", "40", "--seed", "7"])
    assert first.exit_code == 0, first.output
    counts = _row_counts(app)
    assert counts["units"] >= 5 and counts["counters"] >= 5 and counts["survey_responses"] >= 40
    second = runner.invoke(args=["seed-demo", "--responses", "40", "--seed", "7"])
    assert second.exit_code == 0, second.output
    assert "Dữ liệu mẫu đã có sẵn, không tạo lại." in second.output
    assert _row_counts(app) == counts


def test_seeded_demo_counters_serve_their_forms(app, client, runner):
    assert runner.invoke(args=["seed-demo", "--responses", "0"]).exit_code == 0
    counters = invoke_json(runner, "counters", "list")
    assert counters
    for counter in counters[:3]:
        assert client.get(counter["url"].removeprefix("http://hailong.test")).status_code == 200


def test_init_db_creates_every_table_on_an_empty_database_and_can_run_again(tmp_path):
    from app import create_app
    from app.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}",
                      "SECRET_KEY": "init-db-test"})
    runner = app.test_cli_runner()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        assert "Cơ sở dữ liệu đã ở phiên bản mới nhất." in result.output
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
    from app.database import unmodelled

    # The comment search's FTS5 tables are made by a migration and have no model.
    assert {table.name for table in db.metadata.sorted_tables} | {"alembic_version"} == {
        table for table in tables if not unmodelled(table)}


#: The commands of issue 2 (other features check their own).
ISSUE_2_COMMANDS = ("init-db", "seed-demo", "synth", "create-organiser", "units", "counters", "instruments", "qr",
                    "dossier-link", "export responses")


def test_every_command_and_option_has_help_text(app):
    def walk(command: click.Command, name: str):
        yield name, command
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                yield from walk(sub, f"{name} {sub_name}")

    for name, command in walk(app.cli, "flask"):
        if not name.removeprefix("flask ").startswith(ISSUE_2_COMMANDS):
            continue
        assert (command.help or command.short_help), f"{name} has no help"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"{name} {param.opts[0]} has no help"


def test_the_demo_seed_leaves_shipped_instruments_loadable_again(app, runner, tmp_path):
    assert runner.invoke(args=["seed-demo", "--responses", "5"]).exit_code == 0
    copy = tmp_path / "sipas-counter-v1.yaml"
    shutil.copy(ROOT / "surveys" / "sipas-counter-v1.yaml", copy)
    result = runner.invoke(args=["instruments", "load", str(copy)])
    assert result.exit_code == 0, result.output


def test_an_output_path_that_cannot_be_written_is_a_clear_error(runner, tree, tmp_path):
    missing = tmp_path / "khong-co" / "tep"
    for args in (["export", "responses", "--instrument", "sipas-counter", "--out", f"{missing}.csv"],
                 ["qr", "counter", "Q-XA", "--out", f"{missing}.png"],
                 ["qr", "sheet", "--unit", "TINH", "--out", f"{missing}.pdf"],
                 ["dossier-link", "--counter", "Q-XA", "--dossier", "HS-1", "--qr", f"{missing}.png"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, args
        assert f"Không ghi được tệp {missing}" in result.output
        assert "Traceback" not in result.output
