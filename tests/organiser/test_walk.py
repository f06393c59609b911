"""The organiser's walk of issue 4, as a browser would do it: sign in, create a counter, print its poster, scan
the printed QR code, answer the survey there, and find the answer among the comments and in the export."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

from PIL import Image

from tests.conftest import unavailable
from tests.factories import csrf_from, decode_qr, full_answers, log_in
from tests.factories import job_file


def rasterise_pdf(data: bytes, directory: Path) -> list[Image.Image]:
    """Render every page of a PDF at 150 dpi with poppler's pdftoppm, as a printer would."""
    if shutil.which("pdftoppm") is None:
        unavailable("pdftoppm (poppler-utils) is not installed: the printed poster cannot be rendered")
    source = directory / "poster.pdf"
    source.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "150", str(source), str(directory / "page")], check=True, timeout=60)
    return [Image.open(path) for path in sorted(directory.glob("page*.png"))]


def test_sign_in_create_counter_print_scan_answer_and_read_it_back(app, client, make, tmp_path):
    make.instruments()
    make.unit("T", name="Tỉnh Thử", kind="province")
    make.unit("T-X", name="Xã Thử Nghiệm", parent="T")
    account = make.organiser("T-X")

    assert log_in(client, account.email, account.password).status_code == 303

    form_page = client.get("/quan-tri/quay/moi").get_data(as_text=True)
    created = client.post("/quan-tri/quay/moi", data={
        "csrf_token": csrf_from(form_page), "code": "TX-Q1", "name": "Quầy Một cửa xã", "unit": account.unit_id,
        "instrument_code": "sipas-counter"})
    assert created.status_code == 303
    counter_page = created.headers["Location"]
    assert "Quầy Một cửa xã" in client.get(counter_page).get_data(as_text=True)

    poster = client.get(f"{counter_page}/ap-phich.pdf")
    assert poster.status_code == 200 and poster.mimetype == "application/pdf"
    pages = rasterise_pdf(poster.data, tmp_path)
    assert len(pages) == 1
    scanned = [text for text in decode_qr(pages[0]) if "/phan-anh/" not in text]  # not the feedback form's
    assert len(scanned) == 1 and scanned[0].startswith(app.config["BASE_URL"] + "/s/")
    survey_path = scanned[0].removeprefix(app.config["BASE_URL"])

    citizen = app.test_client()
    survey = citizen.get(survey_path)
    assert survey.status_code == 200 and "Quầy Một cửa xã" in survey.get_data(as_text=True)
    answers = full_answers(survey.get_data(as_text=True), value="5")
    answers["Y_KIEN"] = "Cán bộ Quầy Một cửa hướng dẫn rất tận tình"
    assert citizen.post(survey_path, data=answers).status_code == 303

    comments = client.get("/quan-tri/y-kien").get_data(as_text=True)
    assert "Cán bộ Quầy Một cửa hướng dẫn rất tận tình" in comments and "1 ý kiến." in comments

    export = job_file(client, f"/quan-tri/xuat-du-lieu/tai-ve?unit={account.unit_id}&instrument=sipas-counter&format=csv")
    rows = list(csv.DictReader(io.StringIO(export.get_data().decode("utf-8-sig"))))
    assert len(rows) == 1
    assert rows[0]["counter"] == "TX-Q1" and rows[0]["TC1"] == "5"
    assert rows[0]["Y_KIEN"] == "Cán bộ Quầy Một cửa hướng dẫn rất tận tình"
