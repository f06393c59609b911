"""The citizen's survey through HTTP: form, submit, idempotency, tampering and every kind of bad input."""
from __future__ import annotations

import sqlalchemy as sa

from tests.factories import full_answers


def count_responses(app) -> int:
    from app.extensions import db
    from app.surveys.models import SurveyResponse

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse))


def test_counter_form_shows_each_criterion_as_its_own_radio_group(client, make):
    counter = make.counter(name="Quầy Hộ tịch")
    page = client.get(counter.path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Quầy Hộ tịch" in html and "Rất hài lòng" in html
    assert html.count("<fieldset") >= 22
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_submitted_response_is_stored_once_and_thanks_the_citizen(app, client, make):
    counter = make.counter()
    data = full_answers(client.get(counter.path).get_data(as_text=True))
    first = client.post(counter.path, data=data)
    replay = client.post(counter.path, data=data)
    assert first.status_code == replay.status_code == 303
    assert first.headers["Location"] == replay.headers["Location"] == f"{counter.path}/cam-on"
    assert count_responses(app) == 1
    assert "Cảm ơn" in client.get(f"{counter.path}/cam-on").get_data(as_text=True)


def test_missing_required_answer_is_rejected_with_a_vietnamese_message(app, client, make):
    counter = make.counter()
    data = full_answers(client.get(counter.path).get_data(as_text=True))
    del data["TC1"]
    response = client.post(counter.path, data=data)
    assert response.status_code == 400
    assert "Vui lòng trả lời câu này." in response.get_data(as_text=True)
    assert count_responses(app) == 0


def test_tampered_token_gets_a_clear_404(client, make):
    counter = make.counter()
    tampered = counter.path[:-1] + ("a" if counter.path[-1] != "a" else "b")
    response = client.get(tampered)
    assert response.status_code == 404
    assert "Mã QR hoặc đường dẫn không hợp lệ" in response.get_data(as_text=True)
