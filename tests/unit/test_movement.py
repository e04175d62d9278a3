"""The emulation movement: launched by a numbered plan, amended while open, closed once."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest

from domain.errors import InvalidPeriod, InvalidValue, MovementClosed
from domain.movement import DuplicateMovement, EmulationMovement, check_plan_number
from tests.unit.builders import APPRAISER, CHAIRMAN, assert_message, at, launched_movement

LAUNCH_DAY = date(2026, 1, 5)


def _launch(**changes: object) -> EmulationMovement:
    arguments: dict[str, object] = {
        "plan_number": "461/KH-UBND",
        "title": "Phong trào thi đua “Cả nước chung tay vì người nghèo”",
        "issuing_body": "Ủy ban nhân dân tỉnh",
        "issued_on": LAUNCH_DAY,
        "starts_on": LAUNCH_DAY,
        "ends_on": date(2026, 12, 31),
        "by": CHAIRMAN,
        "at": at(LAUNCH_DAY),
    }
    arguments.update(changes)
    return EmulationMovement.launch(**arguments)  # type: ignore[arg-type]


def test_a_launched_movement_is_open_and_records_its_plan_and_who_launched_it() -> None:
    movement = _launch()
    assert movement.plan_number == "461/KH-UBND"
    assert (movement.starts_on, movement.ends_on) == (LAUNCH_DAY, date(2026, 12, 31))
    assert not movement.closed
    assert movement.launched_by == CHAIRMAN
    movement.require_open()
    event = movement.collect_events()[0]
    assert event.by == CHAIRMAN  # type: ignore[attr-defined]


def test_a_movement_is_identified_by_its_issuer_plan_number_and_year() -> None:
    body = "Ủy ban nhân dân tỉnh Đắk Nông"
    first = EmulationMovement.id_for("461/KH-UBND", date(2026, 1, 5), body)
    assert first == EmulationMovement.id_for("461/KH-UBND", date(2026, 11, 30), body)
    assert first == EmulationMovement.id_for(
        "461/KH-UBND", date(2026, 1, 5), "ủy ban nhân dân tỉnh đắk nông"
    )
    assert first != EmulationMovement.id_for("461/KH-UBND", date(2027, 1, 5), body)
    assert first != EmulationMovement.id_for("462/KH-UBND", date(2026, 1, 5), body)
    assert first != EmulationMovement.id_for("461/KH-UBND", date(2026, 1, 5), "UBND xã Nam Dong")


def test_the_same_plan_number_in_another_normal_form_is_the_same_movement() -> None:
    composed = "12/KH-ĐTN"
    decomposed = unicodedata.normalize("NFD", " 12/KH-ĐTN ")
    day = date(2026, 1, 5)
    body = "Tỉnh đoàn"
    assert EmulationMovement.id_for(decomposed, day, body) == EmulationMovement.id_for(
        composed, day, body
    )
    assert _launch(plan_number=decomposed).plan_number == composed


@pytest.mark.parametrize("number", ["KH-UBND", "461", "461/", "abc/KH-UBND", "461/KH UBND", " "])
def test_a_plan_number_follows_the_official_pattern(number: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        _launch(plan_number=number)
    assert_message(raised.value, "số kế hoạch")


@pytest.mark.parametrize("number", ["٤٦١/KH-UBND", "４６１/KH-UBND"])
def test_a_plan_number_is_written_in_ascii_digits(number: str) -> None:
    with pytest.raises(InvalidValue):
        check_plan_number(number)


def test_a_movement_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidPeriod) as raised:
        _launch(starts_on=date(2026, 6, 1), ends_on=date(2026, 5, 31))
    assert_message(raised.value, "31/05/2026", "01/06/2026")


def test_a_plan_cannot_be_issued_in_the_future() -> None:
    with pytest.raises(InvalidPeriod) as raised:
        _launch(issued_on=date(2026, 1, 6))
    assert_message(raised.value, "06/01/2026", "tương lai")


def test_a_movement_needs_a_title_and_an_issuing_body() -> None:
    with pytest.raises(InvalidValue):
        _launch(title="  ")
    with pytest.raises(InvalidValue):
        _launch(issuing_body="")


def test_an_open_movement_may_be_amended_with_a_reason() -> None:
    movement = launched_movement()
    movement.amend(
        ends_on=date(2027, 3, 31),
        reason="Kéo dài thời gian để tổng kết",
        by=APPRAISER,
        at=at(date(2026, 2, 2)),
    )
    assert movement.ends_on == date(2027, 3, 31)
    assert movement.starts_on == LAUNCH_DAY
    assert movement.title.startswith("Phong trào thi đua")
    assert movement.version == 2
    assert movement.collect_events()[-1].by == APPRAISER  # type: ignore[attr-defined]


def test_an_amendment_keeps_the_period_valid_and_needs_a_reason() -> None:
    movement = launched_movement()
    with pytest.raises(InvalidPeriod):
        movement.amend(ends_on=date(2025, 12, 31), reason="Sửa", by=CHAIRMAN, at=at(LAUNCH_DAY))
    with pytest.raises(InvalidValue):
        movement.amend(title="Tên mới", reason=" ", by=CHAIRMAN, at=at(LAUNCH_DAY))
    assert movement.version == 1
    assert movement.ends_on == date(2026, 12, 31)


def test_a_closed_movement_takes_no_amendment_and_cannot_close_again() -> None:
    movement = launched_movement()
    movement.close(reason="Đã tổng kết phong trào", by=CHAIRMAN, at=at(date(2026, 12, 31)))
    assert movement.closed
    assert movement.closing_reason == "Đã tổng kết phong trào"

    with pytest.raises(MovementClosed) as raised:
        movement.require_open()
    assert_message(raised.value, "461/KH-UBND")
    with pytest.raises(MovementClosed):
        movement.amend(title="Tên mới", reason="Sửa", by=CHAIRMAN, at=at(date(2027, 1, 4)))
    with pytest.raises(MovementClosed):
        movement.close(reason="Lần nữa", by=CHAIRMAN, at=at(date(2027, 1, 4)))
    assert movement.version == 2


def test_a_duplicate_movement_is_named_by_its_plan_and_year() -> None:
    assert_message(DuplicateMovement("461/KH-UBND", 2026), "461/KH-UBND", "2026")


def test_an_amendment_that_changes_nothing_is_refused() -> None:
    movement = _launch()
    with pytest.raises(InvalidValue) as raised:
        movement.amend(reason="Không đổi gì", by=CHAIRMAN, at=at(LAUNCH_DAY))
    assert "không thay đổi" in str(raised.value)
    assert movement.version == 1
