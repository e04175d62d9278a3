"""The Vietnamese working-day calendar and the deployment's swaps file."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import WorkCalendar
from infrastructure.calendar import (
    DEFAULT_DAY_OFF_NAME,
    CalendarFileError,
    VietnamCalendar,
    load_swaps,
)

CALENDAR = VietnamCalendar()
"""Shared by the tests that do not need swaps; reads never change it."""

REFERENCE = holidays.country_holidays("VN")
"""The library itself, asked day by day: the oracle for the fast tables."""


def _reference_working_days_between(start: date, end: date) -> int:
    return sum(
        REFERENCE.is_working_day(start + timedelta(days=offset))
        for offset in range(1, (end - start).days + 1)
    )


starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
spans = st.integers(min_value=0, max_value=400)


# --- holidays the library knows ---------------------------------------------------------------


def test_vietnam_calendar_satisfies_the_domain_protocol() -> None:
    calendar: WorkCalendar = CALENDAR
    assert calendar.is_working_day(date(2026, 3, 2))


def test_tet_2026_days_are_not_working_days() -> None:
    tet = [date(2026, 2, day) for day in range(16, 21)]  # Monday 16 to Friday 20 February
    assert not any(CALENDAR.is_working_day(day) for day in tet)
    assert CALENDAR.holiday_name(date(2026, 2, 17)) == "Tết Nguyên Đán"
    assert CALENDAR.is_working_day(date(2026, 2, 13))  # the Friday before
    assert CALENDAR.is_working_day(date(2026, 2, 23))  # the Monday after


def test_ordinary_weekends_are_not_working_days() -> None:
    assert not CALENDAR.is_working_day(date(2026, 3, 7))  # Saturday
    assert not CALENDAR.is_working_day(date(2026, 3, 8))  # Sunday
    assert CALENDAR.holiday_name(date(2026, 3, 7)) is None


def test_saturday_26_april_2025_is_a_make_up_working_day() -> None:
    assert CALENDAR.is_working_day(date(2025, 4, 26))
    assert not CALENDAR.is_working_day(date(2025, 5, 2))  # the Friday given in exchange
    assert CALENDAR.holiday_name(date(2025, 5, 2)) == "Ngày nghỉ (thay cho ngày 26/04/2025)"


def test_national_day_2_september_and_its_adjacent_day_are_days_off() -> None:
    assert not CALENDAR.is_working_day(date(2025, 9, 1))
    assert not CALENDAR.is_working_day(date(2025, 9, 2))
    assert CALENDAR.is_working_day(date(2025, 9, 3))
    assert CALENDAR.holiday_name(date(2025, 9, 2)) == "Quốc khánh"


def test_national_day_2026_swap_gives_monday_31_august_off_for_saturday_22_august() -> None:
    assert not CALENDAR.is_working_day(date(2026, 8, 31))
    assert not CALENDAR.is_working_day(date(2026, 9, 1))
    assert not CALENDAR.is_working_day(date(2026, 9, 2))
    assert CALENDAR.is_working_day(date(2026, 8, 22))


def test_holiday_on_a_weekend_gives_an_observed_day_off() -> None:
    # Giỗ Tổ Hùng Vương 2026 falls on Sunday 26 April; Monday 27 April is the nghỉ bù.
    assert CALENDAR.holiday_name(date(2026, 4, 26)) is not None
    assert not CALENDAR.is_working_day(date(2026, 4, 27))


def test_a_datetime_is_read_as_its_date() -> None:
    assert not CALENDAR.is_working_day(datetime(2026, 2, 17, 9, 30))
    assert CALENDAR.working_days_between(datetime(2026, 2, 13, 8), date(2026, 2, 23)) == 1


# --- the deployment's swaps -------------------------------------------------------------------


def test_deployment_swap_makes_a_weekday_off_and_a_saturday_a_working_day() -> None:
    calendar = VietnamCalendar(
        extra_holidays={date(2026, 1, 2): "Nghỉ hoán đổi Tết Dương lịch"},
        extra_working_days=[date(2026, 1, 10)],
    )
    assert not calendar.is_working_day(date(2026, 1, 2))
    assert calendar.holiday_name(date(2026, 1, 2)) == "Nghỉ hoán đổi Tết Dương lịch"
    assert calendar.is_working_day(date(2026, 1, 10))
    assert calendar.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 5)
    assert calendar.add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 10)
    # The calendar without swaps is untouched.
    assert CALENDAR.is_working_day(date(2026, 1, 2))
    assert not CALENDAR.is_working_day(date(2026, 1, 10))


def test_swaps_in_a_year_not_yet_touched_survive_the_lazy_expansion() -> None:
    calendar = VietnamCalendar(
        extra_holidays={date(2031, 9, 5): "Nghỉ hoán đổi Quốc khánh"},
        extra_working_days={date(2031, 9, 13)},
    )
    # Touch other years first, so 2031 is expanded later, by a span crossing into it.
    assert calendar.is_working_day(date(2030, 12, 30))
    assert calendar.working_days_between(date(2030, 12, 1), date(2031, 12, 31)) > 200
    assert not calendar.is_working_day(date(2031, 9, 5))
    assert calendar.is_working_day(date(2031, 9, 13))
    # ... and a library holiday of that year is still there.
    assert not calendar.is_working_day(date(2031, 9, 2))


def test_a_deployment_working_day_overrides_a_library_holiday() -> None:
    calendar = VietnamCalendar(extra_working_days=[date(2026, 8, 31)])
    assert calendar.is_working_day(date(2026, 8, 31))
    assert calendar.holiday_name(date(2026, 8, 31)) is None


def test_a_date_cannot_be_both_a_day_off_and_a_working_day() -> None:
    with pytest.raises(ValueError, match="10/01/2026"):
        VietnamCalendar({date(2026, 1, 10): "x"}, [date(2026, 1, 10)])


# --- counting -------------------------------------------------------------------------------


def test_counting_across_tet_skips_the_whole_holiday() -> None:
    assert CALENDAR.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert CALENDAR.working_days_between(date(2026, 2, 12), date(2026, 2, 24)) == 3
    # February 2026: 20 weekdays, 5 of them Tết.
    assert CALENDAR.working_days_between(date(2026, 1, 31), date(2026, 2, 28)) == 15


def test_add_working_days_skips_the_holidays() -> None:
    assert CALENDAR.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert CALENDAR.add_working_days(date(2026, 2, 12), 2) == date(2026, 2, 23)
    # 30/4, 1/5 and the swapped 2/5 off, then a weekend.
    assert CALENDAR.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    # The make-up Saturday counts.
    assert CALENDAR.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)


def test_add_working_days_crosses_the_new_year() -> None:
    assert CALENDAR.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 2)
    assert CALENDAR.add_working_days(date(2025, 12, 1), 30) == date(2026, 1, 13)
    assert CALENDAR.working_days_between(date(2025, 12, 1), date(2026, 1, 13)) == 30


def test_add_zero_working_days_is_the_start_itself() -> None:
    assert CALENDAR.add_working_days(date(2026, 2, 17), 0) == date(2026, 2, 17)


def test_negative_working_days_count_backwards() -> None:
    assert CALENDAR.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)
    assert CALENDAR.add_working_days(date(2026, 1, 2), -1) == date(2025, 12, 31)


def test_working_days_between_is_zero_when_end_is_not_after_start() -> None:
    assert CALENDAR.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == 0
    assert CALENDAR.working_days_between(date(2026, 3, 10), date(2026, 3, 2)) == 0
    assert CALENDAR.working_days_between(date(2027, 1, 1), date(2026, 1, 1)) == 0


def test_years_beyond_the_library_have_only_weekends() -> None:
    calendar = VietnamCalendar()
    assert calendar.is_working_day(date(2150, 1, 1))  # a Thursday, no holiday data
    with pytest.raises(OverflowError):
        calendar.add_working_days(date(9999, 12, 30), 10)


@settings(max_examples=300, deadline=None)
@given(start=starts, days=spans)
def test_counting_the_days_added_gives_them_back(start: date, days: int) -> None:
    end = CALENDAR.add_working_days(start, days)
    assert CALENDAR.working_days_between(start, end) == days
    if days > 0:
        assert CALENDAR.is_working_day(end)
        assert CALENDAR.working_days_between(start, end - timedelta(days=1)) == days - 1


@settings(max_examples=200, deadline=None)
@given(start=starts, days=st.integers(min_value=1, max_value=400))
def test_adding_backwards_undoes_adding_forwards(start: date, days: int) -> None:
    earlier = CALENDAR.add_working_days(start, -days)
    assert CALENDAR.is_working_day(earlier)
    # exactly ``days`` working days in [earlier, start)
    assert (
        CALENDAR.working_days_between(earlier - timedelta(days=1), start)
        - int(CALENDAR.is_working_day(start))
        == days
    )


@settings(max_examples=100, deadline=None)
@given(start=starts, length=spans)
def test_the_tables_agree_with_the_library_day_by_day(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    assert CALENDAR.working_days_between(start, end) == _reference_working_days_between(start, end)
    assert CALENDAR.is_working_day(end) == REFERENCE.is_working_day(end)


def test_concurrent_first_reads_give_the_same_answers_as_serial_ones() -> None:
    years = range(2000, 2040)
    serial = VietnamCalendar()
    expected = [serial.working_days_between(date(y, 1, 1), date(y, 12, 31)) for y in years]
    shared = VietnamCalendar()
    results: dict[int, list[int]] = {}
    barrier = threading.Barrier(8)

    def work(worker: int) -> None:
        barrier.wait()
        order = list(years) if worker % 2 else list(reversed(years))
        counts = {y: shared.working_days_between(date(y, 1, 1), date(y, 12, 31)) for y in order}
        results[worker] = [counts[y] for y in years]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[n] == expected for n in range(8))


# --- the swaps file -------------------------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ngay-nghi.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_swaps_file_lists_days_off_with_names_and_working_saturdays(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[[days_off]]
date = 2026-01-02
name = "Nghỉ hoán đổi Tết Dương lịch"

[[days_off]]
date = "2026-12-31"

[[working_days]]
date = 2026-01-10
name = "Làm bù cho ngày 02/01/2026"
""",
    )
    days_off, working_days = load_swaps(path)
    assert days_off == {
        date(2026, 1, 2): "Nghỉ hoán đổi Tết Dương lịch",
        date(2026, 12, 31): DEFAULT_DAY_OFF_NAME,
    }
    assert working_days == {date(2026, 1, 10)}
    calendar = VietnamCalendar.from_swaps_file(path)
    assert not calendar.is_working_day(date(2026, 1, 2))
    assert calendar.is_working_day(date(2026, 1, 10))


def test_an_empty_swaps_file_has_no_swaps(tmp_path: Path) -> None:
    assert load_swaps(_write(tmp_path, "")) == ({}, set())


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("[[days_off]]\nname = 'x'\n", "days_off[0].date: thiếu"),
        ("[[days_off]]\ndate = '2026-02-30'\n", "days_off[0].date"),
        ("[[working_days]]\ndate = 2026-01-10T08:00:00\n", "working_days[0].date"),
        ("[[working_days]]\ndate = 2026-01-10\nreason = 'x'\n", "working_days[0].reason"),
        ("[[days_off]]\ndate = 2026-01-02\nname = ''\n", "days_off[0].name"),
        ("holidays = []\n", "holidays: khóa không được hỗ trợ"),
        ("days_off = 3\n", "days_off: phải là danh sách"),
        ("days_off = [1]\n", "days_off[0]: phải là một bảng"),
        (
            "[[days_off]]\ndate = 2026-01-10\n[[working_days]]\ndate = 2026-01-10\n",
            "working_days[0].date: ngày 10/01/2026 đã được khai báo ở days_off[0]",
        ),
        ("[[days_off]\ndate = 2026-01-02\n", "sai cú pháp TOML"),
    ],
)
def test_a_bad_swaps_file_names_the_file_and_the_problem(
    tmp_path: Path, text: str, named: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CalendarFileError) as caught:
        load_swaps(path)
    assert str(path) in str(caught.value)
    assert named in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_swaps_file_lists_every_problem_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "[[days_off]]\n[[working_days]]\ndate = 'soon'\n")
    with pytest.raises(CalendarFileError) as caught:
        load_swaps(path)
    assert len(caught.value.problems) == 2


def test_a_missing_swaps_file_is_reported_by_name(tmp_path: Path) -> None:
    path = tmp_path / "khong-co.toml"
    with pytest.raises(CalendarFileError, match="không tìm thấy tệp") as caught:
        load_swaps(path)
    assert str(path) in str(caught.value)


def test_a_swaps_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes("# ngày nghỉ\n".encode("utf-16"))
    with pytest.raises(CalendarFileError, match="UTF-8"):
        load_swaps(path)
