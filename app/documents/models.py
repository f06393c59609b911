"""A unit's letterhead and signature for its official documents (Decree 30/2020/NĐ-CP, Appendix I)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db


class DocumentSettings(db.Model):
    """What an organiser sets once for the documents of a unit: the agency lines, place, number symbol, signer and
    recipients. A unit without a row gets defaults built from its name and its parent's."""

    __tablename__ = "document_settings"

    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    #: Tên cơ quan chủ quản (the parent agency), printed above the issuing agency; "" for none.
    parent_agency: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Tên cơ quan ban hành (the issuing agency) as printed.
    agency: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Chữ viết tắt của cơ quan in the number: "Số: …/BC-<symbol>".
    symbol: Mapped[str] = mapped_column(sa.String(40), default="")
    #: Địa danh: the place before the date ("An Khang, ngày … tháng … năm …").
    place: Mapped[str] = mapped_column(sa.String(100), default="")
    #: Quyền hạn, chức vụ của người ký, one line each (e.g. "KT. CHỦ TỊCH" then "PHÓ CHỦ TỊCH").
    signer_title: Mapped[str] = mapped_column(sa.String(200), default="")
    signer_name: Mapped[str] = mapped_column(sa.String(120), default="")
    #: Nơi nhận, one recipient a line.
    recipients: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
