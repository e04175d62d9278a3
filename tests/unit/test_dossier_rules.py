"""The rules of domain.md that concern one dossier, each with its own exception type and a
Vietnamese message that names the fact a person needs to act on it."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from domain.dossier import Status, check_document_number
from domain.errors import (
    AlreadyVoted,
    CommentPeriodTooShort,
    CommentWindowClosed,
    CommentWindowStillOpen,
    ConflictOfInterest,
    CouncilApprovalMissing,
    DomainError,
    DuplicateComment,
    ForeignUnit,
    InvalidDocumentDate,
    InvalidDocumentNumber,
    InvalidValue,
    MovementClosed,
    NomineeKindMismatch,
    NotACouncilMember,
    NotEligible,
    PartyOpinionMissing,
    PartyOpinionUnfavourable,
    PersonalDetailsMisplaced,
    PublicCommentNotApplicable,
    PublicCommentRequired,
    QuorumNotMet,
    SeparationOfDuties,
    UnansweredComments,
    UnknownComment,
    WrongLevel,
    WrongRole,
)
from domain.shared import Actor, Role
from domain.values import CommentAnswer, Disposition, PriorTitle, TitleKind, Vote
from tests.unit.builders import (
    APPRAISER,
    CALENDAR,
    CHAIRMAN,
    COLLEAGUE,
    COLLECTIVE,
    COLLECTIVE_ONLY,
    DOCUMENTS,
    FOREIGN_SUBMITTER,
    MEMBER_IDS,
    MEMBERS,
    PERSON,
    PERSONAL,
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
    award,
    dossier_at,
    launched_movement,
    same_person_as,
    snapshot,
    submit,
    submitted,
    titles,
)

SUBMITTER_AS_APPRAISER = same_person_as(SUBMITTER, Role.APPRAISER)
SUBMITTER_AS_MEMBER = same_person_as(SUBMITTER, Role.COUNCIL_MEMBER)
SUBMITTER_AS_CHAIRMAN = same_person_as(SUBMITTER, Role.CHAIRMAN)

# --- submission --------------------------------------------------------------------------------------


def test_an_individual_award_refuses_a_collective_nominee() -> None:
    with pytest.raises(NomineeKindMismatch) as raised:
        submit(PROVINCIAL_WITH_COUNCIL, nominee=COLLECTIVE)
    assert_message(raised.value, "Chiến sĩ thi đua cấp tỉnh", "cá nhân")


def test_a_collective_award_refuses_an_individual_nominee() -> None:
    with pytest.raises(NomineeKindMismatch) as raised:
        submit(COLLECTIVE_ONLY, nominee=PERSON)
    assert_message(raised.value, "Cờ thi đua của Ủy ban nhân dân tỉnh", "tập thể")


def test_an_award_for_anyone_takes_a_person_or_a_collective() -> None:
    assert submit(PROVINCIAL_WITHOUT_COUNCIL, nominee=PERSON).nominee == PERSON
    assert submit(PROVINCIAL_WITHOUT_COUNCIL, nominee=COLLECTIVE).nominee == COLLECTIVE


def test_personal_details_are_refused_on_a_collective() -> None:
    with pytest.raises(PersonalDetailsMisplaced) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, nominee=COLLECTIVE, personal=PERSONAL)
    assert_message(raised.value, "Tập thể", "số định danh")


def test_personal_details_are_kept_for_an_individual() -> None:
    dossier = submit(PROVINCIAL_WITHOUT_COUNCIL, nominee=PERSON, personal=PERSONAL)
    assert dossier.personal == PERSONAL


def test_a_unit_submits_only_in_its_own_name() -> None:
    with pytest.raises(ForeignUnit) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, by=FOREIGN_SUBMITTER, unit=UNIT)
    assert_message(raised.value, "đơn vị đã trình")


def test_only_a_submitter_submits_a_dossier() -> None:
    with pytest.raises(WrongRole) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, by=APPRAISER)
    assert_message(raised.value, "Đơn vị trình")


def test_a_closed_movement_takes_no_dossier() -> None:
    movement = launched_movement()
    movement.close(reason="Đã tổng kết phong trào", by=CHAIRMAN, at=at(date(2026, 2, 2)))
    with pytest.raises(MovementClosed) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, movement=movement)
    assert_message(raised.value, "461/KH-UBND")


def test_a_dossier_needs_its_documents_each_once() -> None:
    with pytest.raises(InvalidValue) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, documents=[])
    assert_message(raised.value, "tờ trình")
    with pytest.raises(InvalidValue) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, documents=[DOCUMENTS[0], DOCUMENTS[0]])
    assert_message(raised.value, "SHA-256")


def test_a_submission_records_who_submitted_and_the_rulebook_it_is_judged_by() -> None:
    dossier = submit(PROVINCIAL_WITH_COUNCIL)
    assert dossier.status is Status.SUBMITTED
    assert dossier.submitters == {SUBMITTER.user_id}
    assert dossier.submitted_on == SUBMISSION_DAY
    assert dossier.rulebook_edition == "ND152-2025"
    assert dossier.award == award(PROVINCIAL_WITH_COUNCIL)
    event = dossier.collect_events()[0]
    assert event.by == SUBMITTER  # type: ignore[attr-defined]


# --- eligibility chains ------------------------------------------------------------------------------

BASE = "chien_si_thi_dua_co_so"
PROVINCIAL_TITLE = "chien_si_thi_dua_tinh"


@pytest.mark.parametrize(
    "prior",
    [
        [],
        titles(BASE, 2024, 2025),
        titles(BASE, 2021, 2022, 2024, 2025),
        titles("lao_dong_tien_tien", 2023, 2024, 2025),
    ],
    ids=["none", "two-years", "broken-chain", "another-title"],
)
def test_a_provincial_emulation_fighter_needs_three_consecutive_base_level_titles(
    prior: list[PriorTitle],
) -> None:
    with pytest.raises(NotEligible) as raised:
        submit(PROVINCIAL_WITH_COUNCIL, prior_titles=prior)
    assert_message(
        raised.value, "Chiến sĩ thi đua cấp tỉnh", "3 lần liên tục", "Chiến sĩ thi đua cơ sở"
    )


@pytest.mark.parametrize("kind", [TitleKind.UNSCHEDULED, TitleKind.THEMATIC])
def test_unscheduled_and_thematic_titles_do_not_count_toward_the_chain(kind: TitleKind) -> None:
    prior = [*titles(BASE, 2023, 2025), *titles(BASE, 2024, kind=kind)]
    with pytest.raises(NotEligible) as raised:
        submit(PROVINCIAL_WITH_COUNCIL, prior_titles=prior)
    assert_message(raised.value, "đột xuất, chuyên đề")


def test_three_consecutive_base_level_titles_make_a_nominee_eligible() -> None:
    prior = [
        *titles(BASE, 2025, 2023, 2024),
        *titles(BASE, 2019),
        *titles(BASE, 2024, kind=TitleKind.THEMATIC),
    ]
    dossier = submit(PROVINCIAL_WITH_COUNCIL, prior_titles=prior)
    assert dossier.prior_titles == prior


@pytest.mark.parametrize(
    "prior",
    [
        titles(PROVINCIAL_TITLE, 2025),
        titles(PROVINCIAL_TITLE, 2018, 2025),
        titles(BASE, 2022, 2023, 2024, 2025),
        titles(PROVINCIAL_TITLE, 2022, kind=TitleKind.UNSCHEDULED) + titles(PROVINCIAL_TITLE, 2025),
    ],
    ids=["one-year", "not-consecutive", "base-level-only", "one-unscheduled"],
)
def test_a_national_emulation_fighter_needs_two_consecutive_provincial_titles(
    prior: list[PriorTitle],
) -> None:
    with pytest.raises(NotEligible) as raised:
        submit(STATE_LEVEL, prior_titles=prior)
    assert_message(
        raised.value,
        "Chiến sĩ thi đua toàn quốc",
        "2 lần liên tục",
        "mỗi 3 năm",
        "Chiến sĩ thi đua cấp tỉnh",
    )


def test_two_consecutive_provincial_titles_make_a_nominee_eligible_nationally() -> None:
    dossier = submit(STATE_LEVEL, prior_titles=titles(PROVINCIAL_TITLE, 2022, 2025))
    assert dossier.status is Status.SUBMITTED


def test_provincial_titles_three_years_apart_are_consecutive_terms_but_older_ones_are_not() -> None:
    assert (
        submit(STATE_LEVEL, prior_titles=titles(PROVINCIAL_TITLE, 2020, 2023)).status
        is Status.SUBMITTED
    )
    with pytest.raises(NotEligible):
        submit(STATE_LEVEL, prior_titles=titles(PROVINCIAL_TITLE, 2018, 2021))  # last one too old


def test_an_award_without_a_chain_needs_no_prior_title() -> None:
    assert submit(PROVINCIAL_WITHOUT_COUNCIL, prior_titles=[]).status is Status.SUBMITTED


def test_a_title_cannot_come_from_a_future_year() -> None:
    with pytest.raises(InvalidValue) as raised:
        submit(PROVINCIAL_WITH_COUNCIL, prior_titles=titles(BASE, 2025, 2026, 2027))
    assert_message(raised.value, "tương lai")


# --- public comment (state level) ------------------------------------------------------------------


def _open(case: Case, closes_on: date) -> None:
    case.dossier.open_public_comment(
        closes_on=closes_on, by=APPRAISER, at=case.now(), calendar=CALENDAR
    )


def test_the_comment_window_must_run_the_rulebooks_working_days() -> None:
    case = submitted(STATE_LEVEL)  # Monday 2 March; 10 working days end on Monday 16 March
    with pytest.raises(CommentPeriodTooShort) as raised:
        _open(case, date(2026, 3, 13))
    assert_message(raised.value, "13/03/2026", "10 ngày làm việc", "16/03/2026")
    assert case.status is Status.SUBMITTED

    _open(case, date(2026, 3, 16))
    assert case.status is Status.PUBLIC_COMMENT
    assert case.dossier.comment_closes_on == date(2026, 3, 16)


def test_the_comment_window_counts_working_days_not_calendar_days() -> None:
    case = submitted(STATE_LEVEL)
    ten_calendar_days = SUBMISSION_DAY + timedelta(days=10)  # Thursday 12 March: 8 working days
    with pytest.raises(CommentPeriodTooShort):
        _open(case, ten_calendar_days)


def test_a_provincial_award_is_not_published_for_comment() -> None:
    case = submitted(PROVINCIAL_WITH_COUNCIL)
    with pytest.raises(PublicCommentNotApplicable) as raised:
        _open(case, date(2026, 3, 31))
    assert_message(raised.value, "Chiến sĩ thi đua cấp tỉnh")


def test_only_the_appraiser_publishes_a_nomination() -> None:
    case = submitted(STATE_LEVEL)
    with pytest.raises(WrongRole):
        case.dossier.open_public_comment(
            closes_on=date(2026, 3, 31), by=SUBMITTER, at=case.now(), calendar=CALENDAR
        )


def test_the_comment_window_cannot_be_closed_before_its_last_day_has_passed() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    closes_on = case.dossier.comment_closes_on
    assert closes_on == date(2026, 3, 16)
    for day in (date(2026, 3, 10), closes_on):
        with pytest.raises(CommentWindowStillOpen) as raised:
            case.dossier.close_public_comment(by=APPRAISER, at=at(day, hour=17))
        assert_message(raised.value, "16/03/2026")
    case.dossier.close_public_comment(by=APPRAISER, at=at(date(2026, 3, 17)))
    assert case.status is Status.COMMENT_CLOSED


def test_a_state_award_cannot_be_appraised_before_the_comment_window_closes() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(CommentWindowStillOpen) as raised:
        case.appraise()
    assert_message(raised.value, "16/03/2026")
    case.today = date(2026, 3, 20)  # the day has passed, but the window was never closed
    with pytest.raises(CommentWindowStillOpen):
        case.appraise()
    assert case.status is Status.PUBLIC_COMMENT


def test_a_state_award_never_published_cannot_be_appraised() -> None:
    case = submitted(STATE_LEVEL)
    before = snapshot(case.dossier)
    with pytest.raises(DomainError):
        case.appraise()
    assert snapshot(case.dossier) == before


def test_a_state_award_never_published_is_refused_with_public_comment_required() -> None:
    case = submitted(STATE_LEVEL)
    with pytest.raises(PublicCommentRequired):
        case.appraise()


def test_comments_are_taken_up_to_the_end_of_the_closing_day() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    case.today = date(2026, 3, 16)
    case.dossier.receive_comment(
        comment_id="cuoi-ngay",
        kind="objection",  # type: ignore[arg-type]
        text="Tôi có ý kiến khác.",
        author_name=None,
        contact=None,
        by=PUBLIC,
        at=at(case.today, hour=23),
    )
    assert "cuoi-ngay" in case.dossier.comments


def test_a_comment_after_the_window_ends_is_refused() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    case.today = date(2026, 3, 17)  # still published, but the closing day has passed
    with pytest.raises(CommentWindowClosed) as raised:
        case.receive_comment("muon-1")
    assert_message(raised.value, "16/03/2026")

    case.close_public_comment()
    with pytest.raises(CommentWindowClosed):
        case.receive_comment("muon-2")
    assert set(case.dossier.comments) == {"y-kien-1"}


def test_a_provincial_dossier_takes_no_public_comment() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    with pytest.raises(CommentWindowClosed):
        case.receive_comment()


def test_a_comment_is_recorded_once() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(DuplicateComment) as raised:
        case.receive_comment("y-kien-1")
    assert_message(raised.value, "đã được ghi nhận")


def test_only_the_public_intake_or_the_appraiser_records_a_comment() -> None:
    case = dossier_at(Status.PUBLIC_COMMENT)
    with pytest.raises(WrongRole):
        case.dossier.receive_comment(
            comment_id="c9",
            kind="support",  # type: ignore[arg-type]
            text="Ủng hộ",
            author_name=None,
            contact=None,
            by=SUBMITTER,
            at=case.now(),
        )


# --- every comment answered --------------------------------------------------------------------------


def _closed_with_two_comments() -> Case:
    case = submitted(STATE_LEVEL)
    case.open_public_comment()
    case.receive_comment("y-kien-1")
    case.receive_comment("y-kien-2")
    case.close_public_comment()
    return case


def _appraise_with(case: Case, answers: dict[str, CommentAnswer]) -> None:
    case.dossier.appraise(
        qualified=True, opinion="Đủ tiêu chuẩn.", answers=answers, by=APPRAISER, at=case.next_day()
    )


def test_the_appraisal_must_answer_every_comment_received() -> None:
    case = _closed_with_two_comments()
    with pytest.raises(UnansweredComments) as raised:
        _appraise_with(case, {"y-kien-1": CommentAnswer(Disposition.NOTED, "Ghi nhận.")})
    assert_message(raised.value, "còn 1 ý kiến")
    assert case.status is Status.COMMENT_CLOSED


def test_the_appraisal_cannot_answer_a_comment_that_was_never_received() -> None:
    case = _closed_with_two_comments()
    answers = {
        "y-kien-1": CommentAnswer(Disposition.ACCEPTED, "Tiếp thu."),
        "y-kien-2": CommentAnswer(Disposition.REJECTED, "Không có căn cứ."),
        "y-kien-9": CommentAnswer(Disposition.NOTED, "Ghi nhận."),
    }
    with pytest.raises(UnknownComment) as raised:
        _appraise_with(case, answers)
    assert_message(raised.value, "y-kien-9")


def test_an_appraisal_answering_every_comment_with_a_reason_concludes() -> None:
    case = _closed_with_two_comments()
    answers = {
        "y-kien-1": CommentAnswer(Disposition.ACCEPTED, "Tiếp thu."),
        "y-kien-2": CommentAnswer(Disposition.REJECTED, "Nội dung phản ánh không có căn cứ."),
    }
    _appraise_with(case, answers)
    assert case.status is Status.AWAITING_COUNCIL
    assert case.dossier.answers == answers


def test_an_answer_needs_a_reason() -> None:
    with pytest.raises(InvalidValue) as raised:
        CommentAnswer(Disposition.REJECTED, "  ")
    assert_message(raised.value, "lý do")


def test_a_failed_appraisal_may_end_the_dossier() -> None:
    case = dossier_at(Status.NOT_QUALIFIED)
    assert case.dossier.appraisal_qualified is False
    assert not case.status.is_open


# --- council ------------------------------------------------------------------------------------------


def test_only_a_member_named_for_the_review_votes() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    outsider = Actor("hdtdkt.khong.co.ten", Role.COUNCIL_MEMBER)
    with pytest.raises(NotACouncilMember) as raised:
        case.vote([outsider])
    assert_message(raised.value, "thành viên Hội đồng")


def test_a_roster_member_votes_only_in_the_council_member_role() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    as_appraiser = same_person_as(MEMBERS[0], Role.APPRAISER)
    with pytest.raises(NotACouncilMember):
        case.vote([as_appraiser])
    assert case.dossier.ballots == {}


def test_each_member_casts_one_ballot() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    case.vote(MEMBERS[:1], Vote.YES)
    with pytest.raises(AlreadyVoted) as raised:
        case.vote(MEMBERS[:1], Vote.NO)
    assert_message(raised.value, "một phiếu")
    assert case.dossier.ballots == {MEMBERS[0].user_id: Vote.YES}


def test_the_council_needs_the_rulebooks_quorum() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    case.vote(MEMBERS[:7])
    with pytest.raises(QuorumNotMet) as raised:
        case.conclude(MEMBER_IDS[:7])
    assert_message(raised.value, "7/10", "ít nhất 8")
    assert case.status is Status.COUNCIL_VOTING


def test_the_threshold_counts_all_members_not_those_present() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    case.vote(MEMBERS[:8], Vote.YES)  # every member present votes yes: 8 of 10 members
    case.conclude(MEMBER_IDS[:8])  # quorum is met (80 %)
    result = case.dossier.council_result
    assert result is not None
    assert (result.present, result.votes_for, result.votes_required) == (8, 8, 9)
    assert not result.passed
    assert case.status is Status.NOT_RECOMMENDED


def test_a_majority_of_those_present_is_not_enough() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    case.vote(MEMBERS[:7], Vote.YES)
    case.vote(MEMBERS[7:8], Vote.NO)
    case.conclude(MEMBER_IDS[:8])
    assert case.status is Status.NOT_RECOMMENDED


def test_written_ballots_of_absent_members_count_toward_the_threshold() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    case.vote(MEMBERS)  # two of them voted in writing
    case.conclude(MEMBER_IDS[:8])
    assert case.status is Status.AWAITING_DECISION


def test_the_threshold_comes_from_the_rulebook() -> None:
    flag = dossier_at(Status.COUNCIL_VOTING, COLLECTIVE_ONLY)  # 80 % for the emulation flag
    flag.vote(MEMBERS[:8])
    flag.conclude()
    assert flag.status is Status.AWAITING_DECISION

    fighter = dossier_at(Status.COUNCIL_VOTING, PROVINCIAL_WITH_COUNCIL)  # 90 %
    fighter.vote(MEMBERS[:8])
    fighter.conclude()
    assert fighter.status is Status.NOT_RECOMMENDED


def test_the_council_is_opened_and_concluded_by_its_secretary() -> None:
    case = dossier_at(Status.AWAITING_COUNCIL)
    with pytest.raises(WrongRole) as raised:
        case.dossier.open_council_review(
            members=MEMBER_IDS, meeting_on=case.today, by=APPRAISER, at=case.now()
        )
    assert_message(raised.value, "Thư ký Hội đồng")
    case.open_council_review()
    case.vote(MEMBERS)
    with pytest.raises(WrongRole):
        case.dossier.conclude_council_review(present=MEMBER_IDS, by=CHAIRMAN, at=case.now())


@pytest.mark.parametrize(
    ("members", "problem"),
    [
        (MEMBER_IDS[:2], "từ 3"),
        ([*MEMBER_IDS[:3], MEMBER_IDS[0]], "lặp lại"),
    ],
    ids=["too-few", "repeated"],
)
def test_the_council_roster_is_at_least_three_distinct_members(
    members: list[str], problem: str
) -> None:
    case = dossier_at(Status.AWAITING_COUNCIL)
    with pytest.raises(InvalidValue) as raised:
        case.open_council_review(members)
    assert_message(raised.value, problem)


def test_the_council_meeting_cannot_be_in_the_past() -> None:
    case = dossier_at(Status.AWAITING_COUNCIL)
    with pytest.raises(InvalidValue) as raised:
        case.dossier.open_council_review(
            members=MEMBER_IDS,
            meeting_on=case.today - timedelta(days=1),
            by=SECRETARY,
            at=case.now(),
        )
    assert_message(raised.value, "quá khứ")


def test_only_members_are_recorded_as_present() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    with pytest.raises(InvalidValue):
        case.conclude([*MEMBER_IDS, "nguoi.ngoai"])


# --- conflict of interest ---------------------------------------------------------------------------


def _declare(case: Case, member: Actor) -> None:
    case.dossier.declare_conflict_of_interest(
        reason="Là anh ruột của người được đề nghị.", by=member, at=case.now()
    )


def test_a_member_who_declared_a_conflict_cannot_vote() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    _declare(case, MEMBERS[0])
    with pytest.raises(ConflictOfInterest) as raised:
        case.vote(MEMBERS[:1])
    assert_message(raised.value, "xung đột lợi ích")
    assert MEMBERS[0].user_id not in case.dossier.ballots


def test_a_member_from_the_submitting_unit_cannot_vote() -> None:
    colleague_on_council = Actor("hdtdkt.giam.doc.sgddt", Role.COUNCIL_MEMBER, unit=UNIT)
    case = dossier_at(Status.AWAITING_COUNCIL)
    case.open_council_review([*MEMBER_IDS, colleague_on_council.user_id])
    with pytest.raises(ConflictOfInterest) as raised:
        case.vote([colleague_on_council])
    assert_message(raised.value, "đơn vị trình hồ sơ", "xung đột lợi ích")


def test_a_member_from_the_submitting_unit_cannot_vote_however_the_unit_is_written() -> None:
    written_otherwise = Actor("hdtdkt.pho.giam.doc", Role.COUNCIL_MEMBER, unit=UNIT.lower())
    case = dossier_at(Status.AWAITING_COUNCIL)
    case.open_council_review([*MEMBER_IDS, written_otherwise.user_id])
    with pytest.raises(ConflictOfInterest):
        case.vote([written_otherwise])


def test_a_conflict_is_declared_once_and_before_voting() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    _declare(case, MEMBERS[0])
    with pytest.raises(ConflictOfInterest):
        _declare(case, MEMBERS[0])
    case.vote(MEMBERS[1:2])
    with pytest.raises(AlreadyVoted):
        _declare(case, MEMBERS[1])


def test_a_declared_conflict_is_recorded_in_the_result() -> None:
    case = dossier_at(Status.COUNCIL_VOTING)
    _declare(case, MEMBERS[0])
    case.vote(MEMBERS[1:])
    case.conclude()
    result = case.dossier.council_result
    assert result is not None
    assert (result.conflicted, result.votes_for, result.votes_required) == (1, 9, 9)
    assert result.passed


# --- separation of duties ---------------------------------------------------------------------------


def test_the_submitter_cannot_appraise_the_dossier() -> None:
    case = submitted(PROVINCIAL_WITHOUT_COUNCIL)
    with pytest.raises(SeparationOfDuties) as raised:
        case.appraise(by=SUBMITTER_AS_APPRAISER)
    assert_message(raised.value, "thẩm định")
    with pytest.raises(SeparationOfDuties):
        case.dossier.return_for_supplement(
            missing=["Biên bản"], note="", by=SUBMITTER_AS_APPRAISER, at=case.now()
        )


def test_whoever_supplemented_cannot_appraise_the_dossier() -> None:
    case = dossier_at(Status.RETURNED)
    case.supplement(by=COLLEAGUE)
    with pytest.raises(SeparationOfDuties):
        case.appraise(by=same_person_as(COLLEAGUE, Role.APPRAISER))
    case.appraise(by=APPRAISER)
    assert case.status is Status.AWAITING_DECISION


def test_the_submitter_cannot_vote_on_the_dossier() -> None:
    case = dossier_at(Status.AWAITING_COUNCIL)
    case.open_council_review([*MEMBER_IDS, SUBMITTER.user_id])
    with pytest.raises(SeparationOfDuties) as raised:
        case.vote([SUBMITTER_AS_MEMBER])
    assert_message(raised.value, "bỏ phiếu")


def _approve_as(case: Case, by: Actor) -> None:
    case.dossier.approve(
        decision_number="123/QĐ-UBND", decision_date=case.today, by=by, at=case.now()
    )


def _reject_as(case: Case, by: Actor) -> None:
    case.dossier.reject(
        reason="Không đạt", notice_number="5/TB-UBND", notice_date=case.today, by=by, at=case.now()
    )


def _forward_as(case: Case, by: Actor) -> None:
    case.dossier.forward_upward(
        submission_number="45/TTr-UBND", submission_date=case.today, by=by, at=case.now()
    )


@pytest.mark.parametrize(
    ("decide", "award_code"),
    [
        (_approve_as, PROVINCIAL_WITHOUT_COUNCIL),
        (_reject_as, PROVINCIAL_WITH_COUNCIL),
        (_forward_as, "bang_khen_thu_tuong"),
    ],
    ids=["approve", "reject", "forward"],
)
def test_the_submitter_cannot_decide_the_dossier(
    decide: Callable[[Case, Actor], None], award_code: str
) -> None:
    case = dossier_at(Status.AWAITING_DECISION, award_code)
    before = snapshot(case.dossier)
    with pytest.raises(SeparationOfDuties) as raised:
        decide(case, SUBMITTER_AS_CHAIRMAN)
    assert_message(raised.value, "quyết định")
    assert snapshot(case.dossier) == before
    decide(case, CHAIRMAN)
    assert case.status is not Status.AWAITING_DECISION


# --- the decision -------------------------------------------------------------------------------------


def _approve(
    case: Case, number: str = "123/QĐ-UBND", signed_on: date | None = None, by: Actor = CHAIRMAN
) -> None:
    case.dossier.approve(
        decision_number=number, decision_date=signed_on or case.today, by=by, at=case.now()
    )


@pytest.mark.parametrize(
    "actor", [APPRAISER, SECRETARY, MEMBERS[0], SUBMITTER], ids=lambda a: a.role.value
)
def test_the_decision_is_signed_by_the_chairman(actor: Actor) -> None:
    case = dossier_at(Status.AWAITING_DECISION)
    with pytest.raises(WrongRole) as raised:
        _approve(case, by=actor)
    assert_message(raised.value, "Chủ tịch UBND tỉnh")


def test_the_upward_submission_and_the_rejection_are_signed_by_the_chairman() -> None:
    state = dossier_at(Status.AWAITING_DECISION, STATE_LEVEL)
    with pytest.raises(WrongRole):
        state.dossier.forward_upward(
            submission_number="45/TTr-UBND",
            submission_date=state.today,
            by=APPRAISER,
            at=state.now(),
        )
    provincial = dossier_at(Status.AWAITING_DECISION)
    with pytest.raises(WrongRole):
        provincial.dossier.reject(
            reason="Không đạt",
            notice_number="5/TB-UBND",
            notice_date=provincial.today,
            by=APPRAISER,
            at=provincial.now(),
        )


@pytest.mark.parametrize(
    "number",
    [
        "123/QD-UBND",
        "abc",
        "0123/QĐ-UBND",
        "",
        "123/QĐ-TTg",
        "123/QĐ-UBND tỉnh",
        "1234567/QĐ-UBND",
        "123 /QĐ-UBND",
        "12a/QĐ-UBND",
    ],
)
def test_the_decision_number_follows_the_official_pattern(number: str) -> None:
    case = dossier_at(Status.AWAITING_DECISION)
    before = snapshot(case.dossier)
    with pytest.raises(InvalidDocumentNumber) as raised:
        _approve(case, number)
    assert_message(raised.value, "số/QĐ-UBND")
    assert snapshot(case.dossier) == before


def test_a_decision_number_in_decomposed_unicode_is_accepted_in_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", " 123/QĐ-UBND ")
    case = dossier_at(Status.AWAITING_DECISION)
    _approve(case, decomposed)
    assert case.dossier.decision_number == "123/QĐ-UBND"
    assert unicodedata.is_normalized("NFC", case.dossier.decision_number)


def test_a_look_alike_d_with_a_combining_stroke_is_not_the_letter_dj() -> None:
    # "Đ" has no canonical decomposition: D + U+0335 only looks like it and stays refused.
    with pytest.raises(InvalidDocumentNumber):
        check_document_number("123/QD\u0335-UBND", "QĐ-UBND")


@pytest.mark.parametrize("number", ["١٢٣/QĐ-UBND", "１２３/QĐ-UBND", "０１２３/QĐ-UBND"])
def test_a_decision_number_is_written_in_ascii_digits(number: str) -> None:
    with pytest.raises(InvalidDocumentNumber):
        check_document_number(number, "QĐ-UBND")


def test_a_decision_cannot_be_dated_in_the_future() -> None:
    case = dossier_at(Status.AWAITING_DECISION)
    with pytest.raises(InvalidDocumentDate) as raised:
        _approve(case, signed_on=case.today + timedelta(days=1))
    assert_message(raised.value, "tương lai")


def test_a_decision_cannot_be_dated_before_the_submission() -> None:
    case = dossier_at(Status.AWAITING_DECISION)
    with pytest.raises(InvalidDocumentDate) as raised:
        _approve(case, signed_on=SUBMISSION_DAY - timedelta(days=1))
    assert_message(raised.value, "trước ngày trình hồ sơ")


def test_a_decision_may_be_dated_on_the_day_of_submission() -> None:
    case = dossier_at(Status.AWAITING_DECISION)
    _approve(case, signed_on=SUBMISSION_DAY)
    assert case.dossier.decision_date == SUBMISSION_DAY


def test_the_province_does_not_itself_approve_a_state_level_award() -> None:
    case = dossier_at(Status.AWAITING_DECISION, STATE_LEVEL)
    case.record_party_opinion()
    with pytest.raises(WrongLevel) as raised:
        _approve(case)
    assert_message(raised.value, "Chiến sĩ thi đua toàn quốc", "trình cấp trên")


def test_a_provincial_award_is_not_forwarded_upward() -> None:
    case = dossier_at(Status.AWAITING_DECISION, PROVINCIAL_WITH_COUNCIL)
    with pytest.raises(WrongLevel) as raised:
        case.forward()
    assert_message(raised.value, "Chiến sĩ thi đua cấp tỉnh", "Chủ tịch UBND tỉnh")


def test_an_award_that_needs_the_council_is_not_approved_without_its_approval() -> None:
    # No sequence of commands reaches a decision without a passed council (appraisal sends such
    # a dossier to the council); this guards the decision itself against an inconsistent state.
    case = dossier_at(Status.AWAITING_DECISION, PROVINCIAL_WITHOUT_COUNCIL)
    case.dossier.award = dataclasses.replace(case.dossier.award, council_required=True)
    with pytest.raises(CouncilApprovalMissing) as raised:
        _approve(case)
    assert_message(raised.value, "Hội đồng")


def test_a_high_award_is_not_forwarded_without_the_party_opinion() -> None:
    case = dossier_at(Status.AWAITING_DECISION, STATE_LEVEL)
    with pytest.raises(PartyOpinionMissing) as raised:
        case.forward()
    assert_message(raised.value, "Ban Thường vụ Tỉnh ủy")
    case.record_party_opinion(favourable=True)
    case.forward()
    assert case.status is Status.FORWARDED


def test_an_unfavourable_party_opinion_does_not_let_the_dossier_go_up() -> None:
    case = dossier_at(Status.AWAITING_DECISION, STATE_LEVEL)
    case.record_party_opinion(favourable=False)
    with pytest.raises(PartyOpinionUnfavourable) as raised:
        case.forward()
    assert_message(raised.value, "không đồng ý")
    case.reject()
    assert case.status is Status.REJECTED


def test_a_state_award_without_party_opinion_in_the_rulebook_goes_up_without_one() -> None:
    case = dossier_at(Status.AWAITING_DECISION, "bang_khen_thu_tuong")
    case.forward()
    assert case.status is Status.FORWARDED


def test_the_party_opinion_is_only_for_the_awards_that_need_it() -> None:
    case = dossier_at(Status.AWAITING_DECISION, PROVINCIAL_WITH_COUNCIL)
    with pytest.raises(InvalidValue) as raised:
        case.record_party_opinion()
    assert_message(raised.value, "không áp dụng")


def test_the_upward_submission_is_numbered_as_a_submission() -> None:
    case = dossier_at(Status.AWAITING_DECISION, STATE_LEVEL)
    case.record_party_opinion()
    with pytest.raises(InvalidDocumentNumber) as raised:
        case.forward("45/QĐ-UBND")
    assert_message(raised.value, "TTr-UBND")


def test_a_rejection_gives_its_reason() -> None:
    case = dossier_at(Status.AWAITING_DECISION)
    with pytest.raises(InvalidValue) as raised:
        case.dossier.reject(
            reason=" ",
            notice_number="5/TB-UBND",
            notice_date=case.today,
            by=CHAIRMAN,
            at=case.now(),
        )
    assert_message(raised.value, "lý do không khen thưởng")


# --- inputs outside the enums -----------------------------------------------------------------------


def _hold_with_kind(case: Case) -> None:
    case.dossier.hold(kind="bogus", reason="Xác minh", by=APPRAISER, at=case.now())  # type: ignore[arg-type]


def _vote_maybe(case: Case) -> None:
    case.dossier.cast_ballot(vote="maybe", by=MEMBERS[0], at=case.now())  # type: ignore[arg-type]


def _revoke_on_no_grounds(case: Case) -> None:
    case.dossier.revoke(
        grounds="rumour",  # type: ignore[arg-type]
        explanation="Nghe nói",
        decision_number="9/QĐ-UBND",
        decision_date=case.today,
        by=CHAIRMAN,
        at=case.next_day(),
    )


@pytest.mark.parametrize(
    ("stage", "step"),
    [
        (Status.SUBMITTED, _hold_with_kind),
        (Status.COUNCIL_VOTING, _vote_maybe),
        (Status.APPROVED, _revoke_on_no_grounds),
    ],
    ids=["hold-kind", "vote", "grounds"],
)
def test_a_value_outside_its_enumeration_is_refused_as_invalid(
    stage: Status, step: Callable[[Case], None]
) -> None:
    case = dossier_at(stage)
    with pytest.raises(InvalidValue):
        step(case)


def test_a_chain_of_titles_long_past_does_not_qualify_a_nomination_today() -> None:
    with pytest.raises(NotEligible) as raised:
        submit(PROVINCIAL_WITH_COUNCIL, prior_titles=titles(BASE, 2015, 2016, 2017))
    assert_message(raised.value, "gần nhất", "không quá 1 năm trước")


def test_a_chain_ending_last_year_qualifies() -> None:
    dossier = submit(PROVINCIAL_WITH_COUNCIL, prior_titles=titles(BASE, 2023, 2024, 2025))
    assert dossier.status is Status.SUBMITTED


def test_an_individual_nominee_needs_an_identity_number_for_the_one_award_rule() -> None:
    from domain.errors import PersonalDetailsRequired
    from domain.values import PersonalDetails

    with pytest.raises(PersonalDetailsRequired) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, personal=PersonalDetails(date_of_birth=date(1980, 1, 1)))
    assert_message(raised.value, "số định danh")


def test_no_dossier_is_taken_before_its_movement_starts() -> None:
    from domain.errors import InvalidPeriod
    from tests.unit.builders import launched_movement

    movement = launched_movement(on=date(2026, 3, 10))
    with pytest.raises(InvalidPeriod) as raised:
        submit(PROVINCIAL_WITHOUT_COUNCIL, movement=movement, on=date(2026, 3, 9))
    assert_message(raised.value, "10/03/2026")


def test_a_command_dated_before_the_last_event_is_refused_so_history_stays_in_time_order() -> None:
    from tests.unit.builders import APPRAISER, at

    dossier = submit(PROVINCIAL_WITHOUT_COUNCIL, on=date(2026, 3, 10))
    with pytest.raises(InvalidValue) as raised:
        dossier.hold(kind="complaint", reason="Có đơn", by=APPRAISER, at=at(date(2026, 3, 9)))  # type: ignore[arg-type]
    assert_message(raised.value, "thời điểm")
    assert dossier.version == 1
