"""Ways in: the survey's thanks page (the comment carried over only when the citizen chooses, the response staying
anonymous and unlinked) and the counter's pre-filled form."""
from __future__ import annotations

import html as markup
import re

import sqlalchemy as sa

from tests.factories import full_answers


def test_the_survey_comment_is_carried_over_only_when_chosen(app, world):
    from app.extensions import db
    from app.feedback.models import Feedback
    from app.surveys.models import SurveyResponse

    citizen = app.test_client()
    survey = citizen.get(world.counter.path).get_data(as_text=True)
    answers = full_answers(survey, value="2")
    answers["Y_KIEN"] = "Cán bộ hẹn trả kết quả ba lần vẫn chưa có"
    assert citizen.post(world.counter.path, data=answers).status_code == 303
    thanks = citizen.get(world.counter.path + "/cam-on").get_data(as_text=True)
    link = markup.unescape(re.search(r'href="(/phan-anh/gui\?[^"]+)"', thanks).group(1))
    assert "from=survey" in link and "unit=T01-A" in link
    form = citizen.get(link).get_data(as_text=True)
    assert "vẫn ẩn danh và không được gắn với phản ánh này" in form
    assert "không còn ẩn danh" in form
    assert "Cán bộ hẹn trả kết quả ba lần" not in form  # not copied until the citizen chooses to
    carry = markup.unescape(re.search(r'href="(/phan-anh/gui\?[^"]*carry=1[^"]*)"', form).group(1))
    chosen = citizen.get(carry).get_data(as_text=True)
    assert ">Cán bộ hẹn trả kết quả ba lần vẫn chưa có</textarea>" in chosen
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 1
        assert not any("feedback" in column.name for column in SurveyResponse.__table__.columns)


def test_the_counter_link_pre_fills_unit_and_counter(client, world):
    html = client.get(f"/phan-anh/gui?unit=T01-A&counter={world.counter.code}").get_data(as_text=True)
    assert f'name="counter" value="{world.counter.id}"' in html and "Quầy số 1" in html
    assert re.search(r'<option value="\d+" selected>Sở Tư pháp</option>', html)
    unknown = client.get("/phan-anh/gui?unit=NOPE&counter=NOPE").get_data(as_text=True)
    assert 'name="counter"' not in unknown and "selected>Sở" not in unknown


def test_the_public_home_page_shows_the_latest_answered_feedback_without_its_sender(app, world, client):
    from zoneinfo import ZoneInfo

    from app.auth.audit import COMMAND_LINE
    from app.cache import caches
    from app.database import utcnow
    from app.extensions import db
    from app.feedback import services
    from app.feedback.models import Feedback
    from tests.feedback.conftest import SENDER_NAME, SENDER_PHONE
    from tests.feedback.test_tenancy import make_feedback

    code = make_feedback(app, title="Hẹn trả kết quả quá lâu ở bộ phận một cửa")
    assert "quá lâu ở bộ phận một cửa" not in client.get("/").get_data(as_text=True)  # not published yet
    with app.app_context():
        feedback = db.session.scalar(db.select(Feedback).where(Feedback.code == code))
        services.accept(feedback, COMMAND_LINE, utcnow())
        services.draft_answer(feedback, COMMAND_LINE, "Sở đã chấn chỉnh bộ phận một cửa.", utcnow())
        services.approve(feedback, COMMAND_LINE, utcnow(), ZoneInfo("Asia/Ho_Chi_Minh"))
        services.publish([feedback], COMMAND_LINE, utcnow())
        db.session.commit()
    caches.clear()  # the portal reads its state at most once a second; the test does not wait for it
    html = client.get("/").get_data(as_text=True)
    assert "Phản ánh, kiến nghị đã được trả lời" in html
    assert f'href="/phan-anh/{code}"' in html and "quá lâu ở bộ phận một cửa" in html
    assert SENDER_NAME not in html and SENDER_PHONE not in html
