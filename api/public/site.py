"""The public site's shared parts: the Jinja2 environment, labels and formats, the CSRF signer,
the comment limits, and rendering a page.

Jinja2 escapes every value (``autoescape`` on for every template); no template holds an inline
script or style, so the Content-Security-Policy needs no ``unsafe-inline``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from api.public.csrf import COOKIE_NAME, CsrfSigner
from api.public.protection import RateLimiter, RecentTexts
from application.history_views import Candidates, PastConsultations
from domain.calendar import WorkCalendar
from domain.dossier import Status
from domain.shared import VIETNAM_TZ, local_date
from infrastructure.bootstrap import Services
from infrastructure.keys import csrf_key
from infrastructure.views.public_reads import PublicReads

__all__ = [
    "COMMENT_KINDS",
    "PublicSite",
    "site_of",
]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
CHOICES_SECONDS = 30.0

COMMENT_KINDS: dict[str, tuple[str, str]] = {
    # form value: (domain value, label)
    "ung_ho": ("support", "Ủng hộ"),
    "phan_doi": ("objection", "Phản đối"),
    "thong_tin": ("information", "Góp ý, cung cấp thông tin"),
}
KIND_LABELS = dict(COMMENT_KINDS.values())
COMMENT_STATUS_LABELS = {
    "received": "Đã nhận, đang chờ xem xét",
    "published": "Đã công bố",
    "withheld": "Không công bố",
}
DISPOSITION_LABELS = {
    "noted": "Ghi nhận",
    "accepted": "Tiếp thu",
    "rejected": "Không tiếp thu",
}
LEVEL_LABELS = {"provincial": "Cấp tỉnh", "state": "Cấp Nhà nước"}
NOMINEE_KIND_LABELS = {"individual": "Cá nhân", "collective": "Tập thể"}


def status_label(status: str | None) -> str:
    if status is None:
        return ""
    try:
        return Status(status).label
    except ValueError:
        return status


def day_text(value: date | datetime | None) -> str:
    """dd/mm/yyyy, the Vietnamese way; a moment on its Vietnamese calendar day."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_date(value)
    return value.strftime("%d/%m/%Y")


def iso_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM_TZ).isoformat()
    return value.isoformat()


def number_text(value: int | None) -> str:
    """1.234: thousands separated by dots."""
    if value is None:
        return ""
    return f"{value:,}".replace(",", ".")


def receipt_text(code: str) -> str:
    """A receipt code as people read it: XXXX-XXXX-XXXX."""
    plain = code.replace("-", "").upper()
    return "-".join(plain[index : index + 4] for index in range(0, len(plain), 4))


def _environment(province: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        day=day_text,
        iso=iso_day,
        number=number_text,
        status=status_label,
        receipt=receipt_text,
        level=lambda v: LEVEL_LABELS.get(v, v),
        nominee_kind=lambda v: NOMINEE_KIND_LABELS.get(v, v),
        comment_kind=lambda v: KIND_LABELS.get(v, v),
        comment_status=lambda v: COMMENT_STATUS_LABELS.get(v, v),
        disposition=lambda v: DISPOSITION_LABELS.get(v, v),
    )
    env.globals.update(
        province=province,
        province_title=f"Tỉnh {province}",
        authority=f"UBND tỉnh {province}",
        comment_kinds=COMMENT_KINDS,
        style_sheet="/static/site.css",
    )
    return env


@dataclass
class _Choices:
    units: list[str] = field(default_factory=list)
    awards: list[tuple[str, str]] = field(default_factory=list)
    at: float = -1e18


class PublicSite:
    """Everything the public routes share in one process."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.services = services
        self.province = settings.province_name
        self.env = _environment(settings.province_name)
        self.csrf = CsrfSigner(csrf_key(settings))
        self.page_size = settings.public_page_size
        window = float(settings.public_comment_window_seconds)
        self.per_address = RateLimiter(settings.public_comments_per_address, window, self.now)
        self.per_dossier = RateLimiter(settings.public_comments_per_dossier, window, self.now)
        self.recent = RecentTexts(max(window, 3600.0), self.now)
        self._choices = _Choices()
        self._choices_lock = threading.Lock()
        self.past = PastConsultations(
            services.dossiers, services.projections.view("consultation"), self._opened_by
        )
        """The consultation list at the end of a past day, rebuilt from the events."""

    # --- time and data ----------------------------------------------------------------------

    def now(self) -> float:
        """Seconds since the epoch by the services' clock (tests move it)."""
        return self.services.dossiers.now().timestamp()

    def today(self) -> date:
        return local_date(self.services.dossiers.now())

    @property
    def calendar(self) -> WorkCalendar:
        return self.services.calendar

    @property
    def reads(self) -> PublicReads:
        return PublicReads(self.services.projections.database)

    def choices(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The units and awards of the consultations, for the list's filters (cached briefly)."""
        clock = time.monotonic()
        with self._choices_lock:
            cached = self._choices
            if clock - cached.at < CHOICES_SECONDS:
                return cached.units, cached.awards
        reads = self.reads
        fresh = _Choices(reads.consultation_units(), reads.consultation_awards(), clock)
        with self._choices_lock:
            self._choices = fresh
        return fresh.units, fresh.awards

    def _opened_by(self, day: date) -> Candidates:
        position, ids = self.reads.consultations_opened_by(day)
        return Candidates(position, ids)

    def forget_choices(self) -> None:
        with self._choices_lock:
            self._choices = _Choices()

    def working_days_left(self, closes_on: date, today: date | None = None) -> int:
        """Working days still open for comment, today included if it is one."""
        today = today or self.today()
        if closes_on < today:
            return 0
        left = self.calendar.working_days_between(today, closes_on)
        return left + (1 if self.calendar.is_working_day(today) else 0)

    # --- pages ------------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        cookie: str | None = None,
        private: bool = False,
    ) -> HTMLResponse:
        """A page; ``cookie`` (a new CSRF cookie) is set on the answer."""
        html = self.env.get_template(template).render(request_path=request.url.path, **context)
        response = HTMLResponse(html, status_code=status_code)
        response.headers["Cache-Control"] = "no-store" if private or cookie else "no-cache"
        if cookie is not None:
            response.set_cookie(
                COOKIE_NAME,
                cookie,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    def error_page(
        self, request: Request, status_code: int, title: str, message: str
    ) -> HTMLResponse:
        return self.render(
            request,
            "error.html",
            {"title": title, "message": message, "status_code": status_code},
            status_code=status_code,
        )


def site_of(request: Request) -> PublicSite:
    site: PublicSite = request.app.state.public
    return site


def parse_dossier_id(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
