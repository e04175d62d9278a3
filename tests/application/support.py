"""Helpers shared by the application tests: actors, a manual clock, submissions."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from application.dossiers import Dossiers
from application.movements import Movements
from application.store import Receipt
from domain.rulebook import default_rulebooks
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role
from domain.values import Nominee, PersonalDetails, PriorTitle, TitleKind
from infrastructure.calendar import VietnamCalendar


class ManualClock:
    """Time stands still until a test moves it, so a state read right after a command shares
    that command's moment."""

    def __init__(self, start: datetime) -> None:
        self.moment = start
        self.hook: Callable[[], None] | None = None
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        if self.hook is not None:
            self.hook()
        with self._lock:
            return self.moment

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.moment += timedelta(**delta)

    def set_local(self, day: date, hour: int = 9) -> None:
        with self._lock:
            self.moment = datetime(
                day.year, day.month, day.day, hour, tzinfo=VIETNAM_TZ
            ).astimezone(UTC)


@dataclass
class World:
    movements: Movements
    dossiers: Dossiers
    clock: ManualClock
    movement_id: UUID
    env: dict[str, str]
    calendar: VietnamCalendar
    closers: list[Callable[[], None]] = field(default_factory=list)

    def second_instance(self) -> tuple[Movements, Dossiers]:
        """Another process's view of the same store (not possible in memory)."""
        movements = Movements(self.env, clock=self.clock)
        dossiers = Dossiers(
            self.env,
            rulebooks=default_rulebooks(),
            calendar=self.calendar,
            clock=self.clock,
            share_with=movements,
        )
        self.closers.append(movements.close)
        return movements, dossiers


ADMIN = Actor("admin-1", Role.ADMIN)
UNIT = "Sở Giáo dục và Đào tạo"
OTHER_UNIT = "Công an tỉnh"
SUBMITTER = Actor("sgd-1", Role.SUBMITTER, UNIT)
OTHER_SUBMITTER = Actor("ca-1", Role.SUBMITTER, OTHER_UNIT)
APPRAISER = Actor("snv-1", Role.APPRAISER)
SECRETARY = Actor("tk-1", Role.COUNCIL_SECRETARY)
CHAIRMAN = Actor("ct-1", Role.CHAIRMAN)
AUDITOR = Actor("tt-1", Role.AUDITOR)
PUBLIC = Actor("cong-khai", Role.PUBLIC)
MEMBERS = [Actor(f"hd-{i:02d}", Role.COUNCIL_MEMBER) for i in range(1, 11)]


def document(name: str = "to-trinh.pdf", seed: str = "a") -> DocumentRef:
    return DocumentRef(name, hashlib.sha256(f"{name}:{seed}".encode()).hexdigest(), 12_345)


def submit(
    world: World,
    award_code: str = "bang_khen_chu_tich_tinh",
    *,
    name: str = "Nguyễn Văn An",
    identity: str | None = "001085012345",
    by: Actor = SUBMITTER,
    kind: str = "individual",
    dossier_id: UUID | None = None,
    prior_titles: list[PriorTitle] | None = None,
    dossiers: Dossiers | None = None,
) -> Receipt:
    individual = kind == "individual"
    return (dossiers or world.dossiers).submit(
        movement_id=world.movement_id,
        award_code=award_code,
        submitting_unit=by.unit or UNIT,
        nominee=Nominee(
            kind, name, "Giáo viên Trường THPT Chu Văn An" if individual else "Tập thể"
        ),
        personal=PersonalDetails(
            identity_number=identity,
            date_of_birth=date(1985, 4, 12),
            phone="0912 345 678",
            email="an.nguyen@example.vn",
            address="12 Lê Duẩn, Gia Nghĩa",
        )
        if individual
        else None,
        achievements="Hoàn thành xuất sắc nhiệm vụ năm học; sáng kiến được công nhận cấp tỉnh.",
        documents=[document("to-trinh.pdf", name), document("bao-cao-thanh-tich.pdf", name)],
        prior_titles=prior_titles or [],
        by=by,
        dossier_id=dossier_id,
    )


def base_titles(
    code: str = "chien_si_thi_dua_co_so", years: range = range(2023, 2026)
) -> list[PriorTitle]:
    return [PriorTitle(code, year, f"{year - 2000}/QĐ-SGDĐT", TitleKind.REGULAR) for year in years]
