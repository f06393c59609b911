"""QR codes (PNG, SVG) and printable posters, checked with a real decoder (zxing-cpp)."""
from __future__ import annotations

import io
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PIL import Image, ImageDraw

from tests.factories import decode_qr

URL = "https://hailong.example.gov.vn/s/k7qf2m9xab-3plqa7b2"
SVG_NS = "{http://www.w3.org/2000/svg}"


def rasterise_svg_path(svg: str, scale: int = 8) -> Image.Image:
    """Draw the squares of a qrcode SvgPathImage ("Mx,yH…V…H…z" per module) on a white image."""
    root = ET.fromstring(svg)
    width, height = (int(float(v)) for v in root.attrib["viewBox"].split()[2:])
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    [path] = root.iter(f"{SVG_NS}path")
    for x, y, right, bottom in re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H\d+z", path.attrib["d"]):
        draw.rectangle([int(x) * scale, int(y) * scale, int(right) * scale - 1, int(bottom) * scale - 1], fill=0)
    return image


def pdf_images(pdf: bytes) -> list[Image.Image]:
    """Return the 1-bit (CCITT G4) images embedded in a PDF, rebuilt as TIFF files Pillow can open."""
    images = []
    for match in re.finditer(rb"<<\n((?:(?!>>\nstream).)*?/Subtype /Image(?:(?!>>\nstream).)*?)>>\nstream\n", pdf,
                             re.S):
        header = match.group(1)
        assert b"/Filter /CCITTFaxDecode" in header, f"unexpected image encoding: {header!r}"
        width, height, length = (int(re.search(rb"/%s (\d+)" % key, header)[1]) for key in (b"Width", b"Height",
                                                                                           b"Length"))
        data = pdf[match.end():match.end() + length]
        photometric = 0 if b"/BlackIs1 true" in header else 1
        tags = [(256, 4, width), (257, 4, height), (258, 3, 1), (259, 3, 4), (262, 3, photometric),
                (273, 4, 8 + 2 + 12 * 8 + 4), (278, 4, height), (279, 4, len(data))]
        directory = struct.pack("<H", len(tags)) + b"".join(
            struct.pack("<HHII", tag, kind, 1, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, 1, value, 0)
            for tag, kind, value in tags)
        image = Image.open(io.BytesIO(b"II*\x00" + struct.pack("<I", 8) + directory + b"\0\0\0\0" + data))
        image.load()
        images.append(image)
    return images


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b", pdf))


# --- the QR images --------------------------------------------------------------------------------------------------


def test_png_qr_decodes_to_the_url():
    from app.units.qr import make_qr_png

    png = make_qr_png(URL)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_qr(png) == [URL]


def test_svg_qr_is_one_path_that_draws_a_code_decoding_to_the_url():
    from app.units.qr import make_qr_svg

    svg = make_qr_svg(URL)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg"
    assert len(list(root.iter(f"{SVG_NS}path"))) == 1
    assert decode_qr(rasterise_svg_path(svg)) == [URL]


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000/s/aaaaaaaaaa-bbbbbbbb",
                                 "https://dichvucong.an-khang.gov.vn/d/" + "W" * 120 + ".sig"])
def test_short_and_long_urls_both_survive_the_round_trip(url):
    from app.units.qr import make_qr_png

    assert decode_qr(make_qr_png(url)) == [url]


# --- flask qr counter -----------------------------------------------------------------------------------------------


def test_qr_counter_command_writes_a_png_that_decodes_to_the_counter_url(app, runner, make, tmp_path):
    counter = make.counter()
    out = tmp_path / "quay.png"
    result = runner.invoke(args=["qr", "counter", counter.code, "--format", "png", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert decode_qr(out) == [f"http://hailong.test{counter.path}"]


def test_qr_counter_command_writes_a_valid_svg_that_decodes_to_the_counter_url(app, runner, make, tmp_path):
    counter = make.counter()
    out = tmp_path / "quay.svg"
    result = runner.invoke(args=["qr", "counter", counter.code, "--format", "svg", "--out", str(out)])
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert re.search(r'<path d="M[0-9]', svg)
    assert decode_qr(rasterise_svg_path(svg)) == [f"http://hailong.test{counter.path}"]


def test_qr_counter_command_writes_png_to_stdout_without_out(app, runner, make):
    counter = make.counter()
    result = runner.invoke(args=["qr", "counter", counter.code])
    assert result.exit_code == 0
    assert decode_qr(result.stdout_bytes) == [f"http://hailong.test{counter.path}"]


def test_qr_counter_command_names_an_unknown_counter(runner, make):
    make.instruments()
    result = runner.invoke(args=["qr", "counter", "KHONG-CO"])
    assert result.exit_code != 0
    assert "Không tìm thấy quầy có mã “KHONG-CO”." in result.output


# --- posters --------------------------------------------------------------------------------------------------------


@pytest.fixture
def five_counters(app, make):
    make.unit("PX", "Phường Xuân Hoà", kind="ward")
    make.unit("PX-TO", "Tổ một cửa", parent="PX")
    counters = [make.counter(unit="PX", name=f"Quầy {n}") for n in range(3)]
    counters += [make.counter(unit="PX-TO", name=f"Quầy tổ {n}") for n in range(2)]
    return counters


@pytest.mark.parametrize("per_page, pages", [("1", 5), ("2", 3), ("4", 2)])
def test_qr_sheet_puts_every_counter_of_the_subtree_on_a_pdf(app, runner, five_counters, tmp_path, per_page, pages):
    out = tmp_path / "sheet.pdf"
    result = runner.invoke(args=["qr", "sheet", "--unit", "PX", "--out", str(out), "--per-page", per_page])
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    assert page_count(pdf) == pages
    decoded = sorted(text for image in pdf_images(pdf) for text in decode_qr(image))
    # every poster also carries the smaller QR code of the feedback form (PAKN), the counter pre-filled
    assert [text for text in decoded if "/phan-anh/" not in text] == sorted(
        f"http://hailong.test{counter.path}" for counter in five_counters)
    assert sorted(text for text in decoded if "/phan-anh/" in text) == sorted(
        f"http://hailong.test/phan-anh/gui?unit={counter.unit_code}&counter={counter.code}"
        for counter in five_counters)


def test_qr_sheet_leaves_out_deactivated_counters(app, runner, five_counters, tmp_path):
    from app.database import utcnow
    from app.extensions import db
    from app.units.services import get_counter_by_code, set_counter_active

    with app.app_context():
        set_counter_active(get_counter_by_code(five_counters[0].code), False, utcnow())
        db.session.commit()
    out = tmp_path / "sheet.pdf"
    assert runner.invoke(args=["qr", "sheet", "--unit", "PX-TO", "--out", str(out)]).exit_code == 0
    assert page_count(out.read_bytes()) == 2
    assert runner.invoke(args=["qr", "sheet", "--unit", "PX", "--out", str(out)]).exit_code == 0
    assert page_count(out.read_bytes()) == 4


def test_qr_sheet_refuses_a_unit_without_active_counters_and_an_unknown_unit(app, runner, make, tmp_path):
    make.unit("TRONG", "Xã Trống")
    out = tmp_path / "sheet.pdf"
    empty = runner.invoke(args=["qr", "sheet", "--unit", "TRONG", "--out", str(out)])
    assert empty.exit_code != 0 and "Đơn vị này không có quầy nào đang hoạt động." in empty.output
    unknown = runner.invoke(args=["qr", "sheet", "--unit", "KHONG-CO", "--out", str(out)])
    assert unknown.exit_code != 0 and "Không tìm thấy đơn vị có mã “KHONG-CO”." in unknown.output
    assert not out.exists()


def test_a_printed_poster_page_scans_to_its_counter(app, runner, five_counters, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the embedded-image check above still ran")
    out = tmp_path / "sheet.pdf"
    assert runner.invoke(args=["qr", "sheet", "--unit", "PX", "--out", str(out), "--per-page", "1"]).exit_code == 0
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "2", "-l", "2", str(out), str(tmp_path / "page")],
                   check=True, timeout=60)
    [page] = tmp_path.glob("page*.png")
    assert [text for text in decode_qr(page) if "/phan-anh/" not in text] == [
        f"http://hailong.test{five_counters[1].path}"]


def test_render_posters_refuses_an_unknown_layout_and_an_empty_list():
    from app.units.posters import Poster, PosterText, render_posters

    text = PosterText("Tiêu đề", ("Quét", "Chọn", "Gửi"), "Gõ địa chỉ:", "An toàn", "Gấp")
    poster = Poster("Tỉnh A", "Xã A", "Quầy 1", URL, "http://hailong.test/q/ABCDEFG")
    with pytest.raises(ValueError):
        render_posters([poster], text, per_page=3)
    with pytest.raises(ValueError):
        render_posters([poster], text, per_page=2, paper="a5")
    with pytest.raises(ValueError):
        render_posters([poster], text, paper="a3")
    with pytest.raises(ValueError):
        render_posters([], text)
