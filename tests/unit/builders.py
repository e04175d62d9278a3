"""Test helpers for the domain: actors, a launched movement, submitted dossiers, and a driver
that walks a dossier along the provincial flow one working day at a time.

Everything is deterministic: time comes in as aware datetimes in Vietnam's time zone and the
calendar is the plain Monday-to-Friday ``WeekdayCalendar``.
"""

from __future__ import annotations

import copy
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.calendar import WeekdayCalendar
from domain.dossier import Dossier, Status
from domain.movement import EmulationMovement
from domain.rulebook import AwardRule, Rulebook, Subject, default_rulebooks
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role
from domain.values import (
    CentralOutcome,
    CommentAnswer,
    CommentKind,
    Disposition,
    Grounds,
    HoldKind,
    Nominee,
    PersonalDetails,
    PriorTitle,
    TitleKind,
    Vote,
)

CALENDAR = WeekdayCalendar()

# --- the rulebook ------------------------------------------------------------------------------

RULEBOOK: Rulebook = default_rulebooks().edition("ND152-2025")
PROVINCIAL_WITHOUT_COUNCIL = "bang_khen_chu_tich_tinh"
PROVINCIAL_WITH_COUNCIL = "chien_si_thi_dua_tinh"
STATE_LEVEL = "chien_si_thi_dua_toan_quoc"
COLLECTIVE_ONLY = "co_thi_dua_ubnd_tinh"


def award(code: str) -> AwardRule:
    return RULEBOOK.rule(code)


# --- time ----------------------------------------------------------------------------------------

SUBMISSION_DAY = date(2026, 3, 2)
"""A Monday, after Tết and clear of other holidays."""


def at(day: date, hour: int = 9) -> datetime:
    """An aware moment on a Vietnamese calendar day."""
    return datetime.combine(day, time(hour), tzinfo=VIETNAM_TZ)


def working_day_after(day: date, days: int = 1) -> date:
    return CALENDAR.add_working_days(day, days)


# --- actors ----------------------------------------------------------------------------------------

UNIT = "Sở Giáo dục và Đào tạo"
OTHER_UNIT = "Ủy ban nhân dân xã Tân Lập"

SUBMITTER = Actor("sgddt.nguyen.van.an", Role.SUBMITTER, unit=UNIT)
COLLEAGUE = Actor("sgddt.le.thi.binh", Role.SUBMITTER, unit=UNIT)
"""Another submitter of the same unit (supplements, withdraws)."""
FOREIGN_SUBMITTER = Actor("xatanlap.pham.van.cuong", Role.SUBMITTER, unit=OTHER_UNIT)
APPRAISER = Actor("snv.tran.thi.dung", Role.APPRAISER)
SECRETARY = Actor("hdtdkt.thu.ky", Role.COUNCIL_SECRETARY)
CHAIRMAN = Actor("ubnd.chu.tich", Role.CHAIRMAN)
PUBLIC = Actor("cong-thong-tin-dien-tu", Role.PUBLIC)

MEMBERS: tuple[Actor, ...] = tuple(
    Actor(f"hdtdkt.thanh.vien.{index:02d}", Role.COUNCIL_MEMBER, unit=f"Sở thành viên số {index}")
    for index in range(1, 11)
)
"""The ten members of the provincial council, none from the submitting unit."""

MEMBER_IDS: list[str] = [member.user_id for member in MEMBERS]


def same_person_as(actor: Actor, role: Role, unit: str | None = None) -> Actor:
    """The same user acting in another role (separation of duties follows the user, not the role)."""
    return Actor(actor.user_id, role, unit=unit)


# --- the movement --------------------------------------------------------------------------------


def launched_movement(
    on: date = date(2026, 1, 5), plan_number: str = "461/KH-UBND"
) -> EmulationMovement:
    return EmulationMovement.launch(
        plan_number=plan_number,
        title="Phong trào thi đua “Đổi mới, sáng tạo trong dạy và học” năm 2026",
        issuing_body="Ủy ban nhân dân tỉnh",
        issued_on=on,
        starts_on=on,
        ends_on=date(on.year, 12, 31),
        by=CHAIRMAN,
        at=at(on),
    )


# --- submission --------------------------------------------------------------------------------------


def document(name: str) -> DocumentRef:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return DocumentRef(name=name, sha256=digest, size=1024 + len(name))


DOCUMENTS: list[DocumentRef] = [
    document("To trinh so 12-TTr-SGDDT.pdf"),
    document("Bao cao thanh tich.pdf"),
    document("Bien ban hop xet.pdf"),
]

PERSON = Nominee(Subject.INDIVIDUAL, "Nguyễn Thị Lan", "Giáo viên Trường THPT Chu Văn An")
COLLECTIVE = Nominee(Subject.COLLECTIVE, "Trường THPT Chu Văn An", "Trường trung học phổ thông")
PERSONAL = PersonalDetails(identity_number="001190012345", date_of_birth=date(1985, 4, 12))


def titles(code: str, *years: int, kind: TitleKind = TitleKind.REGULAR) -> list[PriorTitle]:
    return [
        PriorTitle(code, year, f"{100 + index}/QĐ-UBND", kind) for index, year in enumerate(years)
    ]


def eligible_titles(award_code: str) -> list[PriorTitle]:
    """Prior titles that satisfy the award's eligibility chain (none when it has no chain)."""
    need = award(award_code).prerequisite
    if need is None:
        return []
    last = SUBMISSION_DAY.year - 1
    first = last - (need.consecutive_times - 1) * need.term_years
    return titles(need.title_code, *range(first, last + 1, need.term_years))


def nominee_for(award_code: str) -> Nominee:
    return COLLECTIVE if award(award_code).subject is Subject.COLLECTIVE else PERSON


_ID_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:tests")
_counter = iter(range(1_000_000_000))


def new_id() -> UUID:
    return uuid5(_ID_NAMESPACE, str(next(_counter)))


def submit(
    award_code: str = PROVINCIAL_WITHOUT_COUNCIL,
    *,
    on: date = SUBMISSION_DAY,
    movement: EmulationMovement | None = None,
    nominee: Nominee | None = None,
    personal: PersonalDetails | None = None,
    prior_titles: Sequence[PriorTitle] | None = None,
    documents: Sequence[DocumentRef] | None = None,
    unit: str = UNIT,
    by: Actor = SUBMITTER,
) -> Dossier:
    """Submit a dossier for an award code at 09:00 on a day; defaults make it valid."""
    who = nominee or nominee_for(award_code)
    if personal is None and who.kind is Subject.INDIVIDUAL:
        personal = PERSONAL
    return Dossier.submit(
        dossier_id=new_id(),
        movement=movement or launched_movement(),
        rulebook_edition=RULEBOOK.edition,
        award=award(award_code),
        submitting_unit=unit,
        nominee=who,
        personal=personal,
        achievements="Có sáng kiến đổi mới phương pháp dạy học được áp dụng toàn tỉnh.",
        documents=DOCUMENTS if documents is None else documents,
        prior_titles=eligible_titles(award_code) if prior_titles is None else prior_titles,
        by=by,
        at=at(on),
    )


# --- walking along the flow --------------------------------------------------------------------------


@dataclass
class Case:
    """A dossier and the working day the case has reached; each step moves to the next working day."""

    dossier: Dossier
    today: date = SUBMISSION_DAY
    comment_ids: list[str] = field(default_factory=list)

    naive_times: bool = False
    """When set, the steps pass naive datetimes (to check that commands refuse them)."""

    def next_day(self, days: int = 1) -> datetime:
        self.today = working_day_after(self.today, days)
        return self.now()

    def now(self) -> datetime:
        moment = at(self.today)
        return moment.replace(tzinfo=None) if self.naive_times else moment

    @property
    def status(self) -> Status:
        return self.dossier.status

    # --- the steps, each one command with valid arguments ---

    def open_public_comment(self) -> None:
        closes_on = working_day_after(self.today, award(self.dossier.award.code).comment_days)
        self.dossier.open_public_comment(
            closes_on=closes_on, by=APPRAISER, at=self.now(), calendar=CALENDAR
        )

    def receive_comment(
        self, comment_id: str = "y-kien-1", kind: CommentKind = CommentKind.SUPPORT
    ) -> None:
        self.dossier.receive_comment(
            comment_id=comment_id,
            kind=kind,
            text="Tôi đồng ý với đề nghị khen thưởng cô Lan.",
            author_name="Lê Văn Hùng",
            contact="0912 345 678",
            by=PUBLIC,
            at=self.now(),
        )
        self.comment_ids.append(comment_id)

    def close_public_comment(self) -> None:
        assert self.dossier.comment_closes_on is not None
        self.today = working_day_after(self.dossier.comment_closes_on)
        self.dossier.close_public_comment(by=APPRAISER, at=self.now())

    def return_for_supplement(self) -> None:
        self.dossier.return_for_supplement(
            missing=["Bản sao quyết định công nhận sáng kiến"],
            note="Đề nghị bổ sung trong 10 ngày làm việc.",
            by=APPRAISER,
            at=self.next_day(),
        )

    def supplement(self, by: Actor = COLLEAGUE) -> None:
        self.dossier.supplement(
            documents=[document("Quyet dinh cong nhan sang kien.pdf")],
            note="Đơn vị bổ sung quyết định công nhận sáng kiến.",
            by=by,
            at=self.next_day(),
        )

    def hold(self) -> None:
        self.dossier.hold(
            kind=HoldKind.COMPLAINT,
            reason="Có đơn khiếu nại về thành tích của đối tượng, đang xác minh.",
            by=APPRAISER,
            at=self.next_day(),
        )

    def lift_hold(self) -> None:
        self.dossier.lift_hold(
            outcome="Đã xác minh: nội dung khiếu nại không có cơ sở.",
            by=APPRAISER,
            at=self.next_day(),
        )

    def appraise(self, qualified: bool = True, by: Actor = APPRAISER) -> None:
        answers = {
            comment_id: CommentAnswer(Disposition.NOTED, "Tiếp thu ý kiến ủng hộ.")
            for comment_id in self.comment_ids
        }
        self.dossier.appraise(
            qualified=qualified,
            opinion="Hồ sơ đủ thành phần; thành tích đạt tiêu chuẩn theo quy định.",
            answers=answers,
            by=by,
            at=self.next_day(),
        )

    def open_council_review(self, members: Sequence[str] = MEMBER_IDS) -> None:
        meeting_at = self.next_day()
        self.dossier.open_council_review(
            members=list(members), meeting_on=self.today, by=SECRETARY, at=meeting_at
        )

    def vote(self, voters: Sequence[Actor], vote: Vote = Vote.YES) -> None:
        for voter in voters:
            self.dossier.cast_ballot(vote=vote, by=voter, at=self.now())

    def conclude(self, present: Sequence[str] = MEMBER_IDS) -> None:
        self.dossier.conclude_council_review(present=list(present), by=SECRETARY, at=self.now())

    def council_passes(self) -> None:
        self.open_council_review()
        self.vote(MEMBERS)
        self.conclude()

    def record_party_opinion(self, favourable: bool = True) -> None:
        self.dossier.record_party_opinion(
            document_number="1234-CV/TU",
            document_date=self.today,
            favourable=favourable,
            summary="Ban Thường vụ Tỉnh ủy nhất trí đề nghị.",
            by=APPRAISER,
            at=self.next_day(),
        )

    def approve(self, number: str = "123/QĐ-UBND") -> None:
        moment = self.next_day()
        self.dossier.approve(
            decision_number=number, decision_date=self.today, by=CHAIRMAN, at=moment
        )

    def reject(self) -> None:
        moment = self.next_day()
        self.dossier.reject(
            reason="Thành tích chưa tiêu biểu so với các đối tượng khác trong tỉnh.",
            notice_number="56/TB-UBND",
            notice_date=self.today,
            by=CHAIRMAN,
            at=moment,
        )

    def forward(self, number: str = "45/TTr-UBND") -> None:
        moment = self.next_day()
        self.dossier.forward_upward(
            submission_number=number, submission_date=self.today, by=CHAIRMAN, at=moment
        )

    def record_central_decision(
        self, outcome: CentralOutcome = CentralOutcome.CONFERRED, number: str = "789/QĐ-TTg"
    ) -> None:
        moment = self.next_day(20)
        self.dossier.record_central_decision(
            outcome=outcome,
            decision_number=number,
            decision_date=self.today,
            note="Quyết định của Thủ tướng Chính phủ.",
            by=APPRAISER,
            at=moment,
        )

    def withdraw(self, by: Actor = COLLEAGUE) -> None:
        self.dossier.withdraw(
            reason="Đơn vị rút hồ sơ để hoàn thiện thêm.", by=by, at=self.next_day()
        )

    def revoke(self, number: str | None = None, by: Actor = CHAIRMAN) -> None:
        if number is None:
            number = "9/QĐ-TTg" if self.dossier.award.is_state_level else "9/QĐ-UBND"
        moment = self.next_day(40)
        self.dossier.revoke(
            grounds=Grounds.FALSE_DOCUMENTS,
            explanation="Kết luận thanh tra: báo cáo thành tích kê khai không trung thực.",
            decision_number=number,
            decision_date=self.today,
            by=by,
            at=moment,
        )


def submitted(
    award_code: str = PROVINCIAL_WITHOUT_COUNCIL, *, on: date = SUBMISSION_DAY, **kwargs: Any
) -> Case:
    """A dossier for ``award_code`` submitted at 09:00 on ``on`` (by default a Monday)."""
    return Case(submit(award_code, on=on, **kwargs), today=on)


_DEFAULT_AWARD_FOR_STAGE = {
    Status.PUBLIC_COMMENT: STATE_LEVEL,
    Status.COMMENT_CLOSED: STATE_LEVEL,
    Status.AWAITING_COUNCIL: PROVINCIAL_WITH_COUNCIL,
    Status.COUNCIL_VOTING: PROVINCIAL_WITH_COUNCIL,
    Status.NOT_RECOMMENDED: PROVINCIAL_WITH_COUNCIL,
    Status.FORWARDED: STATE_LEVEL,
    Status.CONFERRED: STATE_LEVEL,
    Status.DECLINED: STATE_LEVEL,
}


def dossier_at(stage: Status, award_code: str | None = None) -> Case:
    """A dossier driven along the flow with valid commands until it reaches ``stage``.

    Without an award code, the stage picks one that passes through it: a state-level award for
    public comment and upward stages, a provincial award with a council for council stages, and
    the provincial Bằng khen otherwise. HELD is a dossier held right after submission.
    """
    code = award_code or _DEFAULT_AWARD_FOR_STAGE.get(stage, PROVINCIAL_WITHOUT_COUNCIL)
    case = submitted(code)
    rule = award(code)
    if stage is Status.SUBMITTED:
        return case
    if stage is Status.RETURNED:
        case.return_for_supplement()
        return case
    if stage is Status.HELD:
        case.hold()
        return case
    if stage is Status.WITHDRAWN:
        case.withdraw()
        return case
    if rule.public_comment:
        case.open_public_comment()
        case.next_day()
        case.receive_comment()
        if stage is Status.PUBLIC_COMMENT:
            return case
        case.close_public_comment()
        if stage is Status.COMMENT_CLOSED:
            return case
    case.appraise(qualified=stage is not Status.NOT_QUALIFIED)
    if stage in {Status.NOT_QUALIFIED, Status.AWAITING_COUNCIL}:
        return _arrived(case, stage)
    if rule.council_required:
        case.open_council_review()
        if stage is Status.COUNCIL_VOTING:
            return case
        if stage is Status.NOT_RECOMMENDED:
            case.vote(MEMBERS[:8])
            case.vote(MEMBERS[8:], Vote.NO)
        else:
            case.vote(MEMBERS)
        case.conclude()
        if stage is Status.NOT_RECOMMENDED:
            return _arrived(case, stage)
    if rule.party_opinion and stage is not Status.AWAITING_DECISION:
        case.record_party_opinion()
    if stage is Status.AWAITING_DECISION:
        return _arrived(case, stage)
    if stage is Status.REJECTED:
        case.reject()
        return _arrived(case, stage)
    if rule.is_state_level:
        case.forward()
        if stage is Status.FORWARDED:
            return case
        outcome = CentralOutcome.DECLINED if stage is Status.DECLINED else CentralOutcome.CONFERRED
        case.record_central_decision(outcome)
        if stage in {Status.CONFERRED, Status.DECLINED}:
            return _arrived(case, stage)
    else:
        case.approve()
        if stage is Status.APPROVED:
            return case
    if stage is Status.REVOKED:
        case.revoke()
    return _arrived(case, stage)


def _arrived(case: Case, stage: Status) -> Case:
    assert case.status is stage, f"{case.dossier.award.code} cannot reach {stage}"
    return case


# --- checks ----------------------------------------------------------------------------------------


def is_vietnamese(message: str) -> bool:
    """NFC text with at least one Vietnamese letter carrying a diacritic (or đ)."""
    if unicodedata.normalize("NFC", message) != message:
        return False
    return any(ch in "đĐ" or unicodedata.normalize("NFD", ch) != ch for ch in message)


def assert_message(error: BaseException, *facts: str) -> None:
    """The error speaks Vietnamese and names the facts a person needs to act on it."""
    message = str(error)
    assert is_vietnamese(message), message
    for fact in facts:
        assert fact in message, f"{fact!r} not in {message!r}"


def snapshot(dossier: Dossier) -> tuple[int, Status, int, dict[str, Any]]:
    """What a failed command must leave untouched: version, status, pending events, all state."""
    state = {key: value for key, value in vars(dossier).items() if key != "_pending_events"}
    return dossier.version, dossier.status, len(dossier.pending_events), copy.deepcopy(state)
