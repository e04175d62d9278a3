"""Reading the view tables: every query behind the staff lists, exports and statistics.

The tables are the projections' (``application.projections.views``); this module only reads
them, with SQL that runs unchanged on SQLite and PostgreSQL and uses their indexes:

- **Keyset pages.** A long list is paged by the last row's sort value and id, never by an
  offset: ``ORDER BY col DESC, id DESC`` with ``(col, id) < (%s, %s)`` for the next page. The
  cursor handed to the client is opaque (base64url of a small JSON object) and bound to the
  sort it was made for. A nullable sort column (``due_on``) keeps its empty values last in both
  directions: the rows with a value are read first, then those without, ordered by id.
- **No count per page.** Counting the matching rows is a separate, optional query.
- **Search.** ``q`` is folded like the stored ``search`` column (lower case, no diacritics,
  đ→d) and every word must occur in it (``LIKE '%word%'``, wildcards escaped); PostgreSQL
  answers it from a trigram index.
- **Time-dependent values are computed here, at read time.** "Overdue" compares the stored
  deadline with today's date, which the caller passes in.

Nothing here knows about HTTP or roles: the API decides who may read what and passes the
restrictions (a submitter's unit) as filters.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from application.comments import format_receipt_code, normalise_receipt_code
from application.projections.schema import ColumnType, Table
from application.projections.views import (
    Agenda,
    Comments,
    Consultation,
    Listing,
    Movements,
    Register,
    Statistics,
    deadline_of,
)
from domain.calendar import WorkCalendar
from domain.dossier import Deadline
from domain.shared import VIETNAM_TZ, fold
from infrastructure.views.database import ViewDatabase, quote

__all__ = [
    "AWARD_SORTS",
    "DOSSIER_SORTS",
    "AwardFilter",
    "DossierFilter",
    "InvalidCursor",
    "KeysetPage",
    "SortKey",
    "StageDays",
    "StatisticsRows",
    "ViewReads",
    "deadline_for",
    "search_words",
]

Row = dict[str, Any]

DOSSIERS = Listing.table("view_dossiers")
AGENDA = Agenda.table("view_agenda")
CONSULTATION = Consultation.table("view_consultation")
AWARDS = Register.table("view_awards")
STAT_COUNTS = Statistics.table("view_stat_counts")
STAT_CLOCKS = Statistics.table("view_stat_clocks")
STAT_STAGE_DAYS = Statistics.table("view_stat_stage_days")
MOVEMENTS = Movements.table("view_movements")
COMMENTS = Comments.table("view_comments")

MAX_SEARCH_WORDS = 8
MAX_CURSOR_LENGTH = 400
EXPORT_CHUNK = 1_000
_ESCAPE = "!"
_CURSOR_TEXT = re.compile(r"^[A-Za-z0-9_-]+$")


# --- sorting and cursors --------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    """One way of ordering a list: ``name`` as the client writes it (``-modified_at``)."""

    name: str
    column: str
    descending: bool
    nullable: bool = False


def _sorts(columns: dict[str, tuple[str, bool]]) -> dict[str, SortKey]:
    """Both directions of each sortable column: ``name`` ascending, ``-name`` descending."""
    found: dict[str, SortKey] = {}
    for name, (column, nullable) in columns.items():
        found[name] = SortKey(name, column, descending=False, nullable=nullable)
        found[f"-{name}"] = SortKey(f"-{name}", column, descending=True, nullable=nullable)
    return found


DOSSIER_SORTS = _sorts(
    {
        "modified_at": ("modified_at", False),
        "submitted_at": ("submitted_at", False),
        "name": ("name_key", False),
        "due_on": ("due_on", True),
    }
)
AWARD_SORTS = _sorts({"recorded_on": ("recorded_on", False)})


class InvalidCursor(ValueError):
    """A page cursor that this service did not make, or made for another sort."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_MALFORMED = (
    "Con trỏ trang (cursor) không hợp lệ: hãy dùng nguyên giá trị next_cursor của trang trước, "
    "hoặc bỏ tham số cursor để đọc từ trang đầu."
)


@dataclass(frozen=True)
class _After:
    value: Any
    id: UUID


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def encode_cursor(sort: SortKey, value: Any, row_id: UUID) -> str:
    payload = {"s": sort.name, "v": _plain(value), "i": str(row_id)}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _parse_value(kind: ColumnType, value: Any, nullable: bool) -> Any:
    if value is None:
        if nullable:
            return None
        raise ValueError("null")
    if not isinstance(value, str) or len(value) > 200:
        raise ValueError("not text")
    if kind is ColumnType.TIMESTAMP:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment
    if kind is ColumnType.DATE:
        return date.fromisoformat(value)
    return value


def decode_cursor(text: str, sort: SortKey, table: Table) -> _After:
    """The position a cursor names; ``InvalidCursor`` for anything this service did not make."""
    if len(text) > MAX_CURSOR_LENGTH or not _CURSOR_TEXT.match(text):
        raise InvalidCursor(_MALFORMED)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):  # JSONDecodeError and UnicodeDecodeError too
        raise InvalidCursor(_MALFORMED) from None
    if not isinstance(data, dict) or set(data) != {"s", "v", "i"}:
        raise InvalidCursor(_MALFORMED)
    if data["s"] != sort.name:
        raise InvalidCursor(
            "Con trỏ trang (cursor) được tạo cho cách sắp xếp khác; giữ nguyên tham số sort "
            "khi đọc trang tiếp, hoặc bỏ cursor để đọc lại từ trang đầu."
        )
    try:
        if not isinstance(data["i"], str):
            raise ValueError("id")
        row_id = UUID(data["i"])
        value = _parse_value(table.column(sort.column).type, data["v"], sort.nullable)
    except (ValueError, TypeError):
        raise InvalidCursor(_MALFORMED) from None
    return _After(value, row_id)


# --- filters --------------------------------------------------------------------------------


def search_words(q: str | None) -> list[str]:
    """The folded words of a search (at most ``MAX_SEARCH_WORDS``)."""
    if not q:
        return []
    return fold(q).split()[:MAX_SEARCH_WORDS]


def _like(word: str) -> str:
    escaped = word.replace(_ESCAPE, _ESCAPE * 2).replace("%", _ESCAPE + "%")
    return "%" + escaped.replace("_", _ESCAPE + "_") + "%"


class _Where:
    """WHERE clauses with their parameters, encoded for the table's database."""

    def __init__(self, database: ViewDatabase, table: Table) -> None:
        self.database = database
        self.table = table
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *values: tuple[str, Any]) -> None:
        """A clause with ``%s`` marks and (column, value) pairs to encode for them."""
        self.clauses.append(clause)
        self.params.extend(self.database.encode(self.table, c, v) for c, v in values)

    def equals(self, column: str, value: Any) -> None:
        if value is not None:
            self.add(f"{quote(column)} = %s", (column, value))

    def among(self, column: str, values: Sequence[Any]) -> None:
        if values:
            marks = ", ".join(["%s"] * len(values))
            self.add(f"{quote(column)} IN ({marks})", *((column, v) for v in values))

    def search(self, q: str | None, column: str = "search") -> None:
        for word in search_words(q):
            self.clauses.append(f"{quote(column)} LIKE %s ESCAPE '{_ESCAPE}'")
            self.params.append(_like(word))

    def copy(self) -> _Where:
        other = _Where(self.database, self.table)
        other.clauses = list(self.clauses)
        other.params = list(self.params)
        return other

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def _local_midnight(day: date) -> datetime:
    """The first moment of a Vietnamese calendar day."""
    return datetime.combine(day, time(0), tzinfo=VIETNAM_TZ)


@dataclass(frozen=True)
class DossierFilter:
    """What a dossier listing or export is narrowed to (every field optional)."""

    statuses: tuple[str, ...] = ()
    award_code: str | None = None
    level: str | None = None
    unit: str | None = None
    """Compared by its folded form, so «Sở GD&ĐT» typed without diacritics still matches."""
    movement_id: UUID | None = None
    overdue: bool | None = None
    submitted_from: date | None = None
    """Vietnamese calendar dates, both ends included."""
    submitted_to: date | None = None
    q: str | None = None


@dataclass(frozen=True)
class AwardFilter:
    """What a register listing or export is narrowed to."""

    statuses: tuple[str, ...] = ()
    award_code: str | None = None
    level: str | None = None
    unit: str | None = None
    movement_id: UUID | None = None
    recorded_from: date | None = None
    recorded_to: date | None = None
    q: str | None = None


NARROW_SUBMISSION_DAYS = 120


def _narrow_submissions(found: DossierFilter, sort: SortKey, today: date) -> bool:
    """A window of submission dates of a few months, listed in another order than by
    submission: PostgreSQL would walk the sort's index looking for the window's rows (it
    assumes they are spread evenly, but old submissions were also changed long ago), so the
    window's rows are read first (by the submission index) and then sorted."""
    if found.submitted_from is None or sort.column == "submitted_at":
        return False
    end = found.submitted_to or today
    return (end - found.submitted_from).days <= NARROW_SUBMISSION_DAYS


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeysetPage:
    rows: list[Row]
    next_cursor: str | None
    total: int | None = None


@dataclass(frozen=True)
class StageDays:
    """Working days spent in one status, over every dossier that has left it."""

    stage: str
    count: int
    median: int | None
    p90: int | None
    mean: float | None
    longest: int | None


@dataclass(frozen=True)
class StatisticsRows:
    counts: dict[str, dict[str, dict[str, int]]]
    """dimension → key → status → number of dossiers (dimension ``all`` has the key "")."""
    running: int
    paused: int
    overdue_running: int
    overdue_paused: int
    due_soon: int
    """Running clocks whose deadline falls between today and ``soon`` (inclusive)."""
    stages: list[StageDays] = field(default_factory=list)


def percentile(histogram: Sequence[tuple[int, int]], share: float) -> int | None:
    """The nearest-rank percentile of a histogram of (value, count), values in any order."""
    total = sum(count for _, count in histogram)
    if total <= 0:
        return None
    rank = max(1, math.ceil(share * total))
    seen = 0
    for value, count in sorted(histogram):
        seen += count
        if seen >= rank:
            return value
    return sorted(histogram)[-1][0]


def deadline_for(row: Row, calendar: WorkCalendar, today: date) -> Deadline:
    """A listing row's appraisal deadline on ``today`` (never stored: it moves with the date)."""
    return deadline_of(
        calendar,
        today,
        clock_started_on=row["clock_started_on"],
        deadline_budget=row["deadline_budget"],
        paused_since=row["paused_since"],
    )


# --- the reads ------------------------------------------------------------------------------


class ViewReads:
    """The queries over one set of live view tables."""

    def __init__(self, database: ViewDatabase) -> None:
        self.database = database

    def position(self, views: Sequence[str]) -> int:
        """How far the named views have read the log (the least of them). Read it before the
        rows: the rows then reflect at least this position."""
        return min(self.database.positions(list(views)).values(), default=0)

    def _name(self, table: Table) -> str:
        return self.database.qualified(self.database.table_name(table))

    # --- keyset machinery -------------------------------------------------------------------

    def _page(
        self,
        table: Table,
        where: _Where,
        sort: SortKey,
        cursor: str | None,
        limit: int,
        *,
        fence: bool = False,
    ) -> tuple[list[Row], str | None]:
        """One page after ``cursor``, and the cursor of the next (None on the last page).

        ``fence`` reads the matching rows first and sorts them after (PostgreSQL), for a filter
        that keeps few rows but that the planner would otherwise look for along the sort's
        index (see ``_narrow_submissions``)."""
        after = decode_cursor(cursor, sort, table) if cursor else None
        want = limit + 1
        rows: list[Row] = []
        fenced = fence and self.database.dialect == "postgres"
        for condition, order, params in self._keyset_queries(where, sort, after):
            if fenced:
                statement = (
                    f"SELECT * FROM (SELECT * FROM {{table}}{condition} OFFSET 0) AS found "
                    f"ORDER BY {order} LIMIT {want - len(rows)}"
                )
            else:
                statement = (
                    f"SELECT * FROM {{table}}{condition} ORDER BY {order} LIMIT {want - len(rows)}"
                )
            rows += self.database.select(table, statement, params)
            if len(rows) >= want:
                break
        if len(rows) <= limit:
            return rows, None
        last = rows[limit - 1]
        return rows[:limit], encode_cursor(sort, last[sort.column], last["id"])

    def _keyset_queries(
        self, where: _Where, sort: SortKey, after: _After | None
    ) -> Iterator[tuple[str, str, list[Any]]]:
        """The WHERE, the ORDER BY and the parameters of each region of the order after
        ``after``: the rows with a sort value, then (for a nullable column) those without."""
        column = quote(sort.column)
        op, direction = ("<", "DESC") if sort.descending else (">", "ASC")
        if after is None or after.value is not None:
            valued = where.copy()
            if sort.nullable:
                valued.clauses.append(f"{column} IS NOT NULL")
            if after is not None:
                valued.add(
                    f"({column}, id) {op} (%s, %s)", (sort.column, after.value), ("id", after.id)
                )
            yield valued.sql(), f"{column} {direction}, id {direction}", valued.params
        if sort.nullable:
            empty = where.copy()
            empty.clauses.append(f"{column} IS NULL")
            if after is not None and after.value is None:
                empty.add(f"id {op} %s", ("id", after.id))
            yield empty.sql(), f"id {direction}", empty.params

    def _count(self, table: Table, where: _Where) -> int:
        found = self.database.select(
            table, f"SELECT count(*) AS n FROM {{table}}{where.sql()}", where.params
        )
        return int(found[0]["n"]) if found else 0

    def _stream(
        self, table: Table, where: _Where, sort: SortKey, columns: str = "*"
    ) -> Iterator[Row]:
        """Every matching row in order, read in chunks (never the whole result in memory)."""
        for condition, order, params in self._keyset_queries(where, sort, None):
            statement = f"SELECT {columns} FROM {{table}}{condition} ORDER BY {order}"
            yield from self._iterate(table, statement, params)

    def _iterate(self, table: Table, statement: str, params: list[Any]) -> Iterator[Row]:
        if self.database.dialect != "postgres":
            yield from self.database.iterate(table, statement, params, chunk=EXPORT_CHUNK)
            return
        # psycopg's ordinary cursor fetches the whole result on execute; a named (server-side)
        # cursor sends it in chunks.
        text = self.database.sql(statement.format(table=self._name(table)))
        with self.database.transaction(write=False) as cursor:
            named = cursor.connection.cursor(name=f"export_{secrets.token_hex(4)}")
            try:
                named.execute(text, params)
                names: list[str] | None = None
                while True:
                    rows = named.fetchmany(EXPORT_CHUNK)
                    if not rows:
                        return
                    if names is None:
                        names = [d[0] for d in named.description]
                    for row in rows:
                        yield self.database.decode(table, row, names)
            finally:
                named.close()

    # --- dossiers ---------------------------------------------------------------------------

    def _dossier_where(self, found: DossierFilter, today: date) -> _Where:
        where = _Where(self.database, DOSSIERS)
        where.among("status", found.statuses)
        where.equals("award_code", found.award_code)
        where.equals("level", found.level)
        if found.unit is not None:
            where.add('"unit_key" = %s', ("unit_key", fold(found.unit)))
        where.equals("movement_id", found.movement_id)
        if found.overdue is True:
            where.add(
                '(("due_on" IS NOT NULL AND "due_on" < %s) OR "paused_overdue" = %s)',
                ("due_on", today),
                ("paused_overdue", True),
            )
        elif found.overdue is False:
            where.add(
                '("due_on" IS NULL OR "due_on" >= %s) AND "paused_overdue" = %s',
                ("due_on", today),
                ("paused_overdue", False),
            )
        if found.submitted_from is not None:
            start = _local_midnight(found.submitted_from)
            where.add('"submitted_at" >= %s', ("submitted_at", start))
        if found.submitted_to is not None:
            end = _local_midnight(found.submitted_to + timedelta(days=1))
            where.add('"submitted_at" < %s', ("submitted_at", end))
        where.search(found.q)
        return where

    def dossiers(
        self,
        found: DossierFilter,
        *,
        today: date,
        sort: SortKey,
        cursor: str | None,
        limit: int,
        count: bool = False,
    ) -> KeysetPage:
        """One page of the listing; ``InvalidCursor`` for a cursor this service did not make."""
        where = self._dossier_where(found, today)
        rows, next_cursor = self._page(
            DOSSIERS, where, sort, cursor, limit, fence=_narrow_submissions(found, sort, today)
        )
        total = self._count(DOSSIERS, where) if count else None
        return KeysetPage(rows, next_cursor, total)

    def all_dossiers(self, found: DossierFilter, *, today: date, sort: SortKey) -> Iterator[Row]:
        """Every matching dossier in the listing's order (exports)."""
        return self._stream(DOSSIERS, self._dossier_where(found, today), sort)

    # --- the register -----------------------------------------------------------------------

    def _award_where(self, found: AwardFilter) -> _Where:
        where = _Where(self.database, AWARDS)
        where.among("status", found.statuses)
        where.equals("award_code", found.award_code)
        where.equals("level", found.level)
        if found.unit is not None:
            where.add('"unit_key" = %s', ("unit_key", fold(found.unit)))
        where.equals("movement_id", found.movement_id)
        if found.recorded_from is not None:
            where.add('"recorded_on" >= %s', ("recorded_on", found.recorded_from))
        if found.recorded_to is not None:
            where.add('"recorded_on" <= %s', ("recorded_on", found.recorded_to))
        where.search(found.q)
        return where

    def awards(
        self,
        found: AwardFilter,
        *,
        sort: SortKey,
        cursor: str | None,
        limit: int,
        count: bool = False,
    ) -> KeysetPage:
        where = self._award_where(found)
        rows, next_cursor = self._page(AWARDS, where, sort, cursor, limit)
        total = self._count(AWARDS, where) if count else None
        return KeysetPage(rows, next_cursor, total)

    def all_awards(self, found: AwardFilter, *, sort: SortKey) -> Iterator[Row]:
        return self._stream(AWARDS, self._award_where(found), sort)

    # --- small lists (offset pages) ---------------------------------------------------------

    def agenda(self, *, limit: int, offset: int) -> tuple[list[Row], int]:
        """The council's agenda: the reviews being voted on first, then by submission."""
        rows = self.database.select(
            AGENDA,
            "SELECT * FROM {table} ORDER BY CASE WHEN status = %s THEN 0 ELSE 1 END, "
            f"submitted_at, id LIMIT {int(limit)} OFFSET {int(offset)}",
            ["council_voting"],
        )
        return rows, self._count(AGENDA, _Where(self.database, AGENDA))

    def consultations(
        self,
        *,
        today: date,
        closed_within_days: int,
        q: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Row], int]:
        """Nominations published for comment: still open (not closed by the appraiser, and not
        ended meanwhile), or whose window ended within the last ``closed_within_days`` days."""
        where = _Where(self.database, CONSULTATION)
        cutoff = today - timedelta(days=closed_within_days)
        where.add(
            '(("closed_on" IS NULL AND "status" IN (%s, %s)) '
            'OR COALESCE("closed_on", "closes_on") >= %s)',
            ("status", "public_comment"),
            ("status", "held"),
            ("closes_on", cutoff),
        )
        where.search(q)
        rows = self.database.select(
            CONSULTATION,
            f"SELECT * FROM {{table}}{where.sql()} ORDER BY closes_on DESC, id "
            f"LIMIT {int(limit)} OFFSET {int(offset)}",
            where.params,
        )
        return rows, self._count(CONSULTATION, where)

    def movements(self, *, q: str | None, limit: int, offset: int) -> tuple[list[Row], int]:
        """Movements, the most recently issued plan first."""
        where = _Where(self.database, MOVEMENTS)
        where.search(q)
        rows = self.database.select(
            MOVEMENTS,
            f"SELECT * FROM {{table}}{where.sql()} ORDER BY issued_on DESC, plan_number DESC, "
            f"id DESC LIMIT {int(limit)} OFFSET {int(offset)}",
            where.params,
        )
        return rows, self._count(MOVEMENTS, where)

    def movement_plans(self) -> dict[UUID, str]:
        """Each movement's plan number (labels for exports and statistics)."""
        rows = self.database.select(MOVEMENTS, "SELECT id, plan_number FROM {table}")
        return {row["id"]: row["plan_number"] for row in rows}

    # --- comments ---------------------------------------------------------------------------

    def published_comments(self, dossier_id: UUID) -> list[Row]:
        """A dossier's published comments in the order received, each with the appraisal's
        answer once appraised (``answer``: {disposition, reason, on} or None). No contact: the
        view never holds one."""
        rows = self.database.select(
            COMMENTS,
            "SELECT * FROM {table} WHERE dossier_id = %s AND status = %s ORDER BY number",
            [self.database.encode(COMMENTS, "dossier_id", dossier_id), "published"],
        )
        return [_comment(row) for row in rows]

    def comment_by_receipt(self, code: str) -> Row | None:
        """The comment a receipt code names, whatever its moderation (a holder sees their own
        comment even if withheld), or None for text that is not a code or names no comment."""
        key = normalise_receipt_code(code)
        if key is None:
            return None
        rows = self.database.select(
            COMMENTS,
            "SELECT * FROM {table} WHERE comment_id = %s ORDER BY dossier_id LIMIT 1",
            [key],
        )
        return _comment(rows[0]) if rows else None

    # --- statistics -------------------------------------------------------------------------

    def statistics(self, *, today: date, soon: date) -> StatisticsRows:
        counts: dict[str, dict[str, dict[str, int]]] = {}
        for row in self.database.select(
            STAT_COUNTS, "SELECT dimension, key, status, count FROM {table}"
        ):
            by_key = counts.setdefault(row["dimension"], {})
            by_key.setdefault(row["key"], {})[row["status"]] = int(row["count"])
        running = paused = overdue_running = overdue_paused = due_soon = 0
        today_text, soon_text = today.isoformat(), soon.isoformat()
        for row in self.database.select(
            STAT_CLOCKS, "SELECT kind, due_on, count FROM {table} ORDER BY kind, due_on"
        ):
            number = int(row["count"])
            if row["kind"] == "running":
                running += number
                if row["due_on"] < today_text:
                    overdue_running += number
                elif row["due_on"] <= soon_text:
                    due_soon += number
            else:
                paused += number
                if row["kind"] == "paused_overdue":
                    overdue_paused += number
        histograms: dict[str, list[tuple[int, int]]] = {}
        for row in self.database.select(STAT_STAGE_DAYS, "SELECT stage, days, count FROM {table}"):
            histograms.setdefault(row["stage"], []).append((int(row["days"]), int(row["count"])))
        stages = [_stage_days(stage, histogram) for stage, histogram in histograms.items()]
        return StatisticsRows(
            counts=counts,
            running=running,
            paused=paused,
            overdue_running=overdue_running,
            overdue_paused=overdue_paused,
            due_soon=due_soon,
            stages=sorted(stages, key=lambda s: s.stage),
        )


def _comment(row: Row) -> Row:
    """A comments view row as the pages read it: the receipt code grouped for people, the
    answer as one value."""
    answer = None
    if row["answer_disposition"] is not None:
        answer = {
            "disposition": row.pop("answer_disposition"),
            "reason": row.pop("answer_reason"),
            "on": row.pop("answered_on"),
        }
    else:
        for name in ("answer_disposition", "answer_reason", "answered_on"):
            row.pop(name)
    row["answer"] = answer
    row["receipt_code"] = format_receipt_code(row["comment_id"])
    return row


def _stage_days(stage: str, histogram: list[tuple[int, int]]) -> StageDays:
    total = sum(count for _, count in histogram)
    if total <= 0:
        return StageDays(stage, 0, None, None, None, None)
    mean = sum(days * count for days, count in histogram) / total
    return StageDays(
        stage=stage,
        count=total,
        median=percentile(histogram, 0.5),
        p90=percentile(histogram, 0.9),
        mean=round(mean, 1),
        longest=max(days for days, count in histogram if count > 0),
    )
