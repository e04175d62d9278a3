"""A rebuild filled by several worker processes (PostgreSQL): each worker takes the aggregates
whose id falls in its share, and the parent writes the summed counters and the positions last."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from application.projections.views import build_views
from infrastructure.calendar import VietnamCalendar
from infrastructure.views.database import LIVE, REBUILD, ViewDatabase
from infrastructure.views.parallel import fill_in_parallel
from infrastructure.views.rebuild import rebuild, verify
from tests.application.projection_helpers import (
    assert_same_rows,
    dump,
    positions,
    runner,
    scripted_flow,
    submit_many,
)
from tests.application.projection_helpers import rebuild as rebuild_in_one_pass
from tests.application.support import World

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["postgres"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    env: dict[str, str] = request.getfixturevalue("postgres_schema")
    return env


@pytest.fixture
def scratch(world: World, calendar: VietnamCalendar) -> Iterator[ViewDatabase]:
    database = ViewDatabase(world.movements, build_views(calendar), suffix=REBUILD)
    database.drop()
    database.setup(indexes=False)
    try:
        yield database
    finally:
        database.drop()


def test_worker_processes_fill_the_same_rows_as_one_runner(
    world: World, calendar: VietnamCalendar, scratch: ViewDatabase
) -> None:
    scripted_flow(world)
    submit_many(world, 40)
    head = world.movements.max_position()

    reached, events = fill_in_parallel(scratch, workers=3, batch_size=25, cache_size=5)

    assert reached == head
    assert events > 0
    assert set(positions(scratch).values()) == {head}
    assert_same_rows(dump(scratch), rebuild_in_one_pass(world.movements, calendar))


def test_a_runner_carries_on_from_where_the_workers_stopped(
    world: World, calendar: VietnamCalendar, scratch: ViewDatabase
) -> None:
    scripted_flow(world)
    fill_in_parallel(scratch, workers=2, batch_size=10, cache_size=5)
    submit_many(world, 12, start=100)

    reached = runner(scratch, batch_size=7).run_until_caught_up()

    assert reached == world.movements.max_position()
    assert_same_rows(dump(scratch), rebuild_in_one_pass(world.movements, calendar))


def test_workers_refuse_to_fill_tables_that_already_hold_a_position(
    world: World, scratch: ViewDatabase
) -> None:
    scripted_flow(world)
    runner(scratch).run_until_caught_up()

    with pytest.raises(RuntimeError, match="empty scratch tables"):
        fill_in_parallel(scratch, workers=2, batch_size=10, cache_size=5)


def test_a_rebuild_by_worker_processes_is_swapped_in_and_verifies_against_one_runner(
    world: World, calendar: VietnamCalendar
) -> None:
    scripted_flow(world)
    submit_many(world, 20)
    views = build_views(calendar)
    live = ViewDatabase(world.movements, views, suffix=LIVE)
    live.setup()

    result = rebuild(world.movements, views, batch_size=20, cache_size=10, workers=2)

    assert result.position == world.movements.max_position()
    assert result.events > 0
    assert set(positions(live).values()) == {result.position}
    report = verify(world.movements, build_views(calendar), batch_size=100_000, workers=1)
    assert report.ok, report
    assert_same_rows(dump(live), rebuild_in_one_pass(world.movements, calendar))


def test_a_runner_reading_ahead_in_small_chunks_gives_the_same_rows(
    world: World,
    calendar: VietnamCalendar,
    scratch: ViewDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The next chunk of a batch is read in another thread while this one is folded."""
    import application.projections.runner as runner_module

    monkeypatch.setattr(runner_module, "READ_CHUNK", 3)
    scripted_flow(world)
    submit_many(world, 10)
    reading = runner(scratch, batch_size=17)
    assert reading._prefetch is not None

    reached = reading.run_until_caught_up()

    assert reached == world.movements.max_position()
    assert_same_rows(dump(scratch), rebuild_in_one_pass(world.movements, calendar))
