"""Issue 5: the contest deadline surge under gunicorn, and ranking + item analysis over 200,000 attempts.

Surge: a contest (bench-only set-up through the contest services) has SURGES open rounds of 20 questions; 2,000
participants each have a running attempt in every round, and their attempt pages were fetched once (in the set-up
process, with the test client) for the CSRF token, the session cookies and the question fields. Each surge is one
wrk run in which the 2,000 participants submit their answers to one round as fast as the server takes them
(SURGE_CLIENTS concurrent clients; each client sends the next participant's submission as soon as it has its
answer). Afterwards the database must hold exactly 2,000 newly submitted attempts of that round and nothing else
may have changed; wrk must report 2,000 completed submissions and no error. The sustained rate is the number of
attempts over the span of their submitted_at stamps (the server's clock); p99 comes from wrk. The reference is the
bare Flask endpoint under the same gunicorn settings, measured in the same section.

Analysis: `flask synth --attempts 200000 --seed 1` adds a contest of 200,000 finished 20-question attempts to the
province database of the SIPAS section; contest_report() (ranking of every participant, item analysis of every
question, the `flask report contest` document) is timed in a child process with the results cache emptied.
Re-grading (issue 15): after the analysis runs, the key of the synthetic contest's most drawn question is corrected
with regrade_question() in a child process: every attempt that drew it is re-graded from its snapshot and stored,
the correction is recorded, and the results (rankings, prizes, unit results) are computed again with the cache
emptied. The whole is timed; target under REGRADE_TARGET_S seconds.
Run as a script, `prepare`, `analysis` and `regrade` are the child processes (they print JSON).
"""
from __future__ import annotations

import datetime as dt
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTICIPANTS = 2000
SURGES = 3
QUESTIONS = 20
SURGE_CLIENTS = 64
SLUG = "thi-do-hieu-nang"
ATTEMPTS = 200_000
ANALYSIS_RUNS = 3
P99_TARGET_MS = 500
RATE_TARGET = 375
RATIO_TARGET = 0.06
ANALYSIS_TARGET_S = 3
REGRADE_TARGET_S = 10


# ---------------------------------------------------------------------------------------------------- children

def child_prepare(url: str, secret: str, prefix: str, participants: str, surges: str) -> dict:
    """Build the contest, `participants` with a running attempt in each of `surges` rounds; write each surge's
    wrk lines; return the plan."""
    import numpy as np
    import sqlalchemy as sa

    from app import create_app
    from app.auth.audit import COMMAND_LINE
    from app.contests.attempts import start_attempt
    from app.contests.lifecycle import save_contest
    from app.contests.models import Contest, Participant
    from app.contests.spec import local_text, parse_contest
    from app.contests.synth import ensure_demo_bank
    from app.contests.views import COOKIE, _serializer
    from app.database import utcnow
    from app.extensions import db
    from app.i18n import local_zone
    from app.units.models import Unit
    from setup_db import build

    build(url, secret, 10)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    rng = np.random.default_rng(5)
    with app.app_context():
        zone, now = local_zone(), utcnow()
        ensure_demo_bank(now)
        root = db.session.scalar(sa.select(Unit).where(Unit.code == "BENCH"))
        units = db.session.scalars(sa.select(Unit.id).where(Unit.parent_id == root.id)).all()
        definition = {
            "slug": SLUG, "title": "Cuộc thi đo hiệu năng", "unit": root.code,
            "audience_groups": [{"code": "cbccvc", "name": "Cán bộ, công chức, viên chức"}],
            "rounds": [{"name": f"Vòng {number}", "opens_at": local_text(now - dt.timedelta(hours=1), zone),
                        "closes_at": local_text(now + dt.timedelta(days=1), zone), "bank": "cchc-demo",
                        "question_count": QUESTIONS, "time_limit_minutes": 240}
                       for number in range(1, int(surges) + 1)],
        }
        contest, _ = save_contest(parse_contest(definition, zone), actor=COMMAND_LINE, now=now)
        contest.transition("open", now)
        people = [Participant(contest_id=contest.id, phone=f"09{index:08d}", full_name=f"Người dự thi {index}",
                              unit_id=units[index % len(units)], group_code="cbccvc", consent_at=now,
                              consent_version="bench", created_at=now) for index in range(int(participants))]
        db.session.add_all(people)
        db.session.flush()
        attempts = [[start_attempt(contest, round_, person, now=now, zone=zone, rng=rng).id
                     for person in people] for round_ in contest.rounds]
        round_ids = [round_.id for round_ in contest.rounds]
        cookies = {person.id: _serializer().dumps({"p": person.id, "c": contest.id, "v": person.session_version})
                   for person in people}
        person_ids = [person.id for person in people]
        db.session.commit()
    client = app.test_client()
    choose = random.Random(7)
    plan = []
    for surge, attempt_ids in enumerate(attempts):
        lines = []
        for person, attempt_id in zip(person_ids, attempt_ids):
            client.delete_cookie("session")  # every participant is a browser of its own
            client.set_cookie(COOKIE, cookies[person], path=f"/thi/{SLUG}/")
            page = client.get(f"/thi/{SLUG}/bai-thi/{attempt_id}")
            text = page.get_data(as_text=True)
            if page.status_code != 200:
                raise SystemExit(f"attempt page {attempt_id} answered {page.status_code}")
            data = [("csrf_token", re.search(r'name="csrf_token" value="([^"]+)"', text).group(1))]
            options: dict[str, list[str]] = {}
            for kind, name, value in re.findall(r'type="(radio|checkbox)" name="(q\d+)" value="(\d+)"', text):
                options.setdefault(name, []).append(value)
            if len(options) != QUESTIONS:
                raise SystemExit(f"attempt {attempt_id} shows {len(options)} questions, not {QUESTIONS}")
            data += [(name, choose.choice(values)) for name, values in options.items()]
            session = client.get_cookie("session")
            cookie = f"{COOKIE}={cookies[person]}; session={session.value}"
            lines.append(f"/thi/{SLUG}/bai-thi/{attempt_id}/nop\t{cookie}\t{urlencode(data)}")
        # One wrk thread drives the surge: it stops only once every submission is answered (see bench/lua/post.lua).
        Path(f"{prefix}{surge}_0.tsv").write_text("\n".join(lines) + "\n")
        plan.append({"round_id": round_ids[surge], "prefix": f"{prefix}{surge}", "attempts": len(lines)})
    return {"surges": plan}


def child_analysis(url: str, secret: str) -> dict:
    """Time the contest report (ranking + item analysis) of the synthetic contest, results cache emptied."""
    import sqlalchemy as sa

    from app import cache, create_app
    from app.contests.models import Contest
    from app.contests.reports import contest_report
    from app.contests.synth import SYNTH_SLUG
    from app.extensions import db
    from app.i18n import local_zone

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    with app.app_context():
        contest = db.session.scalar(sa.select(Contest).where(Contest.slug == SYNTH_SLUG))
        cache.contest_results.forget()
        start = time.perf_counter()
        report = contest_report(contest, local_zone())
        document = json.dumps(report, ensure_ascii=False, default=str)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "ranked": len(report["ranking"]), "items": len(report["items"]),
            "attempts": sum(r["attempts"] for r in report["rounds"]), "bytes": len(document)}


def child_regrade(url: str, secret: str) -> dict:
    """Correct the key of the synthetic contest's most drawn question; time the re-grade and the new results."""
    import numpy as np
    import sqlalchemy as sa

    from app import cache, create_app
    from app.auth.audit import COMMAND_LINE
    from app.contests.models import Attempt, Contest, Question
    from app.contests.regrade import regrade_question
    from app.contests.results import contest_results
    from app.contests.synth import SYNTH_SLUG
    from app.database import utcnow
    from app.extensions import db
    from app.i18n import local_zone

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secret})
    with app.app_context():
        contest = db.session.scalar(sa.select(Contest).where(Contest.slug == SYNTH_SLUG))
        sample = db.session.execute(sa.select(Attempt.question_ids).where(Attempt.contest_id == contest.id)
                                    .limit(2000)).scalars().all()
        ids, counts = np.unique(np.frombuffer(b"".join(sample), dtype="<u4"), return_counts=True)
        question = db.session.get(Question, int(ids[np.argmax(counts)]))
        new_key = [(question.correct[0] + 1) % len(question.options)]
        cache.contest_results.forget()
        start, cpu = time.perf_counter(), time.process_time()
        done = regrade_question(contest, question, key=new_key, void=False, actor=COMMAND_LINE, now=utcnow())
        db.session.commit()
        regraded = time.perf_counter() - start
        results = contest_results(contest, local_zone())
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "regrade_seconds": regraded, "attempts": done.attempts,
            "changed": done.changed, "ranked": len(results.overall)}


# ---------------------------------------------------------------------------------------------------- parent

def _submitted(url: str, round_id: int) -> tuple[int, int, float]:
    """Return (submitted attempts of the round, attempts of the round, seconds between first and last submit)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            done, total = connection.execute(sa.text(
                "SELECT SUM(CASE WHEN state = 'submitted' THEN 1 ELSE 0 END), COUNT(*) FROM contest_attempts "
                "WHERE round_id = :round"), {"round": round_id}).one()
            stamps = connection.execute(sa.text(
                "SELECT submitted_at FROM contest_attempts WHERE round_id = :round AND state = 'submitted'"),
                {"round": round_id}).scalars().all()
    finally:
        engine.dispose()
    moments = [stamp if isinstance(stamp, dt.datetime) else dt.datetime.fromisoformat(str(stamp)) for stamp in stamps]
    span = (max(moments) - min(moments)).total_seconds() if moments else 0.0
    return int(done or 0), int(total), span


def surge(kind: str, label: str, hello: float) -> list:
    """Prepare the contest on a fresh database and run the surges; return the surge entries."""
    import survey_bench
    from harness import (ROOT, WORK, BenchError, bench_secret, database, entry, fetch, median, postgres_backend_pids,
                         run_child, run_wrk, serve, spread, throughput_ratio)

    secret = bench_secret()
    with database(kind, "contest") as url:
        plan, _ = run_child("bench/contest_bench.py", ["prepare", url, secret, str(WORK / f"surge-{kind}-"),
                                                        str(PARTICIPANTS), str(SURGES)])
        helpers = (lambda: postgres_backend_pids(url)) if kind == "postgresql" else None
        env = {"DATABASE_URL": url, "SECRET_KEY": secret, "BASE_URL": "http://127.0.0.1",
               "HAILONG_SURVEY_RATE_LIMIT": survey_bench.SURVEY_RATE_LIMIT}
        rates, p99s, problems, wrk_rates = [], [], [], []
        with serve(f"contest-{kind}", "app:create_app()", env, f"/thi/{SLUG}", helper_pids=helpers) as server:
            status, _, page = fetch(server.base + f"/thi/{SLUG}")
            if status != 200 or "Cuộc thi đo hiệu năng" not in page:
                raise BenchError(f"{kind}: the contest page answered {status} without the contest's title")
            run_wrk(server, f"/thi/{SLUG}", "get.lua", 2, measured=False)
            for step in plan["surges"]:
                before = _submitted(url, step["round_id"])
                if before[0]:
                    raise BenchError(f"{kind}: round {step['round_id']} has submitted attempts before its surge")
                limit = max(30.0, PARTICIPANTS / 60)
                result = run_wrk(server, f"/thi/{SLUG}", "post.lua", limit, args=[step["prefix"]],
                                 connections=SURGE_CLIENTS, threads=1)
                done, total, span = _submitted(url, step["round_id"])
                sent = sum(info["sent"] for info in result.threads)
                if not all(info["exhausted"] for info in result.threads):
                    problems.append(f"the surge did not finish within {limit:.0f} s")
                if result.error_count:
                    problems.append(f"wrk errors {result.errors}")
                if done != PARTICIPANTS or total != PARTICIPANTS or result.requests != PARTICIPANTS \
                        or sent != PARTICIPANTS:
                    problems.append(f"{done} attempts submitted of {total}, {result.requests} answered, {sent} sent "
                                    f"(expected {PARTICIPANTS} each)")
                rates.append(done / span if span else 0.0)
                p99s.append(result.p99_ms)
                wrk_rates.append(result.requests / max(result.seconds, 1e-9))
    rate = median(rates)
    note = f"{SURGES} surges of {PARTICIPANTS:,} submissions, {SURGE_CLIENTS} clients; {spread(rates)}"
    return [
        entry(f"contest deadline surge: sustained submit rate, {label}", rate, "attempts/s", target=f"value >= "
              f"{RATE_TARGET}", note=f"{note}; rate = attempts / span of their submitted_at stamps"),
        entry(f"contest deadline surge: submit rate vs bare Flask, {label}", rate, "attempts/s", reference=hello,
              ratio=throughput_ratio(rate, hello), target=f"ratio >= {RATIO_TARGET}", note=note),
        entry(f"contest deadline surge: p99 submit latency, {label}", median(p99s), "ms",
              target=f"value < {P99_TARGET_MS}", note=f"{spread(p99s, '{:.0f}')} at {SURGE_CLIENTS} clients"),
        entry(f"contest deadline surge: lost, duplicated or failed submissions, {label}", len(problems), "count",
              target="value == 0", note="; ".join(problems) or f"{SURGES * PARTICIPANTS:,} attempts submitted "
                                                             "exactly once, no wrk error"),
    ]


def analysis(kind: str, label: str) -> list:
    """Add 200,000 synthetic attempts to the province database and time ranking + item analysis."""
    import sipas_bench
    from harness import BenchError, entry, run_child, spread

    place = sipas_bench.province(kind)
    synth = sipas_bench.run_flask(["synth", "--attempts", str(ATTEMPTS), "--seed", "1"], place.url, place.secret)
    runs = [run_child("bench/contest_bench.py", ["analysis", place.url, place.secret]) for _ in range(ANALYSIS_RUNS)]
    seconds = [result["seconds"] for result, _ in runs]
    first = runs[0][0]
    if first["attempts"] != ATTEMPTS or first["items"] == 0:
        raise BenchError(f"{kind}: the contest report covered {first['attempts']} attempts and {first['items']} items")
    regrade, regrade_rss = run_child("bench/contest_bench.py", ["regrade", place.url, place.secret])
    if regrade["attempts"] == 0 or regrade["changed"] == 0:
        raise BenchError(f"{kind}: the key correction re-graded {regrade['attempts']} attempts")
    return [entry(f"contest ranking + item analysis, {ATTEMPTS:,} attempts × {QUESTIONS} questions, {label}",
                  statistics.median(seconds), "s", target=f"value < {ANALYSIS_TARGET_S}",
                  note=f"{spread(seconds, '{:.2f}')}; contest_report(): {first['ranked']:,} ranked, "
                       f"{first['items']} questions analysed, JSON included; peak RSS "
                       f"{max(rss for _, rss in runs):.0f} MB; attempts made by flask synth in {synth:.0f} s"),
            entry(f"contest re-grade after a key correction, {ATTEMPTS:,} attempts, {label}", regrade["seconds"], "s",
                  target=f"value < {REGRADE_TARGET_S}",
                  note=f"{regrade['attempts']:,} attempts drew the question, {regrade['changed']:,} scores changed; "
                       f"re-grade stored in {regrade['regrade_seconds']:.2f} s, then results (rankings, prizes, "
                       f"unit results) recomputed; CPU {regrade['cpu_seconds']:.2f} s; peak RSS {regrade_rss:.0f} MB")]


def run(seconds: float) -> list:
    """The surges and the analysis on each database, with the reference measured first."""
    import survey_bench
    from harness import ROOT, failed_entry, median, postgres_available, run_wrk, serve

    hello_rates = []
    for _ in range(3):
        with serve("hello", "hello_app:app", {}, "/hello", chdir=ROOT / "bench") as server:
            survey_bench.check_hello(server)
            run_wrk(server, "/hello", "get.lua", 2, measured=False)
            hello_rates.append(run_wrk(server, "/hello", "get.lua", seconds).rate)
    hello = median(hello_rates)
    entries = []
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        unavailable = postgres_available() if kind == "postgresql" else None
        if unavailable:
            entries.append(failed_entry(f"contest deadline surge, {label}", "attempts/s", f"value >= {RATE_TARGET}",
                                        unavailable))
            continue
        entries += surge(kind, label, hello)
        entries += analysis(kind, label)
    return entries


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    command, *arguments = sys.argv[1:]
    print(json.dumps({"prepare": child_prepare, "analysis": child_analysis, "regrade": child_regrade}[command](
        *arguments)))
