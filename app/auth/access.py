"""Loading the signed-in organiser and scoping queries to their unit subtree."""
from __future__ import annotations

from app.extensions import db


def load_organiser(session_id: str):
    """Return the organiser for a session id "<id>:<session version>", or None when it is stale."""
    from app.auth.models import Organiser

    organiser_id, _, version = session_id.partition(":")
    if not organiser_id.isdigit() or not version.isdigit():
        return None
    organiser = db.session.get(Organiser, int(organiser_id))
    if organiser is None or organiser.session_version != int(version):
        return None
    return organiser
