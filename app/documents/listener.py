"""A resident LibreOffice per job worker process, so a PDF costs a conversion (about a second) and not a cold start.

``soffice --convert-to`` starts LibreOffice for every document: 2–4 s on the 2-core machine before any work. A
worker instead keeps one LibreOffice listening on a local socket, driven through unoserver (PyPI): its server runs
under the system ``python3``, the one Debian's python3-uno makes ``import uno`` work for, and answers XML-RPC on a
port of 127.0.0.1; our side only speaks XML-RPC. A PDF job starts the listener (``warm_up``) before it gathers the
report, so LibreOffice starts while the database works; the conversion waits for it (at most START_WAIT) rather than
start a second, cold LibreOffice on the same cores, and takes the cold path (``app.documents.pdf``) only when it
does not answer. One conversion at a time per listener (LibreOffice's document model is single-threaded); one that
fails or outlasts its timeout stops the listener, which the next conversion starts again. Processes never share a
listener: a forked worker starts its own.
"""
from __future__ import annotations

import atexit
import importlib.metadata
import logging
import os
import shutil
import signal
import socket
# The listener is started with a fixed argument list, never through a shell.
import subprocess  # nosec B404
import tempfile
import threading
import time
# XML-RPC with our own child process on 127.0.0.1 only, never with anything a user sends.
import xmlrpc.client  # nosec B411
from pathlib import Path

log = logging.getLogger(__name__)

#: Longest one conversion may take on the listener before it is stopped and the cold path is used.
CONVERT_TIMEOUT = 30
#: Longest a conversion waits for a starting listener (it answers 4–6 s after its start) before the cold path.
START_WAIT = 15
#: Longest a ping of the listener may take (it answers in milliseconds once up).
PING_TIMEOUT = 2
#: A listener that died without ever answering is not started again before this many seconds.
START_BACKOFF = 60
#: Seconds a stopped listener gets to exit before it is killed.
STOP_GRACE = 5
#: unoserver's XML-RPC interface version this client speaks.
API_VERSION = "3"
#: The system Python that can import Debian's python3-uno (a virtualenv's Python cannot).
SYSTEM_PYTHON = "/usr/bin/python3"


class ListenerUnavailable(Exception):
    """The listener cannot convert now (not installed, still starting, died or failed); use the cold path."""


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def make_connection(self, host):  # noqa: ANN001, ANN202 (xmlrpc's own signature)
        connection = super().make_connection(host)
        connection.timeout = self._timeout
        return connection


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _unoserver_path(folder: Path) -> Path:
    """Fill ``folder`` with links to unoserver and its metadata only, for the system Python's PYTHONPATH.

    Putting the whole virtualenv there would mix its compiled packages into a different interpreter.
    """
    distribution = importlib.metadata.distribution("unoserver")
    package = Path(str(distribution.locate_file("unoserver")))
    metadata = Path(str(distribution._path))  # type: ignore[attr-defined]  # the .dist-info folder
    folder.mkdir()
    (folder / "unoserver").symlink_to(package)
    (folder / metadata.name).symlink_to(metadata)
    return folder


def _signal_group(leader: int, sig: int) -> None:
    try:
        os.killpg(leader, sig)
    except ProcessLookupError:
        pass


class Listener:
    """One resident LibreOffice behind unoserver: started on demand, restarted when dead, one conversion at a time."""

    def __init__(self, soffice: str, python: str = SYSTEM_PYTHON) -> None:
        self.soffice = soffice
        self.python = python
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._lock = threading.Lock()
        self._folder: Path | None = None
        #: The process that owns the listener: a forked child inherits this object (and its exit hook) but must
        #: neither use nor stop its parent's LibreOffice.
        self._owner = os.getpid()
        self._started = 0.0
        self._answered = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the listener unless it is running (returns at once; it answers a few seconds later)."""
        if self.running:
            return
        if self.process is not None and not self._answered and time.monotonic() - self._started < START_BACKOFF:
            # It died without ever answering (python3-uno missing, a broken profile): not at every document.
            raise ListenerUnavailable("the LibreOffice listener could not start; it is tried again later")
        self.stop()
        if not os.access(self.python, os.X_OK):
            raise ListenerUnavailable(f"{self.python} is missing")
        self._folder = Path(tempfile.mkdtemp(prefix=f"hailong-listener-{os.getpid()}-"))
        self.port, uno_port = _free_port(), _free_port()
        command = [self.python, "-m", "unoserver.server", "--interface", "127.0.0.1", "--port", str(self.port),
                   "--uno-interface", "127.0.0.1", "--uno-port", str(uno_port), "--executable", self.soffice,
                   "--user-installation", str(self._folder / "profile"), "--conversion-timeout",
                   str(CONVERT_TIMEOUT), "--quiet"]
        environment = {"HOME": str(self._folder), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                       "PYTHONPATH": str(_unoserver_path(self._folder / "python"))}
        # A session of its own: stopping the listener signals its process group (unoserver and LibreOffice).
        self.process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL,  # nosec B603
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._started, self._answered = time.monotonic(), False
        log.info("LibreOffice listener starting on 127.0.0.1:%s (pid %s)", self.port, self.process.pid)

    def warm_up(self) -> None:
        """Start the listener now unless it runs (or is converting), to be up by the time a document is written."""
        if self._lock.acquire(blocking=False):
            try:
                self.start()
            except ListenerUnavailable:
                pass  # the conversion says why when it takes the cold path
            finally:
                self._lock.release()

    def ready(self) -> bool:
        """Return whether the listener answers now (a running unoserver of our interface version)."""
        if not self.running:
            return False
        try:
            info = self._proxy(PING_TIMEOUT).info()
        except (OSError, xmlrpc.client.Error):
            return False
        self._answered = info.get("api") == API_VERSION
        return self._answered

    def wait_ready(self, timeout: float) -> bool:
        """Start the listener if needed and wait until it answers (at most ``timeout`` seconds)."""
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready():
                return True
            if not self.running:
                return False
            time.sleep(0.2)
        return False

    def convert(self, docx: bytes) -> bytes:
        """Convert DOCX bytes to PDF on the listener, starting it if it is not running.

        :raise ListenerUnavailable: the listener did not answer in time, or it failed (then it is stopped, to be
            restarted by the next conversion).
        """
        # The worker's threads take turns: waiting for a warm conversion beats a cold start.
        if not self._lock.acquire(timeout=CONVERT_TIMEOUT):
            raise ListenerUnavailable("the LibreOffice listener is busy")
        try:
            if not self.wait_ready(START_WAIT):
                raise ListenerUnavailable("the LibreOffice listener did not answer")
            try:
                result = self._proxy(CONVERT_TIMEOUT).convert(None, docx, None, "pdf", "writer_pdf_Export", [],
                                                              False, None, None)
            except (OSError, xmlrpc.client.Error) as error:
                self.stop()
                raise ListenerUnavailable(f"the LibreOffice listener failed: {error}") from None
            data = result.data if result is not None else b""
            if not data.startswith(b"%PDF"):
                self.stop()
                raise ListenerUnavailable("the LibreOffice listener returned no PDF")
            return data
        finally:
            self._lock.release()

    def stop(self) -> None:
        """Stop the listener's process group, if it was started, and remove its profile."""
        if os.getpid() != self._owner:
            return
        process, self.process = self.process, None
        if process is not None:
            # Politely first (unoserver passes it on to LibreOffice), then for sure: LibreOffice's launcher
            # (oosplash) can outlive unoserver, so whatever is left of the group is killed either way.
            _signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _proxy(self, timeout: float) -> xmlrpc.client.ServerProxy:
        return xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}", transport=_TimeoutTransport(timeout),
                                         allow_none=True)


_listeners: dict[int, Listener] = {}
_listeners_lock = threading.Lock()


def resident_listener(soffice: str) -> Listener:
    """Return this process's listener for ``soffice`` (created, not started, on first use; stopped at exit)."""
    with _listeners_lock:
        listener = _listeners.get(os.getpid())
        if listener is None or listener.soffice != soffice:
            if listener is not None:
                listener.stop()
            listener = _listeners[os.getpid()] = Listener(soffice)
            atexit.register(listener.stop)
        return listener
