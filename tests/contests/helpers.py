"""Helpers of the contest suites: times, definitions, generated questions, service shortcuts."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
LETTERS = "ABCD"


def local(text: str) -> dt.datetime:
    """Return an aware UTC moment from local "YYYY-MM-DD HH:MM[:SS]" text."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZONE).astimezone(dt.timezone.utc)


def local_text(moment: dt.datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class ContestInfo:
    """Plain values of a contest built for a test."""

    id: int
    slug: str
    round_ids: tuple[int, ...]
    unit_ids: dict[str, int]


def question_rows(count: int, *, bank_prefix: str = "Q") -> list[dict]:
    """Return `count` single-choice questions: the key of question i is option i % 4."""
    topics = ("chi_so", "mot_cua", "the_che")
    return [{
        "code": f"{bank_prefix}{i:03d}", "type": "single", "topic": topics[i % 3], "difficulty": 1 + i % 3,
        "text": f"Câu hỏi thử số {i} về cải cách hành chính?",
        "options": [f"Phương án {letter} của câu {i}" for letter in LETTERS], "correct": [i % 4],
        "explanation": f"Giải thích câu {i}.", "source": "Dữ liệu thử",
    } for i in range(1, count + 1)]


def definition(slug: str = "thi-thu", *, opens: dt.datetime, closes: dt.datetime, bank: str = "bank-a",
               question_count: int = 6, unit: str = "T", rounds: list[dict] | None = None, **top) -> dict:
    """Return a contest definition with one round (or `rounds`), local times, and any top-level overrides."""
    round_ = {"name": "Vòng 1", "opens_at": local_text(opens), "closes_at": local_text(closes), "bank": bank,
              "question_count": question_count, "time_limit_minutes": 15, "grace_seconds": 10}
    round_.update(top.pop("round", {}))
    return {"slug": slug, "title": "Cuộc thi thử nghiệm", "unit": unit,
            "audience_groups": [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"},
                                {"code": "nguoi_dan", "name": "Người dân"}],
            "rounds": rounds or [round_], **top}


def register(app, contest_id: int, phone: str, *, name: str = "Nguyễn Văn An", unit: str = "T-SNV",
             group: str = "cbccvc", units: dict[str, int], now: dt.datetime, cccd: str = "") -> int:
    """Register a participant through the service; return its id."""
    from app.contests import participants
    from app.contests.models import Contest
    from app.extensions import db

    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        participant = participants.register_participant(contest, participants.Registration(
            phone, name, "15/04/1990", str(units[unit]), group, cccd, "mat-khau-1", "mat-khau-1", True),
            now=now, zone=ZONE, secret=app.config["SECRET_KEY"])
        db.session.commit()
        return participant.id


def answers_for(app, attempt_id: int, right: list[bool]) -> dict[int, list[int]]:
    """Return {question id: [display position]} choosing the key where `right` says so, a wrong option otherwise."""
    from app.contests.models import Attempt
    from app.contests.attempts import unpack_ids, unpack_orders
    from app.extensions import db

    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        ids = unpack_ids(attempt.question_ids)
        orders = unpack_orders(attempt.option_orders)
        chosen = {}
        for position, (qid, order, key) in enumerate(zip(ids, orders, attempt.keys)):
            correct = key.bit_length() - 1
            wanted = correct if right[position] else (correct + 1) % len(order)
            chosen[qid] = [order.index(wanted)]
        return chosen


def start(app, contest_id: int, participant_id: int, *, now: dt.datetime, number: int = 1, seed: int = 1) -> int:
    """Start an attempt through the service; return its id."""
    import numpy as np

    from app.contests import attempts, lifecycle
    from app.contests.models import Contest, Participant
    from app.extensions import db

    with app.app_context():
        contest = db.session.get(Contest, contest_id)
        attempt = attempts.start_attempt(contest, lifecycle.get_round(contest, number),
                                         db.session.get(Participant, participant_id), now=now, zone=ZONE,
                                         rng=np.random.default_rng(seed))
        db.session.commit()
        return attempt.id


def submit(app, attempt_id: int, participant_id: int, answers: dict, prediction: str | None, *,
           now: dt.datetime):
    """Submit through the service and commit; return the outcome."""
    from app.contests import attempts
    from app.extensions import db

    with app.app_context():
        outcome = attempts.submit_attempt(attempt_id, participant_id, answers, prediction, now=now)
        db.session.commit()
        return outcome


def finished_attempt(app, contest_id: int, phone: str, score: int, *, units: dict[str, int], seed: int = 1,
                     submitted: dt.datetime | None = None, questions: int = 4, **registration) -> tuple[int, int]:
    """Register at 06:00 on 2 March 2026, start round 1 at 08:00 and submit with the first `score` of `questions`
    answers right (at 08:05 unless `submitted` says otherwise); return (participant id, attempt id)."""
    participant = register(app, contest_id, phone, units=units, now=local("2026-03-02 06:00"), **registration)
    attempt = start(app, contest_id, participant, now=local("2026-03-02 08:00"), seed=seed)
    submit(app, attempt, participant, answers_for(app, attempt, [True] * score + [False] * (questions - score)), None,
           now=submitted or local("2026-03-02 08:05"))
    return participant, attempt


def hidden_fields(html: str) -> dict[str, str]:
    """Return the hidden inputs of a page (csrf_token …)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def count_rows(app, model) -> int:
    import sqlalchemy as sa

    from app.extensions import db

    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def option_fields(html: str) -> dict[int, list[str]]:
    """Return {question id: [option values]} of an attempt page."""
    fields: dict[int, list[str]] = {}
    for name, value in re.findall(r'name="q(\d+)" value="(\d+)"', html):
        fields.setdefault(int(name), []).append(value)
    return fields


class Participant:
    """A participant's browser: registers, signs in, starts, saves and submits through HTTP."""

    def __init__(self, client, slug: str) -> None:
        self.client = client
        self.slug = slug

    def csrf(self, path: str | None = None) -> str:
        page = self.client.get(path or f"/thi/{self.slug}/dang-nhap").get_data(as_text=True)
        return hidden_fields(page)["csrf_token"]

    def register(self, phone: str, unit_id: int, *, name: str = "Trần Thị Bình", group: str = "cbccvc",
                 birth: str = "02/09/1985", cccd: str = "", consent: bool = True, password: str = "mat-khau-1",
                 again: str | None = None):
        data = {"csrf_token": self.csrf(f"/thi/{self.slug}/dang-ky"), "phone": phone, "full_name": name,
                "birth_date": birth, "unit_id": str(unit_id), "group": group, "cccd": cccd, "password": password,
                "password_again": password if again is None else again}
        if consent:
            data["consent"] = "1"
        return self.client.post(f"/thi/{self.slug}/dang-ky", data=data)

    def start(self, number: int = 1):
        return self.client.post(f"/thi/{self.slug}/vong/{number}/bat-dau", data={"csrf_token": self.csrf()})

    def started_attempt(self, number: int = 1) -> tuple[int, str]:
        """Start and return (attempt id, attempt page html)."""
        response = self.start(number)
        assert response.status_code == 303, response.get_data(as_text=True)
        path = response.headers["Location"]
        return int(path.rstrip("/").rsplit("/", 1)[1]), self.client.get(path).get_data(as_text=True)

    def post(self, attempt_id: int, action: str, answers: dict, prediction: str | None = None, **headers):
        data = {"csrf_token": self.csrf()}
        data.update({f"q{qid}": values for qid, values in answers.items()})
        if prediction is not None:
            data["prediction"] = prediction
        return self.client.post(f"/thi/{self.slug}/bai-thi/{attempt_id}/{action}", data=data, headers=headers)
