"""Property-based fuzzing of the importers (units, counters, question banks) through their upload forms.

An import is all or nothing: refused, it writes no row; accepted, it writes exactly one row per non-blank line.
"""
from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from tests.factories import csrf_from
from tests.fuzz.conftest import FUZZ, nasty_text
from tests.fuzz.test_public_forms import changed, counts

UNIT_HEADER = ["Mã đơn vị", "Tên đơn vị", "Loại", "Mã đơn vị cấp trên", "Biên chế", "Khối"]
COUNTER_HEADER = ["Mã quầy", "Tên quầy", "Mã đơn vị", "Mã phiếu khảo sát", "Mã lĩnh vực"]
QUESTION_HEADER = ["code", "type", "topic", "difficulty", "text", "option_a", "option_b", "option_c", "correct"]
#: Bookkeeping rows an accepted import may add besides its data (who imported what).
BOOKKEEPING = {"audit_log"}

codes = st.one_of(st.from_regex(r"[A-Z][A-Z0-9-]{0,10}", fullmatch=True), nasty_text)
unit_rows = st.lists(st.tuples(codes, st.one_of(st.just("Thôn Mới"), nasty_text),
                               st.sampled_from(["", "other", "commune", "Khác", "xa", "tỉnh"]),
                               st.sampled_from(["T-A", "T-B", "T", "", "KHONG-CO"]),
                               st.one_of(st.just(""), st.integers(-5, 10**9).map(str), nasty_text),
                               st.one_of(st.just(""), nasty_text)), min_size=1, max_size=6)
counter_rows = st.lists(st.tuples(codes, st.one_of(st.just("Quầy Mới"), nasty_text),
                                  st.sampled_from(["T-A", "T-B", "KHONG-CO", ""]),
                                  st.sampled_from(["", "sipas-counter", "dossier-rating", "khong-co"]),
                                  st.sampled_from(["", "FA", "FA;FB", "KHONG-CO", ";;"])), min_size=1, max_size=6)
question_rows = st.lists(st.tuples(st.one_of(st.from_regex(r"C[0-9]{1,4}", fullmatch=True), nasty_text),
                                   st.sampled_from(["single", "multiple", "true_false", "sai"]),
                                   st.sampled_from(["mot_cua", "chi_so", "Sai Chu De", ""]),
                                   st.sampled_from(["1", "2", "3", "0", "x"]),
                                   st.one_of(st.text(min_size=5, max_size=60), nasty_text),
                                   nasty_text, nasty_text, st.sampled_from(["", "Phương án C"]),
                                   st.sampled_from(["A", "B", "A,C", "Z", ""])), min_size=1, max_size=6)


def csv_file(header: list[str], rows: list[tuple]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig", "surrogatepass")


def upload(client, path: str, filename: str, data: bytes, **fields):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(data), filename), **fields},
                       content_type="multipart/form-data")


def check_all_or_nothing(app, response, before: dict[str, int], expected: dict[str, int]) -> None:
    """A refused import wrote nothing; an accepted one wrote exactly `expected` (plus bookkeeping)."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    added = changed(before, counts(app))
    if response.status_code in (302, 303):
        data = {name: count for name, count in added.items() if name not in BOOKKEEPING}
        assert data == {name: count for name, count in expected.items() if count}, (data, expected)
    else:
        assert response.status_code in (400, 403, 404, 409, 413, 415), response.status_code
        assert added == {}, added


def bank_codes(app) -> set[str]:
    import sqlalchemy as sa

    from app.contests.models import QuestionBank
    from app.extensions import db

    with app.app_context():
        return set(db.session.scalars(sa.select(QuestionBank.code)))


def non_blank(rows: list[tuple]) -> int:
    return sum(1 for row in rows if any(str(cell).strip() for cell in row))


def test_fuzzed_unit_imports_write_every_row_or_none(app, world, login):
    client = app.test_client()
    login(world.root, on=client)
    outcomes = set()

    @FUZZ
    @given(rows=unit_rows)
    def run(rows):
        before = counts(app)
        response = upload(client, "/quan-tri/nhap/don-vi", "don-vi.csv", csv_file(UNIT_HEADER, rows))
        check_all_or_nothing(app, response, before, {"units": non_blank(rows)})
        outcomes.add(response.status_code)

    run()
    assert 303 in outcomes and 400 in outcomes, outcomes  # both branches were really exercised


def test_fuzzed_counter_imports_write_every_row_or_none(app, world, login):
    client = app.test_client()
    login(world.root, on=client)

    @FUZZ
    @given(rows=counter_rows)
    def run(rows):
        before = counts(app)
        response = upload(client, "/quan-tri/nhap/quay", "quay.csv", csv_file(COUNTER_HEADER, rows))
        assert response.status_code < 500
        added = changed(before, counts(app))
        if response.status_code in (302, 303):
            assert added.get("counters") == non_blank(rows), added
        else:
            assert added == {}, added

    run()


def test_fuzzed_question_imports_write_every_question_or_none(app, world, login):
    client = app.test_client()
    login(world.root, on=client)
    outcomes = set()

    @FUZZ
    @given(rows=question_rows, bank=st.sampled_from(["bank-t-a", "bank-moi", "Sai Ma"]))
    def run(rows, bank):
        before = counts(app)
        new_bank = 0 if bank in bank_codes(app) else 1
        response = upload(client, "/quan-tri/cuoc-thi/ngan-hang/nhap", "cau-hoi.csv",
                          csv_file(QUESTION_HEADER, rows), bank=bank, title="Ngân hàng thử")
        check_all_or_nothing(app, response, before, {"questions": non_blank(rows), "question_banks": new_bank})
        outcomes.add(response.status_code)

    run()
    assert 400 in outcomes, outcomes
