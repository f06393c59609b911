"""The `flask` commands that span features: the demo province (`seed-demo`) and synthetic data (`synth`)."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from app.cli import fail_on_app_error
from app.database import is_postgresql
from app.demo import seed_demo
from app.extensions import db
from app.synth import synthesise


@click.command("seed-demo")
@click.option("--responses", default=3000, show_default=True, help="Số phiếu khảo sát mẫu.")
@click.option("--seed", default=2026, show_default=True, help="Hạt giống ngẫu nhiên.")
@with_appcontext
@fail_on_app_error
def seed_demo_command(responses: int, seed: int) -> None:
    """Load the demo province once (units, counters, instruments, contest, synthetic responses)."""
    created = seed_demo(responses=responses, seed=seed)
    db.session.commit()
    click.echo("Đã tạo dữ liệu mẫu." if created else "Dữ liệu mẫu đã có sẵn, không tạo lại.")


@click.command("synth")
@click.option("--responses", default=0, show_default=True, help="Số phiếu khảo sát tổng hợp.")
@click.option("--attempts", default=0, show_default=True, help="Số lượt thi tổng hợp.")
@click.option("--seed", default=1, show_default=True, help="Hạt giống ngẫu nhiên.")
@click.option("--days", default=365, show_default=True, help="Rải đều trong bao nhiêu ngày gần nhất.")
@with_appcontext
@fail_on_app_error
def synth_command(responses: int, attempts: int, seed: int, days: int) -> None:
    """Add synthetic survey responses and contest attempts (for benchmarks and demos)."""
    counts = synthesise(responses=responses, attempts=attempts, seed=seed, days=days)
    db.session.commit()
    if is_postgresql(db.session):
        # After a bulk load the planner has no statistics until autovacuum gets round to them (it sorted a million
        # rows on disk for an export meanwhile): gather them now, as a server would soon after.
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    click.echo(", ".join(f"{name}: {value}" for name, value in counts.items()))


COMMANDS = (seed_demo_command, synth_command)
