"""Whole flows over HTTP, on SQLite and PostgreSQL, as the people of the province do them.

* A provincial award with the council (Chiến sĩ thi đua cấp tỉnh): submission, a return for
  supplement, appraisal, the council's secret ballot, the chairman's decision.
* A state-level award (Huân chương Lao động hạng Nhất): public comment while the window is open
  (the manual clock lets it run out), appraisal answering each comment, the council with a
  conflict of interest declared, the Party standing committee's opinion, forwarding upward and
  the President's decision.

Along the way: what the ballots show and to whom, the council's agenda, the history with its
labels, the state at a version and at a moment, and what a unit's submitter sees.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from tests.api.conftest import MEMBER_NAMES, Staff, base_titles, submission

REDACTED = "[ẩn]"


def path(dossier_id: UUID, suffix: str = "") -> str:
    return f"/api/v1/dossiers/{dossier_id}" + (f"/{suffix}" if suffix else "")


def later(staff: Staff, hours: int = 1) -> None:
    """Time passes between steps, so every event has its own moment."""
    staff.clock.advance(hours=hours)


def ballots(staff: Staff, who: str, dossier_id: UUID) -> dict[str, Any]:
    response = staff.get(who, path(dossier_id, "ballots"))
    assert response.status_code == 200, response.text
    shown: dict[str, Any] = response.json()
    return shown


def caught_up(staff: Staff) -> int:
    """The log's head: a list read with ?after= this position shows every write so far."""
    return staff.services.movements.max_position()


def agenda_ids(staff: Staff, who: str = "secretary") -> list[str]:
    response = staff.get(who, "/api/v1/council/agenda", after=caught_up(staff))
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def history(staff: Staff, dossier_id: UUID, who: str = "auditor") -> list[dict[str, Any]]:
    response = staff.get(who, path(dossier_id, "history"))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_the_councils_ballot_is_secret_until_it_concludes(
    staff: Staff,
) -> None:
    body = submission(
        staff.movement_id, award_code="chien_si_thi_dua_tinh", prior_titles=base_titles()
    )
    created = staff.post("submitter", "/api/v1/dossiers", body, key="nop-csdt-1")
    assert created.status_code == 201, created.text
    dossier_id = UUID(created.json()["id"])
    assert staff.state(dossier_id, who="submitter")["status"] == "submitted"

    later(staff)
    staff.move(
        "appraiser",
        dossier_id,
        "return-for-supplement",
        {"missing": ["Biên bản họp Hội đồng cơ sở"], "note": "Thiếu biên bản."},
    )
    returned = staff.state(dossier_id, who="submitter")
    assert (returned["status"], returned["missing"]) == (
        "returned",
        ["Biên bản họp Hội đồng cơ sở"],
    )
    assert returned["deadline"]["paused"] is True

    later(staff)
    staff.move(
        "submitter",
        dossier_id,
        "supplement",
        {
            "documents": [
                {"name": "bien-ban.pdf", "sha256": "ab" * 32, "size": 3_000},
            ],
            "note": "Đã bổ sung biên bản.",
        },
    )
    assert staff.state(dossier_id)["status"] == "submitted"
    assert str(dossier_id) not in agenda_ids(staff)

    later(staff)
    staff.appraise(dossier_id)
    assert staff.state(dossier_id)["status"] == "awaiting_council"
    assert str(dossier_id) in agenda_ids(staff)
    assert str(dossier_id) in agenda_ids(staff, "auditor")
    assert staff.get("submitter", "/api/v1/council/agenda").status_code == 403

    later(staff)
    meeting_on = (staff.today() + timedelta(days=3)).isoformat()
    staff.move("secretary", dossier_id, "council-review", {"meeting_on": meeting_on})
    voting = staff.state(dossier_id)
    assert voting["status"] == "council_voting"
    assert voting["council"]["members"] == MEMBER_NAMES  # every council_member account
    summary = next(
        item
        for item in staff.get("secretary", "/api/v1/council/agenda", after=caught_up(staff)).json()[
            "items"
        ]
        if item["id"] == str(dossier_id)
    )
    assert (summary["council_meeting_on"], summary["council_members"]) == (meeting_on, 5)

    for index, member in enumerate(MEMBER_NAMES[:4]):
        later(staff)
        staff.move(member, dossier_id, "ballots", {"vote": "no" if index == 3 else "yes"})
    # Before the conclusion: who voted, not how; a member sees only their own ballot.
    for who in ("auditor", "secretary", "chairman", "submitter", MEMBER_NAMES[4]):
        shown = ballots(staff, who, dossier_id)
        assert shown["concluded"] is False
        assert (shown["votes_cast"], shown["members"]) == (4, 5)
        assert [(b["member"], b["voted"], b["vote"]) for b in shown["ballots"]] == [
            *[(member, True, None) for member in MEMBER_NAMES[:4]],
            (MEMBER_NAMES[4], False, None),
        ]
    own = {b["member"]: b["vote"] for b in ballots(staff, MEMBER_NAMES[3], dossier_id)["ballots"]}
    assert own == dict.fromkeys(MEMBER_NAMES, None) | {MEMBER_NAMES[3]: "no"}
    state = staff.state(dossier_id, who="chairman")
    assert state["council"]["ballots"] == dict.fromkeys(MEMBER_NAMES[:4], "cast")
    assert state["council"]["yes_so_far"] is None
    secret = [
        item["data"]["vote"] for item in history(staff, dossier_id) if item["event"] == "BallotCast"
    ]
    assert secret == ["[phiếu kín]"] * 4
    counted = next(
        item
        for item in staff.get("auditor", "/api/v1/council/agenda", after=caught_up(staff)).json()[
            "items"
        ]
        if item["id"] == str(dossier_id)
    )
    assert counted["votes_cast"] == 4
    # A member votes once.
    again = staff.post(
        MEMBER_NAMES[0],
        path(dossier_id, "ballots"),
        {"vote": "no"},
        version=staff.version(dossier_id),
    )
    assert (again.status_code, again.json()["type"]) == (409, "/problems/already-voted")

    later(staff)
    staff.move(MEMBER_NAMES[4], dossier_id, "ballots", {"vote": "yes"})
    later(staff)
    staff.move("secretary", dossier_id, "council-review/conclusion", {"present": MEMBER_NAMES})
    concluded = ballots(staff, "auditor", dossier_id)
    assert concluded["concluded"] is True
    assert [b["vote"] for b in concluded["ballots"]] == ["yes", "yes", "yes", "no", "yes"]
    assert str(dossier_id) not in agenda_ids(staff)
    council = staff.state(dossier_id)["council"]
    assert (council["yes_so_far"], council["ballots"][MEMBER_NAMES[3]]) == (4, "no")
    # Threshold 90 % of all five members: four yes votes are not enough.
    result = council["result"]
    assert (result["votes_for"], result["votes_required"], result["passed"]) == (4, 5, False)
    assert staff.state(dossier_id)["status"] == "not_recommended"


def test_a_provincial_award_passes_the_council_and_is_decided(staff: Staff) -> None:
    body = submission(
        staff.movement_id, award_code="chien_si_thi_dua_tinh", prior_titles=base_titles()
    )
    created = staff.post("submitter", "/api/v1/dossiers", body)
    assert created.status_code == 201, created.text
    dossier_id = UUID(created.json()["id"])
    later(staff)
    staff.move("chairman", dossier_id, "hold", {"kind": "complaint", "reason": "Có đơn khiếu nại."})
    assert staff.state(dossier_id)["status"] == "held"
    later(staff)
    staff.move("appraiser", dossier_id, "hold/lift", {"outcome": "Đơn không có căn cứ."})
    later(staff)
    staff.appraise(dossier_id)
    later(staff)
    staff.run_council(dossier_id)
    assert staff.state(dossier_id)["status"] == "awaiting_decision"
    assert str(dossier_id) not in agenda_ids(staff)

    later(staff)
    staff.approve(dossier_id, number="77/QĐ-UBND")
    final = staff.state(dossier_id, who="submitter")
    assert final["status"] == "approved"
    assert final["status_label"] == "Đã quyết định khen thưởng"
    assert final["decision"] == {
        "number": "77/QĐ-UBND",
        "date": staff.today().isoformat(),
        "decided_by": "ubnd.chutich",
        "ended_reason": None,
    }
    assert final["council"]["yes_so_far"] == 5

    steps = history(staff, dossier_id)
    assert [item["event"] for item in steps] == [
        "Submitted",
        "Held",
        "HoldLifted",
        "Appraised",
        "CouncilReviewOpened",
        *["BallotCast"] * 5,
        "CouncilReviewConcluded",
        "Approved",
    ]
    assert [item["version"] for item in steps] == list(range(1, 13))
    assert steps[0]["label"] == "Tiếp nhận hồ sơ đề nghị"
    assert steps[-1]["label"] == "Quyết định khen thưởng"
    assert all(item["label"] and item["actor_role_label"] for item in steps)
    assert [item["data"]["vote"] for item in steps if item["event"] == "BallotCast"] == ["yes"] * 5
    assert steps[-1]["actor"] == {"user_id": "ubnd.chutich", "role": "chairman", "unit": None}
    assert steps[0]["actor"]["unit"] == "Sở Giáo dục và Đào tạo"

    # The state at each version and at each moment is the one after that step.
    for item in steps:
        at_version = staff.get("auditor", path(dossier_id), version=item["version"])
        assert at_version.headers["etag"] == f'"{item["version"]}"'
        assert at_version.json()["version"] == item["version"]
    assert staff.get("auditor", path(dossier_id), version=2).json()["status"] == "held"
    appraised = steps[3]
    moment = datetime.fromisoformat(appraised["at"]) + timedelta(minutes=30)
    then = staff.get("auditor", path(dossier_id), at=moment.isoformat())
    assert then.status_code == 200, then.text
    assert (then.json()["version"], then.json()["status"]) == (4, "awaiting_council")
    assert then.headers["etag"] == '"4"'
    assert then.json()["council"]["members"] == []
    exactly = staff.get("auditor", path(dossier_id), at=steps[1]["at"])
    assert (exactly.json()["version"], exactly.json()["status"]) == (2, "held")


def test_a_state_award_goes_through_public_comment_the_council_and_upward(staff: Staff) -> None:
    created = staff.post(
        "submitter",
        "/api/v1/dossiers",
        submission(staff.movement_id, award_code="huan_chuong_lao_dong_hang_nhat"),
    )
    assert created.status_code == 201, created.text
    dossier_id = UUID(created.json()["id"])
    # State level: appraisal waits for the people's comments.
    early = staff.post(
        "appraiser",
        path(dossier_id, "appraisal"),
        {"qualified": True, "opinion": "Đủ điều kiện."},
        version=1,
    )
    assert (early.status_code, early.json()["type"]) == (409, "/problems/public-comment-required")

    calendar = staff.services.calendar
    too_soon = calendar.add_working_days(staff.today(), 5)
    short = staff.post(
        "appraiser",
        path(dossier_id, "public-comment/open"),
        {"closes_on": too_soon.isoformat()},
        version=1,
    )
    assert (short.status_code, short.json()["type"]) == (422, "/problems/comment-period-too-short")
    closes_on = calendar.add_working_days(staff.today(), 10)
    staff.move("appraiser", dossier_id, "public-comment/open", {"closes_on": closes_on.isoformat()})
    later(staff)
    staff.move(
        "appraiser",
        dossier_id,
        "comments",
        {"kind": "support", "text": "Ông An rất tận tụy.", "author_name": "Lê Thị Hoa"},
    )
    later(staff, hours=24)
    staff.move(
        "appraiser",
        dossier_id,
        "comments",
        {
            "kind": "objection",
            "text": "Đề nghị xác minh thêm thành tích năm 2024.",
            "author_name": "Phạm Văn Bình",
            "contact": "0987 654 321",
        },
    )
    comments = staff.state(dossier_id)["public_comment"]["comments"]
    assert [c["kind"] for c in comments] == ["support", "objection"]
    assert comments[1]["contact"] == "0987 654 321"
    hidden = staff.state(dossier_id, who="secretary")
    assert hidden["public_comment"]["comments"][1]["contact"] == REDACTED
    assert hidden["personal"] == REDACTED
    assert staff.state(dossier_id, who="submitter")["personal"]["identity_number"] == "001085012345"
    still_open = staff.post(
        "appraiser", path(dossier_id, "public-comment/close"), version=staff.version(dossier_id)
    )
    assert (still_open.status_code, still_open.json()["type"]) == (
        409,
        "/problems/comment-window-still-open",
    )

    # The window runs out; a late comment is refused; then it closes.
    staff.clock.set_local(closes_on + timedelta(days=1))
    while not calendar.is_working_day(staff.today()):
        staff.clock.advance(days=1)
    late = staff.post(
        "appraiser",
        path(dossier_id, "comments"),
        {"kind": "support", "text": "Muộn."},
        version=staff.version(dossier_id),
    )
    assert (late.status_code, late.json()["type"]) == (409, "/problems/comment-window-closed")
    staff.move("appraiser", dossier_id, "public-comment/close")
    closed = staff.state(dossier_id)
    assert closed["status"] == "comment_closed"
    assert closed["deadline"]["due_on"] is not None

    # Appraisal answers every comment.
    ids = [c["comment_id"] for c in closed["public_comment"]["comments"]]
    unanswered = staff.post(
        "appraiser",
        path(dossier_id, "appraisal"),
        {
            "qualified": True,
            "opinion": "Đủ điều kiện.",
            "answers": {ids[0]: {"disposition": "noted", "reason": "Ghi nhận."}},
        },
        version=staff.version(dossier_id),
    )
    assert (unanswered.status_code, unanswered.json()["type"]) == (
        422,
        "/problems/unanswered-comments",
    )
    later(staff)
    staff.move(
        "appraiser",
        dossier_id,
        "appraisal",
        {
            "qualified": True,
            "opinion": "Thành tích đã được xác minh, đủ tiêu chuẩn.",
            "answers": {
                ids[0]: {"disposition": "noted", "reason": "Ghi nhận ý kiến ủng hộ."},
                ids[1]: {"disposition": "rejected", "reason": "Đã xác minh: thành tích đúng."},
            },
        },
    )
    answered = staff.state(dossier_id)["public_comment"]["comments"]
    assert [c["answer"]["disposition"] for c in answered] == ["noted", "rejected"]
    assert str(dossier_id) in agenda_ids(staff)

    # The council, with one member declaring a conflict of interest.
    later(staff)
    staff.move("secretary", dossier_id, "council-review", {"meeting_on": staff.today().isoformat()})
    conflicted = MEMBER_NAMES[4]
    staff.move(
        conflicted, dossier_id, "conflicts-of-interest", {"reason": "Em ruột người được đề nghị."}
    )
    barred = staff.post(
        conflicted, path(dossier_id, "ballots"), {"vote": "yes"}, version=staff.version(dossier_id)
    )
    assert (barred.status_code, barred.json()["type"]) == (403, "/problems/conflict-of-interest")
    outsider = staff.post(
        "chairman", path(dossier_id, "ballots"), {"vote": "yes"}, version=staff.version(dossier_id)
    )
    assert (outsider.status_code, outsider.json()["type"]) == (403, "/problems/permission-denied")
    for member in MEMBER_NAMES[:4]:
        later(staff)
        staff.move(member, dossier_id, "ballots", {"vote": "yes"})
    shown = ballots(staff, "auditor", dossier_id)
    assert [(b["member"], b["voted"], b["conflict_of_interest"]) for b in shown["ballots"]] == [
        *[(member, True, False) for member in MEMBER_NAMES[:4]],
        (conflicted, False, True),
    ]
    assert all(b["vote"] is None for b in shown["ballots"])
    no_quorum = staff.post(
        "secretary",
        path(dossier_id, "council-review/conclusion"),
        {"present": MEMBER_NAMES[:3]},
        version=staff.version(dossier_id),
    )
    assert (no_quorum.status_code, no_quorum.json()["type"]) == (409, "/problems/quorum-not-met")
    staff.move("secretary", dossier_id, "council-review/conclusion", {"present": MEMBER_NAMES})
    assert staff.state(dossier_id)["council"]["result"]["passed"] is True
    assert staff.state(dossier_id)["council"]["conflicts"] == {
        conflicted: "Em ruột người được đề nghị."
    }
    assert str(dossier_id) not in agenda_ids(staff)

    # The Party standing committee's opinion comes before forwarding.
    submission_body = {
        "submission_number": "45/TTr-UBND",
        "submission_date": staff.today().isoformat(),
    }
    premature = staff.post(
        "chairman",
        path(dossier_id, "forwarding"),
        submission_body,
        version=staff.version(dossier_id),
    )
    assert (premature.status_code, premature.json()["type"]) == (
        409,
        "/problems/party-opinion-missing",
    )
    not_mine = staff.post(
        "chairman", path(dossier_id, "approval"),
        {"decision_number": "1/QĐ-UBND", "decision_date": staff.today().isoformat()},
        version=staff.version(dossier_id),
    )  # fmt: skip
    assert (not_mine.status_code, not_mine.json()["type"]) == (409, "/problems/wrong-level")
    later(staff)
    staff.move(
        "appraiser",
        dossier_id,
        "party-opinion",
        {
            "document_number": "215-CV/TU",
            "document_date": staff.today().isoformat(),
            "favourable": True,
            "summary": "Ban Thường vụ Tỉnh ủy đồng ý đề nghị.",
        },
    )
    assert staff.state(dossier_id)["party_opinion_favourable"] is True

    later(staff)
    staff.move("chairman", dossier_id, "forwarding", submission_body)
    forwarded = staff.state(dossier_id, who="submitter")
    assert forwarded["status"] == "forwarded"
    assert forwarded["upward"]["submission_number"] == "45/TTr-UBND"

    # The President's decision (QĐ-CTN) comes back weeks later.
    staff.clock.advance(days=30)
    wrong_issuer = staff.post(
        "appraiser",
        path(dossier_id, "central-decision"),
        {
            "outcome": "conferred",
            "decision_number": "90/QĐ-TTg",
            "decision_date": staff.today().isoformat(),
        },
        version=staff.version(dossier_id),
    )
    assert (wrong_issuer.status_code, wrong_issuer.json()["type"]) == (
        422,
        "/problems/invalid-document-number",
    )
    staff.move(
        "appraiser",
        dossier_id,
        "central-decision",
        {
            "outcome": "conferred",
            "decision_number": "1234/QĐ-CTN",
            "decision_date": staff.today().isoformat(),
            "note": "Quyết định của Chủ tịch nước.",
        },
    )
    final = staff.state(dossier_id, who="submitter")
    assert (final["status"], final["status_label"]) == (
        "conferred",
        "Cấp trên đã quyết định khen thưởng",
    )
    assert final["upward"]["outcome"] == "conferred"
    assert final["upward"]["decision_number"] == "1234/QĐ-CTN"

    steps = history(staff, dossier_id)
    assert [item["event"] for item in steps] == [
        "Submitted",
        "PublicCommentOpened",
        "CommentReceived",
        "CommentReceived",
        "PublicCommentClosed",
        "Appraised",
        "CouncilReviewOpened",
        "ConflictOfInterestDeclared",
        *["BallotCast"] * 4,
        "CouncilReviewConcluded",
        "PartyOpinionRecorded",
        "ForwardedUpward",
        "CentralDecisionRecorded",
    ]
    labels = {item["event"]: item["label"] for item in steps}
    assert labels["PublicCommentOpened"] == "Công khai, lấy ý kiến Nhân dân"
    assert labels["ForwardedUpward"] == "Trình cấp trên"
    assert labels["ConflictOfInterestDeclared"] == "Khai báo xung đột lợi ích"
    assert all(item["label"] for item in steps)
    # Contacts and personal details stay out of the history for those who may not see them.
    seen_by_member = history(staff, dossier_id, who=MEMBER_NAMES[0])
    assert seen_by_member[0]["data"]["personal"] == REDACTED
    assert seen_by_member[3]["data"]["contact"] == REDACTED
    assert history(staff, dossier_id, who="auditor")[3]["data"]["contact"] == "0987 654 321"


def test_a_submitter_sees_only_its_own_units_dossiers(staff: Staff) -> None:
    own = staff.submit()
    foreign = staff.submit(who="other_submitter", name="Hoàng Văn Cường", identity="001077000111")
    foreign_state = staff.state(foreign)
    assert foreign_state["submitting_unit"] == "Công an tỉnh"

    def listed(who: str, **params: Any) -> list[str]:
        response = staff.get(who, "/api/v1/dossiers", after=caught_up(staff), **params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert listed("submitter") == [str(own)]
    assert listed("submitter", unit="Công an tỉnh") == [str(own)]
    assert listed("other_submitter") == [str(foreign)]
    assert sorted(listed("auditor")) == sorted([str(own), str(foreign)])
    assert listed("auditor", unit="Công an tỉnh") == [str(foreign)]
    assert listed("auditor", status="withdrawn") == []
    first = staff.get("chairman", "/api/v1/dossiers", status=["submitted", "withdrawn"], limit=1)
    cursor = first.json()["next_cursor"]
    assert listed("chairman", status=["submitted", "withdrawn"], limit=1, cursor=cursor) in (
        [str(own)],
        [str(foreign)],
    )
    assert staff.get("submitter", path(foreign)).status_code == 404
    assert staff.get("submitter", path(foreign, "history")).status_code == 404

    staff.move("submitter", own, "withdrawal", {"reason": "Đơn vị rút hồ sơ."})
    assert listed("submitter", status="withdrawn") == [str(own)]
    assert staff.state(own, who="submitter")["decision"]["ended_reason"] == "Đơn vị rút hồ sơ."
