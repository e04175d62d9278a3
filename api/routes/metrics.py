"""``/metrics``: the Prometheus text format, for the operators' scraper.

Like ``/healthz`` it needs no token: it shows no personal data (view names, positions, counts,
HTTP methods, route templates and statuses only). Keep it off the public internet at the
reverse proxy, as the operations endpoints are. It is not part of the OpenAPI document, which
describes the staff API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.metrics import CONTENT_TYPE, Metrics
from api.routes.common import StrictRoute

router = APIRouter(tags=["Vận hành (health)"], route_class=StrictRoute)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The projections' progress (read now) and the HTTP request counts and latencies."""
    registry: Metrics = request.app.state.metrics
    return Response(
        registry.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )
