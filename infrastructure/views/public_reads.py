"""What the public pages and the open data read from the view tables.

Only the columns domain.md lets the public see leave this module's queries for the pages: the
nominee's name, kind and position, the unit, the award, the comment window and its counts, the
decision numbers and dates, the public milestones of a dossier. The view tables never hold a
nominee's personal details nor a commenter's contact in the first place.

The same keyset pages and folded search as the staff lists (``reads``): a page is found by the
last row's sort value and id, never by an offset.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from application.projections.views import Consultation
from domain.dossier import Status
from domain.shared import fold, local_date
from infrastructure.views.reads import (
    AWARDS,
    COMMENTS,
    CONSULTATION,
    DOSSIERS,
    MOVEMENTS,
    STAT_COUNTS,
    AwardFilter,
    KeysetPage,
    SortKey,
    ViewReads,
    _Where,
)

__all__ = [
    "AWARDED",
    "CONSULTATION_STATES",
    "IN_PROGRESS",
    "PUBLIC_REGISTER_STATUSES",
    "ConsultationFilter",
    "ConsultationState",
    "Milestones",
    "MovementCounts",
    "PublicReads",
    "public_consultation",
]

Row = dict[str, Any]
ConsultationState = Literal["open", "ended", "all"]
CONSULTATION_STATES: tuple[ConsultationState, ...] = ("open", "ended", "all")

SOONEST_FIRST = SortKey("closes_on", "closes_on", descending=False)
LATEST_FIRST = SortKey("-closes_on", "closes_on", descending=True)
RECORDED_LATEST = SortKey("-recorded_on", "recorded_on", descending=True)
ISSUED_LATEST = SortKey("-issued_on", "issued_on", descending=True)

PUBLIC_REGISTER_STATUSES = (Status.APPROVED.value, Status.CONFERRED.value, Status.REVOKED.value)
"""Awards made (by the province or from above) and revoked; a nomination only forwarded upward
is not yet an award."""
AWARDED = frozenset({Status.APPROVED.value, Status.CONFERRED.value})
IN_PROGRESS = frozenset({*(s.value for s in Status if s.is_open), Status.FORWARDED.value})

CONSULTATION_COLUMNS = (
    "id, status, award_code, award_name, level, nominee_kind, nominee_name, nominee_position, "
    "submitting_unit, movement_id, opened_on, closes_on, closed_on, comments_received, "
    "comments_published, comments_withheld, achievements, appraised_on"
)
"""The consultation view's public columns (not its search text or version)."""


@dataclass(frozen=True)
class ConsultationFilter:
    """What the public list of consultations is narrowed to."""

    state: ConsultationState = "open"
    q: str | None = None
    units: tuple[str, ...] = ()
    """Exact unit names (as stored); the page maps what a person picked or typed onto them."""
    award_code: str | None = None


@dataclass(frozen=True)
class Milestones:
    """The public milestones of one dossier's timeline (None: not reached, or not known)."""

    submitted_on: date | None
    status: str | None
    council_meeting_on: date | None
    decision_number: str | None
    decision_date: date | None
    central_decision_number: str | None
    central_decision_date: date | None
    revocation_number: str | None
    revocation_date: date | None


@dataclass(frozen=True)
class MovementCounts:
    """How many dossiers a movement has: all, still being considered, awarded."""

    nominated: int = 0
    in_progress: int = 0
    awarded: int = 0


def _local_day(moment: datetime | None) -> date | None:
    return local_date(moment) if moment is not None else None


class PublicReads(ViewReads):
    """The public queries (and, inherited, every staff one) over the live view tables."""

    # --- consultations ----------------------------------------------------------------------

    def _consultation_where(self, found: ConsultationFilter, today: date) -> _Where:
        where = _Where(self.database, CONSULTATION)
        is_open = '"status" = %s AND "closed_on" IS NULL AND "closes_on" >= %s'
        values = (("status", Status.PUBLIC_COMMENT.value), ("closes_on", today))
        if found.state == "open":
            where.add(is_open, *values)
        elif found.state == "ended":
            where.add(f"NOT ({is_open})", *values)
        where.among("submitting_unit", found.units)
        where.equals("award_code", found.award_code)
        where.search(found.q)
        return where

    @staticmethod
    def consultation_sort(state: ConsultationState) -> SortKey:
        """Open windows closing soonest first; ended ones (and all) the latest first."""
        return SOONEST_FIRST if state == "open" else LATEST_FIRST

    def public_consultations(
        self,
        found: ConsultationFilter,
        *,
        today: date,
        cursor: str | None,
        limit: int,
        count: bool = False,
    ) -> KeysetPage:
        """One page of the nominations published for comment; ``InvalidCursor`` for a cursor
        this service did not make (or made for another state)."""
        where = self._consultation_where(found, today)
        sort = self.consultation_sort(found.state)
        rows, next_cursor = self._page(CONSULTATION, where, sort, cursor, limit)
        total = self._count(CONSULTATION, where) if count else None
        return KeysetPage([_public(row) for row in rows], next_cursor, total)

    def all_public_consultations(self, found: ConsultationFilter, *, today: date) -> Iterator[Row]:
        """Every matching consultation in the list's order (open data)."""
        where = self._consultation_where(found, today)
        sort = self.consultation_sort(found.state)
        return self._stream(CONSULTATION, where, sort, CONSULTATION_COLUMNS)

    def public_consultation(self, dossier_id: UUID) -> Row | None:
        """One nomination published for comment, or None."""
        where = _Where(self.database, CONSULTATION)
        where.equals("id", dossier_id)
        rows = self.database.select(
            CONSULTATION, f"SELECT * FROM {{table}}{where.sql()}", where.params
        )
        return _public(rows[0]) if rows else None

    def consultations_opened_by(self, day: date) -> tuple[int, list[UUID]]:
        """The consultation view's position, then the ids of its rows published for comment on
        or before ``day`` (the candidates of the list as it stood that day: rows are never
        removed, and ``opened_on`` never changes once set)."""
        position = self.position([Consultation.name])
        where = _Where(self.database, CONSULTATION)
        where.add('"opened_on" <= %s', ("opened_on", day))
        rows = self.database.select(
            CONSULTATION, f"SELECT id FROM {{table}}{where.sql()}", where.params
        )
        return position, [row["id"] for row in rows]

    def consultation_units(self) -> list[str]:
        """The units that have had a nomination published for comment, by name."""
        rows = self.database.select(
            CONSULTATION, "SELECT DISTINCT submitting_unit AS unit FROM {table}"
        )
        return sorted((str(row["unit"]) for row in rows), key=fold)

    def consultation_awards(self) -> list[tuple[str, str]]:
        """The awards (code, name) that have had a nomination published for comment."""
        rows = self.database.select(
            CONSULTATION, "SELECT DISTINCT award_code, award_name FROM {table}"
        )
        found = {str(row["award_code"]): str(row["award_name"]) for row in rows}
        return sorted(found.items(), key=lambda item: fold(item[1]))

    def comment_texts(self, dossier_id: UUID) -> list[str]:
        """The text of every comment the dossier received (to recognise a duplicate)."""
        where = _Where(self.database, COMMENTS)
        where.equals("dossier_id", dossier_id)
        rows = self.database.select(
            COMMENTS, f"SELECT text FROM {{table}}{where.sql()}", where.params
        )
        return [str(row["text"]) for row in rows]

    # --- one dossier's public milestones ----------------------------------------------------

    def milestones(self, dossier_id: UUID) -> Milestones:
        listed = _Where(self.database, DOSSIERS)
        listed.equals("id", dossier_id)
        rows = self.database.select(
            DOSSIERS,
            f"SELECT submitted_at, status, council_meeting_on FROM {{table}}{listed.sql()}",
            listed.params,
        )
        dossier = rows[0] if rows else {}
        registered = _Where(self.database, AWARDS)
        registered.equals("id", dossier_id)
        rows = self.database.select(
            AWARDS,
            "SELECT decision_number, decision_date, central_decision_number, "
            "central_decision_date, revocation_number, revocation_date "
            f"FROM {{table}}{registered.sql()}",
            registered.params,
        )
        award = rows[0] if rows else {}
        return Milestones(
            submitted_on=_local_day(dossier.get("submitted_at")),
            status=dossier.get("status"),
            council_meeting_on=dossier.get("council_meeting_on"),
            decision_number=award.get("decision_number"),
            decision_date=award.get("decision_date"),
            central_decision_number=award.get("central_decision_number"),
            central_decision_date=award.get("central_decision_date"),
            revocation_number=award.get("revocation_number"),
            revocation_date=award.get("revocation_date"),
        )

    # --- the register -----------------------------------------------------------------------

    @staticmethod
    def register_filter(q: str | None) -> AwardFilter:
        return AwardFilter(statuses=PUBLIC_REGISTER_STATUSES, q=q)

    def public_awards(self, q: str | None, *, cursor: str | None, limit: int) -> KeysetPage:
        """One page of the public register, the latest first."""
        page = self.awards(
            self.register_filter(q), sort=RECORDED_LATEST, cursor=cursor, limit=limit
        )
        return KeysetPage([_public_award(row) for row in page.rows], page.next_cursor)

    def all_public_awards(self, q: str | None) -> Iterator[Row]:
        return (
            _public_award(row)
            for row in self.all_awards(self.register_filter(q), sort=RECORDED_LATEST)
        )

    # --- movements --------------------------------------------------------------------------

    def public_movements(self, *, cursor: str | None, limit: int) -> KeysetPage:
        """One page of the movements, the most recently issued plan first."""
        rows, next_cursor = self._page(
            MOVEMENTS, _Where(self.database, MOVEMENTS), ISSUED_LATEST, cursor, limit
        )
        return KeysetPage([_public_movement(row) for row in rows], next_cursor)

    def all_public_movements(self) -> Iterator[Row]:
        rows = self._stream(MOVEMENTS, _Where(self.database, MOVEMENTS), ISSUED_LATEST)
        return (_public_movement(row) for row in rows)

    def current_movements(self, today: date, limit: int) -> list[Row]:
        """Movements under way on ``today``, the one ending soonest first."""
        where = _Where(self.database, MOVEMENTS)
        where.add(
            '"closed" = %s AND "starts_on" <= %s AND "ends_on" >= %s',
            ("closed", False),
            ("starts_on", today),
            ("ends_on", today),
        )
        rows = self.database.select(
            MOVEMENTS,
            f"SELECT * FROM {{table}}{where.sql()} ORDER BY ends_on, id LIMIT {int(limit)}",
            where.params,
        )
        return [_public_movement(row) for row in rows]

    def movement_counts(self) -> dict[UUID, MovementCounts]:
        """Dossiers per movement (from the statistics view's counters)."""
        where = _Where(self.database, STAT_COUNTS)
        where.equals("dimension", "movement")
        rows = self.database.select(
            STAT_COUNTS, f"SELECT key, status, count FROM {{table}}{where.sql()}", where.params
        )
        totals: dict[UUID, dict[str, int]] = {}
        for row in rows:
            try:
                movement = UUID(str(row["key"]))
            except ValueError:
                continue
            by_status = totals.setdefault(movement, {})
            by_status[row["status"]] = by_status.get(row["status"], 0) + int(row["count"])
        return {
            movement: MovementCounts(
                nominated=sum(by_status.values()),
                in_progress=sum(n for s, n in by_status.items() if s in IN_PROGRESS),
                awarded=sum(n for s, n in by_status.items() if s in AWARDED),
            )
            for movement, by_status in totals.items()
        }


# --- what leaves for the public ---------------------------------------------------------------

_CONSULTATION_PUBLIC = tuple(name.strip() for name in CONSULTATION_COLUMNS.split(","))
_AWARD_PUBLIC = (
    "id",
    "status",
    "award_code",
    "award_name",
    "level",
    "nominee_kind",
    "nominee_name",
    "nominee_position",
    "submitting_unit",
    "movement_id",
    "decision_number",
    "decision_date",
    "central_decision_number",
    "central_decision_date",
    "revocation_number",
    "revocation_date",
    "recorded_on",
)
_MOVEMENT_PUBLIC = (
    "id",
    "plan_number",
    "title",
    "issuing_body",
    "issued_on",
    "starts_on",
    "ends_on",
    "closed",
)


def public_consultation(row: Row) -> Row:
    """A consultation row's public columns (a stored row, or one a view derives)."""
    return _public(row)


def _public(row: Row) -> Row:
    """A consultation row's public columns."""
    return {name: row[name] for name in _CONSULTATION_PUBLIC}


def _public_award(row: Row) -> Row:
    return {name: row.get(name) for name in _AWARD_PUBLIC}


def _public_movement(row: Row) -> Row:
    return {name: row.get(name) for name in _MOVEMENT_PUBLIC}
