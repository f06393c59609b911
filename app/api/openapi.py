"""The OpenAPI 3.1 description of API v1 (kept beside the views it describes)."""
from __future__ import annotations

ERROR = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "status": {"type": "integer"}, "message": {"type": "string"}}}}}

#: One published figure of a SIPAS report (points 0–100, 2 decimals; null where suppressed).
ESTIMATE = {"type": "object", "properties": {
    "value": {"type": ["number", "null"]}, "n": {"type": "integer"}, "ci_low": {"type": ["number", "null"]},
    "ci_high": {"type": ["number", "null"]}, "flags": {"type": "array", "items": {"type": "string"}}}}


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
