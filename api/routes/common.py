"""What the routers share: If-Match, receipts with their ETag, paging, documented problems."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError

from api.errors import PROBLEM_MEDIA_TYPE, ApiProblem, etag
from api.idempotency import IdempotentRoute
from api.models import ReceiptOut
from application.store import Receipt

T = TypeVar("T")
IF_MATCH_PATTERN = r'^(W/)?"[0-9]{1,9}"$|^[0-9]{1,9}$'

_IF_MATCH = re.compile(r'^(?:W/)?"([0-9]{1,9})"$|^([0-9]{1,9})$')

PROBLEM_DESCRIPTIONS: dict[int, str] = {
    400: "Yêu cầu sai cú pháp (JSON, If-Match, Idempotency-Key, chọn vai trò)",
    401: "Thiếu hoặc sai mã truy cập (WWW-Authenticate: Bearer)",
    403: "Vai trò không được phép",
    404: "Không tìm thấy (hoặc không thuộc đơn vị của người trình)",
    409: "Trạng thái không cho phép thao tác (nêu trạng thái hiện tại)",
    412: "If-Match đã cũ: hồ sơ đã có phiên bản mới (current_version)",
    413: "Nội dung vượt quá 1 MiB",
    415: "Nội dung không phải application/json",
    422: "Dữ liệu không hợp lệ (errors: [{field, message}])",
    428: "Thiếu tiêu đề If-Match",
    503: "Kho dữ liệu tạm thời không truy cập được",
}

READ_PROBLEMS = (400, 401, 403, 404, 422)
COMMAND_PROBLEMS = (400, 401, 403, 404, 409, 413, 415, 422)
MOVE_PROBLEMS = (*COMMAND_PROBLEMS, 412, 428)


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers documented as application/problem+json (plus a default for 5xx)."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in sorted(set(statuses)):
        documented[status] = {
            "description": PROBLEM_DESCRIPTIONS.get(status, "Lỗi"),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    documented["default"] = {
        "description": "Lỗi phía máy chủ (500) hoặc kho dữ liệu tạm thời không truy cập được (503)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    return documented


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


class StrictRoute(IdempotentRoute):
    """A route that also refuses query parameters it does not declare (422), as request
    bodies refuse unknown fields."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.query_names = frozenset(_query_names(self.dependant))

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            unknown = sorted(set(request.query_params) - self.query_names)
            if unknown:
                raise RequestValidationError(
                    [
                        {"type": "extra_forbidden", "loc": ("query", name[:60]), "msg": ""}
                        for name in unknown[:10]
                    ]
                )
            return await handler(request)

        return handle


def api_router(prefix: str, tag: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=[tag], route_class=StrictRoute)


async def expected_version(  # no I/O: run on the event loop, not in a worker thread
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='Phiên bản đang thao tác, như ETag của lần đọc: "3" (cũng nhận W/"3" và 3). '
            "Bắt buộc: thiếu → 428, sai dạng → 400, đã cũ → 412.",
            json_schema_extra={"pattern": IF_MATCH_PATTERN, "maxLength": 14},
        ),
    ] = None,
) -> int:
    """The version the caller acted on: missing → 428, malformed → 400."""
    if if_match is None or not if_match.strip():
        raise ApiProblem(
            428,
            "precondition-required",
            "Thiếu tiêu đề If-Match",
            "Mọi thao tác trên hồ sơ, phong trào đã có cần tiêu đề If-Match với phiên bản đã đọc "
            '(giá trị ETag, ví dụ If-Match: "3"), để không ghi đè thay đổi của người khác.',
        )
    match = _IF_MATCH.match(if_match.strip())
    if match is None:
        raise ApiProblem(
            400,
            "invalid-if-match",
            "Tiêu đề If-Match không hợp lệ",
            'If-Match phải là đúng một phiên bản, ví dụ "3" (hoặc W/"3", 3); không nhận * '
            "hay danh sách.",
        )
    return int(match.group(1) or match.group(2))


ExpectedVersion = Annotated[int, Depends(expected_version)]
DossierId = Annotated[UUID, Path(description="Mã hồ sơ (UUID)")]
MovementId = Annotated[UUID, Path(description="Mã phong trào thi đua (UUID)")]
Limit = Annotated[int, Query(ge=1, le=100, description="Số mục mỗi trang (1–100)")]
Offset = Annotated[int, Query(ge=0, le=100_000, description="Bỏ qua bao nhiêu mục (0–100000)")]


def receipt(result: Receipt, response: Response) -> ReceiptOut:
    """A command's answer: {id, version, position}, with the new version as ETag."""
    response.headers["ETag"] = etag(result.version)
    return ReceiptOut(id=result.id, version=result.version, position=result.position)


def page(items: Sequence[T], limit: int, offset: int) -> tuple[list[T], int]:
    return list(items[offset : offset + limit]), len(items)
