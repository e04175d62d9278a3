"""The council's agenda: dossiers waiting for the Hội đồng Thi đua - Khen thưởng."""

from __future__ import annotations

from api.models import DossierPage
from api.routes.common import READ_PROBLEMS, Limit, Offset, api_router, page, problems
from api.routes.dossiers import summary_out
from api.security import Caller, ServicesDep, require_not_submitter
from application.policy import authorize

router = api_router("/api/v1/council", "Hội đồng (council)")


@router.get("/agenda", response_model=DossierPage, responses=problems(*READ_PROBLEMS))
def agenda(
    caller: Caller, services: ServicesDep, limit: Limit = 20, offset: Offset = 0
) -> DossierPage:
    """Dossiers awaiting the council or being voted on (votes so far as a count only).

    Every staff role but submitter."""
    authorize(caller.actor, "dossier.read")
    require_not_submitter(caller, "xem chương trình họp của Hội đồng")
    items, total = page(services.directory.agenda(), limit, offset)
    return DossierPage(
        items=[summary_out(item) for item in items], total=total, limit=limit, offset=offset
    )
