"""Two writers on the same version: exactly one wins, the other is told, nothing is lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from application.dossiers import Dossiers
from application.errors import VersionConflict
from domain.errors import DuplicateNomination
from domain.values import HoldKind
from tests.application.support import APPRAISER, CHAIRMAN, SUBMITTER, World, submit


def second_writer(world: World) -> Dossiers:
    """Another process's connection to the same store; in memory, the same application."""
    if world.env["PERSISTENCE_MODULE"] == "eventsourcing.popo":
        return world.dossiers
    return world.second_instance()[1]


def race(world: World, first: Callable[[], Any], second: Callable[[], Any]) -> list[Any]:
    """Run both commands so that each has loaded and checked the same version before either
    saves: the clock is read after loading, so it is where both wait for each other."""
    barrier = threading.Barrier(2, timeout=10)
    waiting = threading.local()

    def hold_at_clock() -> None:
        if getattr(waiting, "armed", False):
            waiting.armed = False
            barrier.wait()

    results: list[Any] = [None, None]

    def run(index: int, command: Callable[[], Any]) -> None:
        waiting.armed = True
        try:
            results[index] = command()
        except Exception as error:  # the outcome is what the test inspects
            results[index] = error

    world.clock.hook = hold_at_clock
    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    world.clock.hook = None
    return results


def test_two_writers_on_one_version_exactly_one_wins(world: World) -> None:
    receipt = submit(world)
    _, other = (
        world.second_instance()
        if world.env["PERSISTENCE_MODULE"] != "eventsourcing.popo"
        else (None, world.dossiers)
    )
    results = race(
        world,
        lambda: world.dossiers.withdraw(
            receipt.id, reason="Đơn vị rút hồ sơ", by=SUBMITTER, expected_version=1
        ),
        lambda: other.hold(
            receipt.id,
            kind=HoldKind.COMPLAINT,
            reason="Có đơn khiếu nại",
            by=CHAIRMAN,
            expected_version=1,
        ),
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    assert isinstance(losers[0], VersionConflict), results
    assert losers[0].current == 2
    history = world.dossiers.history(receipt.id, viewer=APPRAISER)
    assert [entry.version for entry in history] == [1, 2]
    assert history[1].event in {"Withdrawn", "Held"}


def test_two_units_racing_to_nominate_the_same_person_leave_one_dossier(world: World) -> None:
    other = second_writer(world)
    results = race(world, lambda: submit(world), lambda: submit(world, dossiers=other))
    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1, results
    assert isinstance(losers[0], DuplicateNomination), results
    assert world.dossiers.get(winners[0].id, viewer=APPRAISER).version == 1


@pytest.mark.parametrize("writers", [4])
def test_many_concurrent_commenters_are_all_recorded(world: World, writers: int) -> None:
    from domain.values import CommentKind
    from tests.application.flows import local_today
    from tests.application.support import PUBLIC

    receipt = submit(world, "bang_khen_thu_tuong")
    world.dossiers.open_public_comment(
        receipt.id,
        closes_on=world.calendar.add_working_days(local_today(world), 10),
        by=APPRAISER,
        expected_version=1,
    )
    errors: list[Exception] = []

    def comment(index: int) -> None:
        try:
            world.dossiers.receive_comment(
                receipt.id,
                kind=CommentKind.INFORMATION,
                text=f"Ý kiến số {index}",
                author_name=None,
                contact=None,
                by=PUBLIC,
            )
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=comment, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    state = world.dossiers.state(receipt.id, viewer=APPRAISER)
    assert len(state["public_comment"]["comments"]) == writers
    assert state["version"] == 2 + writers
