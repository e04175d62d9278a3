"""A dossier's history as people read it: each event with its label, actor, time and data."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.shared import ROLE_LABELS, Actor

_ENVELOPE = {"originator_id", "originator_version", "timestamp", "originator_topic", "by"}
PRIVATE_EVENT_FIELDS = {"personal", "contact"}
"""Event fields that hold personal data (domain.md: never public)."""
REDACTED = "[ẩn]"


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    event: str
    label: str
    at: datetime
    actor: Actor
    actor_role_label: str
    data: dict[str, Any]


def plain(value: Any) -> Any:
    """A JSON-ready copy: dates as ISO strings, enums as values, dataclasses as dicts."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


def redact_private(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of event data with its personal fields hidden."""
    return {
        key: REDACTED if key in PRIVATE_EVENT_FIELDS and value is not None else value
        for key, value in data.items()
    }


def event_data(event: Any, *, include_private: bool) -> dict[str, Any]:
    data = {key: value for key, value in vars(event).items() if key not in _ENVELOPE}
    if not include_private:
        data = redact_private(data)
    return {key: plain(value) for key, value in data.items()}


SECRET_BALLOT = "[phiếu kín]"  # noqa: S105 (a label, not a password)


def history_entries(
    events: Iterable[Any], *, include_private: bool, reveal_ballots: bool
) -> list[HistoryEntry]:
    """Ballots stay secret (who voted is shown, not how) until the council's review concludes."""
    entries = []
    for event in events:
        data = event_data(event, include_private=include_private)
        if "vote" in data and not reveal_ballots:
            data["vote"] = SECRET_BALLOT
        actor: Actor = event.by
        entries.append(
            HistoryEntry(
                version=event.originator_version,
                event=type(event).__name__,
                label=getattr(type(event), "label", type(event).__name__),
                at=event.timestamp,
                actor=actor,
                actor_role_label=ROLE_LABELS[actor.role],
                data=data,
            )
        )
    return entries
