"""Compliance replay: every rule breach written below the domain is found, on every store.

The domain refuses these moves, so each test writes the breach as a legacy import would: it
loads the dossier and calls the event's mutator directly (``dossier._on_approved(...)``),
which records exactly the event the domain would record but without the command's checks, or
it inserts stored events through the recorder. The replay must find each one, naming the rule
and the event, and nothing in a clean history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.audit.compliance import RULES, ComplianceReplay, Finding
from application.store import Receipt
from domain.dossier import Dossier
from domain.rulebook import default_rulebooks
from domain.shared import Actor, Role, local_date
from domain.values import (
    CommentAnswer,
    CommentKind,
    CouncilResult,
    Disposition,
    Grounds,
    HoldKind,
    Nominee,
    PersonalDetails,
    Vote,
)
from tests.application.flows import (
    appraise,
    approve,
    council,
    forward_and_confer,
    local_today,
    run_public_comment,
)
from tests.application.support import (
    APPRAISER,
    CHAIRMAN,
    MEMBERS,
    PUBLIC,
    SECRETARY,
    SUBMITTER,
    UNIT,
    World,
    base_titles,
    document,
    submit,
)

Mutation = Callable[[Dossier, datetime], None]
MEMBER_IDS = [member.user_id for member in MEMBERS]


def replay(world: World) -> list[Finding]:
    return list(ComplianceReplay(world.dossiers, default_rulebooks(), world.calendar).run())


def found(world: World) -> list[tuple[str, str, int, int]]:
    """Each finding as (rule, event, version, log position)."""
    return [(f.rule, f.event, f.version, f.position) for f in replay(world)]


def inject(world: World, dossier_id: UUID, mutate: Mutation) -> Receipt:
    """Append the events of mutators called directly (no command checks), as an import would."""
    dossier: Dossier = world.dossiers.repository.get(dossier_id)
    mutate(dossier, world.clock())
    recordings = world.dossiers.save(dossier)
    return Receipt(dossier.id, dossier.version, recordings[-1].notification.id)


def next_working_day(world: World, after: int = 1) -> None:
    world.clock.set_local(world.calendar.add_working_days(local_today(world), after))


def state_award(world: World, **kwargs: Any) -> Receipt:
    return submit(world, "bang_khen_thu_tuong", **kwargs)


def provincial_council_award(world: World, **kwargs: Any) -> Receipt:
    """Chiến sĩ thi đua cấp tỉnh: the council passes it with 90% of all members."""
    return submit(world, "chien_si_thi_dua_tinh", prior_titles=base_titles(), **kwargs)


def open_council(world: World, receipt: Receipt) -> Receipt:
    return world.dossiers.open_council_review(
        receipt.id,
        members=MEMBER_IDS,
        meeting_on=local_today(world) + timedelta(days=2),
        by=SECRETARY,
        expected_version=receipt.version,
    )


def vote(world: World, receipt: Receipt, members: list[Actor], choice: Vote = Vote.YES) -> Receipt:
    for member in members:
        receipt = world.dossiers.cast_ballot(
            receipt.id, vote=choice, by=member, expected_version=receipt.version
        )
    return receipt


def approved_by(by: Actor, number: str = "123/QĐ-UBND", on: date | None = None) -> Mutation:
    def mutate(dossier: Dossier, at: datetime) -> None:
        dossier._on_approved(
            decision_number=number,
            decision_date=on or local_date(at),
            by=by,
            timestamp=at,
        )

    return mutate


def concluded(present: list[str], result: CouncilResult, share: str) -> Mutation:
    def mutate(dossier: Dossier, at: datetime) -> None:
        dossier._on_council_concluded(
            present=present,
            result=result,
            threshold=share,
            quorum="0.8",
            by=SECRETARY,
            timestamp=at,
        )

    return mutate


def ballot(by: Actor, choice: Vote = Vote.NO) -> Mutation:
    def mutate(dossier: Dossier, at: datetime) -> None:
        dossier._on_ballot_cast(vote=choice, by=by, timestamp=at)

    return mutate


# --- a clean history ----------------------------------------------------------------------------


def test_a_clean_history_of_every_kind_of_flow_gives_no_findings(world: World) -> None:
    # A provincial certificate, returned once and held once, then decided with another
    # nominee's dossier by one batch decision, and later revoked.
    first = submit(world)
    second = appraise(world, submit(world, name="Trần Thị Bình", identity="001190054321"))
    next_working_day(world, 3)
    first = world.dossiers.return_for_supplement(
        first.id, missing=["Biên bản họp"], note="", by=APPRAISER, expected_version=1
    )
    next_working_day(world, 15)
    first = world.dossiers.supplement(
        first.id,
        documents=[document("bien-ban.pdf")],
        note="Bổ sung biên bản.",
        by=SUBMITTER,
        expected_version=first.version,
    )
    first = world.dossiers.hold(
        first.id,
        kind=HoldKind.COMPLAINT,
        reason="Đơn phản ánh đang xác minh.",
        by=APPRAISER,
        expected_version=first.version,
    )
    next_working_day(world, 10)
    first = world.dossiers.lift_hold(
        first.id,
        outcome="Nội dung phản ánh không có cơ sở.",
        by=APPRAISER,
        expected_version=first.version,
    )
    first = appraise(world, first)
    first, second = approve(world, first), approve(world, second)  # one decision, two awards
    next_working_day(world)
    world.dossiers.revoke(
        first.id,
        grounds=Grounds.FALSE_DOCUMENTS,
        explanation="Hồ sơ kê khai không trung thực.",
        decision_number="130/QĐ-UBND",
        decision_date=local_today(world),
        by=CHAIRMAN,
        expected_version=first.version,
    )
    # A provincial award through the council, one member declaring a conflict of interest.
    fighter = appraise(
        world, provincial_council_award(world, name="Lê Văn Cường", identity="001090077777")
    )
    fighter = open_council(world, fighter)
    fighter = world.dossiers.declare_conflict_of_interest(
        fighter.id,
        reason="Người thân của đối tượng.",
        by=MEMBERS[0],
        expected_version=fighter.version,
    )
    fighter = vote(world, fighter, MEMBERS[1:])
    fighter = world.dossiers.conclude_council_review(
        fighter.id, present=MEMBER_IDS, by=SECRETARY, expected_version=fighter.version
    )
    approve(world, fighter, number="124/QĐ-UBND")
    # A state award: public comment, answers, council, Party opinion, upward, conferred.
    state = state_award(world, name="Phạm Thị Dung", identity="001185011111")
    state = run_public_comment(world, state, comments=2)
    state = council(world, appraise(world, state))
    forward_and_confer(world, state, party=False)

    assert replay(world) == []


def test_every_rule_has_a_vietnamese_title() -> None:
    assert len(RULES) == 16
    assert all(title and title[0].isupper() for title in RULES.values())


# --- the comment window -------------------------------------------------------------------------


def test_a_comment_window_shorter_than_the_rulebooks_working_days_is_found(world: World) -> None:
    receipt = state_award(world)
    closes_on = world.calendar.add_working_days(local_today(world), 3)
    opened = inject(
        world,
        receipt.id,
        lambda d, at: d._on_comment_opened(closes_on=closes_on, by=APPRAISER, timestamp=at),
    )
    world.clock.set_local(world.calendar.add_working_days(closes_on, 1))
    closed = world.dossiers.close_public_comment(
        receipt.id, by=APPRAISER, expected_version=opened.version
    )
    appraise(world, closed)

    assert found(world) == [("comment_window", "PublicCommentOpened", 2, opened.position)]


def test_a_comment_window_closed_before_its_last_day_is_found(world: World) -> None:
    receipt = state_award(world)
    receipt = world.dossiers.open_public_comment(
        receipt.id,
        closes_on=world.calendar.add_working_days(local_today(world), 10),
        by=APPRAISER,
        expected_version=1,
    )
    next_working_day(world, 4)
    closed = inject(
        world, receipt.id, lambda d, at: d._on_comment_closed(by=APPRAISER, timestamp=at)
    )
    appraise(world, closed)

    assert found(world) == [("comment_window", "PublicCommentClosed", 3, closed.position)]


def test_a_state_award_appraised_without_public_comment_is_found(world: World) -> None:
    receipt = state_award(world)
    appraised = inject(
        world,
        receipt.id,
        lambda d, at: d._on_appraised(
            qualified=True, opinion="Đủ điều kiện.", answers={}, by=APPRAISER, timestamp=at
        ),
    )

    assert found(world) == [("comment_window", "Appraised", 2, appraised.position)]


def test_a_comment_left_unanswered_in_the_appraisal_is_found(world: World) -> None:
    receipt = run_public_comment(world, state_award(world), comments=2)
    answer = {"c1": CommentAnswer(Disposition.ACCEPTED, "Tiếp thu ý kiến.")}
    appraised = inject(
        world,
        receipt.id,
        lambda d, at: d._on_appraised(
            qualified=True, opinion="Đủ điều kiện.", answers=answer, by=APPRAISER, timestamp=at
        ),
    )

    findings = replay(world)
    assert [(f.rule, f.event, f.version, f.position) for f in findings] == [
        ("comments_answered", "Appraised", appraised.version, appraised.position)
    ]
    assert "c2" in findings[0].actual


def test_a_comment_taken_after_the_appraisal_is_found(world: World) -> None:
    receipt = appraise(world, run_public_comment(world, state_award(world)))
    late = inject(
        world,
        receipt.id,
        lambda d, at: d._on_comment_received(
            comment_id="c9",
            kind=CommentKind.OBJECTION,
            text="Tôi phản đối.",
            author_name=None,
            contact=None,
            by=PUBLIC,
            timestamp=at,
        ),
    )

    assert found(world) == [("comments_answered", "CommentReceived", late.version, late.position)]


# --- the appraisal deadline ---------------------------------------------------------------------


def test_an_appraisal_after_its_working_days_is_found(world: World) -> None:
    receipt = submit(world)
    next_working_day(world, 21)  # the limit is 20 working days
    late = appraise(world, receipt)  # the domain records a late appraisal: it is a fact

    findings = replay(world)
    assert [(f.rule, f.event, f.version, f.position) for f in findings] == [
        ("appraisal_deadline", "Appraised", 2, late.position)
    ]
    assert "quá hạn 1 ngày làm việc" in findings[0].actual


def test_returns_and_holds_pause_the_appraisal_deadline(world: World) -> None:
    receipt = submit(world)
    next_working_day(world, 10)
    receipt = world.dossiers.return_for_supplement(
        receipt.id, missing=["Biên bản họp"], note="", by=APPRAISER, expected_version=1
    )
    next_working_day(world, 30)
    receipt = world.dossiers.supplement(
        receipt.id,
        documents=[document("bien-ban.pdf")],
        note="",
        by=SUBMITTER,
        expected_version=receipt.version,
    )
    next_working_day(world, 5)
    receipt = world.dossiers.hold(
        receipt.id,
        kind=HoldKind.INSPECTION,
        reason="Thanh tra đang xác minh.",
        by=APPRAISER,
        expected_version=receipt.version,
    )
    next_working_day(world, 20)
    receipt = world.dossiers.lift_hold(
        receipt.id, outcome="Không có vi phạm.", by=APPRAISER, expected_version=receipt.version
    )
    next_working_day(world, 4)  # 10 + 5 + 4 = 19 working days on the clock
    appraise(world, receipt)

    assert replay(world) == []


# --- the council --------------------------------------------------------------------------------


def test_a_council_concluded_without_a_quorum_of_all_members_is_found(world: World) -> None:
    receipt = open_council(world, appraise(world, provincial_council_award(world)))
    receipt = vote(world, receipt, MEMBERS)  # absent members vote in writing
    result = CouncilResult(10, 7, 10, 0, 0, 0, 8, 9, True)
    done = inject(world, receipt.id, concluded(MEMBER_IDS[:7], result, "0.9"))

    assert found(world) == [
        ("council_quorum", "CouncilReviewConcluded", done.version, done.position)
    ]


def test_a_threshold_counted_over_the_members_present_is_found(world: World) -> None:
    receipt = open_council(world, appraise(world, provincial_council_award(world)))
    receipt = vote(world, receipt, MEMBERS[:8])  # 8 of 10: the rulebook needs 90% of all
    result = CouncilResult(8, 8, 8, 0, 0, 0, 7, 8, True)
    done = inject(world, receipt.id, concluded(MEMBER_IDS[:8], result, "0.9"))

    findings = replay(world)
    assert [(f.rule, f.event, f.version, f.position) for f in findings] == [
        ("council_threshold", "CouncilReviewConcluded", done.version, done.position)
    ]
    assert "9/10" in findings[0].expected
    assert "tính trên 8 thành viên thay vì toàn bộ 10" in findings[0].actual


def test_a_ballot_from_outside_the_council_or_a_second_one_is_found(world: World) -> None:
    receipt = open_council(world, appraise(world, provincial_council_award(world)))
    receipt = vote(world, receipt, MEMBERS[:1], Vote.NO)
    stranger = inject(world, receipt.id, ballot(Actor("hd-99", Role.COUNCIL_MEMBER)))
    twice = inject(world, receipt.id, ballot(MEMBERS[0]))

    assert found(world) == [
        ("council_ballots", "BallotCast", stranger.version, stranger.position),
        ("council_ballots", "BallotCast", twice.version, twice.position),
    ]


def test_a_vote_from_a_member_with_a_declared_conflict_is_found(world: World) -> None:
    receipt = open_council(world, appraise(world, provincial_council_award(world)))
    receipt = world.dossiers.declare_conflict_of_interest(
        receipt.id, reason="Vợ của đối tượng.", by=MEMBERS[0], expected_version=receipt.version
    )
    voted = inject(world, receipt.id, ballot(MEMBERS[0]))

    assert found(world) == [("conflict_of_interest", "BallotCast", voted.version, voted.position)]


def test_a_conflict_declared_after_voting_is_found(world: World) -> None:
    receipt = open_council(world, appraise(world, provincial_council_award(world)))
    receipt = vote(world, receipt, MEMBERS[:1], Vote.NO)
    declared = inject(
        world,
        receipt.id,
        lambda d, at: d._on_conflict_declared(
            reason="Em của đối tượng.", by=MEMBERS[0], timestamp=at
        ),
    )

    assert found(world) == [
        ("conflict_of_interest", "ConflictOfInterestDeclared", declared.version, declared.position)
    ]


def test_a_vote_from_a_member_of_the_nominees_unit_is_found(world: World) -> None:
    receipt = open_council(world, appraise(world, provincial_council_award(world)))
    colleague = Actor(MEMBERS[0].user_id, Role.COUNCIL_MEMBER, UNIT.upper())
    voted = inject(world, receipt.id, ballot(colleague))

    assert found(world) == [("conflict_of_interest", "BallotCast", voted.version, voted.position)]


def test_a_decision_without_the_councils_approval_is_found(world: World) -> None:
    receipt = appraise(world, provincial_council_award(world))
    decided = inject(world, receipt.id, approved_by(CHAIRMAN))

    assert found(world) == [("council_required", "Approved", decided.version, decided.position)]


# --- who may do what ----------------------------------------------------------------------------


def test_a_submitter_who_appraises_their_own_dossier_is_found(world: World) -> None:
    receipt = submit(world)
    same_person = Actor(SUBMITTER.user_id, Role.APPRAISER)
    appraised = inject(
        world,
        receipt.id,
        lambda d, at: d._on_appraised(
            qualified=True, opinion="Đủ điều kiện.", answers={}, by=same_person, timestamp=at
        ),
    )

    assert found(world) == [
        ("separation_of_duties", "Appraised", appraised.version, appraised.position)
    ]


def test_a_decision_signed_by_another_role_is_found(world: World) -> None:
    receipt = appraise(world, submit(world))
    decided = inject(world, receipt.id, approved_by(APPRAISER))

    assert found(world) == [("signer_role", "Approved", decided.version, decided.position)]


def test_a_state_award_decided_by_the_province_is_found(world: World) -> None:
    receipt = run_public_comment(world, state_award(world))
    receipt = council(world, appraise(world, receipt))
    decided = inject(world, receipt.id, approved_by(CHAIRMAN, "45/QĐ-UBND"))

    assert found(world) == [("decision_authority", "Approved", decided.version, decided.position)]


def test_a_decision_before_any_appraisal_is_found(world: World) -> None:
    receipt = submit(world)
    decided = inject(world, receipt.id, approved_by(CHAIRMAN))

    assert found(world) == [("appraisal_required", "Approved", decided.version, decided.position)]


# --- document numbers ---------------------------------------------------------------------------


def test_a_decision_number_off_the_official_pattern_is_found(world: World) -> None:
    receipt = appraise(world, submit(world))
    decided = inject(world, receipt.id, approved_by(CHAIRMAN, "123/QD-UBND"))

    findings = replay(world)
    assert [(f.rule, f.event, f.version, f.position) for f in findings] == [
        ("decision_number_format", "Approved", decided.version, decided.position)
    ]
    assert findings[0].expected == "số/QĐ-UBND, ví dụ 123/QĐ-UBND"


def test_a_decision_number_reused_for_another_decision_is_found(world: World) -> None:
    first = appraise(world, submit(world))
    second = appraise(world, submit(world, name="Trần Thị Bình", identity="001190054321"))
    approve(world, first, "123/QĐ-UBND")
    next_working_day(world)
    reused = inject(world, second.id, approved_by(CHAIRMAN, "123/QĐ-UBND"))

    findings = replay(world)
    assert [(f.rule, f.event, f.dossier_id, f.position) for f in findings] == [
        ("decision_number_unique", "Approved", second.id, reused.position)
    ]
    assert str(first.id) in findings[0].expected


# --- the rulebook and the history itself --------------------------------------------------------


def test_a_dossier_recorded_under_another_rule_is_judged_by_the_rulebook_in_force(
    world: World,
) -> None:
    rule = default_rulebooks().edition("ND152-2025").rule("chien_si_thi_dua_tinh")
    lenient = Dossier._create(
        Dossier.Submitted,
        id=uuid4(),
        timestamp=world.clock(),
        movement_id=world.movement_id,
        rulebook_edition="ND98-2023",
        award=replace(rule, threshold=Decimal("0.5")),
        submitting_unit=UNIT,
        nominee=Nominee("individual", "Nguyễn Văn An", "Giáo viên"),
        personal=PersonalDetails(identity_number="001085012345"),
        achievements="Hoàn thành xuất sắc nhiệm vụ.",
        documents=[document()],
        prior_titles=[],
        by=SUBMITTER,
    )
    submitted = world.dossiers.save(lenient)[0].notification.id
    receipt = appraise(world, Receipt(lenient.id, 1, submitted))
    receipt = council(world, receipt, yes=6)  # passes at 50%, fails at the rulebook's 90%
    decided = approve(world, receipt)

    assert [(f.rule, f.event, f.version) for f in replay(world)] == [
        ("rulebook", "Submitted", 1),
        ("rulebook", "Submitted", 1),
        ("council_threshold", "CouncilReviewConcluded", receipt.version),
        ("council_required", "Approved", decided.version),
    ]


def test_unreadable_events_and_events_without_a_submission_are_found(world: World) -> None:
    receipt = submit(world)
    topic = get_topic(Dossier.Approved)
    world.dossiers.recorder.insert_events(
        [
            StoredEvent(receipt.id, 2, topic, b"{not json"),
            StoredEvent(uuid4(), 1, get_topic(Dossier.Withdrawn), b"{}"),
        ]
    )
    orphan = Dossier.Approved(
        originator_id=uuid4(),
        originator_version=2,
        timestamp=world.clock(),
        decision_number="9/QĐ-UBND",
        decision_date=local_today(world),
        by=CHAIRMAN,
    )
    world.dossiers.recorder.insert_events([world.dossiers.mapper.to_stored_event(orphan)])

    assert [(f.rule, f.event, f.version) for f in replay(world)] == [
        ("history", "Approved", 2),
        ("history", "Withdrawn", 1),
        ("history", "Approved", 2),
    ]


def test_a_missing_version_in_a_dossiers_history_is_found(world: World) -> None:
    receipt = appraise(world, submit(world))
    skipped = Dossier.Approved(
        originator_id=receipt.id,
        originator_version=4,
        timestamp=world.clock(),
        decision_number="123/QĐ-UBND",
        decision_date=local_today(world),
        by=CHAIRMAN,
    )
    world.dossiers.recorder.insert_events([world.dossiers.mapper.to_stored_event(skipped)])

    findings = replay(world)
    assert [(f.rule, f.event, f.version) for f in findings] == [("history", "Approved", 4)]
    assert findings[0].expected == "phiên bản 3"


def test_a_replay_reads_the_log_in_chunks_and_counts_what_it_covered(world: World) -> None:
    for index in range(3):
        appraise(world, submit(world, name=f"Người thứ {index}", identity=f"00108501234{index}"))
    replayer = ComplianceReplay(world.dossiers, default_rulebooks(), world.calendar, chunk=2)

    assert list(replayer.run()) == []
    assert (replayer.summary.dossiers, replayer.summary.events) == (3, 6)
    assert replayer.summary.position == world.dossiers.max_position()
