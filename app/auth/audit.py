"""The audit log: who did what, when, to which object. Every service that changes what organisers manage records its
action here with a required actor: a signed-in organiser, or the command line on the server."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from app.auth.models import AuditEntry, Organiser
from app.extensions import db
from app.units.models import Unit


@dataclass(frozen=True)
class Unsigned:
    """An actor without an organiser account: the command line on the server, or a visitor trying to sign in.

    Its entries carry no organiser, as they always have; the log page shows them as not attributed to a person.
    """

    name: str
    id: None = None
    unit_id: None = None


#: Who runs `flask …` commands: an operator with access to the server.
COMMAND_LINE = Unsigned("command line")
#: Who tries to sign in with an email no account has.
VISITOR = Unsigned("visitor")
#: Whoever an audited action is recorded for.
Actor = Organiser | Unsigned


def record(actor: Actor, unit_id: int | None, action: str, object_type: str | None, object_id: object,
           detail: dict | None, now: dt.datetime) -> AuditEntry:
    """Add one entry to the audit log: who (the actor), where (the unit concerned), what, which object, when."""
    entry = AuditEntry(organiser_id=actor.id, unit_id=unit_id, action=action, object_type=object_type,
                       object_id=None if object_id is None else str(object_id)[:64], detail=detail or {}, at=now)
    db.session.add(entry)
    db.session.flush()
    return entry


def audit_page(root: Unit, page: int, per_page: int = 50) -> Pagination:
    """Return one page of the audit entries of a subtree, newest first.

    Entries without a unit (sign-in attempts with an unknown email) are shown only to a root unit's readers.
    """
    scope = AuditEntry.unit_id.in_(sa.select(Unit.id).where(Unit.is_within(root)))
    if root.parent_id is None:
        scope = sa.or_(scope, AuditEntry.unit_id.is_(None))
    query = sa.select(AuditEntry).where(scope).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    return db.paginate(query, page=min(max(page, 1), 100_000), per_page=per_page, error_out=False, count=True)
