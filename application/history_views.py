"""Time travel of the public consultation list: the list as it stood at the end of a past day,
rebuilt from the events rather than read from the live view table.

An auditor uses it to check that a nomination really was published for its whole window: for
each dossier, its events recorded up to the end of the day (Vietnam time, UTC+7) are folded
into the aggregate as it stood, and the consultation view's own ``rows`` derive its row, so the
rebuilt list is exactly what the live view held at that moment (no logic of its own).

Which dossiers to fold: every dossier the consultation view holds that was published on or
before the day (its rows are never removed: the window opens once, from ``submitted``, and
``opened_on`` is that event's day), plus any dossier published in the events the view has not
read yet (a short read of the log after the view's position, by the event's topic). Each is
read once: the stored events of that dossier, decoded until the first one after the moment,
folded with the same projector as ``repository.get(id, version=...)``.

A day whose end lies more than ``SETTLED_AFTER`` in the past cannot change any more (commands
record events with the service's clock, so nothing recorded later is dated before it) and is
kept in a small cache; today (and a day just ended) is kept only until the log grows.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, cast
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from application.errors import ApplicationError
from application.projections.views import View
from application.store import Store, replay
from domain.dossier import Dossier, Status
from domain.shared import VIETNAM_TZ, local_date

__all__ = [
    "CONSULTATION_TABLE",
    "Candidates",
    "DayOutOfRange",
    "PastConsultations",
    "end_of_day",
    "open_on",
    "select_consultations",
]

Row = dict[str, Any]
ConsultationState = Literal["open", "ended", "all"]
CONSULTATION_TABLE = "view_consultation"
SETTLED_AFTER = timedelta(minutes=10)
"""How long after midnight a day is taken as final (a command still running at midnight may
record its events, dated before it, a moment later)."""
CACHED_DAYS = 64
TAIL_BATCH = 500
PUBLISHED_TOPIC = get_topic(Dossier.PublicCommentOpened)


def end_of_day(day: date) -> datetime:
    """The first moment after ``day`` in Vietnam: the day holds the events dated before it."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=VIETNAM_TZ)


def _day_text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


class DayOutOfRange(ApplicationError):
    """A day the list cannot be shown for: still to come, or before the first recorded event."""

    code = "day-out-of-range"

    def __init__(
        self, kind: Literal["future", "before-records"], heading: str, message: str
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.heading = heading
        """The error page's title."""


@dataclass(frozen=True)
class Candidates:
    """The dossiers the consultation view holds as published by a day, and how far the view
    had read the log when they were read (read the position first)."""

    position: int
    ids: Sequence[UUID]


CandidateSource = Callable[[date], Candidates]
"""Given a day: the view's position, then the ids of its rows opened on or before that day."""


def open_on(row: Row, day: date) -> bool:
    """The window took comments on ``day``: published, not closed, not past its last day
    (the public pages' rule, judged on that day)."""
    return (
        row["status"] == Status.PUBLIC_COMMENT.value
        and row["closed_on"] is None
        and day <= row["closes_on"]
    )


def select_consultations(
    rows: Iterable[Row],
    day: date,
    *,
    state: ConsultationState = "open",
    words: Sequence[str] = (),
    units: Sequence[str] = (),
    award_code: str | None = None,
) -> list[Row]:
    """The rows the public list shows for these filters on ``day``, in its order: the live
    list's rules (open windows closing soonest first; ended ones, and all, latest first), with
    ``words`` already folded (every one must be in the row's search text)."""
    found = [
        row
        for row in rows
        if (state == "all" or open_on(row, day) == (state == "open"))
        and (not units or row["submitting_unit"] in units)
        and (award_code is None or row["award_code"] == award_code)
        and all(word in row["search"] for word in words)
    ]
    found.sort(key=lambda row: (row["closes_on"], row["id"]), reverse=state != "open")
    return found


@dataclass
class _Cached:
    rows: list[Row]
    head: int | None
    """The log's head when built; None once the day is settled (valid whatever comes after)."""


class PastConsultations:
    """The consultation view's rows as they stood at the end of a day, from the events."""

    def __init__(
        self,
        store: Store,
        view: View,
        candidates: CandidateSource,
        *,
        settled_after: timedelta = SETTLED_AFTER,
        cached_days: int = CACHED_DAYS,
    ) -> None:
        self.store = store
        self.view = view
        self.candidates = candidates
        self.settled_after = settled_after
        self.cached_days = cached_days
        self._cache: OrderedDict[date, _Cached] = OrderedDict()
        self._lock = threading.Lock()
        self._first_day: date | None = None

    # --- which days --------------------------------------------------------------------------

    def today(self) -> date:
        return local_date(self.store.now())

    def first_day(self) -> date | None:
        """The day of the first event the store recorded (None while it holds none)."""
        if self._first_day is None:
            first = self.store.recorder.select_notifications(start=None, limit=1)
            if first:
                event = cast(Aggregate.Event, self.store.mapper.to_domain_event(first[0]))
                self._first_day = local_date(event.timestamp)
        return self._first_day

    def check(self, day: date) -> None:
        """``DayOutOfRange`` for a day still to come, or before the first recorded event."""
        today = self.today()
        if day > today:
            raise DayOutOfRange(
                "future",
                "Ngày chưa tới",
                f"Ngày {_day_text(day)} chưa tới. Chỉ xem được danh sách tại cuối những ngày đã "
                f"qua, hoặc danh sách đến lúc này của hôm nay ({_day_text(today)}).",
            )
        first = self.first_day() or today
        if day < first:
            raise DayOutOfRange(
                "before-records",
                "Chưa có dữ liệu của ngày này",
                f"Hệ thống bắt đầu ghi nhận từ ngày {_day_text(first)}; trước đó chưa có hồ sơ "
                f"nào được công khai. Hãy chọn một ngày từ {_day_text(first)} đến hôm nay "
                f"({_day_text(today)}).",
            )

    # --- the rows ------------------------------------------------------------------------------

    def rows_on(self, day: date) -> list[Row]:
        """Every consultation row as the view held it at the end of ``day`` (by id); raises
        ``DayOutOfRange`` for a day out of range. The caller must not change the rows."""
        self.check(day)
        settled = self.store.now() >= end_of_day(day) + self.settled_after
        head = None if settled else self.store.max_position()
        with self._lock:
            cached = self._cache.get(day)
            if cached is not None and (cached.head is None or cached.head == head):
                self._cache.move_to_end(day)
                return cached.rows
        rows = self.rebuild(day)
        with self._lock:
            self._cache[day] = _Cached(rows, head)
            self._cache.move_to_end(day)
            while len(self._cache) > self.cached_days:
                self._cache.popitem(last=False)
        return rows

    def rebuild(self, day: date) -> list[Row]:
        """The rows at the end of ``day``, folded from the events (no cache)."""
        moment = end_of_day(day)
        rows: list[Row] = []
        for dossier_id in sorted(self.published_by(day)):
            dossier = self.as_it_stood(dossier_id, moment)
            if dossier is not None:
                rows += self.view.rows(dossier).get(CONSULTATION_TABLE, [])
        return rows

    def published_by(self, day: date) -> set[UUID]:
        """The ids of every dossier that may have been published for comment by ``day``."""
        found = self.candidates(day)
        ids = set(found.ids)
        start = found.position + 1
        while True:
            tail = self.store.recorder.select_notifications(
                start=start, limit=TAIL_BATCH, topics=[PUBLISHED_TOPIC]
            )
            ids.update(UUID(str(notification.originator_id)) for notification in tail)
            if len(tail) < TAIL_BATCH:
                return ids
            start = tail[-1].id + 1

    def as_it_stood(self, dossier_id: UUID, moment: datetime) -> Dossier | None:
        """The dossier folded from its events dated before ``moment`` (None if it had none):
        what ``repository.get(dossier_id, version=...)`` gives at the last such version, from
        one read of its stored events, decoded only up to the moment."""
        stored = cast(Iterable[Aggregate.Event], self.store.events.get(dossier_id))
        events = itertools.takewhile(lambda event: event.timestamp < moment, stored)
        dossier = replay(None, events)
        return dossier if isinstance(dossier, Dossier) else None
