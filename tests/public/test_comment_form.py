"""The public comment form over HTTP, through the real app: an accepted comment becomes an event
with a receipt code and is counted; each refusal (bad input, a form not from this site, the
honeypot, a closed window, the rate limits, a duplicate) answers its status with a Vietnamese
message in ``#loi-y-kien`` and keeps every value typed; markup typed comes back as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from httpx import Response

from application.comments import normalise_receipt_code
from domain.dossier import Dossier
from domain.shared import Actor, Role
from tests.api.conftest import open_staff
from tests.public.pages_support import (
    SECURITY_HEADERS,
    World,
    build_world,
    comment_form,
    public_settings,
    read,
)

CODE = "[2-9A-HJKMNP-TV-Z]{4}"
RECEIPT = re.compile(rf"^/y-kien/({CODE}-{CODE}-{CODE})$")
PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
KINDS = ("ung_ho", "phan_doi", "thong_tin")
AUDITOR = Actor("tt.kiemtra", Role.AUDITOR)
TYPED = {
    "noi_dung": "Ông An tận tụy với học sinh vùng cao.\nTôi xin ủng hộ.",
    "ho_ten": "Lê Thị Hoa",
    "lien_he": "hoa.le@example.vn",
    "loai": "ung_ho",
}


def world_with(tmp_path: Path, **limits: Any) -> Iterator[World]:
    settings = public_settings(
        tmp_path / "data",
        public_comments_per_address=limits.get("per_address", 1_000),
        public_comments_per_dossier=limits.get("per_dossier", 1_000),
        public_comment_window_seconds=limits.get("window", 600),
    )
    with open_staff(settings) as staff:
        yield build_world(staff, open_count=2)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from world_with(tmp_path)


def first_open(world: World) -> UUID:
    return next(iter(world.open_ids.values()))


def form_values(world: World, dossier_id: UUID) -> dict[str, str]:
    """The hidden fields of the nomination's form (its CSRF token), as a browser gets them."""
    page = read(world.client.get(f"/cong-khai/{dossier_id}"))
    return dict(comment_form(page)["fields"])


def send(
    world: World, dossier_id: UUID, *, token_from: UUID | None = None, **typed: str
) -> Response:
    values = form_values(world, token_from or dossier_id)
    values.update({**TYPED, "website": ""})
    values.update(typed)
    return world.client.post(f"/cong-khai/{dossier_id}/y-kien", data=values, follow_redirects=False)


def counts(world: World, dossier_id: UUID) -> tuple[str, str, str]:
    page = read(world.client.get(f"/cong-khai/{dossier_id}"))
    return (
        page.ids["so-y-kien-nhan"],
        page.ids["so-y-kien-cong-bo"],
        page.ids["so-y-kien-khong-cong-bo"],
    )


def assert_refused(response: Response, status: int, message: str, typed: dict[str, str]) -> None:
    """The status, the message in the alert, and every value typed back in the form."""
    assert response.status_code == status, response.text[:3000]
    assert "text/html" in response.headers["content-type"]
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    page = read(response)
    assert "loi-y-kien" in page.roles.get("alert", []), "no role=alert with id loi-y-kien"
    assert message in page.ids["loi-y-kien"], page.ids["loi-y-kien"]
    form = comment_form(page)
    for name in ("noi_dung", "ho_ten", "lien_he"):
        assert form["fields"][name] == typed.get(name, TYPED[name]), name
    kind = typed.get("loai", TYPED["loai"])
    assert form["checked"].get("loai") == (kind if kind in KINDS else None)
    assert form["fields"]["csrf_token"], "a fresh token to send again"
    assert response.headers["cache-control"] == "no-store"


# --- accepted -----------------------------------------------------------------------------------


def test_an_accepted_comment_gets_a_receipt_is_recorded_and_counted(world: World) -> None:
    dossier_id = first_open(world)
    assert counts(world, dossier_id) == ("0", "0", "0")
    response = send(world, dossier_id)
    assert response.status_code == 303, response.text[:2000]
    found = RECEIPT.match(response.headers["location"])
    assert found, response.headers["location"]
    code = found.group(1)

    receipt = world.client.get(response.headers["location"])
    assert receipt.status_code == 200
    page = read(receipt)
    assert page.ids["ma-bien-nhan"] == code
    assert "Mã biên nhận" in receipt.text
    assert receipt.headers["cache-control"] == "no-store"
    assert TYPED["lien_he"] not in receipt.text
    assert counts(world, dossier_id) == ("1", "0", "0")

    dossier = world.staff.services.dossiers.repository.get(dossier_id)
    assert isinstance(dossier, Dossier)
    stored = dossier.comments[normalise_receipt_code(code) or ""]
    assert (stored.text, stored.author_name, stored.contact) == (
        TYPED["noi_dung"],
        TYPED["ho_ten"],
        TYPED["lien_he"],
    )
    assert stored.kind.value == "support"
    history = world.staff.services.dossiers.history(dossier_id, viewer=AUDITOR)
    received = [entry for entry in history if entry.event == "CommentReceived"]
    assert received[-1].actor.role is Role.PUBLIC


def test_a_receipt_is_found_in_any_case_with_or_without_dashes(world: World) -> None:
    location = send(world, first_open(world)).headers["location"]
    code = location.rsplit("/", 1)[1]
    for typed in (code.lower(), code.replace("-", ""), f" {code.replace('-', ' ')} "):
        looked_up = world.client.get("/y-kien", params={"ma": typed}, follow_redirects=False)
        assert looked_up.status_code == 303
        assert looked_up.headers["location"] == location
        assert world.client.get(f"/y-kien/{typed.strip()}").status_code == 200
    assert world.client.get("/y-kien").status_code == 200
    bad = world.client.get("/y-kien", params={"ma": "12<b>"})
    assert bad.status_code == 400
    assert "loi-tra-cuu" in read(bad).roles["alert"]
    assert "12&lt;b&gt;" in bad.text
    missing = world.client.get("/y-kien/ABCD-EFGH-JKMN")
    assert missing.status_code == 404
    assert "Không tìm thấy ý kiến" in missing.text


def test_the_receipt_shows_the_text_only_once_published_with_the_answer(world: World) -> None:
    dossier_id = first_open(world)
    location = send(world, dossier_id, noi_dung=f"Ý kiến có {PAYLOAD}").headers["location"]
    waiting = world.client.get(location)
    assert PAYLOAD not in waiting.text
    assert ESCAPED not in waiting.text
    assert "Đã nhận, đang chờ xem xét" in waiting.text

    code = location.rsplit("/", 1)[1]
    staff = world.staff
    moderated = staff.post(
        "appraiser",
        f"/api/v1/dossiers/{dossier_id}/comments/{code}/moderation",
        {"decision": "published", "reason": "Phù hợp."},
        version=staff.version(dossier_id),
    )
    assert moderated.status_code == 200, moderated.text
    world.settle()
    published = world.client.get(location)
    assert "Đã công bố" in published.text
    assert ESCAPED in published.text
    assert PAYLOAD not in published.text
    nomination = world.client.get(f"/cong-khai/{dossier_id}").text
    assert ESCAPED in nomination
    assert PAYLOAD not in nomination
    assert "Phù hợp." not in nomination  # the moderation reason stays internal
    assert counts(world, dossier_id) == ("1", "1", "0")


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "status", "message"),
    [
        ({"noi_dung": ""}, 400, "Vui lòng nhập nội dung ý kiến"),
        ({"noi_dung": "  \n\t  "}, 400, "Vui lòng nhập nội dung ý kiến"),
        ({"noi_dung": "ý" * 5001}, 400, "vượt quá giới hạn 5.000 ký tự"),
        ({"ho_ten": "H" * 201}, 400, "Họ và tên không được dài quá 200 ký tự"),
        ({"lien_he": "0" * 201}, 400, "Thông tin liên hệ không được dài quá 200 ký tự"),
        ({"loai": "khac"}, 400, "Vui lòng chọn loại ý kiến"),
        ({"website": "http://spam.example"}, 400, "ô «Trang web» phải để trống"),
        ({"csrf_token": "1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 403, "Mã bảo vệ"),
        ({"csrf_token": ""}, 403, "không gửi kèm mã bảo vệ"),
        ({"noi_dung": f"Nội dung {PAYLOAD}", "ho_ten": PAYLOAD, "website": "x"}, 400, "Trang web"),
    ],
)
def test_a_refused_comment_says_why_and_keeps_what_was_typed(
    world: World, typed: dict[str, str], status: int, message: str
) -> None:
    dossier_id = first_open(world)
    response = send(world, dossier_id, **typed)
    kept = {name: value for name, value in typed.items() if name in TYPED}
    if "noi_dung" in kept:
        kept["noi_dung"] = kept["noi_dung"].replace("\r\n", "\n")
    assert_refused(response, status, message, kept)
    assert PAYLOAD not in response.text
    assert counts(world, dossier_id)[0] == "0"


def test_markup_typed_into_a_refused_form_comes_back_as_text(world: World) -> None:
    response = send(world, first_open(world), noi_dung="", ho_ten=PAYLOAD, lien_he=PAYLOAD)
    assert response.status_code == 400
    assert PAYLOAD not in response.text
    assert "&lt;script&gt;" in response.text
    form = comment_form(read(response))
    assert form["fields"]["ho_ten"] == PAYLOAD  # parsed back: the same text, never an element


def test_a_form_without_its_cookie_or_with_an_old_token_is_refused_with_403(
    world: World,
) -> None:
    dossier_id = first_open(world)
    values = form_values(world, dossier_id)
    world.client.cookies.clear()
    no_cookie = world.client.post(
        f"/cong-khai/{dossier_id}/y-kien", data={**values, **TYPED}, follow_redirects=False
    )
    assert_refused(no_cookie, 403, "cần bật cookie", {})
    assert "kt_csrf=" in no_cookie.headers["set-cookie"]  # a new cookie to send again with

    values = form_values(world, dossier_id)
    world.staff.clock.advance(hours=13)
    expired = world.client.post(
        f"/cong-khai/{dossier_id}/y-kien", data={**values, **TYPED}, follow_redirects=False
    )
    assert_refused(expired, 403, "đã hết hạn", {})
    again = {**TYPED, "csrf_token": comment_form(read(expired))["fields"]["csrf_token"]}
    accepted = world.client.post(
        f"/cong-khai/{dossier_id}/y-kien", data=again, follow_redirects=False
    )
    assert accepted.status_code == 303


def test_a_comment_after_the_window_is_refused_with_409(world: World) -> None:
    assert world.closed_id is not None
    response = send(world, world.closed_id, token_from=first_open(world))
    assert_refused(response, 409, "không còn nhận ý kiến", {})
    assert read(response).ids["so-y-kien-nhan"] == "1"


def test_the_same_text_again_is_a_duplicate_whatever_its_case_and_accents(
    world: World,
) -> None:
    dossier_id, other_id = list(world.open_ids.values())
    assert send(world, dossier_id, noi_dung="Tôi  ủng hộ đề nghị này.").status_code == 303
    for text in ("tôi ủng hộ đề nghị này.", "TOI UNG HO   de nghi nay."):
        assert_refused(
            send(world, dossier_id, noi_dung=text), 409, "cùng nội dung", {"noi_dung": text}
        )
    # Another nomination may get the same words.
    assert send(world, other_id, noi_dung="Tôi ủng hộ đề nghị này.").status_code == 303


def test_the_duplicate_check_reads_the_stored_comments_too(world: World) -> None:
    dossier_id = first_open(world)
    staff = world.staff
    staff.move(
        "appraiser",
        dossier_id,
        "comments",
        {"kind": "objection", "text": "Đề nghị xác minh thêm thành tích năm 2024."},
    )
    world.settle()
    response = send(world, dossier_id, noi_dung="de nghi xac minh them thanh tich nam 2024.")
    assert_refused(
        response, 409, "cùng nội dung", {"noi_dung": "de nghi xac minh them thanh tich nam 2024."}
    )


def test_an_address_over_its_limit_waits_with_429_and_retry_after(tmp_path: Path) -> None:
    for world in world_with(tmp_path, per_address=2, window=600):
        dossier_id, other_id = list(world.open_ids.values())
        assert send(world, dossier_id, noi_dung="Ý kiến thứ nhất.").status_code == 303
        assert send(world, other_id, noi_dung="Ý kiến thứ hai.").status_code == 303
        refused = send(world, dossier_id, noi_dung="Ý kiến thứ ba.")
        assert_refused(refused, 429, "Bạn đã gửi nhiều ý kiến", {"noi_dung": "Ý kiến thứ ba."})
        assert 1 <= int(refused.headers["retry-after"]) <= 600
        world.staff.clock.advance(seconds=601)
        assert send(world, dossier_id, noi_dung="Ý kiến thứ ba.").status_code == 303


def test_a_dossier_over_its_limit_waits_with_429(tmp_path: Path) -> None:
    for world in world_with(tmp_path, per_dossier=1, window=300):
        dossier_id, other_id = list(world.open_ids.values())
        assert send(world, dossier_id, noi_dung="Ý kiến thứ nhất.").status_code == 303
        refused = send(world, dossier_id, noi_dung="Ý kiến thứ hai.")
        assert_refused(
            refused, 429, "Hồ sơ này đang nhận rất nhiều ý kiến", {"noi_dung": "Ý kiến thứ hai."}
        )
        assert send(world, other_id, noi_dung="Ý kiến thứ hai.").status_code == 303


def test_a_body_that_is_not_a_form_is_refused_without_a_crash(world: World) -> None:
    dossier_id = first_open(world)
    response = world.client.post(
        f"/cong-khai/{dossier_id}/y-kien", json={"noi_dung": "x"}, follow_redirects=False
    )
    assert response.status_code == 400
    assert "Biểu mẫu gửi lên không đúng định dạng" in read(response).ids["loi-y-kien"]
    unknown = world.client.post(f"/cong-khai/{UUID(int=3)}/y-kien", data=TYPED)
    assert unknown.status_code == 404
