"""Liveness and readiness, for load balancers and orchestrators (no authentication)."""

from __future__ import annotations

import structlog
from fastapi import APIRouter

from api.errors import ApiProblem
from api.models import Health
from api.routes.common import StrictRoute, problems
from api.security import ServicesDep

router = APIRouter(tags=["Vận hành (health)"], route_class=StrictRoute)
log = structlog.get_logger("khenthuong.api")


@router.get("/healthz", response_model=Health, responses=problems(422))
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=problems(422, 503))
def readyz(services: ServicesDep) -> Health:
    """The event store answers (503 problem when it does not)."""
    try:
        services.movements.recorder.max_notification_id()
    except Exception as error:
        log.warning("store_not_ready", error_type=type(error).__name__)
        raise ApiProblem(
            503,
            "store-unavailable",
            "Kho dữ liệu chưa sẵn sàng",
            "Không truy cập được kho sự kiện; máy chủ chưa sẵn sàng nhận yêu cầu.",
            headers={"Retry-After": "5"},
        ) from None
    return Health(status="ok")
