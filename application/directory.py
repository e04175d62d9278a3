"""An in-process index of dossiers and movements, kept by following the stored event log.

It serves the lists (movements, a unit's dossiers, the council's agenda) without replaying a
dossier per request: each read first applies whatever new events the log holds (one query when
nothing changed), so a process sees its own and other processes' writes. Dedicated view tables
maintained by projection runners take over this job as the data grows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.store import Store
from domain.dossier import Dossier, Status
from domain.movement import EmulationMovement
from domain.shared import same_unit

BATCH = 2_000


@dataclass(frozen=True)
class DossierSummary:
    id: UUID
    version: int
    status: Status
    award_code: str
    award_name: str
    level: str
    submitting_unit: str
    movement_id: UUID
    nominee_name: str
    nominee_kind: str
    nominee_position: str
    submitted_at: datetime
    modified_at: datetime
    council_meeting_on: Any
    council_members: int
    votes_cast: int


@dataclass(frozen=True)
class MovementSummary:
    id: UUID
    version: int
    plan_number: str
    title: str
    issuing_body: str
    issued_on: Any
    starts_on: Any
    ends_on: Any
    closed: bool


def _dossier_summary(d: Dossier) -> DossierSummary:
    return DossierSummary(
        id=d.id,
        version=d.version,
        status=d.status,
        award_code=d.award.code,
        award_name=d.award.name,
        level=d.award.level.value,
        submitting_unit=d.submitting_unit,
        movement_id=d.movement_id,
        nominee_name=d.nominee.name,
        nominee_kind=d.nominee.kind.value,
        nominee_position=d.nominee.position,
        submitted_at=d.created_on,
        modified_at=d.modified_on,
        council_meeting_on=d.council_meeting_on,
        council_members=len(d.council_members),
        votes_cast=len(d.ballots),
    )


def _movement_summary(m: EmulationMovement) -> MovementSummary:
    return MovementSummary(
        id=m.id,
        version=m.version,
        plan_number=m.plan_number,
        title=m.title,
        issuing_body=m.issuing_body,
        issued_on=m.issued_on,
        starts_on=m.starts_on,
        ends_on=m.ends_on,
        closed=m.closed,
    )


def _topics(cls: type[Any]) -> list[str]:
    return [
        get_topic(value)
        for value in vars(cls).values()
        if isinstance(value, type)
        and hasattr(value, "mutate")
        and value.__qualname__.startswith(cls.__name__)
    ]


class Directory:
    """Summaries of every dossier and movement, as of the last event applied."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._position = 0
        self._dossiers: dict[UUID, Dossier] = {}
        self._movements: dict[UUID, EmulationMovement] = {}
        self._dossier_summaries: dict[UUID, DossierSummary] = {}
        self._movement_summaries: dict[UUID, MovementSummary] = {}
        self._topics = _topics(Dossier) + _topics(EmulationMovement)

    @property
    def position(self) -> int:
        return self._position

    def catch_up(self) -> int:
        """Apply the events recorded since the last call; returns the position reached."""
        with self._lock:
            while True:
                notifications = self._store.recorder.select_notifications(
                    start=self._position + 1, limit=BATCH, topics=self._topics
                )
                for notification in notifications:
                    self._apply(self._store.mapper.to_domain_event(notification))
                    self._position = notification.id
                if len(notifications) < BATCH:
                    return self._position

    def _apply(self, event: Any) -> None:
        if isinstance(event, Dossier.Event):
            dossier = event.mutate(self._dossiers.get(event.originator_id))
            if dossier is not None:
                self._dossiers[dossier.id] = dossier
                self._dossier_summaries[dossier.id] = _dossier_summary(dossier)
        elif isinstance(event, EmulationMovement.Event):
            movement = event.mutate(self._movements.get(event.originator_id))
            if movement is not None:
                self._movements[movement.id] = movement
                self._movement_summaries[movement.id] = _movement_summary(movement)

    # --- reads ----------------------------------------------------------------------------

    def movements(self) -> list[MovementSummary]:
        self.catch_up()
        return sorted(
            self._movement_summaries.values(),
            key=lambda m: (m.issued_on, m.plan_number),
            reverse=True,
        )

    def dossiers(
        self,
        *,
        unit: str | None = None,
        statuses: Iterable[Status] | None = None,
        movement_id: UUID | None = None,
        award_code: str | None = None,
    ) -> list[DossierSummary]:
        """Most recently changed first."""
        self.catch_up()
        wanted = set(statuses) if statuses is not None else None
        checks: list[Callable[[DossierSummary], bool]] = []
        if unit is not None:
            checks.append(lambda s: same_unit(s.submitting_unit, unit))
        if wanted is not None:
            checks.append(lambda s: s.status in wanted)
        if movement_id is not None:
            checks.append(lambda s: s.movement_id == movement_id)
        if award_code is not None:
            checks.append(lambda s: s.award_code == award_code)
        found = [
            s for s in list(self._dossier_summaries.values()) if all(check(s) for check in checks)
        ]
        return sorted(found, key=lambda s: (s.modified_at, str(s.id)), reverse=True)

    def agenda(self) -> list[DossierSummary]:
        """The dossiers waiting for the council: to be put before it, or being voted on."""
        found = self.dossiers(statuses=(Status.AWAITING_COUNCIL, Status.COUNCIL_VOTING))
        return sorted(found, key=lambda s: (s.status is not Status.COUNCIL_VOTING, s.submitted_at))
