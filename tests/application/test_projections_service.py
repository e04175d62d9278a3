"""The projections of a running service: the background runner, read-your-writes waits, one
runner per view across processes, and a rebuild swapped in while the live runner applies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import infrastructure.views.service as service
from application.projections.runner import PositionMoved, Runner
from application.projections.schema import ViewChanges
from application.projections.views import VIEW_NAMES, Listing, build_views
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.views.database import LIVE, REBUILD, ViewDatabase
from infrastructure.views.service import Projections
from tests.application.projection_helpers import (
    HOLDING_SERVICE,
    assert_same_rows,
    conninfo,
    dump,
    rebuild,
    scripted_flow,
    settings_fields,
    settings_for,
    submit_many,
)
from tests.application.support import ADMIN, SUBMITTER, ManualClock, World, submit

ROOT = Path(__file__).resolve().parents[2]
FILE_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def eventually(check: Callable[[], bool], timeout: float = 8.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


# --- wait_for, on every store ------------------------------------------------------------------


@pytest.fixture
def projections(world: World) -> Iterator[Projections]:
    projections = Projections(
        world.movements, world.calendar, postgres_conninfo=conninfo(world.env)
    )
    projections.setup()
    world.dossiers.on_commit = projections.notify
    try:
        yield projections
    finally:
        world.dossiers.on_commit = None
        projections.stop()


def test_wait_for_returns_true_once_the_views_have_applied_the_position(
    world: World, projections: Projections
) -> None:
    projections.start()
    receipt = submit(world)
    assert projections.wait_for(receipt.position, timeout=10)
    assert min(projections.positions().values()) >= receipt.position
    table = Listing.table("view_dossiers")
    rows = projections.database.select(
        table,
        "SELECT status, version FROM {table} WHERE id = %s",
        [projections.database.encode(table, "id", receipt.id)],
    )
    assert rows == [{"status": "submitted", "version": 1}]
    later = world.dossiers.withdraw(
        receipt.id, reason="Đơn vị rút hồ sơ.", by=SUBMITTER, expected_version=1
    )
    assert projections.wait_for(later.position, views=["listing"], timeout=10)
    assert projections.wait_for(later.position, views=["register", "statistics"], timeout=10)
    statuses = {s.name: s for s in projections.status()}
    assert set(statuses) == set(VIEW_NAMES)
    assert all(s.running_here and s.errors == 0 for s in statuses.values())
    assert all(s.position >= later.position for s in statuses.values())


def test_wait_for_gives_up_after_its_timeout_for_a_position_beyond_the_log(
    world: World, projections: Projections
) -> None:
    projections.start()
    receipt = submit(world)
    assert projections.wait_for(receipt.position, timeout=10)
    started = time.monotonic()
    assert not projections.wait_for(receipt.position + 1_000, timeout=0.3)
    waited = time.monotonic() - started
    assert 0.3 <= waited < 3.0
    assert not projections.wait_for(receipt.position + 1, views=["listing"], timeout=0.1)


def test_wait_for_without_a_runner_times_out_until_the_views_are_brought_up_to_date(
    world: World, projections: Projections
) -> None:
    receipt = submit(world)
    assert not projections.wait_for(receipt.position, timeout=0.2)
    assert projections.run_until_caught_up() == receipt.position
    assert projections.wait_for(receipt.position, timeout=0)


def test_a_stopped_runner_no_longer_reports_the_views_as_running_here(
    world: World, projections: Projections
) -> None:
    projections.start()
    assert eventually(
        lambda: all(s.running_here for s in projections.status()) and projections.runner is not None
    )
    projections.stop()
    assert [s.name for s in projections.status() if s.running_here] == []


# --- services over a shared database --------------------------------------------------------------


@pytest.fixture(params=FILE_STORES)
def file_env(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite"}
    env: dict[str, str] = request.getfixturevalue("postgres_schema")
    return env


@pytest.fixture
def start_services(
    file_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[[ManualClock], Services]]:
    """Bootstrap the service (again) over one SQLite file or PostgreSQL schema."""
    started: list[Services] = []
    settings = settings_for(file_env, tmp_path / "data")

    def start(clock: ManualClock) -> Services:
        services = bootstrap(settings, clock=clock, run_projections=True)
        started.append(services)
        return services

    yield start
    for services in reversed(started):
        services.close()


def world_of(services: Services, clock: ManualClock, movement_id: object = None) -> World:
    if movement_id is None:
        movement_id = services.movements.launch(
            plan_number="461/KH-UBND",
            title="Phong trào thi đua cao điểm chào mừng 20 năm thành lập tỉnh",
            issuing_body="Ủy ban nhân dân tỉnh Đắk Nông",
            issued_on=date(2022, 8, 11),
            starts_on=date(2022, 8, 11),
            ends_on=date(2026, 10, 31),
            by=ADMIN,
        ).id
    return World(
        services.movements,
        services.dossiers,
        clock,
        movement_id,  # type: ignore[arg-type]
        services.settings.eventsourcing_env(),
        services.calendar,
    )


def new_clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))


def running_here(services: Services) -> set[str]:
    return {s.name for s in services.projections.status() if s.running_here}


def test_only_one_service_runs_each_view_and_another_takes_over_when_it_stops(
    start_services: Callable[[ManualClock], Services], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "LOCK_RETRY_SECONDS", 0.2)
    clock = new_clock()
    first = start_services(clock)
    assert eventually(lambda: running_here(first) == set(VIEW_NAMES))
    second = start_services(clock)
    time.sleep(0.8)  # several lock retries
    assert running_here(second) == set()
    assert second.projections.runner is None

    world = world_of(second, clock)
    receipt = submit(world, dossiers=second.dossiers)
    # The first service's runner applies what the second one wrote.
    assert second.projections.wait_for(receipt.position, timeout=10)
    assert first.projections.runner is not None
    assert first.projections.runner.stats.views["listing"].events >= 2

    first.projections.stop()
    assert eventually(lambda: running_here(second) == set(VIEW_NAMES), timeout=5)
    receipt = submit(world, name="Trần Thị Bình", identity="001085000002", dossiers=second.dossiers)
    assert second.projections.wait_for(receipt.position, timeout=10)
    assert second.projections.runner is not None
    assert second.projections.runner.stats.views["listing"].events >= 1


def test_a_rebuild_swapped_in_while_the_live_runner_applies_loses_and_doubles_nothing(
    start_services: Callable[[ManualClock], Services],
) -> None:
    """The live runner is held with a batch in hand (read from the old tables' position)
    while the rebuild is swapped in, then let go: its write is refused, and it carries on
    from the rebuilt tables' position."""
    clock = new_clock()
    services = start_services(clock)
    world = world_of(services, clock)
    store, calendar = services.movements, services.calendar
    swapped = threading.Event()
    failures: list[BaseException] = []
    written_after_swap = [0]

    park, parked, let_go = threading.Event(), threading.Event(), threading.Event()
    refused: list[int] = []
    live_write = services.projections.database.write

    def held_write(changes: Sequence[ViewChanges]) -> None:
        if park.is_set() and not let_go.is_set():
            parked.set()
            let_go.wait(20)
        try:
            live_write(changes)
        except PositionMoved:
            refused.append(changes[0].start)
            raise

    services.projections.database.write = held_write  # type: ignore[method-assign]

    def write() -> None:
        try:
            scripted_flow(world)
            number = 0
            give_up = time.monotonic() + 30
            while not swapped.is_set() or written_after_swap[0] < 8:
                submit_many(world, 1, start=number)
                number += 1
                if swapped.is_set():
                    written_after_swap[0] += 1
                # Leave the rebuild gaps to swap in: it gives up whenever the log has grown
                # since it caught up.
                time.sleep(0.02)
                if time.monotonic() > give_up:
                    raise AssertionError("the rebuild never got swapped in")
        except BaseException as error:
            failures.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert eventually(lambda: store.max_position() > 30)
        park.set()
        assert parked.wait(10), "the live runner never came to write"
        database = ViewDatabase(store, build_views(calendar), suffix=REBUILD)
        database.drop()
        database.setup(indexes=False)
        rebuilder = Runner(store, database.views, database, batch_size=25)
        attempts = 0
        while True:
            attempts += 1
            rebuilder.run_until_caught_up()
            if attempts == 1:
                database.create_indexes()
            if database.swap_into_live():
                break
            assert attempts < 200
        assert writer.is_alive(), (
            f"the writes ended before the swap ({attempts} attempts): {failures!r}"
        )
        swapped.set()
        let_go.set()
    finally:
        swapped.set()
        let_go.set()
        writer.join(timeout=60)
    assert failures == []
    assert eventually(lambda: len(refused) > 0), "the held batch was not refused"
    head = store.max_position()
    assert services.projections.wait_for(head, timeout=10)
    live = ViewDatabase(store, build_views(calendar), suffix=LIVE)
    assert_same_rows(dump(live), rebuild(store, calendar))
    assert all(s.errors == 0 for s in services.projections.status())

    # A second rebuild swaps in as well (the first one's names are free again).
    again = ViewDatabase(store, build_views(calendar), suffix=REBUILD)
    again.setup()
    Runner(store, again.views, again).run_until_caught_up()
    assert again.swap_into_live()
    receipt = submit(world, name="Lê Văn Cường", identity="001085000003")
    assert services.projections.wait_for(receipt.position, timeout=10)
    assert_same_rows(dump(live), rebuild(store, calendar))


def test_when_the_process_running_the_views_is_killed_another_takes_over(
    file_env: dict[str, str],
    tmp_path: Path,
    start_services: Callable[[ManualClock], Services],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service, "LOCK_RETRY_SECONDS", 0.2)
    clock = new_clock()
    mine = start_services(clock)  # creates the tables, then runs the views
    assert eventually(lambda: running_here(mine) == set(VIEW_NAMES))
    mine.projections.stop()
    fields = settings_fields(file_env, tmp_path / "data")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDING_SERVICE, json.dumps(fields)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding", holder.stderr
        mine.projections.start()
        time.sleep(0.6)  # several lock retries, all refused
        assert mine.projections.runner is None
        holder.kill()  # no clean-up: the locks go with the process
        holder.wait(timeout=10)
        # The dead holder's locks are released one by one: wait until this runner has them all.
        assert eventually(
            lambda: (
                mine.projections.runner is not None
                and set(mine.projections.runner.view_names) == set(VIEW_NAMES)
            ),
            timeout=10,
        )
        receipt = submit(world_of(mine, clock))
        assert mine.projections.wait_for(receipt.position, timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        for pipe in (holder.stdout, holder.stderr):
            if pipe is not None:
                pipe.close()
