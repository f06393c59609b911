"""Through nginx, two gunicorn nodes, a worker and the scheduler on PostgreSQL and Redis behave as one server: a
session, rate limits, a one-time dossier link, cache invalidations and export jobs span the nodes, and a worker
killed mid-job leaves its job to another that completes it once."""
from __future__ import annotations

import threading
import time

import requests
import sqlalchemy as sa

from tests.factories import Factories, csrf_from, full_answers


def upstream(response: requests.Response) -> str:
    return response.headers["X-Upstream"]


def sign_in(stack, account) -> requests.Session:
    browser = requests.Session()
    token = csrf_from(browser.get(f"{stack.url}/quan-tri/dang-nhap").text)
    response = browser.post(f"{stack.url}/quan-tri/dang-nhap", allow_redirects=False,
                            data={"csrf_token": token, "email": account.email, "password": account.password})
    assert response.status_code == 303, response.text[:500]
    return browser


def test_both_nodes_serve_behind_nginx_and_are_ready(stack):
    seen = {upstream(requests.get(f"{stack.url}/readyz", timeout=5)) for _ in range(4)}
    assert seen == {f"127.0.0.1:{node}" for node in stack.nodes}
    ready = requests.get(f"{stack.url}/readyz", timeout=5).json()
    assert ready == {"status": "ok", "database": True, "schema": True, "redis": True, "queue": True}


def test_a_session_started_on_one_node_is_valid_on_the_other(stack, stack_app):
    make = Factories(stack_app)
    make.unit("MN-S")
    browser = sign_in(stack, make.organiser("MN-S", role="viewer", email="phien@thu.gov.vn"))
    pages = [browser.get(f"{stack.url}/quan-tri/tac-vu", allow_redirects=False) for _ in range(4)]
    assert [page.status_code for page in pages] == [200] * 4
    assert {upstream(page) for page in pages} == {f"127.0.0.1:{node}" for node in stack.nodes}


def test_a_dossier_link_raced_on_both_nodes_stores_one_response(stack, stack_app):
    make = Factories(stack_app)
    make.unit("MN-D")
    counter = make.counter("MN-D", code="MN-QD")
    link = make.dossier_path(counter, "HS-MULTINODE-1")
    browsers = [requests.Session(), requests.Session()]
    forms = [browser.get(f"{stack.url}{link}").text for browser in browsers]
    barrier = threading.Barrier(2)
    answers = [None, None]

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = browsers[index].post(f"{stack.url}{link}", data=full_answers(forms[index]),
                                              allow_redirects=False)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len({upstream(answer) for answer in answers}) == 2
    from app.extensions import db
    from app.surveys.models import SurveyResponse

    with stack_app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)
                                   .where(SurveyResponse.dossier_code == "HS-MULTINODE-1"))
    assert stored == 1
    assert all(answer.status_code < 500 for answer in answers), [answer.status_code for answer in answers]


def test_a_counter_switched_off_on_one_node_is_gone_on_the_other_within_a_second(stack, stack_app):
    make = Factories(stack_app)
    make.unit("MN-C")
    counter = make.counter("MN-C", code="MN-QC")
    browser = sign_in(stack, make.organiser("MN-C", role="administrator", email="quay@thu.gov.vn"))
    for _ in range(4):  # both nodes have the counter's form cached
        assert requests.get(f"{stack.url}{counter.path}").status_code == 200
    confirm = browser.get(f"{stack.url}/quan-tri/quay/{counter.id}/ngung")
    switched = browser.post(f"{stack.url}/quan-tri/quay/{counter.id}/ngung", allow_redirects=False,
                            data={"csrf_token": csrf_from(confirm.text)})
    assert switched.status_code == 303
    started = time.monotonic()
    node = f"127.0.0.1:{stack.nodes[0]}" if upstream(switched) != f"127.0.0.1:{stack.nodes[0]}" else \
        f"127.0.0.1:{stack.nodes[1]}"
    other = f"http://{node}{counter.path}"
    while requests.get(other).status_code == 200:
        assert time.monotonic() - started < 1.0, "the other node still serves the switched-off counter after 1 s"
        time.sleep(0.05)


def _ask_export(stack, browser, unit_id: int) -> tuple[requests.Response, dict]:
    token = csrf_from(browser.get(f"{stack.url}/quan-tri/xuat-du-lieu").text)
    asked = browser.post(f"{stack.url}/quan-tri/xuat-du-lieu/tai-ve", allow_redirects=False,
                         data={"csrf_token": token, "unit": unit_id, "instrument": "sipas-counter", "format": "csv"})
    assert asked.status_code == 303, asked.text[:500]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = browser.get(f"{stack.url}{asked.headers['Location']}", headers={"Accept": "application/json"}
                             ).json()
        if status["state"] in ("done", "failed"):
            return asked, status
        time.sleep(0.2)
    raise AssertionError(f"export job not finished\n{stack.logs()}")


def test_an_export_started_on_one_node_is_downloaded_from_the_other(stack, stack_app):
    make = Factories(stack_app)
    make.unit("MN-E")
    counter = make.counter("MN-E", code="MN-QE")
    for comment in ("một", "hai", "ba"):
        make.response(counter, comment=comment)
    browser = sign_in(stack, make.organiser("MN-E", role="viewer", email="xuat@thu.gov.vn"))
    asked, status = _ask_export(stack, browser, counter.unit_id)
    assert status["state"] == "done"
    for _ in range(3):
        file = browser.get(f"{stack.url}{status['download']}")
        if upstream(file) != upstream(asked):
            break
    assert upstream(file) != upstream(asked) and file.status_code == 200
    assert len(file.content.decode("utf-8-sig").strip().splitlines()) == 4


def test_a_worker_killed_mid_job_leaves_it_to_another_that_completes_it_once(stack, stack_app):
    from app.extensions import db
    from app.jobs import Job

    job_id = int(stack.flask("jobs", "probe", "--seconds", "20", "--no-wait").stdout.strip())

    def job() -> Job:
        with stack_app.app_context():
            found = db.session.get(Job, job_id)
            db.session.expunge(found)
            return found

    deadline = time.monotonic() + 60
    while (seen := job()).state != "running" or seen.progress_done < 1:
        assert seen.state in ("queued", "running") and time.monotonic() < deadline, (
            f"job {job_id}: {seen.state}, {seen.progress_done} steps, {seen.error}\n{stack.logs()}")
        time.sleep(0.1)
    stack.kill("worker")
    assert job().state == "running"
    stack.start_worker()
    deadline = time.monotonic() + 90
    while job().state not in ("done", "failed"):
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.2)
    finished = job()
    assert (finished.state, finished.attempts) == ("done", 2), finished.error
    assert open(finished.result_path, encoding="utf-8").read() == f"probe {job_id} ok\n"


def test_rate_limits_are_shared_by_the_nodes(stack):
    """Last in this file: it uses up the address's sign-in allowance (8 a minute on the stack)."""
    browser = requests.Session()
    token = csrf_from(browser.get(f"{stack.url}/quan-tri/dang-nhap").text)
    answers = []
    for _ in range(9):  # one node alone would allow 8, two nodes counting apart 16
        answers.append(browser.post(f"{stack.url}/quan-tri/dang-nhap", allow_redirects=False,
                                    data={"csrf_token": token, "email": "khong-co@thu.gov.vn", "password": "sai"}))
        if answers[-1].status_code == 429:
            break
    assert answers[-1].status_code == 429, [answer.status_code for answer in answers]
    assert len({upstream(answer) for answer in answers}) == 2  # the attempts went to both nodes
