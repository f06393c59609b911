"""The task queue: jobs asked for on the web, followed on /quan-tri/tac-vu, downloaded through signed, expiring,
scoped links; and real `flask jobs worker` processes on the embedded SQLite queue and on Redis, one of them killed
mid-job (SIGKILL) and the job completed by another, once."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.conftest import unavailable
from tests.factories import csrf_from

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc
DOWNLOAD = "/quan-tri/xuat-du-lieu/tai-ve"


@pytest.fixture
def site(app, make, login):
    """Communes A and B under T with a counter each, two responses in A; a viewer of A signed in."""
    for code, parent in (("T", None), ("T-A", "T"), ("T-B", "T")):
        make.unit(code, parent=parent)
    counters = {"A": make.counter("T-A", code="QA"), "B": make.counter("T-B", code="QB")}
    make.response(counters["A"], comment="một", when=dt.datetime(2026, 2, 1, tzinfo=UTC))
    make.response(counters["A"], comment="hai", when=dt.datetime(2026, 2, 2, tzinfo=UTC))
    viewer = make.organiser("T-A", role="viewer")
    login(viewer)
    return {"counters": counters, "viewer": viewer}


def ask(client, url: str):
    token = csrf_from(client.get("/quan-tri/tac-vu").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token})


def test_an_export_is_queued_then_shown_on_the_jobs_page_with_its_download(client, site):
    response = ask(client, f"{DOWNLOAD}?unit={site['counters']['A'].unit_id}&instrument=sipas-counter&format=csv")
    assert response.status_code == 303 and "/quan-tri/tac-vu/" in response.location
    html = client.get(response.location).get_data(as_text=True)
    assert "Xuất phiếu trả lời" in html and "Hoàn tất" in html and "2 dòng" in html
    assert "Tệp “phieu-sipas-counter-T-A-tat-ca.csv” đã sẵn sàng." in html
    assert 'http-equiv="refresh"' not in html  # nothing left to wait for
    status = client.get(response.location, headers={"Accept": "application/json"}).get_json()
    assert status["state"] == "done" and status["percent"] == 100
    file = client.get(status["download"])
    assert file.status_code == 200 and file.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(file.get_data().decode("utf-8-sig"))))
    assert len(rows) == 3 and rows[0][0] == "response_id"
    assert 'attachment; filename=phieu-sipas-counter-T-A-tat-ca.csv' in file.headers["Content-Disposition"]


def test_asking_twice_while_queued_gives_the_same_job(app, site):
    from app.auth.models import Organiser
    from app.database import utcnow
    from app.extensions import db
    from app.jobs import Job
    from app.organiser.services import request_responses_export
    from app.units.models import Unit

    with app.app_context():
        app.config["JOBS_IMMEDIATE"] = False  # left queued: no worker in this test
        try:
            actor = db.session.get(Organiser, site["viewer"].id)
            unit = db.session.get(Unit, site["counters"]["A"].unit_id)
            first = request_responses_export(actor, unit, "sipas-counter", None, "csv", "vi", utcnow())
            again = request_responses_export(actor, unit, "sipas-counter", None, "csv", "vi", utcnow())
            other = request_responses_export(actor, unit, "sipas-counter", None, "xlsx", "vi", utcnow())
            db.session.rollback()  # nothing committed: nothing queued
        finally:
            app.config["JOBS_IMMEDIATE"] = True
        assert first.id == again.id != other.id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_download_link_is_scoped_signed_and_expires(app, client, make, login, site, monkeypatch):
    response = ask(client, f"{DOWNLOAD}?unit={site['counters']['A'].unit_id}&instrument=sipas-counter&format=xlsx")
    status = client.get(response.location, headers={"Accept": "application/json"}).get_json()
    link = status["download"]
    book = load_workbook(io.BytesIO(client.get(link).get_data()))
    assert book.worksheets[0].max_row == 3

    # A tampered token is not found; so is another organiser's job page.
    assert client.get(link[:-3] + "abc").status_code == 404
    stranger = app.test_client()
    login(make.organiser("T-B", role="administrator"), on=stranger)
    assert stranger.get(link).status_code == 404  # T-A's file, asked from T-B: not found
    assert stranger.get(response.location).status_code == 404
    assert "Không tìm thấy" in stranger.get(link).get_data(as_text=True)
    colleague = app.test_client()
    login(make.organiser("T", role="viewer", email="tinh@thu.gov.vn"), on=colleague)
    assert colleague.get(link).status_code == 200  # the province sees its commune's export

    monkeypatch.setitem(app.config, "JOBS_LINK_SECONDS", -1)
    expired = client.get(link)
    assert expired.status_code == 410 and "Trang này không còn hiệu lực." in expired.get_data(as_text=True)


def test_asking_without_the_csrf_token_or_signed_out_queues_nothing(app, client, site):
    from app.extensions import db
    from app.jobs import Job

    url = f"{DOWNLOAD}?unit={site['counters']['A'].unit_id}&instrument=sipas-counter&format=csv"
    assert client.post(url).status_code == 400
    assert app.test_client().get(url).status_code == 405
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_report_file_and_a_contest_export_are_jobs_too(client, site):
    response = ask(client, f"/quan-tri/bao-cao/tai-ve.pdf?unit={site['counters']['A'].unit_id}&period=2026")
    status = client.get(response.location, headers={"Accept": "application/json"}).get_json()
    assert status["kind"] == "report" and status["state"] == "done"
    assert client.get(status["download"]).get_data().startswith(b"%PDF")
    html = client.get("/quan-tri/tac-vu").get_data(as_text=True)
    assert "Bảng số liệu, phụ lục thống kê" in html and "Xuất phiếu trả lời" not in html


def test_a_sheet_past_the_row_limit_continues_on_another_with_its_header(tmp_path):
    from app.exports import write_xlsx

    path = tmp_path / "book.xlsx"
    seen = []
    write_xlsx([("Phiếu trả lời", ["a", "b"], ([i, f"={i}"] for i in range(7)))], str(path), max_rows=3,
               progress=seen.append)
    book = load_workbook(path)
    assert book.sheetnames == ["Phiếu trả lời", "Phiếu trả lời (2)", "Phiếu trả lời (3)"]
    rows = [list(sheet.values) for sheet in book.worksheets]
    assert [len(sheet) for sheet in rows] == [4, 4, 2]
    assert all(sheet[0] == ("a", "b") for sheet in rows)
    assert rows[2][1] == (6, "'=6") and seen[-1] == 7


def test_a_workbook_keeps_text_numbers_and_dates_as_people_typed_them(tmp_path):
    """What a streamed export must get right: XML's special characters and control characters in text, a quote and
    characters Excel refuses in a sheet name, numbers and dates with their formats, empty cells, a formula defused."""
    from app.exports import DATE_FORMAT, DATETIME_FORMAT, INTEGER_FORMAT, POINTS_FORMAT, Sheet, write_xlsx

    path = tmp_path / "book.xlsx"
    rows = [[1204, 'a & <b> "c" \'d\'', "dòng 1\ndòng 2\x07", 84.456, dt.date(2026, 3, 2),
             dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.timezone(dt.timedelta(hours=7))), None, True, "=1+1"]]
    write_xlsx([Sheet("'Đơn vị: Xã 'A' [2026/Q1]'", ["Số", "Văn bản", "Nhiều dòng", "Tỷ lệ", "Ngày", "Lúc", "Trống", "Có",
                                         "Công thức"], rows, formats={3: POINTS_FORMAT})], str(path))
    sheet = load_workbook(path)["Đơn vị Xã 'A' 2026 Q1"]
    values = [(cell.value, cell.number_format) for cell in sheet[2]]
    assert values[:6] == [(1204, INTEGER_FORMAT), ('a & <b> "c" \'d\'', "General"), ("dòng 1\ndòng 2", "General"),
                          (84.456, POINTS_FORMAT), (dt.datetime(2026, 3, 2), DATE_FORMAT),
                          (dt.datetime(2026, 3, 2, 14, 5), DATETIME_FORMAT)]
    assert [value for value, _ in values[6:]] == [None, True, "'=1+1"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:I2" and sheet["A1"].font.b


def test_a_worker_runs_its_jobs_at_a_lower_priority_than_the_web_servers():
    import threading

    from app.jobs import lower_priority

    seen = {}

    def worker_start() -> None:  # the priority belongs to the thread and to the threads it starts
        seen["said"] = lower_priority(10)
        job = threading.Thread(target=lambda: seen.setdefault("job", os.getpriority(os.PRIO_PROCESS, 0)))
        job.start()
        job.join()

    starter = threading.Thread(target=worker_start)
    starter.start()
    starter.join()
    assert seen["job"] >= 10 and seen["said"].startswith("nice ")
    assert lower_priority(0) == ""


# --- real workers ----------------------------------------------------------------------------------------------

def _worker_env(database_url: str, jobs_dir: Path, queue_name: str, redis_url: str | None) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "DATABASE_URL")}
    env.update({"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-not-for-production",
                "HAILONG_JOBS_DIR": str(jobs_dir), "HAILONG_JOBS_QUEUE_NAME": queue_name,
                "HAILONG_JOBS_LEASE_SECONDS": "2", "PYTHONUNBUFFERED": "1"})
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _start_worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "jobs", "worker", "--workers", "2"],
                            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_app(request, app, database_url, tmp_path):
    """An app that queues for real (no JOBS_IMMEDIATE), on the embedded SQLite queue or on Redis, and a way to start
    `flask jobs worker` processes on the same database and queue."""
    from app import create_app

    redis_url = None
    if request.param == "redis-queue":
        import redis

        redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        try:
            redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        except Exception as error:
            unavailable(f"Redis is not reachable at {redis_url}: {error}")
    queue_name = f"hailong-test-{uuid.uuid4().hex[:8]}"
    jobs_dir = tmp_path / "jobs"
    config = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret-key-not-for-production",
              "JOBS_DIR": str(jobs_dir), "JOBS_QUEUE_NAME": queue_name, "JOBS_LEASE_SECONDS": 2, "TESTING": True}
    if redis_url:
        config["REDIS_URL"] = redis_url
    queued = create_app(config)
    env = _worker_env(database_url, jobs_dir, queue_name, redis_url)
    workers: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        workers.append(_start_worker(env, tmp_path / "worker.log"))
        return workers[-1]

    yield queued, start, tmp_path / "worker.log"
    for worker in workers:
        _stop(worker)
    if redis_url:
        queued.extensions["hailong_jobs"].huey.storage.flush_all()


def _enqueue_probe(app, seconds: float) -> int:
    from app.database import utcnow
    from app.extensions import db
    from app.jobs import enqueue

    with app.app_context():
        job = enqueue("probe", owner_id=None, unit_id=None, params={"seconds": seconds}, title="probe",
                      result_name="probe.txt", now=utcnow())
        db.session.commit()
        return job.id


def _job(app, job_id: int):
    from app.extensions import db
    from app.jobs import Job

    with app.app_context():
        found = db.session.get(Job, job_id)
        db.session.expunge(found)
        return found


def _wait(predicate, seconds: float, log: Path, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {seconds} s; worker log:\n{log.read_text(errors='replace')[-3000:]}")


def test_a_real_worker_runs_an_export_job(queue_app, site):
    from app.auth.models import Organiser
    from app.database import utcnow
    from app.extensions import db
    from app.organiser.services import request_responses_export
    from app.units.models import Unit

    queued, start, log = queue_app
    with queued.app_context():
        actor = db.session.get(Organiser, site["viewer"].id)
        unit = db.session.get(Unit, site["counters"]["A"].unit_id)
        job_id = request_responses_export(actor, unit, "sipas-counter", None, "csv", "vi", utcnow()).id
        db.session.commit()
    assert _job(queued, job_id).state == "queued"
    start()
    done = _wait(lambda: (job := _job(queued, job_id)).state in ("done", "failed") and job, 60, log, "job finished")
    assert done.state == "done", done.error
    rows = list(csv.reader(io.StringIO(Path(done.result_path).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 3 and done.progress_done == 2 and done.attempts == 1


def test_a_worker_killed_mid_job_leaves_it_to_another_that_completes_it_once(queue_app):
    queued, start, log = queue_app
    job_id = _enqueue_probe(queued, seconds=4)
    first = start()
    _wait(lambda: (job := _job(queued, job_id)).state == "running" and job.progress_done >= 2, 60, log,
          "job running with progress")
    os.killpg(first.pid, signal.SIGKILL)  # no goodbye: the lease is the only thing that tells
    first.wait()
    stuck = _job(queued, job_id)
    assert stuck.state == "running" and stuck.attempts == 1
    start()
    done = _wait(lambda: (job := _job(queued, job_id)).state in ("done", "failed") and job, 60, log,
                 "job finished by the second worker")
    assert done.state == "done" and done.attempts == 2, (done.state, done.attempts, done.error)
    result = Path(done.result_path)
    assert result.read_text(encoding="utf-8") == f"probe {job_id} ok\n"
    assert sorted(path.name for path in result.parent.glob(f"job-{job_id}*")) == [result.name]  # no half file left
    finished = done.finished_at
    time.sleep(3)  # past another lease: nobody runs it again
    again = _job(queued, job_id)
    assert (again.state, again.attempts, again.finished_at) == ("done", 2, finished)


def test_looking_up_more_participants_than_one_statement_may_name_works(app, make):
    """psycopg refuses an IN list past 65,535 parameters: a 200,000-participant export looks them up in parts."""
    from app.contests.reports import people
    from app.database import in_batches

    assert [len(batch) for batch in in_batches([3, 1, 2, 3] + list(range(10, 10_010)), size=5000)] == [5000, 5000, 3]
    with app.app_context():
        assert people(list(range(1, 70_001))) == {}
