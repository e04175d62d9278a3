"""Time travel: the state at each version and at each event's moment is what was seen then."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from application.errors import InvalidMoment
from domain.values import Vote
from tests.application.flows import appraise, council, forward_and_confer, run_public_comment
from tests.application.support import AUDITOR, MEMBERS, SECRETARY, World, base_titles, submit


def test_the_state_at_every_version_and_moment_equals_the_state_seen_after_that_event(
    world: World,
) -> None:
    seen: list[tuple[int, Any, dict[str, Any]]] = []

    def observe(receipt: Any) -> Any:
        seen.append(
            (receipt.version, world.clock(), world.dossiers.state(receipt.id, viewer=AUDITOR))
        )
        world.clock.advance(minutes=7)
        return receipt

    receipt = observe(
        submit(
            world,
            "chien_si_thi_dua_toan_quoc",
            prior_titles=base_titles("chien_si_thi_dua_tinh", range(2022, 2026, 3)),
        )
    )
    dossier_id = receipt.id
    receipt = run_public_comment(world, receipt, comments=2)
    receipt = observe(appraise(world, receipt))
    receipt = observe(council(world, receipt, yes=10))
    receipt = observe(forward_and_confer(world, receipt, party=True))
    # Fill in every version between the observed ones from a fresh replay of each.
    total = receipt.version
    assert total >= 10
    for version, moment, expected in seen:
        assert world.dossiers.state(dossier_id, viewer=AUDITOR, version=version) == expected
        assert world.dossiers.state(dossier_id, viewer=AUDITOR, at=moment) == expected
    history = world.dossiers.history(dossier_id, viewer=AUDITOR)
    assert [entry.version for entry in history] == list(range(1, total + 1))
    for entry in history:
        at_version = world.dossiers.state(dossier_id, viewer=AUDITOR, version=entry.version)
        at_moment = world.dossiers.state(
            dossier_id, viewer=AUDITOR, at=entry.at + timedelta(microseconds=0)
        )
        # Several events can share one moment only if recorded in one command; here each has its own.
        assert at_moment["version"] >= entry.version
        assert at_version["version"] == entry.version
        assert at_version["modified_at"] == entry.at.isoformat()


def test_every_intermediate_state_is_observed_exactly(world: World) -> None:
    observed: dict[int, dict[str, Any]] = {}
    moments: dict[int, Any] = {}
    receipt = submit(world, "chien_si_thi_dua_tinh", prior_titles=base_titles())

    def record(r: Any) -> None:
        observed[r.version] = world.dossiers.state(r.id, viewer=AUDITOR)
        moments[r.version] = world.clock()
        world.clock.advance(minutes=3)

    record(receipt)
    receipt = appraise(world, receipt)
    record(receipt)
    receipt = world.dossiers.open_council_review(
        receipt.id,
        members=[f"hd-{i:02d}" for i in range(1, 11)],
        meeting_on=world.clock().date() + timedelta(days=1),
        by=SECRETARY,
        expected_version=receipt.version,
    )
    record(receipt)

    for member in MEMBERS:
        receipt = world.dossiers.cast_ballot(
            receipt.id, vote=Vote.YES, by=member, expected_version=receipt.version
        )
        record(receipt)
    receipt = world.dossiers.conclude_council_review(
        receipt.id,
        present=[m.user_id for m in MEMBERS],
        by=SECRETARY,
        expected_version=receipt.version,
    )
    record(receipt)
    assert len(observed) >= 10
    for version, state in observed.items():
        assert world.dossiers.state(receipt.id, viewer=AUDITOR, version=version) == state
        assert world.dossiers.state(receipt.id, viewer=AUDITOR, at=moments[version]) == state
    # Ballots were secret while voting went on, and revealed once concluded.
    assert set(observed[13]["council"]["ballots"].values()) == {"cast"}
    assert set(observed[max(observed)]["council"]["ballots"].values()) == {"yes"}


def test_asking_for_a_moment_before_submission_or_a_version_out_of_range_is_refused(
    world: World,
) -> None:
    receipt = submit(world)
    with pytest.raises(InvalidMoment):
        world.dossiers.state(receipt.id, viewer=AUDITOR, at=world.clock() - timedelta(days=1))
    with pytest.raises(InvalidMoment):
        world.dossiers.state(receipt.id, viewer=AUDITOR, version=2)
    with pytest.raises(InvalidMoment):
        world.dossiers.state(receipt.id, viewer=AUDITOR, at=world.clock().replace(tzinfo=None))
