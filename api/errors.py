"""One mapping from every domain and application error to an HTTP answer (RFC 9457 problems).

Errors are matched by class (never by message). Each answer is ``application/problem+json``
with ``type`` ``/problems/<code>``, the error's Vietnamese ``title``, its message as
``detail``, the request path as ``instance``, and extensions where they help the caller act:
``current_version`` for a stale ``If-Match``, ``dossier_status`` for an illegal move, ``errors``
for invalid input. Nothing unexpected ever leaks: an unknown failure is a bare 500 problem.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError, PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from application.accounts import RoleChoiceNeeded, RoleNotAvailable, Unauthenticated
from application.errors import (
    AlreadyExists,
    ApplicationError,
    ConfigurationError,
    InvalidMoment,
    NotFound,
    PermissionDenied,
    VersionConflict,
)
from application.idempotency import IdempotencyKeyReused
from domain.accounts import AccountDisabled, DuplicateAccount, RoleNotHeld, UnknownToken
from domain.dossier import Status
from domain.errors import (
    AlreadyVoted,
    CommentNotFound,
    CommentPeriodTooShort,
    CommentWindowClosed,
    CommentWindowStillOpen,
    ConflictOfInterest,
    CouncilApprovalMissing,
    DomainError,
    DossierOnHold,
    DuplicateComment,
    DuplicateDocumentNumber,
    DuplicateNomination,
    ForeignUnit,
    IllegalTransition,
    InvalidDocumentDate,
    InvalidDocumentNumber,
    InvalidPeriod,
    InvalidValue,
    ModerationUnchanged,
    MovementClosed,
    NomineeKindMismatch,
    NoRulebookInForce,
    NotACouncilMember,
    NotEligible,
    PartyOpinionMissing,
    PartyOpinionUnfavourable,
    PersonalDetailsMisplaced,
    PersonalDetailsRequired,
    PublicCommentNotApplicable,
    PublicCommentRequired,
    QuorumNotMet,
    RulebookError,
    SeparationOfDuties,
    UnansweredComments,
    UnknownAward,
    UnknownComment,
    WrongLevel,
    WrongRole,
)
from domain.movement import DuplicateMovement

__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "STATUS_BY_ERROR",
    "ApiProblem",
    "etag",
    "install_error_handlers",
    "problem_response",
    "status_for",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("khenthuong.api")

STATUS_BY_ERROR: dict[type[Exception], int] = {
    # 401: who are you?
    Unauthenticated: 401,
    # 403: you may not
    PermissionDenied: 403,
    WrongRole: 403,
    ForeignUnit: 403,
    SeparationOfDuties: 403,
    NotACouncilMember: 403,
    ConflictOfInterest: 403,
    RoleNotAvailable: 403,
    # 400: the request itself is malformed
    RoleChoiceNeeded: 400,
    # 404
    NotFound: 404,
    CommentNotFound: 404,
    # 409: the state of things does not allow it
    IllegalTransition: 409,
    DossierOnHold: 409,
    CommentWindowStillOpen: 409,
    CommentWindowClosed: 409,
    PublicCommentRequired: 409,
    PublicCommentNotApplicable: 409,
    AlreadyVoted: 409,
    DuplicateNomination: 409,
    DuplicateDocumentNumber: 409,
    DuplicateComment: 409,
    ModerationUnchanged: 409,
    DuplicateMovement: 409,
    DuplicateAccount: 409,
    AccountDisabled: 409,
    MovementClosed: 409,
    AlreadyExists: 409,
    QuorumNotMet: 409,
    CouncilApprovalMissing: 409,
    PartyOpinionMissing: 409,
    PartyOpinionUnfavourable: 409,
    WrongLevel: 409,
    NoRulebookInForce: 409,
    # 412: acted on a stale version
    VersionConflict: 412,
    # 422: the content is not acceptable
    InvalidValue: 422,
    InvalidDocumentNumber: 422,
    InvalidDocumentDate: 422,
    InvalidPeriod: 422,
    NotEligible: 422,
    NomineeKindMismatch: 422,
    PersonalDetailsMisplaced: 422,
    PersonalDetailsRequired: 422,
    UnknownAward: 422,
    UnknownComment: 422,
    UnansweredComments: 422,
    CommentPeriodTooShort: 422,
    InvalidMoment: 422,
    IdempotencyKeyReused: 422,
    RoleNotHeld: 422,
    UnknownToken: 422,
    # server side: configuration, never the caller's fault
    ConfigurationError: 500,
    RulebookError: 500,
    # fallbacks for rule errors added later without a mapping
    DomainError: 422,
    ApplicationError: 400,
}
"""Every error class the core raises, by class; a subclass not listed takes its base's status."""


def status_for(error: BaseException) -> int:
    for cls in type(error).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


class ApiProblem(Exception):
    """A problem found by the web layer itself (headers, body size, content type, health)."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


def etag(version: int) -> str:
    return f'"{version}"'


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    for key, value in (extensions or {}).items():
        body.setdefault(key, _json_safe(value))
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_MEDIA_TYPE
    )


# --- the core's errors ------------------------------------------------------------------------


def _core_problem(request: Request, error: DomainError | ApplicationError) -> Response:
    status = status_for(error)
    headers: dict[str, str] = {}
    extensions: dict[str, Any] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, VersionConflict):
        extensions["current_version"] = error.current
        headers["ETag"] = etag(error.current)
    if isinstance(error, IllegalTransition):
        extensions["dossier_status"] = str(error.status)
        try:
            extensions["dossier_status_label"] = Status(error.status).label
        except ValueError:
            extensions["dossier_status_label"] = str(error.status)
    if isinstance(error, InvalidValue):
        extensions["errors"] = [{"field": error.field, "message": error.message}]
    if status >= 500:
        log.error("core_configuration_error", error_type=type(error).__name__)
        return problem_response(
            status=500,
            code="internal-error",
            title="Lỗi hệ thống",
            detail="Máy chủ gặp lỗi cấu hình; vui lòng báo quản trị hệ thống.",
            instance=request.url.path,
        )
    return problem_response(
        status=status,
        code=error.code,
        title=error.title,
        detail=error.message,
        instance=request.url.path,
        headers=headers,
        extensions=extensions,
    )


async def _on_domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError | ApplicationError)
    return _core_problem(request, error)


async def _on_api_problem(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiProblem)
    return problem_response(
        status=error.status,
        code=error.code,
        title=error.title,
        detail=error.detail,
        instance=request.url.path,
        headers=error.headers,
        extensions=error.extensions,
    )


# --- the store --------------------------------------------------------------------------------


async def _on_persistence_error(request: Request, error: Exception) -> Response:
    if isinstance(error, IntegrityError):
        return problem_response(
            status=409,
            code="write-conflict",
            title="Xung đột khi ghi",
            detail="Dữ liệu vừa được người khác cập nhật cùng lúc; hãy tải lại rồi thực hiện lại.",
            instance=request.url.path,
        )
    log.error("store_unavailable", error_type=type(error).__name__)
    return problem_response(
        status=503,
        code="store-unavailable",
        title="Kho dữ liệu tạm thời không truy cập được",
        detail="Không truy cập được kho sự kiện; vui lòng thử lại sau ít phút.",
        instance=request.url.path,
        headers={"Retry-After": "5"},
    )


# --- the framework's errors -------------------------------------------------------------------

_HTTP_DEFAULTS: dict[int, tuple[str, str, str]] = {
    400: ("bad-request", "Yêu cầu không hợp lệ", "Không đọc được nội dung yêu cầu."),
    401: ("unauthenticated", "Chưa xác thực", "Cần mã truy cập (Authorization: Bearer …)."),
    403: ("permission-denied", "Không có quyền", "Bạn không được phép thực hiện thao tác này."),
    404: (
        "not-found",
        "Không tìm thấy",
        "Không có tài nguyên tại đường dẫn này; kiểm tra lại địa chỉ (xem /docs).",
    ),
    405: (
        "method-not-allowed",
        "Phương thức không được hỗ trợ",
        "Đường dẫn này không hỗ trợ phương thức HTTP đã dùng; xem tiêu đề Allow.",
    ),
    406: ("not-acceptable", "Không hỗ trợ định dạng", "Chỉ trả lời dạng JSON."),
    413: (
        "payload-too-large",
        "Nội dung quá lớn",
        "Nội dung yêu cầu vượt quá 1 MiB.",
    ),
    415: (
        "unsupported-media-type",
        "Định dạng nội dung không được hỗ trợ",
        "Nội dung yêu cầu phải là JSON (Content-Type: application/json).",
    ),
}


async def _on_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    code, title, detail = _HTTP_DEFAULTS.get(
        status, ("http-error", "Không thực hiện được yêu cầu", "Không thực hiện được yêu cầu.")
    )
    headers = {key: value for key, value in (error.headers or {}).items() if key.lower() == "allow"}
    if status == 405:
        headers = {"Allow": ", ".join(_allowed_methods(request))}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem_response(
        status=status,
        code=code,
        title=title,
        detail=detail,
        instance=request.url.path,
        headers=headers,
    )


def _flat_routes(routes: Sequence[Any]) -> Iterator[Any]:
    """The routes as served: newer FastAPI keeps an included router as one entry whose
    ``effective_route_contexts()`` are its routes with their full paths."""
    for route in routes:
        nested = getattr(route, "effective_route_contexts", None)
        if callable(nested):
            yield from nested()
        else:
            yield route


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route offers on this path (the router names only the first route's)."""
    methods: set[str] = set()
    for route in _flat_routes(request.app.routes):
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(request.url.path):
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


_MESSAGES: dict[str, str] = {
    "missing": "là bắt buộc",
    "extra_forbidden": "không được hỗ trợ (trường không xác định)",
    "string_type": "phải là chuỗi ký tự",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "string_too_long": "dài quá {max_length} ký tự",
    "string_pattern_mismatch": "không đúng định dạng",
    "string_unicode": "phải là chuỗi Unicode hợp lệ",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_type": "phải là số",
    "bool_type": "phải là true hoặc false",
    "bool_parsing": "phải là true hoặc false",
    "greater_than": "phải lớn hơn {gt}",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "less_than": "phải nhỏ hơn {lt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "too_short": "phải có ít nhất {min_length} mục",
    "too_long": "có quá {max_length} mục",
    "list_type": "phải là một danh sách",
    "dict_type": "phải là một đối tượng JSON",
    "model_type": "phải là một đối tượng JSON",
    "model_attributes_type": "phải là một đối tượng JSON",
    "enum": "phải là một trong: {expected}",
    "literal_error": "phải là một trong: {expected}",
    "uuid_type": "phải là mã UUID",
    "uuid_parsing": "phải là mã UUID, ví dụ 3f2b8c1e-6a4d-5b7e-9c0f-1a2b3c4d5e6f",
    "uuid_version": "phải là mã UUID hợp lệ",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_inexact": "phải là một ngày, không kèm giờ",
    "datetime_type": "phải là thời điểm ISO 8601 có múi giờ",
    "datetime_parsing": "phải là thời điểm ISO 8601 có múi giờ, ví dụ 2026-03-05T09:00:00+07:00",
    "datetime_from_date_parsing": "phải là thời điểm ISO 8601 có múi giờ",
    "timezone_aware": "phải kèm múi giờ, ví dụ 2026-03-05T09:00:00+07:00",
    "json_invalid": "không phải JSON hợp lệ",
    "json_type": "không phải JSON hợp lệ",
}


def _field_name(location: Sequence[Any]) -> tuple[str, str]:
    where = str(location[0]) if location else "body"
    parts: list[str] = []
    for part in location[1:]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        else:
            parts.append(("." if parts else "") + str(part))
    return where, "".join(parts) or ("nội dung" if where == "body" else where)


def _message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if kind == "value_error":
        text = str(context.get("error", "")) or "không hợp lệ"
        return text.removeprefix("Value error, ")
    template = _MESSAGES.get(kind)
    if template is None:
        return "không hợp lệ"
    values = {key: str(value).replace(" or ", " hoặc ") for key, value in context.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return "không hợp lệ"


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Each problem as {field, location, message} in Vietnamese; the input is never echoed."""
    described = []
    for error in errors[:50]:
        where, field = _field_name(tuple(error.get("loc", ())))
        described.append({"field": field, "location": where, "message": _message(error)})
    return described


async def _on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = list(error.errors())
    if any(item.get("type") == "json_invalid" for item in errors):
        return problem_response(
            status=400,
            code="malformed-json",
            title="Nội dung JSON không hợp lệ",
            detail="Không đọc được nội dung yêu cầu: JSON sai cú pháp.",
            instance=request.url.path,
        )
    described = validation_errors(errors)
    listing = "; ".join(f"«{item['field']}» {item['message']}" for item in described[:5])
    return problem_response(
        status=422,
        code="validation-error",
        title="Dữ liệu không hợp lệ",
        detail=f"Yêu cầu có dữ liệu không hợp lệ: {listing}.",
        instance=request.url.path,
        extensions={"errors": described},
    )


async def _on_response_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ResponseValidationError)
    log.error("response_validation_failed", errors=len(error.errors()))
    return problem_response(
        status=500,
        code="internal-error",
        title="Lỗi hệ thống",
        detail="Máy chủ gặp lỗi không mong muốn; vui lòng thử lại hoặc báo quản trị hệ thống.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _on_domain_error)
    app.add_exception_handler(ApplicationError, _on_domain_error)
    app.add_exception_handler(ApiProblem, _on_api_problem)
    app.add_exception_handler(PersistenceError, _on_persistence_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ResponseValidationError, _on_response_validation_error)
