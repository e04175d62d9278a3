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

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name
        self._fields = [field.name for field in dataclasses.fields(cls)]

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


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
        transcoder.register(DataclassAsDict(cls, name))
