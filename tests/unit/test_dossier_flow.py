"""The provincial flow of a dossier: happy paths, the moves it may not make, holds, returns,
withdrawal, revocation, the legal clock, and a property test over random command sequences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.dossier import ENDED_WITHOUT_AWARD, Dossier, Status
from domain.errors import (
    CommentPeriodTooShort,
    CommentWindowClosed,
    CommentWindowStillOpen,
    DomainError,
    DossierOnHold,
    ForeignUnit,
    IllegalTransition,
    InvalidDocumentDate,
    InvalidDocumentNumber,
    InvalidValue,
    NotACouncilMember,
    PartyOpinionMissing,
    QuorumNotMet,
    SeparationOfDuties,
    UnansweredComments,
    WrongRole,
)
from domain.shared import Actor, Role
from domain.values import (
    CentralOutcome,
    CommentAnswer,
    CommentKind,
    CommentStatus,
    Disposition,
    Grounds,
    HoldKind,
    Vote,
)
from tests.unit.builders import (
    APPRAISER,
    CALENDAR,
    CHAIRMAN,
    COLLEAGUE,
    FOREIGN_SUBMITTER,
    MEMBER_IDS,
    MEMBERS,
    PROVINCIAL_WITH_COUNCIL,
    PROVINCIAL_WITHOUT_COUNCIL,
    PUBLIC,
    SECRETARY,
    STATE_LEVEL,
    SUBMISSION_DAY,
    SUBMITTER,
    UNIT,
    Case,
    assert_message,
    at,
    document,
    dossier_at,
    same_person_as,
    snapshot,
    submitted,
    working_day_after,
)

# --- happy paths -----------------------------------------------------------------------------------


def test_a_provincial_certificate_goes_from_submission_through_appraisal_to_a_decision() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    assert case.status is Status.SUBMITTED

    case.appraise()
    assert case.status is Status.AWAITING_DECISION
    case.approve("123/QĐ-UBND")

    dossier = case.dossier
    assert dossier.status is Status.APPROVED
    assert dossier.decision_number == "123/QĐ-UBND"
    assert dossier.decision_date == case.today
    assert dossier.decided_by == CHAIRMAN.user_id
    assert dossier.version == 3
    assert [type(e).__name__ for e in dossier.collect_events()] == [
        "Submitted",
        "Appraised",
        "Approved",
    ]


def test_a_provincial_emulation_fighter_needs_the_council_before_the_decision() -> None:
    case = submitted(PROVINCIAL_WITH_COUNCIL)
    case.appraise()
    assert case.status is Status.AWAITING_COUNCIL

    case.open_council_review()
    assert case.status is Status.COUNCIL_VOTING
    case.vote(MEMBERS)
    case.conclude()
    assert case.status is Status.AWAITING_DECISION
    result = case.dossier.council_result
    assert result is not None
    assert (result.members, result.votes_for, result.votes_required, result.passed) == (
        10,
        10,
        9,
        True,
    )

    case.approve()
    assert case.status is Status.APPROVED


def test_a_national_emulation_fighter_is_published_reviewed_forwarded_conferred_then_revoked() -> (
    None
):
    case = submitted(STATE_LEVEL)
    case.open_public_comment()
    assert case.status is Status.PUBLIC_COMMENT
    case.next_day()
    case.receive_comment("y-kien-1", CommentKind.SUPPORT)
    case.receive_comment("y-kien-2", CommentKind.OBJECTION)
    case.close_public_comment()
    assert case.status is Status.COMMENT_CLOSED

    case.appraise()
    assert case.status is Status.AWAITING_COUNCIL
    assert set(case.dossier.answers) == {"y-kien-1", "y-kien-2"}
    case.council_passes()
    assert case.status is Status.AWAITING_DECISION
    case.record_party_opinion(favourable=True)
    case.forward("45/TTr-UBND")
    assert case.status is Status.FORWARDED
    assert case.dossier.submission_number == "45/TTr-UBND"

    case.record_central_decision(CentralOutcome.CONFERRED, "789/QĐ-TTg")
    assert case.status is Status.CONFERRED
    assert case.dossier.central_decision_number == "789/QĐ-TTg"

    case.revoke("9/QĐ-TTg")
    dossier = case.dossier
    assert dossier.status is Status.REVOKED
    assert dossier.revocation_number == "9/QĐ-TTg"
    assert dossier.revocation_grounds is Grounds.FALSE_DOCUMENTS
    # the history keeps everything
    assert dossier.central_decision_number == "789/QĐ-TTg"
    assert dossier.version == len(dossier.collect_events())


def test_every_event_names_its_actor_and_every_decision_its_document() -> None:
    case = dossier_at(Status.REVOKED, STATE_LEVEL)
    events = case.dossier.collect_events()
    assert len(events) > 15
    for event in events:
        actor = event.by  # type: ignore[attr-defined]
        assert isinstance(actor, Actor), type(event).__name__
        assert actor.user_id
        assert isinstance(actor.role, Role)
    documents = {
        "ForwardedUpward": ("submission_number", "submission_date"),
        "CentralDecisionRecorded": ("decision_number", "decision_date"),
        "Revoked": ("decision_number", "decision_date"),
        "PartyOpinionRecorded": ("document_number", "document_date"),
    }
    for event in events:
        fields = documents.get(type(event).__name__)
        if fields:
            number, signed_on = (getattr(event, name) for name in fields)
            assert "/" in number
            assert isinstance(signed_on, date)
    assert {type(e).__name__ for e in events} >= set(documents)


def test_a_provincial_decision_and_a_rejection_record_their_documents() -> None:
    approved = dossier_at(Status.APPROVED).dossier.collect_events()[-1]
    assert (approved.decision_number, approved.by) == ("123/QĐ-UBND", CHAIRMAN)  # type: ignore[attr-defined]
    assert isinstance(approved.decision_date, date)  # type: ignore[attr-defined]

    rejected = dossier_at(Status.REJECTED).dossier.collect_events()[-1]
    assert rejected.notice_number == "56/TB-UBND"  # type: ignore[attr-defined]
    assert isinstance(rejected.notice_date, date)  # type: ignore[attr-defined]
    assert rejected.by == CHAIRMAN  # type: ignore[attr-defined]


def test_a_rejected_dossier_ends_without_award() -> None:
    case = dossier_at(Status.REJECTED)
    assert case.dossier.ended_reason
    assert not case.status.is_open
    assert case.status in ENDED_WITHOUT_AWARD


def test_a_state_level_nomination_declined_upward_ends_without_award() -> None:
    case = dossier_at(Status.DECLINED)
    assert case.dossier.central_outcome is CentralOutcome.DECLINED
    assert case.status in ENDED_WITHOUT_AWARD
    with pytest.raises(IllegalTransition):
        case.revoke()


# --- moves only along the flow ---------------------------------------------------------------------

Step = Callable[[Case], None]

ILLEGAL_MOVES: list[tuple[Status, str, Step]] = [
    (Status.SUBMITTED, "approve", lambda case: case.approve()),
    (Status.SUBMITTED, "forward", lambda case: case.forward()),
    (Status.SUBMITTED, "open council", lambda case: case.open_council_review()),
    (Status.SUBMITTED, "supplement", lambda case: case.supplement()),
    (Status.SUBMITTED, "lift hold", lambda case: case.lift_hold()),
    (Status.SUBMITTED, "revoke", lambda case: case.revoke()),
    (Status.AWAITING_COUNCIL, "appraise again", lambda case: case.appraise()),
    (Status.AWAITING_COUNCIL, "approve", lambda case: case.approve()),
    (Status.AWAITING_COUNCIL, "vote", lambda case: case.vote(MEMBERS[:1])),
    (Status.AWAITING_DECISION, "return", lambda case: case.return_for_supplement()),
    (Status.AWAITING_DECISION, "central decision", lambda case: case.record_central_decision()),
    (Status.APPROVED, "approve again", lambda case: case.approve("124/QĐ-UBND")),
    (Status.APPROVED, "withdraw", lambda case: case.withdraw()),
    (Status.APPROVED, "hold", lambda case: case.hold()),
    (Status.NOT_QUALIFIED, "appraise again", lambda case: case.appraise()),
    (Status.NOT_RECOMMENDED, "approve", lambda case: case.approve()),
    (Status.REJECTED, "approve", lambda case: case.approve()),
    (Status.WITHDRAWN, "appraise", lambda case: case.appraise()),
    (Status.WITHDRAWN, "supplement", lambda case: case.supplement()),
    (Status.REVOKED, "revoke again", lambda case: case.revoke("10/QĐ-UBND")),
    (Status.FORWARDED, "forward again", lambda case: case.forward("46/TTr-UBND")),
    (Status.CONFERRED, "withdraw", lambda case: case.withdraw()),
    (Status.PUBLIC_COMMENT, "open again", lambda case: case.open_public_comment()),
    (Status.COMMENT_CLOSED, "close again", lambda case: case.close_public_comment()),
]


@pytest.mark.parametrize(
    ("stage", "step"),
    [(stage, step) for stage, _, step in ILLEGAL_MOVES],
    ids=[f"{stage.value}-{name}" for stage, name, _ in ILLEGAL_MOVES],
)
def test_a_dossier_moves_only_along_the_flow(stage: Status, step: Step) -> None:
    case = dossier_at(stage)
    before = snapshot(case.dossier)
    with pytest.raises(IllegalTransition) as raised:
        step(case)
    assert_message(raised.value, stage.label)
    assert raised.value.status == stage
    assert snapshot(case.dossier) == before


def test_an_ended_dossier_accepts_no_further_move() -> None:
    for stage in ENDED_WITHOUT_AWARD | {Status.REVOKED}:
        case = dossier_at(stage)
        with pytest.raises(IllegalTransition):
            case.hold()
        with pytest.raises(IllegalTransition):
            case.appraise()


# --- returned for supplement -----------------------------------------------------------------------


def test_a_returned_dossier_resumes_where_it_was_after_the_unit_supplements() -> None:
    case = dossier_at(Status.COMMENT_CLOSED)
    case.return_for_supplement()
    assert case.status is Status.RETURNED
    assert case.dossier.missing == ["Bản sao quyết định công nhận sáng kiến"]

    case.supplement(by=COLLEAGUE)
    assert case.status is Status.COMMENT_CLOSED
    assert case.dossier.missing == []
    assert case.dossier.documents[-1] == document("Quyet dinh cong nhan sang kien.pdf")
    assert COLLEAGUE.user_id in case.dossier.submitters


def test_a_returned_dossier_cannot_be_appraised_until_supplemented() -> None:
    case = dossier_at(Status.RETURNED)
    with pytest.raises(IllegalTransition) as raised:
        case.appraise()
    assert_message(raised.value, Status.RETURNED.label)


def test_only_the_submitting_unit_supplements_its_dossier() -> None:
    case = dossier_at(Status.RETURNED)
    with pytest.raises(ForeignUnit) as raised:
        case.supplement(by=FOREIGN_SUBMITTER)
    assert_message(raised.value, "bổ sung hồ sơ")
    with pytest.raises(WrongRole):
        case.supplement(by=APPRAISER)


def test_a_supplement_needs_a_document_or_an_explanation() -> None:
    case = dossier_at(Status.RETURNED)
    with pytest.raises(InvalidValue):
        case.dossier.supplement(documents=[], note="  ", by=COLLEAGUE, at=case.next_day())


# --- holds ---------------------------------------------------------------------------------------------

COMMANDS_ON_HOLD: dict[str, Step] = {
    "appraise": lambda case: case.appraise(),
    "return for supplement": lambda case: case.return_for_supplement(),
    "open public comment": lambda case: case.open_public_comment(),
    "receive a comment": lambda case: case.receive_comment(),
    "open the council": lambda case: case.open_council_review(),
    "cast a ballot": lambda case: case.vote(MEMBERS[:1]),
    "record the party opinion": lambda case: case.record_party_opinion(),
    "approve": lambda case: case.approve(),
    "reject": lambda case: case.reject(),
    "forward upward": lambda case: case.forward(),
    "record the central decision": lambda case: case.record_central_decision(),
    "withdraw": lambda case: case.withdraw(),
    "revoke": lambda case: case.revoke(),
}


@pytest.mark.parametrize("command", list(COMMANDS_ON_HOLD))
def test_a_held_dossier_cannot_move_until_the_hold_is_lifted(command: str) -> None:
    case = dossier_at(Status.HELD, STATE_LEVEL)
    before = snapshot(case.dossier)
    with pytest.raises(DossierOnHold) as raised:
        COMMANDS_ON_HOLD[command](case)
    assert_message(raised.value, "tạm dừng")
    assert snapshot(case.dossier) == before


@pytest.mark.parametrize(
    ("stage", "award_code"),
    [
        (Status.SUBMITTED, PROVINCIAL_WITHOUT_COUNCIL),
        (Status.RETURNED, PROVINCIAL_WITHOUT_COUNCIL),
        (Status.PUBLIC_COMMENT, STATE_LEVEL),
        (Status.COMMENT_CLOSED, STATE_LEVEL),
        (Status.AWAITING_COUNCIL, PROVINCIAL_WITH_COUNCIL),
        (Status.COUNCIL_VOTING, PROVINCIAL_WITH_COUNCIL),
        (Status.AWAITING_DECISION, PROVINCIAL_WITH_COUNCIL),
        (Status.FORWARDED, STATE_LEVEL),
    ],
)
def test_a_lifted_hold_resumes_in_the_status_it_was_held_in(stage: Status, award_code: str) -> None:
    case = dossier_at(stage, award_code)
    case.hold()
    assert case.status is Status.HELD
    assert case.dossier.hold_kind is HoldKind.COMPLAINT
    case.lift_hold()
    assert case.status is stage
    assert case.dossier.hold_kind is None


def test_a_held_dossier_resumes_and_then_moves_on() -> None:
    case = dossier_at(Status.HELD)
    case.lift_hold()
    case.appraise()
    case.approve()
    assert case.status is Status.APPROVED


def test_a_dossier_cannot_be_held_twice_nor_lifted_when_not_held() -> None:
    case = dossier_at(Status.HELD)
    with pytest.raises(IllegalTransition) as raised:
        case.hold()
    assert_message(raised.value, Status.HELD.label)
    case.lift_hold()
    with pytest.raises(IllegalTransition) as raised:
        case.lift_hold()
    assert_message(raised.value, Status.SUBMITTED.label)


def test_only_the_appraiser_or_the_chairman_holds_a_dossier() -> None:
    case = dossier_at(Status.SUBMITTED)
    with pytest.raises(WrongRole):
        case.dossier.hold(kind=HoldKind.DISCIPLINE, reason="Xác minh", by=SUBMITTER, at=case.now())
    case.dossier.hold(
        kind=HoldKind.DISCIPLINE, reason="Xác minh kỷ luật", by=CHAIRMAN, at=case.now()
    )
    with pytest.raises(WrongRole):
        case.dossier.lift_hold(outcome="Đã xong", by=MEMBERS[0], at=case.next_day())


# --- withdrawal ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stage",
    [
        Status.SUBMITTED,
        Status.RETURNED,
        Status.PUBLIC_COMMENT,
        Status.COUNCIL_VOTING,
        Status.AWAITING_DECISION,
    ],
)
def test_the_submitting_unit_may_withdraw_an_open_dossier_which_then_ends(stage: Status) -> None:
    case = dossier_at(stage)
    case.withdraw(by=COLLEAGUE)
    dossier = case.dossier
    assert dossier.status is Status.WITHDRAWN
    assert not dossier.status.is_open
    assert dossier.status in ENDED_WITHOUT_AWARD
    assert dossier.ended_reason == "Đơn vị rút hồ sơ để hoàn thiện thêm."
    assert dossier.deadline(CALENDAR, case.today).due_on is None
    # withdrawal records nothing else: freeing the nomination slot is the application's job
    assert type(dossier.collect_events()[-1]).__name__ == "Withdrawn"


def test_only_the_submitting_unit_withdraws_its_dossier() -> None:
    case = dossier_at(Status.SUBMITTED)
    with pytest.raises(ForeignUnit) as raised:
        case.withdraw(by=FOREIGN_SUBMITTER)
    assert_message(raised.value, "rút hồ sơ")
    with pytest.raises(WrongRole):
        case.withdraw(by=APPRAISER)
    assert case.status is Status.SUBMITTED


def test_a_held_dossier_cannot_be_withdrawn() -> None:
    case = dossier_at(Status.HELD)
    with pytest.raises(DossierOnHold):
        case.withdraw()


# --- revocation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stage",
    [
        Status.AWAITING_DECISION,
        Status.REJECTED,
        Status.FORWARDED,
        Status.DECLINED,
        Status.WITHDRAWN,
    ],
)
def test_only_an_approved_or_conferred_award_can_be_revoked(stage: Status) -> None:
    case = dossier_at(stage)
    with pytest.raises(IllegalTransition) as raised:
        case.revoke()
    assert_message(raised.value, stage.label)


def test_a_provincial_award_is_revoked_by_the_chairmans_numbered_decision() -> None:
    case = dossier_at(Status.APPROVED)
    with pytest.raises(WrongRole):
        case.revoke(by=APPRAISER)
    with pytest.raises(InvalidDocumentNumber) as raised:
        case.revoke(number="9/QĐ-TTg")
    assert_message(raised.value, "9/QĐ-TTg", "QĐ-UBND")
    case.revoke("9/QĐ-UBND")
    assert case.status is Status.REVOKED
    assert case.dossier.decision_number == "123/QĐ-UBND"


def test_a_revocation_needs_grounds_explained() -> None:
    case = dossier_at(Status.APPROVED)
    with pytest.raises(InvalidValue) as raised:
        case.dossier.revoke(
            grounds=Grounds.FRAUD,
            explanation="   ",
            decision_number="9/QĐ-UBND",
            decision_date=case.today,
            by=CHAIRMAN,
            at=case.now(),
        )
    assert_message(raised.value, "căn cứ hủy bỏ")


def test_a_revocation_cannot_predate_the_award() -> None:
    case = dossier_at(Status.APPROVED)
    awarded_on = case.dossier.decision_date
    assert awarded_on is not None
    with pytest.raises(InvalidDocumentDate) as raised:
        case.dossier.revoke(
            grounds=Grounds.STANDARDS_UNMET,
            explanation="Không đạt tiêu chuẩn.",
            decision_number="9/QĐ-UBND",
            decision_date=awarded_on - timedelta(days=1),
            by=CHAIRMAN,
            at=case.now(),
        )
    assert_message(raised.value, "trước ngày quyết định khen thưởng")


# --- the central decision ----------------------------------------------------------------------------


def test_the_central_decision_carries_the_deciders_own_number() -> None:
    case = dossier_at(Status.FORWARDED)
    with pytest.raises(InvalidDocumentNumber) as raised:
        case.record_central_decision(number="789/QĐ-UBND")
    assert_message(raised.value, "QĐ-TTg")
    with pytest.raises(WrongRole):
        case.dossier.record_central_decision(
            outcome=CentralOutcome.CONFERRED,
            decision_number="789/QĐ-TTg",
            decision_date=case.today,
            note="",
            by=SUBMITTER,
            at=case.now(),
        )


def test_the_central_decision_cannot_predate_the_provincial_submission() -> None:
    case = dossier_at(Status.FORWARDED)
    forwarded_on = case.dossier.submission_date
    assert forwarded_on is not None
    with pytest.raises(InvalidDocumentDate) as raised:
        case.dossier.record_central_decision(
            outcome=CentralOutcome.CONFERRED,
            decision_number="789/QĐ-TTg",
            decision_date=forwarded_on - timedelta(days=1),
            note="",
            by=APPRAISER,
            at=at(forwarded_on + timedelta(days=30)),
        )
    assert_message(raised.value, "trước ngày tỉnh trình")


# --- the legal clock ---------------------------------------------------------------------------------


def test_the_appraisal_deadline_counts_working_days_from_submission() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    due_on = CALENDAR.add_working_days(SUBMISSION_DAY, 20)
    assert due_on == date(2026, 3, 30)

    on_submission = case.dossier.deadline(CALENDAR, SUBMISSION_DAY)
    assert (on_submission.due_on, on_submission.working_days_left) == (due_on, 20)
    assert not on_submission.paused
    assert not on_submission.overdue

    on_the_day = case.dossier.deadline(CALENDAR, due_on)
    assert (on_the_day.working_days_left, on_the_day.overdue) == (0, False)

    late = case.dossier.deadline(CALENDAR, date(2026, 4, 1))
    assert late.overdue
    assert late.working_days_left == -2


def test_the_deadline_moves_by_the_working_days_a_dossier_waits_for_documents() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    case.return_for_supplement()  # Tuesday 3 March
    waiting = case.dossier.deadline(CALENDAR, date(2026, 3, 5))
    assert waiting.paused
    assert waiting.due_on == CALENDAR.add_working_days(SUBMISSION_DAY, 20 + 2)

    case.today = date(2026, 3, 9)
    case.supplement()  # Tuesday 10 March: paused Wed 4 to Tue 10, 5 working days
    resumed = case.dossier.deadline(CALENDAR, date(2026, 3, 11))
    assert not resumed.paused
    assert resumed.due_on == CALENDAR.add_working_days(SUBMISSION_DAY, 20 + 5)


def test_the_deadline_pauses_while_a_dossier_is_held() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    case.hold()  # Tuesday 3 March
    assert case.dossier.deadline(CALENDAR, date(2026, 3, 4)).paused
    case.today = date(2026, 3, 12)
    case.lift_hold()  # Friday 13 March: 8 working days paused
    deadline = case.dossier.deadline(CALENDAR, date(2026, 3, 16))
    assert not deadline.paused
    assert deadline.due_on == CALENDAR.add_working_days(SUBMISSION_DAY, 28)


def test_a_hold_while_waiting_for_documents_does_not_pause_the_clock_twice() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    case.return_for_supplement()  # Tue 3
    case.hold()  # Wed 4
    with pytest.raises(DossierOnHold):
        case.supplement()  # Thu 5
    case.lift_hold()  # Fri 6
    assert case.status is Status.RETURNED
    assert case.dossier.deadline(CALENDAR, case.today).paused
    case.supplement()  # Mon 9: paused Wed 4 to Mon 9, 4 working days in all
    deadline = case.dossier.deadline(CALENDAR, date(2026, 3, 10))
    assert not deadline.paused
    assert deadline.due_on == CALENDAR.add_working_days(SUBMISSION_DAY, 24)


def test_a_dossier_becomes_overdue_only_after_its_due_day() -> None:
    case = submitted(PROVINCIAL_WITH_COUNCIL)
    due_on = CALENDAR.add_working_days(SUBMISSION_DAY, 20)
    assert not case.dossier.deadline(CALENDAR, due_on).overdue
    assert case.dossier.deadline(CALENDAR, due_on + timedelta(days=1)).overdue


def test_the_appraisal_clock_stops_once_the_dossier_is_appraised() -> None:
    case = dossier_at(Status.AWAITING_COUNCIL)
    deadline = case.dossier.deadline(CALENDAR, date(2026, 6, 1))
    assert deadline.due_on is None
    assert not deadline.overdue


def test_a_state_level_appraisal_clock_starts_when_public_comment_closes() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    assert case.dossier.deadline(CALENDAR, case.today).due_on is None
    case.close_public_comment()
    closed_on = case.today
    deadline = case.dossier.deadline(CALENDAR, closed_on)
    assert deadline.due_on == CALENDAR.add_working_days(closed_on, 20)
    assert deadline.working_days_left == 20


def test_a_hold_before_the_clock_starts_does_not_lengthen_the_appraisal_limit() -> None:
    case = submitted(STATE_LEVEL)
    case.open_public_comment()  # Monday 2 March, closes 16 March
    case.hold()  # Tue 3
    case.today = date(2026, 3, 9)
    case.lift_hold()  # Tue 10: 5 working days held, all before the clock starts
    case.close_public_comment()  # Tue 17: the clock starts
    deadline = case.dossier.deadline(CALENDAR, case.today)
    assert deadline.due_on == CALENDAR.add_working_days(case.today, 20)


# --- illegal moves raise; nothing is half-applied ----------------------------------------------------

SUBMITTER_AS_APPRAISER = same_person_as(SUBMITTER, Role.APPRAISER)


def _appraise_by_submitter(case: Case) -> None:
    case.appraise(by=SUBMITTER_AS_APPRAISER)


def _approve_with(number: str, days_ahead: int = 0) -> Step:
    def step(case: Case) -> None:
        case.dossier.approve(
            decision_number=number,
            decision_date=case.today + timedelta(days=days_ahead),
            by=CHAIRMAN,
            at=case.now(),
        )

    return step


def _comment_after_close(case: Case) -> None:
    case.receive_comment("muon")


def _close_too_early(case: Case) -> None:
    case.dossier.close_public_comment(by=APPRAISER, at=case.now())


def _open_too_short(case: Case) -> None:
    case.dossier.open_public_comment(
        closes_on=working_day_after(case.today, 9), by=APPRAISER, at=case.now(), calendar=CALENDAR
    )


def _appraise_leaving_comments_unanswered(case: Case) -> None:
    case.dossier.appraise(qualified=True, opinion="Đạt.", answers={}, by=APPRAISER, at=case.now())


def _stranger_votes(case: Case) -> None:
    case.vote([Actor("nguoi.ngoai", Role.COUNCIL_MEMBER)])


def _withdraw_by_foreign_unit(case: Case) -> None:
    case.withdraw(by=FOREIGN_SUBMITTER)


FAILING_COMMANDS: list[tuple[Status, Step, type[DomainError]]] = [
    (Status.SUBMITTED, lambda case: case.approve(), IllegalTransition),
    (Status.SUBMITTED, _appraise_by_submitter, SeparationOfDuties),
    (Status.SUBMITTED, _withdraw_by_foreign_unit, ForeignUnit),
    (Status.HELD, lambda case: case.appraise(), DossierOnHold),
    (Status.PUBLIC_COMMENT, _close_too_early, CommentWindowStillOpen),
    (Status.COMMENT_CLOSED, _comment_after_close, CommentWindowClosed),
    (Status.COMMENT_CLOSED, _appraise_leaving_comments_unanswered, UnansweredComments),
    (Status.COUNCIL_VOTING, _stranger_votes, NotACouncilMember),
    (Status.COUNCIL_VOTING, lambda case: case.conclude(MEMBER_IDS[:7]), QuorumNotMet),
    (Status.AWAITING_DECISION, _approve_with("123/QD-UBND"), InvalidDocumentNumber),
    (Status.AWAITING_DECISION, _approve_with("123/QĐ-UBND", days_ahead=1), InvalidDocumentDate),
    (Status.APPROVED, lambda case: case.revoke("abc"), InvalidDocumentNumber),
]


@pytest.mark.parametrize(
    ("stage", "step", "error"),
    FAILING_COMMANDS,
    ids=[f"{stage.value}-{error.__name__}" for stage, _, error in FAILING_COMMANDS],
)
def test_a_failed_command_changes_nothing(
    stage: Status, step: Step, error: type[DomainError]
) -> None:
    case = dossier_at(stage)
    before = snapshot(case.dossier)
    with pytest.raises(error):
        step(case)
    assert snapshot(case.dossier) == before


def test_a_failed_command_at_state_level_changes_nothing() -> None:
    for stage, step, error in [
        (Status.SUBMITTED, _open_too_short, CommentPeriodTooShort),
        (Status.AWAITING_DECISION, lambda case: case.forward(), PartyOpinionMissing),
    ]:
        case = dossier_at(stage, STATE_LEVEL)
        before = snapshot(case.dossier)
        with pytest.raises(error):
            step(case)
        assert snapshot(case.dossier) == before


NAIVE_TIME_COMMANDS = [
    pytest.param(
        Status.SUBMITTED, STATE_LEVEL, lambda c: c.open_public_comment(), id="open comment"
    ),
    pytest.param(Status.PUBLIC_COMMENT, None, lambda c: c.receive_comment("c2"), id="comment"),
    pytest.param(
        Status.PUBLIC_COMMENT, None, lambda c: c.close_public_comment(), id="close comment"
    ),
    pytest.param(
        Status.AWAITING_COUNCIL, None, lambda c: c.open_council_review(), id="open council"
    ),
    pytest.param(
        Status.AWAITING_DECISION,
        STATE_LEVEL,
        lambda c: c.record_party_opinion(),
        id="party opinion",
    ),
    pytest.param(Status.AWAITING_DECISION, None, lambda c: c.approve(), id="approve"),
    pytest.param(Status.AWAITING_DECISION, None, lambda c: c.reject(), id="reject"),
    pytest.param(Status.FORWARDED, None, lambda c: c.record_central_decision(), id="central"),
    pytest.param(Status.APPROVED, None, lambda c: c.revoke(), id="revoke"),
    pytest.param(
        Status.SUBMITTED,
        None,
        lambda c: c.appraise(),
        id="appraise",
    ),
    pytest.param(
        Status.SUBMITTED,
        None,
        lambda c: c.return_for_supplement(),
        id="return",
    ),
    pytest.param(
        Status.RETURNED,
        None,
        lambda c: c.supplement(),
        id="supplement",
    ),
    pytest.param(
        Status.SUBMITTED,
        None,
        lambda c: c.hold(),
        id="hold",
    ),
    pytest.param(
        Status.HELD,
        None,
        lambda c: c.lift_hold(),
        id="lift",
    ),
    pytest.param(Status.RETURNED, None, lambda c: c.withdraw(), id="withdraw-returned"),
    pytest.param(
        Status.SUBMITTED,
        None,
        lambda c: c.withdraw(),
        id="withdraw",
    ),
    pytest.param(
        Status.COUNCIL_VOTING,
        None,
        lambda c: c.vote(MEMBERS[:1]),
        id="vote",
    ),
    pytest.param(
        Status.COUNCIL_VOTING,
        None,
        lambda c: _declare_conflict(c),
        id="declare conflict",
    ),
    pytest.param(
        Status.COUNCIL_VOTING,
        None,
        lambda c: c.conclude(),
        id="conclude",
    ),
]


def _declare_conflict(case: Case) -> None:
    case.dossier.declare_conflict_of_interest(reason="Người thân", by=MEMBERS[0], at=case.now())


@pytest.mark.parametrize(("stage", "award_code", "step"), NAIVE_TIME_COMMANDS)
def test_a_command_refuses_a_time_without_time_zone_and_changes_nothing(
    stage: Status, award_code: str | None, step: Step
) -> None:
    case = dossier_at(stage, award_code)
    case.naive_times = True
    before = snapshot(case.dossier)
    with pytest.raises(InvalidValue) as raised:
        step(case)
    assert_message(raised.value, "múi giờ")
    assert snapshot(case.dossier) == before


# --- property: random command sequences ----------------------------------------------------------

IN_UNIT_MEMBER = Actor("hdtdkt.thanh.vien.sgddt", Role.COUNCIL_MEMBER, unit=UNIT)
SUBMITTER_AS_MEMBER = same_person_as(SUBMITTER, Role.COUNCIL_MEMBER)
SUBMITTER_AS_CHAIRMAN = same_person_as(SUBMITTER, Role.CHAIRMAN)
ROSTER = [*MEMBER_IDS[:4], IN_UNIT_MEMBER.user_id, SUBMITTER.user_id]

ACTORS: list[Actor] = [
    SUBMITTER,
    COLLEAGUE,
    FOREIGN_SUBMITTER,
    APPRAISER,
    SECRETARY,
    CHAIRMAN,
    PUBLIC,
    *MEMBERS[:4],
    IN_UNIT_MEMBER,
    SUBMITTER_AS_MEMBER,
    SUBMITTER_AS_APPRAISER,
    SUBMITTER_AS_CHAIRMAN,
]

Command = Callable[[Dossier, Actor, date, int], None]


def _answers(dossier: Dossier, variant: int) -> dict[str, CommentAnswer]:
    keep = list(dossier.comments) if variant < 3 else list(dossier.comments)[1:]
    answers = {key: CommentAnswer(Disposition.ACCEPTED, "Tiếp thu.") for key in keep}
    if variant == 2:
        answers["khong-co"] = CommentAnswer(Disposition.REJECTED, "Không rõ.")
    return answers


COMMANDS: dict[str, tuple[Role, Command]] = {
    "return": (
        Role.APPRAISER,
        lambda d, by, day, v: d.return_for_supplement(
            missing=["Biên bản họp"], note="", by=by, at=at(day)
        ),
    ),
    "supplement": (
        Role.SUBMITTER,
        lambda d, by, day, v: d.supplement(
            documents=[document(f"bo-sung-{d.version}-{v}.pdf")] if v else [],
            note="Bổ sung" if v != 1 else "",
            by=by,
            at=at(day),
        ),
    ),
    "open comment": (
        Role.APPRAISER,
        lambda d, by, day, v: d.open_public_comment(
            closes_on=CALENDAR.add_working_days(day, d.award.comment_days + v - 1),
            by=by,
            at=at(day),
            calendar=CALENDAR,
        ),
    ),
    "comment": (
        Role.PUBLIC,
        lambda d, by, day, v: d.receive_comment(
            comment_id=f"c{v}",
            kind=list(CommentKind)[v % 3],
            text="Ý kiến của người dân.",
            author_name=None if v else "Trần Văn Khoa",
            contact=None,
            by=by,
            at=at(day),
        ),
    ),
    "close comment": (
        Role.APPRAISER,
        lambda d, by, day, v: d.close_public_comment(by=by, at=at(day)),
    ),
    "moderate comment": (
        Role.APPRAISER,
        lambda d, by, day, v: d.moderate_comment(
            comment_id=f"c{v}",
            decision=list(CommentStatus)[v % 3],
            reason="" if v == 1 else "Lý do kiểm duyệt.",
            by=by,
            at=at(day),
        ),
    ),
    "hold": (
        Role.APPRAISER,
        lambda d, by, day, v: d.hold(
            kind=list(HoldKind)[v % 3], reason="Xác minh đơn thư", by=by, at=at(day)
        ),
    ),
    "lift": (
        Role.APPRAISER,
        lambda d, by, day, v: d.lift_hold(outcome="Đã xác minh", by=by, at=at(day)),
    ),
    "appraise": (
        Role.APPRAISER,
        lambda d, by, day, v: d.appraise(
            qualified=v != 1, opinion="Ý kiến thẩm định.", answers=_answers(d, v), by=by, at=at(day)
        ),
    ),
    "open council": (
        Role.COUNCIL_SECRETARY,
        lambda d, by, day, v: d.open_council_review(
            members=ROSTER[: 2 + v] if v < 3 else ROSTER, meeting_on=day, by=by, at=at(day)
        ),
    ),
    "declare conflict": (
        Role.COUNCIL_MEMBER,
        lambda d, by, day, v: d.declare_conflict_of_interest(
            reason="Người thân", by=by, at=at(day)
        ),
    ),
    "vote": (
        Role.COUNCIL_MEMBER,
        lambda d, by, day, v: d.cast_ballot(vote=list(Vote)[v % 3], by=by, at=at(day)),
    ),
    "conclude": (
        Role.COUNCIL_SECRETARY,
        lambda d, by, day, v: d.conclude_council_review(present=ROSTER[: 3 + v], by=by, at=at(day)),
    ),
    "party opinion": (
        Role.APPRAISER,
        lambda d, by, day, v: d.record_party_opinion(
            document_number="12-CV/TU",
            document_date=day,
            favourable=v != 1,
            summary="Nhất trí.",
            by=by,
            at=at(day),
        ),
    ),
    "approve": (
        Role.CHAIRMAN,
        lambda d, by, day, v: d.approve(
            decision_number=["123/QĐ-UBND", "0123/QĐ-UBND", "123/QD-UBND", "7/QĐ-UBND"][v],
            decision_date=day - timedelta(days=v),
            by=by,
            at=at(day),
        ),
    ),
    "reject": (
        Role.CHAIRMAN,
        lambda d, by, day, v: d.reject(
            reason="Chưa tiêu biểu", notice_number="5/TB-UBND", notice_date=day, by=by, at=at(day)
        ),
    ),
    "forward": (
        Role.CHAIRMAN,
        lambda d, by, day, v: d.forward_upward(
            submission_number=["45/TTr-UBND", "45/QĐ-UBND"][v % 2],
            submission_date=day,
            by=by,
            at=at(day),
        ),
    ),
    "central decision": (
        Role.APPRAISER,
        lambda d, by, day, v: d.record_central_decision(
            outcome=list(CentralOutcome)[v % 2],
            decision_number="789/QĐ-TTg" if v < 2 else "789/QĐ-CTN",
            decision_date=day,
            note="",
            by=by,
            at=at(day),
        ),
    ),
    "withdraw": (
        Role.SUBMITTER,
        lambda d, by, day, v: d.withdraw(reason="Rút hồ sơ", by=by, at=at(day)),
    ),
    "revoke": (
        Role.CHAIRMAN,
        lambda d, by, day, v: d.revoke(
            grounds=list(Grounds)[v],
            explanation="Gian lận",
            decision_number="9/QĐ-TTg" if d.award.is_state_level else "9/QĐ-UBND",
            decision_date=day,
            by=by,
            at=at(day),
        ),
    ),
}

_USUAL_ACTOR = {
    Role.APPRAISER: APPRAISER,
    Role.SUBMITTER: COLLEAGUE,
    Role.PUBLIC: PUBLIC,
    Role.COUNCIL_SECRETARY: SECRETARY,
    Role.CHAIRMAN: CHAIRMAN,
}

STARTS: list[tuple[Status, str | None]] = [
    *[(stage, None) for stage in Status],
    (Status.SUBMITTED, STATE_LEVEL),
    (Status.SUBMITTED, PROVINCIAL_WITH_COUNCIL),
    (Status.AWAITING_DECISION, STATE_LEVEL),
    (Status.AWAITING_DECISION, PROVINCIAL_WITH_COUNCIL),
    (Status.HELD, STATE_LEVEL),
]

LIKELY_NEXT: dict[Status, list[str]] = {
    Status.SUBMITTED: ["return", "open comment", "appraise", "hold", "withdraw"],
    Status.RETURNED: ["supplement", "hold", "withdraw"],
    Status.PUBLIC_COMMENT: ["comment", "moderate comment", "close comment", "hold", "appraise"],
    Status.COMMENT_CLOSED: ["appraise", "return", "hold"],
    Status.HELD: ["lift"],
    Status.AWAITING_COUNCIL: ["open council", "hold"],
    Status.COUNCIL_VOTING: ["vote", "vote", "declare conflict", "conclude"],
    Status.AWAITING_DECISION: ["party opinion", "approve", "reject", "forward"],
    Status.APPROVED: ["revoke"],
    Status.FORWARDED: ["central decision", "hold"],
    Status.CONFERRED: ["revoke"],
}
"""Commands that may succeed from a status: drawn half the time so that runs get deep."""


def _usual_actor(role: Role, variant: int) -> Actor:
    if role is Role.COUNCIL_MEMBER:
        return MEMBERS[variant]
    return _USUAL_ACTOR[role]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.sampled_from(STARTS), data=st.data())
def test_random_commands_keep_the_dossier_in_the_flow(
    start: tuple[Status, str | None], data: st.DataObject
) -> None:
    """Whatever the commands, actors and days: the status stays in the enum, only domain
    errors are raised, a failed command changes nothing, and the events replay to the same state."""
    case = dossier_at(*start)
    dossier = case.dossier
    today = case.today
    for _ in range(data.draw(st.integers(min_value=1, max_value=30), label="length")):
        likely = LIKELY_NEXT.get(dossier.status, [])
        prefer_likely: bool = data.draw(st.booleans(), label="likely")
        if likely and prefer_likely:
            name = data.draw(st.sampled_from(likely), label="command")
        else:
            name = data.draw(st.sampled_from(sorted(COMMANDS)), label="command")
        role, command = COMMANDS[name]
        variant = data.draw(st.integers(min_value=0, max_value=3), label="variant")
        actor = data.draw(st.one_of(st.none(), st.sampled_from(ACTORS)), label="actor")
        by = actor or _usual_actor(role, variant)
        today += timedelta(days=data.draw(st.integers(min_value=0, max_value=16), label="days"))
        before = snapshot(dossier)
        try:
            command(dossier, by, today, variant)
        except DomainError:
            assert snapshot(dossier) == before, name
        else:
            assert dossier.version == before[0] + 1, name
            assert len(dossier.pending_events) == before[2] + 1, name
        assert isinstance(dossier.status, Status)
        assert dossier.status in set(Status)
        dossier.deadline(CALENDAR, today)

    replayed: Any = None
    for event in dossier.collect_events():
        replayed = event.mutate(replayed)
    assert replayed.status is dossier.status
    assert replayed.version == dossier.version
    assert replayed.deadline(CALENDAR, today) == dossier.deadline(CALENDAR, today)
