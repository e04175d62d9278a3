"""No private detail of any dossier reaches a public page or an open-data file.

The real app serves the demo data over HTTP (``tests.browser.site.running_site``); citizens add
comments with contact details through the public form, the staff record one from the post, and
an appraiser publishes some and withholds others with a reason. Then every private value of
every dossier is read from the event store, and the whole public site is walked: every link
from the home page and the lists (pagination included) and every choice of their filters, every nomination page,
every receipt page, the open-data page and each JSON and CSV file it offers.

Private (domain.md, "What the public may see"): the nominee's identity number, date of birth,
home address, phone and e-mail; a commenter's contact; and the internal notes of the staff:
the appraisal's opinion, what a returned dossier lacks and the note on it, the unit's note when
it supplements, why a dossier is held and what lifted the hold, conflict-of-interest
declarations, the note on a decision from above, the reason a comment was moderated; and the
text of every comment not published (received and not yet moderated, or withheld). The
reasons of decisions (rejection, revocation, withdrawal) are not counted: a decision and its
grounds may be published.

A value is found when it appears in a page as sent, with its entities decoded, or in its text
with the tags removed; texts also compare case- and diacritic-folded, numbers by their digits
(so "0912 345 678", "0912.345.678" and "0912345678" are one phone). Values shorter than six
characters are not searched for (they would match by chance).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit
from uuid import UUID

import httpx
import pytest

from application.history import HistoryEntry
from domain.shared import Role, fold, nfc
from tests.browser.site import (
    READER,
    TODAY,
    FormFields,
    PublicForm,
    Site,
    StaffApi,
    parse_page,
    running_site,
)

SEEDS = ("/", "/cong-khai", "/khen-thuong", "/phong-trao", "/y-kien", "/du-lieu-mo/")
OPEN_DATA = tuple(
    f"/du-lieu-mo/{name}.{ext}"
    for name in ("cong-khai", "khen-thuong", "phong-trao")
    for ext in ("json", "csv")
)
PAST_DAYS = (TODAY - timedelta(days=400), TODAY - timedelta(days=14), TODAY)
TIME_TRAVEL = tuple(
    path
    for day in PAST_DAYS
    for path in (
        f"/cong-khai?ngay={day}&tinh_trang=tat_ca",
        f"/du-lieu-mo/cong-khai.json?ngay={day}",
        f"/du-lieu-mo/cong-khai.csv?ngay={day}",
    )
)
"""The consultation list as it stood at the end of past days, rebuilt from the events."""
NOT_PUBLIC = ("/api/", "/docs", "/openapi.json", "/metrics", "/healthz", "/readyz", "/static/")
MAX_FETCHES = 5_000
MIN_LENGTH = 6
DIGIT_RUNS = re.compile(r"\+?\d[\d .\-]{6,22}\d")
NUMBER = re.compile(r"\+?[\d .\-]+")

INTERNAL_NOTES: dict[str, tuple[str, ...]] = {
    # event: (fields holding staff's internal notes)
    "ReturnedForSupplement": ("note", "missing"),
    "Supplemented": ("note",),
    "Held": ("reason",),
    "HoldLifted": ("outcome",),
    "Appraised": ("opinion",),
    "ConflictOfInterestDeclared": ("reason",),
    "CentralDecisionRecorded": ("note",),
    "CommentModerated": ("reason",),
}


@dataclass(frozen=True)
class Private:
    label: str
    value: str
    dossier_id: UUID


# --- what is private --------------------------------------------------------------------------------


def _personal(entry: HistoryEntry, dossier_id: UUID) -> Iterator[Private]:
    personal = entry.data.get("personal")
    if not isinstance(personal, dict):
        return
    for key in ("identity_number", "phone", "email", "address"):
        if personal.get(key):
            yield Private(key, str(personal[key]), dossier_id)
    if personal.get("date_of_birth"):
        born = date.fromisoformat(str(personal["date_of_birth"]))
        for shown in (
            born.isoformat(),
            f"{born:%d/%m/%Y}",
            f"{born.day}/{born.month}/{born.year}",
            f"{born:%d-%m-%Y}",
            f"{born:%d.%m.%Y}",
        ):
            yield Private("date_of_birth", shown, dossier_id)


def _notes(entry: HistoryEntry, dossier_id: UUID) -> Iterator[Private]:
    for key in INTERNAL_NOTES.get(entry.event, ()):
        value = entry.data.get(key)
        for item in value if isinstance(value, list) else [value]:
            if item:
                yield Private(f"{entry.event}.{key}", str(item), dossier_id)


def private_values(site: Site) -> list[Private]:
    """Every private value of every dossier in the store, read from its events."""
    found: list[Private] = []
    published: set[str] = set()
    unpublished: list[tuple[str, UUID]] = []
    for dossier_id in site.dossier_ids():
        entries = site.services.dossiers.history(dossier_id, viewer=READER)
        assert entries[0].data.get("personal") != "[ẩn]", "the reader cannot see private data"
        texts: dict[str, str] = {}
        status: dict[str, str] = {}
        for entry in entries:
            found += _personal(entry, dossier_id)
            found += _notes(entry, dossier_id)
            if entry.event == "CommentReceived":
                if entry.data.get("contact"):
                    found.append(Private("contact", str(entry.data["contact"]), dossier_id))
                texts[str(entry.data["comment_id"])] = str(entry.data["text"])
            elif entry.event == "CommentModerated":
                status[str(entry.data["comment_id"])] = str(entry.data["decision"])
        for comment_id, text in texts.items():
            if status.get(comment_id) == "published":
                published.add(nfc(text))
            else:
                unpublished.append((text, dossier_id))
    found += [
        Private("unpublished comment", text, dossier_id)
        for text, dossier_id in unpublished
        if nfc(text) not in published  # the demo reuses some texts on several dossiers
    ]
    return [item for item in found if len(item.value.strip()) >= MIN_LENGTH]


# --- the public site --------------------------------------------------------------------------------


@dataclass
class Document:
    url: str
    content_type: str
    forms: list[str] = field(default_factory=list)
    """The document as sent, entities decoded, and its visible text; each also folded."""
    digits: set[str] = field(default_factory=set)


def _readable(response: httpx.Response) -> list[str]:
    body = response.text
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        return [body, json.dumps(response.json(), ensure_ascii=False)]
    if "csv" in kind:
        rows = csv.reader(io.StringIO(body.lstrip("\ufeff")))
        return [body, "\n".join(" | ".join(row) for row in rows)]
    return [body, html.unescape(body), parse_page(body).text]


def document(response: httpx.Response) -> Document:
    forms = [nfc(text) for text in _readable(response)]
    forms += [fold(text) for text in forms]
    digits = {re.sub(r"\D", "", run) for text in forms for run in DIGIT_RUNS.findall(text)}
    return Document(str(response.url), response.headers.get("content-type", ""), forms, digits)


def _public_link(base: str, current: str, href: str) -> str | None:
    target = urljoin(current, href.strip())
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or f"{parts.scheme}://{parts.netloc}" != base:
        return None
    if any(parts.path.startswith(prefix) for prefix in NOT_PUBLIC):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _filter_links(forms: list[FormFields]) -> Iterator[str]:
    """The addresses a search form's filters lead to, one choice of one filter at a time."""
    for form in forms:
        if form.attrs.get("method", "get").lower() != "get":
            continue
        action = form.attrs.get("action", "")
        for name, choices in form.options.items():
            for choice in choices:
                yield f"{action}?{urlencode({**form.values, name: choice})}"


def walk(client: httpx.Client, base: str, seeds: list[str]) -> tuple[list[Document], list[str]]:
    """Fetch every public page reachable from the seeds; (documents, problems)."""
    queue = deque(seeds)
    seen = set(seeds)
    documents: list[Document] = []
    problems: list[str] = []
    while queue:
        path = queue.popleft()
        if len(seen) > MAX_FETCHES:
            problems.append(f"more than {MAX_FETCHES} public addresses: the walk stopped")
            break
        response = client.get(path, follow_redirects=True)
        if response.status_code in (400, 404, 422):  # not public, or not a receipt code
            continue
        if response.status_code != 200:
            problems.append(f"{path}: {response.status_code}")
            continue
        documents.append(document(response))
        if "html" not in response.headers.get("content-type", ""):
            continue
        parsed = parse_page(response.text)
        filters = _filter_links(parsed.forms) if "?" not in path else iter(())
        for href in [*parsed.links, *filters]:
            link = _public_link(base, f"{base}{path}", href)
            if link is not None and link not in seen:
                seen.add(link)
                queue.append(link)
    return documents, problems


def leaks(documents: list[Document], values: list[Private]) -> list[str]:
    found: list[str] = []
    for item in values:
        value = nfc(item.value.strip())
        digits = re.sub(r"\D", "", value)
        numeric = NUMBER.fullmatch(value) is not None and len(digits) >= 8
        wanted = {value, fold(value)} if not numeric else {value}
        for doc in documents:
            if (numeric and digits in doc.digits) or any(
                want in text for text in doc.forms for want in wanted
            ):
                found.append(f"{doc.url}: {item.label} of dossier {item.dossier_id}: {value!r}")
    return found


# --- the test --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("privacy-site")) as running:
        yield running


def add_comments_with_contacts(site: Site) -> list[str]:
    """Citizens comment with contacts; the staff record one from the post; an appraiser
    publishes the first of each nomination and withholds the others. The receipt codes."""
    receipts: list[str] = []
    with site.client() as client:
        form = PublicForm(client)
        staff = StaffApi(client, site.tokens)
        for number, dossier_id in enumerate(site.open_for_comment(), start=1):
            for kind, contact in (
                ("ung_ho", f"nguoi.gop.y.{number}@example.org"),
                ("phan_doi", f"0978 12{number} 4{number}6"),
                ("thong_tin", f"Nhà số {number}8, ngõ 4{number}, phố Kim Đồng, phường Hợp Giang"),
            ):
                receipts.append(
                    form.comment(
                        dossier_id,
                        f"Ý kiến {kind} số {number} về hồ sơ này, kèm thông tin liên hệ riêng.",
                        ho_ten=f"Người dân số {number}",
                        lien_he=contact,
                        loai=kind,
                    )
                )
            staff.move(
                Role.APPRAISER,
                dossier_id,
                "comments",
                {
                    "kind": "objection",
                    "text": f"Thư gửi qua bưu điện số {number}: đề nghị làm rõ thành tích.",
                    "author_name": f"Người gửi thư {number}",
                    "contact": f"Xóm Nà Rài {number}, xã Trùng Khánh, điện thoại 0208 386 {number}{number}1",
                },
            )
            for index, comment in enumerate(staff.comments(dossier_id)):
                if comment.get("status") not in (None, "received"):
                    continue
                if index == 0:
                    staff.moderate(dossier_id, comment["comment_id"], "published", "Phù hợp.")
                else:
                    staff.moderate(
                        dossier_id,
                        comment["comment_id"],
                        "withheld",
                        f"Lý do nội bộ {number}-{index}: có thông tin cá nhân của người thứ ba.",
                    )
    site.wait_for_views()
    return receipts


def test_no_private_detail_of_any_dossier_appears_on_a_public_page_or_in_open_data(
    site: Site, tmp_path: Path
) -> None:
    receipts = add_comments_with_contacts(site)
    values = private_values(site)
    labels = {item.label for item in values}
    for label in ("identity_number", "date_of_birth", "phone", "email", "address", "contact"):
        assert label in labels, f"the demo data hold no {label}: the test would prove nothing"
    assert "CommentModerated.reason" in labels
    assert "unpublished comment" in labels

    dossiers = site.dossier_ids()
    comment_ids = [
        str(entry.data["comment_id"])
        for dossier_id in dossiers
        for entry in site.services.dossiers.history(dossier_id, viewer=READER)
        if entry.event == "CommentReceived"
    ]
    seeds = [
        *SEEDS,
        *OPEN_DATA,
        *TIME_TRAVEL,
        *(f"/cong-khai/{dossier_id}" for dossier_id in dossiers),
        *(f"/y-kien/{code}" for code in receipts),
        *(f"/y-kien/{comment_id}" for comment_id in comment_ids),
        *(f"/y-kien?ma={code}" for code in receipts[:3]),
    ]
    with site.client() as client:
        documents, problems = walk(client, site.url, list(dict.fromkeys(seeds)))
    assert not problems, "\n".join(problems)

    urls = {urlsplit(doc.url).path for doc in documents}
    assert set(OPEN_DATA) <= urls, f"open-data files missing: {set(OPEN_DATA) - urls}"
    walked = {doc.url.removeprefix(site.url) for doc in documents}
    assert set(TIME_TRAVEL) <= walked, f"past lists missing: {set(TIME_TRAVEL) - walked}"
    shown = [doc for doc in documents if "/cong-khai/" in doc.url and "html" in doc.content_type]
    assert len(shown) >= len(site.open_for_comment()), "too few nomination pages were reached"
    assert any(f"/y-kien/{receipts[0]}" in doc.url for doc in documents)

    found = leaks(documents, values)
    (tmp_path / "walked.txt").write_text("\n".join(doc.url for doc in documents))
    assert not found, (
        f"{len(found)} private values on public pages ({len(documents)} walked):\n"
        + "\n".join(found[:60])
    )


def test_the_leak_detector_finds_a_private_value_in_any_of_its_forms() -> None:
    """The check above would fail if a page showed a private value, however formatted."""
    values = [
        Private("phone", "0912 345 678", UUID(int=1)),
        Private("address", "Tổ 5, phường Thục Phán, tỉnh Cao Bằng", UUID(int=2)),
        Private("email", "an.nguyen@example.com", UUID(int=3)),
    ]

    def page(body: str, kind: str = "text/html; charset=utf-8") -> Document:
        return document(
            httpx.Response(200, text=body, headers={"content-type": kind}, request=_request())
        )

    assert leaks([page("<p>Gọi 0912.345.678</p>")], values[:1])
    assert leaks([page("<td>0912345678</td>")], values[:1])
    assert leaks([page("<p>To 5, phuong Thuc Phan, tinh Cao Bang</p>")], values[1:2])
    assert leaks([page("<p>an.nguyen&#64;example.com</p>")], values[2:])
    assert leaks(
        [page(json.dumps({"a": "T\u1ed5 5, ph\u01b0\u1eddng Th\u1ee5c Phan"}), "application/json")],
        [Private("address", "Tổ 5, phường Thục Phan", UUID(int=4))],
    )
    assert not leaks([page("<p>Quyết định số 0912/QĐ-UBND ngày 01/02/2026</p>")], values)


def _request() -> httpx.Request:
    return httpx.Request("GET", "http://127.0.0.1/trang")


def test_searching_the_public_lists_by_a_private_value_finds_nobody(site: Site) -> None:
    """The search must not index private fields: a person's identity number, phone or e-mail
    typed into the public search leads to nobody (or it would tell who holds them)."""
    values = [
        item for item in private_values(site) if item.label in ("identity_number", "phone", "email")
    ]
    assert values
    names = {item.dossier_id: site.dossier(item.dossier_id).nominee.name for item in values}
    found: list[str] = []
    with site.client() as client:
        lists: list[tuple[str, dict[str, str]]] = [("/khen-thuong", {})]
        form = parse_page(client.get("/cong-khai").text).form_with("q")
        assert form is not None, "/cong-khai has no search form with a field q"
        lists.append(("/cong-khai", {}))
        for name, choices in form.options.items():
            if len(choices) <= 5:  # the states shown (open, closed, all...), not units or awards
                lists += [("/cong-khai", {name: choice}) for choice in choices]
        for item in values:
            for path, filters in lists:
                response = client.get(path, params={**filters, "q": item.value})
                assert response.status_code == 200, f"{path}?q=…: {response.status_code}"
                if nfc(names[item.dossier_id]) in nfc(parse_page(response.text).text):
                    found.append(f"{path} {filters} q={item.label} → {names[item.dossier_id]}")
    assert not found, "\n".join(found)
