"""The multi-node stack, for real: nginx (Debian's nginx-light) in front of two gunicorn nodes, a job worker and the
scheduler, on one PostgreSQL database and one Redis. Skips cleanly without nginx, PostgreSQL or Redis (a failure
under STRICT=1)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import POSTGRES_ADMIN_URL, unavailable
from tests.e2e.server import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
REDIS_URL = os.environ.get("TEST_MULTINODE_REDIS_URL", "redis://127.0.0.1:6379/12")

NGINX_CONF = """
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {work}/nginx-access.log;
    client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
    upstream hailong {{ server 127.0.0.1:{node1}; server 127.0.0.1:{node2}; }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 6m;
        location / {{
            proxy_pass http://hailong;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@dataclass
class Stack:
    """The running stack: nginx's URL, the nodes' ports, the environment every process shares."""

    url: str
    nodes: list[int]
    env: dict[str, str]
    work: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def flask(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        result = subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, f"flask {' '.join(args)}: {result.stderr[-3000:]}"
        return result

    def spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = (self.work / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)
        return self.processes[name]

    def start_worker(self) -> subprocess.Popen:
        return self.spawn("worker", [str(VENV_BIN / "flask"), "--app", "app", "jobs", "worker", "--no-scheduler"])

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for name, process in list(self.processes.items()):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM if name != "nginx" else signal.SIGQUIT)
        for process in self.processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}"
                         for path in sorted(self.work.glob("*.log")))


def _wait_ready(url: str, seconds: float, stack: Stack) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready within {seconds} s\n{stack.logs()}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    if NGINX is None:
        unavailable("nginx is not installed (Debian: apt-get install nginx-light)")
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as error:
        unavailable(f"Redis is not reachable at {REDIS_URL}: {error}")
    name = f"hailong_multinode_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error.orig}")
    database_url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    work = tmp_path_factory.mktemp("multinode")
    port, node1, node2 = free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HAILONG_")}
    env.update({"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "SECRET_KEY": "multinode-secret-key",
                "BASE_URL": f"http://127.0.0.1:{port}", "TRUSTED_PROXIES": "1",
                "HAILONG_JOBS_DIR": str(work / "jobs"), "HAILONG_JOBS_QUEUE_NAME": name,
                "HAILONG_JOBS_LEASE_SECONDS": "2", "HAILONG_AUTH_LOGIN_RATE_LIMIT": "8 per minute",
                "PYTHONUNBUFFERED": "1"})
    stack = Stack(f"http://127.0.0.1:{port}", [node1, node2], env, work)
    try:
        stack.flask("init-db")
        for number, node in enumerate((node1, node2), 1):
            stack.spawn(f"node{number}", [str(VENV_BIN / "gunicorn"), "--workers", "2", "--bind",
                                          f"127.0.0.1:{node}", "--timeout", "30", "--no-control-socket",
                                          "app.wsgi:application"])
        stack.start_worker()
        stack.spawn("scheduler", [str(VENV_BIN / "flask"), "--app", "app", "jobs", "scheduler"])
        (work / "nginx.conf").write_text(NGINX_CONF.format(work=work, port=port, node1=node1, node2=node2))
        stack.spawn("nginx", [NGINX, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"])
        for node in (node1, node2):
            _wait_ready(f"http://127.0.0.1:{node}/readyz", 90, stack)
        _wait_ready(f"{stack.url}/readyz", 30, stack)
        yield stack
    finally:
        stack.stop()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def stack_app(stack):
    """An app on the stack's database and Redis, for setting up data (factories) and reading it back."""
    from app import create_app
    from app.cache import caches
    from app.extensions import limiter

    saved = (limiter._storage, limiter._limiter)
    config = {"SQLALCHEMY_DATABASE_URI": stack.env["DATABASE_URL"], "REDIS_URL": REDIS_URL,
              "SECRET_KEY": stack.env["SECRET_KEY"], "BASE_URL": stack.env["BASE_URL"],
              "JOBS_DIR": stack.env["HAILONG_JOBS_DIR"], "JOBS_QUEUE_NAME": stack.env["HAILONG_JOBS_QUEUE_NAME"]}
    app = create_app(config)
    # The limiter and the cache registry are process-wide: the other suites of this run keep theirs.
    limiter._storage, limiter._limiter = saved
    caches.connect(None)
    return app
