"""A whole contest through HTTP and the command line: define, open, register, sit, close, publish, rank, certify."""
from __future__ import annotations

import datetime as dt
import html as html_module
import io
import json
import re
import subprocess

import pytest
import yaml

from tests.contests.helpers import Participant, answers_for, local_text, now_utc, option_fields
from tests.e2e.conftest import ARTIFACTS
from tests.factories import csrf_from, decode_qr, job_file, log_in
from tests.organiser.test_walk import rasterise_pdf

PRIZES_YAML = """
audience_groups:
  - {code: cbccvc, name: "Cán bộ, công chức"}
  - {code: nguoi_dan, name: "Người dân"}
prizes:
  round:
    cbccvc:
      - {label: "Giải Nhất", count: 1, amount: 2000000}
      - {label: "Giải Nhì", count: 1, amount: 1000000}
leaderboard:
  visibility: hidden
certificate:
  awarded_to: winners
  title: giay_chung_nhan
  issuer: "Ban Tổ chức Cuộc thi"
  issuer_parent: "UBND tỉnh Thử Nghiệm"
  signer: "KT. TRƯỞNG BAN TỔ CHỨC / PHÓ TRƯỞNG BAN"
  signer_name: "Nguyễn Văn Thành"
  place: "Thử Nghiệm"
"""


@pytest.fixture
def organiser(app, client, make, units):
    account = make.organiser(unit="T")
    assert log_in(client, account.email, account.password).status_code == 303
    return account


def post_form(client, path: str, data: dict):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **data})


def transition(client, slug: str, name: str):
    token = csrf_from(client.get(f"/quan-tri/cuoc-thi/{slug}").get_data(as_text=True))
    return client.post(f"/quan-tri/cuoc-thi/{slug}/trang-thai", data={"csrf_token": token, "transition": name})


def test_a_contest_runs_from_definition_to_published_ranking(app, client, organiser, units, bank, runner, tmp_path):
    from app.contests.certificates import certificate_token

    now = now_utc()
    created = post_form(client, "/quan-tri/cuoc-thi/moi", {
        "slug": "cchc-thu", "title": "Tìm hiểu CCHC thử", "unit": "T", "legal_basis": "Kế hoạch 01/KH-UBND",
        "rules": "Mỗi người thi một lần.", "groups": "Cán bộ, công chức\nNgười dân",
        "bank": bank, "opens_at": local_text(now - dt.timedelta(hours=1)).replace(" ", "T"),
        "closes_at": local_text(now + dt.timedelta(days=2)).replace(" ", "T"), "question_count": "5", "time_limit_minutes": "15",
        "attempts_allowed": "1"})
    assert created.status_code == 303 and created.headers["Location"].endswith("/quan-tri/cuoc-thi/cchc-thu")
    page = client.get("/quan-tri/cuoc-thi/cchc-thu/dinh-nghia").get_data(as_text=True)
    yaml_text = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S).group(1)
    definition = yaml.safe_load(html_module.unescape(yaml_text))
    definition.update(yaml.safe_load(PRIZES_YAML))
    edited = post_form(client, "/quan-tri/cuoc-thi/cchc-thu/dinh-nghia",
                       {"definition": yaml.safe_dump(definition, allow_unicode=True)})
    assert edited.status_code == 303, edited.get_data(as_text=True)
    assert transition(client, "cchc-thu", "open").status_code == 303

    # Three participants: 5/5 predicting 1, 5/5 predicting 4, 3/5 (the actual value will be 2 persons).
    plan = [("0912100001", "Nguyễn Văn An", [True] * 5, "1"), ("0912100002", "=HYPERLINK Lê Bình", [True] * 5, "4"),
            ("0912100003", "Phạm Thị Cúc", [True, True, True, False, False], "2")]
    ids = []
    for phone, name, right, prediction in plan:
        person = Participant(app.test_client(), "cchc-thu")
        assert person.register(phone, units["T-SNV"], name=name).status_code == 303
        attempt_id, html = person.started_attempt()
        assert len(option_fields(html)) == 5
        assert person.post(attempt_id, "nop", answers_for(app, attempt_id, right), prediction).status_code == 303
        ids.append((person, attempt_id))
    hidden = client.get("/thi/cchc-thu/xep-hang").get_data(as_text=True)
    assert "sẽ được công bố" in hidden and "Nguyễn" not in hidden

    assert transition(client, "cchc-thu", "close").status_code == 303
    assert transition(client, "cchc-thu", "publish_results").status_code == 303
    board = client.get("/thi/cchc-thu/xep-hang?vong=1").get_data(as_text=True)
    names = re.findall(r"<td>([^<]+) <span class=\"muted\">\*\*\*\d{4}</span>", board)
    assert names == ["Nguyễn V. A.", "=HYPERLINK L. B.", "Phạm T. C."]
    assert "Giải Nhất" in board and "0912100001" not in board and "Giá trị thực của câu dự đoán" in board

    report = json.loads(runner.invoke(args=["report", "contest", "--contest", "cchc-thu", "--round", "1",
                                            "--format", "json"]).output)
    assert report["prediction_actual"] == 2.0
    assert [row["rank"] for row in report["ranking"]] == [1, 2, 3]
    assert [p["label"] for p in report["prizes"]] == ["Giải Nhất", "Giải Nhì"]
    winner = report["ranking"][0]["participant_id"]

    first_person, first_attempt = ids[0]
    result = first_person.client.get(f"/thi/cchc-thu/bai-thi/{first_attempt}/ket-qua").get_data(as_text=True)
    assert "(đáp án)" in result and "Giải thích câu" in result
    pdf = first_person.client.get("/thi/cchc-thu/chung-nhan.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # Printed as a printer would (kept in tests/artifacts/ to look at), its QR code leads to the verification page.
    page = rasterise_pdf(pdf.data, tmp_path)[0]
    assert page.width > page.height  # A4 landscape
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.save(ARTIFACTS / "contest-certificate.png")
    [scanned] = decode_qr(page)
    assert scanned.startswith("http://hailong.test/thi/chung-nhan/")
    scanned_page = client.get(scanned.removeprefix("http://hailong.test"))
    assert scanned_page.status_code == 200 and "Hợp lệ" in scanned_page.get_data(as_text=True)
    words = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                           check=True).stdout.decode()
    for expected in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "UBND TỈNH THỬ NGHIỆM",
                     "GIẤY CHỨNG NHẬN", "Đạt Giải Nhất · Vòng 1", "Nguyễn Văn Thành", "Thử Nghiệm, ngày",
                     "PHÓ TRƯỞNG BAN"):
        assert expected in words, expected
    third_person, _ = ids[2]
    assert third_person.client.get("/thi/cchc-thu/chung-nhan.pdf").status_code == 404

    with app.app_context():
        token = certificate_token(_contest_id(app), winner, app.config["SECRET_KEY"])
    verified = client.get(f"/thi/chung-nhan/{token}")
    assert verified.status_code == 200 and "Hợp lệ" in verified.get_data(as_text=True)
    assert "Nguyễn V. A." in verified.get_data(as_text=True)
    assert client.get(f"/thi/chung-nhan/{token[:-2]}xx").status_code == 404

    export = job_file(client, "/quan-tri/cuoc-thi/cchc-thu/xuat/ket-qua.csv?vong=1").get_data(as_text=True)
    assert "'=HYPERLINK Lê Bình" in export and "\n=HYPERLINK" not in export and ",=HYPERLINK" not in export
    assert client.get("/quan-tri/cuoc-thi/cchc-thu/chung-nhan.pdf").data.startswith(b"%PDF")


def _contest_id(app) -> int:
    import sqlalchemy as sa

    from app.contests.models import Contest
    from app.extensions import db

    return db.session.scalar(sa.select(Contest.id).where(Contest.slug == "cchc-thu"))


def test_organisers_see_only_contests_of_their_subtree(app, client, make, make_contest, units):
    contest = make_contest(opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    other = make.organiser(unit="X")
    assert log_in(client, other.email, other.password).status_code == 303
    assert client.get(f"/quan-tri/cuoc-thi/{contest.slug}").status_code == 404
    assert job_file(client, f"/quan-tri/cuoc-thi/{contest.slug}/xuat/bai-thi.csv").status_code == 404
    assert contest.slug not in client.get("/quan-tri/cuoc-thi/").get_data(as_text=True)


def test_a_viewer_cannot_change_a_contest(app, client, make, make_contest, units):
    contest = make_contest(open_it=False, opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    viewer = make.organiser(unit="T", role="viewer")
    assert log_in(client, viewer.email, viewer.password).status_code == 303
    token = csrf_from(client.get("/quan-tri/cuoc-thi/").get_data(as_text=True))
    response = client.post(f"/quan-tri/cuoc-thi/{contest.slug}/trang-thai",
                           data={"csrf_token": token, "transition": "open"})
    assert response.status_code == 403


def test_a_transition_from_the_wrong_status_is_refused(app, client, organiser, make_contest):
    contest = make_contest(open_it=False, opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    response = transition(client, contest.slug, "publish_results")
    assert response.status_code == 409
    assert "Không thể chuyển cuộc thi" in response.get_data(as_text=True)


def test_a_definition_with_mistakes_is_listed_and_nothing_changes(app, client, organiser, make_contest):
    from app.contests.models import Contest
    from app.extensions import db

    contest = make_contest(open_it=False, opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    broken = (f"slug: {contest.slug}\ntitle: Thử\nunit: T\nrounds:\n  - opens_at: '2026-13-01 10:00'\n"
              "    closes_at: '2026-03-01 09:00'\n    bank: khong-co\n    question_count: 500\n    mau: 1\n")
    response = post_form(client, f"/quan-tri/cuoc-thi/{contest.slug}/dinh-nghia", {"definition": broken})
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    for expected in ("rounds[0].opens_at", "rounds[0].question_count: phải từ 1 đến 200", "rounds[0].mau"):
        assert expected in text
    with app.app_context():
        assert db.session.get(Contest, contest.id).title == "Cuộc thi thử nghiệm"


def test_definition_problems_are_listed_in_the_organisers_language(app, client, organiser, make_contest, english):
    contest = make_contest(open_it=False, opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    path = f"/quan-tri/cuoc-thi/{contest.slug}/dinh-nghia"
    rounds = "rounds:\n  - opens_at: '2026-03-01 10:00'\n    closes_at: '2026-03-02 10:00'\n    bank: {bank}\n"
    unreadable = f"slug: {contest.slug}\ntitle: Thử\nunit: T\n" + rounds.format(bank="bank-a") + \
        "    question_count: 500\n    mau: 1\n"
    unknown = f"slug: {contest.slug}\ntitle: Thử\nunit: ZZ\n" + rounds.format(bank="khong-co") + \
        "    question_count: 5\n"

    client.get(f"{path}?lang=en")  # the choice of English is remembered by a cookie
    parsed = html_module.unescape(post_form(client, path, {"definition": unreadable}).get_data(as_text=True))
    saved = html_module.unescape(post_form(client, path, {"definition": unknown}).get_data(as_text=True))
    assert "rounds[0].question_count: must be between 1 and 200" in parsed
    assert "rounds[0].mau: unsupported key" in parsed
    assert "unit: there is no unit with code “ZZ”" in saved
    assert "rounds[0].bank: there is no question bank “khong-co”" in saved
    client.get(f"{path}?lang=vi")
    saved = html_module.unescape(post_form(client, path, {"definition": unknown}).get_data(as_text=True))
    assert "unit: không có đơn vị mã “ZZ”" in saved
    assert "rounds[0].bank: không có ngân hàng câu hỏi “khong-co”" in saved

def test_overall_prizes_are_labelled_in_the_organisers_language_in_the_results_export(app, client, organiser,
                                                                                      make_contest, units, english):
    from openpyxl import load_workbook

    from tests.contests.helpers import local, register, start, submit

    prizes = {"overall": {"cbccvc": [{"label": "Đặc biệt", "count": 1, "amount": 5000}]}}
    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4,
                           prizes=prizes)
    pid = register(app, contest.id, "0912345300", units=units, now=local("2026-03-02 06:00"))
    attempt = start(app, contest.id, pid, now=local("2026-03-02 08:00"))
    submit(app, attempt, pid, answers_for(app, attempt, [True] * 4), None, now=local("2026-03-02 08:05"))

    def prize_rounds(lang: str) -> list[object]:
        export = job_file(client, f"/quan-tri/cuoc-thi/{contest.slug}/xuat/ket-qua.xlsx?lang={lang}")
        sheet = {"en": "Prizes", "vi": "Giải thưởng"}[lang]  # sheets are named in words in the workbook
        rows = list(load_workbook(io.BytesIO(export.data), read_only=True)[sheet].iter_rows(values_only=True))
        return [row[0] for row in rows[1:]]

    assert prize_rounds("en") == ["overall"]
    assert prize_rounds("vi") == ["toàn cuộc thi"]


def test_bank_upload_in_the_organiser_area_reports_rows_and_imports_nothing(app, client, organiser):
    from app.contests.models import Question
    from tests.contests.helpers import count_rows

    token = csrf_from(client.get("/quan-tri/cuoc-thi/ngan-hang/nhap").get_data(as_text=True))
    bad = b"code,type,topic,difficulty,text,option_a,option_b,correct\nA,single,chi_so,1,Hoi?,X,Y,C\n"
    response = client.post("/quan-tri/cuoc-thi/ngan-hang/nhap", data={
        "csrf_token": token, "bank": "moi", "file": (io.BytesIO(bad), "cau-hoi.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Dòng 2, cột “correct”" in response.get_data(as_text=True)
    assert count_rows(app, Question) == 0
    good = bad.replace(b",C\n", b",B\n")
    response = client.post("/quan-tri/cuoc-thi/ngan-hang/nhap", data={
        "csrf_token": token, "bank": "moi", "file": (io.BytesIO(good), "cau-hoi.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 303 and count_rows(app, Question) == 1
    assert client.get("/quan-tri/cuoc-thi/mau/cau-hoi.xlsx").data[:2] == b"PK"


def test_item_analysis_and_integrity_pages_render_for_organisers(app, client, organiser, make_contest, units):
    from tests.contests.helpers import register, start, submit

    contest = make_contest(opens=now_utc() - dt.timedelta(hours=1), closes=now_utc() + dt.timedelta(days=1),
                           question_count=5)
    for index in range(3):
        pid = register(app, contest.id, f"091220000{index}", units=units, now=now_utc(), name="Trần Văn Ba")
        attempt = start(app, contest.id, pid, now=now_utc(), seed=index)
        submit(app, attempt, pid, answers_for(app, attempt, [True] * 5), None, now=now_utc())
    analysis = client.get(f"/quan-tri/cuoc-thi/{contest.slug}/phan-tich?vong=1").get_data(as_text=True)
    assert "Độ dễ (%)" in analysis and "ít lượt (&lt; 30)" in analysis
    integrity = client.get(f"/quan-tri/cuoc-thi/{contest.slug}/gian-lan").get_data(as_text=True)
    assert "Điểm tối đa trong thời gian quá ngắn" in integrity and "Trùng danh tính" in integrity
    assert "hệ thống không tự loại ai" in integrity


def test_contests_list_command_prints_slug_title_and_rounds(app, runner, make_contest):
    make_contest(opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    listed = json.loads(runner.invoke(args=["contests", "list", "--format", "json"]).output)
    assert [(c["slug"], c["title"], len(c["rounds"])) for c in listed] == [("thi-thu", "Cuộc thi thử nghiệm", 1)]


def test_the_example_contest_file_loads_and_reloads_unchanged(app, runner, units, tmp_path):
    from pathlib import Path

    from app.extensions import db
    from app.units.services import create_unit

    with app.app_context():
        create_unit("AK", "Tỉnh An Khang", kind="province")
        db.session.commit()
    runner.invoke(args=["questions", "import", "app/contests/banks/cchc-demo.yaml", "--bank", "cchc-demo"])
    example = Path("app/contests/examples/cchc-2026.yaml")
    first = runner.invoke(args=["contests", "load", str(example)])
    again = runner.invoke(args=["contests", "load", str(example)])
    assert first.exit_code == 0 and "Đã tạo cuộc thi cchc-2026 (2 vòng" in first.output
    assert again.exit_code == 0 and "Đã cập nhật" in again.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("slug: Sai Slug\nunit: AK\nrounds: []\nprizes: {round: {khong_co: []}}\n", encoding="utf-8")
    refused = runner.invoke(args=["contests", "load", str(broken)])
    assert refused.exit_code == 1
    for expected in ("slug: chỉ dùng chữ thường", "title: bắt buộc", "rounds: cần ít nhất một vòng thi",
                     "prizes.round.khong_co: không có đối tượng dự thi với mã này"):
        assert expected in refused.output


def test_export_attempts_has_the_contract_columns_and_one_column_per_drawn_question(app, runner, make_contest,
                                                                                     units, tmp_path):
    import csv

    from tests.contests.helpers import local, register, start, submit

    contest = make_contest(opens=local("2026-03-02 06:00"), closes=local("2026-03-02 12:00"), question_count=4)
    drawn = set()
    for index in range(2):
        pid = register(app, contest.id, f"091230000{index}", units=units, now=local("2026-03-02 06:00"))
        attempt = start(app, contest.id, pid, now=local("2026-03-02 07:00"), seed=index)
        answers = answers_for(app, attempt, [True, False, True, False])
        drawn |= set(answers)
        submit(app, attempt, pid, answers, "3", now=local("2026-03-02 07:05"))
    output = runner.invoke(args=["export", "attempts", "--contest", contest.slug, "--round", "1", "--format", "csv"])
    rows = list(csv.reader(io.StringIO(output.output.lstrip("\ufeff"))))
    assert rows[0][:9] == ["participant_id", "unit", "group", "score", "prediction", "started_at", "submitted_at",
                           "duration_ms", "rank"]
    assert sorted(int(column) for column in rows[0][9:]) == sorted(drawn)
    first = dict(zip(rows[0], rows[1]))
    assert (first["unit"], first["group"], first["score"], first["prediction"], first["duration_ms"]) == \
        ("T-SNV", "cbccvc", "2", "3", "300000")
    assert first["started_at"] == "2026-03-02T07:00:00.000+07:00" and first["rank"] in ("1", "2")
    assert sorted(value for value in rows[1][9:] if value) == ["0", "0", "1", "1"]
    xlsx = runner.invoke(args=["export", "attempts", "--contest", contest.slug, "--format", "xlsx", "--out",
                               str(tmp_path / "attempts.xlsx")])
    assert xlsx.exit_code == 0 and (tmp_path / "attempts.xlsx").read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_report_contest_writes_csv_and_xlsx(app, runner, make_contest, tmp_path, fmt):
    make_contest(opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    out = tmp_path / f"report.{fmt}"
    result = runner.invoke(args=["report", "contest", "--contest", "thi-thu", "--format", fmt, "--out", str(out)])
    assert result.exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"PK") if fmt == "xlsx" else data.decode("utf-8").startswith("\ufeff# ranking")


def test_unknown_contest_in_the_command_line_is_a_clear_error(app, runner):
    result = runner.invoke(args=["report", "contest", "--contest", "khong-co", "--format", "json"])
    assert result.exit_code == 1 and "Không tìm thấy cuộc thi này." in result.output



def test_every_organiser_page_of_a_running_contest_renders(app, client, organiser, make_contest, units, bank):
    from tests.contests.helpers import register, start, submit

    contest = make_contest(opens=now_utc() - dt.timedelta(hours=1), closes=now_utc() + dt.timedelta(days=1),
                           question_count=5, collective={"min_rate": 0})
    for index in range(2):
        pid = register(app, contest.id, f"091240000{index}", units=units, now=now_utc(), name="Vũ Văn Đông")
        attempt = start(app, contest.id, pid, now=now_utc(), seed=index)
        submit(app, attempt, pid, answers_for(app, attempt, [True, False, True, True, False]), "4", now=now_utc())
    slug = contest.slug
    pages = ["/quan-tri/cuoc-thi/", "/quan-tri/cuoc-thi/moi", "/quan-tri/cuoc-thi/nap", f"/quan-tri/cuoc-thi/{slug}",
             f"/quan-tri/cuoc-thi/{slug}/dinh-nghia", f"/quan-tri/cuoc-thi/{slug}/ket-qua",
             f"/quan-tri/cuoc-thi/{slug}/ket-qua?vong=1", f"/quan-tri/cuoc-thi/{slug}/phan-tich",
             f"/quan-tri/cuoc-thi/{slug}/gian-lan", f"/quan-tri/cuoc-thi/{slug}/thi-sinh",
             f"/quan-tri/cuoc-thi/{slug}/thi-sinh/cap-tai-khoan", f"/quan-tri/cuoc-thi/ngan-hang/{bank}",
             "/quan-tri/cuoc-thi/ngan-hang/nhap", f"/quan-tri/cuoc-thi/{slug}/xoa-du-lieu", f"/thi/{slug}",
             f"/thi/{slug}/xep-hang"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Hệ thống gặp sự cố" not in response.get_data(as_text=True), path
    downloads = {f"/quan-tri/cuoc-thi/{slug}/dinh-nghia.yaml": b"slug:",
                 f"/quan-tri/cuoc-thi/{slug}/xuat/bai-thi.xlsx": b"PK",
                 f"/quan-tri/cuoc-thi/{slug}/xuat/bao-cao.json": b"{",
                 f"/quan-tri/cuoc-thi/{slug}/xuat/bao-cao.csv?vong=1": "\ufeff".encode(),
                 f"/quan-tri/cuoc-thi/{slug}/du-lieu-ca-nhan.csv": "\ufeff".encode(),
                 "/quan-tri/cuoc-thi/mau/thi-sinh.xlsx": b"PK"}
    for path, start_bytes in downloads.items():
        response = job_file(client, path)
        assert response.status_code == 200 and response.data.startswith(start_bytes), path
    assert b"0912400000" in client.get(f"/quan-tri/cuoc-thi/{slug}/du-lieu-ca-nhan.csv").data


def test_upload_problems_are_listed_in_the_organisers_language(client, organiser, make_contest, english):
    contest = make_contest(opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    bank = ("/quan-tri/cuoc-thi/ngan-hang/nhap",
            b"code,type,topic,difficulty,text,option_a,option_b,correct\nA,single,chi_so,1,Hoi?,X,Y,C\n")
    accounts = (f"/quan-tri/cuoc-thi/{contest.slug}/thi-sinh/cap-tai-khoan",
                "phone,full_name,birth_date,unit\n0912555001,Ngô Văn Hải,32/01/1990,T-XA\n".encode())

    def refused(upload: tuple[str, bytes], lang: str) -> str:
        path, data = upload
        token = csrf_from(client.get(f"{path}?lang={lang}").get_data(as_text=True))
        response = client.post(path, data={"csrf_token": token, "bank": "moi", "file": (io.BytesIO(data), "tep.csv")},
                               content_type="multipart/form-data")
        assert response.status_code == 400
        return html_module.unescape(response.get_data(as_text=True))

    assert "Row 2, column “correct”: the answer must be the letter of an option (e.g. “B”, or “A,C” for a question " \
           "with several answers)" in refused(bank, "en")
    assert "Row 2, column “birth_date”: the birth date must be in the form 31/12/1990 or 1990-12-31" in \
        refused(accounts, "en")
    assert "Dòng 2, cột “correct”: đáp án phải là chữ cái của phương án (vd. “B”, hoặc “A,C” với câu nhiều đáp án)" \
        in refused(bank, "vi")
    assert "Dòng 2, cột “birth_date”: ngày sinh phải có dạng 31/12/1990 hoặc 1990-12-31" in refused(accounts, "vi")


def test_accounts_are_preissued_from_an_upload_and_the_codes_downloaded_once(app, client, organiser, make_contest,
                                                                            english):
    from app.contests.models import Participant as Row
    from tests.contests.helpers import count_rows

    contest = make_contest(opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    path = f"/quan-tri/cuoc-thi/{contest.slug}/thi-sinh/cap-tai-khoan"
    token = csrf_from(client.get(path).get_data(as_text=True))
    bad = "phone,full_name,unit,group\n0912555001,Ngô Văn Hải,KHONG,cbccvc\n".encode()
    refused = client.post(path, data={"csrf_token": token, "file": (io.BytesIO(bad), "ds.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "Dòng 2: đơn vị “KHONG” không có trong phạm vi cuộc thi" in \
        refused.get_data(as_text=True)
    client.get(f"{path}?lang=en")
    refused = client.post(path, data={"csrf_token": token, "file": (io.BytesIO(bad), "ds.csv")},
                          content_type="multipart/form-data")
    assert "Row 2: unit “KHONG” is not within the contest's scope" in \
        html_module.unescape(refused.get_data(as_text=True))
    client.get(f"{path}?lang=vi")
    good = bad.replace(b"KHONG", b"T-XA")
    issued = client.post(path, data={"csrf_token": token, "file": (io.BytesIO(good), "ds.csv")},
                         content_type="multipart/form-data")
    rows = issued.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert issued.status_code == 200 and issued.mimetype == "text/csv"
    assert rows[0] == "row,phone,full_name,code" and rows[1].startswith("2,0912555001,Ngô Văn Hải,")
    assert count_rows(app, Row) == 1


def test_personal_data_cannot_be_erased_before_the_retention_period(app, client, organiser, make_contest):
    contest = make_contest(opens=now_utc(), closes=now_utc() + dt.timedelta(days=1))
    transition(client, contest.slug, "close")
    response = post_form(client, f"/quan-tri/cuoc-thi/{contest.slug}/xoa-du-lieu", {})
    assert response.status_code == 409 and "Chưa hết thời hạn lưu trữ dữ liệu cá nhân" in \
        response.get_data(as_text=True)
