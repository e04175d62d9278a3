"""Registers that make a rule hold across dossiers, written in the same transaction as the dossier.

Each register entry is a small aggregate whose id is derived from what must be unique, so two
concurrent writers of the same entry collide in the store and exactly one succeeds.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import DuplicateDocumentNumber, DuplicateNomination
from domain.shared import fold

_SLOT_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:nomination-slot")
_NUMBER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:khenthuong:document-number")


class NominationSlot(Aggregate):
    """One nominee, one award, one movement: at most one open or successful dossier (one
    achievement, at most one award). A dossier that ends without an award frees the slot."""

    class Opened(Aggregate.Created):
        label: ClassVar[str] = "Ghi nhận đề nghị"
        dossier_id: UUID

    class Taken(Aggregate.Event):
        label: ClassVar[str] = "Ghi nhận đề nghị mới"
        dossier_id: UUID

    class Freed(Aggregate.Event):
        label: ClassVar[str] = "Giải phóng đề nghị"
        dossier_id: UUID

    @staticmethod
    def id_for(movement_id: UUID, award_code: str, nominee_key: str) -> UUID:
        """The slot's id hides the nominee key (which may contain an identity number)."""
        return uuid5(_SLOT_NAMESPACE, f"{movement_id}|{award_code}|{nominee_key}")

    @classmethod
    def open(cls, slot_id: UUID, dossier_id: UUID, at: datetime) -> NominationSlot:
        return cls._create(cls.Opened, id=slot_id, timestamp=at, dossier_id=dossier_id)

    @event(Opened)
    def __init__(self, dossier_id: UUID) -> None:
        self.holder: UUID | None = dossier_id

    def take(self, dossier_id: UUID, at: datetime) -> None:
        """A slot can be taken only while no dossier holds it."""
        if self.holder is not None and self.holder != dossier_id:
            raise DuplicateNomination()
        self._taken(dossier_id=dossier_id, timestamp=at)

    @event(Taken)
    def _taken(self, dossier_id: UUID, timestamp: datetime) -> None:
        self.holder = dossier_id

    def free(self, dossier_id: UUID, at: datetime) -> None:
        if self.holder == dossier_id:
            self._freed(dossier_id=dossier_id, timestamp=at)

    @event(Freed)
    def _freed(self, dossier_id: UUID, timestamp: datetime) -> None:
        self.holder = None


def nominee_key(kind: str, name: str, identity_number: str | None, unit: str) -> str:
    """Who the nominee is, for the one-award rule: the identity number when known, otherwise the
    folded name (and, for a person without an identity number, the submitting unit)."""
    if identity_number:
        return f"id:{identity_number}"
    if kind == "collective":
        return f"collective:{fold(name)}"
    return f"person:{fold(name)}|{fold(unit)}"


class DocumentKind(StrEnum):
    AWARD_DECISION = "award_decision"
    SUBMISSION = "submission"
    CENTRAL_DECISION = "central_decision"
    REVOCATION = "revocation"


class DocumentNumber(Aggregate):
    """An official document number (e.g. 123/QĐ-UBND), unique within its year.

    One decision may award many nominees, so several dossiers may cite the same number; but
    they must then agree on its date and kind, otherwise the number was reused for another
    document.
    """

    class Registered(Aggregate.Created):
        label: ClassVar[str] = "Đăng ký số văn bản"
        number: str
        signed_on: date
        kind: DocumentKind
        dossier_id: UUID

    class Cited(Aggregate.Event):
        label: ClassVar[str] = "Trích dẫn số văn bản"
        dossier_id: UUID

    @staticmethod
    def id_for(number: str, signed_on: date) -> UUID:
        return uuid5(_NUMBER_NAMESPACE, f"{number}|{signed_on.year}")

    @classmethod
    def register(
        cls, number: str, signed_on: date, kind: DocumentKind, dossier_id: UUID, at: datetime
    ) -> DocumentNumber:
        return cls._create(
            cls.Registered,
            id=cls.id_for(number, signed_on),
            timestamp=at,
            number=number,
            signed_on=signed_on,
            kind=kind,
            dossier_id=dossier_id,
        )

    @event(Registered)
    def __init__(self, number: str, signed_on: date, kind: DocumentKind, dossier_id: UUID) -> None:
        self.number = number
        self.signed_on = signed_on
        self.kind = DocumentKind(kind)
        self.dossiers = [dossier_id]

    def cite(self, signed_on: date, kind: DocumentKind, dossier_id: UUID, at: datetime) -> None:
        """Another dossier cites the same document: same date and kind, or it is a reuse."""
        if signed_on != self.signed_on or DocumentKind(kind) is not self.kind:
            raise DuplicateDocumentNumber(self.number)
        if dossier_id in self.dossiers:
            return
        self._cited(dossier_id=dossier_id, timestamp=at)

    @event(Cited)
    def _cited(self, dossier_id: UUID, timestamp: datetime) -> None:
        self.dossiers.append(dossier_id)
