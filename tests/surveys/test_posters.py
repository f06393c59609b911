"""Every poster format, printed as a person would see it: rendered to PNG (pdftoppm), its QR code decoded (zxing-cpp),
its fallback address read from the PDF's text (pdftotext) and typed back in another letter case."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.conftest import unavailable
from tests.factories import decode_qr


@pytest.fixture
def poppler():
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        unavailable("pdftoppm and pdftotext are not installed (apt-get install poppler-utils)")


@pytest.mark.parametrize("paper, size_mm", [("a4", (210, 297)), ("a5", (148, 210)), ("tent", (210, 297))])
def test_each_poster_format_scans_to_the_survey_and_its_typed_address_opens_it(
        app, client, make, runner, tmp_path, poppler, paper, size_mm):
    parent = make.unit("TINH-P", "Ủy ban nhân dân tỉnh Thử Nghiệm", kind="province")
    del parent
    make.unit("XA-P", "Xã Hoà An", parent="TINH-P")
    counter = make.counter(unit="XA-P", name="Bộ phận Một cửa xã Hoà An")
    pdf = tmp_path / f"{paper}.pdf"
    result = runner.invoke(args=["qr", "sheet", "--unit", "XA-P", "--format", paper, "--out", str(pdf)])
    assert result.exit_code == 0, result.output
    subprocess.run(["pdftoppm", "-r", "110", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=60)
    [page] = sorted(tmp_path.glob("page*.png"))
    from PIL import Image

    image = Image.open(page)
    width_mm, height_mm = (round(pixels / 110 * 25.4) for pixels in image.size)
    assert (width_mm, height_mm) == size_mm
    codes = decode_qr(image)
    survey = [code for code in codes if "/phan-anh/" not in code]
    assert set(survey) == {"http://hailong.test" + counter.path}
    assert len(survey) == (2 if paper == "tent" else 1)  # a tent's two faces each carry the code
    if paper != "tent":  # upright posters also carry the feedback form's QR code, unit and counter pre-filled
        assert set(codes) - set(survey) == {f"http://hailong.test/phan-anh/gui?unit=XA-P&counter={counter.code}"}
    words = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True,
                                    timeout=60).stdout.split())
    assert "ĐÁNH GIÁ SỰ HÀI LÒNG" in words and "XÃ HOÀ AN" in words and "ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM" in words
    assert all(step in words for step in ("Mở camera điện thoại", "Chọn mức hài lòng", "Gửi đánh giá"))
    typed = re.search(r"hailong\.test/q/([23456789A-HJ-NP-Z]{7})", words)[1]
    response = client.get(f"/q/{typed.lower()}/", follow_redirects=True)
    assert response.status_code == 200 and "Bộ phận Một cửa xã Hoà An" in response.get_data(as_text=True)


def test_the_qr_code_fills_a_large_part_of_an_a4_poster(app, make, tmp_path, poppler):
    from app.units.posters import counter_posters, poster_text, render_posters
    from app.units.services import get_counter_by_code

    counter = make.counter()
    with app.app_context():
        posters = counter_posters([get_counter_by_code(counter.code)], "http://hailong.test", app.config["SECRET_KEY"])
        pdf = render_posters(posters, poster_text(), 1, "a4")
    (tmp_path / "a4.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(tmp_path / "a4.pdf"), str(tmp_path / "p")], check=True)
    import zxingcpp
    from PIL import Image

    image = Image.open(next(tmp_path.glob("p*.png")))
    found = max(zxingcpp.read_barcodes(image),  # the survey's, not the feedback form's smaller one
                key=lambda barcode: abs(barcode.position.top_right.x - barcode.position.top_left.x))
    position = found.position
    side = abs(position.top_right.x - position.top_left.x)
    assert side > 0.45 * image.size[0], "the QR code should take about half the poster's width or more"
