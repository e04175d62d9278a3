"""Value objects shared by the aggregates: who acts, documents, Vietnamese text, time."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from domain.errors import InvalidValue

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
"""Vietnam keeps UTC+7 all year; legal dates are Vietnamese calendar dates."""


def local_date(moment: datetime) -> date:
    """The calendar date in Vietnam at a moment (timestamps are stored in UTC)."""
    if moment.tzinfo is None:
        raise InvalidValue("thời điểm", "phải kèm múi giờ")
    return moment.astimezone(VIETNAM_TZ).date()


class Role(StrEnum):
    SUBMITTER = "submitter"
    APPRAISER = "appraiser"
    COUNCIL_SECRETARY = "council_secretary"
    COUNCIL_MEMBER = "council_member"
    CHAIRMAN = "chairman"
    AUDITOR = "auditor"
    ADMIN = "admin"
    PUBLIC = "public"
    """The public intake: a citizen's comment arriving through the public pages."""


ROLE_LABELS: dict[Role, str] = {
    Role.SUBMITTER: "Đơn vị trình",
    Role.APPRAISER: "Chuyên viên thẩm định (Sở Nội vụ)",
    Role.COUNCIL_SECRETARY: "Thư ký Hội đồng",
    Role.COUNCIL_MEMBER: "Thành viên Hội đồng",
    Role.CHAIRMAN: "Chủ tịch UBND tỉnh",
    Role.AUDITOR: "Thanh tra, kiểm toán",
    Role.ADMIN: "Quản trị hệ thống",
    Role.PUBLIC: "Người dân",
}


def nfc(text: str) -> str:
    """Vietnamese text is stored in Unicode NFC with surrounding blanks removed."""
    return unicodedata.normalize("NFC", text).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Unicode category Cc except tab and newline."""


def require_text(field: str, value: str, *, max_length: int, min_length: int = 1) -> str:
    """Normalise a text field to NFC and check its length, in characters."""
    if not isinstance(value, str):
        raise InvalidValue(field, "phải là một chuỗi ký tự")
    text = nfc(value).replace("\r\n", "\n")
    if len(text) < min_length:
        raise InvalidValue(field, "không được để trống")
    if len(text) > max_length:
        raise InvalidValue(field, f"dài quá {max_length} ký tự")
    if _CONTROL.search(text):
        raise InvalidValue(field, "chứa ký tự điều khiển không hợp lệ")
    return text


@functools.lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lower-case, diacritics removed, đ→d: the search and identity form of a name."""
    decomposed = unicodedata.normalize("NFD", nfc(text).lower().replace("đ", "d"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.split())


def same_unit(first: str, second: str) -> bool:
    """Unit names match regardless of case and of how their diacritics were typed."""
    return fold(first) == fold(second)


@dataclass(frozen=True)
class Actor:
    """Who made a move: the user's id, the role they acted in, and their unit if bound to one."""

    user_id: str
    role: Role
    unit: str | None = None

    def __post_init__(self) -> None:
        if not self.user_id or len(self.user_id) > 100:
            raise InvalidValue("người thực hiện", "mã người dùng phải có từ 1 đến 100 ký tự")
        object.__setattr__(self, "role", Role(self.role))
        if self.unit is not None:
            object.__setattr__(self, "unit", require_text("đơn vị", self.unit, max_length=300))


_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_DOCUMENT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class DocumentRef:
    """A document of the dossier, identified by its content hash; the bytes live elsewhere."""

    name: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", require_text("tên tài liệu", self.name, max_length=255))
        digest = self.sha256.lower() if isinstance(self.sha256, str) else ""
        if not _SHA256.match(digest):
            raise InvalidValue("mã SHA-256 của tài liệu", "phải gồm đúng 64 chữ số thập lục phân")
        object.__setattr__(self, "sha256", digest)
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise InvalidValue("dung lượng tài liệu", "phải là số nguyên byte")
        if not 0 < self.size <= MAX_DOCUMENT_BYTES:
            raise InvalidValue("dung lượng tài liệu", "phải lớn hơn 0 và không quá 200 MiB")


def parse_date(field: str, value: date | str) -> date:
    if isinstance(value, datetime):
        raise InvalidValue(field, "phải là một ngày, không kèm giờ")
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidValue(field, "phải là ngày dạng YYYY-MM-DD") from None
