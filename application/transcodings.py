"""How the domain's value objects are stored: each as a named JSON object.

Names are part of the stored data: never rename one without keeping a decoder for the old name.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import date
from typing import Any

import orjson
from eventsourcing.persistence import JSONTranscoder, Transcoding, TranscodingNotRegisteredError

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
    """A frozen dataclass as a dict of its fields; nested values are encoded by the transcoder.

    Decoding trusts the stored data: the value was validated and normalised when it was made,
    so it is rebuilt without running ``__post_init__`` again (that check cost more than the
    rest of decoding an event). Only what ``__post_init__`` would convert is converted: fields
    typed with an enum get their enum member back, and fields missing from older stored values
    get their declared defaults.
    """

    def __init__(self, cls: type[Any], name: str, *, shared: bool = False) -> None:
        self.type = cls
        self.name = name
        fields = dataclasses.fields(cls)
        self._fields = [field.name for field in fields]
        self._defaults = {
            field.name: field.default
            for field in fields
            if field.default is not dataclasses.MISSING
        }
        hints = typing.get_type_hints(cls)
        self._enums = [
            (field.name, kind) for field in fields if (kind := _enum_of(hints[field.name]))
        ]
        self._shared: dict[tuple[Any, ...], Any] | None = {} if shared else None

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        if self._shared is None:
            return self._build(data)
        # Values that recur in every other event (who acted, the award's rule) are immutable:
        # decoded once and shared, instead of rebuilt for each event.
        try:
            key = tuple(data.items())
            found = self._shared.get(key)
        except TypeError:  # an unhashable field: decode as usual
            return self._build(data)
        if found is None:
            if len(self._shared) >= SHARED_VALUES:
                self._shared.clear()
            found = self._shared[key] = self._build(dict(data))
        return found

    def _build(self, data: dict[str, Any]) -> Any:
        if len(data) != len(self._fields):
            unknown = data.keys() - set(self._fields)
            if unknown:
                raise TypeError(f"{self.type.__name__} has no field {sorted(unknown)[0]!r}")
            data = {**self._defaults, **data}
            missing = set(self._fields) - data.keys()
            if missing:
                raise TypeError(f"{self.type.__name__} needs field {sorted(missing)[0]!r}")
        for name, kind in self._enums:
            value = data[name]
            if value is not None:
                data[name] = kind(value)
        obj: Any = object.__new__(self.type)
        object.__setattr__(obj, "__dict__", data)
        return obj


def _enum_of(hint: Any) -> type[enum.Enum] | None:
    """The enum class of a field typed ``E`` or ``E | None``."""
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        kinds = [h for h in typing.get_args(hint) if h is not type(None)]
        if len(kinds) == 1:
            return _enum_of(kinds[0])
    return None


class FastJSONTranscoder(JSONTranscoder):
    """The library's JSON transcoder, decoding with orjson.

    Encoding is the library's own (the stored bytes do not change). Decoding parses with orjson
    and then replaces each ``{"_type_": ..., "_data_": ...}`` object with its decoded value,
    innermost first, exactly as the library's ``object_hook`` does, but without a Python call
    for every plain object of the document.
    """

    def decode(self, data: bytes) -> Any:
        value = orjson.loads(data)
        kind = type(value)
        if kind is dict:
            return self._dict(value)
        if kind is list:
            return self._list(value)
        return value

    def _dict(self, value: dict[str, Any]) -> Any:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return self._typed(value)
        for key, item in value.items():
            kind = type(item)
            if kind is dict:
                # A typed value (the usual case) is decoded here, without another call.
                if len(item) == 2 and "_type_" in item and "_data_" in item:
                    value[key] = self._typed(item)
                else:
                    value[key] = self._dict(item)
            elif kind is list:
                value[key] = self._list(item)
        return value

    def _typed(self, value: dict[str, Any]) -> Any:
        data = value["_data_"]
        kind = type(data)
        if kind is dict:
            data = self._dict(data)
        elif kind is list:
            data = self._list(data)
        name = value["_type_"]
        try:
            transcoding = self.names[name]
        except KeyError:
            msg = (
                f"Data serialized with name '{name}' is not deserializable. "
                "Please register a custom transcoding for this type."
            )
            raise TranscodingNotRegisteredError(msg) from None
        return transcoding.decode(data)

    def _list(self, value: list[Any]) -> list[Any]:
        for index, item in enumerate(value):
            kind = type(item)
            if kind is dict:
                value[index] = self._dict(item)
            elif kind is list:
                value[index] = self._list(item)
        return value


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
