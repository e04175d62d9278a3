"""The Vietnamese working-day calendar behind ``domain.calendar.WorkCalendar``.

Public holidays, Tết, observed days ("nghỉ bù") and the government's substitutions (a
weekday off in exchange for a Saturday worked) come from the ``holidays`` library. A
deployment adds the swaps the government announces after that library's release with
``extra_holidays`` / ``extra_working_days``, usually read from a small TOML file by
:func:`load_swaps`::

    [[days_off]]
    date = 2026-01-02
    name = "Nghỉ Tết Dương lịch (hoán đổi)"

    [[working_days]]
    date = 2026-01-10

The deployment's swaps win over the library: a date listed in ``days_off`` is never a working
day, a date listed in ``working_days`` always is.

Speed: the calendar is asked for deadlines on every listing, so each year is computed once,
on first use, into a table of working-day flags and running counts. After that,
``is_working_day`` and ``working_days_between`` are a few index operations and
``add_working_days`` one binary search per year crossed. Tables are immutable once published;
only building one takes a lock (the ``holidays`` object mutates itself when it expands to a new
year), so reads from many threads are safe.
"""

from __future__ import annotations

import threading
import tomllib
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import holidays

__all__ = ["CalendarFileError", "VietnamCalendar", "load_swaps"]

DEFAULT_DAY_OFF_NAME = "Ngày nghỉ theo thông báo của Chính phủ"
"""The name of a deployment's day off when the swaps file gives none."""


class CalendarFileError(ValueError):
    """A swaps file cannot be used; the message names the file and every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"Tệp lịch nghỉ {source} có lỗi: {'; '.join(problems)}")
        self.source = source
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Year:
    """One year, computed once and never changed afterwards."""

    first_ordinal: int
    flags: bytes
    """``flags[i]`` is 1 if the i-th day of the year (0 = 1 January) is a working day."""
    prefix: array[int]
    """``prefix[i]``: working days among the first ``i`` days of the year (``prefix[0] == 0``)."""
    names: Mapping[date, str]

    @property
    def total(self) -> int:
        return self.prefix[-1]


def _as_day(value: date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"cần một ngày (datetime.date), nhận được {type(value).__name__}")
    return value


class VietnamCalendar:
    """Working days of Vietnamese public offices (Monday–Friday, minus holidays, plus swaps).

    ``extra_holidays`` maps each additional day off to its name; ``extra_working_days`` lists
    days (normally Saturdays) made working days. A date cannot be in both. Both apply to any
    year, including years the calendar has not looked at yet.
    """

    def __init__(
        self,
        extra_holidays: Mapping[date, str] | None = None,
        extra_working_days: Iterable[date] = (),
    ) -> None:
        days_off = {_as_day(day): str(name) for day, name in (extra_holidays or {}).items()}
        working = frozenset(_as_day(day) for day in extra_working_days)
        clash = sorted(days_off.keys() & working)
        if clash:
            listing = ", ".join(f"{day:%d/%m/%Y}" for day in clash)
            raise ValueError(f"ngày vừa là ngày nghỉ vừa là ngày làm việc bù: {listing}")
        self._extra_holidays: Mapping[date, str] = MappingProxyType(days_off)
        self._extra_working_days = working
        self._library = holidays.country_holidays("VN", language="vi")
        self._lock = threading.Lock()
        self._years: dict[int, _Year] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its announced swaps (a rebuild's worker processes get the same calendar)."""
        return (type(self), (dict(self._extra_holidays), sorted(self._extra_working_days)))

    @classmethod
    def from_swaps_file(cls, path: Path | str) -> VietnamCalendar:
        """A calendar with the swaps of a TOML file (see :func:`load_swaps`)."""
        days_off, working_days = load_swaps(path)
        return cls(days_off, working_days)

    @property
    def extra_holidays(self) -> Mapping[date, str]:
        return self._extra_holidays

    @property
    def extra_working_days(self) -> frozenset[date]:
        return self._extra_working_days

    def __repr__(self) -> str:
        return (
            f"VietnamCalendar(extra_holidays={len(self._extra_holidays)}, "
            f"extra_working_days={len(self._extra_working_days)})"
        )

    # --- the WorkCalendar protocol ---------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """True if public offices work on this day."""
        day = _as_day(day)
        table = self._table(day.year)
        return table.flags[day.toordinal() - table.first_ordinal] == 1

    def add_working_days(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (``start`` itself not counted).

        ``days == 0`` gives ``start`` back, working day or not. A negative ``days`` counts
        backwards: the result is the working day with exactly ``-days`` working days in
        ``[result, start)``.
        """
        start = _as_day(start)
        if days == 0:
            return start
        year = start.year
        table = self._table(year)
        index = start.toordinal() - table.first_ordinal
        if days > 0:
            # The wanted day is the rank-th working day (1-based) of ``year``.
            rank = table.prefix[index + 1] + days
            while rank > table.total:
                rank -= table.total
                year += 1
                table = self._table(year)
        else:
            rank = table.prefix[index] + days + 1
            while rank < 1:
                year -= 1
                table = self._table(year)
                rank += table.total
        return date.fromordinal(table.first_ordinal + bisect_left(table.prefix, rank) - 1)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in the half-open span (start, end]; 0 if end is not after start."""
        start = _as_day(start)
        end = _as_day(end)
        if end <= start:
            return 0
        first = self._table(start.year)
        after_start = first.prefix[start.toordinal() - first.first_ordinal + 1]
        last = first if end.year == start.year else self._table(end.year)
        up_to_end = last.prefix[end.toordinal() - last.first_ordinal + 1]
        if last is first:
            return up_to_end - after_start
        between = sum(self._table(year).total for year in range(start.year + 1, end.year))
        return first.total - after_start + between + up_to_end

    # --- beyond the protocol -----------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """The name of the holiday or day off on this date, or None (weekends have no name)."""
        day = _as_day(day)
        return self._table(day.year).names.get(day)

    # --- the per-year tables ---------------------------------------------------------------

    def _table(self, year: int) -> _Year:
        table = self._years.get(year)
        if table is None:
            with self._lock:
                table = self._years.get(year)
                if table is None:
                    table = self._build(year)
                    self._years[year] = table
        return table

    def _build(self, year: int) -> _Year:
        """Compute one year; called with the lock held (the library mutates when it expands)."""
        if not MINYEAR <= year <= MAXYEAR:
            raise OverflowError(f"năm {year} nằm ngoài phạm vi lịch ({MINYEAR}–{MAXYEAR})")
        first_ordinal = date(year, 1, 1).toordinal()
        length = date(year, 12, 31).toordinal() - first_ordinal + 1
        library = self._library
        flags = bytearray(length)
        prefix = array("H", bytes(2 * (length + 1)))
        names: dict[date, str] = {}
        count = 0
        for index in range(length):
            day = date.fromordinal(first_ordinal + index)
            if day in self._extra_working_days:
                working = True
            elif day in self._extra_holidays:
                working = False
                names[day] = self._extra_holidays[day]
            else:
                working = library.is_working_day(day)
                name = library.get(day)
                if name:
                    names[day] = str(name)
            if working:
                flags[index] = 1
                count += 1
            prefix[index + 1] = count
        return _Year(
            first_ordinal=first_ordinal,
            flags=bytes(flags),
            prefix=prefix,
            names=MappingProxyType(names),
        )


# --- the deployment's swaps file --------------------------------------------------------------

_SECTIONS = ("days_off", "working_days")
_ENTRY_KEYS = {"date", "name"}


def _swap_date(problems: list[str], where: str, value: Any) -> date | None:
    if value is None:
        problems.append(f"{where}: thiếu")
        return None
    if isinstance(value, datetime):
        problems.append(f"{where}: phải là ngày dạng YYYY-MM-DD, không kèm giờ")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if len(value.strip()) == 10:
                return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(f"{where}: «{value}» không phải ngày dạng YYYY-MM-DD")
    return None


def load_swaps(path: Path | str) -> tuple[dict[date, str], set[date]]:
    """Read a deployment's swaps: ``(days off with their names, Saturdays made working days)``.

    The file is TOML with ``[[days_off]]`` tables (``date``, optional ``name``) and
    ``[[working_days]]`` tables (``date``, optional ``name`` as a note). Every problem found is
    listed in one :class:`CalendarFileError`; a date may appear only once in the whole file.
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CalendarFileError(source, ["không tìm thấy tệp"]) from None
    except UnicodeDecodeError:
        raise CalendarFileError(source, ["tệp không phải văn bản UTF-8"]) from None
    except OSError as error:
        raise CalendarFileError(
            source, [f"không đọc được tệp ({error.strerror or error})"]
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CalendarFileError(source, [f"sai cú pháp TOML: {error}"]) from None

    problems: list[str] = []
    for key in sorted(set(data) - set(_SECTIONS)):
        problems.append(
            f"{key}: khóa không được hỗ trợ (chỉ dùng [[days_off]] và [[working_days]])"
        )
    days_off: dict[date, str] = {}
    working_days: set[date] = set()
    declared_at: dict[date, str] = {}
    for section in _SECTIONS:
        entries = data.get(section, [])
        if not isinstance(entries, list):
            problems.append(f"{section}: phải là danh sách các bảng [[{section}]]")
            continue
        for index, entry in enumerate(entries):
            where = f"{section}[{index}]"
            if not isinstance(entry, dict):
                problems.append(f"{where}: phải là một bảng có khóa date")
                continue
            for key in sorted(set(entry) - _ENTRY_KEYS):
                problems.append(f"{where}.{key}: khóa không được hỗ trợ (chỉ dùng date, name)")
            name = entry.get("name")
            if name is not None and (not isinstance(name, str) or not name.strip()):
                problems.append(f"{where}.name: phải là một chuỗi không rỗng")
                name = None
            day = _swap_date(problems, f"{where}.date", entry.get("date"))
            if day is None:
                continue
            if day in declared_at:
                problems.append(
                    f"{where}.date: ngày {day:%d/%m/%Y} đã được khai báo ở {declared_at[day]}"
                )
                continue
            declared_at[day] = where
            if section == "days_off":
                days_off[day] = name.strip() if isinstance(name, str) else DEFAULT_DAY_OFF_NAME
            else:
                working_days.add(day)
    if problems:
        raise CalendarFileError(source, problems)
    return days_off, working_days
