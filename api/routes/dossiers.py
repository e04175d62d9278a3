"""Dossiers (hồ sơ đề nghị khen thưởng): submit, read, every move of the flow, ballots.

Every move is a POST under /api/v1/dossiers/{id}/…, requires If-Match with the version read,
and answers {id, version, position} with the new version as ETag. The role policy is the
application's (403 when a role may not); an illegal move for the dossier's status is 409.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Response
from starlette.responses import StreamingResponse

from api.errors import etag
from api.export import Column, csv_response, dossier_columns, export_responses, xlsx_response
from api.idempotency import IdempotencyDep, IdempotentReplay, PendingKey, derived_id
from api.models import (
    Appraise,
    Approve,
    BallotOut,
    BallotsOut,
    CastBallot,
    CentralDecision,
    CommentsOut,
    ConcludeCouncilReview,
    DeadlineOut,
    DeclareConflict,
    DocumentIn,
    DossierOut,
    DossierPage,
    DossierSummaryOut,
    Empty,
    Forward,
    HistoryEntryOut,
    HistoryOut,
    Hold,
    IsoDate,
    LiftHold,
    ModerateComment,
    Moment,
    OpenCouncilReview,
    OpenPublicComment,
    PartyOpinion,
    ReceiptOut,
    ReceiveComment,
    ReceivedCommentOut,
    Reject,
    ReturnForSupplement,
    Revoke,
    SubmitDossier,
    Supplement,
    Withdraw,
)
from api.routes.common import (
    COMMAND_PROBLEMS,
    MOVE_PROBLEMS,
    READ_PROBLEMS,
    After,
    AwardCodeFilter,
    Count,
    Cursor,
    DossierId,
    ExpectedVersion,
    LevelFilter,
    MovementFilter,
    Search,
    StatusFilter,
    UnitFilter,
    ViewLimit,
    api_router,
    invalid_cursor,
    own_unit_only,
    problems,
    receipt,
    today_of,
    view_reads,
    wait_for_views,
)
from api.security import Caller, ServicesDep
from application.accounts import Principal
from application.errors import AlreadyExists
from application.policy import authorize
from application.store import Receipt
from domain.calendar import WorkCalendar
from domain.dossier import Status
from domain.rulebook import Subject
from domain.shared import DocumentRef, Role
from domain.values import CommentAnswer, CommentStatus, Nominee, PersonalDetails, PriorTitle
from infrastructure.bootstrap import Services
from infrastructure.views.reads import DOSSIER_SORTS, DossierFilter, InvalidCursor, deadline_for

router = api_router("/api/v1/dossiers", "Hồ sơ (dossiers)")
CommentKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._:-]{1,64}$",
        description="Mã ý kiến, hoặc mã biên nhận (XXXX-XXXX-XXXX, không phân biệt hoa thường)",
    ),
]
MOVE: dict[str, Any] = {"response_model": ReceiptOut, "responses": problems(*MOVE_PROBLEMS)}


def summary_out(row: dict[str, Any], calendar: WorkCalendar, today: date) -> DossierSummaryOut:
    """A listing row, with its deadline as of ``today``."""
    deadline = deadline_for(row, calendar, today)
    return DossierSummaryOut(
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
        modified_at=row["modified_at"],
        status_since=row["status_since"],
        council_meeting_on=row["council_meeting_on"],
        council_members=row["council_members"],
        votes_cast=row["votes_cast"],
        deadline=DeadlineOut(
            due_on=deadline.due_on,
            working_days_left=deadline.working_days_left,
            paused=deadline.paused,
            overdue=deadline.overdue,
        ),
    )


def _documents(items: list[DocumentIn]) -> list[DocumentRef]:
    return [DocumentRef(item.name, item.sha256.lower(), item.size) for item in items]


# --- listing, search and export -----------------------------------------------------------------

LISTING = ("listing",)
DossierSort = Literal[
    "-modified_at",
    "modified_at",
    "-submitted_at",
    "submitted_at",
    "name",
    "-name",
    "due_on",
    "-due_on",
]
SORT_DESCRIPTION = (
    "Sắp xếp: -modified_at (mặc định, mới thay đổi trước), -submitted_at/submitted_at (ngày "
    "trình), name/-name (tên không dấu), due_on/-due_on (hạn thẩm định; hồ sơ không có hạn ở "
    "cuối). Dấu - là giảm dần."
)
SortParam = Annotated[DossierSort, Query(description=SORT_DESCRIPTION)]


async def listing_filter(  # no I/O: run on the event loop
    status: StatusFilter = None,
    award_code: AwardCodeFilter = None,
    level: LevelFilter = None,
    unit: UnitFilter = None,
    movement_id: MovementFilter = None,
    overdue: Annotated[
        bool | None,
        Query(description="Quá hạn thẩm định hôm nay (true) hoặc không (false)"),
    ] = None,
    submitted_from: Annotated[
        IsoDate | None, Query(description="Trình từ ngày (giờ Việt Nam, tính cả ngày này)")
    ] = None,
    submitted_to: Annotated[
        IsoDate | None, Query(description="Trình đến hết ngày (giờ Việt Nam)")
    ] = None,
    q: Search = None,
) -> DossierFilter:
    return DossierFilter(
        statuses=tuple(s.value for s in status or ()),
        award_code=award_code,
        level=level.value if level else None,
        unit=unit,
        movement_id=movement_id,
        overdue=overdue,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        q=q,
    )


ListingFilter = Annotated[DossierFilter, Depends(listing_filter)]


@router.get("", response_model=DossierPage, responses=problems(*READ_PROBLEMS))
def list_dossiers(
    caller: Caller,
    services: ServicesDep,
    found: ListingFilter,
    sort: SortParam = "-modified_at",
    cursor: Cursor = None,
    limit: ViewLimit = 50,
    count: Count = False,
    after: After = None,
) -> DossierPage:
    """Dossiers from the listing view: filters, search, sort, pages by cursor.

    A submitter sees only its own unit's. Every staff role."""
    authorize(caller.actor, "dossier.read")
    wait_for_views(services, after, LISTING)
    reads = view_reads(services)
    position = reads.position(LISTING)
    today = today_of(services)
    try:
        found_page = reads.dossiers(
            own_unit_only(caller, found),
            today=today,
            sort=DOSSIER_SORTS[sort],
            cursor=cursor,
            limit=limit,
            count=count,
        )
    except InvalidCursor as error:
        raise invalid_cursor(error) from None
    return DossierPage(
        items=[summary_out(row, services.calendar, today) for row in found_page.rows],
        next_cursor=found_page.next_cursor,
        limit=limit,
        total=found_page.total,
        position=position,
    )


def _export_rows(
    caller: Principal, services: Services, found: DossierFilter, sort: str, after: int | None
) -> tuple[Iterator[dict[str, Any]], list[Column], str]:
    authorize(caller.actor, "dossier.read")
    wait_for_views(services, after, (*LISTING, "movements"))
    reads = view_reads(services)
    today = today_of(services)
    rows = reads.all_dossiers(own_unit_only(caller, found), today=today, sort=DOSSIER_SORTS[sort])
    columns = dossier_columns(services.calendar, today, reads.movement_plans())
    return rows, columns, f"ho-so-{today.isoformat()}"


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    response_model=None,
    responses={**export_responses("csv"), **problems(*READ_PROBLEMS)},
)
def export_dossiers_csv(
    caller: Caller,
    services: ServicesDep,
    found: ListingFilter,
    sort: SortParam = "-modified_at",
    after: After = None,
) -> StreamingResponse:
    """Every dossier the listing's filters match, as CSV (UTF-8 with BOM), streamed."""
    rows, columns, name = _export_rows(caller, services, found, sort, after)
    return csv_response(rows, columns, f"{name}.csv")


@router.get(
    "/export.xlsx",
    response_class=StreamingResponse,
    response_model=None,
    responses={**export_responses("xlsx"), **problems(*READ_PROBLEMS)},
)
def export_dossiers_xlsx(
    caller: Caller,
    services: ServicesDep,
    found: ListingFilter,
    sort: SortParam = "-modified_at",
    after: After = None,
) -> StreamingResponse:
    """Every dossier the listing's filters match, as an Excel workbook."""
    rows, columns, name = _export_rows(caller, services, found, sort, after)
    return xlsx_response(rows, columns, f"{name}.xlsx", "Hồ sơ")


# --- submission -----------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=ReceiptOut,
    responses=problems(*COMMAND_PROBLEMS),
)
def submit_dossier(
    body: SubmitDossier,
    caller: Caller,
    services: ServicesDep,
    response: Response,
    pending: IdempotencyDep,
) -> ReceiptOut:
    """Trình hồ sơ (submitter). With an Idempotency-Key the new id is derived from it."""
    personal = PersonalDetails(**body.personal.model_dump()) if body.personal else None
    try:
        result = _submit(body, caller, services, personal, pending)
    except AlreadyExists:
        # The same key raced a first request that has now answered: give its answer back.
        answer = pending and services.idempotency.answer_for(
            pending.user_id, pending.key, pending.method, pending.path, pending.body
        )
        if answer:
            raise IdempotentReplay(answer) from None
        raise
    response.headers["Location"] = f"/api/v1/dossiers/{result.id}"
    return receipt(result, response)


def _submit(
    body: SubmitDossier,
    caller: Principal,
    services: Services,
    personal: PersonalDetails | None,
    pending: PendingKey | None,
) -> Receipt:
    return services.dossiers.submit(
        movement_id=body.movement_id,
        award_code=body.award_code,
        submitting_unit=body.submitting_unit or caller.actor.unit or "",
        nominee=Nominee(Subject(body.nominee.kind), body.nominee.name, body.nominee.position),
        personal=personal,
        achievements=body.achievements,
        documents=_documents(body.documents),
        prior_titles=[
            PriorTitle(item.title_code, item.year, item.decision_number, item.kind)
            for item in body.prior_titles
        ],
        by=caller.actor,
        dossier_id=derived_id(pending.user_id, pending.key) if pending else None,
    )


# --- reading ----------------------------------------------------------------------------------


@router.get("/{dossier_id}", response_model=DossierOut, responses=problems(*READ_PROBLEMS))
def get_dossier(
    dossier_id: DossierId,
    caller: Caller,
    services: ServicesDep,
    response: Response,
    version: Annotated[
        int | None, Query(ge=1, le=1_000_000_000, description="Trạng thái tại phiên bản N")
    ] = None,
    at: Annotated[
        Moment | None,
        Query(
            description="Trạng thái tại thời điểm (ISO 8601 có múi giờ, 2026-03-05T09:00:00+07:00)"
        ),
    ] = None,
    after: After = None,
) -> Any:
    """The dossier now, or as it was at a version or a moment; ETag is the version shown.

    Read from the event log itself, so it always includes every write (``after`` is accepted
    for uniformity with the lists and never waits)."""
    state = services.dossiers.state(dossier_id, viewer=caller.actor, version=version, at=at)
    response.headers["ETag"] = etag(int(state["version"]))
    return state


@router.get("/{dossier_id}/history", response_model=HistoryOut, responses=problems(*READ_PROBLEMS))
def get_history(dossier_id: DossierId, caller: Caller, services: ServicesDep) -> HistoryOut:
    """Every event of the dossier, oldest first, with its Vietnamese label and actor."""
    entries = services.dossiers.history(dossier_id, viewer=caller.actor)
    return HistoryOut(
        id=dossier_id,
        items=[
            HistoryEntryOut.model_validate(
                {
                    "version": entry.version,
                    "event": entry.event,
                    "label": entry.label,
                    "at": entry.at,
                    "actor": {
                        "user_id": entry.actor.user_id,
                        "role": entry.actor.role.value,
                        "unit": entry.actor.unit,
                    },
                    "actor_role_label": entry.actor_role_label,
                    "data": entry.data,
                }
            )
            for entry in entries
        ],
    )


@router.get("/{dossier_id}/ballots", response_model=BallotsOut, responses=problems(*READ_PROBLEMS))
def get_ballots(dossier_id: DossierId, caller: Caller, services: ServicesDep) -> BallotsOut:
    """Who has voted; how each voted only once the review concluded (a member sees their own)."""
    dossier = services.dossiers.get(dossier_id, viewer=caller.actor)
    concluded = dossier.council_result is not None
    me = caller.actor.user_id
    ballots = []
    for member in dossier.council_members:
        vote = dossier.ballots.get(member)
        ballots.append(
            BallotOut(
                member=member,
                voted=vote is not None,
                vote=vote if vote is not None and (concluded or member == me) else None,
                conflict_of_interest=member in dossier.conflicts,
            )
        )
    return BallotsOut(
        id=dossier.id,
        status=dossier.status.value,
        concluded=concluded,
        votes_cast=len(dossier.ballots),
        members=len(dossier.council_members),
        ballots=ballots,
    )


# --- the flow ---------------------------------------------------------------------------------


@router.post("/{dossier_id}/return-for-supplement", **MOVE)
def return_for_supplement(
    dossier_id: DossierId,
    body: ReturnForSupplement,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Trả lại để bổ sung (appraiser): the legal clock pauses."""
    result = services.dossiers.return_for_supplement(
        dossier_id, missing=body.missing, note=body.note, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/supplement", **MOVE)
def supplement(
    dossier_id: DossierId,
    body: Supplement,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Bổ sung hồ sơ (submitter of the unit): the dossier resumes where it was."""
    result = services.dossiers.supplement(
        dossier_id,
        documents=_documents(body.documents),
        note=body.note,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/public-comment/open", **MOVE)
def open_public_comment(
    dossier_id: DossierId,
    body: OpenPublicComment,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Công khai lấy ý kiến Nhân dân (appraiser), until closes_on."""
    result = services.dossiers.open_public_comment(
        dossier_id, closes_on=body.closes_on, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/comments", **MOVE)
def receive_comment(
    dossier_id: DossierId,
    body: ReceiveComment,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Ghi nhận ý kiến Nhân dân nhận qua đường bưu điện (appraiser), while the window is open."""
    result = services.dossiers.receive_comment(
        dossier_id,
        kind=body.kind,
        text=body.text,
        author_name=body.author_name,
        contact=body.contact,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.get(
    "/{dossier_id}/comments", response_model=CommentsOut, responses=problems(*READ_PROBLEMS)
)
def list_comments(
    dossier_id: DossierId, caller: Caller, services: ServicesDep, response: Response
) -> CommentsOut:
    """Every comment received, in order, with its moderation and answer (appraiser, auditor).

    The commenter's contact is shown to the appraiser only. ETag is the dossier's version, the
    If-Match for a moderation."""
    found = services.dossiers.comments(dossier_id, viewer=caller.actor)
    response.headers["ETag"] = etag(found.version)
    items = [ReceivedCommentOut.model_validate(entry) for entry in found.comments]
    return CommentsOut(
        id=found.dossier_id,
        version=found.version,
        received=len(items),
        published=sum(1 for item in items if item.status is CommentStatus.PUBLISHED),
        withheld=sum(1 for item in items if item.status is CommentStatus.WITHHELD),
        items=items,
    )


@router.post("/{dossier_id}/comments/{comment_id}/moderation", **MOVE)
def moderate_comment(
    dossier_id: DossierId,
    comment_id: CommentKey,
    body: ModerateComment,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Kiểm duyệt ý kiến (appraiser): publish it, or withhold it with a reason; a later decision
    replaces the earlier one and both stay in the history. Unknown comment → 404."""
    result = services.dossiers.moderate_comment(
        dossier_id,
        comment_id,
        decision=CommentStatus(body.decision),
        reason=body.reason,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/public-comment/close", **MOVE)
def close_public_comment(
    dossier_id: DossierId,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
    body: Empty | None = None,
) -> ReceiptOut:
    """Kết thúc lấy ý kiến (appraiser), after the window's last day; body {} or none."""
    result = services.dossiers.close_public_comment(
        dossier_id, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/hold", **MOVE)
def hold(
    dossier_id: DossierId,
    body: Hold,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Tạm dừng xét khen thưởng (appraiser or chairman) while a case is verified."""
    result = services.dossiers.hold(
        dossier_id, kind=body.kind, reason=body.reason, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/hold/lift", **MOVE)
def lift_hold(
    dossier_id: DossierId,
    body: LiftHold,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Tiếp tục xét (appraiser or chairman): the dossier resumes where it was held."""
    result = services.dossiers.lift_hold(
        dossier_id, outcome=body.outcome, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/appraisal", **MOVE)
def appraise(
    dossier_id: DossierId,
    body: Appraise,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Thẩm định (appraiser), answering every comment received."""
    answers = {
        key: CommentAnswer(answer.disposition, answer.reason)
        for key, answer in body.answers.items()
    }
    result = services.dossiers.appraise(
        dossier_id,
        qualified=body.qualified,
        opinion=body.opinion,
        answers=answers,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/council-review", **MOVE)
def open_council_review(
    dossier_id: DossierId,
    body: OpenCouncilReview,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Đưa ra Hội đồng (council secretary); members default to every council_member account."""
    members = (
        list(body.members)
        if body.members is not None
        else services.accounts.members_with_role(Role.COUNCIL_MEMBER)
    )
    result = services.dossiers.open_council_review(
        dossier_id,
        members=members,
        meeting_on=body.meeting_on,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/conflicts-of-interest", **MOVE)
def declare_conflict_of_interest(
    dossier_id: DossierId,
    body: DeclareConflict,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Khai báo xung đột lợi ích (a council member of the review): they cannot vote then."""
    result = services.dossiers.declare_conflict_of_interest(
        dossier_id, reason=body.reason, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/ballots", **MOVE)
def cast_ballot(
    dossier_id: DossierId,
    body: CastBallot,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Bỏ phiếu (a council member of the review casts their own, once)."""
    result = services.dossiers.cast_ballot(
        dossier_id, vote=body.vote, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/council-review/conclusion", **MOVE)
def conclude_council_review(
    dossier_id: DossierId,
    body: ConcludeCouncilReview,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Kết luận phiên xét (council secretary) against quorum and threshold of all members."""
    result = services.dossiers.conclude_council_review(
        dossier_id, present=body.present, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/party-opinion", **MOVE)
def record_party_opinion(
    dossier_id: DossierId,
    body: PartyOpinion,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Ghi nhận ý kiến Ban Thường vụ Tỉnh ủy (appraiser)."""
    result = services.dossiers.record_party_opinion(
        dossier_id,
        document_number=body.document_number,
        document_date=body.document_date,
        favourable=body.favourable,
        summary=body.summary,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/approval", **MOVE)
def approve(
    dossier_id: DossierId,
    body: Approve,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Quyết định khen thưởng (chairman) by a numbered decision (số/QĐ-UBND)."""
    result = services.dossiers.approve(
        dossier_id,
        decision_number=body.decision_number,
        decision_date=body.decision_date,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/rejection", **MOVE)
def reject(
    dossier_id: DossierId,
    body: Reject,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Không khen thưởng (chairman), by a numbered written notice."""
    result = services.dossiers.reject(
        dossier_id,
        reason=body.reason,
        notice_number=body.notice_number,
        notice_date=body.notice_date,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/forwarding", **MOVE)
def forward_upward(
    dossier_id: DossierId,
    body: Forward,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Trình cấp trên (chairman) a state-level nomination, by a submission (số/TTr-UBND)."""
    result = services.dossiers.forward_upward(
        dossier_id,
        submission_number=body.submission_number,
        submission_date=body.submission_date,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/central-decision", **MOVE)
def record_central_decision(
    dossier_id: DossierId,
    body: CentralDecision,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Ghi nhận quyết định của cấp trên (appraiser or chairman)."""
    result = services.dossiers.record_central_decision(
        dossier_id,
        outcome=body.outcome,
        decision_number=body.decision_number,
        decision_date=body.decision_date,
        note=body.note,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)


@router.post("/{dossier_id}/withdrawal", **MOVE)
def withdraw(
    dossier_id: DossierId,
    body: Withdraw,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Rút hồ sơ (submitter of the unit), until it is decided, unless it is held."""
    result = services.dossiers.withdraw(
        dossier_id, reason=body.reason, by=caller.actor, expected_version=version
    )
    return receipt(result, response)


@router.post("/{dossier_id}/revocation", **MOVE)
def revoke(
    dossier_id: DossierId,
    body: Revoke,
    caller: Caller,
    version: ExpectedVersion,
    services: ServicesDep,
    response: Response,
) -> ReceiptOut:
    """Hủy bỏ quyết định khen thưởng (chairman; appraiser records a central revocation)."""
    result = services.dossiers.revoke(
        dossier_id,
        grounds=body.grounds,
        explanation=body.explanation,
        decision_number=body.decision_number,
        decision_date=body.decision_date,
        by=caller.actor,
        expected_version=version,
    )
    return receipt(result, response)
