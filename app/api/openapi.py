"""The OpenAPI 3.1 description of API v1 (kept beside the views it describes)."""
from __future__ import annotations

ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "status": {"type": "integer"}, "message": {"type": "string"}}}}}

#: One published figure of a SIPAS report (points 0–100, 2 decimals; null where suppressed).
ESTIMATE = {"type": "object", "properties": {
    "value": {"type": ["number", "null"]}, "n": {"type": "integer"}, "ci_low": {"type": ["number", "null"]},
    "ci_high": {"type": ["number", "null"]}, "flags": {"type": "array", "items": {"type": "string"}}}}


#: PAKN: the fields of an intake, with enums and an example on every field.
_KINDS = ["behaviour", "unsuited", "inconsistent", "unlawful", "treaty", "initiative", "other"]
_CHANNELS = ["paper", "phone", "zalo", "facebook", "email", "national_portal", "web", "counter"]
_STATUSES = ["received", "accepted", "not_accepted", "transferred", "in_progress", "waiting_sender", "answered",
             "completed", "insufficient"]
FEEDBACK_INTAKE = {"type": "object", "additionalProperties": False,
                   "required": ["unit", "kind", "title", "content", "name", "address", "phone", "consent_data"],
                   "properties": {
    "unit": {"type": "string", "description": "Mã đơn vị tiếp nhận (trong phạm vi token).", "example": "T01-STP"},
    "kind": {"type": "string", "enum": _KINDS, "description": "Loại theo NĐ 20 Điều 5.", "example": "behaviour"},
    "title": {"type": "string", "minLength": 5, "maxLength": 300, "example": "Hẹn trả kết quả quá lâu"},
    "content": {"type": "string", "minLength": 10, "maxLength": 10000,
                "example": "Hồ sơ nộp ngày 02/03 đến nay chưa có kết quả, cán bộ hẹn nhiều lần."},
    "proposal": {"type": "string", "maxLength": 5000, "example": "Trả kết quả đúng hẹn."},
    "name": {"type": "string", "minLength": 2, "maxLength": 200, "example": "Nguyễn Văn A"},
    "address": {"type": "string", "minLength": 5, "maxLength": 400, "example": "12 Lê Lợi, phường Bến Thành"},
    "phone": {"type": "string", "pattern": "^(\\+?84|0)\\d{8,10}$", "example": "0912345678"},
    "email": {"type": "string", "format": "email", "example": "nguoigui@example.vn"},
    "sender_type": {"type": "string", "enum": ["individual", "organisation"], "default": "individual",
                    "example": "individual"},
    "organisation": {"type": "string", "maxLength": 300, "description": "Bắt buộc khi sender_type = organisation.",
                     "example": "Công ty TNHH Ví Dụ"},
    "channel": {"type": "string", "enum": _CHANNELS, "default": "national_portal", "example": "national_portal"},
    "external_code": {"type": "string", "maxLength": 64, "description": "Mã PAKN trên kênh gốc.",
                      "example": "PAKN.1761647228267"},
    "procedure": {"type": "string", "maxLength": 300, "example": "Cấp bản sao trích lục hộ tịch"},
    "consent_data": {"type": "boolean", "enum": [True], "description": "Người gửi đồng ý xử lý dữ liệu cá nhân.",
                     "example": True},
    "consent_publish": {"type": "boolean", "default": False, "example": True},
    "key": {"type": "string", "maxLength": 64, "description": "Khoá chống gửi trùng: gửi lại cùng khoá trả về "
                                                              "PAKN đã tạo (200).", "example": "dvcqg-1761647228267"},
}}
FEEDBACK_PUBLIC = {"type": "object", "properties": {
    "code": {"type": "string", "example": "PA-7KQ2-M9XD"}, "title": {"type": "string", "example": "Hẹn trả kết quả"},
    "content": {"type": "string", "example": "Hồ sơ chưa có kết quả."},
    "kind": {"type": "string", "enum": _KINDS, "example": "behaviour"},
    "sender_type": {"type": "string", "enum": ["individual", "organisation"], "example": "individual"},
    "unit": {"type": "string", "example": "Sở Tư pháp"}, "unit_code": {"type": "string", "example": "T01-STP"},
    "field": {"type": ["string", "null"], "example": "Hộ tịch"},
    "received_on": {"type": "string", "format": "date", "example": "2026-03-02"},
    "due_on": {"type": ["string", "null"], "format": "date", "example": "2026-03-16"},
    "answered_on": {"type": ["string", "null"], "format": "date", "example": "2026-03-12"},
    "on_time": {"type": ["boolean", "null"], "example": True},
    "answer": {"type": ["string", "null"], "example": "Sở đã chấn chỉnh bộ phận một cửa."},
    "edited_by": {"type": ["string", "null"], "example": "Sở Tư pháp"},
    "rating": {"type": ["string", "null"], "enum": ["satisfied", "accepted", "dissatisfied", None],
               "example": "satisfied"},
    "status": {"type": "string", "enum": _STATUSES, "example": "answered"}}}
FEEDBACK_ACTION_BODY = {"type": "object", "properties": {
    "reason": {"type": "string", "enum": ["missing_sender", "complaint", "out_of_scope", "duplicate", "abusive",
                                          "unclear"], "description": "refuse: bắt buộc.", "example": "complaint"},
    "note": {"type": "string", "maxLength": 2000, "example": "Chuyển theo thẩm quyền"},
    "unit": {"type": "string", "description": "transfer: bắt buộc, mã đơn vị nhận.", "example": "T01-SXD"},
    "text": {"type": "string", "minLength": 10, "description": "answer: bắt buộc, nội dung trả lời.",
             "example": "Sở đã chấn chỉnh bộ phận một cửa; hồ sơ đã có kết quả."}}}


def _errors(*codes: int) -> dict:
    return {str(code): {"description": "Lỗi", "content": {"application/json": {"schema": ERROR}}} for code in codes}


def openapi_document(base_url: str) -> dict:
    """Return the API description with the server's public address."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "HàiLòng API", "version": "1",
                 "description": "Đơn vị, quầy, báo cáo và liên kết đánh giá hồ sơ; mọi token chỉ thấy cây đơn vị "
                                "của mình."},
        "servers": [{"url": f"{base_url}/api/v1"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/units": {"get": {
                "summary": "Đơn vị trong phạm vi token", "operationId": "listUnits",
                "responses": {"200": {"description": "Danh sách đơn vị", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"units": {"type": "array", "items": {"type": "object",
                        "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                                       "kind": {"type": "string"}, "parent": {"type": ["string", "null"]},
                                       "active": {"type": "boolean"}}}}}}}}},
                              **_errors(401, 429)}}},
            "/counters": {"get": {
                "summary": "Quầy trong phạm vi token", "operationId": "listCounters",
                "responses": {"200": {"description": "Danh sách quầy và địa chỉ khảo sát", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"counters": {
                        "type": "array", "items": {"type": "object", "properties": {
                            "code": {"type": "string"}, "name": {"type": "string"}, "unit": {"type": "string"},
                            "active": {"type": "boolean"}, "url": {"type": "string"},
                            "short_url": {"type": "string", "description": "Địa chỉ ngắn in dưới mã QR (gõ được, "
                                                                           "không phân biệt hoa thường)."},
                            "instrument": {"type": "string"}}}}}}}}},
                              **_errors(401, 429)}}},
            "/reports/sipas": {"get": {
                "summary": "Báo cáo chỉ số hài lòng SIPAS của một đơn vị trong phạm vi token, theo kỳ",
                "description": "Cùng nội dung JSON với `flask report sipas` (xem README, mục “SIPAS report JSON”): "
                               "chỉ số chung, theo yếu tố và tiêu chí với khoảng tin cậy 95% và n, alpha, đơn vị "
                               "trực thuộc xếp hạng, so sánh kỳ trước, xu hướng. Đơn vị ngoài phạm vi token: 404.",
                "operationId": "sipasReport",
                "parameters": [
                    {"name": "unit", "in": "query", "required": True, "schema": {"type": "string"},
                     "description": "Mã đơn vị (cả cây đơn vị bên dưới)."},
                    {"name": "period", "in": "query", "required": True, "schema": {"type": "string"},
                     "description": "2026-Q3, 2026-H1, 2026-07, 2026 hoặc 2026-01-01..2026-03-31."},
                ],
                "responses": {"200": {"description": "Báo cáo", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["unit", "period", "overall", "elements", "criteria", "children",
                                                   "comparison", "trend", "method"],
                    "properties": {
                        "unit": {"type": "object"}, "period": {"type": "object"},
                        "overall": ESTIMATE, "responses": {"type": "integer"},
                        "elements": {"type": "array", "items": ESTIMATE},
                        "criteria": {"type": "array", "items": ESTIMATE},
                        "children": {"type": "array", "items": ESTIMATE},
                        "comparison": {"type": ["object", "null"]}, "trend": {"type": "object"},
                        "weighted": {"type": ["object", "null"]}, "dossier": {"type": ["object", "null"]},
                        "method": {"type": ["object", "null"]}}}}}},
                              **_errors(400, 401, 404, 429)}}},
            "/feedback": {
                "get": {"summary": "Phản ánh, kiến nghị đã công khai trong phạm vi token (cho cổng thông tin tỉnh)",
                        "operationId": "listFeedback",
                        "parameters": [
                            {"name": "q", "in": "query", "required": False, "schema": {"type": "string"},
                             "example": "hộ tịch", "description": "Tìm theo từ."},
                            {"name": "page", "in": "query", "required": False,
                             "schema": {"type": "integer", "minimum": 1}, "example": 1}],
                        "responses": {"200": {"description": "Danh sách", "content": {"application/json": {
                            "schema": {"type": "object", "required": ["items", "page", "total"], "properties": {
                                "items": {"type": "array", "items": FEEDBACK_PUBLIC},
                                "page": {"type": "integer", "example": 1},
                                "total": {"type": "integer", "example": 12}}}}}}, **_errors(401, 429)}},
                "post": {"summary": "Tiếp nhận PAKN từ kênh khác; trả về mã tra cứu `code`",
                         "operationId": "createFeedback",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": FEEDBACK_INTAKE}}},
                         "responses": {
                             "201": {"description": "Đã tạo", "content": {"application/json": {"schema": {
                                 "type": "object", "required": ["code", "status", "due_on", "created"],
                                 "properties": {
                                     "code": {"type": "string", "example": "PA-7KQ2-M9XD"},
                                     "status": {"type": "string", "enum": _STATUSES, "example": "received"},
                                     "due_on": {"type": "string", "format": "date", "example": "2026-03-16"},
                                     "created": {"type": "boolean", "example": True}}}}}},
                             "200": {"description": "Cùng `key` đã gửi trước đó: PAKN đã tạo"},
                             **_errors(400, 401, 404, 409, 415, 429)}}},
            "/feedback/{code}": {"get": {
                "summary": "Một PAKN trong phạm vi token (không có thông tin người gửi)", "operationId": "getFeedback",
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                                "example": "PA-7KQ2-M9XD"}],
                "responses": {"200": {"description": "PAKN", "content": {"application/json": {
                    "schema": FEEDBACK_PUBLIC}}}, **_errors(401, 404, 429)}}},
            "/feedback/{code}/{action}": {"post": {
                "summary": "Xử lý PAKN: cùng quy tắc, trạng thái và nhật ký như trang quản trị",
                "operationId": "actOnFeedback",
                "parameters": [
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"},
                     "example": "PA-7KQ2-M9XD"},
                    {"name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": [
                        "accept", "refuse", "transfer", "answer", "approve", "publish"]}, "example": "accept"}],
                "requestBody": {"required": False, "content": {"application/json": {"schema": FEEDBACK_ACTION_BODY}}},
                "responses": {"200": {"description": "PAKN sau thao tác", "content": {"application/json": {
                    "schema": FEEDBACK_PUBLIC}}}, **_errors(400, 401, 403, 404, 409, 415, 429)}}},
            "/dossier-links": {"post": {
                "summary": "Tạo liên kết đánh giá một lần cho hồ sơ đã trả kết quả", "operationId": "mintDossierLink",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["counter", "dossier_code"],
                    "properties": {"counter": {"type": "string"}, "dossier_code": {"type": "string", "maxLength": 64},
                                   "days": {"type": "integer", "minimum": 1, "maximum": 365},
                                   "service_field": {"type": "string", "description": "Không bắt buộc: mã lĩnh vực "
                                                     "của hồ sơ (một lĩnh vực của quầy); khi có, người dân không "
                                                     "phải chọn lại."}}}}}},
                "responses": {"201": {"description": "Liên kết đã tạo", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"url": {"type": "string"}, "dossier_code": {"type": "string"},
                                                     "counter": {"type": "string"},
                                                     "service_field": {"type": ["string", "null"]},
                                                     "expires_at": {"type": "string", "format": "date-time"}}}}}},
                              **_errors(400, 401, 404, 409, 415, 429)}}},
        },
    }
