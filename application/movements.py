"""Use cases of emulation movements."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.errors import VersionConflict
from application.policy import authorize
from application.store import Receipt, Store
from domain.movement import DuplicateMovement, EmulationMovement
from domain.shared import Actor, nfc


class Movements(Store):
    def launch(
        self,
        *,
        plan_number: str,
        title: str,
        issuing_body: str,
        issued_on: date,
        starts_on: date,
        ends_on: date,
        by: Actor,
    ) -> Receipt:
        """Record a movement launched by a plan; a plan number is recorded once per year."""
        authorize(by, "movement.launch")
        movement_id = EmulationMovement.id_for(plan_number, issued_on, issuing_body)
        if self._exists(movement_id):
            raise DuplicateMovement(nfc(plan_number), issued_on.year)
        movement = EmulationMovement.launch(
            plan_number=plan_number,
            title=title,
            issuing_body=issuing_body,
            issued_on=issued_on,
            starts_on=starts_on,
            ends_on=ends_on,
            by=by,
            at=self.now(),
        )
        try:
            return self._commit(movement)
        except IntegrityError:
            raise DuplicateMovement(movement.plan_number, issued_on.year) from None

    def amend(
        self,
        movement_id: UUID,
        *,
        expected_version: int,
        reason: str,
        by: Actor,
        title: str | None = None,
        issuing_body: str | None = None,
        starts_on: date | None = None,
        ends_on: date | None = None,
    ) -> Receipt:
        """Amend an open movement's title, issuing body or period."""
        authorize(by, "movement.amend")
        movement = self._current(movement_id, expected_version)
        movement.amend(
            title=title,
            issuing_body=issuing_body,
            starts_on=starts_on,
            ends_on=ends_on,
            reason=reason,
            by=by,
            at=self.now(),
        )
        return self._commit_movement(movement, expected_version)

    def close_movement(
        self, movement_id: UUID, *, expected_version: int, reason: str, by: Actor
    ) -> Receipt:
        """Close a movement: no more dossiers are accepted for it."""
        authorize(by, "movement.close")
        movement = self._current(movement_id, expected_version)
        movement.close(reason=reason, by=by, at=self.now())
        return self._commit_movement(movement, expected_version)

    def get_movement(self, movement_id: UUID, *, viewer: Actor) -> EmulationMovement:
        authorize(viewer, "movement.read")
        return self._load(EmulationMovement, movement_id, "phong trào thi đua")

    def _current(self, movement_id: UUID, expected_version: int) -> EmulationMovement:
        movement = self._load(EmulationMovement, movement_id, "phong trào thi đua")
        if movement.version != expected_version:
            raise VersionConflict(movement_id, expected_version, movement.version)
        return movement

    def _commit_movement(self, movement: EmulationMovement, expected_version: int) -> Receipt:
        try:
            return self._commit(movement)
        except IntegrityError:
            current = self._load(EmulationMovement, movement.id, "phong trào thi đua")
            raise VersionConflict(movement.id, expected_version, current.version) from None
