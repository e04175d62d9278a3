"""Liveness and readiness, for load balancers and orchestrators (no authentication)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from api.errors import ApiProblem
from api.models import Health
from api.routes.common import StrictRoute, problems
from api.security import ServicesDep
from infrastructure.views.service import ViewStatus

router = APIRouter(tags=["Vận hành (health)"], route_class=StrictRoute)
log = structlog.get_logger("khenthuong.api")


@router.get("/healthz", response_model=Health, responses=problems(422))
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=problems(422, 503))
def readyz(services: ServicesDep) -> Health:
    """The event store answers and no view is more than ``KHENTHUONG_READY_MAX_LAG_EVENTS``
    behind the log (503 problem otherwise, listing the lagging views)."""
    try:
        services.movements.recorder.max_notification_id()
        statuses = services.projections.status()
    except Exception as error:
        log.warning("store_not_ready", error_type=type(error).__name__)
        raise ApiProblem(
            503,
            "store-unavailable",
            "Kho dữ liệu chưa sẵn sàng",
            "Không truy cập được kho sự kiện; máy chủ chưa sẵn sàng nhận yêu cầu.",
            headers={"Retry-After": "5"},
        ) from None
    limit = services.settings.ready_max_lag_events
    lagging = [status for status in statuses if status.lag_events > limit]
    if lagging:
        log.warning("views_lagging", views=[status.name for status in lagging], limit=limit)
        raise ApiProblem(
            503,
            "views-lagging",
            "Bảng tra cứu chưa theo kịp",
            f"{len(lagging)} bảng tra cứu chậm hơn {limit} sự kiện so với nhật ký "
            f"({', '.join(status.name for status in lagging)}); danh sách và thống kê có thể "
            "chưa phản ánh các thao tác mới nhất.",
            headers={"Retry-After": "5"},
            extensions={"max_lag_events": limit, "lagging": [_lag(s) for s in lagging]},
        )
    return Health(status="ok")


def _lag(status: ViewStatus) -> dict[str, object]:
    return {
        "view": status.name,
        "position": status.position,
        "head": status.head,
        "lag_events": status.lag_events,
        "lag_seconds": round(status.lag_seconds, 3),
    }
