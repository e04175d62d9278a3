"""An emulation movement (phong trào thi đua), launched by a plan such as Kế hoạch số 461/KH-UBND."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DomainError, InvalidPeriod, InvalidValue, MovementClosed
from domain.shared import Actor, fold, local_date, nfc, require_text

PLAN_NUMBER = re.compile(r"^[1-9][0-9]{0,5}/[A-Za-zĐđ]{1,10}(?:-[A-Za-zĐđ0-9]{1,10}){0,4}$")
_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:movement")


class DuplicateMovement(DomainError):
    code = "duplicate-movement"
    title = "Phong trào đã được phát động"

    def __init__(self, plan_number: str, year: int) -> None:
        super().__init__(f"Kế hoạch số {plan_number} năm {year} đã được ghi nhận trước đó.")


def check_plan_number(value: str) -> str:
    number = require_text("số kế hoạch", value, max_length=40)
    if not PLAN_NUMBER.match(number):
        raise InvalidValue("số kế hoạch", "phải có dạng số/ký hiệu, ví dụ 461/KH-UBND")
    return number


def _period(start: date, end: date) -> None:
    if end < start:
        raise InvalidPeriod(
            f"Thời gian phong trào không hợp lệ: ngày kết thúc {end:%d/%m/%Y} trước ngày bắt "
            f"đầu {start:%d/%m/%Y}."
        )


class EmulationMovement(Aggregate):
    """A movement runs for a period; dossiers for it are accepted until it is closed."""

    class Launched(Aggregate.Created):
        label: ClassVar[str] = "Phát động phong trào thi đua"
        plan_number: str
        title: str
        issuing_body: str
        issued_on: date
        starts_on: date
        ends_on: date
        by: Actor

    class Amended(Aggregate.Event):
        label: ClassVar[str] = "Sửa đổi phong trào thi đua"
        title: str
        issuing_body: str
        starts_on: date
        ends_on: date
        reason: str
        by: Actor

    class Closed(Aggregate.Event):
        label: ClassVar[str] = "Kết thúc phong trào thi đua"
        reason: str
        by: Actor

    @staticmethod
    def id_for(number: str, issued_on: date, issuing_body: str) -> UUID:
        """Plan numbers restart every year and each body numbers its own: a plan is identified
        by its issuer, number and year."""
        return uuid5(_NAMESPACE, f"{fold(issuing_body)}|{nfc(number)}|{issued_on.year}")

    @classmethod
    def launch(
        cls,
        *,
        plan_number: str,
        title: str,
        issuing_body: str,
        issued_on: date,
        starts_on: date,
        ends_on: date,
        by: Actor,
        at: datetime,
    ) -> EmulationMovement:
        """A movement is launched by a numbered plan with a period that does not end before it starts."""
        number = check_plan_number(plan_number)
        _period(starts_on, ends_on)
        if issued_on > local_date(at):
            raise InvalidPeriod(f"Ngày ban hành kế hoạch {issued_on:%d/%m/%Y} ở tương lai.")
        return cls._create(
            cls.Launched,
            id=cls.id_for(number, issued_on, issuing_body),
            timestamp=at,
            plan_number=number,
            title=require_text("tên phong trào", title, max_length=500),
            issuing_body=require_text("cơ quan ban hành", issuing_body, max_length=300),
            issued_on=issued_on,
            starts_on=starts_on,
            ends_on=ends_on,
            by=by,
        )

    @event(Launched)
    def __init__(
        self,
        plan_number: str,
        title: str,
        issuing_body: str,
        issued_on: date,
        starts_on: date,
        ends_on: date,
        by: Actor,
    ) -> None:
        self.plan_number = plan_number
        self.title = title
        self.issuing_body = issuing_body
        self.issued_on = issued_on
        self.starts_on = starts_on
        self.ends_on = ends_on
        self.launched_by = by
        self.closed = False
        self.closing_reason: str | None = None

    def amend(
        self,
        *,
        title: str | None = None,
        issuing_body: str | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
        reason: str,
        by: Actor,
        at: datetime,
    ) -> None:
        """An open movement's title, issuing body and period may be amended, with a reason."""
        self._require_open()
        self._require_moment(at)
        new_start = starts_on or self.starts_on
        new_end = ends_on or self.ends_on
        _period(new_start, new_end)
        new_title = require_text("tên phong trào", title, max_length=500) if title else self.title
        new_body = (
            require_text("cơ quan ban hành", issuing_body, max_length=300)
            if issuing_body
            else self.issuing_body
        )
        current = (self.title, self.issuing_body, self.starts_on, self.ends_on)
        if (new_title, new_body, new_start, new_end) == current:
            raise InvalidValue("nội dung sửa đổi", "không thay đổi gì so với hiện tại")
        self._amended(
            title=new_title,
            issuing_body=new_body,
            starts_on=new_start,
            ends_on=new_end,
            reason=require_text("lý do sửa đổi", reason, max_length=2000),
            by=by,
            timestamp=at,
        )

    @event(Amended)
    def _amended(
        self,
        title: str,
        issuing_body: str,
        starts_on: date,
        ends_on: date,
        reason: str,
        by: Actor,
        timestamp: datetime,
    ) -> None:
        self.title = title
        self.issuing_body = issuing_body
        self.starts_on = starts_on
        self.ends_on = ends_on

    def close(self, *, reason: str, by: Actor, at: datetime) -> None:
        """A movement is closed once; after that it takes no dossiers and no amendments."""
        self._require_open()
        self._require_moment(at)
        self._closed(reason=require_text("lý do", reason, max_length=2000), by=by, timestamp=at)

    @event(Closed)
    def _closed(self, reason: str, by: Actor, timestamp: datetime) -> None:
        self.closed = True
        self.closing_reason = reason

    def require_open(self) -> None:
        """Dossiers are accepted only for a movement that has not been closed."""
        self._require_open()

    def _require_moment(self, at: datetime) -> None:
        local_date(at)
        if at < self.modified_on:
            raise InvalidValue(
                "thời điểm", "không được trước lần ghi nhận cuối cùng của phong trào"
            )

    def _require_open(self) -> None:
        if self.closed:
            raise MovementClosed(self.plan_number)
