"""``/metrics``: the projections' progress and the HTTP requests, in Prometheus text format,
without a token and without personal data, one registry per app."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import uuid4

import prometheus_client
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import Metrics
from application.projections.views import VIEW_NAMES
from infrastructure.bootstrap import bootstrap
from infrastructure.views.service import ViewStatus
from tests.api.conftest import Staff, launch_movement, make_settings, start_clock

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> tuple[str, Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_show_each_view_and_the_requests_by_route_template(staff: Staff) -> None:
    dossier_id = staff.submit()
    staff.state(dossier_id)
    staff.state(dossier_id)
    assert staff.get("auditor", f"/api/v1/dossiers/{uuid4()}").status_code == 404
    assert staff.client.get("/khong-co/12345").status_code == 404
    head = staff.services.movements.max_position()
    assert staff.services.projections.wait_for(head, timeout=10)

    text, samples = scrape(staff.client)

    assert value(samples, "khenthuong_projections_up") == 1
    assert value(samples, "khenthuong_projection_log_head") == head
    for view in VIEW_NAMES:
        assert value(samples, "khenthuong_projection_position", view=view) == head
        assert value(samples, "khenthuong_projection_lag_events", view=view) == 0
        assert value(samples, "khenthuong_projection_lag_seconds", view=view) == 0
        assert value(samples, "khenthuong_projection_running", view=view) == 1
        assert value(samples, "khenthuong_projection_events_applied_total", view=view) >= 1
        assert value(samples, "khenthuong_projection_errors_total", view=view) == 0

    requests = "khenthuong_http_requests_total"
    assert value(samples, requests, method="POST", route="/api/v1/dossiers", status="201") == 1
    route = "/api/v1/dossiers/{dossier_id}"
    assert value(samples, requests, method="GET", route=route, status="200") >= 2
    assert value(samples, requests, method="GET", route=route, status="404") == 1
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    latency = "khenthuong_http_request_duration_seconds"
    assert value(samples, f"{latency}_count", method="GET", route=route) >= 3
    assert value(samples, f"{latency}_bucket", method="GET", route=route, le="+Inf") >= 3
    assert value(samples, f"{latency}_sum", method="GET", route=route) > 0

    # route templates only: no id, no raw path, no name, no token
    assert str(dossier_id) not in text
    assert "khong-co" not in text
    assert "Nguyễn Văn An" not in text
    assert "001085012345" not in text
    for token in staff.tokens.values():
        assert token not in text
    assert "sgd.trinh" not in text


def test_metrics_need_no_token_and_count_their_own_scrapes(staff: Staff) -> None:
    scrape(staff.client)
    _text, samples = scrape(staff.client)
    assert (
        value(
            samples, "khenthuong_http_requests_total", method="GET", route="/metrics", status="200"
        )
        == 1
    )
    assert "/metrics" not in staff.client.get("/openapi.json").json()["paths"]


def test_a_lagging_view_shows_its_lag(tmp_path: Path) -> None:
    settings = make_settings("sqlite", tmp_path / "data").model_copy(
        update={"run_projections": False}
    )
    with (
        bootstrap(settings) as services,  # the real clock: the lag is measured from it
        TestClient(create_app(settings, services=services)) as client,
    ):
        launch_movement(services)
        head = services.movements.max_position()
        time.sleep(0.05)
        _text, samples = scrape(client)
        for view in VIEW_NAMES:
            assert value(samples, "khenthuong_projection_position", view=view) == 0
            assert value(samples, "khenthuong_projection_lag_events", view=view) == head
            assert value(samples, "khenthuong_projection_lag_seconds", view=view) > 0
            assert value(samples, "khenthuong_projection_running", view=view) == 0

        services.projections.run_until_caught_up()
        _text, samples = scrape(client)
        assert value(samples, "khenthuong_projection_lag_events", view="listing") == 0


def test_the_audit_logs_tree_shows_its_lag_beside_the_views(tmp_path: Path) -> None:
    settings = make_settings("sqlite", tmp_path / "data").model_copy(
        update={"run_projections": False}
    )
    with (
        bootstrap(settings) as services,
        TestClient(create_app(settings, services=services)) as client,
    ):
        launch_movement(services)
        head = services.movements.max_position()
        services.projections.run_until_caught_up()  # the views, not the audit log's tree
        _text, samples = scrape(client)
        assert value(samples, "khenthuong_projection_lag_events", view="audit_log") == head
        assert value(samples, "khenthuong_projection_running", view="audit_log") == 0
        # readiness is about the views: a tree still being written does not take it away
        assert client.get("/readyz").status_code == 200

        services.audit.catch_up()
        _text, samples = scrape(client)
        assert value(samples, "khenthuong_projection_position", view="audit_log") == head
        assert value(samples, "khenthuong_projection_lag_events", view="audit_log") == 0
        assert (
            value(samples, "khenthuong_projection_events_applied_total", view="audit_log") == head
        )


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    apps = []
    for name in ("a", "b"):
        settings = make_settings("sqlite", tmp_path / name)
        apps.append((settings, bootstrap(settings, clock=start_clock())))
    try:
        first, second = (
            TestClient(create_app(settings, services=services)) for settings, services in apps
        )
        with first, second:
            for _ in range(3):
                assert first.get("/healthz").status_code == 200
            assert second.get("/healthz").status_code == 200
            healthz = ("khenthuong_http_requests_total", "GET", "/healthz", "200")
            counts = []
            for client in (first, second):
                _text, samples = scrape(client)
                counts.append(
                    value(samples, healthz[0], method=healthz[1], route=healthz[2], status="200")
                )
            assert counts == [3, 1]
    finally:
        for _settings, services in apps:
            services.close()
    default = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "khenthuong_" not in default


def test_a_store_that_does_not_answer_is_reported_not_raised() -> None:
    def broken() -> list[ViewStatus]:
        raise ConnectionError("down")

    metrics = Metrics(broken)
    metrics.observe_request("GET", "/healthz", 200, 0.01)
    metrics.observe_request("BREW", None, 405, 0.01)
    text = metrics.render().decode()
    assert "khenthuong_projections_up 0.0" in text
    assert "khenthuong_projection_position" not in text
    assert 'method="GET",route="/healthz",status="200"' in text
    assert 'method="OTHER",route="unmatched",status="405"' in text
