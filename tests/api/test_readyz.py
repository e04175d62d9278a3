"""``/readyz``: not ready while a view lags the log by more than the setting allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from application.projections.views import VIEW_NAMES
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings
from tests.api.conftest import STORES, launch_movement, make_settings, start_clock


@pytest.fixture(params=STORES)
def quiet_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose process does not run the views (another process would)."""
    if request.param == "sqlite":
        settings = make_settings("sqlite", tmp_path / "data")
    else:
        settings = make_settings("postgres", tmp_path, request.getfixturevalue("postgres_schema"))
    return settings.model_copy(update={"run_projections": False, "ready_max_lag_events": 0})


@pytest.fixture
def quiet(quiet_settings: Settings) -> Iterator[tuple[Services, TestClient]]:
    with (
        bootstrap(quiet_settings, clock=start_clock()) as services,
        TestClient(create_app(quiet_settings, services=services)) as client,
    ):
        yield services, client


def test_ready_while_the_views_are_up_to_date(quiet: tuple[Services, TestClient]) -> None:
    _services, client = quiet
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_not_ready_while_a_view_lags_then_ready_once_caught_up(
    quiet: tuple[Services, TestClient],
) -> None:
    services, client = quiet
    launch_movement(services)
    head = services.movements.max_position()
    assert head > 0

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.headers["cache-control"] == "no-store"
    problem = response.json()
    assert problem["type"] == "/problems/views-lagging"
    assert problem["status"] == 503
    assert problem["max_lag_events"] == 0
    lagging = {entry["view"]: entry for entry in problem["lagging"]}
    assert set(lagging) == set(VIEW_NAMES)
    for entry in lagging.values():
        assert entry["position"] == 0
        assert entry["head"] == head
        assert entry["lag_events"] == head
        assert entry["lag_seconds"] >= 0
    assert "listing" in problem["detail"]

    services.projections.run_until_caught_up()
    response = client.get("/readyz")
    assert response.status_code == 200, response.text


def test_a_small_lag_within_the_setting_is_still_ready(
    quiet_settings: Settings,
) -> None:
    settings = quiet_settings.model_copy(update={"ready_max_lag_events": 1_000})
    with (
        bootstrap(settings, clock=start_clock()) as services,
        TestClient(create_app(settings, services=services)) as client,
    ):
        launch_movement(services)
        assert services.projections.status()[0].lag_events > 0
        assert client.get("/readyz").status_code == 200


def test_not_ready_when_the_store_does_not_answer(
    quiet: tuple[Services, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, client = quiet

    def broken() -> None:
        raise ConnectionError("down")

    monkeypatch.setattr(services.projections, "status", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["type"] == "/problems/store-unavailable"
