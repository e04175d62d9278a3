"""The nomination dossier (hồ sơ đề nghị khen thưởng) and the provincial flow of domain.md.

Each public method is a command: it checks the rules, then triggers one event. The decorated
``_on_...`` mutators only set state; they run again on every replay and never raise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.calendar import WorkCalendar
from domain.errors import (
    AlreadyVoted,
    CommentNotFound,
    CommentPeriodTooShort,
    CommentWindowClosed,
    CommentWindowStillOpen,
    ConflictOfInterest,
    CouncilApprovalMissing,
    DossierOnHold,
    DuplicateComment,
    ForeignUnit,
    IllegalTransition,
    InvalidDocumentDate,
    InvalidDocumentNumber,
    InvalidPeriod,
    InvalidValue,
    ModerationUnchanged,
    NomineeKindMismatch,
    NotACouncilMember,
    NotEligible,
    PartyOpinionMissing,
    PartyOpinionUnfavourable,
    PersonalDetailsMisplaced,
    PersonalDetailsRequired,
    PublicCommentNotApplicable,
    PublicCommentRequired,
    QuorumNotMet,
    SeparationOfDuties,
    UnansweredComments,
    UnknownComment,
    WrongLevel,
    WrongRole,
)
from domain.movement import EmulationMovement
from domain.rulebook import DECIDER_DOCUMENT_SUFFIX, SUBJECT_LABELS, AwardRule, Decider, Subject
from domain.shared import (
    ROLE_LABELS,
    Actor,
    DocumentRef,
    Role,
    local_date,
    nfc,
    require_text,
    same_unit,
)
from domain.values import (
    MAX_MODERATION_REASON,
    MODERATION_DECISIONS,
    CentralOutcome,
    Comment,
    CommentAnswer,
    CommentKind,
    CommentStatus,
    CouncilResult,
    Grounds,
    HoldKind,
    Nominee,
    PersonalDetails,
    PriorTitle,
    TitleKind,
    Vote,
)

E = TypeVar("E", bound=StrEnum)
MAX_DOCUMENTS = 100
MAX_COMMENTS = 10_000
MAX_COUNCIL_MEMBERS = 200


class Status(StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLIC_COMMENT = "public_comment"
    COMMENT_CLOSED = "comment_closed"
    HELD = "held"
    NOT_QUALIFIED = "not_qualified"
    AWAITING_COUNCIL = "awaiting_council"
    COUNCIL_VOTING = "council_voting"
    NOT_RECOMMENDED = "not_recommended"
    AWAITING_DECISION = "awaiting_decision"
    APPROVED = "approved"
    REJECTED = "rejected"
    FORWARDED = "forwarded"
    CONFERRED = "conferred"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Still in the provincial flow (not yet decided, ended or forwarded)."""
        return self in OPEN_STATUSES


STATUS_LABELS: dict[Status, str] = {
    Status.SUBMITTED: "Đã tiếp nhận, chờ thẩm định",
    Status.RETURNED: "Trả lại để bổ sung hồ sơ",
    Status.PUBLIC_COMMENT: "Đang lấy ý kiến Nhân dân",
    Status.COMMENT_CLOSED: "Đã kết thúc lấy ý kiến, chờ thẩm định",
    Status.HELD: "Tạm dừng xét khen thưởng",
    Status.NOT_QUALIFIED: "Không đủ điều kiện (kết quả thẩm định)",
    Status.AWAITING_COUNCIL: "Chờ Hội đồng Thi đua - Khen thưởng xét",
    Status.COUNCIL_VOTING: "Hội đồng đang biểu quyết",
    Status.NOT_RECOMMENDED: "Hội đồng không thông qua",
    Status.AWAITING_DECISION: "Chờ Chủ tịch UBND tỉnh quyết định",
    Status.APPROVED: "Đã quyết định khen thưởng",
    Status.REJECTED: "Không khen thưởng",
    Status.FORWARDED: "Đã trình cấp trên",
    Status.CONFERRED: "Cấp trên đã quyết định khen thưởng",
    Status.DECLINED: "Cấp trên không khen thưởng",
    Status.WITHDRAWN: "Đơn vị đã rút hồ sơ",
    Status.REVOKED: "Đã hủy bỏ quyết định khen thưởng",
}

OPEN_STATUSES = frozenset(
    {
        Status.SUBMITTED,
        Status.RETURNED,
        Status.PUBLIC_COMMENT,
        Status.COMMENT_CLOSED,
        Status.HELD,
        Status.AWAITING_COUNCIL,
        Status.COUNCIL_VOTING,
        Status.AWAITING_DECISION,
    }
)

ENDED_WITHOUT_AWARD = frozenset(
    {
        Status.NOT_QUALIFIED,
        Status.NOT_RECOMMENDED,
        Status.REJECTED,
        Status.DECLINED,
        Status.WITHDRAWN,
    }
)
"""A dossier in one of these frees its nominee's slot: a new dossier may be submitted."""

_DOC_NUMBER = r"[1-9][0-9]{0,5}"
SUBMISSION_SUFFIX = "TTr-UBND"


def check_document_number(value: str, suffix: str) -> str:
    """An official number: digits, a slash, then the document's kind and issuer (123/QĐ-UBND)."""
    number = nfc(value) if isinstance(value, str) else ""
    if not re.fullmatch(rf"{_DOC_NUMBER}/{re.escape(suffix)}", number):
        raise InvalidDocumentNumber(number[:40], f"số/{suffix}, ví dụ 123/{suffix}")
    return number


@dataclass(frozen=True)
class StageSpan:
    """A stage the dossier has left: its status, when it entered and when it left."""

    status: Status
    entered_at: datetime
    left_at: datetime


@dataclass(frozen=True)
class Deadline:
    """The legal clock of the current stage, counted in working days."""

    due_on: date | None
    working_days_left: int | None
    paused: bool
    overdue: bool


class Dossier(Aggregate):
    """One proposal: one nominee, one target award, in one emulation movement."""

    # --- events ---------------------------------------------------------------------------

    class Submitted(Aggregate.Created):
        label: ClassVar[str] = "Tiếp nhận hồ sơ đề nghị"
        movement_id: UUID
        rulebook_edition: str
        award: AwardRule
        submitting_unit: str
        nominee: Nominee
        personal: PersonalDetails | None
        achievements: str
        documents: list[DocumentRef]
        prior_titles: list[PriorTitle]
        by: Actor

    class ReturnedForSupplement(Aggregate.Event):
        label: ClassVar[str] = "Trả lại để bổ sung hồ sơ"
        missing: list[str]
        note: str
        by: Actor

    class Supplemented(Aggregate.Event):
        label: ClassVar[str] = "Bổ sung hồ sơ"
        documents: list[DocumentRef]
        note: str
        by: Actor

    class PublicCommentOpened(Aggregate.Event):
        label: ClassVar[str] = "Công khai, lấy ý kiến Nhân dân"
        closes_on: date
        by: Actor

    class CommentReceived(Aggregate.Event):
        label: ClassVar[str] = "Nhận ý kiến Nhân dân"
        class_version: ClassVar[int] = 2
        comment_id: str
        kind: CommentKind
        text: str
        author_name: str | None
        contact: str | None
        by: Actor

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Version 1 comments had no kind; they were all recorded as information."""
            state["kind"] = CommentKind.INFORMATION.value

    class CommentModerated(Aggregate.Event):
        label: ClassVar[str] = "Kiểm duyệt ý kiến Nhân dân"
        comment_id: str
        decision: CommentStatus
        reason: str
        by: Actor

    class PublicCommentClosed(Aggregate.Event):
        label: ClassVar[str] = "Kết thúc lấy ý kiến Nhân dân"
        by: Actor

    class Held(Aggregate.Event):
        label: ClassVar[str] = "Tạm dừng xét khen thưởng"
        kind: HoldKind
        reason: str
        by: Actor

    class HoldLifted(Aggregate.Event):
        label: ClassVar[str] = "Tiếp tục xét khen thưởng"
        outcome: str
        by: Actor

    class Appraised(Aggregate.Event):
        label: ClassVar[str] = "Thẩm định hồ sơ"
        qualified: bool
        opinion: str
        answers: dict[str, CommentAnswer]
        by: Actor

    class CouncilReviewOpened(Aggregate.Event):
        label: ClassVar[str] = "Đưa ra Hội đồng xét"
        members: list[str]
        meeting_on: date
        by: Actor

    class ConflictOfInterestDeclared(Aggregate.Event):
        label: ClassVar[str] = "Khai báo xung đột lợi ích"
        reason: str
        by: Actor

    class BallotCast(Aggregate.Event):
        label: ClassVar[str] = "Bỏ phiếu"
        vote: Vote
        by: Actor

    class CouncilReviewConcluded(Aggregate.Event):
        label: ClassVar[str] = "Kết luận của Hội đồng"
        present: list[str]
        result: CouncilResult
        threshold: str
        quorum: str
        by: Actor

    class PartyOpinionRecorded(Aggregate.Event):
        label: ClassVar[str] = "Ghi nhận ý kiến Ban Thường vụ Tỉnh ủy"
        document_number: str
        document_date: date
        favourable: bool
        summary: str
        by: Actor

    class Approved(Aggregate.Event):
        label: ClassVar[str] = "Quyết định khen thưởng"
        decision_number: str
        decision_date: date
        by: Actor

    class Rejected(Aggregate.Event):
        label: ClassVar[str] = "Không khen thưởng"
        reason: str
        notice_number: str
        notice_date: date
        by: Actor

    class ForwardedUpward(Aggregate.Event):
        label: ClassVar[str] = "Trình cấp trên"
        submission_number: str
        submission_date: date
        by: Actor

    class CentralDecisionRecorded(Aggregate.Event):
        label: ClassVar[str] = "Ghi nhận quyết định của cấp trên"
        outcome: CentralOutcome
        decision_number: str
        decision_date: date
        note: str
        by: Actor

    class Withdrawn(Aggregate.Event):
        label: ClassVar[str] = "Rút hồ sơ"
        reason: str
        by: Actor

    class Revoked(Aggregate.Event):
        label: ClassVar[str] = "Hủy bỏ quyết định khen thưởng"
        grounds: Grounds
        explanation: str
        decision_number: str
        decision_date: date
        by: Actor

    # --- submission -----------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        dossier_id: UUID,
        movement: EmulationMovement,
        rulebook_edition: str,
        award: AwardRule,
        submitting_unit: str,
        nominee: Nominee,
        personal: PersonalDetails | None,
        achievements: str,
        documents: Sequence[DocumentRef],
        prior_titles: Sequence[PriorTitle],
        by: Actor,
        at: datetime,
    ) -> Dossier:
        """A unit's submitter proposes one nominee for one award under an open movement."""
        unit = require_text("đơn vị trình", submitting_unit, max_length=300)
        _require_role(by, "trình hồ sơ", Role.SUBMITTER)
        if by.unit is None or not same_unit(by.unit, unit):
            raise ForeignUnit("trình hồ sơ nhân danh đơn vị này")
        movement.require_open()
        if local_date(at) < movement.starts_on:
            raise InvalidPeriod(
                f"Phong trào theo kế hoạch {movement.plan_number} bắt đầu từ ngày "
                f"{movement.starts_on:%d/%m/%Y}; chưa nhận hồ sơ trước ngày đó."
            )
        if not award.admits(nominee.kind):
            raise NomineeKindMismatch(award.name, SUBJECT_LABELS[award.subject])
        if personal is not None and nominee.kind is Subject.COLLECTIVE:
            raise PersonalDetailsMisplaced()
        if nominee.kind is Subject.INDIVIDUAL and (
            personal is None or not personal.identity_number
        ):
            raise PersonalDetailsRequired()
        if not documents:
            raise InvalidValue("tài liệu", "cần ít nhất tờ trình và báo cáo thành tích")
        _check_documents(documents)
        if len(prior_titles) > 100:
            raise InvalidValue("danh hiệu đã đạt", "quá 100 mục")
        _check_eligibility(award, prior_titles, local_date(at))
        return cls._create(
            cls.Submitted,
            id=dossier_id,
            timestamp=at,
            movement_id=movement.id,
            rulebook_edition=rulebook_edition,
            award=award,
            submitting_unit=unit,
            nominee=nominee,
            personal=personal,
            achievements=require_text("tóm tắt thành tích", achievements, max_length=20_000),
            documents=list(documents),
            prior_titles=list(prior_titles),
            by=by,
        )

    @event(Submitted)
    def __init__(
        self,
        movement_id: UUID,
        rulebook_edition: str,
        award: AwardRule,
        submitting_unit: str,
        nominee: Nominee,
        personal: PersonalDetails | None,
        achievements: str,
        documents: list[DocumentRef],
        prior_titles: list[PriorTitle],
        by: Actor,
    ) -> None:
        self.movement_id = movement_id
        self.rulebook_edition = rulebook_edition
        self.award = award
        self.submitting_unit = submitting_unit
        self.nominee = nominee
        self.personal = personal
        self.achievements = achievements
        self.documents = list(documents)
        self.prior_titles = list(prior_titles)
        self.status = Status.SUBMITTED
        self.status_since: datetime = self.created_on
        self.stages: list[StageSpan] = []
        self.submitted_on = local_date(self.created_on)
        self.submitters = {by.user_id}
        self.returned_from: Status | None = None
        self.held_from: Status | None = None
        self.hold_kind: HoldKind | None = None
        self.missing: list[str] = []
        self.comment_opened_on: date | None = None
        self.comment_closes_on: date | None = None
        self.comment_closed_on: date | None = None
        self.comments: dict[str, Comment] = {}
        self.appraisal_qualified: bool | None = None
        self.appraisal_opinion: str | None = None
        self.answers: dict[str, CommentAnswer] = {}
        self.appraised_on: date | None = None
        self.council_members: list[str] = []
        self.council_meeting_on: date | None = None
        self.ballots: dict[str, Vote] = {}
        self.conflicts: dict[str, str] = {}
        self.council_result: CouncilResult | None = None
        self.party_opinion_favourable: bool | None = None
        self.decision_number: str | None = None
        self.decision_date: date | None = None
        self.decided_by: str | None = None
        self.submission_number: str | None = None
        self.submission_date: date | None = None
        self.central_outcome: CentralOutcome | None = None
        self.central_decision_number: str | None = None
        self.central_decision_date: date | None = None
        self.revocation_number: str | None = None
        self.revocation_date: date | None = None
        self.revocation_grounds: Grounds | None = None
        self.ended_reason: str | None = None
        # The legal clock: started at submission (or when public comment closed), paused while
        # the dossier is returned or held.
        self.clock_started_on: date | None = (
            None if award.public_comment else local_date(self.created_on)
        )
        self.pauses: list[tuple[date, date]] = []
        self.paused_since: date | None = None
        self.pause_count = 0

    # --- returned for supplement ------------------------------------------------------------

    def return_for_supplement(
        self, *, missing: Sequence[str], note: str, by: Actor, at: datetime
    ) -> None:
        """The appraiser returns an incomplete dossier; the legal clock stops until it is supplemented."""
        self._require_moment(at)
        self._require_active("trả lại hồ sơ để bổ sung", Status.SUBMITTED, Status.COMMENT_CLOSED)
        _require_role(by, "trả lại hồ sơ để bổ sung", Role.APPRAISER)
        self._require_not_submitter(by, "thẩm định")
        if not missing or len(missing) > 50:
            raise InvalidValue("nội dung cần bổ sung", "cần từ 1 đến 50 mục")
        items = [require_text("nội dung cần bổ sung", item, max_length=500) for item in missing]
        self._on_returned(
            missing=items,
            note=require_text("ghi chú", note, max_length=4000, min_length=0),
            by=by,
            timestamp=at,
        )

    @event(ReturnedForSupplement)
    def _on_returned(self, missing: list[str], note: str, by: Actor, timestamp: datetime) -> None:
        self.returned_from = self.status
        self._enter(Status.RETURNED, timestamp)
        self.missing = list(missing)
        self._pause(local_date(timestamp))

    def supplement(
        self, *, documents: Sequence[DocumentRef], note: str, by: Actor, at: datetime
    ) -> None:
        """The submitting unit supplies what was asked for; the dossier resumes where it was."""
        self._require_moment(at)
        self._require_active("bổ sung hồ sơ", Status.RETURNED)
        self._require_own_unit(by, "bổ sung hồ sơ")
        text = require_text("ghi chú bổ sung", note, max_length=4000, min_length=0)
        if not documents and not text:
            raise InvalidValue("bổ sung", "cần ít nhất một tài liệu hoặc một giải trình")
        _check_documents([*self.documents, *documents])
        self._on_supplemented(documents=list(documents), note=text, by=by, timestamp=at)

    @event(Supplemented)
    def _on_supplemented(
        self, documents: list[DocumentRef], note: str, by: Actor, timestamp: datetime
    ) -> None:
        self.documents.extend(documents)
        self._enter(self.returned_from or Status.SUBMITTED, timestamp)
        self.returned_from = None
        self.missing = []
        self.submitters.add(by.user_id)
        self._resume(local_date(timestamp))

    # --- public comment ---------------------------------------------------------------------

    def open_public_comment(
        self, *, closes_on: date, by: Actor, at: datetime, calendar: WorkCalendar
    ) -> None:
        """State-level nominations are published for at least the rulebook's working days."""
        self._require_moment(at)
        if not self.award.public_comment:
            raise PublicCommentNotApplicable(self.award.name)
        self._require_active("công khai lấy ý kiến Nhân dân", Status.SUBMITTED)
        _require_role(by, "công khai lấy ý kiến Nhân dân", Role.APPRAISER)
        today = local_date(at)
        earliest = calendar.add_working_days(today, self.award.comment_days)
        if closes_on < earliest:
            raise CommentPeriodTooShort(closes_on, self.award.comment_days, earliest)
        if calendar.working_days_between(today, closes_on) > 60:
            raise InvalidValue("ngày kết thúc lấy ý kiến", "không được quá 60 ngày làm việc")
        self._on_comment_opened(closes_on=closes_on, by=by, timestamp=at)

    @event(PublicCommentOpened)
    def _on_comment_opened(self, closes_on: date, by: Actor, timestamp: datetime) -> None:
        self._enter(Status.PUBLIC_COMMENT, timestamp)
        self.comment_opened_on = local_date(timestamp)
        self.comment_closes_on = closes_on

    def is_open_for_comment(self, today: date) -> bool:
        """Comments are taken while published and up to the end of the closing day."""
        return (
            self.status is Status.PUBLIC_COMMENT
            and self.comment_closes_on is not None
            and today <= self.comment_closes_on
        )

    def receive_comment(
        self,
        *,
        comment_id: str,
        kind: CommentKind,
        text: str,
        author_name: str | None,
        contact: str | None,
        by: Actor,
        at: datetime,
    ) -> None:
        """A comment is accepted only while the window is open, by state and by date."""
        self._require_moment(at)
        if self.status is Status.HELD:
            raise DossierOnHold("gửi ý kiến")
        if not self.is_open_for_comment(local_date(at)):
            raise CommentWindowClosed(self.comment_closes_on)
        _require_role(by, "ghi nhận ý kiến Nhân dân", Role.PUBLIC, Role.APPRAISER)
        key = require_text("mã ý kiến", comment_id, max_length=64)
        if key in self.comments:
            raise DuplicateComment()
        if len(self.comments) >= MAX_COMMENTS:
            raise InvalidValue("ý kiến", f"hồ sơ đã nhận tối đa {MAX_COMMENTS} ý kiến")
        self._on_comment_received(
            comment_id=key,
            kind=_choice(CommentKind, kind, "loại ý kiến"),
            text=require_text("nội dung ý kiến", text, max_length=5000),
            author_name=require_text("họ tên người góp ý", author_name, max_length=200)
            if author_name
            else None,
            contact=require_text("thông tin liên hệ", contact, max_length=200) if contact else None,
            by=by,
            timestamp=at,
        )

    @event(CommentReceived)
    def _on_comment_received(
        self,
        comment_id: str,
        kind: CommentKind,
        text: str,
        author_name: str | None,
        contact: str | None,
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self.comments[comment_id] = Comment(
            comment_id=comment_id,
            kind=CommentKind(kind),
            text=text,
            author_name=author_name,
            contact=contact,
            received_on=local_date(timestamp),
        )

    def moderate_comment(
        self,
        *,
        comment_id: str,
        decision: CommentStatus,
        reason: str,
        by: Actor,
        at: datetime,
    ) -> None:
        """The appraiser publishes or withholds (with a reason) a comment received; a decision
        may be changed later by another one, and nothing is ever deleted."""
        self._require_moment(at)
        action = "kiểm duyệt ý kiến Nhân dân"
        _require_role(by, action, Role.APPRAISER)
        self._require_not_submitter(by, "kiểm duyệt ý kiến Nhân dân về")
        comment = self.comments.get(comment_id) if isinstance(comment_id, str) else None
        if comment is None:
            raise CommentNotFound(str(comment_id)[:64])
        chosen = _choice(CommentStatus, decision, "quyết định kiểm duyệt")
        if chosen not in MODERATION_DECISIONS:
            raise InvalidValue("quyết định kiểm duyệt", "phải là published hoặc withheld")
        withholding = chosen is CommentStatus.WITHHELD
        text = require_text(
            "lý do không công bố" if withholding else "lý do công bố",
            reason,
            max_length=MAX_MODERATION_REASON,
            min_length=1 if withholding else 0,
        )
        if chosen is comment.status and text == (comment.moderation_reason or ""):
            raise ModerationUnchanged(chosen.label)
        self._on_comment_moderated(
            comment_id=comment_id, decision=chosen, reason=text, by=by, timestamp=at
        )

    @event(CommentModerated)
    def _on_comment_moderated(
        self, comment_id: str, decision: CommentStatus, reason: str, by: Actor, timestamp: datetime
    ) -> None:
        comment = self.comments.get(comment_id)
        if comment is not None:
            self.comments[comment_id] = replace(
                comment,
                status=CommentStatus(decision),
                moderation_reason=reason or None,
                moderated_on=local_date(timestamp),
            )

    def close_public_comment(self, *, by: Actor, at: datetime) -> None:
        """The window closes only after its last day has passed; the appraisal clock starts then."""
        self._require_moment(at)
        self._require_active("kết thúc lấy ý kiến Nhân dân", Status.PUBLIC_COMMENT)
        _require_role(by, "kết thúc lấy ý kiến Nhân dân", Role.APPRAISER)
        assert self.comment_closes_on is not None
        if local_date(at) <= self.comment_closes_on:
            raise CommentWindowStillOpen(self.comment_closes_on)
        self._on_comment_closed(by=by, timestamp=at)

    @event(PublicCommentClosed)
    def _on_comment_closed(self, by: Actor, timestamp: datetime) -> None:
        self._enter(Status.COMMENT_CLOSED, timestamp)
        self.comment_closed_on = local_date(timestamp)
        self.clock_started_on = local_date(timestamp)

    # --- hold -----------------------------------------------------------------------------

    def hold(self, *, kind: HoldKind, reason: str, by: Actor, at: datetime) -> None:
        """No award proceeds while a case about the nominee is verified; everything waits."""
        self._require_moment(at)
        if self.status is Status.HELD:
            raise IllegalTransition("tạm dừng xét", self.status, self.status.label)
        self._require_active("tạm dừng xét", *(OPEN_STATUSES - {Status.HELD}), Status.FORWARDED)
        _require_role(by, "tạm dừng xét khen thưởng", Role.APPRAISER, Role.CHAIRMAN)
        self._on_held(
            kind=_choice(HoldKind, kind, "loại vụ việc"),
            reason=require_text("lý do tạm dừng", reason, max_length=4000),
            by=by,
            timestamp=at,
        )

    @event(Held)
    def _on_held(self, kind: HoldKind, reason: str, by: Actor, timestamp: datetime) -> None:
        self.held_from = self.status
        self.hold_kind = HoldKind(kind)
        self._enter(Status.HELD, timestamp)
        self._pause(local_date(timestamp))

    def lift_hold(self, *, outcome: str, by: Actor, at: datetime) -> None:
        """Once the case is cleared the dossier resumes exactly where it was held."""
        self._require_moment(at)
        if self.status is not Status.HELD:
            raise IllegalTransition("tiếp tục xét", self.status, self.status.label)
        _require_role(by, "tiếp tục xét khen thưởng", Role.APPRAISER, Role.CHAIRMAN)
        self._on_hold_lifted(
            outcome=require_text("kết quả xác minh", outcome, max_length=4000),
            by=by,
            timestamp=at,
        )

    @event(HoldLifted)
    def _on_hold_lifted(self, outcome: str, by: Actor, timestamp: datetime) -> None:
        self._enter(self.held_from or Status.SUBMITTED, timestamp)
        self.held_from = None
        self.hold_kind = None
        self._resume(local_date(timestamp))

    # --- appraisal ------------------------------------------------------------------------

    def appraise(
        self,
        *,
        qualified: bool,
        opinion: str,
        answers: Mapping[str, CommentAnswer],
        by: Actor,
        at: datetime,
    ) -> None:
        """Appraisal comes after public comment (state level) and answers every comment received."""
        self._require_moment(at)
        action = "thẩm định hồ sơ"
        if self.award.public_comment and self.status is Status.SUBMITTED:
            raise PublicCommentRequired()
        if self.status is Status.PUBLIC_COMMENT:
            assert self.comment_closes_on is not None
            raise CommentWindowStillOpen(self.comment_closes_on)
        expected = Status.COMMENT_CLOSED if self.award.public_comment else Status.SUBMITTED
        self._require_active(action, expected)
        _require_role(by, action, Role.APPRAISER)
        self._require_not_submitter(by, "thẩm định")
        unknown = sorted(set(answers) - set(self.comments))
        if unknown:
            raise UnknownComment(unknown[0][:64])
        missing = [key for key in self.comments if key not in answers]
        if missing:
            raise UnansweredComments(len(missing))
        self._on_appraised(
            qualified=bool(qualified),
            opinion=require_text("ý kiến thẩm định", opinion, max_length=20_000),
            answers=dict(answers),
            by=by,
            timestamp=at,
        )

    @event(Appraised)
    def _on_appraised(
        self,
        qualified: bool,
        opinion: str,
        answers: dict[str, CommentAnswer],
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self.appraisal_qualified = qualified
        self.appraisal_opinion = opinion
        self.answers = dict(answers)
        self.appraised_on = local_date(timestamp)
        if not qualified:
            self._enter(Status.NOT_QUALIFIED, timestamp)
        elif self.award.council_required:
            self._enter(Status.AWAITING_COUNCIL, timestamp)
        else:
            self._enter(Status.AWAITING_DECISION, timestamp)

    # --- council --------------------------------------------------------------------------

    def open_council_review(
        self, *, members: Sequence[str], meeting_on: date, by: Actor, at: datetime
    ) -> None:
        """The secretary puts the dossier before the council, naming every member of the council."""
        self._require_moment(at)
        self._require_active("đưa hồ sơ ra Hội đồng", Status.AWAITING_COUNCIL)
        _require_role(by, "đưa hồ sơ ra Hội đồng", Role.COUNCIL_SECRETARY)
        roster = [require_text("thành viên Hội đồng", member, max_length=100) for member in members]
        if not 3 <= len(roster) <= MAX_COUNCIL_MEMBERS:
            raise InvalidValue("thành viên Hội đồng", f"cần từ 3 đến {MAX_COUNCIL_MEMBERS} người")
        if len(set(roster)) != len(roster):
            raise InvalidValue("thành viên Hội đồng", "có người bị lặp lại")
        if meeting_on < local_date(at):
            raise InvalidValue("ngày họp Hội đồng", "không được ở quá khứ")
        self._on_council_opened(members=roster, meeting_on=meeting_on, by=by, timestamp=at)

    @event(CouncilReviewOpened)
    def _on_council_opened(
        self, members: list[str], meeting_on: date, by: Actor, timestamp: datetime
    ) -> None:
        self._enter(Status.COUNCIL_VOTING, timestamp)
        self.council_members = list(members)
        self.council_meeting_on = meeting_on

    def declare_conflict_of_interest(self, *, reason: str, by: Actor, at: datetime) -> None:
        """A member related to the nominee or its unit declares it and then cannot vote."""
        self._require_moment(at)
        self._require_active("khai báo xung đột lợi ích", Status.COUNCIL_VOTING)
        self._require_council_member(by)
        if by.user_id in self.ballots:
            raise AlreadyVoted()
        if by.user_id in self.conflicts:
            raise ConflictOfInterest("Thành viên đã khai báo xung đột lợi ích với hồ sơ này.")
        self._on_conflict_declared(
            reason=require_text("lý do xung đột lợi ích", reason, max_length=2000),
            by=by,
            timestamp=at,
        )

    @event(ConflictOfInterestDeclared)
    def _on_conflict_declared(self, reason: str, by: Actor, timestamp: datetime) -> None:
        self.conflicts[by.user_id] = reason

    def cast_ballot(self, *, vote: Vote, by: Actor, at: datetime) -> None:
        """Only members named for the review vote, once each, and never with a conflict of interest."""
        self._require_moment(at)
        self._require_active("bỏ phiếu", Status.COUNCIL_VOTING)
        self._require_council_member(by)
        self._require_not_submitter(by, "bỏ phiếu cho")
        if by.user_id in self.ballots:
            raise AlreadyVoted()
        if by.user_id in self.conflicts:
            raise ConflictOfInterest(
                "Thành viên đã khai báo xung đột lợi ích nên không được bỏ phiếu cho hồ sơ này."
            )
        if by.unit is not None and same_unit(by.unit, self.submitting_unit):
            raise ConflictOfInterest(
                "Thành viên công tác tại đơn vị trình hồ sơ có xung đột lợi ích: cần khai báo "
                "và không được bỏ phiếu."
            )
        self._on_ballot_cast(vote=_choice(Vote, vote, "phiếu"), by=by, timestamp=at)

    @event(BallotCast)
    def _on_ballot_cast(self, vote: Vote, by: Actor, timestamp: datetime) -> None:
        self.ballots[by.user_id] = Vote(vote)

    def conclude_council_review(self, *, present: Sequence[str], by: Actor, at: datetime) -> None:
        """With a quorum present, the award passes when the yes votes reach the threshold of ALL members."""
        self._require_moment(at)
        self._require_active("kết luận phiên xét", Status.COUNCIL_VOTING)
        _require_role(by, "kết luận phiên xét của Hội đồng", Role.COUNCIL_SECRETARY)
        attendees = list(dict.fromkeys(present))
        strangers = [member for member in attendees if member not in self.council_members]
        if strangers:
            raise InvalidValue("thành viên dự họp", "có người không thuộc Hội đồng của phiên xét")
        result = self.tally(len(attendees))
        if len(attendees) < result.quorum_required:
            raise QuorumNotMet(len(attendees), result.members, result.quorum_required)
        self._on_council_concluded(
            present=attendees,
            result=result,
            threshold=str(self.award.threshold),
            quorum=str(self.award.quorum),
            by=by,
            timestamp=at,
        )

    def tally(self, present: int) -> CouncilResult:
        """Count the ballots against the rulebook's quorum and threshold (shares of all members)."""
        members = len(self.council_members)
        votes = list(self.ballots.values())
        quorum_required = math.ceil(Fraction(self.award.quorum) * members)
        votes_required = max(1, math.ceil(Fraction(self.award.threshold) * members))
        votes_for = votes.count(Vote.YES)
        return CouncilResult(
            members=members,
            present=present,
            votes_for=votes_for,
            votes_against=votes.count(Vote.NO),
            abstentions=votes.count(Vote.ABSTAIN),
            conflicted=len(self.conflicts),
            quorum_required=quorum_required,
            votes_required=votes_required,
            passed=votes_for >= votes_required,
        )

    @event(CouncilReviewConcluded)
    def _on_council_concluded(
        self,
        present: list[str],
        result: CouncilResult,
        threshold: str,
        quorum: str,
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self.council_result = result
        self._enter(
            Status.AWAITING_DECISION if result.passed else Status.NOT_RECOMMENDED, timestamp
        )

    # --- party opinion and decisions ------------------------------------------------------

    def record_party_opinion(
        self,
        *,
        document_number: str,
        document_date: date,
        favourable: bool,
        summary: str,
        by: Actor,
        at: datetime,
    ) -> None:
        """For the highest awards the provincial Party standing committee's written opinion comes first."""
        self._require_moment(at)
        self._require_active("ghi nhận ý kiến Ban Thường vụ Tỉnh ủy", Status.AWAITING_DECISION)
        _require_role(by, "ghi nhận ý kiến Ban Thường vụ Tỉnh ủy", Role.APPRAISER)
        if not self.award.party_opinion:
            raise InvalidValue(
                "ý kiến Ban Thường vụ", "không áp dụng cho hình thức khen thưởng này"
            )
        self._check_document_date(document_date, at)
        self._on_party_opinion(
            document_number=require_text("số văn bản", document_number, max_length=40),
            document_date=document_date,
            favourable=bool(favourable),
            summary=require_text("nội dung ý kiến", summary, max_length=4000),
            by=by,
            timestamp=at,
        )

    @event(PartyOpinionRecorded)
    def _on_party_opinion(
        self,
        document_number: str,
        document_date: date,
        favourable: bool,
        summary: str,
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self.party_opinion_favourable = favourable

    def approve(
        self, *, decision_number: str, decision_date: date, by: Actor, at: datetime
    ) -> None:
        """The Chủ tịch UBND tỉnh decides a provincial award by a numbered decision (số/QĐ-UBND)."""
        self._require_moment(at)
        self._require_decision_stage(by, "quyết định khen thưởng")
        if self.award.is_state_level:
            raise WrongLevel(
                f"«{self.award.name}» là khen thưởng cấp Nhà nước: Chủ tịch UBND tỉnh trình cấp "
                "trên, không tự quyết định."
            )
        if self.award.council_required and not (self.council_result and self.council_result.passed):
            raise CouncilApprovalMissing()
        number = check_document_number(
            decision_number, DECIDER_DOCUMENT_SUFFIX[Decider.PROVINCIAL_CHAIRMAN]
        )
        self._check_document_date(decision_date, at)
        self._on_approved(decision_number=number, decision_date=decision_date, by=by, timestamp=at)

    @event(Approved)
    def _on_approved(
        self, decision_number: str, decision_date: date, by: Actor, timestamp: datetime
    ) -> None:
        self._enter(Status.APPROVED, timestamp)
        self.decision_number = decision_number
        self.decision_date = decision_date
        self.decided_by = by.user_id

    def reject(
        self, *, reason: str, notice_number: str, notice_date: date, by: Actor, at: datetime
    ) -> None:
        """The Chủ tịch may decline to award; the unit is told why by a numbered written notice."""
        self._require_moment(at)
        self._require_decision_stage(by, "quyết định không khen thưởng")
        self._check_document_date(notice_date, at)
        self._on_rejected(
            reason=require_text("lý do không khen thưởng", reason, max_length=4000),
            notice_number=require_text("số văn bản thông báo", notice_number, max_length=40),
            notice_date=notice_date,
            by=by,
            timestamp=at,
        )

    @event(Rejected)
    def _on_rejected(
        self, reason: str, notice_number: str, notice_date: date, by: Actor, timestamp: datetime
    ) -> None:
        self._enter(Status.REJECTED, timestamp)
        self.ended_reason = reason
        self.decided_by = by.user_id

    def forward_upward(
        self, *, submission_number: str, submission_date: date, by: Actor, at: datetime
    ) -> None:
        """A state-level nomination goes up by the Chủ tịch's submission (số/TTr-UBND)."""
        self._require_moment(at)
        self._require_decision_stage(by, "trình cấp trên")
        if not self.award.is_state_level:
            raise WrongLevel(
                f"«{self.award.name}» thuộc thẩm quyền của Chủ tịch UBND tỉnh, không trình cấp trên."
            )
        if self.award.council_required and not (self.council_result and self.council_result.passed):
            raise CouncilApprovalMissing()
        if self.award.party_opinion and self.party_opinion_favourable is None:
            raise PartyOpinionMissing()
        if self.award.party_opinion and self.party_opinion_favourable is False:
            raise PartyOpinionUnfavourable()
        number = check_document_number(submission_number, SUBMISSION_SUFFIX)
        self._check_document_date(submission_date, at)
        self._on_forwarded(
            submission_number=number, submission_date=submission_date, by=by, timestamp=at
        )

    @event(ForwardedUpward)
    def _on_forwarded(
        self, submission_number: str, submission_date: date, by: Actor, timestamp: datetime
    ) -> None:
        self._enter(Status.FORWARDED, timestamp)
        self.submission_number = submission_number
        self.submission_date = submission_date
        self.decided_by = by.user_id

    def record_central_decision(
        self,
        *,
        outcome: CentralOutcome,
        decision_number: str,
        decision_date: date,
        note: str,
        by: Actor,
        at: datetime,
    ) -> None:
        """The decision of the Thủ tướng (QĐ-TTg) or the Chủ tịch nước (QĐ-CTN) is recorded as it came."""
        self._require_moment(at)
        self._require_active("ghi nhận quyết định của cấp trên", Status.FORWARDED)
        _require_role(by, "ghi nhận quyết định của cấp trên", Role.APPRAISER, Role.CHAIRMAN)
        number = check_document_number(decision_number, DECIDER_DOCUMENT_SUFFIX[self.award.decider])
        self._check_document_date(decision_date, at)
        assert self.submission_date is not None
        if decision_date < self.submission_date:
            raise InvalidDocumentDate("của cấp trên không thể trước ngày tỉnh trình")
        self._on_central_decision(
            outcome=_choice(CentralOutcome, outcome, "kết quả"),
            decision_number=number,
            decision_date=decision_date,
            note=require_text("ghi chú", note, max_length=4000, min_length=0),
            by=by,
            timestamp=at,
        )

    @event(CentralDecisionRecorded)
    def _on_central_decision(
        self,
        outcome: CentralOutcome,
        decision_number: str,
        decision_date: date,
        note: str,
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self.central_outcome = CentralOutcome(outcome)
        self.central_decision_number = decision_number
        self.central_decision_date = decision_date
        conferred = self.central_outcome is CentralOutcome.CONFERRED
        self._enter(Status.CONFERRED if conferred else Status.DECLINED, timestamp)

    # --- withdrawal and revocation --------------------------------------------------------

    def withdraw(self, *, reason: str, by: Actor, at: datetime) -> None:
        """The submitting unit may withdraw its dossier until it is decided, unless it is held."""
        self._require_moment(at)
        if self.status is Status.HELD:
            raise DossierOnHold("rút hồ sơ")
        self._require_active("rút hồ sơ", *(OPEN_STATUSES - {Status.HELD}))
        self._require_own_unit(by, "rút hồ sơ")
        self._on_withdrawn(
            reason=require_text("lý do rút hồ sơ", reason, max_length=4000), by=by, timestamp=at
        )

    @event(Withdrawn)
    def _on_withdrawn(self, reason: str, by: Actor, timestamp: datetime) -> None:
        if self.paused_since is not None:
            self.pause_count = 1
            self._resume(local_date(timestamp))
        self._enter(Status.WITHDRAWN, timestamp)
        self.ended_reason = reason

    def revoke(
        self,
        *,
        grounds: Grounds,
        explanation: str,
        decision_number: str,
        decision_date: date,
        by: Actor,
        at: datetime,
    ) -> None:
        """An award obtained unlawfully is revoked by its awarding authority; the history stays."""
        self._require_moment(at)
        self._require_active("hủy bỏ quyết định khen thưởng", Status.APPROVED, Status.CONFERRED)
        if self.award.is_state_level:
            _require_role(by, "ghi nhận việc hủy bỏ khen thưởng", Role.CHAIRMAN, Role.APPRAISER)
        else:
            _require_role(by, "ký quyết định hủy bỏ khen thưởng", Role.CHAIRMAN)
        number = check_document_number(decision_number, DECIDER_DOCUMENT_SUFFIX[self.award.decider])
        self._check_document_date(decision_date, at)
        awarded_on = self.central_decision_date or self.decision_date
        if awarded_on is not None and decision_date < awarded_on:
            raise InvalidDocumentDate("hủy bỏ không thể trước ngày quyết định khen thưởng")
        self._on_revoked(
            grounds=_choice(Grounds, grounds, "căn cứ hủy bỏ"),
            explanation=require_text("căn cứ hủy bỏ", explanation, max_length=4000),
            decision_number=number,
            decision_date=decision_date,
            by=by,
            timestamp=at,
        )

    @event(Revoked)
    def _on_revoked(
        self,
        grounds: Grounds,
        explanation: str,
        decision_number: str,
        decision_date: date,
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self._enter(Status.REVOKED, timestamp)
        self.revocation_grounds = Grounds(grounds)
        self.revocation_number = decision_number
        self.revocation_date = decision_date

    # --- the legal clock ------------------------------------------------------------------

    def deadline(self, calendar: WorkCalendar, today: date) -> Deadline:
        """The appraisal time limit, in working days, paused while returned or held."""
        if (
            self.clock_started_on is None
            or self.appraised_on is not None
            or not self.status.is_open
        ):
            return Deadline(due_on=None, working_days_left=None, paused=False, overdue=False)
        started = self.clock_started_on
        # Only the part of a pause after the clock started moves the deadline.
        paused_days = sum(
            calendar.working_days_between(max(start, started), end) for start, end in self.pauses
        )
        if self.paused_since is not None:
            paused_days += calendar.working_days_between(max(self.paused_since, started), today)
        due_on = calendar.add_working_days(
            self.clock_started_on, self.award.appraisal_days + paused_days
        )
        if today >= due_on:
            left = -calendar.working_days_between(due_on, today)
        else:
            left = calendar.working_days_between(today, due_on)
        return Deadline(
            due_on=due_on,
            working_days_left=left,
            paused=self.paused_since is not None,
            overdue=today > due_on,
        )

    # --- helpers (checks) -----------------------------------------------------------------

    def _require_moment(self, at: datetime) -> None:
        """Every command is dated by an aware moment not before the last recorded one, so the
        history reads in time order (state-at-a-moment depends on it)."""
        local_date(at)
        if at < self.modified_on:
            raise InvalidValue(
                "thời điểm", "không được trước lần ghi nhận cuối cùng của hồ sơ (lệch đồng hồ?)"
            )

    def _require_active(self, action: str, *allowed: Status) -> None:
        if self.status is Status.HELD and Status.HELD not in allowed:
            raise DossierOnHold(action)
        if self.status not in allowed:
            raise IllegalTransition(action, self.status, self.status.label)

    def _require_own_unit(self, by: Actor, action: str) -> None:
        _require_role(by, action, Role.SUBMITTER)
        if by.unit is None or not same_unit(by.unit, self.submitting_unit):
            raise ForeignUnit(action)

    def _require_not_submitter(self, by: Actor, action: str) -> None:
        if by.user_id in self.submitters:
            raise SeparationOfDuties(action)

    def _require_council_member(self, by: Actor) -> None:
        if by.role is not Role.COUNCIL_MEMBER or by.user_id not in self.council_members:
            raise NotACouncilMember()

    def _require_decision_stage(self, by: Actor, action: str) -> None:
        self._require_active(action, Status.AWAITING_DECISION)
        _require_role(by, action, Role.CHAIRMAN)
        self._require_not_submitter(by, "quyết định")

    def _check_document_date(self, signed_on: date, at: datetime) -> None:
        if signed_on > local_date(at):
            raise InvalidDocumentDate("không thể ở tương lai")
        if signed_on < self.submitted_on:
            raise InvalidDocumentDate("không thể trước ngày trình hồ sơ")

    # --- helpers (mutators' bookkeeping; never raise) --------------------------------------

    def _enter(self, status: Status, timestamp: datetime) -> None:
        """Move to a stage, closing the current one (for the time-in-stage statistics)."""
        if status is not self.status:
            self.stages.append(StageSpan(self.status, self.status_since, timestamp))
            self.status_since = timestamp
        self.status = status

    def _pause(self, day: date) -> None:
        if self.pause_count == 0:
            self.paused_since = day
        self.pause_count += 1

    def _resume(self, day: date) -> None:
        self.pause_count = max(0, self.pause_count - 1)
        if self.pause_count == 0 and self.paused_since is not None:
            self.pauses.append((self.paused_since, day))
            self.paused_since = None


def _choice(kind: type[E], value: Any, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidValue(field, f"phải là một trong: {allowed}") from None


def _require_role(by: Actor, action: str, *roles: Role) -> None:
    if by.role not in roles:
        names = " hoặc ".join(ROLE_LABELS[role] for role in roles)
        raise WrongRole(action, names)


def _check_documents(documents: Sequence[DocumentRef]) -> None:
    if len(documents) > MAX_DOCUMENTS:
        raise InvalidValue("tài liệu", f"không quá {MAX_DOCUMENTS} tệp")
    digests = [document.sha256 for document in documents]
    if len(set(digests)) != len(digests):
        raise InvalidValue("tài liệu", "có tệp bị trùng (cùng mã SHA-256)")


def _check_eligibility(award: AwardRule, titles: Sequence[PriorTitle], today: date) -> None:
    """Law, Art. 21-22: merit titles need the title below a number of consecutive times, the
    latest of them recent (within one term before this year); only regular titles count."""
    if any(title.year > today.year for title in titles):
        raise InvalidValue("danh hiệu đã đạt", "có năm ở tương lai")
    need = award.prerequisite
    if need is None:
        return
    years = sorted(
        {
            title.year
            for title in titles
            if title.title_code == need.title_code and title.kind is TitleKind.REGULAR
        }
    )
    # Count back from the latest title while each one follows the previous term.
    run = 0
    later: int | None = None
    for year in reversed(years):
        if later is not None and later - year > need.term_years:
            break
        run, later = run + 1, year
    recent = bool(years) and years[-1] >= today.year - need.term_years
    if not recent or run < need.consecutive_times:
        every = (
            "liên tục" if need.term_years == 1 else f"liên tục (mỗi {need.term_years} năm một lần)"
        )
        raise NotEligible(
            award.name,
            f"{need.consecutive_times} lần {every} gần nhất đạt danh hiệu «{need.title_name}», "
            f"lần cuối không quá {need.term_years} năm trước (không tính khen thưởng đột xuất, "
            "chuyên đề)",
        )
