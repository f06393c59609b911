"""Issue 16: heavy work as jobs. On PostgreSQL (SQLite when it is absent), a province of 50 communes:

- export throughput as jobs: rows per second of a whole-province responses export, CSV and XLSX, each timed from the
  moment it is queued to the moment a real `flask jobs worker` marks it done (reading, writing and renaming);
- survey GET p99 at 32 clients (wrk, gunicorn with 2 sync workers) while two province exports (XLSX and CSV) run as
  jobs on a worker beside it, against the same GET with the machine otherwise idle (reference); target < 100 ms;
- contest results export (names, ranks, units) of 200,000 participants as a job, XLSX and CSV (20,000 with
  --quick): seconds, rows/s and the worker's peak RSS during that job.

With BENCH_PROVINCE_URL (and BENCH_PROVINCE_SECRET, its SECRET_KEY) the bench measures that database instead of
building one: a copy of the bench province (``CREATE DATABASE hl_mine TEMPLATE hl_province``), never the shared one,
since jobs write their rows to it. See bench/README.md.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from harness import (FLASK, ROOT, WORK, BenchError, Entry, bench_secret, database, entry, ensure_wrk,
                     postgres_available, postgres_backend_pids, run_python, run_wrk, serve)

P99_TARGET_MS = 100


def _env(url: str, secret: str, jobs_dir: Path, queue: str) -> dict:
    return {"DATABASE_URL": url, "SECRET_KEY": secret, "BASE_URL": "http://127.0.0.1",
            "HAILONG_JOBS_DIR": str(jobs_dir), "HAILONG_JOBS_QUEUE_NAME": queue,
            "HAILONG_SURVEY_RATE_LIMIT": "1000000 per minute"}


def _flask(env: dict, *args: str, timeout: float = 3600) -> str:
    completed = subprocess.run([FLASK, "--app", "app", *args], cwd=ROOT, env={**os.environ, **env},
                               capture_output=True, text=True, timeout=timeout)
    if completed.returncode != 0:
        raise BenchError(f"flask {' '.join(args)} failed: {completed.stderr.strip()[-1500:]}")
    return completed.stdout


def child_token(url: str, secret: str) -> dict:
    """Print {"token": …}: the survey link token of the first counter of an existing province."""
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.units.models import Counter
    from app.units.tokens import counter_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    with app.app_context():
        counter = db.session.scalar(sa.select(Counter).order_by(Counter.id))
        return {"token": counter_token(counter.token_nonce, secret)}


def child_enqueue(url: str, secret: str, jobs_dir: str, queue: str, kind: str, fmt: str) -> dict:
    """Queue one job as the province's administrator: a responses export of the province, or the synthetic
    contest's results export; print {"job": id}."""
    import sqlalchemy as sa

    from app import create_app
    from app.auth.models import Organiser
    from app.auth.services import create_organiser
    from app.contests.jobs import request_export
    from app.contests.models import Contest
    from app.database import utcnow
    from app.extensions import db
    from app.organiser.services import request_responses_export
    from app.units.models import Unit

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret, "JOBS_DIR": jobs_dir,
                      "JOBS_QUEUE_NAME": queue})
    with app.app_context():
        province = db.session.scalar(sa.select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
        actor = db.session.scalar(sa.select(Organiser).where(Organiser.email == "bench@hailong.test"))
        if actor is None:
            actor = create_organiser("bench@hailong.test", "Đo hiệu năng", province, "administrator",
                                     "mat-khau-do-hieu-nang", utcnow())
        if kind == "responses":
            job = request_responses_export(actor, province, "sipas-counter", None, fmt, "vi", utcnow())
        else:
            contest = db.session.scalar(sa.select(Contest).order_by(Contest.id.desc()))
            job = request_export(actor, contest, "ket-qua", fmt, None, "vi", utcnow())
        db.session.commit()
        return {"job": job.id}


def _enqueue(url: str, secret: str, jobs_dir: Path, queue: str, kind: str, fmt: str) -> int:
    out = run_python(["bench/jobs_bench.py", "enqueue", url, secret, str(jobs_dir), queue, kind, fmt])
    return json.loads(out.strip().splitlines()[-1])["job"]


def _job_state(url: str, job_id: int) -> tuple[str, int, float | None, str | None]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(sa.text("SELECT state, progress_done, created_at, finished_at, error FROM jobs "
                                             "WHERE id = :id"), {"id": job_id}).one()
    finally:
        engine.dispose()
    state, done, created, finished, error = row
    seconds = None
    if finished is not None:
        if isinstance(finished, str):  # SQLite gives text
            import datetime as dt

            finished, created = dt.datetime.fromisoformat(finished), dt.datetime.fromisoformat(created)
        seconds = (finished - created).total_seconds()
    return state, int(done or 0), seconds, error


def _wait_done(url: str, job_ids: list[int], limit: float) -> dict[int, tuple[int, float]]:
    deadline = time.monotonic() + limit
    done: dict[int, tuple[int, float]] = {}
    while time.monotonic() < deadline and len(done) < len(job_ids):
        for job_id in job_ids:
            if job_id in done:
                continue
            state, rows, seconds, error = _job_state(url, job_id)
            if state == "failed":
                raise BenchError(f"job {job_id} failed: {error}")
            if state == "done":
                done[job_id] = (rows, seconds or 0.0)
        time.sleep(0.2)
    if len(done) < len(job_ids):
        raise BenchError(f"jobs {sorted(set(job_ids) - set(done))} not done within {limit:.0f} s")
    return done


class _Worker:
    def __init__(self, env: dict, name: str) -> None:
        WORK.mkdir(parents=True, exist_ok=True)
        self.log = open(WORK / f"worker-{name}.log", "w")
        self.process = subprocess.Popen([FLASK, "--app", "app", "jobs", "worker", "--workers", "2", "--no-scheduler"],
                                        cwd=ROOT, env={**os.environ, **env}, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def reset_peak(self) -> None:
        """Start counting the worker's peak resident memory afresh (Linux: clear_refs 5 resets VmHWM)."""
        with contextlib.suppress(OSError):
            Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def peak_mb(self) -> float | None:
        """The worker's peak resident memory since the last reset, in MB (None where /proc does not say)."""
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _abandon(url: str, job_ids: list[int]) -> None:
    """Mark jobs the bench stopped on purpose as failed, so no later worker on a reused database runs them."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE jobs SET state = 'failed', error = 'stopped by the bench' "
                                       "WHERE id IN ({}) AND state IN ('queued', 'running')"
                                       .format(", ".join(str(int(job)) for job in job_ids))))
    finally:
        engine.dispose()


def _analyze(url: str) -> None:
    """Give PostgreSQL's planner its statistics, as autovacuum does some time after a bulk load: without them it
    sorts a whole province's responses on disk before an export's first row (19 s of unpaced work measured)."""
    import sqlalchemy as sa

    if not url.startswith("postgresql"):
        return
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


@contextlib.contextmanager
def _province(kind: str, secret: str, quick: bool) -> Iterator[tuple[str, str, str, str]]:
    """Yield (url, secret, first counter's token, how it was made): BENCH_PROVINCE_URL as it is, or a fresh
    province of 50 communes with synthetic responses and contest attempts (dropped afterwards)."""
    reused = os.environ.get("BENCH_PROVINCE_URL")
    if reused:
        given = os.environ.get("BENCH_PROVINCE_SECRET")
        if not given:
            raise BenchError("BENCH_PROVINCE_URL needs BENCH_PROVINCE_SECRET (the SECRET_KEY it was built with)")
        token = json.loads(run_python(["bench/jobs_bench.py", "token", reused, given]).strip().splitlines()[-1])
        _analyze(reused)
        yield reused, given, token["token"], f"the province at {reused.rsplit('/', 1)[-1]}"
        return
    responses = 100_000 if quick else 1_000_000
    participants = 20_000 if quick else 200_000
    with database(kind, "jobs") as url:
        created = json.loads(run_python(["bench/setup_db.py", url, secret, "--units", "50"]))
        env = {"DATABASE_URL": url, "SECRET_KEY": secret}
        _flask(env, "synth", "--responses", str(responses), "--attempts", str(participants), "--seed", "16")
        _flask(env, "report", "refresh")
        _analyze(url)
        yield url, secret, created["counters"][0]["token"], "a province of 50 communes"


def run(quick: bool, seconds: float) -> list[Entry]:
    """Build (or reuse) the province and the contest, then measure; return the entries of issue 16 (jobs)."""
    ensure_wrk()
    reused = os.environ.get("BENCH_PROVINCE_URL")
    kind = ("postgresql" if reused.startswith("postgresql") else "sqlite") if reused else \
        ("postgresql" if postgres_available() is None else "sqlite")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    jobs_dir = WORK / f"jobs-{queue}"
    entries: list[Entry] = []
    with _province(kind, bench_secret(), quick) as (url, secret, token, where):
        env = _env(url, secret, jobs_dir, queue)

        # Export throughput: one worker, one job at a time.
        worker = _Worker(env, "throughput")
        try:
            for fmt in ("csv", "xlsx"):
                job_id = _enqueue(url, secret, jobs_dir, queue, "responses", fmt)
                rows, elapsed = _wait_done(url, [job_id], 3600)[job_id]
                entries.append(entry(f"jobs: responses export {fmt.upper()} as a job ({kind}, {rows:,} rows)",
                                     rows / elapsed if elapsed else None, "rows/s",
                                     note=f"{elapsed:.1f} s from queued to done, file written aside and renamed; "
                                          f"{where}"))
            for fmt in ("xlsx", "csv"):
                worker.reset_peak()
                job_id = _enqueue(url, secret, jobs_dir, queue, "contest", fmt)
                rows, elapsed = _wait_done(url, [job_id], 3600)[job_id]
                peak = worker.peak_mb()
                entries.append(entry(f"jobs: contest results export {fmt.upper()} as a job ({kind}, {rows:,} rows)",
                                     elapsed, "s",
                                     note=f"{rows / elapsed if elapsed else 0:,.0f} rows/s; worker peak RSS "
                                          + (f"{peak:,.0f} MB" if peak else "unknown")
                                          + f" during the job; names looked up 5,000 places at a time; {where}"))
        finally:
            worker.stop()

        # Survey GET p99 while two province exports run as jobs beside the web server.
        helpers = (lambda: postgres_backend_pids(url)) if kind == "postgresql" else None
        with serve("jobs-survey", "app.wsgi:application", env, f"/s/{token}", helper_pids=helpers) as server:
            path = f"/s/{token}"
            run_wrk(server, path, "get.lua", 2, measured=False)
            quiet = run_wrk(server, path, "get.lua", seconds)
            worker = _Worker(env, "busy")
            busy_jobs: list[int] = []
            try:
                busy_jobs = [_enqueue(url, secret, jobs_dir, queue, "responses", fmt) for fmt in ("xlsx", "csv")]
                deadline = time.monotonic() + 60
                while _job_state(url, busy_jobs[0])[0] == "queued" and time.monotonic() < deadline:
                    time.sleep(0.1)
                busy = run_wrk(server, path, "get.lua", seconds, measured=False)  # busy on purpose
                still_running = [job for job in busy_jobs if _job_state(url, job)[0] == "running"]
            finally:
                worker.stop()  # their throughput is measured above: no need to wait for the files
                _abandon(url, busy_jobs)
        entries.append(entry(f"jobs: survey GET p99 at 32 clients while two province exports run as jobs ({kind})",
                             busy.p99_ms, "ms", reference=quiet.p99_ms, target=f"value < {P99_TARGET_MS}",
                             note=f"{busy.rate:,.0f} GET/s busy vs {quiet.rate:,.0f} quiet (reference: p99 with no job"
                                  f" running); {len(still_running)} of 2 exports running when wrk ended; "
                                  f"{busy.error_count} errors; worker at JOB_NICENESS 10; {where}"))
    return entries


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("enqueue", "token"):
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        child = child_enqueue if sys.argv[1] == "enqueue" else child_token
        print(json.dumps(child(*sys.argv[2:8])))
    else:
        print(json.dumps([item.as_dict() for item in run("--quick" in sys.argv, 5)], ensure_ascii=False))
