"""Request and response models of the staff API (pydantic v2).

Requests are strict: unknown fields are refused, every string and list is bounded, text is
normalised to Unicode NFC (``domain.shared.nfc``) and may not hold control characters, dates are
``YYYY-MM-DD`` between 1900 and 2100, booleans and integers are not coerced from strings.
Field names are the domain's. Responses are typed too, so the OpenAPI schema says exactly what
comes back; the application decides what is private and redacts it (``[ẩn]``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
)

from domain.shared import MAX_DOCUMENT_BYTES, nfc
from domain.values import (
    MAX_MODERATION_REASON,
    CentralOutcome,
    CommentKind,
    CommentStatus,
    Disposition,
    Grounds,
    HoldKind,
    TitleKind,
    Vote,
)

# --- building blocks --------------------------------------------------------------------------

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
EARLIEST = date(1900, 1, 1)
LATEST = date(2100, 12, 31)


def _text(value: str) -> str:
    text = nfc(value).replace("\r\n", "\n")
    if _FORBIDDEN.search(text):
        raise ValueError("chứa ký tự điều khiển hoặc ký tự không hợp lệ")
    return text


def _required_text(value: str) -> str:
    text = _text(value)
    if not text:
        raise ValueError("không được để trống")
    return text


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError("không phải ngày có thật (YYYY-MM-DD)") from None
    else:
        raise ValueError("phải là ngày dạng YYYY-MM-DD")
    if not EARLIEST <= day <= LATEST:
        raise ValueError("phải trong khoảng 1900-01-01 đến 2100-12-31")
    return day


def _bounded_moment(value: datetime) -> datetime:
    if not EARLIEST <= value.date() <= LATEST:
        raise ValueError("phải trong khoảng năm 1900 đến 2100")
    return value


def _query_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


QUERY_TEXT = AfterValidator(_query_text)
"""An optional query parameter's text: NFC, no control characters (PostgreSQL refuses NUL)."""
REQUIRED = AfterValidator(_required_text)
"""A required text field: NFC, no control characters, not blank."""
OPTIONAL = AfterValidator(_text)
"""A text field that may be empty: NFC, no control characters."""


IsoDate = Annotated[
    date,
    BeforeValidator(_iso_date),
    Field(description="Ngày dạng YYYY-MM-DD (1900–2100)"),
]
Moment = Annotated[AwareDatetime, AfterValidator(_bounded_moment)]

Line40 = Annotated[str, Field(min_length=1, max_length=40), REQUIRED]
Line60 = Annotated[str, Field(min_length=1, max_length=60), REQUIRED]
Line100 = Annotated[str, Field(min_length=1, max_length=100), REQUIRED]
Line200 = Annotated[str, Field(min_length=1, max_length=200), REQUIRED]
Line255 = Annotated[str, Field(min_length=1, max_length=255), REQUIRED]
Line300 = Annotated[str, Field(min_length=1, max_length=300), REQUIRED]
Line500 = Annotated[str, Field(min_length=1, max_length=500), REQUIRED]
Text2000 = Annotated[str, Field(min_length=1, max_length=2000), REQUIRED]
Text4000 = Annotated[str, Field(min_length=1, max_length=4000), REQUIRED]
Text5000 = Annotated[str, Field(min_length=1, max_length=5000), REQUIRED]
Text20000 = Annotated[str, Field(min_length=1, max_length=20000), REQUIRED]
Note4000 = Annotated[str, Field(max_length=4000), OPTIONAL]


def _matching(pattern: str, example: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        text = _required_text(value)
        if not compiled.fullmatch(text):
            raise ValueError(f"không đúng thể thức, ví dụ {example}")
        return text

    return AfterValidator(check)


_DOC = r"[1-9][0-9]{0,5}"
DECISION_SUFFIXES = r"QĐ-(?:UBND|TTg|CTN)"
PLAN_PATTERN = r"^[1-9][0-9]{0,5}/[A-Za-zĐđ]{1,10}(?:-[A-Za-zĐđ0-9]{1,10}){0,4}$"
GENERAL_NUMBER = r"^[0-9][0-9A-Za-zĐđ./-]{0,39}$"

PlanNumber = Annotated[
    str,
    Field(min_length=3, max_length=40, json_schema_extra={"pattern": PLAN_PATTERN}),
    _matching(PLAN_PATTERN, "461/KH-UBND"),
]
ProvincialDecisionNumber = Annotated[
    str,
    Field(max_length=40, json_schema_extra={"pattern": f"^{_DOC}/QĐ-UBND$"}),
    _matching(f"^{_DOC}/QĐ-UBND$", "123/QĐ-UBND"),
]
SubmissionNumber = Annotated[
    str,
    Field(max_length=40, json_schema_extra={"pattern": f"^{_DOC}/TTr-UBND$"}),
    _matching(f"^{_DOC}/TTr-UBND$", "45/TTr-UBND"),
]
DecisionNumber = Annotated[
    str,
    Field(
        max_length=40,
        json_schema_extra={"pattern": f"^{_DOC}/{DECISION_SUFFIXES}$"},
        description="Số quyết định của người có thẩm quyền: …/QĐ-UBND, …/QĐ-TTg hoặc …/QĐ-CTN",
    ),
    _matching(f"^{_DOC}/{DECISION_SUFFIXES}$", "1520/QĐ-TTg"),
]
DocumentNumber = Annotated[
    str,
    Field(
        max_length=40,
        json_schema_extra={"pattern": GENERAL_NUMBER},
        description="Số văn bản, ví dụ 215-CV/TU, 12/TB-UBND (không dấu cách)",
    ),
    _matching(GENERAL_NUMBER, "12/TB-UBND"),
]
AccountName = Annotated[
    str,
    Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$",
        description="Tên đăng nhập: chữ thường không dấu, chữ số, dấu chấm, gạch ngang, gạch dưới",
    ),
]
MemberName = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]{1,100}$"),
]
AwardCode = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_]{1,60}$")]
CommentId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
TokenId = Annotated[str, Field(min_length=8, max_length=32, pattern=r"^[0-9a-f]{8,32}$")]

StaffRole = Literal[
    "submitter",
    "appraiser",
    "council_secretary",
    "council_member",
    "chairman",
    "auditor",
    "admin",
]
NomineeKind = Literal["individual", "collective"]


class Strict(BaseModel):
    """Base of request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", str_max_length=20_000)


class Out(BaseModel):
    """Base of responses."""

    model_config = ConfigDict(from_attributes=True)


# --- requests: movements ----------------------------------------------------------------------


class LaunchMovement(Strict):
    plan_number: PlanNumber
    title: Line500
    issuing_body: Line300
    issued_on: IsoDate
    starts_on: IsoDate
    ends_on: IsoDate


class AmendMovement(Strict):
    title: Line500 | None = None
    issuing_body: Line300 | None = None
    starts_on: IsoDate | None = None
    ends_on: IsoDate | None = None
    reason: Text2000


class Reason2000(Strict):
    reason: Text2000


# --- requests: dossiers -----------------------------------------------------------------------


class NomineeIn(Strict):
    kind: NomineeKind
    name: Line200
    position: Line300


class PersonalIn(Strict):
    identity_number: (
        Annotated[str, Field(pattern=r"^[0-9]{12}$", min_length=12, max_length=12)] | None
    ) = None
    date_of_birth: IsoDate | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 .-]{8,20}$", max_length=21)] | None = None
    email: (
        Annotated[str, Field(min_length=6, max_length=320, pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}$")]
        | None
    ) = None
    address: Line500 | None = None


class DocumentIn(Strict):
    name: Line255
    sha256: Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$", min_length=64, max_length=64)]
    size: Annotated[StrictInt, Field(ge=1, le=MAX_DOCUMENT_BYTES)]


class PriorTitleIn(Strict):
    title_code: AwardCode
    year: Annotated[StrictInt, Field(ge=1945, le=2100)]
    decision_number: Line60
    kind: TitleKind = TitleKind.REGULAR


class SubmitDossier(Strict):
    movement_id: UUID
    award_code: AwardCode
    submitting_unit: Line300 | None = Field(
        default=None, description="Mặc định: đơn vị của tài khoản trình; nếu ghi phải trùng"
    )
    nominee: NomineeIn
    personal: PersonalIn | None = Field(
        default=None, description="Bắt buộc (có số định danh) với cá nhân; bỏ trống với tập thể"
    )
    achievements: Text20000
    documents: Annotated[list[DocumentIn], Field(min_length=1, max_length=100)]
    prior_titles: Annotated[list[PriorTitleIn], Field(max_length=100)] = []


class ReturnForSupplement(Strict):
    missing: Annotated[list[Line500], Field(min_length=1, max_length=50)]
    note: Note4000 = ""


class Supplement(Strict):
    documents: Annotated[list[DocumentIn], Field(max_length=100)] = []
    note: Note4000 = ""


class OpenPublicComment(Strict):
    closes_on: IsoDate


class ReceiveComment(Strict):
    kind: CommentKind
    text: Text5000
    author_name: Line200 | None = None
    contact: Line200 | None = None


class ModerateComment(Strict):
    decision: Literal["published", "withheld"] = Field(
        description="published: công bố trên trang công khai; withheld: không công bố (cần lý do)"
    )
    reason: Annotated[str, Field(max_length=MAX_MODERATION_REASON), OPTIONAL] = Field(
        default="", description="Lý do; bắt buộc khi không công bố"
    )


class Empty(Strict):
    pass


class Hold(Strict):
    kind: HoldKind
    reason: Text4000


class LiftHold(Strict):
    outcome: Text4000


class CommentAnswerIn(Strict):
    disposition: Disposition
    reason: Text4000


class Appraise(Strict):
    qualified: StrictBool
    opinion: Text20000
    answers: Annotated[dict[CommentId, CommentAnswerIn], Field(max_length=10_000)] = {}


class OpenCouncilReview(Strict):
    members: Annotated[list[MemberName], Field(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="Mặc định: mọi tài khoản đang hoạt động có vai trò council_member",
    )
    meeting_on: IsoDate


class DeclareConflict(Strict):
    reason: Text2000


class CastBallot(Strict):
    vote: Vote


class ConcludeCouncilReview(Strict):
    present: Annotated[list[MemberName], Field(max_length=200)]


class PartyOpinion(Strict):
    document_number: DocumentNumber
    document_date: IsoDate
    favourable: StrictBool
    summary: Text4000


class Approve(Strict):
    decision_number: ProvincialDecisionNumber
    decision_date: IsoDate


class Reject(Strict):
    reason: Text4000
    notice_number: DocumentNumber
    notice_date: IsoDate


class Forward(Strict):
    submission_number: SubmissionNumber
    submission_date: IsoDate


class CentralDecision(Strict):
    outcome: CentralOutcome
    decision_number: DecisionNumber
    decision_date: IsoDate
    note: Note4000 = ""


class Withdraw(Strict):
    reason: Text4000


class Revoke(Strict):
    grounds: Grounds
    explanation: Text4000
    decision_number: DecisionNumber
    decision_date: IsoDate


# --- requests: users --------------------------------------------------------------------------


class CreateUser(Strict):
    name: AccountName
    display_name: Line200
    roles: Annotated[list[StaffRole], Field(max_length=7)]
    unit: Line300 | None = Field(default=None, description="Bắt buộc với vai trò submitter")


class GrantRole(Strict):
    role: StaffRole


class DisableUser(Strict):
    reason: Text2000


# --- responses --------------------------------------------------------------------------------


class ReceiptOut(Out):
    """What a command reached: the aggregate, its new version (the new ETag) and log position."""

    id: UUID
    version: int
    position: int


class Health(Out):
    status: Literal["ok"]


class MovementOut(Out):
    id: UUID
    version: int
    plan_number: str
    title: str
    issuing_body: str
    issued_on: date
    starts_on: date
    ends_on: date
    closed: bool
    closing_reason: str | None = None


class PrerequisiteOut(Out):
    title_code: str
    title_name: str
    consecutive_times: int
    term_years: int


class AwardOut(Out):
    code: str
    name: str
    subject: str
    level: str
    decider: str
    public_comment: bool
    comment_days: int
    council_required: bool
    quorum: str
    threshold: str
    appraisal_days: int
    party_opinion: bool
    prerequisite: PrerequisiteOut | None


class NomineeOut(Out):
    kind: str
    name: str
    position: str


class PersonalOut(Out):
    identity_number: str | None
    date_of_birth: date | None
    phone: str | None
    email: str | None
    address: str | None


class DocumentOut(Out):
    name: str
    sha256: str
    size: int


class PriorTitleOut(Out):
    title_code: str
    year: int
    decision_number: str
    kind: str


class CommentAnswerOut(Out):
    disposition: str
    reason: str


class CommentOut(Out):
    comment_id: str
    kind: str
    text: str
    author_name: str | None
    contact: str | None = Field(description="«[ẩn]» với vai trò không được xem thông tin cá nhân")
    received_on: date
    status: CommentStatus = Field(
        description="received (chờ kiểm duyệt), published (đã công bố), withheld (không công bố)"
    )
    moderation_reason: str | None = Field(description="Lý do của quyết định kiểm duyệt gần nhất")
    moderated_on: date | None
    answer: CommentAnswerOut | None


class ReceivedCommentOut(CommentOut):
    receipt_code: str | None = Field(
        description="Mã biên nhận dạng XXXX-XXXX-XXXX (ý kiến gửi qua trang công khai)"
    )
    contact: str | None = Field(description="Chỉ chuyên viên thẩm định thấy; vai trò khác: «[ẩn]»")


class CommentsOut(Out):
    """Every comment a dossier received, in order; ETag is the dossier's version."""

    id: UUID
    version: int
    received: int
    published: int
    withheld: int
    items: list[ReceivedCommentOut]


class PublicCommentOut(Out):
    opened_on: date | None
    closes_on: date | None
    closed_on: date | None
    comments: list[CommentOut]


class AppraisalOut(Out):
    qualified: bool
    opinion: str | None
    on: date | None


class CouncilResultOut(Out):
    members: int
    present: int
    votes_for: int
    votes_against: int
    abstentions: int
    conflicted: int
    quorum_required: int
    votes_required: int
    passed: bool


class CouncilOut(Out):
    members: list[str]
    meeting_on: date | None
    ballots: dict[str, str] = Field(
        description="Thành viên → «cast» (phiếu kín) trước khi kết luận; yes/no/abstain sau đó"
    )
    votes_cast: int
    yes_so_far: int | None
    conflicts: dict[str, str]
    result: CouncilResultOut | None


class DecisionOut(Out):
    number: str | None
    date: date | None
    decided_by: str | None
    ended_reason: str | None


class UpwardOut(Out):
    submission_number: str | None
    submission_date: date | None
    outcome: str | None
    decision_number: str | None
    decision_date: date | None


class RevocationOut(Out):
    decision_number: str
    grounds: str | None


class DeadlineOut(Out):
    due_on: date | None
    working_days_left: int | None
    paused: bool
    overdue: bool


class DossierOut(Out):
    """The dossier as it is (or was at a version or moment), as application.views shows it."""

    id: UUID
    version: int
    status: str
    status_label: str
    submitted_at: datetime
    modified_at: datetime
    movement_id: UUID
    rulebook_edition: str
    award: AwardOut
    submitting_unit: str
    nominee: NomineeOut
    personal: PersonalOut | Literal["[ẩn]"] | None = Field(
        description="«[ẩn]» với vai trò không được xem thông tin cá nhân"
    )
    achievements: str
    documents: list[DocumentOut]
    prior_titles: list[PriorTitleOut]
    missing: list[str]
    held_from: str | None
    hold_kind: str | None
    returned_from: str | None
    public_comment: PublicCommentOut
    appraisal: AppraisalOut | None
    council: CouncilOut
    party_opinion_favourable: bool | None
    decision: DecisionOut
    upward: UpwardOut
    revocation: RevocationOut | None
    deadline: DeadlineOut


class ActorOut(Out):
    user_id: str
    role: str
    unit: str | None


class HistoryEntryOut(Out):
    version: int
    event: str
    label: str
    at: datetime
    actor: ActorOut
    actor_role_label: str
    data: dict[str, Any]


class HistoryOut(Out):
    id: UUID
    items: list[HistoryEntryOut]


class DossierSummaryOut(Out):
    """One row of the dossier listing (``view_dossiers``); the deadline is worked out on the
    day of the request."""

    id: UUID
    version: int
    status: str
    status_label: str
    award_code: str
    award_name: str
    level: str
    submitting_unit: str
    movement_id: UUID
    nominee_name: str
    nominee_kind: str
    nominee_position: str
    submitted_at: datetime
    modified_at: datetime
    status_since: datetime
    council_meeting_on: date | None
    council_members: int
    votes_cast: int
    deadline: DeadlineOut


class Page(Out):
    total: int
    limit: int
    offset: int


POSITION_DESCRIPTION = (
    "Vị trí trong nhật ký sự kiện mà danh sách đã phản ánh (ít nhất); so với position của "
    "lệnh vừa ghi, hoặc gửi lại bằng ?after="
)
NEXT_CURSOR_DESCRIPTION = "Gửi lại bằng ?cursor= để đọc trang tiếp; null ở trang cuối"
TOTAL_DESCRIPTION = "Số mục khớp bộ lọc: chỉ khi ?count=true, nếu không là null"


class DossierPage(Out):
    """A page of the dossier listing, paged by cursor."""

    items: list[DossierSummaryOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DESCRIPTION)
    limit: int
    total: int | None = Field(description=TOTAL_DESCRIPTION)
    position: int = Field(description=POSITION_DESCRIPTION)


class MovementPage(Page):
    items: list[MovementOut]
    position: int = Field(description=POSITION_DESCRIPTION)


class AgendaItemOut(Out):
    """A dossier before the council (``view_agenda``): ballots are only counted."""

    id: UUID
    version: int
    status: str
    status_label: str
    award_code: str
    award_name: str
    level: str
    submitting_unit: str
    movement_id: UUID
    nominee_name: str
    nominee_kind: str
    nominee_position: str
    submitted_at: datetime
    appraised_on: date | None
    waiting_since: datetime
    council_meeting_on: date | None
    council_members: int
    conflicts: int
    votes_cast: int
    quorum: str
    threshold: str
    quorum_required: int | None
    votes_required: int | None


class AgendaPage(Page):
    items: list[AgendaItemOut]
    position: int = Field(description=POSITION_DESCRIPTION)


class AwardEntryOut(Out):
    """An entry of the register of awards (``view_awards``)."""

    id: UUID
    version: int
    status: str
    status_label: str
    award_code: str
    award_name: str
    level: str
    submitting_unit: str
    movement_id: UUID
    nominee_name: str
    nominee_kind: str
    nominee_position: str
    decision_number: str | None
    decision_date: date | None
    submission_number: str | None
    submission_date: date | None
    central_decision_number: str | None
    central_decision_date: date | None
    revocation_number: str | None
    revocation_date: date | None
    recorded_on: date = Field(
        description="Ngày của văn bản mới nhất: hủy bỏ, quyết định cấp trên, quyết định, tờ trình"
    )


class AwardPage(Out):
    items: list[AwardEntryOut]
    next_cursor: str | None = Field(description=NEXT_CURSOR_DESCRIPTION)
    limit: int
    total: int | None = Field(description=TOTAL_DESCRIPTION)
    position: int = Field(description=POSITION_DESCRIPTION)


class ConsultationOut(Out):
    """A nomination published for the people's comments (``view_consultation``)."""

    id: UUID
    version: int
    status: str
    status_label: str
    award_code: str
    award_name: str
    level: str
    submitting_unit: str
    movement_id: UUID
    nominee_name: str
    nominee_kind: str
    nominee_position: str
    opened_on: date
    closes_on: date
    closed_on: date | None
    open_for_comment: bool = Field(description="Còn nhận ý kiến hôm nay")
    comments_received: int
    comments_published: int
    comments_withheld: int


class ConsultationPage(Page):
    items: list[ConsultationOut]
    closed_within_days: int
    position: int = Field(description=POSITION_DESCRIPTION)


class StatusCountOut(Out):
    status: str
    status_label: str
    count: int


class GroupCountOut(Out):
    key: str
    label: str | None
    total: int
    by_status: dict[str, int]


class ClocksOut(Out):
    running: int = Field(description="Hồ sơ đang tính thời hạn thẩm định")
    paused: int = Field(description="Hồ sơ đang tạm dừng tính thời hạn (trả lại, tạm dừng xét)")
    overdue: int = Field(
        description="Quá hạn: đang tính và đã qua hạn, cộng tạm dừng khi đã quá hạn"
    )
    overdue_running: int
    overdue_paused: int
    due_soon: int = Field(description="Đang tính, đến hạn từ hôm nay đến due_soon_until")
    due_soon_until: date


class StageDaysOut(Out):
    stage: str
    stage_label: str
    dossiers: int = Field(description="Số lần hồ sơ đã rời giai đoạn này")
    median_days: int | None = Field(description="Trung vị số ngày làm việc")
    p90_days: int | None = Field(description="Phân vị 90 số ngày làm việc")
    mean_days: float | None
    longest_days: int | None


class StatisticsOut(Out):
    today: date
    position: int = Field(description=POSITION_DESCRIPTION)
    total: int
    by_status: list[StatusCountOut]
    by_award: list[GroupCountOut]
    by_level: list[GroupCountOut]
    by_unit: list[GroupCountOut]
    by_movement: list[GroupCountOut]
    clocks: ClocksOut
    stages: list[StageDaysOut]


class BallotOut(Out):
    member: str
    voted: bool
    vote: Vote | None = Field(
        description="Chỉ hiện sau khi Hội đồng kết luận (thành viên luôn thấy phiếu của mình)"
    )
    conflict_of_interest: bool


class BallotsOut(Out):
    id: UUID
    status: str
    concluded: bool
    votes_cast: int
    members: int
    ballots: list[BallotOut]


class AccountOut(Out):
    id: UUID
    name: str
    display_name: str
    unit: str | None
    roles: list[str]
    token_ids: list[str]
    disabled: bool
    version: int


class AccountPage(Page):
    items: list[AccountOut]


class TokenOut(Out):
    token_id: str
    token: str | None = Field(
        description="Mã truy cập, chỉ hiển thị một lần (null khi trả lời lại theo Idempotency-Key)"
    )


class NewAccountOut(Out):
    account: AccountOut
    token: TokenOut | None


class MeOut(Out):
    name: str
    display_name: str
    unit: str | None
    roles: list[str]
    acting_role: str | None = Field(description="Vai trò của yêu cầu này (chọn bằng X-Role)")
    token_ids: list[str]


class ProblemError(BaseModel):
    field: str
    location: str | None = None
    message: str


class Problem(BaseModel):
    """An error, as RFC 9457 problem details, in Vietnamese."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    current_version: int | None = None
    dossier_status: str | None = None
    dossier_status_label: str | None = None
    errors: list[ProblemError] | None = None
