"""The application tests run unchanged on every store: in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from application.dossiers import Dossiers
from application.movements import Movements
from domain.rulebook import default_rulebooks
from infrastructure.calendar import VietnamCalendar
from tests.application.support import ADMIN, ManualClock, World

STORES = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if request.param == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if request.param == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "events.sqlite3"),
        }
    env: dict[str, str] = request.getfixturevalue("postgres_schema")
    return env


@pytest.fixture(scope="session")
def calendar() -> VietnamCalendar:
    return VietnamCalendar()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # Monday 09:00 in Vietnam


@pytest.fixture
def world(
    store_env: dict[str, str], clock: ManualClock, calendar: VietnamCalendar
) -> Iterator[World]:
    movements = Movements(store_env, clock=clock)
    dossiers = Dossiers(
        store_env,
        rulebooks=default_rulebooks(),
        calendar=calendar,
        clock=clock,
        share_with=movements,
    )
    receipt = movements.launch(
        plan_number="461/KH-UBND",
        title="Phong trào thi đua cao điểm chào mừng 20 năm thành lập tỉnh",
        issuing_body="Ủy ban nhân dân tỉnh Đắk Nông",
        issued_on=date(2022, 8, 11),
        starts_on=date(2022, 8, 11),
        ends_on=date(2026, 10, 31),
        by=ADMIN,
    )
    world = World(movements, dossiers, clock, receipt.id, store_env, calendar)
    yield world
    for close in world.closers:
        close()
    movements.close()
