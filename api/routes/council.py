"""The council's agenda: dossiers waiting for the Hội đồng Thi đua - Khen thưởng."""

from __future__ import annotations

from typing import Any

from api.models import AgendaItemOut, AgendaPage
from api.routes.common import (
    READ_PROBLEMS,
    After,
    Offset,
    ViewLimit,
    api_router,
    problems,
    view_reads,
    wait_for_views,
)
from api.security import Caller, ServicesDep, require_not_submitter
from application.policy import authorize
from domain.dossier import Status

router = api_router("/api/v1/council", "Hội đồng (council)")

AGENDA = ("agenda",)


def agenda_item(row: dict[str, Any]) -> AgendaItemOut:
    return AgendaItemOut(
        id=row["id"],
        version=row["version"],
        status=row["status"],
        status_label=Status(row["status"]).label,
        award_code=row["award_code"],
        award_name=row["award_name"],
        level=row["level"],
        submitting_unit=row["submitting_unit"],
        movement_id=row["movement_id"],
        nominee_name=row["nominee_name"],
        nominee_kind=row["nominee_kind"],
        nominee_position=row["nominee_position"],
        submitted_at=row["submitted_at"],
        appraised_on=row["appraised_on"],
        waiting_since=row["waiting_since"],
        council_meeting_on=row["council_meeting_on"],
        council_members=row["members"],
        conflicts=row["conflicts"],
        votes_cast=row["ballots_cast"],
        quorum=row["quorum"],
        threshold=row["threshold"],
        quorum_required=row["quorum_required"],
        votes_required=row["votes_required"],
    )


@router.get("/agenda", response_model=AgendaPage, responses=problems(*READ_PROBLEMS))
def agenda(
    caller: Caller,
    services: ServicesDep,
    limit: ViewLimit = 50,
    offset: Offset = 0,
    after: After = None,
) -> AgendaPage:
    """Dossiers awaiting the council or being voted on: voting first, then by submission.

    Ballots are only counted. Every staff role but submitter."""
    authorize(caller.actor, "dossier.read")
    require_not_submitter(caller, "xem chương trình họp của Hội đồng")
    wait_for_views(services, after, AGENDA)
    reads = view_reads(services)
    position = reads.position(AGENDA)
    rows, total = reads.agenda(limit=limit, offset=offset)
    return AgendaPage(
        items=[agenda_item(row) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        position=position,
    )
