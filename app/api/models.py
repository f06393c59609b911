"""API tokens: a secret shown once, stored as a hash, scoped to a unit subtree."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.units.models import Unit


class ApiToken(db.Model):
    """A bearer token for a system integrating with HàiLòng (e.g. a one-stop dossier system)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: sha256 of the secret; the secret itself is shown once at creation and never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The first characters of the secret, to recognise a token in lists and logs.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()
