"""Comment moderation and the comments list through the staff API, on SQLite and PostgreSQL:
If-Match like every move, 404 for an unknown dossier or comment, 422 for bad input, 409 for a
decision that changes nothing, the contact for the appraiser only, and the counts the
consultations list shows."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from application.comments import format_receipt_code, new_receipt_code
from domain.shared import Actor, Role
from domain.values import CommentKind
from tests.api.conftest import Staff

STATE = "bang_khen_thu_tuong"
PUBLIC = Actor("cong-thong-tin-dien-tu", Role.PUBLIC)


def published_with_comments(staff: Staff, count: int = 2) -> tuple[UUID, list[str]]:
    """A state-level nomination open for comment with ``count`` comments from the portal."""
    dossier_id = staff.submit(award_code=STATE)
    closes_on = staff.services.calendar.add_working_days(staff.today(), 10)
    staff.move("appraiser", dossier_id, "public-comment/open", {"closes_on": closes_on.isoformat()})
    codes = [new_receipt_code() for _ in range(count)]
    for number, code in enumerate(codes, start=1):
        staff.services.dossiers.receive_comment(
            dossier_id,
            kind=CommentKind.SUPPORT,
            text=f"Ý kiến số {number}: tôi đồng ý.",
            author_name="Lê Thị Hoa",
            contact=f"09120000{number:02d}",
            by=PUBLIC,
            comment_id=code,
        )
    return dossier_id, codes


def moderation(dossier_id: UUID, comment_id: str) -> str:
    return f"/api/v1/dossiers/{dossier_id}/comments/{comment_id}/moderation"


def moderate(staff: Staff, dossier_id: UUID, comment_id: str, body: Any, **options: Any) -> Any:
    version = options.pop("version") if "version" in options else staff.version(dossier_id)
    return staff.post(
        options.pop("who", "appraiser"),
        moderation(dossier_id, comment_id),
        body,
        version=version,
        **options,
    )


def test_the_appraiser_publishes_and_withholds_comments_and_the_list_shows_them(
    staff: Staff,
) -> None:
    dossier_id, (first, second) = published_with_comments(staff)
    version = staff.version(dossier_id)

    response = moderate(staff, dossier_id, first, {"decision": "published"}, version=version)
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + 1
    assert response.headers["ETag"] == f'"{version + 1}"'
    typed = format_receipt_code(second).lower()  # the code as the commenter reads it out
    response = moderate(
        staff, dossier_id, typed, {"decision": "withheld", "reason": "Trùng lặp nội dung."}
    )
    assert response.status_code == 200, response.text

    listed = staff.get("appraiser", f"/api/v1/dossiers/{dossier_id}/comments")
    assert listed.status_code == 200, listed.text
    assert listed.headers["ETag"] == f'"{version + 2}"'
    body = listed.json()
    assert (body["received"], body["published"], body["withheld"]) == (2, 1, 1)
    assert [item["comment_id"] for item in body["items"]] == [first, second]
    assert body["items"][1] == {
        "comment_id": second,
        "receipt_code": format_receipt_code(second),
        "kind": "support",
        "text": "Ý kiến số 2: tôi đồng ý.",
        "author_name": "Lê Thị Hoa",
        "contact": "0912000002",
        "received_on": staff.today().isoformat(),
        "status": "withheld",
        "moderation_reason": "Trùng lặp nội dung.",
        "moderated_on": staff.today().isoformat(),
        "answer": None,
    }
    state = staff.state(dossier_id)
    assert [c["status"] for c in state["public_comment"]["comments"]] == ["published", "withheld"]


def test_only_the_appraiser_sees_a_commenters_contact(staff: Staff) -> None:
    dossier_id, _ = published_with_comments(staff, 1)
    audited = staff.get("auditor", f"/api/v1/dossiers/{dossier_id}/comments")
    assert audited.status_code == 200, audited.text
    assert audited.json()["items"][0]["contact"] == "[ẩn]"
    for who in ("chairman", "submitter", "secretary", "hd-01", "admin"):
        refused = staff.get(who, f"/api/v1/dossiers/{dossier_id}/comments")
        assert refused.status_code == 403, (who, refused.text)


def test_a_decision_can_be_changed_and_the_consultations_list_counts_it(staff: Staff) -> None:
    dossier_id, (first, second) = published_with_comments(staff)
    for code, body in (
        (first, {"decision": "withheld", "reason": "Chờ xác minh."}),
        (second, {"decision": "published"}),
        (first, {"decision": "published", "reason": "Đã xác minh người gửi."}),
    ):
        assert moderate(staff, dossier_id, code, body).status_code == 200
    history = staff.get("auditor", f"/api/v1/dossiers/{dossier_id}/history").json()["items"]
    moderated = [entry for entry in history if entry["event"] == "CommentModerated"]
    assert [entry["data"]["decision"] for entry in moderated] == [
        "withheld",
        "published",
        "published",
    ]
    position = staff.services.dossiers.max_position()
    consultations = staff.get("auditor", "/api/v1/consultations", after=position)
    assert consultations.status_code == 200, consultations.text
    (item,) = [i for i in consultations.json()["items"] if i["id"] == str(dossier_id)]
    counts = (item["comments_received"], item["comments_published"], item["comments_withheld"])
    assert counts == (2, 2, 0)


def test_moderation_follows_the_version_conventions(staff: Staff) -> None:
    dossier_id, (first, _) = published_with_comments(staff)
    current = staff.version(dossier_id)
    missing = staff.post("appraiser", moderation(dossier_id, first), {"decision": "published"})
    assert missing.status_code == 428
    stale = moderate(staff, dossier_id, first, {"decision": "published"}, version=current - 1)
    assert stale.status_code == 412
    assert stale.json()["current_version"] == current
    assert staff.version(dossier_id) == current


def test_unknown_dossiers_and_comments_are_404(staff: Staff) -> None:
    dossier_id, _ = published_with_comments(staff, 1)
    unknown = moderate(staff, dossier_id, new_receipt_code(), {"decision": "published"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["type"] == "/problems/comment-not-found"
    nowhere = moderate(staff, uuid4(), new_receipt_code(), {"decision": "published"}, version=1)
    assert nowhere.status_code == 404
    assert nowhere.json()["type"] == "/problems/not-found"
    listed = staff.get("appraiser", f"/api/v1/dossiers/{uuid4()}/comments")
    assert listed.status_code == 404


def test_bad_moderation_input_is_422_and_a_repeated_decision_409(staff: Staff) -> None:
    dossier_id, (first,) = published_with_comments(staff, 1)
    for body in (
        {"decision": "withheld"},
        {"decision": "withheld", "reason": "   "},
        {"decision": "received"},
        {"decision": "deleted", "reason": "x"},
        {"decision": "published", "reason": "x" * 2001},
        {"decision": "published", "note": "unknown field"},
        {},
    ):
        response = moderate(staff, dossier_id, first, body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"], body
    bad_id = moderate(staff, dossier_id, "a b", {"decision": "published"})
    assert bad_id.status_code == 422
    assert moderate(staff, dossier_id, first, {"decision": "published"}).status_code == 200
    again = moderate(staff, dossier_id, first, {"decision": "published"})
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/moderation-unchanged"


def test_only_the_appraiser_moderates(staff: Staff) -> None:
    dossier_id, (first,) = published_with_comments(staff, 1)
    for who in ("chairman", "auditor", "submitter", "secretary", "hd-01", "admin"):
        response = moderate(staff, dossier_id, first, {"decision": "published"}, who=who)
        assert response.status_code == 403, (who, response.text)
