"""Published results (frozen snapshots of a unit's SIPAS report for a period) and the portal's settings."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.units.models import Unit


class PublishedResult(db.Model):
    """The publication of one unit's period: what the public sees is ``snapshot``, never the live responses.

    One row per (unit, period); publishing again replaces the snapshot and bumps ``version`` (the share image's URL
    carries it, since Zalo and Facebook cache previews for long); withdrawing sets ``withdrawn_at``.
    """

    __tablename__ = "published_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    #: The period as the command line writes it ("2026", "2026-Q3", "2026-H1", "2026-07").
    period: Mapped[str] = mapped_column(sa.String(32))
    period_start: Mapped[dt.date] = mapped_column(sa.Date)
    period_end: Mapped[dt.date] = mapped_column(sa.Date)
    #: 1 at the first publication, +1 at every new publication of the same unit and period.
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: {"report": the JSON of `flask report sipas` at publication, "levels": answers per scale point}.
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    #: The date of the data: when the figures were computed (the last response they include is before it).
    data_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("organisers.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Bumped by every publication and withdrawal: the public pages' caches are keyed by the newest one.
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    unit: Mapped[Unit] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("unit_id", "period", name="uq_published_results_unit_period"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    @property
    def is_public(self) -> bool:
        return self.withdrawn_at is None


class PortalSettings(db.Model):
    """What organisers of the root unit say on the home page: a short introduction and a hotline."""

    __tablename__ = "portal_settings"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), primary_key=True)
    intro: Mapped[str] = mapped_column(sa.Text, default="")
    hotline: Mapped[str] = mapped_column(sa.String(40), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
