"""Whole flows and cross-dossier rules through the use cases, on every store."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from application.errors import AlreadyExists, NotFound, PermissionDenied, VersionConflict
from domain.dossier import Status
from domain.errors import (
    DuplicateDocumentNumber,
    DuplicateNomination,
    MovementClosed,
    UnknownAward,
)
from domain.movement import DuplicateMovement
from domain.values import Grounds
from tests.application.flows import (
    appraise,
    approve,
    council,
    forward_and_confer,
    local_today,
    run_public_comment,
    status,
)
from tests.application.support import (
    ADMIN,
    APPRAISER,
    AUDITOR,
    CHAIRMAN,
    MEMBERS,
    OTHER_SUBMITTER,
    SUBMITTER,
    World,
    base_titles,
    submit,
)


def test_a_provincial_certificate_goes_from_submission_to_the_chairmans_decision(
    world: World,
) -> None:
    receipt = submit(world)
    assert (receipt.version, status(world, receipt)) == (1, Status.SUBMITTED)
    receipt = appraise(world, receipt)
    assert status(world, receipt) is Status.AWAITING_DECISION
    receipt = approve(world, receipt)
    state = world.dossiers.state(receipt.id, viewer=AUDITOR)
    assert state["status"] == "approved"
    assert state["decision"]["number"] == "123/QĐ-UBND"
    assert state["rulebook_edition"] == "ND152-2025"


def test_a_provincial_emulation_fighter_needs_the_council_before_approval(world: World) -> None:
    receipt = submit(world, "chien_si_thi_dua_tinh", prior_titles=base_titles())
    receipt = appraise(world, receipt)
    assert status(world, receipt) is Status.AWAITING_COUNCIL
    receipt = council(world, receipt, yes=9, present=10)
    state = world.dossiers.state(receipt.id, viewer=AUDITOR)
    assert state["council"]["result"]["passed"] is True
    assert state["council"]["result"]["votes_required"] == 9
    receipt = approve(world, receipt)
    assert status(world, receipt) is Status.APPROVED


def test_a_state_award_goes_through_public_comment_council_and_upward_to_conferral(
    world: World,
) -> None:
    receipt = submit(
        world,
        "chien_si_thi_dua_toan_quoc",
        prior_titles=base_titles("chien_si_thi_dua_tinh", range(2022, 2026, 3)),
    )
    receipt = run_public_comment(world, receipt, comments=2)
    receipt = appraise(world, receipt)
    receipt = council(world, receipt, yes=10)
    receipt = forward_and_confer(world, receipt, party=True)
    assert status(world, receipt) is Status.CONFERRED
    today = local_today(world)
    receipt = world.dossiers.revoke(
        receipt.id,
        grounds=Grounds.FALSE_DOCUMENTS,
        explanation="Phát hiện kê khai sai thành tích.",
        decision_number="88/QĐ-TTg",
        decision_date=today,
        by=CHAIRMAN,
        expected_version=receipt.version,
    )
    assert status(world, receipt) is Status.REVOKED
    labels = [entry.label for entry in world.dossiers.history(receipt.id, viewer=AUDITOR)]
    assert labels[0] == "Tiếp nhận hồ sơ đề nghị"
    assert labels[-1] == "Hủy bỏ quyết định khen thưởng"
    assert "Nhận ý kiến Nhân dân" in labels


def test_every_history_entry_names_the_user_and_role_that_made_it(world: World) -> None:
    receipt = appraise(world, submit(world))
    approve(world, receipt)
    entries = world.dossiers.history(receipt.id, viewer=AUDITOR)
    assert [(e.actor.user_id, e.actor.role.value) for e in entries] == [
        ("sgd-1", "submitter"),
        ("snv-1", "appraiser"),
        ("ct-1", "chairman"),
    ]
    assert entries[-1].data["decision_number"] == "123/QĐ-UBND"
    assert entries[-1].data["decision_date"] == local_today(world).isoformat()


def test_the_same_nominee_cannot_have_two_open_dossiers_for_one_award_in_one_movement(
    world: World,
) -> None:
    first = submit(world)
    with pytest.raises(DuplicateNomination):
        submit(world)
    other_award = submit(world, "chien_si_thi_dua_tinh", prior_titles=base_titles())
    assert other_award.id != first.id


def test_a_withdrawn_dossier_frees_its_nominee_for_a_new_submission(world: World) -> None:
    first = submit(world)
    world.dossiers.withdraw(
        first.id, reason="Đơn vị rút để hoàn thiện", by=SUBMITTER, expected_version=1
    )
    second = submit(world)
    assert status(world, second) is Status.SUBMITTED


def test_an_approved_award_keeps_the_nominee_from_being_proposed_again(world: World) -> None:
    approve(world, appraise(world, submit(world)))
    with pytest.raises(DuplicateNomination):
        submit(world)


def test_one_decision_may_award_several_nominees_but_its_number_is_not_reused(world: World) -> None:
    first = appraise(world, submit(world, name="Nguyễn Văn An", identity="001085000001"))
    second = appraise(world, submit(world, name="Trần Thị Bình", identity="001085000002"))
    third = appraise(world, submit(world, name="Lê Văn Cường", identity="001085000003"))
    approve(world, first, "123/QĐ-UBND")
    approve(world, second, "123/QĐ-UBND")  # the same decision, same date
    world.clock.advance(days=1)
    with pytest.raises(DuplicateDocumentNumber):
        approve(world, third, "123/QĐ-UBND")  # another date: a different decision
    assert status(world, third) is Status.AWAITING_DECISION


def test_a_stale_version_is_refused_and_nothing_is_written(world: World) -> None:
    receipt = submit(world)
    appraise(world, receipt)
    before = world.dossiers.max_position()
    with pytest.raises(VersionConflict) as raised:
        world.dossiers.withdraw(receipt.id, reason="Rút", by=SUBMITTER, expected_version=1)
    assert raised.value.current == 2
    assert world.dossiers.max_position() == before


def test_a_unit_sees_only_its_own_dossiers(world: World) -> None:
    receipt = submit(world)
    with pytest.raises(NotFound):
        world.dossiers.get(receipt.id, viewer=OTHER_SUBMITTER)
    with pytest.raises(NotFound):
        world.dossiers.withdraw(receipt.id, reason="Rút", by=OTHER_SUBMITTER, expected_version=1)
    assert world.dossiers.get(receipt.id, viewer=SUBMITTER).version == 1


def test_personal_details_are_hidden_from_council_members(world: World) -> None:
    receipt = submit(world)
    member_view = world.dossiers.state(receipt.id, viewer=MEMBERS[0])
    assert member_view["personal"] == "[ẩn]"
    assert "001085012345" not in repr(world.dossiers.history(receipt.id, viewer=MEMBERS[0]))
    appraiser_view = world.dossiers.state(receipt.id, viewer=APPRAISER)
    assert appraiser_view["personal"]["identity_number"] == "001085012345"


def test_roles_outside_the_policy_are_refused_before_anything_is_loaded(world: World) -> None:
    receipt = submit(world)
    with pytest.raises(PermissionDenied):
        world.dossiers.appraise(
            receipt.id, qualified=True, opinion="x", by=AUDITOR, expected_version=1
        )
    with pytest.raises(PermissionDenied):
        world.dossiers.approve(
            receipt.id,
            decision_number="1/QĐ-UBND",
            decision_date=date(2026, 3, 2),
            by=ADMIN,
            expected_version=1,
        )
    with pytest.raises(PermissionDenied):
        submit(world, by=APPRAISER)


def test_unknown_ids_and_awards_give_clear_errors(world: World) -> None:
    with pytest.raises(NotFound):
        world.dossiers.get(uuid4(), viewer=AUDITOR)
    with pytest.raises(UnknownAward):
        submit(world, "giay_khen_khong_co")
    with pytest.raises(NotFound):
        world.dossiers.submit(
            movement_id=uuid4(),
            award_code="bang_khen_chu_tich_tinh",
            submitting_unit=SUBMITTER.unit or "",
            nominee=world.dossiers.get(submit(world).id, viewer=AUDITOR).nominee,
            personal=None,
            achievements="x",
            documents=[],
            by=SUBMITTER,
        )


def test_a_dossier_id_is_used_once(world: World) -> None:
    dossier_id = uuid4()
    submit(world, dossier_id=dossier_id)
    with pytest.raises(AlreadyExists):
        submit(world, dossier_id=dossier_id, name="Người khác", identity="001085099999")


def test_a_closed_movement_takes_no_more_dossiers(world: World) -> None:
    movement = world.movements.get_movement(world.movement_id, viewer=ADMIN)
    world.movements.close_movement(
        world.movement_id, expected_version=movement.version, reason="Tổng kết", by=ADMIN
    )
    with pytest.raises(MovementClosed):
        submit(world)


def test_a_plan_is_recorded_once_per_issuer_and_year(world: World) -> None:
    plan = {
        "plan_number": "461/KH-UBND",
        "title": "Phong trào thi đua",
        "issued_on": date(2022, 9, 1),
        "starts_on": date(2022, 9, 1),
        "ends_on": date(2023, 1, 1),
        "by": ADMIN,
    }
    with pytest.raises(DuplicateMovement):
        world.movements.launch(issuing_body="Ủy ban nhân dân tỉnh Đắk Nông", **plan)
    # Each body numbers its own plans: a commune's 461/KH-UBND is another plan.
    other = world.movements.launch(issuing_body="Ủy ban nhân dân xã Nam Dong", **plan)
    assert other.id != world.movement_id


def test_a_movement_can_be_amended_with_its_version(world: World) -> None:
    receipt = world.movements.amend(
        world.movement_id,
        expected_version=1,
        ends_on=date(2026, 12, 31),
        reason="Gia hạn",
        by=ADMIN,
    )
    assert receipt.version == 2
    assert world.movements.get_movement(world.movement_id, viewer=AUDITOR).ends_on == date(
        2026, 12, 31
    )
    with pytest.raises(VersionConflict):
        world.movements.amend(
            world.movement_id, expected_version=1, title="Khác", reason="x", by=ADMIN
        )


def test_receipts_carry_an_increasing_log_position(world: World) -> None:
    first = submit(world)
    second = appraise(world, first)
    assert second.position > first.position
    assert world.dossiers.max_position() == second.position


def test_ballots_stay_secret_in_the_history_until_the_council_concludes(world: World) -> None:
    from domain.values import Vote
    from tests.application.support import SECRETARY

    receipt = appraise(world, submit(world, "chien_si_thi_dua_tinh", prior_titles=base_titles()))
    receipt = world.dossiers.open_council_review(
        receipt.id,
        members=[member.user_id for member in MEMBERS],
        meeting_on=local_today(world),
        by=SECRETARY,
        expected_version=receipt.version,
    )
    receipt = world.dossiers.cast_ballot(
        receipt.id, vote=Vote.NO, by=MEMBERS[0], expected_version=receipt.version
    )
    votes = [
        e.data["vote"]
        for e in world.dossiers.history(receipt.id, viewer=SUBMITTER)
        if e.event == "BallotCast"
    ]
    assert votes == ["[phiếu kín]"]
    for member in MEMBERS[1:]:
        receipt = world.dossiers.cast_ballot(
            receipt.id, vote=Vote.YES, by=member, expected_version=receipt.version
        )
    world.dossiers.conclude_council_review(
        receipt.id,
        present=[m.user_id for m in MEMBERS],
        by=SECRETARY,
        expected_version=receipt.version,
    )
    votes = [
        e.data["vote"]
        for e in world.dossiers.history(receipt.id, viewer=SUBMITTER)
        if e.event == "BallotCast"
    ]
    assert votes == ["no"] + ["yes"] * 9
