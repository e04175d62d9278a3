"""The routers of the staff API, in the order they appear in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    audit,
    checkpoints,
    council,
    dossiers,
    health,
    metrics,
    movements,
    users,
    views,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    metrics.router,
    users.me_router,
    users.router,
    movements.router,
    dossiers.router,
    council.router,
    views.router,
    checkpoints.router,
    audit.router,
)
