"""Pure ASGI middleware: request id, access log, security headers, body size and content type.

``RequestContext`` (outermost) gives every request an id (an incoming ``X-Request-ID`` of 1–64
characters ``[A-Za-z0-9._-]`` is kept, otherwise one is generated), returns it as
``X-Request-ID``, adds the security headers (a Content-Security-Policy without
``unsafe-inline``, nosniff, no referrer, no framing, a Permissions-Policy), turns any unexpected exception into a bare 500
problem, and writes one structlog line per request: request id, user id, role, method, route
template, status, duration. Never a header value, a token, a body or a query string.

It also tells ``observe`` (the app's Prometheus metrics) each request's method, route
template, status and duration.

``BodyGuard`` (inside it) refuses bodies over 1 MiB (413, by Content-Length and while reading)
and staff API command bodies that are not JSON (415), before any route runs (the public
pages' forms post ``application/x-www-form-urlencoded``).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem_response

__all__ = ["CONTENT_SECURITY_POLICY", "MAX_BODY_BYTES", "BodyGuard", "RequestContext"]

MAX_BODY_BYTES = 1024 * 1024
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
"""Everything from this origin, nothing inline (no ``unsafe-inline``), no frames; a response
that needs another policy (the Swagger page) sets its own."""
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode("ascii")),
    (b"permissions-policy", PERMISSIONS_POLICY.encode("ascii")),
    (b"cross-origin-opener-policy", b"same-origin"),
)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
COMMAND_METHODS = frozenset({"POST", "PUT", "PATCH"})

access_log = structlog.get_logger("khenthuong.access")
error_log = structlog.get_logger("khenthuong.api")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


RequestObserver = Callable[[str, str | None, int, float], None]
"""Told (method, route template or None, status, seconds) once per answered request."""


class RequestContext:
    def __init__(self, app: ASGIApp, observe: RequestObserver | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        path = str(scope.get("path", ""))
        is_api = path.startswith("/api/")
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = [
                    (key, value)
                    for key, value in message.get("headers", [])
                    if key.lower() != b"x-request-id"
                ]
                headers.append((b"x-request-id", request_id.encode("ascii")))
                present = {key.lower() for key, _ in headers}
                headers.extend(item for item in SECURITY_HEADERS if item[0] not in present)
                if is_api or path in ("/healthz", "/readyz"):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_headers)
            except Exception:
                error_log.error("unhandled_error", route=_route(scope), exc_info=True)
                if not response_started:
                    response = problem_response(
                        status=500,
                        code="internal-error",
                        title="Lỗi hệ thống",
                        detail="Máy chủ gặp lỗi không mong muốn; vui lòng thử lại hoặc báo "
                        f"quản trị hệ thống (mã yêu cầu {request_id}).",
                        instance=path,
                    )
                    await response(scope, receive, send_with_headers)
                status = 500
            finally:
                elapsed = time.perf_counter() - started
                access_log.info(
                    "request",
                    user_id=state.get("user_id"),
                    role=state.get("role"),
                    method=scope.get("method"),
                    route=_route(scope),
                    status=status,
                    duration_ms=round(elapsed * 1000, 1),
                )
                if self.observe is not None:
                    self.observe(str(scope.get("method", "")), _route(scope), status, elapsed)


def _route(scope: Scope) -> str | None:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template is not None else None


class BodyGuard:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None:
            if not (length.strip().isascii() and length.strip().isdigit()):  # not "²" or "٣"
                await self._refuse(scope, receive, send, 400)
                return
            if int(length) > self.max_bytes:
                await self._refuse(scope, receive, send, 413)
                return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, 413)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        is_api = str(scope.get("path", "")).startswith("/api/")
        if body and is_api and scope.get("method") in COMMAND_METHODS and not _is_json(scope):
            await self._refuse(scope, receive, send, 415)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int) -> None:
        if status == 413:
            response = problem_response(
                status=413,
                code="payload-too-large",
                title="Nội dung quá lớn",
                detail=f"Nội dung yêu cầu vượt quá {self.max_bytes // 1024} KiB (1 MiB); tài "
                "liệu đính kèm chỉ gửi mã SHA-256 và dung lượng, không gửi tệp.",
                instance=str(scope.get("path", "")),
                headers={"Connection": "close"},
            )
        elif status == 415:
            response = problem_response(
                status=415,
                code="unsupported-media-type",
                title="Định dạng nội dung không được hỗ trợ",
                detail="Nội dung yêu cầu phải là JSON: gửi tiêu đề Content-Type: application/json.",
                instance=str(scope.get("path", "")),
            )
        else:
            response = problem_response(
                status=400,
                code="bad-request",
                title="Yêu cầu không hợp lệ",
                detail="Tiêu đề Content-Length không hợp lệ.",
                instance=str(scope.get("path", "")),
            )
        await response(scope, receive, send)


def _is_json(scope: Scope) -> bool:
    content_type = _header(scope, b"content-type")
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
