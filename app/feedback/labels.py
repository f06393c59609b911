"""The words citizens and staff read for PAKN codes (statuses, kinds, channels, reasons, ratings)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "received": _l("Chờ tiếp nhận"),
    "accepted": _l("Đã tiếp nhận"),
    "not_accepted": _l("Không tiếp nhận"),
    "transferred": _l("Đã chuyển cơ quan có thẩm quyền"),
    "in_progress": _l("Đang xử lý"),
    "waiting_sender": _l("Chờ người gửi bổ sung thông tin"),
    "answered": _l("Đã trả lời"),
    "completed": _l("Hoàn thành"),
    "insufficient": _l("Chưa đủ cơ sở, tiếp tục tập hợp"),
}
KIND_LABELS = {
    "behaviour": _l("Cán bộ, cơ quan chậm trễ, gây phiền hà, làm sai hoặc không làm đúng quy định"),
    "unsuited": _l("Quy định không phù hợp với thực tế"),
    "inconsistent": _l("Các quy định không thống nhất với nhau"),
    "unlawful": _l("Quy định trái pháp luật"),
    "treaty": _l("Quy định trái với điều ước quốc tế"),
    "initiative": _l("Sáng kiến, đề xuất quy định mới hoặc cách làm mới"),
    "other": _l("Vấn đề khác về quy định, thủ tục hành chính"),
}
CHANNEL_LABELS = {
    "web": _l("Trang web"),
    "counter": _l("Mã QR tại quầy"),
    "paper": _l("Văn bản giấy"),
    "phone": _l("Điện thoại"),
    "zalo": _l("Zalo"),
    "facebook": _l("Facebook"),
    "email": _l("Thư điện tử"),
    "national_portal": _l("Cổng Dịch vụ công quốc gia"),
}
SENDER_TYPE_LABELS = {"individual": _l("Cá nhân"), "organisation": _l("Tổ chức")}
REASON_LABELS = {
    "missing_sender": _l("Thiếu họ tên, địa chỉ hoặc số điện thoại của người gửi"),
    "complaint": _l("Là khiếu nại, tố cáo: cần gửi theo thủ tục khiếu nại, tố cáo"),
    "out_of_scope": _l("Không thuộc phạm vi quy định, thủ tục hành chính"),
    "duplicate": _l("Trùng với phản ánh, kiến nghị đã nhận"),
    "abusive": _l("Vi phạm nội quy (xúc phạm, quảng cáo, thông tin sai sự thật)"),
    "unclear": _l("Nội dung không rõ ràng"),
}
RATING_LABELS = {"satisfied": _l("Hài lòng"), "accepted": _l("Chấp nhận"), "dissatisfied": _l("Không hài lòng")}
ACTION_LABELS = {
    "accept": _l("Tiếp nhận"),
    "refuse": _l("Không tiếp nhận"),
    "transfer": _l("Chuyển cơ quan có thẩm quyền"),
    "start": _l("Bắt đầu xử lý"),
    "ask_sender": _l("Đề nghị người gửi bổ sung"),
    "resume": _l("Tiếp tục xử lý"),
    "answer": _l("Soạn câu trả lời"),
    "approve": _l("Duyệt câu trả lời"),
    "insufficient": _l("Đóng: chưa đủ cơ sở"),
    "complete": _l("Hoàn thành"),
    "extend": _l("Gia hạn"),
    "redact": _l("Biên tập nội dung công khai"),
    "publish": _l("Công khai"),
    "hide": _l("Ẩn khỏi trang công khai"),
}
