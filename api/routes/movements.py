"""Emulation movements (phong trào thi đua): launch, amend, close, list, read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Response

from api.errors import etag
from api.models import (
    QUERY_TEXT,
    AmendMovement,
    LaunchMovement,
    MovementOut,
    MovementPage,
    Reason2000,
    ReceiptOut,
)
from api.routes.common import (
    COMMAND_PROBLEMS,
    MOVE_PROBLEMS,
    READ_PROBLEMS,
    After,
    ExpectedVersion,
    MovementId,
    Offset,
    ViewLimit,
    api_router,
    problems,
    receipt,
    view_reads,
    wait_for_views,
)
from api.security import Caller, ServicesDep
from application.policy import authorize

router = api_router("/api/v1/movements", "Phong trào thi đua (movements)")


def _out(movement: Any) -> MovementOut:
    return MovementOut(
        id=movement.id,
        version=movement.version,
        plan_number=movement.plan_number,
        title=movement.title,
        issuing_body=movement.issuing_body,
        issued_on=movement.issued_on,
        starts_on=movement.starts_on,
        ends_on=movement.ends_on,
        closed=movement.closed,
        closing_reason=getattr(movement, "closing_reason", None),
    )


def _row_out(row: dict[str, Any]) -> MovementOut:
    """A row of the movements view (the closing reason is shown by GET /movements/{id})."""
    return MovementOut(
        id=row["id"],
        version=row["version"],
        plan_number=row["plan_number"],
        title=row["title"],
        issuing_body=row["issuing_body"],
        issued_on=row["issued_on"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        closed=row["closed"],
        closing_reason=None,
    )


MOVEMENTS = ("movements",)


@router.get("", response_model=MovementPage, responses=problems(*READ_PROBLEMS))
def list_movements(
    caller: Caller,
    services: ServicesDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Tìm theo số kế hoạch, tên phong trào hoặc cơ quan phát động (không dấu "
            "cũng được)",
        ),
        QUERY_TEXT,
    ] = None,
    limit: ViewLimit = 50,
    offset: Offset = 0,
    after: After = None,
) -> MovementPage:
    """Movements from the movements view, the most recently issued plan first (every staff
    role)."""
    authorize(caller.actor, "movement.read")
    wait_for_views(services, after, MOVEMENTS)
    reads = view_reads(services)
    position = reads.position(MOVEMENTS)
    rows, total = reads.movements(q=q, limit=limit, offset=offset)
    return MovementPage(
        items=[_row_out(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        position=position,
    )


@router.post("", status_code=201, response_model=ReceiptOut, responses=problems(*COMMAND_PROBLEMS))
def launch_movement(
    body: LaunchMovement, caller: Caller, services: ServicesDep, response: Response
) -> ReceiptOut:
    """Phát động phong trào (admin or appraiser) by a numbered plan; once per issuer and year."""
    result = services.movements.launch(
        plan_number=body.plan_number,
        title=body.title,
        issuing_body=body.issuing_body,
        issued_on=body.issued_on,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        by=caller.actor,
    )
    response.headers["Location"] = f"/api/v1/movements/{result.id}"
    return receipt(result, response)


@router.get("/{movement_id}", response_model=MovementOut, responses=problems(*READ_PROBLEMS))
def get_movement(
    movement_id: MovementId, caller: Caller, services: ServicesDep, response: Response
) -> MovementOut:
    """One movement; ETag is its version (If-Match for amend and close)."""
    movement = services.movements.get_movement(movement_id, viewer=caller.actor)
    response.headers["ETag"] = etag(movement.version)
    return _out(movement)


@router.patch("/{movement_id}", response_model=ReceiptOut, responses=problems(*MOVE_PROBLEMS))
def amend_movement(
    movement_id: MovementId,
    body: AmendMovement,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Sửa đổi phong trào (admin or appraiser): title, issuing body or period, with a reason."""
    result = services.movements.amend(
        movement_id,
        expected_version=version,
        reason=body.reason,
        by=caller.actor,
        title=body.title,
        issuing_body=body.issuing_body,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
    )
    return receipt(result, response)


@router.post("/{movement_id}/close", response_model=ReceiptOut, responses=problems(*MOVE_PROBLEMS))
def close_movement(
    movement_id: MovementId,
    body: Reason2000,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Kết thúc phong trào (admin or appraiser): no more dossiers or amendments."""
    result = services.movements.close_movement(
        movement_id, expected_version=version, reason=body.reason, by=caller.actor
    )
    return receipt(result, response)
