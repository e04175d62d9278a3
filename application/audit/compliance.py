"""Compliance replay: re-check every recorded decision against the rulebook in force when its
dossier was submitted.

The domain refuses a move that breaks a rule, but events can reach the store another way (a
legacy import, a script, a hand-edited database). So this module trusts nothing the domain's
commands checked: it reads every dossier's stored events in log order and re-derives each rule
from the events themselves, the rulebook history and the working-day calendar. It never calls a
command, a mutator or a check of :mod:`domain.dossier`; from the domain it takes only the event
classes (to read the log), the rulebook's data and plain helpers (local dates, unit names).

Each rule has an id (``RULES``); a breach is a :class:`Finding` naming the dossier, the event
(log position and version), the rule, what was expected and what happened.

Memory: one small record per dossier (the rule it is judged by, a few dates, who submitted),
plus its comments while they await the appraisal and its ballots while the council votes, and
one entry per document number. Events are read in chunks and dropped.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Final
from uuid import UUID

from application.projections.runner import (
    READ_CHUNK,
    EventDecoder,
    LogReader,
    LogRow,
    event_topics,
    notifications_reader,
)
from application.store import Store
from domain.calendar import WorkCalendar
from domain.dossier import SUBMISSION_SUFFIX, Dossier
from domain.errors import DomainError
from domain.registers import DocumentKind
from domain.rulebook import (
    DECIDER_DOCUMENT_SUFFIX,
    AwardRule,
    Decider,
    RulebookHistory,
    Subject,
)
from domain.shared import ROLE_LABELS, Actor, Role, fold, local_date
from domain.values import Vote

__all__ = ["RULES", "ComplianceReplay", "Finding", "ReplaySummary"]

RULES: Final[Mapping[str, str]] = {
    "history": "Lịch sử hồ sơ đọc được và liền mạch",
    "rulebook": "Áp dụng bộ quy tắc có hiệu lực vào ngày trình hồ sơ",
    "comment_window": "Lấy ý kiến Nhân dân đủ số ngày làm việc và kết thúc trước khi thẩm định",
    "comments_answered": "Mọi ý kiến Nhân dân được trả lời trong kết quả thẩm định",
    "appraisal_deadline": "Thẩm định trong thời hạn (ngày làm việc, trừ thời gian trả lại và "
    "tạm dừng)",
    "appraisal_required": "Chỉ quyết định hoặc trình cấp trên sau khi thẩm định đủ điều kiện",
    "council_required": "Hội đồng thông qua trước khi quyết định hoặc trình cấp trên",
    "council_ballots": "Chỉ thành viên Hội đồng bỏ phiếu, mỗi người một phiếu, trong phiên xét",
    "council_quorum": "Đủ số thành viên dự họp, tính trên tổng số thành viên Hội đồng",
    "council_threshold": "Đủ số phiếu đồng ý, tính trên tổng số thành viên Hội đồng",
    "conflict_of_interest": "Thành viên có xung đột lợi ích (đã khai báo, hoặc công tác tại đơn "
    "vị của đối tượng) không bỏ phiếu",
    "separation_of_duties": "Người trình hồ sơ không thẩm định, bỏ phiếu, quyết định hồ sơ đó",
    "signer_role": "Quyết định, tờ trình do Chủ tịch UBND tỉnh ký",
    "decision_authority": "Đúng thẩm quyền: tỉnh quyết định khen thưởng cấp tỉnh, trình cấp trên "
    "khen thưởng cấp Nhà nước",
    "decision_number_format": "Số văn bản đúng mẫu (số/QĐ-UBND, số/TTr-UBND, số/QĐ-TTg, số/QĐ-CTN)",
    "decision_number_unique": "Một số văn bản trong một năm chỉ dùng cho một văn bản",
}
"""Every rule the replay checks: its id (stable, used in the JSON) and its Vietnamese title."""

_NUMBER: Final = r"[1-9][0-9]{0,5}"
"""The number part of an official document number (1 to 6 digits, no leading zero)."""

_DOCUMENT_KINDS: Final[Mapping[str, str]] = {
    DocumentKind.AWARD_DECISION: "quyết định khen thưởng",
    DocumentKind.SUBMISSION: "tờ trình",
    DocumentKind.CENTRAL_DECISION: "quyết định của cấp trên",
    DocumentKind.REVOCATION: "quyết định hủy bỏ",
}


@dataclass(frozen=True)
class Finding:
    """One breach: which dossier, which event (log position and version), which rule."""

    dossier_id: UUID
    position: int
    version: int
    event: str
    """The event's class name (``Approved``); ``event_label`` is its Vietnamese name."""
    event_label: str
    rule: str
    expected: str
    actual: str

    @property
    def rule_title(self) -> str:
        return RULES[self.rule]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dossier_id": str(self.dossier_id),
            "position": self.position,
            "version": self.version,
            "event": self.event,
            "event_label": self.event_label,
            "rule": self.rule,
            "rule_title": self.rule_title,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass
class ReplaySummary:
    """What a replay covered: the log up to ``position``, its dossiers and their events."""

    position: int = 0
    dossiers: int = 0
    events: int = 0
    findings: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)


_NONE: frozenset[str] = frozenset()


class _Case:
    """What the replay remembers of one dossier between its events."""

    __slots__ = (
        "appraised",
        "ballots",
        "clock_start",
        "comment_closed_on",
        "comment_closes_on",
        "comment_opened_on",
        "comments",
        "conflicts",
        "council_passed",
        "excluded",
        "members",
        "nominee_unit",
        "pause_depth",
        "paused_since",
        "pauses",
        "qualified",
        "rule",
        "submitters",
        "unit",
        "version",
        "voting",
    )

    def __init__(
        self, rule: AwardRule, submitted_on: date, unit: str, nominee_unit: str | None
    ) -> None:
        self.rule = rule
        self.version = 1
        self.unit = unit
        self.nominee_unit = nominee_unit
        self.submitters: tuple[str, ...] = ()
        self.comment_opened_on: date | None = None
        self.comment_closes_on: date | None = None
        self.comment_closed_on: date | None = None
        self.comments: set[str] | frozenset[str] = _NONE
        self.appraised = False
        self.qualified = False
        self.clock_start: date | None = None if rule.public_comment else submitted_on
        self.pauses: list[tuple[date, date]] = []
        self.paused_since: date | None = None
        self.pause_depth = 0
        self.members: frozenset[str] = _NONE
        self.voting = False
        self.ballots: dict[str, Vote] = {}
        self.conflicts: set[str] | frozenset[str] = _NONE
        self.excluded: set[str] | frozenset[str] = _NONE
        self.council_passed = False


def _day(value: date) -> str:
    return f"{value:%d/%m/%Y}"


def _share(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None


class ComplianceReplay:
    """Replays every dossier of a store and yields the breaches of the rules in ``RULES``.

    ``run()`` reads the log from its start to the position it had when the run began, in
    chunks, in log order; ``summary`` counts what was covered.
    """

    def __init__(
        self,
        store: Store,
        rulebooks: RulebookHistory,
        calendar: WorkCalendar,
        *,
        reader: LogReader | None = None,
        chunk: int = READ_CHUNK,
    ) -> None:
        self._store = store
        self._rulebooks = rulebooks
        self._calendar = calendar
        self._read = reader or notifications_reader(store)
        self._chunk = max(1, chunk)
        kinds = event_topics([Dossier])
        self._topics = sorted(kinds)
        self._names = {topic: topic.rpartition(".")[2] for topic in kinds}
        self._labels = {
            name: str(getattr(getattr(Dossier, name), "label", name))
            for name in self._names.values()
        }
        self._decode = EventDecoder(store.mapper)
        self.summary = ReplaySummary()
        self._cases: dict[UUID, _Case] = {}
        self._orphans: set[UUID] = set()
        self._numbers: dict[tuple[str, int], tuple[date, DocumentKind, UUID]] = {}
        self._found: list[Finding] = []
        self._at: tuple[UUID, int, int, str, str] = (UUID(int=0), 0, 0, "", "")
        self._handlers = {
            "ReturnedForSupplement": self._returned,
            "Supplemented": self._supplemented,
            "PublicCommentOpened": self._comment_opened,
            "CommentReceived": self._comment_received,
            "CommentModerated": self._comment_moderated,
            "PublicCommentClosed": self._comment_closed,
            "Held": self._held,
            "HoldLifted": self._hold_lifted,
            "Appraised": self._appraised,
            "CouncilReviewOpened": self._council_opened,
            "ConflictOfInterestDeclared": self._conflict_declared,
            "BallotCast": self._ballot_cast,
            "CouncilReviewConcluded": self._council_concluded,
            "Approved": self._approved,
            "Rejected": self._rejected,
            "ForwardedUpward": self._forwarded,
            "CentralDecisionRecorded": self._central_decision,
            "Revoked": self._revoked,
        }

    # --- reading the log ----------------------------------------------------------------

    def run(self) -> Iterator[Finding]:
        """Every finding, in log order."""
        head = self._store.max_position()
        self.summary.position = head
        start = 1
        while start <= head:
            rows = self._read(start, head, self._chunk, self._topics)
            if not rows:
                break
            for row in rows:
                self._replay(row)
                if self._found:
                    yield from self._found
                    self._found.clear()
            start = rows[-1][0] + 1

    def _replay(self, row: LogRow) -> None:
        position, originator_id, version, topic, _ = row
        dossier_id = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        name = self._names.get(topic, topic)
        label = self._labels.get(name, name)
        self._at = (dossier_id, position, version, name, label)
        self.summary.events += 1
        case = self._cases.get(dossier_id)
        if case is not None and name != "Submitted":
            if version != case.version + 1:
                self._flag("history", f"phiên bản {case.version + 1}", f"phiên bản {version}")
            case.version = version
        try:
            self._check(self._decode(row), case, name)
        except Exception as error:  # whatever one bad row holds, the replay goes on
            self._flag("history", "sự kiện đọc được", f"không đọc được: {str(error)[:200]}")

    def _check(self, event: Any, case: _Case | None, name: str) -> None:
        if name == "Submitted":
            if case is None:
                self._submitted(event)
            return
        if case is None:
            dossier_id = self._at[0]
            if dossier_id not in self._orphans:
                self._orphans.add(dossier_id)
                self._flag(
                    "history",
                    "hồ sơ bắt đầu bằng sự kiện tiếp nhận",
                    "không có sự kiện tiếp nhận; các sự kiện của hồ sơ không được kiểm tra",
                )
            return
        handler = self._handlers.get(name)
        if handler is not None:
            handler(case, event, local_date(event.timestamp))

    def _flag(self, rule: str, expected: str, actual: str) -> None:
        dossier_id, position, version, name, label = self._at
        self._found.append(
            Finding(dossier_id, position, version, name, label, rule, expected, actual)
        )
        self.summary.findings += 1
        self.summary.by_rule[rule] += 1

    # --- submission: the rulebook ---------------------------------------------------------

    def _submitted(self, event: Any) -> None:
        dossier_id = self._at[0]
        self.summary.dossiers += 1
        day = local_date(event.timestamp)
        recorded: AwardRule = event.award
        rule = self._rule_in_force(day, event.rulebook_edition, recorded)
        nominee = event.nominee
        collective = nominee.kind == Subject.COLLECTIVE
        case = _Case(
            rule,
            day,
            fold(event.submitting_unit),
            fold(nominee.name) if collective else None,
        )
        case.submitters = (event.by.user_id,)
        self._cases[dossier_id] = case

    def _rule_in_force(self, day: date, edition: str, recorded: AwardRule) -> AwardRule:
        """The award's rule in the edition in force on the day of submission (the recorded
        copy when no edition was in force or the award is not in it)."""
        try:
            book = self._rulebooks.in_force(day)
            rule = book.rule(recorded.code)
        except DomainError as error:
            self._flag("rulebook", f"bộ quy tắc có hiệu lực ngày {_day(day)}", error.message)
            return recorded
        if edition != book.edition:
            self._flag(
                "rulebook",
                f"bộ quy tắc {book.edition} (hiệu lực từ {_day(book.effective_from)}) cho hồ sơ "
                f"trình ngày {_day(day)}",
                f"ghi nhận bộ quy tắc {edition}",
            )
        if recorded != rule:
            changed = [
                f"{item.name}: ghi nhận {getattr(recorded, item.name, None)}, "
                f"bộ quy tắc {getattr(rule, item.name)}"
                for item in fields(AwardRule)
                if getattr(recorded, item.name, None) != getattr(rule, item.name)
            ]
            self._flag(
                "rulebook",
                f"bản sao quy tắc «{rule.code}» đúng như bộ quy tắc {book.edition}",
                "; ".join(changed),
            )
        return rule

    # --- returns and holds: the paused clock ----------------------------------------------

    def _returned(self, case: _Case, event: Any, day: date) -> None:
        self._separate(case, event.by, "trả lại hồ sơ (thẩm định)")
        self._pause(case, day)

    def _supplemented(self, case: _Case, event: Any, day: date) -> None:
        if event.by.user_id not in case.submitters:
            case.submitters = (*case.submitters, event.by.user_id)
        self._resume(case, day)

    def _held(self, case: _Case, event: Any, day: date) -> None:
        self._pause(case, day)

    def _hold_lifted(self, case: _Case, event: Any, day: date) -> None:
        self._resume(case, day)

    @staticmethod
    def _pause(case: _Case, day: date) -> None:
        if case.pause_depth == 0:
            case.paused_since = day
        case.pause_depth += 1

    @staticmethod
    def _resume(case: _Case, day: date) -> None:
        if case.pause_depth == 0:
            return
        case.pause_depth -= 1
        if case.pause_depth == 0 and case.paused_since is not None:
            case.pauses.append((case.paused_since, day))
            case.paused_since = None

    # --- public comment -------------------------------------------------------------------

    def _comment_opened(self, case: _Case, event: Any, day: date) -> None:
        closes_on: date = event.closes_on
        case.comment_opened_on, case.comment_closes_on = day, closes_on
        days = case.rule.comment_days
        earliest = self._calendar.add_working_days(day, days)
        if case.rule.public_comment and closes_on < earliest:
            ran = self._calendar.working_days_between(day, closes_on)
            self._flag(
                "comment_window",
                f"lấy ý kiến ít nhất {days} ngày làm việc từ {_day(day)}: đến hết ngày "
                f"{_day(earliest)} trở đi",
                f"đến hết ngày {_day(closes_on)}: {ran} ngày làm việc",
            )

    def _comment_received(self, case: _Case, event: Any, day: date) -> None:
        if case.appraised:
            self._flag(
                "comments_answered",
                "ý kiến được nhận trước khi thẩm định để được trả lời",
                f"ý kiến «{event.comment_id}» nhận ngày {_day(day)}, sau khi đã thẩm định",
            )
            return
        if not case.comments:
            case.comments = set()
        assert isinstance(case.comments, set)
        case.comments.add(event.comment_id)

    def _comment_moderated(self, case: _Case, event: Any, day: date) -> None:
        self._separate(case, event.by, "kiểm duyệt ý kiến Nhân dân (thẩm định)")

    def _comment_closed(self, case: _Case, event: Any, day: date) -> None:
        case.comment_closed_on = case.clock_start = day
        closes_on = case.comment_closes_on
        if closes_on is not None and day <= closes_on:
            self._flag(
                "comment_window",
                f"kết thúc sau ngày cuối của thời hạn lấy ý kiến ({_day(closes_on)})",
                f"kết thúc ngày {_day(day)}",
            )

    # --- appraisal ------------------------------------------------------------------------

    def _appraised(self, case: _Case, event: Any, day: date) -> None:
        self._separate(case, event.by, "thẩm định")
        if case.rule.public_comment:
            self._check_window_ran(case, day)
        answers: Mapping[str, Any] = event.answers or {}
        missing = sorted(case.comments - set(answers))
        if missing:
            shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
            self._flag(
                "comments_answered",
                f"trả lời cả {len(case.comments)} ý kiến đã nhận",
                f"{len(missing)} ý kiến không được trả lời: {shown}",
            )
        self._check_deadline(case, day)
        case.appraised = True
        case.qualified = bool(event.qualified)
        case.comments = _NONE

    def _check_window_ran(self, case: _Case, day: date) -> None:
        if case.comment_opened_on is None:
            self._flag(
                "comment_window",
                f"công khai lấy ý kiến Nhân dân {case.rule.comment_days} ngày làm việc trước "
                "khi thẩm định",
                "thẩm định khi chưa lấy ý kiến Nhân dân",
            )
        elif case.comment_closed_on is None:
            closes = case.comment_closes_on
            self._flag(
                "comment_window",
                "kết thúc lấy ý kiến trước khi thẩm định",
                f"thẩm định ngày {_day(day)} khi chưa kết thúc lấy ý kiến"
                + (f" (thời hạn đến hết ngày {_day(closes)})" if closes else ""),
            )

    def _check_deadline(self, case: _Case, day: date) -> None:
        start = case.clock_start
        if start is None:
            return
        calendar = self._calendar
        pauses = list(case.pauses)
        if case.paused_since is not None:
            pauses.append((case.paused_since, day))
        paused = sum(calendar.working_days_between(max(a, start), b) for a, b in pauses)
        limit = case.rule.appraisal_days
        due = calendar.add_working_days(start, limit + paused)
        if day > due:
            late = calendar.working_days_between(due, day)
            self._flag(
                "appraisal_deadline",
                f"thẩm định trong {limit} ngày làm việc từ {_day(start)}"
                + (f" (không tính {paused} ngày làm việc trả lại, tạm dừng)" if paused else "")
                + f": hạn {_day(due)}",
                f"thẩm định ngày {_day(day)}: quá hạn {late} ngày làm việc",
            )

    # --- council --------------------------------------------------------------------------

    def _council_opened(self, case: _Case, event: Any, day: date) -> None:
        case.members = frozenset(event.members)
        case.voting = True
        case.ballots = {}
        case.conflicts = case.excluded = _NONE

    def _conflict_declared(self, case: _Case, event: Any, day: date) -> None:
        member = event.by.user_id
        if not case.conflicts:
            case.conflicts = set()
        assert isinstance(case.conflicts, set)
        case.conflicts.add(member)
        if member in case.ballots:
            self._flag(
                "conflict_of_interest",
                "thành viên có xung đột lợi ích không bỏ phiếu",
                f"«{member}» khai báo xung đột lợi ích sau khi đã bỏ phiếu",
            )

    def _ballot_cast(self, case: _Case, event: Any, day: date) -> None:
        by: Actor = event.by
        member = by.user_id
        self._separate(case, by, "bỏ phiếu")
        if not self._valid_ballot(case, by):
            return
        if member in case.conflicts:
            self._flag(
                "conflict_of_interest",
                "thành viên đã khai báo xung đột lợi ích không bỏ phiếu",
                f"«{member}» đã khai báo xung đột lợi ích và vẫn bỏ phiếu",
            )
        elif by.unit is not None and fold(by.unit) in (case.unit, case.nominee_unit):
            self._flag(
                "conflict_of_interest",
                "thành viên công tác tại đơn vị của đối tượng không bỏ phiếu",
                f"«{member}» ({by.unit}) bỏ phiếu",
            )
            if not case.excluded:
                case.excluded = set()
            assert isinstance(case.excluded, set)
            case.excluded.add(member)
        case.ballots[member] = Vote(event.vote)

    def _valid_ballot(self, case: _Case, by: Actor) -> bool:
        """Only a member of the open review, in that role, once: otherwise flagged, not counted."""
        member = by.user_id
        if not case.voting:
            problem = "bỏ phiếu khi Hội đồng không có phiên xét đang mở"
        elif member not in case.members:
            problem = f"«{member}» không thuộc Hội đồng của phiên xét"
        elif by.role is not Role.COUNCIL_MEMBER:
            problem = f"«{member}» bỏ phiếu với vai trò {ROLE_LABELS[by.role]}"
        elif member in case.ballots:
            problem = f"«{member}» bỏ phiếu lần thứ hai"
        else:
            return True
        self._flag("council_ballots", "mỗi thành viên Hội đồng một phiếu trong phiên xét", problem)
        return False

    def _council_concluded(self, case: _Case, event: Any, day: date) -> None:
        rule, members = case.rule, case.members
        total = len(members)
        quorum_required = math.ceil(Fraction(rule.quorum) * total)
        present = set(event.present)
        attending = len(present & members)
        recorded_quorum = _share(event.quorum)
        problems = []
        if attending < quorum_required:
            strangers = len(present - members)
            problems.append(
                f"{attending} thành viên dự họp"
                + (f" ({strangers} người ngoài Hội đồng không được tính)" if strangers else "")
            )
        if recorded_quorum != rule.quorum:
            problems.append(f"ghi nhận tỷ lệ dự họp {event.quorum}")
        if problems:
            self._flag(
                "council_quorum",
                f"ít nhất {quorum_required}/{total} thành viên dự họp (tỷ lệ {rule.quorum} trên "
                "tổng số thành viên)",
                "; ".join(problems),
            )
        passed = self._check_threshold(case, event)
        case.council_passed = passed and attending >= quorum_required
        case.voting = False
        case.members = case.conflicts = case.excluded = _NONE
        case.ballots = {}

    def _check_threshold(self, case: _Case, event: Any) -> bool:
        """Recount the valid yes votes against the threshold of ALL members; flag a recorded
        result that differs. Returns whether the council passed on the recount."""
        rule, total = case.rule, len(case.members)
        required = max(1, math.ceil(Fraction(rule.threshold) * total))
        void = case.conflicts | case.excluded
        yes = sum(
            1 for member, vote in case.ballots.items() if vote is Vote.YES and member not in void
        )
        passed = total > 0 and yes >= required
        result = event.result
        problems = []
        if bool(result.passed) != passed:
            verdict = "thông qua" if result.passed else "không thông qua"
            problems.append(
                f"ghi nhận «{verdict}» với {result.votes_for} phiếu đồng ý; đếm lại được {yes} "
                "phiếu đồng ý hợp lệ"
            )
        if result.members != total:
            problems.append(f"tính trên {result.members} thành viên thay vì toàn bộ {total}")
        if result.votes_required != required:
            problems.append(f"ghi nhận ngưỡng {result.votes_required} phiếu")
        if _share(event.threshold) != rule.threshold:
            problems.append(f"ghi nhận tỷ lệ {event.threshold}")
        if problems:
            self._flag(
                "council_threshold",
                f"thông qua khi có ít nhất {required}/{total} phiếu đồng ý (tỷ lệ "
                f"{rule.threshold} trên tổng số thành viên)",
                "; ".join(problems),
            )
        return passed

    # --- decisions ------------------------------------------------------------------------

    def _approved(self, case: _Case, event: Any, day: date) -> None:
        self._decision(case, event.by, "quyết định khen thưởng")
        if case.rule.is_state_level:
            self._flag(
                "decision_authority",
                f"«{case.rule.name}» là khen thưởng cấp Nhà nước: Chủ tịch UBND tỉnh trình cấp "
                "trên",
                "Chủ tịch UBND tỉnh quyết định khen thưởng",
            )
        self._require_approvals(case)
        suffix = DECIDER_DOCUMENT_SUFFIX[Decider.PROVINCIAL_CHAIRMAN]
        self._number(
            event.decision_number, event.decision_date, suffix, DocumentKind.AWARD_DECISION
        )

    def _rejected(self, case: _Case, event: Any, day: date) -> None:
        self._decision(case, event.by, "quyết định không khen thưởng")

    def _forwarded(self, case: _Case, event: Any, day: date) -> None:
        self._decision(case, event.by, "tờ trình cấp trên")
        if not case.rule.is_state_level:
            self._flag(
                "decision_authority",
                f"«{case.rule.name}» thuộc thẩm quyền của Chủ tịch UBND tỉnh: quyết định, "
                "không trình cấp trên",
                "trình cấp trên",
            )
        self._require_approvals(case)
        self._number(
            event.submission_number,
            event.submission_date,
            SUBMISSION_SUFFIX,
            DocumentKind.SUBMISSION,
        )

    def _central_decision(self, case: _Case, event: Any, day: date) -> None:
        suffix = DECIDER_DOCUMENT_SUFFIX[case.rule.decider]
        self._number(
            event.decision_number, event.decision_date, suffix, DocumentKind.CENTRAL_DECISION
        )

    def _revoked(self, case: _Case, event: Any, day: date) -> None:
        by: Actor = event.by
        allowed = {Role.CHAIRMAN}
        if case.rule.is_state_level:
            allowed.add(Role.APPRAISER)  # records the upper level's revocation
        if by.role not in allowed:
            self._flag(
                "signer_role",
                " hoặc ".join(ROLE_LABELS[role] for role in sorted(allowed)),
                f"«{by.user_id}» với vai trò {ROLE_LABELS[by.role]}",
            )
        suffix = DECIDER_DOCUMENT_SUFFIX[case.rule.decider]
        self._number(event.decision_number, event.decision_date, suffix, DocumentKind.REVOCATION)

    def _decision(self, case: _Case, by: Actor, what: str) -> None:
        if by.role is not Role.CHAIRMAN:
            self._flag(
                "signer_role",
                f"{what} do {ROLE_LABELS[Role.CHAIRMAN]} ký",
                f"«{by.user_id}» ký với vai trò {ROLE_LABELS[by.role]}",
            )
        self._separate(case, by, what)

    def _require_approvals(self, case: _Case) -> None:
        if not (case.appraised and case.qualified):
            self._flag(
                "appraisal_required",
                "kết quả thẩm định: đủ điều kiện",
                "không đủ điều kiện" if case.appraised else "chưa thẩm định",
            )
        if case.rule.council_required and not case.council_passed:
            self._flag(
                "council_required",
                f"Hội đồng Thi đua - Khen thưởng thông qua «{case.rule.name}»",
                "không có kết luận thông qua hợp lệ của Hội đồng",
            )

    def _separate(self, case: _Case, by: Actor, what: str) -> None:
        if by.user_id in case.submitters:
            self._flag(
                "separation_of_duties",
                f"người trình hồ sơ không {what}",
                f"«{by.user_id}» đã trình (hoặc bổ sung) hồ sơ và {what}",
            )

    # --- document numbers -----------------------------------------------------------------

    def _number(self, number: str, signed_on: date, suffix: str, kind: DocumentKind) -> None:
        if not re.fullmatch(rf"{_NUMBER}/{re.escape(suffix)}", number):
            self._flag(
                "decision_number_format",
                f"số/{suffix}, ví dụ 123/{suffix}",
                f"số «{number}»",
            )
        key = (number, signed_on.year)
        first = self._numbers.get(key)
        if first is None:
            self._numbers[key] = (signed_on, kind, self._at[0])
            return
        first_on, first_kind, first_dossier = first
        if first_on != signed_on or first_kind != kind:
            self._flag(
                "decision_number_unique",
                f"số {number} năm {signed_on.year} chỉ dùng cho {_DOCUMENT_KINDS[first_kind]} "
                f"ngày {_day(first_on)} (hồ sơ {first_dossier})",
                f"dùng lại cho {_DOCUMENT_KINDS[kind]} ngày {_day(signed_on)}",
            )
