"""Shared benchmark machinery: result entries, gunicorn servers, wrk runs, temporary databases, CPU accounting.

Every load test makes the three checks of reference/perf-baseline.md: the port is free before the server
starts and the server's own master is alive after the run; the page content is checked before measuring; and
rows stored match the requests completed (the survey and contest sections do the row check themselves).
"""
from __future__ import annotations

import contextlib
import json
import operator
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / ".work"
LUA = BENCH / "lua"
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")
FLASK = str(Path(PYTHON).parent / "flask")
HOST = "127.0.0.1"
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
#: Every server in every section runs the same way: perf-baseline.md found 2 sync workers best on 2 cores.
GUNICORN_ARGS = ("-k", "sync", "-w", "2", "--log-level", "warning", "--no-control-socket")
#: Concurrent clients and wrk threads of every HTTP cell (issue 2 asks for p99 at 32 clients).
CONNECTIONS = 32
THREADS = 2


#: Things that live for the whole bench run (databases shared by sections); run.py closes it at the end.
RESOURCES = contextlib.ExitStack()


class BenchError(RuntimeError):
    """A measurement that cannot be trusted (stale server, wrong page, lost rows): the section stops."""


# ---------------------------------------------------------------------------------------------------- entries

_OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


@dataclass(frozen=True)
class Entry:
    """One figure of results.json; `ratio` is oriented so that higher is better (see bench/README.md)."""

    name: str
    value: float | None
    unit: str
    reference: float | None
    ratio: float | None
    target: str | None
    ok: bool | None
    note: str | None = None

    def as_dict(self) -> dict:
        """Return the entry in the results.json shape."""
        return {"name": self.name, "value": self.value, "unit": self.unit, "reference": self.reference,
                "ratio": self.ratio, "target": self.target, "ok": self.ok, "note": self.note}


def entry(name: str, value: float | None, unit: str, *, reference: float | None = None, ratio: float | None = None,
          target: str | None = None, note: str | None = None) -> Entry:
    """Build an entry and judge it against its target ("value < 100", "ratio >= 0.30", or None)."""
    ok = None
    if target is not None:
        subject, op, bound = target.split()
        measured = value if subject == "value" else ratio
        ok = measured is not None and _OPERATORS[op](measured, float(bound))
    return Entry(name, _round(value), unit, _round(reference), _round(ratio, 4), target, ok, note)


def failed_entry(name: str, unit: str, target: str | None, reason: str) -> Entry:
    """An entry whose measurement could not be made: not ok, with the reason."""
    return Entry(name, None, unit, None, None, target, False if target else None, reason)


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None:
        return None
    return round(float(value), digits)


def throughput_ratio(value: float, reference: float) -> float:
    """Ratio for a rate: value / reference (higher is better)."""
    return value / reference


def speedup_ratio(seconds: float, reference_seconds: float) -> float:
    """Ratio for a duration: reference / value, i.e. how many times faster (higher is better)."""
    return reference_seconds / seconds


def spread(values: Sequence[float], fmt: str = "{:,.0f}") -> str:
    """Describe repeated measurements: "median of 3 (min–max: a–b)"."""
    if len(values) == 1:
        return "1 run"
    return f"median of {len(values)} (min–max {fmt.format(min(values))}–{fmt.format(max(values))})"


def median(values: Sequence[float]) -> float:
    """Median of repeated measurements."""
    return statistics.median(values)


# ---------------------------------------------------------------------------------------------------- CPU

def _cpu_ticks_total() -> tuple[int, int]:
    """Return (busy, total) jiffies of the whole machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _process_ticks(pid: int) -> int:
    """Return utime + stime of a process in jiffies (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def children_of(pid: int) -> list[int]:
    """Return the direct children of a process."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            found.extend(int(x) for x in task.read_text().split())
    return found


class CpuWatch:
    """Measure the machine's busy CPU during a run and how much of it was not ours (other workloads)."""

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)

    def __enter__(self) -> CpuWatch:
        self._busy0, _ = _cpu_ticks_total()
        self._ours0 = sum(_process_ticks(pid) for pid in self.pids)
        self._children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        elapsed = time.perf_counter() - self._t0
        busy, _ = _cpu_ticks_total()
        ours = sum(_process_ticks(pid) for pid in self.pids) - self._ours0
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        #: CPU of the load generator (wrk is our child), in cores.
        self.client_cores = ((children.ru_utime - self._children0.ru_utime)
                             + (children.ru_stime - self._children0.ru_stime)) / elapsed
        self.server_cores = ours / ticks / elapsed
        self.machine_cores = (busy - self._busy0) / ticks / elapsed
        self.foreign_cores = max(0.0, self.machine_cores - self.server_cores - self.client_cores)


#: Before each measured cell, wait up to this many seconds for other workloads to calm down (run.py --quiet-wait).
QUIET_WAIT = 0.0
#: Other processes' CPU (cores) below which the machine counts as quiet.
QUIET_CORES = 0.15


def wait_for_quiet(pids: Sequence[int], limit: float) -> float:
    """Wait (in 1 s samples, at most `limit` s) until processes other than `pids` use < QUIET_CORES; return
    the other processes' CPU in the last sample."""
    deadline = time.monotonic() + limit
    while True:
        with CpuWatch(pids) as cpu:
            time.sleep(1.0)
        if cpu.foreign_cores < QUIET_CORES or time.monotonic() >= deadline:
            return cpu.foreign_cores


def quiet_machine_note(foreign: Sequence[float]) -> str | None:
    """Warn when other workloads used a noticeable share of the 2 cores during the measurements."""
    worst = max(foreign, default=0.0)
    if worst < 0.1:
        return None
    return f"other processes used up to {worst:.2f} core during runs: figures understate this machine"


# ---------------------------------------------------------------------------------------------------- servers

def port_is_free(port: int) -> bool:
    """Tell whether nothing listens on HOST:port (a stale server would silently answer a benchmark)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) != 0


def pick_port() -> int:
    """Return a port that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def fetch(url: str, data: bytes | None = None, headers: dict | None = None,
          timeout: float = 10.0) -> tuple[int, dict, str]:
    """GET (or POST `data`) without following redirects; return status, headers, body text."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode("utf-8", "replace")


@dataclass
class Server:
    """A gunicorn master started by the bench, with its workers; stopped by its PID."""

    name: str
    app: str
    env: dict
    port: int = field(default_factory=pick_port)
    chdir: Path = ROOT
    #: Processes that work for this server and count as ours in the CPU accounting (database backends).
    helper_pids: Callable[[], list[int]] | None = None
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, ready_path: str) -> None:
        """Start gunicorn after checking that the port is free; wait until both workers have loaded the
        application (bench/gunicorn_ready.py) and `ready_path` answers."""
        if not port_is_free(self.port):
            raise BenchError(f"port {self.port} is already in use: refusing to measure someone else's server")
        ready_dir = WORK / f"ready-{self.name}-{self.port}"
        shutil.rmtree(ready_dir, ignore_errors=True)
        ready_dir.mkdir(parents=True)
        log = open(WORK / f"gunicorn-{self.name}.log", "w")
        self.process = subprocess.Popen(
            [GUNICORN, *GUNICORN_ARGS, "-c", str(BENCH / "gunicorn_ready.py"), "--chdir", str(self.chdir),
             "-b", f"{HOST}:{self.port}", self.app],
            env={**os.environ, **self.env, "BENCH_READY_DIR": str(ready_dir)}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name}: gunicorn exited with {self.process.returncode}; see {log.name}")
            workers = {str(pid) for pid in children_of(self.process.pid)}
            if len(workers) == 2 and workers <= {path.name for path in ready_dir.iterdir()}:
                with contextlib.suppress(OSError):
                    status, _, _ = fetch(self.base + ready_path, timeout=5)
                    if status < 500:
                        shutil.rmtree(ready_dir, ignore_errors=True)
                        return
            time.sleep(0.2)
        raise BenchError(f"{self.name}: gunicorn workers were not ready within 120 s")

    def pids(self) -> list[int]:
        """The master, its workers and their helpers."""
        return [self.process.pid, *children_of(self.process.pid), *(self.helper_pids() if self.helper_pids else [])]

    def check_alive(self) -> None:
        """Fail when our own master died during a run (the answers would have come from elsewhere)."""
        if self.process is None or self.process.poll() is not None:
            raise BenchError(f"{self.name}: our gunicorn master is gone; the run measured nothing of ours")
        if len(children_of(self.process.pid)) != 2:
            raise BenchError(f"{self.name}: gunicorn does not have its 2 workers any more")

    def stop(self) -> None:
        """Stop the master by its PID (TERM, then KILL after 20 s) and wait until the port is free."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        for _ in range(50):
            if port_is_free(self.port):
                return
            time.sleep(0.1)


@contextlib.contextmanager
def serve(name: str, app: str, env: dict, ready_path: str, chdir: Path = ROOT,
          helper_pids: Callable[[], list[int]] | None = None) -> Iterator[Server]:
    """Run a gunicorn server for the duration of the block; it is always stopped afterwards."""
    server = Server(name, app, env, chdir=chdir, helper_pids=helper_pids)
    try:
        server.start(ready_path)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------------- wrk

def ensure_wrk() -> str:
    """Return the wrk executable, installing Debian's package when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing it with apt-get (Debian package wrk)", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
        if subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update"], check=False, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise BenchError("wrk (HTTP load generator) is not installed: run `sudo apt-get install -y wrk` "
                     "(Debian/Ubuntu) or build it from https://github.com/wg/wrk, then `make bench` again")


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured (from the JSON that bench/lua/common.lua prints in done())."""

    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: dict
    threads: list
    client_cores: float
    server_cores: float
    foreign_cores: float

    @property
    def error_count(self) -> int:
        """Socket errors (connect, read, write, timeout) plus HTTP statuses >= 400."""
        return sum(self.errors.values())


def run_wrk(server: Server, path: str, script: str, duration: float, args: Sequence[str] = (),
            connections: int = CONNECTIONS, measured: bool = True, threads: int = THREADS) -> WrkResult:
    """Load `path` with wrk (`threads` threads, `connections` clients, bounded duration); check our server.

    A measured run first waits (up to QUIET_WAIT s) for a quiet machine; warm-ups and token harvests do not.
    """
    wrk = ensure_wrk()
    if measured and QUIET_WAIT:
        wait_for_quiet(server.pids(), QUIET_WAIT)
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "5s",
               "-s", script, server.base + path, "--", *args]
    server.check_alive()
    with CpuWatch(server.pids()) as cpu:
        completed = subprocess.run(command, cwd=LUA, capture_output=True, text=True, timeout=duration + 120)
    server.check_alive()
    if completed.returncode != 0:
        raise BenchError(f"wrk failed ({completed.returncode}): {(completed.stderr + completed.stdout).strip()[-800:]}")
    match = re.search(r"^BENCH-JSON (.*)$", completed.stdout, re.MULTILINE)
    if match is None:
        raise BenchError(f"wrk printed no summary: {completed.stdout[-500:]} {completed.stderr[-500:]}")
    data = json.loads(match.group(1))
    seconds = data["duration_us"] / 1e6
    # Fillers (bench/lua/post.lua) keep a sync worker from waiting on a silent socket; they are not measured.
    requests = data["requests"] - sum(thread.get("fillers", 0) for thread in data.get("threads", []))
    return WrkResult(
        requests=requests, seconds=seconds, rate=requests / seconds,
        p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000, errors=data["errors"],
        threads=data.get("threads", []), client_cores=cpu.client_cores, server_cores=cpu.server_cores,
        foreign_cores=cpu.foreign_cores,
    )


# ---------------------------------------------------------------------------------------------------- databases

def bench_secret() -> str:
    """A throw-away SECRET_KEY for the servers of one bench run (never the instance key)."""
    return "bench-" + secrets.token_urlsafe(32)


def sqlite_url(name: str) -> str:
    """Return the URL of a fresh SQLite file under bench/.work/ (any old file of that name is removed)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{path}"


def _admin_engine():
    import sqlalchemy as sa

    return sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def postgres_available() -> str | None:
    """Return None when the PostgreSQL server answers, else the reason it does not."""
    import sqlalchemy as sa

    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        return f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {str(error.orig).strip()[:200]}"
    finally:
        engine.dispose()
    return None


def postgres_backend_pids(url: str) -> list[int]:
    """Return the PostgreSQL backends connected to the database of `url` (they work for our server)."""
    import sqlalchemy as sa

    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                                           {"name": url.rsplit("/", 1)[1]}).scalars())
    finally:
        engine.dispose()


@contextlib.contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """Create a fresh PostgreSQL database for the block and drop it afterwards (even after a failure)."""
    import sqlalchemy as sa

    name = f"hailong_bench_{label}_{uuid.uuid4().hex[:8]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@contextlib.contextmanager
def database(kind: str, label: str) -> Iterator[str]:
    """Yield the URL of a fresh database of `kind` ("sqlite" or "postgresql"), removed afterwards."""
    if kind == "postgresql":
        with postgres_database(label) as url:
            yield url
        return
    url = sqlite_url(label)
    try:
        yield url
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)


def run_child(script: str, args: Sequence[str]) -> tuple[dict, float]:
    """Run `python SCRIPT ARGS` alone; return the JSON of its last output line and its peak RSS in MB (wait4)."""
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen([PYTHON, script, *args], cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise BenchError(f"{script} {args[0]} failed: {err.read().decode()[-1500:]}")
        return json.loads(out.read().decode().strip().splitlines()[-1]), usage.ru_maxrss / 1024


def run_python(args: Sequence[str], env: dict | None = None, timeout: float = 3600) -> str:
    """Run a bench helper with the venv's Python from the repository root; return its stdout."""
    completed = subprocess.run([PYTHON, *args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True,
                               text=True, timeout=timeout)
    if completed.returncode != 0:
        raise BenchError(f"{' '.join(args[:2])} failed: {completed.stderr.strip()[-1500:]}")
    return completed.stdout
