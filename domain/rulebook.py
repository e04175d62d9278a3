"""The award catalogue as data with an effective date (domain.md, "The rulebook").

A dossier is judged by the rulebook edition in force on the day it was submitted; the
submission records that edition and a copy of the award's rule, so a later edition never
changes how an earlier dossier is judged.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from importlib import resources
from typing import Any

from domain.errors import NoRulebookInForce, RulebookError, UnknownAward


class Level(StrEnum):
    PROVINCIAL = "provincial"
    STATE = "state"


class Subject(StrEnum):
    INDIVIDUAL = "individual"
    COLLECTIVE = "collective"
    ANY = "any"


class Decider(StrEnum):
    PROVINCIAL_CHAIRMAN = "provincial_chairman"
    PRIME_MINISTER = "prime_minister"
    PRESIDENT = "president"


SUBJECT_LABELS = {
    Subject.INDIVIDUAL: "cá nhân",
    Subject.COLLECTIVE: "tập thể",
    Subject.ANY: "cá nhân hoặc tập thể",
}

DECIDER_LABELS = {
    Decider.PROVINCIAL_CHAIRMAN: "Chủ tịch UBND tỉnh",
    Decider.PRIME_MINISTER: "Thủ tướng Chính phủ",
    Decider.PRESIDENT: "Chủ tịch nước",
}

DECIDER_DOCUMENT_SUFFIX = {
    Decider.PROVINCIAL_CHAIRMAN: "QĐ-UBND",
    Decider.PRIME_MINISTER: "QĐ-TTg",
    Decider.PRESIDENT: "QĐ-CTN",
}
"""The official suffix of a decision number signed by each decider (e.g. 123/QĐ-TTg)."""


@dataclass(frozen=True)
class Prerequisite:
    """An eligibility chain (Law, Art. 21-22): the nominee must have held a lower title a number
    of consecutive times. A title conferred once per term (Chiến sĩ thi đua cấp tỉnh: every three
    years) is consecutive when each one follows the previous term."""

    title_code: str
    title_name: str
    consecutive_times: int
    term_years: int = 1


@dataclass(frozen=True)
class AwardRule:
    """What the law says about one award form or emulation title."""

    code: str
    name: str
    subject: Subject
    level: Level
    decider: Decider
    public_comment: bool
    comment_days: int
    council_required: bool
    quorum: Decimal
    threshold: Decimal
    appraisal_days: int
    party_opinion: bool = False
    prerequisite: Prerequisite | None = None

    def __post_init__(self) -> None:
        # Stored copies come back from JSON with plain strings; restore the enums.
        object.__setattr__(self, "subject", Subject(self.subject))
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "decider", Decider(self.decider))

    @property
    def is_state_level(self) -> bool:
        return self.level is Level.STATE

    def admits(self, subject: Subject) -> bool:
        return self.subject is Subject.ANY or self.subject is subject


@dataclass(frozen=True)
class Rulebook:
    """One edition of the catalogue, in force from ``effective_from``."""

    edition: str
    title: str
    effective_from: date
    awards: Mapping[str, AwardRule] = field(default_factory=dict)

    def rule(self, award_code: str) -> AwardRule:
        try:
            return self.awards[award_code]
        except KeyError:
            raise UnknownAward(award_code, self.edition) from None


class RulebookHistory:
    """All editions a deployment knows; picks the one in force on a date."""

    def __init__(self, editions: Iterable[Rulebook]) -> None:
        self.editions = sorted(editions, key=lambda book: book.effective_from)
        if not self.editions:
            raise RulebookError(["cần ít nhất một bộ quy tắc"])
        dates = [book.effective_from for book in self.editions]
        if len(set(dates)) != len(dates):
            raise RulebookError(["hai bộ quy tắc không được có cùng ngày hiệu lực"])
        names = [book.edition for book in self.editions]
        if len(set(names)) != len(names):
            raise RulebookError(["hai bộ quy tắc không được trùng tên"])

    def in_force(self, on: date) -> Rulebook:
        current: Rulebook | None = None
        for book in self.editions:
            if book.effective_from <= on:
                current = book
        if current is None:
            raise NoRulebookInForce(on)
        return current

    def edition(self, name: str) -> Rulebook:
        for book in self.editions:
            if book.edition == name:
                return book
        raise RulebookError([f"không có bộ quy tắc «{name}»"])


# --- building a rulebook from data (TOML, YAML or a plain mapping), with clear errors --------

_AWARD_KEYS = {
    "code", "name", "subject", "level", "decider", "public_comment", "comment_days",
    "council_required", "quorum", "threshold", "appraisal_days", "party_opinion", "prerequisite",
}  # fmt: skip
_REQUIRED_AWARD_KEYS = _AWARD_KEYS - {"party_opinion", "prerequisite", "comment_days"}


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")


def _choice(problems: _Problems, where: str, value: Any, enum: type[StrEnum]) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        problems.add(where, f"giá trị «{value}» không hợp lệ (chọn một trong: {allowed})")
        return None


def _integer(problems: _Problems, where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, "phải là số nguyên")
        return low
    if not low <= value <= high:
        problems.add(where, f"phải trong khoảng {low}–{high}")
    return value


def _share(problems: _Problems, where: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        problems.add(where, "phải là một tỷ lệ từ 0 đến 1, ví dụ 0.9")
        return Decimal(0)
    try:
        share = Decimal(str(value))
    except InvalidOperation:
        problems.add(where, "phải là một tỷ lệ từ 0 đến 1, ví dụ 0.9")
        return Decimal(0)
    if not Decimal(0) <= share <= Decimal(1):
        problems.add(where, "phải từ 0 đến 1 (tỷ lệ trên tổng số thành viên)")
    return share


def _boolean(problems: _Problems, where: str, value: Any) -> bool:
    if not isinstance(value, bool):
        problems.add(where, "phải là true hoặc false")
        return False
    return value


def _text(problems: _Problems, where: str, value: Any, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.add(where, "phải là một chuỗi không rỗng")
        return ""
    if len(value) > max_length:
        problems.add(where, f"dài quá {max_length} ký tự")
    return value.strip()


def _prerequisite(problems: _Problems, where: str, value: Any) -> Prerequisite | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        problems.add(
            where, "phải là một bảng gồm title_code, title_name, consecutive_times, term_years"
        )
        return None
    unknown = set(value) - {"title_code", "title_name", "consecutive_times", "term_years"}
    for key in sorted(unknown):
        problems.add(f"{where}.{key}", "khóa không được hỗ trợ")
    return Prerequisite(
        title_code=_text(problems, f"{where}.title_code", value.get("title_code"), 60),
        title_name=_text(problems, f"{where}.title_name", value.get("title_name")),
        term_years=_integer(problems, f"{where}.term_years", value.get("term_years", 1), 1, 10),
        consecutive_times=_integer(
            problems, f"{where}.consecutive_times", value.get("consecutive_times"), 1, 10
        ),
    )


def _award(problems: _Problems, where: str, data: Any) -> AwardRule | None:
    if not isinstance(data, Mapping):
        problems.add(where, "phải là một bảng")
        return None
    for key in sorted(set(data) - _AWARD_KEYS):
        problems.add(f"{where}.{key}", "khóa không được hỗ trợ")
    missing = sorted(_REQUIRED_AWARD_KEYS - set(data))
    for key in missing:
        problems.add(f"{where}.{key}", "thiếu")
    if missing:
        return None
    code = _text(problems, f"{where}.code", data["code"], 60)
    if code and not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in code):
        problems.add(f"{where}.code", "chỉ gồm chữ cái không dấu, chữ số và dấu gạch dưới")
    public_comment = _boolean(problems, f"{where}.public_comment", data["public_comment"])
    comment_days = _integer(problems, f"{where}.comment_days", data.get("comment_days", 0), 0, 60)
    if public_comment and comment_days < 1:
        problems.add(f"{where}.comment_days", "phải ít nhất 1 khi cần lấy ý kiến Nhân dân")
    rule = AwardRule(
        code=code,
        name=_text(problems, f"{where}.name", data["name"]),
        subject=_choice(problems, f"{where}.subject", data["subject"], Subject) or Subject.ANY,
        level=_choice(problems, f"{where}.level", data["level"], Level) or Level.PROVINCIAL,
        decider=_choice(problems, f"{where}.decider", data["decider"], Decider)
        or Decider.PROVINCIAL_CHAIRMAN,
        public_comment=public_comment,
        comment_days=comment_days,
        council_required=_boolean(problems, f"{where}.council_required", data["council_required"]),
        quorum=_share(problems, f"{where}.quorum", data["quorum"]),
        threshold=_share(problems, f"{where}.threshold", data["threshold"]),
        appraisal_days=_integer(
            problems, f"{where}.appraisal_days", data["appraisal_days"], 1, 120
        ),
        party_opinion=_boolean(
            problems, f"{where}.party_opinion", data.get("party_opinion", False)
        ),
        prerequisite=_prerequisite(problems, f"{where}.prerequisite", data.get("prerequisite")),
    )
    _check_consistency(problems, where, rule)
    return rule


def _check_consistency(problems: _Problems, where: str, rule: AwardRule) -> None:
    if rule.level is Level.STATE and rule.decider is Decider.PROVINCIAL_CHAIRMAN:
        problems.add(
            f"{where}.decider", "khen thưởng cấp Nhà nước không do Chủ tịch UBND tỉnh quyết định"
        )
    if rule.level is Level.PROVINCIAL and rule.decider is not Decider.PROVINCIAL_CHAIRMAN:
        problems.add(f"{where}.decider", "khen thưởng cấp tỉnh do Chủ tịch UBND tỉnh quyết định")
    if rule.level is Level.STATE and not rule.public_comment:
        problems.add(f"{where}.public_comment", "khen thưởng cấp Nhà nước phải lấy ý kiến Nhân dân")
    if rule.council_required and (rule.quorum <= 0 or rule.threshold <= 0):
        problems.add(where, "khi cần Hội đồng biểu quyết, quorum và threshold phải lớn hơn 0")
    if rule.prerequisite is not None and rule.prerequisite.title_code == rule.code:
        problems.add(f"{where}.prerequisite", "không thể tự làm điều kiện của chính mình")


def rulebook_from_mapping(data: Any, source: str = "bộ quy tắc") -> Rulebook:
    """Validate and build one edition; every problem found is listed in one RulebookError."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise RulebookError(
            ["nội dung phải là một bảng (edition, title, effective_from, awards)"], source
        )
    for key in sorted(set(data) - {"edition", "title", "effective_from", "awards"}):
        problems.add(key, "khóa không được hỗ trợ")
    edition = _text(problems, "edition", data.get("edition"), 60)
    title = _text(problems, "title", data.get("title"), 300)
    raw_date = data.get("effective_from")
    effective_from = date(1900, 1, 1)
    if isinstance(raw_date, datetime):
        problems.add("effective_from", "phải là một ngày, không kèm giờ")
    elif isinstance(raw_date, date):
        effective_from = raw_date
    elif isinstance(raw_date, str):
        try:
            effective_from = date.fromisoformat(raw_date)
        except ValueError:
            problems.add("effective_from", "phải là ngày dạng YYYY-MM-DD")
    else:
        problems.add("effective_from", "thiếu hoặc không phải ngày dạng YYYY-MM-DD")
    awards_data = data.get("awards")
    awards: dict[str, AwardRule] = {}
    if not isinstance(awards_data, list) or not awards_data:
        problems.add("awards", "phải là danh sách không rỗng các hình thức khen thưởng")
        awards_data = []
    for index, item in enumerate(awards_data):
        where = f"awards[{index}]"
        if isinstance(item, Mapping) and isinstance(item.get("code"), str):
            where = f"awards[{index}] ({item['code']})"
        rule = _award(problems, where, item)
        if rule is None:
            continue
        if rule.code in awards:
            problems.add(where, f"mã «{rule.code}» bị trùng")
        awards[rule.code] = rule
    if problems.items:
        raise RulebookError(problems.items, source)
    return Rulebook(edition=edition, title=title, effective_from=effective_from, awards=awards)


def load_toml_rulebook(text: str, source: str) -> Rulebook:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulebookError([f"không đọc được TOML: {error}"], source) from None
    return rulebook_from_mapping(data, source)


def default_rulebooks() -> RulebookHistory:
    """The editions shipped with the service (currently Decree 152/2025/NĐ-CP)."""
    folder = resources.files("domain") / "rulebooks"
    editions = [
        load_toml_rulebook(entry.read_text(encoding="utf-8"), entry.name)
        for entry in sorted(folder.iterdir(), key=lambda item: item.name)
        if entry.name.endswith(".toml")
    ]
    return RulebookHistory(editions)
