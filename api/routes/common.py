"""What the routers share: If-Match, receipts with their ETag, paging, read-your-writes waits,
documented problems."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import date
from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from api.errors import PROBLEM_MEDIA_TYPE, ApiProblem, etag
from api.idempotency import IdempotentRoute
from api.models import QUERY_TEXT, ReceiptOut
from application.accounts import Principal
from application.store import Receipt
from domain.dossier import Status
from domain.rulebook import Level
from domain.shared import Role, local_date
from infrastructure.bootstrap import Services
from infrastructure.views.reads import InvalidCursor, ViewReads

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
    503: "Kho dữ liệu tạm thời không truy cập được, hoặc danh sách chưa cập nhật tới ?after= "
    "(Retry-After)",
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


def include_routes(app: FastAPI, router: APIRouter) -> None:
    """Add ``router``'s routes to the app's own list of routes, as ``include_router`` did
    before FastAPI 0.137.

    Since 0.137 ``include_router`` keeps the router as one node that every request walks,
    rebuilding each route's include context on the way; with a dozen routers that cost 0.1 to
    0.2 ms a request here (HTTP inclusion proofs, the same events asked of both servers in
    turn, which one first alternating: p50 lower in 11 of 12 rounds of 1,000). Nothing is
    lost: ``APIRouter`` gives each route its prefix, tags and dependencies when the route is
    declared (the OpenAPI document is the same byte for byte), and no app overrides
    dependencies. Only plain routes and mounts are taken, so a nested router cannot slip
    through unmatched.
    """
    for route in router.routes:
        if not isinstance(route, APIRoute | Route | Mount):
            raise TypeError(f"include_routes takes routes and mounts, not {type(route).__name__}")
    app.router.routes.extend(router.routes)


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
ViewLimit = Annotated[int, Query(ge=1, le=200, description="Số mục mỗi trang (1–200)")]
MAX_POSITION = 2**53 - 1
"""The largest integer a JavaScript client holds exactly."""
After = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Chỉ trả lời khi danh sách đã phản ánh vị trí này của nhật ký sự kiện (position "
        "trong câu trả lời của lệnh vừa ghi); chờ tối đa vài giây, không kịp → 503 với Retry-After",
    ),
]
Cursor = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=400,
        description="Con trỏ trang: giá trị next_cursor của trang trước (giữ nguyên sort và bộ lọc)",
    ),
]
Count = Annotated[
    bool, Query(description="Đếm tổng số mục khớp bộ lọc (total); mặc định không đếm")
]
StatusFilter = Annotated[
    list[Status] | None, Query(max_length=20, description="Lọc theo trạng thái (lặp lại được)")
]
AwardCodeFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9_]{1,60}$",
        description="Lọc theo mã hình thức khen thưởng",
    ),
]
LevelFilter = Annotated[
    Level | None, Query(description="Lọc theo cấp: provincial (cấp tỉnh) hoặc state (Nhà nước)")
]
UnitFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=300,
        description="Lọc theo đơn vị trình (không phân biệt hoa thường, dấu; bỏ qua với submitter)",
    ),
    QUERY_TEXT,
]
MovementFilter = Annotated[UUID | None, Query(description="Lọc theo phong trào thi đua")]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="Tìm theo từ (không phân biệt hoa thường, có dấu hay không dấu): mọi từ "
        "phải có trong tên người/tập thể được đề nghị hoặc tên đơn vị",
    ),
    QUERY_TEXT,
]


def receipt(result: Receipt, response: Response) -> ReceiptOut:
    """A command's answer: {id, version, position}, with the new version as ETag."""
    response.headers["ETag"] = etag(result.version)
    return ReceiptOut(id=result.id, version=result.version, position=result.position)


def page(items: Sequence[T], limit: int, offset: int) -> tuple[list[T], int]:
    return list(items[offset : offset + limit]), len(items)


# --- reading the view tables ------------------------------------------------------------------


def wait_for_views(services: Services, after: int | None, views: Sequence[str]) -> None:
    """Read-your-writes: with ``?after=N``, answer only once the views have applied position N
    (waiting up to ``read_wait_seconds``); otherwise 503 with ``Retry-After: 1``."""
    if after is None:
        return
    projections = services.projections
    if projections.wait_for(after, views=views, timeout=0):
        return
    # A position the log has not reached yet cannot be waited for.
    if after <= services.movements.max_position() and projections.wait_for(
        after, views=views, timeout=services.settings.read_wait_seconds
    ):
        return
    reached = min(projections.database.positions(list(views)).values(), default=0)
    raise ApiProblem(
        503,
        "views-not-caught-up",
        "Danh sách chưa cập nhật kịp",
        f"Danh sách mới phản ánh đến vị trí {reached} của nhật ký sự kiện, chưa tới vị trí "
        f"{after} được yêu cầu (?after=); vui lòng thử lại sau giây lát.",
        headers={"Retry-After": "1"},
        extensions={"position": reached, "after": after},
    )


def view_reads(services: Services) -> ViewReads:
    return ViewReads(services.projections.database)


def today_of(services: Services) -> date:
    """Today's date in Vietnam, by the services' clock (deadlines, overdue)."""
    return local_date(services.dossiers.now())


def invalid_cursor(error: InvalidCursor) -> ApiProblem:
    return ApiProblem(400, "invalid-cursor", "Con trỏ trang không hợp lệ", error.message)


UnitScoped = TypeVar("UnitScoped", bound=Any)


def own_unit_only(caller: Principal, found: UnitScoped) -> UnitScoped:
    """A submitter reads only its own unit's rows, whatever ``unit`` the filter asks for."""
    if caller.actor.role is Role.SUBMITTER:
        return replace(found, unit=caller.actor.unit or "")
    return found
