"""What the public pages' HTTP tests share: a small world of nominations built through the staff
API, and a reader for the pages (forms, elements by id, links)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import UUID

from httpx import Response

from infrastructure.settings import Settings
from tests.api.conftest import Staff, make_settings, submission

STATE_AWARD = "huan_chuong_lao_dong_hang_nhat"
STATE_AWARD_NAME = "Huân chương Lao động hạng Nhất"
OPEN_NOMINEES = [
    # name, who submits (unit)
    ("Nguyễn Văn An", "submitter"),
    ("Trần Thị Bình", "submitter"),
    ("Lê Đức Cường", "other_submitter"),
    ("Đặng Thu Hà", "submitter"),
    ("Bùi Quang Khải", "other_submitter"),
    ("Vũ Minh Long", "submitter"),
]
CLOSED_NOMINEE = "Hoàng Văn Dũng"
AWARDED_NOMINEE = "Phạm Thị Én"
DECISION_NUMBER = "125/QĐ-UBND"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


# --- the world --------------------------------------------------------------------------------


@dataclass
class World:
    staff: Staff
    open_ids: dict[str, UUID] = field(default_factory=dict)
    """Nominee's name → dossier open for comment (closing one working day apart, in order)."""
    closed_id: UUID | None = None
    awarded_id: UUID | None = None

    @property
    def client(self) -> Any:
        return self.staff.client

    def settle(self) -> None:
        services = self.staff.services
        assert services.projections.wait_for(services.movements.max_position(), timeout=10)


def _identity(number: int) -> str:
    return f"0010850{number:05d}"


def submit_state(staff: Staff, name: str, who: str, number: int) -> UUID:
    body = submission(staff.movement_id, STATE_AWARD, name=name, identity=_identity(number))
    response = staff.post(who, "/api/v1/dossiers", body)
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def open_for_comment(staff: Staff, dossier_id: UUID, extra_days: int = 0) -> None:
    closes_on = staff.services.calendar.add_working_days(staff.today(), 10 + extra_days)
    staff.move("appraiser", dossier_id, "public-comment/open", {"closes_on": closes_on.isoformat()})


def build_world(staff: Staff, *, open_count: int = len(OPEN_NOMINEES)) -> World:
    """A closed consultation and an award made (in the past), then nominations open for
    comment from today."""
    world = World(staff)
    closed = submit_state(staff, CLOSED_NOMINEE, "submitter", 90)
    staff.run_public_comment(closed)  # moves the clock past its window
    world.closed_id = closed
    awarded = staff.submit(name=AWARDED_NOMINEE, identity=_identity(91))
    staff.appraise(awarded)
    staff.approve(awarded, DECISION_NUMBER)
    world.awarded_id = awarded
    for number, (name, who) in enumerate(OPEN_NOMINEES[:open_count], start=1):
        dossier_id = submit_state(staff, name, who, number)
        open_for_comment(staff, dossier_id, extra_days=number)
        world.open_ids[name] = dossier_id
    world.settle()
    return world


def public_settings(data_dir: Path, **overrides: Any) -> Settings:
    return make_settings("sqlite", data_dir).model_copy(update=overrides)


# --- reading pages ------------------------------------------------------------------------------


@dataclass
class Page:
    html: str
    ids: dict[str, str] = field(default_factory=dict)
    """id → the text inside that element."""
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    """form id → {"action", "method", "fields": name → value, "checked": name → value}."""
    links: list[str] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    roles: dict[str, list[str]] = field(default_factory=dict)
    """role attribute → the ids of the elements with it."""


VOID = {"input", "meta", "link", "br", "hr", "img"}


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page("")
        self.open: list[tuple[str, str | None, list[str]]] = []
        self.form: dict[str, Any] | None = None
        self.textarea: str | None = None
        self.heading: tuple[int, list[str]] | None = None

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs = {key: value or "" for key, value in attributes}
        if "role" in attrs:
            self.page.roles.setdefault(attrs["role"], []).append(attrs.get("id", ""))
        if tag == "a" and "href" in attrs:
            self.page.links.append(attrs["href"])
        if tag == "form":
            self.form = {
                "action": attrs.get("action", ""),
                "method": attrs.get("method", "get"),
                "fields": {},
                "checked": {},
            }
            self.page.forms[attrs.get("id", f"form-{len(self.page.forms)}")] = self.form
        if self.form is not None and tag == "input" and "name" in attrs:
            kind = attrs.get("type", "text")
            if kind == "radio":
                if "checked" in attrs:
                    self.form["checked"][attrs["name"]] = attrs.get("value", "")
            else:
                self.form["fields"][attrs["name"]] = attrs.get("value", "")
        if self.form is not None and tag == "textarea":
            self.textarea = attrs.get("name", "")
            self.form["fields"][self.textarea] = ""
        if re.fullmatch(r"h[1-6]", tag):
            self.heading = (int(tag[1]), [])
        if tag not in VOID:
            self.open.append((tag, attrs.get("id"), []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        if tag == "textarea" and self.form is not None and self.textarea is not None:
            value = self.form["fields"][self.textarea]
            # A browser drops the one line break that follows <textarea>.
            self.form["fields"][self.textarea] = value[1:] if value.startswith("\n") else value
            self.textarea = None
        if self.heading is not None and tag == f"h{self.heading[0]}":
            self.page.headings.append((self.heading[0], " ".join("".join(self.heading[1]).split())))
            self.heading = None
        while self.open:
            name, element_id, text = self.open.pop()
            if element_id:
                self.page.ids[element_id] = " ".join("".join(text).split())
            if self.open:
                self.open[-1][2].extend(text)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.textarea is not None and self.form is not None:
            self.form["fields"][self.textarea] += data
        if self.heading is not None:
            self.heading[1].append(data)
        if self.open:
            self.open[-1][2].append(data)


def read(response: Response) -> Page:
    reader = _Reader()
    reader.feed(response.text)
    reader.close()
    reader.page.html = response.text
    return reader.page


def comment_form(page: Page) -> dict[str, Any]:
    form = page.forms.get("form-y-kien")
    assert form is not None, "the page has no <form id=form-y-kien>"
    return form
