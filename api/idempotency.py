"""``Idempotency-Key`` on any POST: a retry with the same key and body gets the first answer.

Keys are per user (the account name) and kept durably in the event store
(``application.idempotency``). The body is fingerprinted as canonical JSON (parsed, keys
sorted), so whitespace and key order do not matter. Flow of a POST with a key:

1. the dependency :func:`idempotency_guard` (after authentication) looks the key up: the same
   method, path and body → the stored answer is replayed (``Idempotent-Replayed: true``) and
   the command does not run; another request under that key → 422 ``idempotency-key-reused``;
2. otherwise the route runs, and :class:`IdempotentRoute` stores a 2xx answer under the key.

Tokens shown once are never stored: a replayed answer carries ``token: null``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import NAMESPACE_URL, UUID, uuid5

import structlog
from fastapi import Depends, Header, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from api.errors import ApiProblem
from api.security import Caller, ServicesDep
from application.idempotency import StoredAnswer

__all__ = [
    "IdempotentReplay",
    "IdempotentRoute",
    "PendingKey",
    "canonical_body",
    "derived_id",
    "idempotency_guard",
    "replay_response",
]

KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
REPLAYED_HEADERS = ("location", "etag", "content-type")
_DERIVED_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:api:idempotent-id")
log = structlog.get_logger("khenthuong.api")


@dataclass(frozen=True)
class PendingKey:
    user_id: str
    key: str
    method: str
    path: str
    body: bytes


class IdempotentReplay(Exception):
    """Raised by the guard to answer with the stored response instead of running the route."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__("replay")
        self.answer = answer


def canonical_body(raw: bytes) -> bytes:
    """The body as canonical JSON (sorted keys, no spaces); the raw bytes if it is not JSON."""
    if not raw.strip():
        return b""
    try:
        parsed = json.loads(raw)
        text = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return raw


def derived_id(user_id: str, key: str) -> UUID:
    """The id of what a keyed request creates: a retry (even after a crash) names the same one."""
    return uuid5(_DERIVED_NAMESPACE, f"{user_id}\x1f{key}")


def _check_key(value: str) -> str:
    if not KEY.match(value):
        raise ApiProblem(
            400,
            "invalid-idempotency-key",
            "Idempotency-Key không hợp lệ",
            "Tiêu đề Idempotency-Key phải gồm 1–200 ký tự ASCII nhìn thấy được (không dấu cách).",
        )
    return value


async def idempotency_guard(
    request: Request,
    caller: Caller,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Khóa do máy khách sinh (1–200 ký tự ASCII): gửi lại cùng khóa và cùng "
            "nội dung sẽ nhận lại câu trả lời đầu tiên, không ghi thêm gì.",
            json_schema_extra={"pattern": KEY.pattern, "minLength": 1, "maxLength": 200},
        ),
    ] = None,
) -> PendingKey | None:
    if request.method != "POST" or idempotency_key is None:
        return None
    key = _check_key(idempotency_key)
    pending = PendingKey(
        user_id=caller.account.name,
        key=key,
        method=request.method,
        path=request.url.path,
        body=canonical_body(await request.body()),
    )
    answer = await run_in_threadpool(
        services.idempotency.answer_for,
        pending.user_id,
        pending.key,
        pending.method,
        pending.path,
        pending.body,
    )
    if answer is not None:
        raise IdempotentReplay(answer)
    request.state.idempotency = pending
    return pending


IdempotencyDep = Annotated[PendingKey | None, Depends(idempotency_guard)]


def replay_response(answer: StoredAnswer) -> Response:
    headers = {key: value for key, value in answer.headers.items() if key != "content-type"}
    headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        answer.response,
        status_code=answer.status_code,
        headers=headers,
        media_type=answer.headers.get("content-type", "application/json"),
    )


async def _on_replay(request: Request, error: Exception) -> Response:
    assert isinstance(error, IdempotentReplay)
    return replay_response(error.answer)


def _without_tokens(value: Any) -> Any:
    """A token is shown once: never stored, so a replay carries null in its place."""
    if isinstance(value, dict):
        return {
            key: (None if key == "token" and isinstance(item, str) else _without_tokens(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_tokens(item) for item in value]
    return value


def _remember(request: Request, pending: PendingKey, response: Response) -> None:
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    headers = {
        name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers
    }
    services = request.app.state.services
    try:
        services.idempotency.remember(
            user_id=pending.user_id,
            key=pending.key,
            method=pending.method,
            path=pending.path,
            body=pending.body,
            status_code=response.status_code,
            response=_without_tokens(body),
            headers=headers,
        )
    except Exception:  # the command itself succeeded: say so, and log the lost record
        log.warning("idempotency_record_failed", exc_info=True)


class IdempotentRoute(APIRoute):
    """Every POST route takes the Idempotency-Key guard; its 2xx answers are remembered."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        methods = {method.upper() for method in kwargs.get("methods") or ()}
        if "POST" in methods:
            kwargs["dependencies"] = [
                *(kwargs.get("dependencies") or []),
                Depends(idempotency_guard),
            ]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            response = await handler(request)
            pending = getattr(request.state, "idempotency", None)
            if isinstance(pending, PendingKey) and 200 <= response.status_code < 300:
                await run_in_threadpool(_remember, request, pending, response)
            return response

        return handle


def install_replay_handler(app: Any) -> None:
    app.add_exception_handler(IdempotentReplay, _on_replay)
