"""The task queue: heavy work (exports, report files, folds) runs as a job on a worker, never inside a request.

One home for everything queued:

- ``Job`` rows say what was asked, by whom, for which unit, how far it is and where its result file lies; the
  organiser's jobs page reads them. A result is downloaded through a signed, expiring link (``download_token``),
  checked again against the organiser's subtree.
- Features declare what a kind of job does with ``job_kind`` (a function writing the result file) and what runs on
  a schedule with ``periodic``; create_app imports their ``jobs`` modules (``register_jobs``), so this module imports
  no feature.
- The queue is Huey: ``SqliteHuey`` in ``instance/jobs/`` by default, ``RedisHuey`` when ``REDIS_URL`` is set.
  ``flask jobs worker`` runs workers (and the scheduler unless ``--no-scheduler``), ``flask jobs scheduler`` only
  the scheduler. With ``JOBS_IMMEDIATE`` (the tests), a job runs in the process that committed it.

Never twice to a different result: a job is queued once its row is committed (``after_commit``), a worker *claims*
it with a conditional UPDATE (queued, or running with an expired lease) so two workers never run it at once, keeps
its lease alive from a heartbeat thread while it works, writes its file aside and renames it into place, and marks
it done only if the claim is still its own. A worker killed mid-job leaves a running job whose lease expires;
``rescue`` (at every worker start, every few seconds in each worker, and every minute from the scheduler) queues it
again, and the next attempt writes the same file from the start.
"""
from __future__ import annotations

import ctypes
import datetime as dt
import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db

_log = logging.getLogger(__name__)

#: States of a job, in order. A failed job is not retried by the scheduler; the organiser may start it again.
STATES = ("queued", "running", "done", "failed")
#: Attempts before a job that keeps dying (its worker killed each time) is marked failed.
MAX_ATTEMPTS = 3
SESSION_KEY = "hailong_jobs_pending"


class Job(db.Model):
    """One piece of queued work and its result file."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id", ondelete="SET NULL"), index=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"))
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: What the organiser sees on the jobs page (already in Vietnamese, e.g. "Phiếu sipas-counter · Xã A · 2026").
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    state: Mapped[str] = mapped_column(sa.String(10), default="queued", index=True)
    progress_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    progress_total: Mapped[int | None] = mapped_column(sa.BigInteger)
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result_path: Mapped[str | None] = mapped_column(sa.String(500))
    result_name: Mapped[str] = mapped_column(sa.String(200), default="")
    result_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def percent(self) -> int | None:
        """How far the job is, 0–100, when its size is known."""
        if self.state == "done":
            return 100
        if not self.progress_total:
            return None
        return max(0, min(99, int(100 * self.progress_done / self.progress_total)))

    @property
    def fmt(self) -> str:
        return self.result_name.rsplit(".", 1)[-1] if "." in self.result_name else ""


# --- what features declare -------------------------------------------------------------------------------------

#: Reports progress: rows done, and the total when known.
Progress = Callable[[int, "int | None"], None]


@dataclass(frozen=True)
class JobKind:
    """A kind of job: ``run(job, path, progress)`` writes the result to ``path`` (a fresh file) and returns nothing."""

    name: str
    run: Callable[[Job, Path, Progress], None]


@dataclass(frozen=True)
class Periodic:
    """A task the scheduler starts: ``run(now)`` does its work in its own transaction (committed after it)."""

    name: str
    run: Callable[[dt.datetime], Any]
    schedule: dict


KINDS: dict[str, JobKind] = {}
PERIODIC: dict[str, Periodic] = {}


def job_kind(name: str) -> Callable:
    """Declare what a kind of job does (decorator of ``run(job, path, progress)``)."""
    def register(run: Callable) -> Callable:
        KINDS[name] = JobKind(name, run)
        return run
    return register


def periodic(name: str, **schedule: str) -> Callable:
    """Declare a periodic task (decorator of ``run(now)``); ``schedule`` is a Huey crontab (minute="*/5", …)."""
    def register(run: Callable) -> Callable:
        PERIODIC[name] = Periodic(name, run, schedule)
        return run
    return register


# --- queueing ----------------------------------------------------------------------------------------------------

def enqueue(kind: str, *, owner_id: int | None, unit_id: int | None, params: dict, title: str, result_name: str,
            now: dt.datetime) -> Job:
    """Add a job (flushed; it is queued when the transaction commits) and return it.

    The same organiser asking again for the same thing while it is queued or running gets that job back, so a
    reloaded page or a double click does not start the work twice.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    for job in db.session.scalars(sa.select(Job).where(Job.kind == kind, Job.owner_id == owner_id,
                                                      Job.unit_id == unit_id, Job.state.in_(("queued", "running")))):
        if job.params == params:
            return job
    job = Job(kind=kind, owner_id=owner_id, unit_id=unit_id, params=params, title=title[:300],
              result_name=result_name[:200], state="queued", created_at=now)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(SESSION_KEY, []).append(job.id)
    return job


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _dispatch_committed(session: sa.orm.Session) -> None:
    pending = session.info.pop(SESSION_KEY, None)
    if pending:
        for job_id in pending:
            dispatch(job_id)


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _forget_rolled_back(session: sa.orm.Session) -> None:
    session.info.pop(SESSION_KEY, None)


def dispatch(job_id: int) -> None:
    """Put a committed job on the queue (or, with JOBS_IMMEDIATE, run it now in a fresh app context)."""
    app = current_app._get_current_object()
    if app.config.get("JOBS_IMMEDIATE"):
        execute(app, job_id)
        return
    try:
        app.extensions["hailong_jobs"].run_job(job_id)
    except Exception as error:  # queue unreachable: the row stays queued and rescue() queues it again
        _log.error("job %s not queued (rescue will retry): %s", job_id, error)


# --- running -------------------------------------------------------------------------------------------------------

def result_dir(app: Flask) -> Path:
    """Where result files live (shared storage when workers and web servers are different machines)."""
    path = Path(app.config.get("JOBS_DIR") or Path(app.instance_path) / "jobs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _lease(app: Flask) -> dt.timedelta:
    return dt.timedelta(seconds=float(app.config.get("JOBS_LEASE_SECONDS", 60)))


def claim(app: Flask, job_id: int, now: dt.datetime) -> int | None:
    """Take the job for this worker; return the attempt number, or None when it is done, failed or held elsewhere."""
    jobs = Job.__table__
    with db.engine.begin() as connection:
        taken = connection.execute(
            jobs.update()
            .where(jobs.c.id == job_id,
                   sa.or_(jobs.c.state == "queued", sa.and_(jobs.c.state == "running", jobs.c.lease_until < now)))
            .values(state="running", attempts=jobs.c.attempts + 1, lease_until=now + _lease(app), started_at=now,
                    error=None))
        if taken.rowcount != 1:
            return None
        return connection.execute(sa.select(jobs.c.attempts).where(jobs.c.id == job_id)).scalar_one()


def _update(job_id: int, attempt: int, **values: Any) -> bool:
    """Change our own claim of a job (nothing when another attempt took it over); say whether it was ours."""
    jobs = Job.__table__
    with db.engine.begin() as connection:
        changed = connection.execute(jobs.update().where(jobs.c.id == job_id, jobs.c.state == "running",
                                                         jobs.c.attempts == attempt).values(**values))
        return changed.rowcount == 1


class _Heartbeat(threading.Thread):
    """Keeps a claimed job's lease alive and writes its progress, from a thread of its own."""

    def __init__(self, app: Flask, job_id: int, attempt: int) -> None:
        super().__init__(daemon=True, name=f"job-{job_id}-heartbeat")
        self.app, self.job_id, self.attempt = app, job_id, attempt
        self.done, self.total = 0, None
        self.stopped = threading.Event()

    def progress(self, done: int, total: int | None = None) -> None:
        self.done = done
        if total is not None:
            self.total = total

    def run(self) -> None:
        interval = max(0.2, _lease(self.app).total_seconds() / 4)
        while not self.stopped.wait(interval):
            try:
                with self.app.app_context():
                    values = {"lease_until": utcnow() + _lease(self.app), "progress_done": self.done}
                    if self.total is not None:
                        values["progress_total"] = self.total
                    _update(self.job_id, self.attempt, **values)
            except Exception as error:  # the database went away for a moment: the next beat tries again
                _log.warning("job %s heartbeat failed: %s", self.job_id, error)


def execute(app: Flask, job_id: int) -> str | None:
    """Run one job to its end (in a fresh app context, so with a session of its own); return its final state."""
    with app.app_context():
        attempt = claim(app, job_id, utcnow())
        if attempt is None:
            return None
        job = db.session.get(Job, job_id)
        if attempt > MAX_ATTEMPTS:
            _update(job_id, attempt, state="failed", finished_at=utcnow(), lease_until=None,
                    error="too many attempts")
            return "failed"
        kind = KINDS.get(job.kind)
        directory = result_dir(app)
        suffix = f".{job.fmt}" if job.fmt else ""
        final = directory / f"job-{job_id}{suffix}"
        draft = directory / f"job-{job_id}.attempt-{attempt}.part"
        beat = _Heartbeat(app, job_id, attempt)
        beat.start()
        try:
            if kind is None:
                raise LookupError(f"unknown job kind {job.kind!r}")
            kind.run(job, draft, beat.progress)
            db.session.rollback()  # a job only reads (and logs): what it logged is committed below
            os.replace(draft, final)
        except Exception as error:
            db.session.rollback()
            beat.stopped.set()
            draft.unlink(missing_ok=True)
            _log.exception("job %s (%s) failed", job_id, job.kind)
            _update(job_id, attempt, state="failed", finished_at=utcnow(), lease_until=None,
                    error=f"{type(error).__name__}: {error}"[:2000])
            return "failed"
        finally:
            beat.stopped.set()
        for leftover in directory.glob(f"job-{job_id}.attempt-*.part"):
            leftover.unlink(missing_ok=True)  # what killed attempts left behind
        done = _update(job_id, attempt, state="done", finished_at=utcnow(), lease_until=None,
                       result_path=str(final), result_bytes=final.stat().st_size,
                       progress_done=beat.done, progress_total=beat.total if beat.total is not None else beat.done)
        return "done" if done else None


def run_periodic(app: Flask, name: str) -> None:
    """Run one periodic task in its own app context and transaction."""
    task = PERIODIC[name]
    with app.app_context():
        try:
            outcome = task.run(utcnow())
            db.session.commit()
            _log.info("periodic %s: %s", name, outcome)
        except Exception:
            db.session.rollback()
            _log.exception("periodic %s failed", name)


def rescue(app: Flask, now: dt.datetime) -> list[int]:
    """Queue again the jobs whose worker died (lease expired) or whose queue message was lost; return their ids."""
    jobs = Job.__table__
    with app.app_context():
        with db.engine.connect() as connection:
            ids = list(connection.execute(sa.select(jobs.c.id).where(sa.or_(
                sa.and_(jobs.c.state == "running", jobs.c.lease_until < now),
                sa.and_(jobs.c.state == "queued", jobs.c.created_at < now - _lease(app)))).order_by(jobs.c.id))
                .scalars())
        for job_id in ids:
            _log.warning("job %s queued again (its worker stopped or its message was lost)", job_id)
            dispatch(job_id)
    return ids


def purge_results(app: Flask, now: dt.datetime) -> int:
    """Delete finished jobs older than JOBS_KEEP_DAYS with their files; return how many."""
    keep = dt.timedelta(days=float(app.config.get("JOBS_KEEP_DAYS", 7)))
    removed = 0
    for job in db.session.scalars(sa.select(Job).where(Job.state.in_(("done", "failed")),
                                                      Job.finished_at < now - keep)):
        if job.result_path:
            Path(job.result_path).unlink(missing_ok=True)
        db.session.delete(job)
        removed += 1
    db.session.flush()
    return removed


# --- downloads -----------------------------------------------------------------------------------------------------

def _serializer(app: Flask) -> URLSafeTimedSerializer:
    fallbacks = list(app.config.get("SECRET_KEY_FALLBACKS") or ())
    return URLSafeTimedSerializer([*fallbacks, app.config["SECRET_KEY"]], salt="hailong.job-download")


def download_token(app: Flask, job: Job) -> str:
    """A link token for a finished job's file, for the job's unit; it expires after JOBS_LINK_SECONDS."""
    return _serializer(app).dumps({"job": job.id, "unit": job.unit_id})


class LinkExpired(Exception):
    """The link was genuine but is too old."""


def read_download_token(app: Flask, token: str) -> dict | None:
    """Return the link's {job, unit}, None when it is not ours; raise LinkExpired when it is ours but too old."""
    try:
        data = _serializer(app).loads(token, max_age=int(app.config.get("JOBS_LINK_SECONDS", 3600)))
    except SignatureExpired:
        raise LinkExpired() from None
    except BadSignature:
        return None
    return data if isinstance(data, dict) and isinstance(data.get("job"), int) else None


# --- the queue ---------------------------------------------------------------------------------------------------

class Queue:
    """The Huey instance of an app (made on first use), its task that runs jobs and one task per periodic entry."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.store = "redis" if app.config.get("REDIS_URL") else "sqlite"
        self._huey = None
        self._lock = threading.Lock()

    @property
    def huey(self):
        with self._lock:
            if self._huey is None:
                self._huey = self._build()
            return self._huey

    def _build(self):
        from huey import RedisHuey, SqliteHuey, crontab

        app = self.app
        if self.store == "redis":
            huey = RedisHuey(app.config["JOBS_QUEUE_NAME"], url=app.config["REDIS_URL"], results=False)
        else:
            huey = SqliteHuey(app.config["JOBS_QUEUE_NAME"], filename=str(result_dir(app) / "queue.db"),
                              results=False)
        self._run = huey.task(name="hailong.run_job", retries=2, retry_delay=2)(lambda job_id: execute(app, job_id))
        huey.periodic_task(crontab(), name="hailong.rescue")(lambda: rescue(app, utcnow()))
        for name, task in PERIODIC.items():
            huey.periodic_task(crontab(**task.schedule), name=f"hailong.{name}")(
                lambda name=name: run_periodic(app, name))
        return huey

    def run_job(self, job_id: int) -> None:
        self.huey  # noqa: B018  (builds the task)
        self._run(job_id)

    def pending(self) -> int:
        """Messages waiting in the queue (raises when the store is unreachable)."""
        return self.huey.pending_count()


def init_app(app: Flask) -> None:
    """Attach the app's queue (nothing connects until something is queued or a worker starts)."""
    app.extensions["hailong_jobs"] = Queue(app)


def queue(app: Flask) -> Queue:
    return app.extensions["hailong_jobs"]


# --- commands ------------------------------------------------------------------------------------------------------

#: ioprio_set's system call number by machine (Linux); elsewhere the I/O priority is left to the kernel.
_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "i686": 289, "armv7l": 314}
_IOPRIO_WHO_PROCESS, _IOPRIO_CLASS_BEST_EFFORT, _IOPRIO_CLASS_SHIFT = 1, 2, 13


def lower_priority(niceness: int) -> str:
    """Run this thread, and every thread it starts afterwards, at CPU ``niceness`` and the matching best-effort I/O
    priority (what ``nice -n N ionice -c2 -n (N+20)/5`` would give), so that on cores shared with the web servers
    a citizen's page is served first while an export runs. Return what was set, for the start-up message.

    On Linux both priorities belong to a thread and are inherited by the threads it starts: call this before the
    consumer starts its workers. Niceness can only go up here (an unprivileged process cannot lower it again).
    """
    if niceness <= 0:
        return ""
    current = os.getpriority(os.PRIO_PROCESS, 0)
    os.setpriority(os.PRIO_PROCESS, 0, min(19, max(current, niceness)))
    set_to = os.getpriority(os.PRIO_PROCESS, 0)
    grouped = ""
    # With the kernel's autogroup scheduling (Debian's default), a process heading its own session (a systemd
    # service, a worker started with setsid) shares the CPU with other sessions by its *group's* niceness, and its
    # own is only weighed within the group: lower the group's too. Not when the worker shares a session (`make
    # run`), which would lower the web server with it.
    autogroup = Path("/proc/self/autogroup")
    if os.getsid(0) == os.getpid() and autogroup.exists():
        try:
            autogroup.write_text(str(set_to))
            grouped = ", autogroup"
        except OSError as error:
            _log.warning("autogroup niceness not set: %s", error)
    level = min(7, (set_to + 20) // 5)  # the kernel's own mapping from niceness to a best-effort level
    number = _IOPRIO_SET.get(platform.machine()) if platform.system() == "Linux" else None
    if number is not None:
        libc = ctypes.CDLL(None, use_errno=True)
        priority = (_IOPRIO_CLASS_BEST_EFFORT << _IOPRIO_CLASS_SHIFT) | level
        if libc.syscall(number, _IOPRIO_WHO_PROCESS, 0, priority) == 0:
            return f"nice {set_to}{grouped}, I/O best-effort {level}"
    return f"nice {set_to}{grouped}"


jobs_group = AppGroup("jobs", help="Hàng đợi tác vụ: tiến trình xử lý (worker), bộ lập lịch, danh sách tác vụ.")


def _rescue_loop(app: Flask, stop: threading.Event) -> None:
    interval = max(0.5, _lease(app).total_seconds() / 2)
    while not stop.wait(interval):
        try:
            rescue(app, utcnow())
        except Exception as error:  # the database is away for a moment: try again at the next round
            _log.warning("rescue failed: %s", error)


@jobs_group.command("worker")
@click.option("--workers", default=2, show_default=True, help="Số luồng chạy tác vụ.")
@click.option("--no-scheduler", is_flag=True, help="Không chạy bộ lập lịch (khi `flask jobs scheduler` chạy riêng).")
@with_appcontext
def worker_command(workers: int, no_scheduler: bool) -> None:
    """Run jobs from the queue (and, unless --no-scheduler, start the periodic tasks) until stopped."""
    from app.health import startup_problems

    app = current_app._get_current_object()
    problems = startup_problems(app)
    if problems:
        raise click.ClickException("Tiến trình xử lý không khởi động: " + "; ".join(problems) + ".")
    priority = lower_priority(int(app.config.get("JOB_NICENESS", 10)))
    consumer = queue(app).huey.create_consumer(workers=max(1, workers), periodic=not no_scheduler,
                                               worker_type="thread", check_worker_health=True)
    rescue(app, utcnow())
    stop = threading.Event()
    threading.Thread(target=_rescue_loop, args=(app, stop), daemon=True, name="jobs-rescue").start()
    click.echo(f"Tiến trình xử lý tác vụ đang chạy ({queue(app).store}, {max(1, workers)} luồng"
               + (", có bộ lập lịch" if not no_scheduler else "") + (f"; ưu tiên thấp: {priority}" if priority else "")
               + ").")
    try:
        consumer.run()
    finally:
        stop.set()


@jobs_group.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Only start the periodic tasks on time (workers elsewhere run them); run exactly one per deployment."""
    from huey.consumer import Scheduler

    app = current_app._get_current_object()
    huey = queue(app).huey
    click.echo(f"Bộ lập lịch đang chạy ({queue(app).store}): " + ", ".join(["rescue", *PERIODIC]) + ".")
    stop = threading.Event()
    scheduler = Scheduler(huey, stop, 1, True)
    try:
        while not stop.is_set():
            scheduler.loop()
    except KeyboardInterrupt:
        pass


@jobs_group.command("list")
@click.option("--state", type=click.Choice(STATES))
@with_appcontext
def list_command(state: str | None) -> None:
    """List the last 50 jobs (id, kind, state, attempts, progress, file)."""
    query = sa.select(Job).order_by(Job.id.desc()).limit(50)
    if state:
        query = query.where(Job.state == state)
    for job in db.session.scalars(query):
        click.echo(f"{job.id}\t{job.kind}\t{job.state}\t{job.attempts}\t{job.progress_done}/"
                   f"{job.progress_total or '?'}\t{job.result_path or ''}\t{job.error or ''}")


@jobs_group.command("probe")
@click.option("--seconds", default=1.0, show_default=True, help="Thời gian tác vụ thử chạy.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Chờ tác vụ xong.")
@with_appcontext
def probe_command(seconds: float, wait: bool) -> None:
    """Queue a probe job (writes a small file after `seconds`) to check that workers run; print its id."""
    job = enqueue("probe", owner_id=None, unit_id=None, params={"seconds": seconds}, title="probe",
                  result_name="probe.txt", now=utcnow())
    db.session.commit()
    click.echo(str(job.id))
    if not wait:
        return
    deadline = time.monotonic() + seconds + 60
    while time.monotonic() < deadline:
        db.session.expire_all()
        found = db.session.get(Job, job.id)
        if found.state in ("done", "failed"):
            db.session.rollback()
            if found.state == "failed":
                raise click.ClickException(f"Tác vụ thử {job.id} lỗi: {found.error}")
            click.echo(f"Tác vụ thử {job.id} đã xong.")
            return
        db.session.rollback()
        time.sleep(0.2)
    raise click.ClickException(f"Tác vụ thử {job.id} chưa chạy sau {seconds + 60:.0f} giây: "
                               "có tiến trình `flask jobs worker` nào đang chạy không?")


@job_kind("probe")
def _probe(job: Job, path: Path, progress: Progress) -> None:
    """Wait the given seconds in steps (reporting progress), then write a fixed text: the same on every attempt."""
    steps = 20
    for step in range(steps):
        progress(step, steps)
        time.sleep(float(job.params.get("seconds", 1)) / steps)
    progress(steps, steps)
    path.write_text(f"probe {job.id} ok\n", encoding="utf-8")


COMMANDS = (jobs_group,)
