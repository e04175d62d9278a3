"""A stored row's clock columns give the same deadline as the dossier they were derived from.

The listing keeps only what does not change with the date (``clock_columns``) and works the
deadline out when a row is read (``deadline_of``). For any history of pauses (returned for
documents, held, both nested, during public comment or after), any calendar and any day, that
answer must be the domain's own ``Dossier.deadline``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from application.projections.views import ClockColumns, clock_columns, deadline_of
from domain.calendar import WeekdayCalendar, WorkCalendar
from domain.dossier import Dossier, Status
from domain.errors import DomainError
from domain.shared import VIETNAM_TZ
from domain.values import CommentAnswer, CommentKind, Disposition, HoldKind
from infrastructure.calendar import VietnamCalendar
from tests.unit.builders import (
    APPRAISER,
    CHAIRMAN,
    COLLEAGUE,
    PROVINCIAL_WITH_COUNCIL,
    PROVINCIAL_WITHOUT_COUNCIL,
    PUBLIC,
    STATE_LEVEL,
    document,
    launched_movement,
    submit,
)

CALENDARS: dict[str, WorkCalendar] = {
    "weekdays": WeekdayCalendar(),
    "vietnam": VietnamCalendar(),
}

# Pauses and public comment often, the steps that end the clock (appraise, withdraw) rarely.
ACTIONS = (
    *("return", "supplement", "hold", "lift") * 3,
    *("comment",) * 4,
    "appraise",
    "withdraw",
)


def _moment(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=VIETNAM_TZ)


class _Driver:
    """Applies a random history to a dossier; steps the rules refuse are skipped."""

    def __init__(self, dossier: Dossier, calendar: WorkCalendar) -> None:
        self.dossier = dossier
        self.calendar = calendar
        self.last = dossier.modified_on.astimezone(VIETNAM_TZ)
        self.day = self.last.date()
        self.supplements = 0

    def at(self, gap: int) -> datetime:
        """``gap`` days later at 09:00, or a minute after the last step on the same day."""
        moment = max(_moment(self.day + timedelta(days=gap), 9), self.last + timedelta(minutes=1))
        self.last = moment
        self.day = moment.date()
        return moment

    def apply(self, action: str, gap: int) -> None:
        d = self.dossier
        try:
            if action == "return":
                d.return_for_supplement(
                    missing=["Bản sao quyết định"], note="", by=APPRAISER, at=self.at(gap)
                )
            elif action == "supplement":
                self.supplements += 1
                d.supplement(
                    documents=[document(f"bo-sung-{self.supplements}.pdf")],
                    note="",
                    by=COLLEAGUE,
                    at=self.at(gap),
                )
            elif action == "hold":
                d.hold(kind=HoldKind.COMPLAINT, reason="Có đơn", by=CHAIRMAN, at=self.at(gap))
            elif action == "lift":
                d.lift_hold(outcome="Không có cơ sở", by=CHAIRMAN, at=self.at(gap))
            elif action == "comment":
                self.comment(gap)
            elif action == "appraise":
                d.appraise(
                    qualified=True,
                    opinion="Đủ điều kiện.",
                    answers={
                        key: CommentAnswer(Disposition.NOTED, "Tiếp thu.") for key in d.comments
                    },
                    by=APPRAISER,
                    at=self.at(gap),
                )
            elif action == "withdraw":
                d.withdraw(reason="Rút hồ sơ", by=COLLEAGUE, at=self.at(gap))
        except DomainError:
            pass

    def comment(self, gap: int) -> None:
        """Move public comment on: open it, take a comment, or close it once it has run out."""
        d = self.dossier
        if d.status is Status.SUBMITTED and d.comment_opened_on is None:
            moment = self.at(gap)
            closes_on = self.calendar.add_working_days(self.day, d.award.comment_days)
            d.open_public_comment(
                closes_on=closes_on, by=APPRAISER, at=moment, calendar=self.calendar
            )
        elif d.status is Status.PUBLIC_COMMENT and d.comment_closes_on is not None:
            if gap < 6 and self.day + timedelta(days=gap) <= d.comment_closes_on:
                d.receive_comment(
                    comment_id=f"y-kien-{len(d.comments) + 1}",
                    kind=CommentKind.SUPPORT,
                    text="Đồng ý.",
                    author_name=None,
                    contact=None,
                    by=PUBLIC,
                    at=self.at(gap),
                )
            else:  # the window has run out (perhaps long ago): close it
                self.day = max(self.day, d.comment_closes_on)
                d.close_public_comment(by=APPRAISER, at=self.at(max(gap - 5, 1)))


histories = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=0, max_value=16)),
    max_size=14,
)
award_codes = st.sampled_from((PROVINCIAL_WITHOUT_COUNCIL, PROVINCIAL_WITH_COUNCIL, STATE_LEVEL))
# Any day, weekends and holidays included (commands are not refused on days off); Tết 2026
# falls in February, so some histories cross it.
submission_days = st.dates(min_value=date(2026, 1, 5), max_value=date(2026, 12, 20))


def _dossier(
    calendar: WorkCalendar, award_code: str, day: date, history: list[tuple[str, int]]
) -> Dossier:
    movement = launched_movement(on=date(2026, 1, 5))
    dossier = submit(award_code, on=day, movement=movement)
    driver = _Driver(dossier, calendar)
    for action, gap in history:
        driver.apply(action, gap)
    return dossier


def _stored(columns: ClockColumns) -> dict[str, object]:
    values = asdict(columns)
    return {key: values[key] for key in ("clock_started_on", "deadline_budget", "paused_since")}


@pytest.mark.parametrize("calendar_name", sorted(CALENDARS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    award_code=award_codes,
    day=submission_days,
    history=histories,
    offsets=st.lists(st.integers(min_value=-10, max_value=200), min_size=1, max_size=6),
)
def test_the_stored_clock_columns_give_the_domains_deadline_on_any_day(
    calendar_name: str,
    award_code: str,
    day: date,
    history: list[tuple[str, int]],
    offsets: list[int],
) -> None:
    calendar = CALENDARS[calendar_name]
    dossier = _dossier(calendar, award_code, day, history)
    columns = clock_columns(dossier, calendar)
    last = dossier.modified_on.astimezone(VIETNAM_TZ).date()
    for offset in offsets:
        today = last + timedelta(days=offset)
        assert deadline_of(calendar, today, **_stored(columns)) == dossier.deadline(  # type: ignore[arg-type]
            calendar, today
        ), (today, columns, dossier.pauses, dossier.paused_since)


# When the pause starts: some working days after the last step, or a few days either side of the
# deadline (the interesting case: a pause that starts just after the deadline, perhaps on the
# weekend that follows it).
pause_moments = st.one_of(
    st.tuples(st.just("after"), st.integers(min_value=0, max_value=60)),
    st.tuples(st.just("deadline"), st.integers(min_value=-3, max_value=4)),
)


@pytest.mark.parametrize("calendar_name", sorted(CALENDARS))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    award_code=award_codes,
    day=submission_days,
    history=histories,
    when=pause_moments,
    pause=st.sampled_from(("return", "hold")),
    later=st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=6),
)
def test_paused_overdue_is_what_the_domain_says_on_every_working_day_of_the_pause(
    calendar_name: str,
    award_code: str,
    day: date,
    history: list[tuple[str, int]],
    when: tuple[str, int],
    pause: str,
    later: list[int],
) -> None:
    calendar = CALENDARS[calendar_name]
    dossier = _dossier(calendar, award_code, day, history)
    driver = _Driver(dossier, calendar)
    gap = when[1]
    if when[0] == "deadline":
        due_on = clock_columns(dossier, calendar).due_on
        assume(due_on is not None)
        assert due_on is not None
        gap = (due_on + timedelta(days=when[1]) - driver.day).days
        assume(gap >= 0)
    driver.apply(pause, gap)
    columns = clock_columns(dossier, calendar)
    assume(columns.paused_since is not None)
    assert columns.clock_started_on is not None
    paused_from = max(columns.paused_since, columns.clock_started_on)
    for offset in later:
        today = paused_from + timedelta(days=offset)
        if not calendar.is_working_day(today):
            continue
        assert dossier.deadline(calendar, today).overdue == columns.paused_overdue, (
            today,
            columns,
            dossier.pauses,
        )


def test_a_dossier_held_the_day_after_its_deadline_is_paused_overdue() -> None:
    calendar = CALENDARS["weekdays"]
    dossier = _dossier(calendar, PROVINCIAL_WITHOUT_COUNCIL, date(2026, 3, 2), [])
    due_on = calendar.add_working_days(date(2026, 3, 2), dossier.award.appraisal_days)
    assert due_on == date(2026, 3, 30)  # a Monday
    dossier.hold(
        kind=HoldKind.COMPLAINT, reason="Có đơn", by=CHAIRMAN, at=_moment(date(2026, 3, 31), 9)
    )
    columns = clock_columns(dossier, calendar)
    assert columns == ClockColumns(
        clock_started_on=date(2026, 3, 2),
        deadline_budget=20,
        paused_since=date(2026, 3, 31),
        due_on=None,
        paused_overdue=True,
    )
    for today in (date(2026, 4, 1), date(2026, 4, 6), date(2026, 4, 20)):
        assert dossier.deadline(calendar, today).overdue
        assert deadline_of(calendar, today, **_stored(columns)) == dossier.deadline(  # type: ignore[arg-type]
            calendar, today
        )


def test_a_dossier_due_on_a_friday_and_held_on_the_saturday_is_not_paused_overdue() -> None:
    """The domain gives the pause the Monday back: on every working day of the pause the
    dossier is due that day, not overdue; the stored flag must say the same."""
    calendar = CALENDARS["weekdays"]
    dossier = _dossier(calendar, PROVINCIAL_WITHOUT_COUNCIL, date(2026, 3, 6), [])
    assert calendar.add_working_days(date(2026, 3, 6), 20) == date(2026, 4, 3)  # a Friday
    dossier.hold(
        kind=HoldKind.COMPLAINT, reason="Có đơn", by=CHAIRMAN, at=_moment(date(2026, 4, 4), 9)
    )
    monday = dossier.deadline(calendar, date(2026, 4, 6))
    assert (monday.due_on, monday.working_days_left, monday.overdue) == (
        date(2026, 4, 6),
        0,
        False,
    )
    columns = clock_columns(dossier, calendar)
    assert deadline_of(calendar, date(2026, 4, 6), **_stored(columns)) == monday  # type: ignore[arg-type]
    assert columns.paused_overdue is False


@pytest.mark.parametrize("calendar_name", sorted(CALENDARS))
def test_a_hold_during_public_comment_does_not_move_the_deadline_that_starts_at_its_close(
    calendar_name: str,
) -> None:
    calendar = CALENDARS[calendar_name]
    history = [("comment", 0), ("comment", 1), ("hold", 2), ("lift", 3), ("comment", 14)]
    dossier = _dossier(calendar, STATE_LEVEL, date(2026, 3, 2), history)
    assert dossier.comment_closed_on is not None
    assert len(dossier.pauses) == 1
    assert dossier.pauses[0][1] < dossier.comment_closed_on
    columns = clock_columns(dossier, calendar)
    assert columns.clock_started_on == dossier.comment_closed_on
    assert columns.deadline_budget == dossier.award.appraisal_days
    assert columns.due_on == calendar.add_working_days(dossier.comment_closed_on, 20)
    for offset in (0, 5, 30):
        today = dossier.comment_closed_on + timedelta(days=offset)
        assert deadline_of(calendar, today, **_stored(columns)) == dossier.deadline(  # type: ignore[arg-type]
            calendar, today
        )
    # Held again after the close: the pause counts from then on.
    driver = _Driver(dossier, calendar)
    driver.apply("hold", 4)
    paused = clock_columns(dossier, calendar)
    assert paused.paused_since == driver.day
    for offset in (0, 5, 30):
        today = driver.day + timedelta(days=offset)
        assert deadline_of(calendar, today, **_stored(paused)) == dossier.deadline(  # type: ignore[arg-type]
            calendar, today
        )
