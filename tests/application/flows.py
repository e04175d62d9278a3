"""Drive a dossier through the flow with the application's use cases."""

from __future__ import annotations

from datetime import date, timedelta

from application.store import Receipt
from domain.dossier import Status
from domain.values import CentralOutcome, CommentAnswer, CommentKind, Disposition, Vote
from tests.application.support import APPRAISER, CHAIRMAN, MEMBERS, PUBLIC, SECRETARY, World


def local_today(world: World) -> date:
    from domain.shared import local_date

    return local_date(world.clock())


def run_public_comment(world: World, receipt: Receipt, comments: int = 1) -> Receipt:
    """Open the window for its minimum, take comments, let it run out, close it."""
    today = local_today(world)
    closes_on = world.calendar.add_working_days(today, 10)
    receipt = world.dossiers.open_public_comment(
        receipt.id, closes_on=closes_on, by=APPRAISER, expected_version=receipt.version
    )
    for index in range(comments):
        receipt = world.dossiers.receive_comment(
            receipt.id,
            kind=CommentKind.SUPPORT,
            text=f"Tôi đồng ý đề nghị khen thưởng (ý kiến {index + 1}).",
            author_name="Lê Thị Hoa",
            contact="hoa.le@example.vn",
            by=PUBLIC,
            comment_id=f"c{index + 1}",
        )
    world.clock.set_local(closes_on + timedelta(days=1))
    while not world.calendar.is_working_day(local_today(world)):
        world.clock.advance(days=1)
    return world.dossiers.close_public_comment(
        receipt.id, by=APPRAISER, expected_version=receipt.version
    )


def appraise(world: World, receipt: Receipt, qualified: bool = True) -> Receipt:
    state = world.dossiers.state(receipt.id, viewer=APPRAISER)
    answers = {
        comment["comment_id"]: CommentAnswer(Disposition.NOTED, "Tiếp thu ý kiến.")
        for comment in state["public_comment"]["comments"]
    }
    return world.dossiers.appraise(
        receipt.id,
        qualified=qualified,
        opinion="Hồ sơ đủ thành phần, thành tích đúng tiêu chuẩn.",
        answers=answers,
        by=APPRAISER,
        expected_version=receipt.version,
    )


def council(world: World, receipt: Receipt, yes: int = 10, present: int = 10) -> Receipt:
    meeting = local_today(world) + timedelta(days=2)
    receipt = world.dossiers.open_council_review(
        receipt.id,
        members=[member.user_id for member in MEMBERS],
        meeting_on=meeting,
        by=SECRETARY,
        expected_version=receipt.version,
    )
    for index, member in enumerate(MEMBERS[:present]):
        vote = Vote.YES if index < yes else Vote.NO
        receipt = world.dossiers.cast_ballot(
            receipt.id, vote=vote, by=member, expected_version=receipt.version
        )
    return world.dossiers.conclude_council_review(
        receipt.id,
        present=[member.user_id for member in MEMBERS[:present]],
        by=SECRETARY,
        expected_version=receipt.version,
    )


def approve(world: World, receipt: Receipt, number: str = "123/QĐ-UBND") -> Receipt:
    return world.dossiers.approve(
        receipt.id,
        decision_number=number,
        decision_date=local_today(world),
        by=CHAIRMAN,
        expected_version=receipt.version,
    )


def forward_and_confer(world: World, receipt: Receipt, party: bool) -> Receipt:
    today = local_today(world)
    if party:
        receipt = world.dossiers.record_party_opinion(
            receipt.id,
            document_number="215-CV/TU",
            document_date=today,
            favourable=True,
            summary="Ban Thường vụ Tỉnh ủy thống nhất đề nghị.",
            by=APPRAISER,
            expected_version=receipt.version,
        )
    receipt = world.dossiers.forward_upward(
        receipt.id,
        submission_number="45/TTr-UBND",
        submission_date=today,
        by=CHAIRMAN,
        expected_version=receipt.version,
    )
    world.clock.advance(days=30)
    return world.dossiers.record_central_decision(
        receipt.id,
        outcome=CentralOutcome.CONFERRED,
        decision_number="1520/QĐ-TTg",
        decision_date=local_today(world),
        note="Quyết định của Thủ tướng Chính phủ.",
        by=APPRAISER,
        expected_version=receipt.version,
    )


def status(world: World, receipt: Receipt) -> Status:
    return Status(world.dossiers.state(receipt.id, viewer=APPRAISER)["status"])
