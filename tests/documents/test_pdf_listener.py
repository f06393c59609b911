"""The periodic report's PDF on a job worker's resident LibreOffice: the same text as the cold conversion, a killed
listener started again by the next document, and the fallbacks (cold start, then fpdf2) when it cannot work."""
from __future__ import annotations

import logging
import os
import shutil
import signal
# pdftotext and the system python3 are run with fixed argument lists.
import subprocess  # nosec B404
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import unavailable
from tests.documents.test_periodic import pdf_text, settings, site  # noqa: F401  (site is a fixture)

#: A listener answers a few seconds after it starts; this is generous for a loaded 2-core machine.
READY_WITHIN = 60


def _soffice() -> str:
    soffice = shutil.which("soffice")
    if not soffice:
        unavailable("LibreOffice (soffice) is not installed")
    if not shutil.which("pdftotext"):
        unavailable("pdftotext (poppler-utils) is not installed")
    from app.documents.listener import SYSTEM_PYTHON

    has_uno = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True, check=False)  # nosec
    if has_uno.returncode != 0:
        unavailable("python3-uno (Debian) is not installed: the resident LibreOffice needs it")
    return soffice


@pytest.fixture(autouse=True)
def _pdf_log_heard():
    """The migrations' logging.config.fileConfig (run in this process) disables loggers created before it."""
    logger = logging.getLogger("app.documents.pdf")
    was, logger.disabled = logger.disabled, False
    yield
    logger.disabled = was


@pytest.fixture(scope="module")
def listener():
    from app.documents.listener import Listener

    resident = Listener(_soffice())
    yield resident
    resident.stop()


def _document(app):
    """The periodic report of T for 2026-Q1 (the ``site`` data) and its DOCX bytes."""
    from app.database import utcnow
    from app.documents.services import periodic_report_file
    from app.periods import parse_period
    from app.units.services import get_unit_by_code

    settings(app)
    with app.app_context():
        return periodic_report_file(get_unit_by_code("T"), parse_period("2026-Q1"), "docx", now=utcnow(),
                                    zone=ZoneInfo("Asia/Ho_Chi_Minh"), soffice=None)


def _producer(data: bytes, tmp_path) -> str:
    path = tmp_path / "producer.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout  # nosec
    return next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Producer:")), "")


def test_the_resident_listener_prints_the_same_pdf_as_a_cold_conversion(app, site, listener, tmp_path,  # noqa: F811
                                                                         caplog):
    from app.documents.pdf import build_pdf, convert_docx

    document, docx = _document(app)
    cold = convert_docx(docx, listener.soffice)
    assert listener.wait_ready(READY_WITHIN), "the LibreOffice listener did not answer"
    with caplog.at_level(logging.INFO, logger="app.documents.pdf"):
        warm = build_pdf(document, docx, listener.soffice, listener)
    assert "converted on the resident LibreOffice listener" in caplog.text
    assert pdf_text(warm, tmp_path) == pdf_text(cold, tmp_path)
    assert "LibreOffice" in _producer(warm, tmp_path)
    assert f"đạt {document.headline.overall}" in " ".join(pdf_text(warm, tmp_path).split())


def test_a_killed_listener_is_started_again_and_the_document_still_comes_out(app, site, listener,  # noqa: F811
                                                                             tmp_path, caplog):
    from app.documents.pdf import build_pdf

    document, docx = _document(app)
    assert listener.wait_ready(READY_WITHIN)
    killed = listener.process.pid
    os.killpg(killed, signal.SIGKILL)
    listener.process.wait(10)
    with caplog.at_level(logging.INFO, logger="app.documents.pdf"):
        data = build_pdf(document, docx, listener.soffice, listener)
    # The conversion started a new listener and waited for it: still LibreOffice's PDF, not fpdf2's.
    assert "converted on the resident LibreOffice listener" in caplog.text
    assert "LibreOffice" in _producer(data, tmp_path)
    assert listener.running and listener.process.pid != killed
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in pdf_text(data, tmp_path)


def test_a_listener_that_cannot_start_leaves_the_pdf_to_a_cold_libreoffice(app, site, tmp_path, caplog):  # noqa: F811
    from app.documents.listener import Listener
    from app.documents.pdf import build_pdf

    soffice = _soffice()
    document, docx = _document(app)
    # /bin/true stands for a system Python without python3-uno: it exits at once, never answering.
    broken = Listener(soffice, python="/bin/true")
    with caplog.at_level(logging.INFO, logger="app.documents.pdf"):
        data = build_pdf(document, docx, soffice, broken)
    assert "cold LibreOffice conversion (the LibreOffice listener did not answer)" in caplog.text
    assert "LibreOffice" in _producer(data, tmp_path)
    broken.stop()


def test_without_a_working_libreoffice_fpdf2_still_prints_the_document(app, site, tmp_path, caplog):  # noqa: F811
    from app.documents.listener import Listener
    from app.documents.pdf import build_pdf

    document, docx = _document(app)
    broken = Listener("/bin/false", python="/nonexistent/python3")
    with caplog.at_level(logging.INFO, logger="app.documents.pdf"):
        data = build_pdf(document, docx, "/bin/false", broken)
    assert "set with fpdf2, LibreOffice failed" in caplog.text
    assert not broken.running
    text = " ".join(pdf_text(data, tmp_path).split())
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and f"đạt {document.headline.overall}" in text


def test_a_listener_that_dies_without_answering_is_not_started_at_every_document():
    from app.documents.listener import Listener, ListenerUnavailable

    # /bin/true stands for a system Python without python3-uno: it exits at once, never answering.
    dead = Listener("/usr/bin/soffice", python="/bin/true")
    with pytest.raises(ListenerUnavailable, match="did not answer"):
        dead.convert(b"PK")
    first = dead.process
    first.wait(10)
    with pytest.raises(ListenerUnavailable, match="tried again later"):
        dead.convert(b"PK")
    assert dead.process is first  # nothing new was started
    dead.stop()
