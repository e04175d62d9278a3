"""The public transparency pages (trang công khai) and open data, in Vietnamese.

Server-rendered with Jinja2, usable without JavaScript, read only from the view tables:

=====================================  ==================================================
``/``                                  what is open for comment, recent awards, movements
``/cong-khai``                         nominations under public comment (``q``,
                                       ``don_vi``, ``hinh_thuc``, ``tinh_trang``, ``trang``);
                                       ``ngay``: as it stood at the end of that day
``/cong-khai/{id}``                    one nomination: milestones, comments, the form
``POST /cong-khai/{id}/y-kien``        send a comment (→ 303 to its receipt)
``/y-kien/{code}``, ``/y-kien?ma=``    a comment's receipt, and looking one up
``/khen-thuong``                       the register of awards made and revoked
``/phong-trao``                        the emulation movements with their counts
``/du-lieu-mo/``                       open data: JSON pages and CSV files, documented
``/du-lieu-mo/checkpoints``            the audit log's signed checkpoints, the latest, the
                                       public key (``api.public.checkpoints``)
``/static/…``                          the style sheet
=====================================  ==================================================

None of these routes is in the staff API's OpenAPI document.
"""

from __future__ import annotations

import hashlib

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.public import checkpoints, comments, opendata, pages
from api.public.site import STATIC, PublicSite
from api.routes.common import include_routes
from infrastructure.bootstrap import Services

__all__ = ["install_public"]

NOT_PAGES = ("/api/", "/openapi", "/docs", "/metrics", "/healthz", "/readyz", "/static/")
STYLE_SHEET = "site.css"


class _Static(StaticFiles):
    """The style sheet, cached a day (its address carries its hash, so a change is seen)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response


def _is_page(request: Request) -> bool:
    """A browser asking for a page (not the API, nor a data file)."""
    path = request.url.path
    if path.startswith(NOT_PAGES) or path.endswith((".json", ".csv")):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_public(app: FastAPI, services: Services) -> None:
    """Add the public pages, their style sheet and their error pages to ``app``."""
    site = PublicSite(services)
    digest = hashlib.sha256((STATIC / STYLE_SHEET).read_bytes()).hexdigest()[:12]
    site.env.globals["style_sheet"] = f"/static/{STYLE_SHEET}?v={digest}"
    site.env.globals["latest_checkpoint"] = lambda: checkpoints.footer_checkpoint(site)
    app.state.public = site
    for router in (pages.router, comments.router, opendata.router, checkpoints.router):
        include_routes(app, router)
    app.mount("/static", _Static(directory=STATIC), name="static")
    problem_handler = app.exception_handlers[StarletteHTTPException]

    async def on_http_exception(request: Request, error: Exception) -> Response:
        if (
            isinstance(error, StarletteHTTPException)
            and error.status_code == 404
            and _is_page(request)
        ):
            return site.error_page(
                request,
                404,
                "Không tìm thấy trang",
                "Địa chỉ này không có trên trang công khai. Hãy dùng các liên kết ở đầu "
                "trang để tìm thông tin.",
            )
        response = problem_handler(request, error)
        return await response if not isinstance(response, Response) else response

    app.add_exception_handler(StarletteHTTPException, on_http_exception)
