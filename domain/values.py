"""Value objects of a dossier: the nominee, private details, prior titles, comments, ballots."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.errors import InvalidValue
from domain.rulebook import Subject
from domain.shared import require_text


class TitleKind(StrEnum):
    """Only regular (yearly) titles count toward merit awards (Law, Art. 21-22)."""

    REGULAR = "regular"
    UNSCHEDULED = "unscheduled"
    THEMATIC = "thematic"


class CommentKind(StrEnum):
    SUPPORT = "support"
    OBJECTION = "objection"
    INFORMATION = "information"


class CommentStatus(StrEnum):
    """Where a comment stands in moderation: received, then published or withheld by the
    appraiser (a decision may be changed later; nothing is deleted)."""

    RECEIVED = "received"
    PUBLISHED = "published"
    WITHHELD = "withheld"

    @property
    def label(self) -> str:
        return COMMENT_STATUS_LABELS[self]


COMMENT_STATUS_LABELS: dict[CommentStatus, str] = {
    CommentStatus.RECEIVED: "Đã tiếp nhận, chờ kiểm duyệt",
    CommentStatus.PUBLISHED: "Đã công bố",
    CommentStatus.WITHHELD: "Không công bố",
}
MODERATION_DECISIONS = (CommentStatus.PUBLISHED, CommentStatus.WITHHELD)
MAX_MODERATION_REASON = 2000


class Disposition(StrEnum):
    NOTED = "noted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Vote(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class HoldKind(StrEnum):
    DISCIPLINE = "discipline"
    INSPECTION = "inspection"
    COMPLAINT = "complaint"


class Grounds(StrEnum):
    """Why an award is revoked (Law, Art. 92-93)."""

    FRAUD = "fraud"
    FALSE_DOCUMENTS = "false_documents"
    UNLAWFUL_APPRAISAL = "unlawful_appraisal"
    STANDARDS_UNMET = "standards_unmet"


class CentralOutcome(StrEnum):
    CONFERRED = "conferred"
    DECLINED = "declined"


@dataclass(frozen=True)
class Nominee:
    """What may be published: the nominee's name and position or title (for a collective, what
    it is, e.g. "Trường THPT Chu Văn An")."""

    kind: Subject
    name: str
    position: str

    def __post_init__(self) -> None:
        kind = Subject(self.kind)
        if kind is Subject.ANY:
            raise InvalidValue("loại đối tượng", "phải là cá nhân hoặc tập thể")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "name", require_text("tên đối tượng", self.name, max_length=200))
        object.__setattr__(
            self, "position", require_text("chức vụ, chức danh", self.position, max_length=300)
        )


_IDENTITY = re.compile(r"^\d{12}$")
_PHONE = re.compile(r"^\+?[0-9 .-]{8,20}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")


@dataclass(frozen=True)
class PersonalDetails:
    """Private: never published (domain.md, "What the public may see")."""

    identity_number: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        if self.identity_number is not None and not _IDENTITY.match(self.identity_number):
            raise InvalidValue("số định danh cá nhân", "phải gồm đúng 12 chữ số")
        if self.date_of_birth is not None and not (
            date(1900, 1, 1) <= self.date_of_birth <= date(2100, 1, 1)
        ):
            raise InvalidValue("ngày sinh", "không hợp lệ")
        if self.phone is not None and not _PHONE.match(self.phone):
            raise InvalidValue("số điện thoại", "không hợp lệ")
        if self.email is not None and not _EMAIL.match(self.email):
            raise InvalidValue("thư điện tử", "không hợp lệ")
        if self.address is not None:
            object.__setattr__(
                self, "address", require_text("địa chỉ", self.address, max_length=500)
            )


@dataclass(frozen=True)
class PriorTitle:
    """An emulation title the nominee already holds, for the eligibility chains."""

    title_code: str
    year: int
    decision_number: str
    kind: TitleKind = TitleKind.REGULAR

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", TitleKind(self.kind))
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise InvalidValue("năm đạt danh hiệu", "phải là số nguyên")
        if not 1945 <= self.year <= 2100:
            raise InvalidValue("năm đạt danh hiệu", "không hợp lệ")
        object.__setattr__(
            self, "title_code", require_text("mã danh hiệu", self.title_code, max_length=60)
        )
        object.__setattr__(
            self,
            "decision_number",
            require_text("số quyết định danh hiệu", self.decision_number, max_length=60),
        )


@dataclass(frozen=True)
class Comment:
    """A comment from the people on a published nomination. ``contact`` is private.

    ``status`` is its moderation: received (not yet decided), published or withheld; the
    reason and day are those of the latest decision."""

    comment_id: str
    kind: CommentKind
    text: str
    author_name: str | None
    contact: str | None
    received_on: date
    status: CommentStatus = CommentStatus.RECEIVED
    moderation_reason: str | None = None
    moderated_on: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", CommentKind(self.kind))
        object.__setattr__(self, "status", CommentStatus(self.status))


@dataclass(frozen=True)
class CommentAnswer:
    """The appraisal's answer to one comment: noted, accepted or rejected, with a reason."""

    disposition: Disposition
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "disposition", Disposition(self.disposition))
        object.__setattr__(
            self, "reason", require_text("lý do trả lời ý kiến", self.reason, max_length=4000)
        )


@dataclass(frozen=True)
class CouncilResult:
    """The recorded result of a council review; shares count all members, not those present."""

    members: int
    present: int
    votes_for: int
    votes_against: int
    abstentions: int
    conflicted: int
    quorum_required: int
    votes_required: int
    passed: bool
