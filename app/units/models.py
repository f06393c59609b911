"""Units as a tree with a materialised path, service fields (lĩnh vực) and one-stop counters."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db

#: Kinds of administrative unit; depth is not fixed (two-tier local government since 1/7/2025).
UNIT_KINDS = ("province", "department", "commune", "ward", "center", "division", "other")

counter_service_fields = sa.Table(
    "counter_service_fields",
    db.metadata,
    sa.Column("counter_id", sa.ForeignKey("counters.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("service_field_id", sa.ForeignKey("service_fields.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    """An administrative unit; `path` lists its ancestors' ids so a subtree is one prefix query."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable code used by the CLI, imports and the API, e.g. "T01" or "T01-SNV".
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), default="other")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    #: "/<root id>/…/<own id>/": the unit and its descendants are the rows whose path starts with this.
    path: Mapped[str] = mapped_column(sa.String(255), index=True, default="")
    #: Eligible headcount (biên chế) for contest participation rates.
    headcount: Mapped[int | None] = mapped_column(sa.Integer)
    #: Block for collective prizes (khối hành chính / sự nghiệp / xã …).
    block: Mapped[str | None] = mapped_column(sa.String(32))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent", order_by="Unit.code")
    counters: Mapped[list[Counter]] = relationship(back_populates="unit", order_by="Counter.code")

    __table_args__ = (sa.CheckConstraint("headcount IS NULL OR headcount >= 0", name="headcount_not_negative"),)

    @hybrid_method
    def is_within(self, other: Unit) -> bool:
        """Tell whether this unit is `other` or one of its descendants: the tenancy rule, on loaded units.

        ``Unit.is_within(root)`` is the same rule in SQL (the subtree of ``root``); every scope check uses one of
        the two, so the rule is written once.
        """
        return self.path.startswith(other.path)

    @is_within.inplace.expression
    @classmethod
    def _is_within_expression(cls, other: Unit) -> sa.ColumnElement[bool]:
        # Paths hold digits and slashes only; escaping keeps the prefix literal whatever they ever hold.
        return cls.path.startswith(other.path, autoescape=True)

    @property
    def in_service(self) -> bool:
        """Tell whether this unit and every unit above it are switched on (a switched-off ancestor stops all below,
        even a unit whose own flag is still on)."""
        unit: Unit | None = self
        while unit is not None:
            if not unit.is_active:
                return False
            unit = unit.parent
        return True

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class ServiceField(db.Model):
    """A field of administrative procedures (lĩnh vực): đất đai, hộ tịch, xây dựng …"""

    __tablename__ = "service_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))

    def label(self, locale: str) -> str:
        """Return the name in the given UI language."""
        return self.name_en if locale == "en" else self.name


class Counter(db.Model):
    """A one-stop counter (quầy / bộ phận một cửa) where citizens are served and scan the QR code."""

    __tablename__ = "counters"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    #: The instrument code this counter serves; the newest published version is used.
    instrument_code: Mapped[str] = mapped_column(sa.String(64), default="sipas-counter")
    #: Random part of the public token; rotating it invalidates every printed poster.
    token_nonce: Mapped[str] = mapped_column(sa.String(16), unique=True)
    #: The code of the short address printed under the QR code (/q/<code>), typed in any case; rotated with the token.
    short_code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    #: The nonce and short code before the last rotation: a form fetched before it is still accepted for a grace
    #: period, and the old address explains that the QR code was replaced (410) instead of calling it invalid.
    previous_token_nonce: Mapped[str | None] = mapped_column(sa.String(16), unique=True)
    previous_short_code: Mapped[str | None] = mapped_column(sa.String(12), unique=True)
    #: When the token was last rotated (None: never).
    rotated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Bumped by every change that alters the citizen's form (name, fields, instrument, token).
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="counters")
    service_fields: Mapped[list[ServiceField]] = relationship(
        secondary=counter_service_fields, order_by="ServiceField.name"
    )

    def __repr__(self) -> str:
        return f"<Counter {self.code}>"
