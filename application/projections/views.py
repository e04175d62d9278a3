"""The views: what each table holds, derived from an aggregate's current state.

Each view is a pure function of the aggregates it follows (and the working-day calendar, which
is configuration): ``rows`` gives an aggregate's rows in the keyed tables, ``snapshot`` and
``deltas`` its contribution to the counter tables. Nothing here depends on when the view is
built or on today's date; what changes with the date (working days left, overdue) is worked out
when a row is read, by :func:`deadline_of`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate

from application.projections.schema import (
    Column,
    ColumnType,
    CounterKey,
    Index,
    Row,
    Table,
    counter,
    counter_deltas,
    keyed,
)
from domain.calendar import WorkCalendar
from domain.dossier import Deadline, Dossier, Status
from domain.movement import EmulationMovement
from domain.shared import fold, local_date
from domain.values import CommentStatus

C = ColumnType


def _col(name: str, kind: ColumnType, *, nullable: bool = True) -> Column:
    return Column(name, kind, nullable)


class View:
    """A projection's read model: its tables and how an aggregate fills them."""

    name: ClassVar[str]
    title: ClassVar[str]
    version: ClassVar[int] = 1
    """Bump when the rows a view derives change; stored views of another version are rebuilt."""
    tables: ClassVar[tuple[Table, ...]]
    kinds: ClassVar[tuple[type[Aggregate], ...]] = (Dossier,)

    def __init__(self, calendar: WorkCalendar) -> None:
        self.calendar = calendar

    def follows(self, aggregate: Aggregate) -> bool:
        return isinstance(aggregate, self.kinds)

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        """The aggregate's rows in each keyed table (an empty list removes them)."""
        return {}

    def snapshot(self, aggregate: Any | None) -> Any:
        """What ``deltas`` needs to know about the aggregate before a batch changes it."""
        return None

    def deltas(self, snapshot: Any, aggregate: Any) -> Mapping[str, dict[CounterKey, int]]:
        """What the batch adds to each counter table for this aggregate."""
        return {}

    @classmethod
    def table(cls, name: str) -> Table:
        for table in cls.tables:
            if table.name == name:
                return table
        raise KeyError(name)


# --- the legal clock as stored and as read --------------------------------------------------


@dataclass(frozen=True)
class ClockColumns:
    """The parts of a dossier's appraisal clock that do not change with today's date."""

    clock_started_on: date | None
    deadline_budget: int | None
    """Working days allowed from the start: the appraisal limit plus finished pauses."""
    paused_since: date | None
    due_on: date | None
    """The deadline while the clock runs (unknown while paused: it moves every working day)."""
    paused_overdue: bool
    """Paused after the deadline had passed: stays overdue for as long as the pause lasts."""


def clock_columns(dossier: Dossier, calendar: WorkCalendar) -> ClockColumns:
    started = dossier.clock_started_on
    if started is None or dossier.appraised_on is not None or not dossier.status.is_open:
        return ClockColumns(None, None, None, None, False)
    budget = dossier.award.appraisal_days + sum(
        calendar.working_days_between(max(start, started), end) for start, end in dossier.pauses
    )
    if dossier.paused_since is None:
        due = calendar.add_working_days(started, budget)
        return ClockColumns(started, budget, None, due, False)
    paused_from = max(dossier.paused_since, started)
    # Judged on the pause's first working day: from then on the domain's answer is the same
    # on every working day of the pause (a day off would count the next one as paused).
    if not calendar.is_working_day(paused_from):
        paused_from = calendar.add_working_days(paused_from, 1)
    overdue = dossier.deadline(calendar, paused_from).overdue
    return ClockColumns(started, budget, dossier.paused_since, None, overdue)


def deadline_of(
    calendar: WorkCalendar,
    today: date,
    *,
    clock_started_on: date | None,
    deadline_budget: int | None,
    paused_since: date | None,
) -> Deadline:
    """A stored row's deadline on ``today``; the same answer as ``Dossier.deadline``."""
    if clock_started_on is None or deadline_budget is None:
        return Deadline(due_on=None, working_days_left=None, paused=False, overdue=False)
    extra = 0
    if paused_since is not None:
        extra = calendar.working_days_between(max(paused_since, clock_started_on), today)
    due_on = calendar.add_working_days(clock_started_on, deadline_budget + extra)
    if today >= due_on:
        left = -calendar.working_days_between(due_on, today)
    else:
        left = calendar.working_days_between(today, due_on)
    return Deadline(
        due_on=due_on,
        working_days_left=left,
        paused=paused_since is not None,
        overdue=today > due_on,
    )


def search_text(*parts: str | None) -> str:
    """The folded text a ``?q=`` search matches: lower case, no diacritics, đ→d."""
    return " | ".join(fold(p) for p in parts if p)


def _nominee(d: Dossier) -> Row:
    return {
        "award_code": d.award.code,
        "award_name": d.award.name,
        "level": d.award.level.value,
        "nominee_kind": d.nominee.kind.value,
        "nominee_name": d.nominee.name,
        "nominee_position": d.nominee.position,
        "submitting_unit": d.submitting_unit,
        "movement_id": d.movement_id,
    }


_NOMINEE_COLUMNS = (
    _col("award_code", C.TEXT, nullable=False),
    _col("award_name", C.TEXT, nullable=False),
    _col("level", C.TEXT, nullable=False),
    _col("nominee_kind", C.TEXT, nullable=False),
    _col("nominee_name", C.TEXT, nullable=False),
    _col("nominee_position", C.TEXT, nullable=False),
    _col("submitting_unit", C.TEXT, nullable=False),
    _col("movement_id", C.UUID, nullable=False),
)


# --- the views ------------------------------------------------------------------------------


class Listing(View):
    """Every dossier: what staff lists, filters, searches and exports."""

    name = "listing"
    title = "Danh sách hồ sơ"
    tables = (
        keyed(
            "view_dossiers",
            (
                _col("id", C.UUID, nullable=False),
                _col("version", C.INT, nullable=False),
                _col("status", C.TEXT, nullable=False),
                *_NOMINEE_COLUMNS,
                _col("unit_key", C.TEXT, nullable=False),
                _col("name_key", C.TEXT, nullable=False),
                _col("submitted_at", C.TIMESTAMP, nullable=False),
                _col("modified_at", C.TIMESTAMP, nullable=False),
                _col("status_since", C.TIMESTAMP, nullable=False),
                _col("clock_started_on", C.DATE),
                _col("deadline_budget", C.INT),
                _col("paused_since", C.DATE),
                _col("due_on", C.DATE),
                _col("paused_overdue", C.BOOL, nullable=False),
                _col("council_meeting_on", C.DATE),
                _col("council_members", C.INT, nullable=False),
                _col("votes_cast", C.INT, nullable=False),
                _col("search", C.TEXT, nullable=False),
            ),
            key=("id",),
            owner="id",
            indexes=(
                Index(("-modified_at", "-id")),
                Index(("-submitted_at", "-id")),
                Index(("name_key", "id")),
                Index(("due_on", "id")),
                Index(("status", "-modified_at", "-id")),
                Index(("unit_key", "-modified_at", "-id")),
                Index(("movement_id",)),
                Index(("award_code",)),
                Index(("search",), search=True),
            ),
        ),
    )

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        d: Dossier = aggregate
        clock = clock_columns(d, self.calendar)
        return {
            "view_dossiers": [
                {
                    "id": d.id,
                    "version": d.version,
                    "status": d.status.value,
                    **_nominee(d),
                    "unit_key": fold(d.submitting_unit),
                    "name_key": fold(d.nominee.name),
                    "submitted_at": d.created_on,
                    "modified_at": d.modified_on,
                    "status_since": d.status_since,
                    "clock_started_on": clock.clock_started_on,
                    "deadline_budget": clock.deadline_budget,
                    "paused_since": clock.paused_since,
                    "due_on": clock.due_on,
                    "paused_overdue": clock.paused_overdue,
                    "council_meeting_on": d.council_meeting_on,
                    "council_members": len(d.council_members),
                    "votes_cast": len(d.ballots),
                    "search": search_text(d.nominee.name, d.submitting_unit),
                }
            ]
        }


AGENDA_STATUSES = (Status.AWAITING_COUNCIL, Status.COUNCIL_VOTING)


class Agenda(View):
    """The council's agenda: dossiers waiting for it or being voted on; ballots only counted."""

    name = "agenda"
    title = "Chương trình họp Hội đồng"
    tables = (
        keyed(
            "view_agenda",
            (
                _col("id", C.UUID, nullable=False),
                _col("version", C.INT, nullable=False),
                _col("status", C.TEXT, nullable=False),
                *_NOMINEE_COLUMNS,
                _col("submitted_at", C.TIMESTAMP, nullable=False),
                _col("appraised_on", C.DATE),
                _col("waiting_since", C.TIMESTAMP, nullable=False),
                _col("council_meeting_on", C.DATE),
                _col("members", C.INT, nullable=False),
                _col("conflicts", C.INT, nullable=False),
                _col("ballots_cast", C.INT, nullable=False),
                _col("quorum", C.TEXT, nullable=False),
                _col("threshold", C.TEXT, nullable=False),
                _col("quorum_required", C.INT),
                _col("votes_required", C.INT),
            ),
            key=("id",),
            owner="id",
            indexes=(Index(("status", "submitted_at", "id")),),
        ),
    )

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        d: Dossier = aggregate
        if d.status not in AGENDA_STATUSES:
            return {"view_agenda": []}
        voting = d.status is Status.COUNCIL_VOTING
        result = d.tally(present=0) if voting else None
        return {
            "view_agenda": [
                {
                    "id": d.id,
                    "version": d.version,
                    "status": d.status.value,
                    **_nominee(d),
                    "submitted_at": d.created_on,
                    "appraised_on": d.appraised_on,
                    "waiting_since": d.status_since,
                    "council_meeting_on": d.council_meeting_on,
                    "members": len(d.council_members),
                    "conflicts": len(d.conflicts),
                    "ballots_cast": len(d.ballots),
                    "quorum": str(d.award.quorum),
                    "threshold": str(d.award.threshold),
                    "quorum_required": result.quorum_required if result else None,
                    "votes_required": result.votes_required if result else None,
                }
            ]
        }


class Consultation(View):
    """State-level nominations that have been published for the people's comments."""

    name = "consultation"
    title = "Lấy ý kiến Nhân dân"
    version = 3  # 2: published and withheld comments counted; 3: achievements, appraised_on
    tables = (
        keyed(
            "view_consultation",
            (
                _col("id", C.UUID, nullable=False),
                _col("version", C.INT, nullable=False),
                _col("status", C.TEXT, nullable=False),
                *_NOMINEE_COLUMNS,
                _col("opened_on", C.DATE, nullable=False),
                _col("closes_on", C.DATE, nullable=False),
                _col("closed_on", C.DATE),
                _col("comments_received", C.INT, nullable=False),
                _col("comments_published", C.INT, nullable=False),
                _col("comments_withheld", C.INT, nullable=False),
                _col("achievements", C.TEXT, nullable=False),
                _col("appraised_on", C.DATE),
                _col("search", C.TEXT, nullable=False),
            ),
            key=("id",),
            owner="id",
            indexes=(
                Index(("-closes_on", "id")),
                Index(("closed_on",)),
                Index(("search",), search=True),
            ),
        ),
    )

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        d: Dossier = aggregate
        if d.comment_opened_on is None or d.comment_closes_on is None:
            return {"view_consultation": []}
        moderation = Counter(c.status for c in d.comments.values())
        return {
            "view_consultation": [
                {
                    "id": d.id,
                    "version": d.version,
                    "status": d.status.value,
                    **_nominee(d),
                    "opened_on": d.comment_opened_on,
                    "closes_on": d.comment_closes_on,
                    "closed_on": d.comment_closed_on,
                    "comments_received": len(d.comments),
                    "comments_published": moderation[CommentStatus.PUBLISHED],
                    "comments_withheld": moderation[CommentStatus.WITHHELD],
                    # The summary of achievements is public for a published nomination.
                    "achievements": d.achievements,
                    "appraised_on": d.appraised_on,
                    "search": search_text(d.nominee.name, d.submitting_unit),
                }
            ]
        }


class Comments(View):
    """Every comment received, one row each, with its moderation and the appraisal's answer:
    what the public pages show of the published ones and a receipt code's holder of their own.
    Never the commenter's contact."""

    name = "comments"
    title = "Ý kiến Nhân dân"
    tables = (
        keyed(
            "view_comments",
            (
                _col("comment_id", C.TEXT, nullable=False),
                _col("dossier_id", C.UUID, nullable=False),
                _col("number", C.INT, nullable=False),
                _col("kind", C.TEXT, nullable=False),
                _col("text", C.TEXT, nullable=False),
                _col("author_name", C.TEXT),
                _col("received_on", C.DATE, nullable=False),
                _col("status", C.TEXT, nullable=False),
                _col("moderated_on", C.DATE),
                _col("answer_disposition", C.TEXT),
                _col("answer_reason", C.TEXT),
                _col("answered_on", C.DATE),
            ),
            key=("dossier_id", "comment_id"),
            owner="dossier_id",
            indexes=(
                Index(("comment_id",)),
                Index(("dossier_id", "status", "number")),
            ),
        ),
    )

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        d: Dossier = aggregate
        rows: list[Row] = []
        for number, comment in enumerate(d.comments.values(), start=1):
            answer = d.answers.get(comment.comment_id)
            rows.append(
                {
                    "comment_id": comment.comment_id,
                    "dossier_id": d.id,
                    "number": number,
                    "kind": comment.kind.value,
                    "text": comment.text,
                    "author_name": comment.author_name,
                    "received_on": comment.received_on,
                    "status": comment.status.value,
                    "moderated_on": comment.moderated_on,
                    "answer_disposition": answer.disposition.value if answer else None,
                    "answer_reason": answer.reason if answer else None,
                    "answered_on": d.appraised_on if answer else None,
                }
            )
        return {"view_comments": rows}


REGISTER_STATUSES = (Status.APPROVED, Status.FORWARDED, Status.CONFERRED, Status.REVOKED)


class Register(View):
    """Awards made, submitted upward, conferred from above, and revoked."""

    name = "register"
    title = "Sổ khen thưởng"
    version = 2  # 2: the folded unit key, so the register filters by unit on its own
    tables = (
        keyed(
            "view_awards",
            (
                _col("id", C.UUID, nullable=False),
                _col("version", C.INT, nullable=False),
                _col("status", C.TEXT, nullable=False),
                *_NOMINEE_COLUMNS,
                _col("decision_number", C.TEXT),
                _col("decision_date", C.DATE),
                _col("submission_number", C.TEXT),
                _col("submission_date", C.DATE),
                _col("central_decision_number", C.TEXT),
                _col("central_decision_date", C.DATE),
                _col("revocation_number", C.TEXT),
                _col("revocation_date", C.DATE),
                _col("recorded_on", C.DATE, nullable=False),
                _col("unit_key", C.TEXT, nullable=False),
                _col("search", C.TEXT, nullable=False),
            ),
            key=("id",),
            owner="id",
            indexes=(
                Index(("-recorded_on", "-id")),
                Index(("unit_key", "-recorded_on", "-id")),
                Index(("decision_number",)),
                Index(("search",), search=True),
            ),
        ),
    )

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        d: Dossier = aggregate
        if d.status not in REGISTER_STATUSES:
            return {"view_awards": []}
        recorded_on = (
            d.revocation_date
            or d.central_decision_date
            or d.decision_date
            or d.submission_date
            or local_date(d.status_since)
        )
        return {
            "view_awards": [
                {
                    "id": d.id,
                    "version": d.version,
                    "status": d.status.value,
                    **_nominee(d),
                    "decision_number": d.decision_number,
                    "decision_date": d.decision_date,
                    "submission_number": d.submission_number,
                    "submission_date": d.submission_date,
                    "central_decision_number": d.central_decision_number,
                    "central_decision_date": d.central_decision_date,
                    "revocation_number": d.revocation_number,
                    "revocation_date": d.revocation_date,
                    "recorded_on": recorded_on,
                    "unit_key": fold(d.submitting_unit),
                    "search": search_text(
                        d.nominee.name,
                        d.submitting_unit,
                        d.decision_number,
                        d.central_decision_number,
                    ),
                }
            ]
        }


@dataclass(frozen=True)
class _StatsSnapshot:
    counts: tuple[CounterKey, ...]
    clock: tuple[CounterKey, ...]
    stages: int


class Statistics(View):
    """Counts by status per award, unit, movement and level; clocks; working days per stage."""

    name = "statistics"
    title = "Thống kê"
    DIMENSIONS: ClassVar[tuple[str, ...]] = ("all", "award", "level", "unit", "movement")
    tables = (
        counter(
            "view_stat_counts",
            (
                _col("dimension", C.TEXT, nullable=False),
                _col("key", C.TEXT, nullable=False),
                _col("status", C.TEXT, nullable=False),
            ),
        ),
        counter(
            "view_stat_clocks",
            (_col("kind", C.TEXT, nullable=False), _col("due_on", C.TEXT, nullable=False)),
        ),
        counter(
            "view_stat_stage_days",
            (_col("stage", C.TEXT, nullable=False), _col("days", C.INT, nullable=False)),
        ),
    )

    def snapshot(self, aggregate: Any | None) -> _StatsSnapshot:
        if aggregate is None:
            return _StatsSnapshot((), (), 0)
        d: Dossier = aggregate
        status = d.status.value
        counts = (
            ("all", "", status),
            ("award", d.award.code, status),
            ("level", d.award.level.value, status),
            ("unit", d.submitting_unit, status),
            ("movement", str(d.movement_id), status),
        )
        clock = clock_columns(d, self.calendar)
        clocks: tuple[CounterKey, ...] = ()
        if clock.due_on is not None:
            clocks = (("running", clock.due_on.isoformat()),)
        elif clock.paused_since is not None:
            clocks = (("paused_overdue" if clock.paused_overdue else "paused", ""),)
        return _StatsSnapshot(counts, clocks, len(d.stages))

    def deltas(self, snapshot: Any, aggregate: Any) -> Mapping[str, dict[CounterKey, int]]:
        d: Dossier = aggregate
        before: _StatsSnapshot = snapshot
        after = self.snapshot(d)
        stages: Counter[CounterKey] = Counter()
        for span in d.stages[before.stages :]:
            days = self.calendar.working_days_between(
                local_date(span.entered_at), local_date(span.left_at)
            )
            stages[(span.status.value, days)] += 1
        return {
            "view_stat_counts": counter_deltas(Counter(before.counts), Counter(after.counts)),
            "view_stat_clocks": counter_deltas(Counter(before.clock), Counter(after.clock)),
            "view_stat_stage_days": dict(stages),
        }


class Movements(View):
    """The emulation movements, for filters, labels and the public list."""

    name = "movements"
    title = "Phong trào thi đua"
    kinds = (EmulationMovement,)
    tables = (
        keyed(
            "view_movements",
            (
                _col("id", C.UUID, nullable=False),
                _col("version", C.INT, nullable=False),
                _col("plan_number", C.TEXT, nullable=False),
                _col("title", C.TEXT, nullable=False),
                _col("issuing_body", C.TEXT, nullable=False),
                _col("issued_on", C.DATE, nullable=False),
                _col("starts_on", C.DATE, nullable=False),
                _col("ends_on", C.DATE, nullable=False),
                _col("closed", C.BOOL, nullable=False),
                _col("modified_at", C.TIMESTAMP, nullable=False),
                _col("search", C.TEXT, nullable=False),
            ),
            key=("id",),
            owner="id",
            indexes=(Index(("-issued_on", "plan_number")),),
        ),
    )

    def rows(self, aggregate: Any) -> Mapping[str, list[Row]]:
        m: EmulationMovement = aggregate
        return {
            "view_movements": [
                {
                    "id": m.id,
                    "version": m.version,
                    "plan_number": m.plan_number,
                    "title": m.title,
                    "issuing_body": m.issuing_body,
                    "issued_on": m.issued_on,
                    "starts_on": m.starts_on,
                    "ends_on": m.ends_on,
                    "closed": m.closed,
                    "modified_at": m.modified_on,
                    "search": search_text(m.plan_number, m.title, m.issuing_body),
                }
            ]
        }


VIEW_CLASSES: tuple[type[View], ...] = (
    Listing,
    Agenda,
    Consultation,
    Register,
    Statistics,
    Movements,
    Comments,
)
VIEW_NAMES = tuple(v.name for v in VIEW_CLASSES)


def build_views(calendar: WorkCalendar, names: tuple[str, ...] | None = None) -> list[View]:
    """The views by name (all when ``names`` is None), in a fixed order."""
    if names is not None:
        unknown = sorted(set(names) - set(VIEW_NAMES))
        if unknown:
            raise KeyError(", ".join(unknown))
    return [cls(calendar) for cls in VIEW_CLASSES if names is None or cls.name in names]
