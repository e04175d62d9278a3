"""The staff API: ``create_app(settings)`` builds the FastAPI application.

OpenAPI at ``/openapi.json``, interactive docs at ``/docs``, liveness at ``/healthz``, readiness
(the store answers, the views keep up) at ``/readyz``, Prometheus metrics at ``/metrics``, the
staff API under ``/api/v1`` (see docs/api.md), and the public pages and open data everywhere
else (``api.public``).

``uvicorn api.app:app_from_environment --factory`` serves it with settings read from the
``KHENTHUONG_*`` environment variables.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic import ValidationError
from starlette.responses import HTMLResponse

from api.errors import PROBLEM_MEDIA_TYPE, install_error_handlers
from api.idempotency import KEY as IDEMPOTENCY_KEY
from api.idempotency import install_replay_handler
from api.metrics import Metrics
from api.middleware import BodyGuard, RequestContext
from api.models import Problem
from api.public import install_public
from api.routes import ROUTERS
from api.routes.audit import async_proof_reads
from api.routes.audit import public_router as audit_public_router
from api.routes.common import IF_MATCH_PATTERN, include_routes
from application.policy import STAFF_ROLES
from application.store import Clock, utc_now
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, describe_settings_error

__all__ = ["app_from_environment", "create_app"]

TITLE = "khenthuong — hồ sơ đề nghị khen thưởng"
DESCRIPTION = """\
API cho cán bộ: trình, thẩm định, xét và quyết định hồ sơ đề nghị khen thưởng.

* Xác thực: `Authorization: Bearer kt_…` (mã truy cập do quản trị cấp, hiển thị một lần);
  tài khoản có nhiều vai trò chọn vai trò bằng tiêu đề `X-Role`.
* Đọc hồ sơ trả `ETag: "<phiên bản>"`; mọi thao tác trên hồ sơ cần `If-Match` với phiên bản
  đó (thiếu → 428, cũ → 412 kèm `current_version`).
* `Idempotency-Key` trên mọi POST: gửi lại cùng khóa và nội dung nhận lại câu trả lời đầu.
* Lỗi theo RFC 9457 (`application/problem+json`), tiếng Việt, `type` ổn định.
"""


def _version() -> str:
    try:
        return metadata.version("khenthuong")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _problem_schemas() -> dict[str, Any]:
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {**definitions, "Problem": schema}


HEADER_SCHEMAS: dict[str, tuple[bool, dict[str, Any]]] = {
    # name: (required, schema): If-Match is checked by the route (428 when missing, not 422)
    "If-Match": (True, {"type": "string", "pattern": IF_MATCH_PATTERN, "maxLength": 14}),
    "X-Role": (False, {"type": "string", "enum": sorted(role.value for role in STAFF_ROLES)}),
    "Idempotency-Key": (
        False,
        {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern, "minLength": 1, "maxLength": 200},
    ),
}


def _precise_headers(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        known = HEADER_SCHEMAS.get(parameter.get("name", ""))
        if parameter.get("in") == "header" and known is not None:
            parameter["required"], parameter["schema"] = known[0], dict(known[1])


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(_problem_schemas())
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _precise_headers(operation)
                for answer in operation.get("responses", {}).values():
                    content = answer.get("content", {})
                    if PROBLEM_MEDIA_TYPE in content and not content.get(
                        "application/json", {}
                    ).get("schema"):
                        content.pop("application/json", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


SWAGGER_ASSETS = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _docs_policy(html: str) -> str:
    """The Swagger page's own policy: its assets from the CDN, its one inline script allowed
    by hash (never ``unsafe-inline``), no frames."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {hashes} {SWAGGER_ASSETS}; "
        f"style-src {SWAGGER_ASSETS}; img-src 'self' data: https://fastapi.tiangolo.com; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _install_docs(app: FastAPI) -> None:
    """Interactive documentation at ``/docs`` (Swagger UI)."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} — Swagger UI")
    html = bytes(page.body).decode("utf-8")
    policy = _docs_policy(html)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def create_app(
    settings: Settings, *, services: Services | None = None, clock: Clock | None = None
) -> FastAPI:
    """The application. Given ready ``services`` it uses them (and leaves closing them to the
    caller); otherwise it bootstraps them from ``settings`` (with ``clock``) and closes them at
    shutdown."""
    configure_logging(settings)
    owned = services is None
    ready = services if services is not None else bootstrap(settings, clock=clock or utc_now)

    proofs = async_proof_reads(ready)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            if proofs is not None:
                await proofs.open()  # on the server's loop: the pool is bound to it
            yield
        finally:
            if proofs is not None:
                await proofs.close()
            if owned:
                ready.close()

    app = FastAPI(
        title=TITLE,
        version=_version(),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # served by _install_docs, with its own Content-Security-Policy
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = ready
    app.state.async_proof_reads = proofs
    app.state.metrics = metrics = Metrics(lambda: ready.projections.status(followers=True))
    install_error_handlers(app)
    install_replay_handler(app)
    for router in ROUTERS:
        include_routes(app, router)
    install_public(app, ready)
    include_routes(app, audit_public_router)  # /du-lieu-mo/bang-chung/{id}
    _install_openapi(app)
    _install_docs(app)
    # The last added is the outermost: the request context wraps the body guard.
    app.add_middleware(BodyGuard)
    app.add_middleware(RequestContext, observe=metrics.observe_request)
    return app


def app_from_environment() -> FastAPI:
    """The factory for uvicorn: settings from the KHENTHUONG_* environment variables."""
    try:
        settings = Settings()
    except ValidationError as error:
        problems = "\n".join(f"  - {line}" for line in describe_settings_error(error))
        raise SystemExit(f"Lỗi: cấu hình không hợp lệ:\n{problems}") from None
    app = create_app(settings)
    # What start-up built (routes, schemas, services) lives as long as the process: moved out
    # of the collector's reach, a full collection no longer walks it and pauses a request for
    # milliseconds (the garbage made so far is collected first).
    gc.collect()
    gc.freeze()
    return app
