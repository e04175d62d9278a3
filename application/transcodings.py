"""How the domain's value objects are stored: each as a named JSON object.

Names are part of the stored data: never rename one without keeping a decoder for the old name.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from domain.registers import DocumentKind  # noqa: F401  (stored as its string value)
from domain.rulebook import AwardRule, Prerequisite
from domain.shared import Actor, DocumentRef
from domain.values import (
    Comment,
    CommentAnswer,
    CouncilResult,
    Nominee,
    PersonalDetails,
    PriorTitle,
)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class DataclassAsDict(Transcoding):
    """A frozen dataclass as a dict of its fields; nested values are encoded by the transcoder."""

    def __init__(self, cls: type[Any], name: str, *, shared: bool = False) -> None:
        self.type = cls
        self.name = name
        self._fields = [field.name for field in dataclasses.fields(cls)]
        self._shared: dict[tuple[Any, ...], Any] | None = {} if shared else None

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        if self._shared is None:
            return self.type(**data)
        # Values that recur in every other event (who acted, the award's rule) are immutable:
        # decoded once and shared, instead of validated again for each event.
        try:
            key = tuple(data.items())
            found = self._shared.get(key)
        except TypeError:  # an unhashable field: decode as usual
            return self.type(**data)
        if found is None:
            if len(self._shared) >= SHARED_VALUES:
                self._shared.clear()
            found = self._shared[key] = self.type(**data)
        return found


SHARED_VALUES = 10_000
"""Per value type, how many decoded values are kept for sharing."""

SHARED_VALUE_TYPES = frozenset({"actor", "award_rule", "prerequisite"})

STORED_VALUE_TYPES: dict[str, type[Any]] = {
    "actor": Actor,
    "document_ref": DocumentRef,
    "nominee": Nominee,
    "personal_details": PersonalDetails,
    "prior_title": PriorTitle,
    "comment": Comment,
    "comment_answer": CommentAnswer,
    "council_result": CouncilResult,
    "award_rule": AwardRule,
    "prerequisite": Prerequisite,
}


def register_domain_transcodings(transcoder: JSONTranscoder) -> None:
    transcoder.register(DateAsISO())
    for name, cls in STORED_VALUE_TYPES.items():
        transcoder.register(DataclassAsDict(cls, name, shared=name in SHARED_VALUE_TYPES))
