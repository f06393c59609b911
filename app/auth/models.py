"""Organiser accounts scoped to a unit subtree, and the audit log of their actions."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, UTCDateTime, utcnow
from app.extensions import db
from app.units.models import Unit

#: administrator: whole tree and accounts; organiser: manages its subtree; viewer: reads reports.
ROLES = ("administrator", "organiser", "viewer")


class Organiser(UserMixin, db.Model):
    """A person who runs the platform for one unit and everything below it."""

    __tablename__ = "organisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    is_active_account: Mapped[bool] = mapped_column(default=True)
    #: Part of the session identity: bumping it logs out every session (logout, password change).
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()

    __table_args__ = (sa.CheckConstraint("role IN ('administrator', 'organiser', 'viewer')", name="role_known"),)

    def get_id(self) -> str:
        """Identify the session by account and session version, so old sessions stop working."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.is_active_account


class AuditEntry(db.Model):
    """Who did what, when, to which object: read by administrators."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    organiser_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str | None] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    # Loaded with the entry: the log page shows who and where on every line.
    organiser: Mapped[Organiser | None] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")
