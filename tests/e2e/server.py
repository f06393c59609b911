"""A real HàiLòng server for browser and reliability tests: gunicorn on a free loopback port, its own SQLite file."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LiveServer:
    """A gunicorn master serving the app, the environment it runs with and a way to run `flask` beside it."""

    port: int
    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    worker: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return Path(self.env["DATABASE_URL"].removeprefix("sqlite:///"))

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run `flask --app app ARGS` against this server's database and settings."""
        result = subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=300)
        if check and result.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result

    def start(self, workers: int = 2, extra: tuple[str, ...] = ()) -> None:
        """Start gunicorn and wait until /healthz answers."""
        command = [str(VENV_BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}",
                   "--graceful-timeout", "2", "--timeout", "30", "--no-control-socket", *extra, "app:create_app()"]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        # A job worker beside it, as `make run` starts one: exports and report files are jobs.
        with open(self.workdir / "worker.log", "ab") as log:
            self.worker = subprocess.Popen([str(VENV_BIN / "flask"), "--app", "app", "jobs", "worker"], cwd=ROOT,
                                           env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if request("GET", self.url + "/healthz").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in 30 s:\n{self.log.read_text()}")

    def worker_pids(self) -> list[int]:
        """Return the pids of the gunicorn workers (children of the master)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def stop(self) -> None:
        """Stop the worker and gunicorn (TERM, then KILL after 10 s)."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGINT)
            try:
                self.worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=5)
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def prepare_server(workdir: Path, responses: int = 400, **settings: str) -> LiveServer:
    """Create a migrated SQLite database with the demo province and return the unstarted server."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HAILONG_", "FLASK_"))}
    env.update({
        "DATABASE_URL": f"sqlite:///{workdir / 'live.db'}",
        "SECRET_KEY": "live-server-test-secret-key",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HAILONG_JOBS_DIR": str(workdir / "jobs"),
        **settings,
    })
    env.pop("REDIS_URL", None)
    server = LiveServer(port, workdir, env)
    server.flask("init-db")
    server.flask("seed-demo", "--responses", str(responses), "--seed", "7")
    return server


def request(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 10) -> http.client.HTTPResponse:
    """Send one HTTP request without following redirects; return the response with its body read."""
    rest = url.removeprefix("http://")
    host, _, path = rest.partition("/")
    connection = http.client.HTTPConnection(host, timeout=timeout)
    try:
        connection.request(method, "/" + path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.body = response.read()
        return response
    finally:
        connection.close()
