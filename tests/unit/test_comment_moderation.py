"""Moderation of the people's comments: the appraiser publishes or withholds each one received,
withholding needs a reason, a decision may be changed by another, and nothing is deleted."""

from __future__ import annotations

from datetime import date

import pytest

from domain.dossier import Dossier, Status
from domain.errors import (
    CommentNotFound,
    DomainError,
    InvalidValue,
    ModerationUnchanged,
    SeparationOfDuties,
    WrongRole,
)
from domain.shared import Role
from domain.values import Comment, CommentKind, CommentStatus
from tests.unit.builders import (
    APPRAISER,
    CHAIRMAN,
    PUBLIC,
    SUBMITTER,
    Case,
    assert_message,
    at,
    dossier_at,
    same_person_as,
    snapshot,
)


def _moderate(
    case: Case,
    decision: CommentStatus | str,
    reason: str = "",
    *,
    comment_id: str = "y-kien-1",
    by: object = APPRAISER,
) -> None:
    case.dossier.moderate_comment(
        comment_id=comment_id,
        decision=decision,  # type: ignore[arg-type]
        reason=reason,
        by=by,  # type: ignore[arg-type]
        at=case.next_day(),
    )


def _comment(case: Case, comment_id: str = "y-kien-1") -> Comment:
    return case.dossier.comments[comment_id]


def test_a_comment_received_awaits_moderation() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    comment = _comment(case)
    assert comment.status is CommentStatus.RECEIVED
    assert comment.moderation_reason is None
    assert comment.moderated_on is None


def test_the_appraiser_publishes_a_comment_without_needing_a_reason() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    _moderate(case, CommentStatus.PUBLISHED)
    comment = _comment(case)
    assert comment.status is CommentStatus.PUBLISHED
    assert comment.moderation_reason is None
    assert comment.moderated_on == case.today
    assert comment.text == "Tôi đồng ý với đề nghị khen thưởng cô Lan."
    assert case.status is Status.PUBLIC_COMMENT


def test_withholding_a_comment_needs_a_reason() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    for blank in ("", "   "):
        before = snapshot(case.dossier)
        with pytest.raises(InvalidValue) as raised:
            _moderate(case, CommentStatus.WITHHELD, blank)
        assert_message(raised.value, "lý do không công bố", "không được để trống")
        assert snapshot(case.dossier) == before

    _moderate(case, "withheld", "  Nội dung xúc phạm cá nhân, không liên quan đến thành tích.  ")
    comment = _comment(case)
    assert comment.status is CommentStatus.WITHHELD
    assert comment.moderation_reason == "Nội dung xúc phạm cá nhân, không liên quan đến thành tích."


def test_a_moderation_reason_is_bounded() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(InvalidValue) as raised:
        _moderate(case, CommentStatus.WITHHELD, "x" * 2001)
    assert_message(raised.value, "dài quá 2000 ký tự")
    _moderate(case, CommentStatus.WITHHELD, "x" * 2000)


def test_a_decision_can_be_changed_later_and_every_decision_stays_in_the_history() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    _moderate(case, CommentStatus.WITHHELD, "Chờ xác minh người gửi.")
    _moderate(case, CommentStatus.PUBLISHED, "Đã xác minh người gửi.")
    _moderate(case, CommentStatus.WITHHELD, "Người gửi đề nghị không công bố.")

    events = case.dossier.collect_events()
    moderated = [e for e in events if isinstance(e, Dossier.CommentModerated)]
    assert [(e.decision, e.reason) for e in moderated] == [
        ("withheld", "Chờ xác minh người gửi."),
        ("published", "Đã xác minh người gửi."),
        ("withheld", "Người gửi đề nghị không công bố."),
    ]
    assert all(e.by == APPRAISER for e in moderated)
    comment = _comment(case)
    assert comment.status is CommentStatus.WITHHELD
    assert comment.moderation_reason == "Người gửi đề nghị không công bố."
    # Nothing is deleted: the comment and what it said are still there.
    assert comment.text == "Tôi đồng ý với đề nghị khen thưởng cô Lan."
    assert comment.contact == "0912 345 678"


def test_the_same_decision_with_the_same_reason_again_changes_nothing() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    _moderate(case, CommentStatus.PUBLISHED)
    before = snapshot(case.dossier)
    with pytest.raises(ModerationUnchanged) as raised:
        _moderate(case, CommentStatus.PUBLISHED)
    assert_message(raised.value, "Đã công bố")
    assert snapshot(case.dossier) == before
    _moderate(case, CommentStatus.PUBLISHED, "Nội dung phù hợp.")  # a new reason is a change


def test_moderating_an_unknown_comment_is_refused_by_its_id() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    before = snapshot(case.dossier)
    with pytest.raises(CommentNotFound) as raised:
        _moderate(case, CommentStatus.PUBLISHED, comment_id="khong-co")
    assert_message(raised.value, "khong-co")
    assert snapshot(case.dossier) == before


@pytest.mark.parametrize("decision", ["received", "deleted", ""])
def test_a_decision_is_to_publish_or_to_withhold(decision: str) -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(InvalidValue) as raised:
        _moderate(case, decision, "Lý do.")
    assert_message(raised.value, "quyết định kiểm duyệt")
    assert _comment(case).status is CommentStatus.RECEIVED


@pytest.mark.parametrize("who", [SUBMITTER, CHAIRMAN, PUBLIC])
def test_only_the_appraiser_moderates(who: object) -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(WrongRole):
        _moderate(case, CommentStatus.PUBLISHED, by=who)


def test_whoever_submitted_the_dossier_cannot_moderate_its_comments() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(SeparationOfDuties):
        _moderate(
            case, CommentStatus.WITHHELD, "Lý do.", by=same_person_as(SUBMITTER, Role.APPRAISER)
        )


@pytest.mark.parametrize(
    "stage", [Status.COMMENT_CLOSED, Status.AWAITING_COUNCIL, Status.CONFERRED, Status.REVOKED]
)
def test_comments_can_be_moderated_after_the_window_closes(stage: Status) -> None:
    """A comment found offensive later can still be withheld, whatever the dossier's stage."""
    case = dossier_at(stage, "chien_si_thi_dua_toan_quoc")
    _moderate(case, CommentStatus.WITHHELD, "Phát hiện nội dung xúc phạm cá nhân.")
    assert _comment(case).status is CommentStatus.WITHHELD
    assert case.status is stage


def test_moderation_leaves_the_duty_to_answer_every_comment() -> None:
    case = dossier_at(Status.COMMENT_CLOSED)
    _moderate(case, CommentStatus.WITHHELD, "Trùng lặp.")
    with pytest.raises(DomainError):
        case.dossier.appraise(
            qualified=True, opinion="Đủ tiêu chuẩn.", answers={}, by=APPRAISER, at=case.next_day()
        )


def test_moderation_replays_to_the_same_comments() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    case.receive_comment("y-kien-2", CommentKind.OBJECTION)
    _moderate(case, CommentStatus.PUBLISHED, comment_id="y-kien-2")
    _moderate(case, CommentStatus.WITHHELD, "Thông tin cá nhân của người khác.")
    replayed = None
    for event in case.dossier.collect_events():
        replayed = event.mutate(replayed)
    assert isinstance(replayed, Dossier)
    assert replayed.comments == case.dossier.comments
    assert list(replayed.comments) == ["y-kien-1", "y-kien-2"]


def test_a_comment_stored_before_moderation_existed_reads_as_received() -> None:
    old = Comment("c1", CommentKind.SUPPORT, "Đồng ý.", None, None, date(2026, 3, 3))
    assert old.status is CommentStatus.RECEIVED
    assert Comment(**{**old.__dict__, "status": "withheld"}).status is CommentStatus.WITHHELD


def test_a_moderation_before_the_last_recorded_moment_is_refused() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(InvalidValue):
        case.dossier.moderate_comment(
            comment_id="y-kien-1",
            decision=CommentStatus.PUBLISHED,
            reason="",
            by=APPRAISER,
            at=at(date(2026, 3, 2), hour=8),
        )
