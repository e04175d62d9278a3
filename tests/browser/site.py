"""The real public site for the browser, privacy and escaping tests.

``running_site`` serves the production app (``create_app``) with uvicorn on a free local port,
in a background thread, over a temporary SQLite store loaded with the demo data. Its clock
starts on a fixed working Monday morning and then ticks in real time: the demo data are dated
relative to that day, so four state-level nominations have their comment window open (and two
have theirs closed) whatever day the tests run, and the rate limits and CSRF tokens see time
pass as they would in production.

The helpers speak HTTP as a citizen's browser (``PublicForm``: the comment form with its CSRF
token and cookie) and as the staff would (``StaffApi``: bearer tokens, ``If-Match``).
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import uvicorn

from api.app import create_app
from application.demo import DemoSummary, ensure_demo_accounts, load_demo
from domain.dossier import Dossier, Status
from domain.shared import VIETNAM_TZ, Actor, Role
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings

__all__ = [
    "PAYLOADS",
    "TODAY",
    "FormFields",
    "PlantedPayloads",
    "PublicForm",
    "Site",
    "StaffApi",
    "TickingClock",
    "parse_page",
    "plant_payloads",
    "running_site",
]

TODAY = date(2026, 3, 2)
"""The day the site's clock starts on: a working Monday after Tết, with the demo dated from it."""
OPENING_HOUR = 9
READER = Actor("kiem-thu-trinh-duyet", Role.AUDITOR)
RECEIPT_PATH = re.compile(r"/y-kien/([^/?#]+)$")


class TickingClock:
    """Starts at ``start`` and moves with real time (monotonic), in every thread."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.origin)


# --- reading pages --------------------------------------------------------------------------


@dataclass
class FormFields:
    """One ``<form>``: its attributes and the named controls with their current values."""

    attrs: dict[str, str]
    values: dict[str, str] = field(default_factory=dict)
    controls: dict[str, dict[str, str]] = field(default_factory=dict)
    options: dict[str, list[str]] = field(default_factory=dict)
    """The option values of each ``<select>``."""


@dataclass
class ParsedPage:
    links: list[str] = field(default_factory=list)
    forms: list[FormFields] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)
    """Element id → its text content (whitespace collapsed)."""
    text: str = ""
    """The visible text of the page (tags removed, whitespace collapsed)."""
    scripts: list[dict[str, str]] = field(default_factory=list)
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def form(self, form_id: str) -> FormFields | None:
        return next((form for form in self.forms if form.attrs.get("id") == form_id), None)

    def form_with(self, name: str) -> FormFields | None:
        """The first form with a control of this name."""
        return next((form for form in self.forms if name in form.controls), None)


class _PageParser(HTMLParser):
    _VOID = frozenset(
        {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._text: list[str] = []
        self._open_ids: list[tuple[str, str, int]] = []  # (tag, id, start in _text)
        self._form: FormFields | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._skip = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs = {name: value or "" for name, value in attributes}
        self.page.tags.append((tag, attrs))
        if tag in ("script", "style"):
            self._skip += 1
            if tag == "script":
                self.page.scripts.append(attrs)
        if tag == "a" and "href" in attrs:
            self.page.links.append(attrs["href"])
        if "id" in attrs and tag not in self._VOID:
            self._open_ids.append((tag, attrs["id"], len(self._text)))
        self._form_control(tag, attrs)

    def _form_control(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "form":
            self._form = FormFields(attrs)
            self.page.forms.append(self._form)
            return
        if self._form is None or "name" not in attrs:
            if tag == "option" and self._select and self._form is not None:
                self._option(attrs)
            return
        name = attrs["name"]
        self._form.controls[name] = {"tag": tag, **attrs}
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("radio", "checkbox"):
                if "checked" in attrs:
                    self._form.values[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "image", "reset"):
                self._form.values[name] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self._form.values[name] = ""
        elif tag == "select":
            self._select = name
            self._form.options[name] = []

    def _option(self, attrs: dict[str, str]) -> None:
        assert self._form is not None
        assert self._select is not None
        self._form.options[self._select].append(attrs.get("value", ""))
        if "selected" in attrs or self._select not in self._form.values:
            self._form.values[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        for index in range(len(self._open_ids) - 1, -1, -1):
            if self._open_ids[index][0] == tag:
                _, element_id, start = self._open_ids.pop(index)
                self.page.ids[element_id] = " ".join("".join(self._text[start:]).split())
                break
        if tag in ("p", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "br", "dd", "dt"):
            self._text.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._textarea is not None and self._form is not None:
            # The HTML parser drops the newline right after <textarea>; so do browsers.
            self._form.values[self._textarea] += data
        self._text.append(data)

    def close(self) -> None:
        super().close()
        self.page.text = " ".join("".join(self._text).split())


def parse_page(html: str) -> ParsedPage:
    """Links, forms (with their values), texts by element id and the visible text of a page."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    for form in parser.page.forms:
        for name, value in form.values.items():
            if form.controls.get(name, {}).get("tag") == "textarea" and value.startswith("\n"):
                form.values[name] = value[1:]
    return parser.page


# --- the citizen's side: the comment form -------------------------------------------------------

KINDS = ("ung_ho", "phan_doi", "thong_tin")


@dataclass
class PublicForm:
    """Sends the comment form of a nomination as a browser would: fetch the page (cookie and
    CSRF token), then POST every field of the form with the values given."""

    client: httpx.Client

    def page(self, dossier_id: UUID | str) -> httpx.Response:
        return self.client.get(f"/cong-khai/{dossier_id}")

    def send(
        self,
        dossier_id: UUID | str,
        *,
        noi_dung: str,
        ho_ten: str = "",
        lien_he: str = "",
        loai: str = "ung_ho",
        website: str = "",
    ) -> httpx.Response:
        page = self.page(dossier_id)
        assert page.status_code == 200, f"/cong-khai/{dossier_id}: {page.status_code}"
        form = parse_page(page.text).form("form-y-kien")
        assert form is not None, f"/cong-khai/{dossier_id} has no <form id=form-y-kien>"
        values = dict(form.values)
        values.update(noi_dung=noi_dung, ho_ten=ho_ten, lien_he=lien_he, loai=loai, website=website)
        action = form.attrs.get("action") or f"/cong-khai/{dossier_id}/y-kien"
        return self.client.post(action, data=values, follow_redirects=False)

    def comment(self, dossier_id: UUID | str, text: str, **fields: str) -> str:
        """Send an acceptable comment; its receipt code (from the redirect to /y-kien/{code})."""
        response = self.send(dossier_id, noi_dung=text, **fields)
        assert response.status_code == 303, (response.status_code, response.text[:2000])
        found = RECEIPT_PATH.search(httpx.URL(response.headers["location"]).path)
        assert found, response.headers["location"]
        return found.group(1)


# --- the staff's side --------------------------------------------------------------------------


@dataclass
class StaffApi:
    """The staff JSON API with the demo accounts' tokens (role → token)."""

    client: httpx.Client
    tokens: dict[Role, str]

    def headers(self, role: Role, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def get(self, role: Role, path: str, **params: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(role), params=params or None)

    def post(self, role: Role, path: str, body: Any, **headers: str) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(role, **headers))

    def version(self, dossier_id: UUID | str) -> int:
        response = self.get(Role.APPRAISER, f"/api/v1/dossiers/{dossier_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    def move(self, role: Role, dossier_id: UUID | str, action: str, body: Any) -> dict[str, Any]:
        """A move on a dossier with its current version as If-Match; the receipt."""
        response = self.post(
            role,
            f"/api/v1/dossiers/{dossier_id}/{action}",
            body,
            **{"If-Match": f'"{self.version(dossier_id)}"'},
        )
        assert response.status_code in (200, 201), (action, response.status_code, response.text)
        receipt: dict[str, Any] = response.json()
        return receipt

    def comments(self, dossier_id: UUID | str) -> list[dict[str, Any]]:
        response = self.get(Role.APPRAISER, f"/api/v1/dossiers/{dossier_id}/comments")
        assert response.status_code == 200, response.text
        body = response.json()
        items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
        return items

    def moderate(
        self, dossier_id: UUID | str, comment_id: str, decision: str, reason: str
    ) -> dict[str, Any]:
        return self.move(
            Role.APPRAISER,
            dossier_id,
            f"comments/{comment_id}/moderation",
            {"decision": decision, "reason": reason},
        )


# --- the site ------------------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    services: Services
    clock: TickingClock
    tokens: dict[Role, str]
    demo: DemoSummary
    today: date = TODAY

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def dossier(self, dossier_id: UUID) -> Dossier:
        return self.services.dossiers.get(dossier_id, viewer=READER)

    def dossier_ids(self) -> list[UUID]:
        """Every dossier in the store, in the order they were submitted."""
        recorder = self.services.dossiers.recorder
        found: list[UUID] = []
        start = 1
        while True:
            batch = recorder.select_notifications(start, 1000)
            if not batch:
                return found
            found += [
                UUID(str(note.originator_id))
                for note in batch
                if note.originator_version == 1 and ":Dossier." in note.topic
            ]
            start = batch[-1].id + 1

    def in_status(self, status: Status) -> list[UUID]:
        return [
            dossier_id
            for dossier_id in self.dossier_ids()
            if self.dossier(dossier_id).status == status
        ]

    def open_for_comment(self) -> list[UUID]:
        """Nominations whose comment window is open today (by state and by date)."""
        return [
            dossier_id
            for dossier_id in self.in_status(Status.PUBLIC_COMMENT)
            if (closes_on := self.dossier(dossier_id).comment_closes_on) is not None
            and closes_on >= self.today
        ]

    def wait_for_views(self, timeout: float = 10.0) -> None:
        """Until the projections have applied every event written so far."""
        target = self.services.dossiers.max_position()
        if not self.services.projections.wait_for(target, timeout=timeout):
            raise TimeoutError(f"the views did not reach position {target} in {timeout} s")


# --- markup in every field a person can type ------------------------------------------------------

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "javascript:alert(1)",
    "{{7*7}} ${7*7} <b>đậm</b>",
)
"""Markup and template syntax that must come back as plain text wherever it is shown."""
PLANTED_MOVEMENT = "99/KH-UBND"
PLANTED_DECISION = "9999/QĐ-UBND"


@dataclass
class PlantedPayloads:
    """Records whose every free-text field carries ``PAYLOADS``, published on the site."""

    movement_id: str
    nomination_id: str
    """A state-level nomination with its comment window open: nominee, position, achievements
    and comments (from the form and from the staff API, all published) carry payloads."""
    award_id: str
    """A provincial award made (in the register) whose nominee carries a payload."""
    receipts: list[str]
    nominee_name: str
    texts: list[str]
    """Every payload-bearing text that the public pages may show."""


def _document(name: str) -> dict[str, Any]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return {"name": name, "sha256": digest, "size": 4_096}


def _submit(
    staff: StaffApi, movement_id: str, award_code: str, name: str, achievements: str
) -> str:
    body = {
        "movement_id": movement_id,
        "award_code": award_code,
        "nominee": {"kind": "individual", "name": name, "position": PAYLOADS[1]},
        "personal": {
            "identity_number": "004190012345",
            "date_of_birth": "1979-05-19",
            "phone": "0912 555 019",
            "email": "kiem.thu@example.com",
            "address": "Tổ 7, phường Hợp Giang <script>alert(1)</script>",
        },
        "achievements": achievements,
        "documents": [_document(f"to-trinh-{award_code}.pdf"), _document(f"bc-{award_code}.pdf")],
    }
    response = staff.post(Role.SUBMITTER, "/api/v1/dossiers", body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def plant_payloads(site: Site) -> PlantedPayloads:
    """Through the staff API and the public form, as people would (see ``PlantedPayloads``)."""
    today = site.today
    with site.client() as client:
        staff = StaffApi(client, site.tokens)
        launched = staff.post(
            Role.APPRAISER,
            "/api/v1/movements",
            {
                "plan_number": PLANTED_MOVEMENT,
                "title": f"Phong trào thi đua kiểm thử {PAYLOADS[0]} {PAYLOADS[2]}",
                "issuing_body": "UBND tỉnh Cao Bằng",
                "issued_on": (today - timedelta(days=30)).isoformat(),
                "starts_on": (today - timedelta(days=30)).isoformat(),
                "ends_on": date(today.year, 12, 31).isoformat(),
            },
        )
        assert launched.status_code == 201, launched.text
        movement_id = str(launched.json()["id"])
        name = f"Nông Thị Thử {PAYLOADS[0]}"
        achievements = "Thành tích: " + " ".join(PAYLOADS)
        nomination = _submit(staff, movement_id, "bang_khen_thu_tuong", name, achievements)
        closes_on = site.services.calendar.add_working_days(today, 12)
        staff.move(
            Role.APPRAISER, nomination, "public-comment/open", {"closes_on": closes_on.isoformat()}
        )
        site.wait_for_views()
        form = PublicForm(client)
        receipts = [
            form.comment(
                nomination,
                f"Ý kiến số {number}: {payload}",
                ho_ten=f"Người góp ý {payload}"[:200],
                lien_he=f"lien.he.{number}@example.com",
                loai=KINDS[number % len(KINDS)],
            )
            for number, payload in enumerate(PAYLOADS, start=1)
        ]
        staff.move(
            Role.APPRAISER,
            nomination,
            "comments",
            {
                "kind": "information",
                "text": f"Ý kiến qua bưu điện: {PAYLOADS[3]} {PAYLOADS[1]}",
                "author_name": f"Bạn đọc {PAYLOADS[2]}",
                "contact": "0987 000 111",
            },
        )
        for comment in staff.comments(nomination):
            staff.moderate(nomination, comment["comment_id"], "published", "Ý kiến phù hợp.")
        award = _submit(staff, movement_id, "bang_khen_chu_tich_tinh", name, achievements)
        staff.move(
            Role.APPRAISER,
            award,
            "appraisal",
            {"qualified": True, "opinion": "Đủ điều kiện.", "answers": {}},
        )
        staff.move(
            Role.CHAIRMAN,
            award,
            "approval",
            {"decision_number": PLANTED_DECISION, "decision_date": today.isoformat()},
        )
    site.wait_for_views()
    return PlantedPayloads(
        movement_id=movement_id,
        nomination_id=nomination,
        award_id=award,
        receipts=receipts,
        nominee_name=name,
        texts=list(PAYLOADS),
    )


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def serving(services: Services, settings: Settings) -> Iterator[str]:
    """The app on ``services`` served by uvicorn in a thread; its base URL."""
    app = create_app(settings, services=services)
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="public-site", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test web server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def site_settings(data_dir: Path, **overrides: Any) -> Settings:
    """SQLite in ``data_dir``; the per-address rate limit raised (every test comes from
    127.0.0.1) unless a test sets it."""
    values: dict[str, Any] = {
        "store": "sqlite",
        "data_dir": data_dir,
        "log_format": "json",
        "log_level": "WARNING",
        "public_comments_per_address": 10_000,
        "public_comments_per_dossier": 10_000,
    }
    values.update(overrides)
    return Settings(**values)


@contextmanager
def running_site(data_dir: Path, **overrides: Any) -> Iterator[Site]:
    """The public site over a fresh demo store in ``data_dir`` (see the module's docstring)."""
    settings = site_settings(data_dir, **overrides)
    start = datetime(TODAY.year, TODAY.month, TODAY.day, OPENING_HOUR, tzinfo=VIETNAM_TZ)
    clock = TickingClock(start)
    with bootstrap(settings, clock=clock) as services:
        summary = load_demo(services.movements, services.dossiers, today=TODAY, log=lambda _: None)
        issued = ensure_demo_accounts(services.accounts)
        roles = {account.name: account.roles for account in services.accounts.list_accounts()}
        tokens = {next(iter(roles[token.account])): token.token for token in issued}
        with serving(services, settings) as url:
            site = Site(url, services, clock, tokens, summary)
            site.wait_for_views()
            services.audit.catch_up()
            services.checkpoints.sign()  # every page's footer shows the latest checkpoint
            yield site


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)
