"""Lists and figures read from the view tables: the register of awards (sổ khen thưởng), the
public consultations (lấy ý kiến Nhân dân) and the statistics (thống kê).

The dossier listing and its exports are in ``dossiers``, the agenda in ``council``, the
movements in ``movements``. Every read accepts ``?after=`` (read-your-writes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from starlette.responses import StreamingResponse

from api.export import award_columns, csv_response, export_responses, xlsx_response
from api.models import (
    QUERY_TEXT,
    AwardEntryOut,
    AwardPage,
    ClocksOut,
    ConsultationOut,
    ConsultationPage,
    GroupCountOut,
    IsoDate,
    StageDaysOut,
    StatisticsOut,
    StatusCountOut,
)
from api.routes.common import (
    READ_PROBLEMS,
    After,
    AwardCodeFilter,
    Count,
    Cursor,
    LevelFilter,
    MovementFilter,
    Offset,
    Search,
    StatusFilter,
    UnitFilter,
    ViewLimit,
    api_router,
    invalid_cursor,
    own_unit_only,
    problems,
    today_of,
    view_reads,
    wait_for_views,
)
from api.security import Caller, ServicesDep, require_not_submitter
from application.accounts import Principal
from application.policy import authorize
from domain.dossier import Status
from domain.rulebook import Level
from infrastructure.bootstrap import Services
from infrastructure.views.reads import AWARD_SORTS, AwardFilter, InvalidCursor, StatisticsRows

router = api_router("/api/v1", "Sổ khen thưởng, lấy ý kiến, thống kê (views)")

REGISTER = ("register",)
CONSULTATION = ("consultation",)
STATISTICS = ("statistics", "movements")
DUE_SOON_WORKING_DAYS = 5


def _label(status: str) -> str:
    try:
        return Status(status).label
    except ValueError:
        return status


# --- the register of awards -------------------------------------------------------------------

RegisterSort = Literal["-recorded_on", "recorded_on"]
RegisterSortParam = Annotated[
    RegisterSort,
    Query(description="Sắp xếp theo ngày ghi sổ: -recorded_on (mặc định, mới nhất trước)"),
]


async def register_filter(  # no I/O: run on the event loop
    status: StatusFilter = None,
    award_code: AwardCodeFilter = None,
    level: LevelFilter = None,
    unit: UnitFilter = None,
    movement_id: MovementFilter = None,
    decided_from: Annotated[
        IsoDate | None,
        Query(description="Ghi sổ từ ngày (ngày của văn bản mới nhất: quyết định, tờ trình…)"),
    ] = None,
    decided_to: Annotated[IsoDate | None, Query(description="Ghi sổ đến ngày (tính cả)")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Tìm theo từ (không dấu cũng được) trong tên, đơn vị, số quyết định",
        ),
        QUERY_TEXT,
    ] = None,
) -> AwardFilter:
    return AwardFilter(
        statuses=tuple(s.value for s in status or ()),
        award_code=award_code,
        level=level.value if isinstance(level, Level) else None,
        unit=unit,
        movement_id=movement_id,
        recorded_from=decided_from,
        recorded_to=decided_to,
        q=q,
    )


RegisterFilter = Annotated[AwardFilter, Depends(register_filter)]


def award_entry(row: dict[str, Any]) -> AwardEntryOut:
    return AwardEntryOut(
        id=row["id"],
        version=row["version"],
        status=row["status"],
        status_label=_label(row["status"]),
        award_code=row["award_code"],
        award_name=row["award_name"],
        level=row["level"],
        submitting_unit=row["submitting_unit"],
        movement_id=row["movement_id"],
        nominee_name=row["nominee_name"],
        nominee_kind=row["nominee_kind"],
        nominee_position=row["nominee_position"],
        decision_number=row["decision_number"],
        decision_date=row["decision_date"],
        submission_number=row["submission_number"],
        submission_date=row["submission_date"],
        central_decision_number=row["central_decision_number"],
        central_decision_date=row["central_decision_date"],
        revocation_number=row["revocation_number"],
        revocation_date=row["revocation_date"],
        recorded_on=row["recorded_on"],
    )


@router.get("/awards", response_model=AwardPage, responses=problems(*READ_PROBLEMS))
def list_awards(
    caller: Caller,
    services: ServicesDep,
    found: RegisterFilter,
    sort: RegisterSortParam = "-recorded_on",
    cursor: Cursor = None,
    limit: ViewLimit = 50,
    count: Count = False,
    after: After = None,
) -> AwardPage:
    """Sổ khen thưởng: awards decided, submitted upward, conferred from above or revoked.

    Every staff role; a submitter reads only its own unit's entries."""
    authorize(caller.actor, "dossier.read")
    found = own_unit_only(caller, found)
    wait_for_views(services, after, REGISTER)
    reads = view_reads(services)
    position = reads.position(REGISTER)
    try:
        page = reads.awards(found, sort=AWARD_SORTS[sort], cursor=cursor, limit=limit, count=count)
    except InvalidCursor as error:
        raise invalid_cursor(error) from None
    return AwardPage(
        items=[award_entry(row) for row in page.rows],
        next_cursor=page.next_cursor,
        limit=limit,
        total=page.total,
        position=position,
    )


def _register_export(
    caller: Principal, services: Services, found: AwardFilter, sort: str, after: int | None
) -> tuple[Iterator[dict[str, Any]], str]:
    authorize(caller.actor, "dossier.read")
    found = own_unit_only(caller, found)
    wait_for_views(services, after, (*REGISTER, "movements"))
    return view_reads(services).all_awards(found, sort=AWARD_SORTS[sort]), (
        f"so-khen-thuong-{today_of(services).isoformat()}"
    )


@router.get(
    "/awards/export.csv",
    response_class=StreamingResponse,
    response_model=None,
    responses={**export_responses("csv"), **problems(*READ_PROBLEMS)},
)
def export_awards_csv(
    caller: Caller,
    services: ServicesDep,
    found: RegisterFilter,
    sort: RegisterSortParam = "-recorded_on",
    after: After = None,
) -> StreamingResponse:
    """The register entries the filters match, as CSV (UTF-8 with BOM), streamed."""
    rows, name = _register_export(caller, services, found, sort, after)
    plans = view_reads(services).movement_plans()
    return csv_response(rows, award_columns(plans), f"{name}.csv")


@router.get(
    "/awards/export.xlsx",
    response_class=StreamingResponse,
    response_model=None,
    responses={**export_responses("xlsx"), **problems(*READ_PROBLEMS)},
)
def export_awards_xlsx(
    caller: Caller,
    services: ServicesDep,
    found: RegisterFilter,
    sort: RegisterSortParam = "-recorded_on",
    after: After = None,
) -> StreamingResponse:
    """The register entries the filters match, as an Excel workbook."""
    rows, name = _register_export(caller, services, found, sort, after)
    plans = view_reads(services).movement_plans()
    return xlsx_response(rows, award_columns(plans), f"{name}.xlsx", "Sổ khen thưởng")


# --- public consultations -----------------------------------------------------------------------


def consultation_out(row: dict[str, Any], today: Any) -> ConsultationOut:
    return ConsultationOut(
        id=row["id"],
        version=row["version"],
        status=row["status"],
        status_label=_label(row["status"]),
        award_code=row["award_code"],
        award_name=row["award_name"],
        level=row["level"],
        submitting_unit=row["submitting_unit"],
        movement_id=row["movement_id"],
        nominee_name=row["nominee_name"],
        nominee_kind=row["nominee_kind"],
        nominee_position=row["nominee_position"],
        opened_on=row["opened_on"],
        closes_on=row["closes_on"],
        closed_on=row["closed_on"],
        open_for_comment=row["status"] == Status.PUBLIC_COMMENT.value and today <= row["closes_on"],
        comments_received=row["comments_received"],
        comments_published=row["comments_published"],
        comments_withheld=row["comments_withheld"],
    )


@router.get("/consultations", response_model=ConsultationPage, responses=problems(*READ_PROBLEMS))
def list_consultations(
    caller: Caller,
    services: ServicesDep,
    closed_within_days: Annotated[
        int,
        Query(
            ge=0,
            le=3650,
            description="Cũng liệt kê các đợt đã kết thúc trong bấy nhiêu ngày gần đây (0–3650)",
        ),
    ] = 30,
    q: Search = None,
    limit: ViewLimit = 50,
    offset: Offset = 0,
    after: After = None,
) -> ConsultationPage:
    """State-level nominations published for the people's comments: every one still open, and
    those closed within the last ``closed_within_days`` days; the latest closing day first.

    Every staff role but submitter."""
    authorize(caller.actor, "dossier.read")
    require_not_submitter(caller, "xem danh sách lấy ý kiến Nhân dân")
    wait_for_views(services, after, CONSULTATION)
    reads = view_reads(services)
    position = reads.position(CONSULTATION)
    today = today_of(services)
    rows, total = reads.consultations(
        today=today, closed_within_days=closed_within_days, q=q, limit=limit, offset=offset
    )
    return ConsultationPage(
        items=[consultation_out(row, today) for row in rows],
        total=total,
        limit=limit,
        offset=offset,
        closed_within_days=closed_within_days,
        position=position,
    )


# --- statistics ---------------------------------------------------------------------------------


def _award_names(services: Services) -> dict[str, str]:
    names: dict[str, str] = {}
    for book in services.rulebooks.editions:  # the latest edition's name wins
        names.update({code: rule.name for code, rule in book.awards.items()})
    return names


LEVEL_LABELS = {Level.PROVINCIAL.value: "Cấp tỉnh", Level.STATE.value: "Cấp Nhà nước"}


def _groups(
    found: dict[str, dict[str, int]], labels: dict[str, str] | None = None
) -> list[GroupCountOut]:
    groups = [
        GroupCountOut(
            key=key,
            label=(labels or {}).get(key),
            total=sum(by_status.values()),
            by_status=dict(sorted(by_status.items())),
        )
        for key, by_status in found.items()
    ]
    return sorted(groups, key=lambda g: (-g.total, g.key))


def statistics_out(
    rows: StatisticsRows, services: Services, plans: dict[Any, str], position: int
) -> StatisticsOut:
    today = today_of(services)
    overall = rows.counts.get("all", {}).get("", {})
    by_status = [
        StatusCountOut(status=status.value, status_label=status.label, count=overall[status.value])
        for status in Status
        if overall.get(status.value)
    ]
    return StatisticsOut(
        today=today,
        position=position,
        total=sum(overall.values()),
        by_status=by_status,
        by_award=_groups(rows.counts.get("award", {}), _award_names(services)),
        by_level=_groups(rows.counts.get("level", {}), LEVEL_LABELS),
        by_unit=_groups(rows.counts.get("unit", {})),
        by_movement=_groups(
            rows.counts.get("movement", {}), {str(key): plan for key, plan in plans.items()}
        ),
        clocks=ClocksOut(
            running=rows.running,
            paused=rows.paused,
            overdue=rows.overdue_running + rows.overdue_paused,
            overdue_running=rows.overdue_running,
            overdue_paused=rows.overdue_paused,
            due_soon=rows.due_soon,
            due_soon_until=services.calendar.add_working_days(today, DUE_SOON_WORKING_DAYS),
        ),
        stages=[
            StageDaysOut(
                stage=stage.stage,
                stage_label=_label(stage.stage),
                dossiers=stage.count,
                median_days=stage.median,
                p90_days=stage.p90,
                mean_days=stage.mean,
                longest_days=stage.longest,
            )
            for stage in rows.stages
        ],
    )


@router.get("/statistics", response_model=StatisticsOut, responses=problems(*READ_PROBLEMS))
def statistics(caller: Caller, services: ServicesDep, after: After = None) -> StatisticsOut:
    """Counts by status, overall and per award, level, unit and movement; the appraisal clocks
    (running, paused, overdue, due within five working days); working days spent per stage
    (median, 90th percentile).

    Every staff role but submitter."""
    authorize(caller.actor, "dossier.read")
    require_not_submitter(caller, "xem thống kê")
    wait_for_views(services, after, STATISTICS)
    reads = view_reads(services)
    position = reads.position(STATISTICS)
    today = today_of(services)
    soon = services.calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)
    rows = reads.statistics(today=today, soon=soon)
    return statistics_out(rows, services, reads.movement_plans(), position)
