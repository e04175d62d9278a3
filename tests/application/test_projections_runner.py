"""The runner applies each event exactly once: after a failed commit, after a crashed process,
in small batches with commands in between, with a tiny aggregate cache, with views at different
positions, and with two runners racing over the same views. Each time, the live tables equal a
rebuild from scratch, row by row."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest

from application.demo import load_demo
from application.projections.schema import ViewChanges
from application.projections.views import VIEW_NAMES
from tests.application.projection_helpers import (
    CRASHING_RUNNER,
    assert_equals_rebuild,
    assert_same_rows,
    crashing_runner_args,
    dump,
    positions,
    rebuild,
    runner,
    scripted_flow,
    store_kind,
    submit_many,
    view_database,
)
from tests.application.support import World

ROOT = Path(__file__).resolve().parents[2]
FILE_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Crash(Exception):
    """What the sabotaged commit raises."""


def crash_on_call(number: int) -> tuple[list[int], object]:
    calls: list[int] = []

    def before_commit(changes: Sequence[ViewChanges]) -> None:
        calls.append(len(changes))
        if len(calls) == number:
            raise Crash(f"commit {number}")

    return calls, before_commit


def assert_never_back(history: list[dict[str, int]]) -> None:
    for earlier, later in itertools.pairwise(history):
        for name in earlier:
            assert later[name] >= earlier[name], (name, earlier, later)


def total_dossiers_counted(database_dump: dict[str, list[dict[str, object]]]) -> int:
    return sum(
        int(row["count"])  # type: ignore[call-overload]
        for row in database_dump["view_stat_counts"]
        if row["dimension"] == "all"
    )


# --- a failed commit ---------------------------------------------------------------------------


@pytest.mark.parametrize("restart", ["same runner", "fresh runner"])
def test_a_commit_that_fails_changes_nothing_and_the_next_run_applies_each_event_once(
    world: World, restart: str
) -> None:
    scripted_flow(world)
    database = view_database(world.movements, world.calendar)
    calls, failing = crash_on_call(4)
    database.before_commit = failing  # type: ignore[method-assign]
    live = runner(database, batch_size=6)
    history = [positions(database)]
    for _ in range(3):
        assert live.step() > 0
        history.append(positions(database))
    committed, before = history[-1], dump(database)
    assert min(committed.values()) > 0

    with pytest.raises(Crash):
        live.step()
    assert len(calls) == 4
    assert positions(database) == committed
    assert dump(database) == before
    assert live.stats.views["listing"].errors == 1

    if restart == "fresh runner":
        database = view_database(world.movements, world.calendar)
        live = runner(database, batch_size=6)
    else:
        database.before_commit = lambda changes: None  # type: ignore[method-assign]
    while live.step():
        history.append(positions(database))
    assert_never_back(history)
    assert positions(database) == dict.fromkeys(VIEW_NAMES, world.movements.max_position())
    final = dump(database)
    assert total_dossiers_counted(final) == 4  # not one more for the batch that failed
    assert_same_rows(final, rebuild(world.movements, world.calendar))


def test_a_failed_commit_of_a_view_catching_up_alone_leaves_the_others_untouched(
    world: World,
) -> None:
    scripted_flow(world)
    listing = view_database(world.movements, world.calendar, names=("listing",))
    runner(listing).run_until_caught_up()
    head = world.movements.max_position()
    database = view_database(world.movements, world.calendar)
    _, failing = crash_on_call(2)
    database.before_commit = failing  # type: ignore[method-assign]
    live = runner(database, batch_size=10)
    assert live.step() > 0
    with pytest.raises(Crash):
        live.step()
    stored = positions(database)
    assert stored["listing"] == head
    assert 0 < stored["agenda"] < head
    database.before_commit = lambda changes: None  # type: ignore[method-assign]
    live.run_until_caught_up()
    assert_equals_rebuild(database, world.calendar)


# --- a crashed process ---------------------------------------------------------------------------


@pytest.mark.parametrize("store_env", FILE_STORES, indirect=True)
def test_a_runner_process_that_dies_mid_commit_loses_nothing_and_doubles_nothing(
    world: World,
) -> None:
    """A real crash (the process exits inside the write transaction), on a shared store."""
    assert store_kind(world.env) in {"sqlite", "postgres"}
    scripted_flow(world)
    submit_many(world, 12)
    head = world.movements.max_position()
    database = view_database(world.movements, world.calendar)
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_RUNNER, *crashing_runner_args(world.env, 5, 8)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    reported = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(reported) == 4, done.stdout  # four commits, then death inside the fifth
    committed = json.loads(reported[-1])
    assert positions(database) == committed
    assert 0 < min(committed.values()) < head

    history = [committed]
    live = runner(database, batch_size=8)
    while live.step():
        history.append(positions(database))
    assert_never_back(history)
    assert positions(database) == dict.fromkeys(VIEW_NAMES, head)
    final = dump(database)
    assert total_dossiers_counted(final) == 16
    assert_same_rows(final, rebuild(world.movements, world.calendar))


# --- small batches, commands in between, a tiny cache ---------------------------------------------


@pytest.mark.parametrize(("batch_size", "cache_size"), [(1, 1), (7, 2)])
def test_views_built_in_small_batches_between_commands_equal_a_rebuild(
    world: World, batch_size: int, cache_size: int
) -> None:
    database = view_database(world.movements, world.calendar)
    live = runner(database, batch_size=batch_size, cache_size=cache_size)
    history: list[dict[str, int]] = []

    def after_each_command(position: int) -> None:
        live.step()
        history.append(positions(database))

    world.dossiers.on_commit = after_each_command
    scripted_flow(world)
    submit_many(world, 5)
    world.dossiers.on_commit = None
    assert len({min(p.values()) for p in history}) > 20  # it moved along with the commands
    live.run_until_caught_up()
    assert_never_back(history)
    assert live.stats.loads > 0  # a tiny cache: aggregates were loaded on a miss
    assert_equals_rebuild(database, world.calendar)


def test_views_built_while_the_demo_is_loaded_by_another_thread_equal_a_rebuild(
    world: World,
) -> None:
    """68 dossiers in all 17 statuses, written concurrently with a runner with a tiny cache."""
    database = view_database(world.movements, world.calendar)
    live = runner(database, batch_size=7, cache_size=2)
    failures: list[BaseException] = []

    def load() -> None:
        try:
            load_demo(world.movements, world.dossiers, today=date(2026, 3, 2), log=lambda _: None)
        except BaseException as error:
            failures.append(error)

    loader = threading.Thread(target=load)
    loader.start()
    while loader.is_alive():
        live.step()
    loader.join()
    assert failures == []
    live.run_until_caught_up()
    # How many batches ran while the loader wrote depends on the scheduler; what must hold
    # is that the end result equals a rebuild, with the tiny cache reloading aggregates.
    assert live.stats.loads > 0
    final = dump(database)
    assert total_dossiers_counted(final) == 68
    assert {row["status"] for row in final["view_dossiers"]} >= {
        "submitted",
        "returned",
        "public_comment",
        "comment_closed",
        "held",
        "not_qualified",
        "awaiting_council",
        "council_voting",
        "not_recommended",
        "awaiting_decision",
        "approved",
        "rejected",
        "forwarded",
        "conferred",
        "declined",
        "withdrawn",
        "revoked",
    }
    assert_same_rows(final, rebuild(world.movements, world.calendar))


# --- views at different positions -----------------------------------------------------------------


def test_views_added_later_catch_up_without_moving_the_view_already_there(world: World) -> None:
    scripted_flow(world)
    listing = view_database(world.movements, world.calendar, names=("listing",))
    runner(listing, batch_size=5).run_until_caught_up()
    ahead = world.movements.max_position()
    submit_many(world, 3)  # the listing is now behind too, but less than the others

    database = view_database(world.movements, world.calendar)
    both = runner(database, batch_size=9)
    history = [positions(database)]
    assert history[0]["listing"] == ahead
    assert history[0]["agenda"] == 0
    while both.step():
        history.append(positions(database))
        current = history[-1]
        if current["agenda"] < ahead:
            # A batch never spans the listing's position: only the others moved.
            assert current["listing"] == ahead
    assert_never_back(history)
    assert any(p["agenda"] == ahead for p in history)  # they met at the listing's position
    assert both.stats.views["listing"].events < both.stats.views["agenda"].events
    assert positions(database) == dict.fromkeys(VIEW_NAMES, world.movements.max_position())
    assert_equals_rebuild(database, world.calendar)


# --- two runners over the same views ----------------------------------------------------------------


def test_two_runners_racing_over_the_same_views_apply_each_event_once(world: World) -> None:
    """E.g. a lock handed over while the old holder finishes its batch: the loser of each race
    finds the position moved, writes nothing, and starts again from the stored position."""
    scripted_flow(world)
    submit_many(world, 6)
    first = runner(view_database(world.movements, world.calendar), batch_size=5)
    second = runner(view_database(world.movements, world.calendar), batch_size=3)
    database = view_database(world.movements, world.calendar)
    history = [positions(database)]
    head = world.movements.max_position()
    first.step()
    first_at = first.positions()
    for _ in range(200):
        if min(positions(database).values()) >= head:
            break
        second.step()
        history.append(positions(database))
        first.step()  # its position was moved under it: nothing written, positions reloaded
        history.append(positions(database))
    assert_never_back(history)
    assert first.positions() != first_at
    assert positions(database) == dict.fromkeys(VIEW_NAMES, head)
    assert_equals_rebuild(database, world.calendar)


def test_run_until_caught_up_reaches_the_end_of_the_log_even_when_another_runner_moved_the_views(
    world: World,
) -> None:
    """E.g. ``Projections.run_until_caught_up`` at start-up while the background runner works:
    a batch refused because the position moved is not the end of the log."""
    scripted_flow(world)
    head = world.movements.max_position()
    mine = runner(view_database(world.movements, world.calendar), batch_size=5)
    other = runner(view_database(world.movements, world.calendar), batch_size=5)
    assert mine.step() > 0
    assert other.step() > 0  # the other one moves the stored positions past mine
    assert mine.run_until_caught_up() == head
    assert mine.positions() == dict.fromkeys(VIEW_NAMES, head)
