"""Stored events decode and fold to exactly what the library's own path gives: the orjson
transcoder, the value objects rebuilt without re-validation, and the direct fold."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder, Transcoding

from application.folding import fold
from application.transcodings import (
    STORED_VALUE_TYPES,
    FastJSONTranscoder,
    register_domain_transcodings,
)
from domain.dossier import Dossier
from domain.shared import Actor, Role
from domain.values import Comment, CommentKind, CommentStatus
from tests.application.projection_helpers import scripted_flow, submit_many
from tests.application.support import World


@pytest.fixture(params=["memory"])
def store_env(request: pytest.FixtureRequest) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.popo"}


class _Validated(Transcoding):
    """The reference decoding: the dataclass built through its constructor and checks."""

    def __init__(self, cls: type[Any], name: str) -> None:
        self.type = cls
        self.name = name

    def encode(self, obj: Any) -> Any:
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}

    def decode(self, data: Any) -> Any:
        return self.type(**data)


def reference_transcoder(world: World) -> JSONTranscoder:
    """The library's object_hook transcoder with every value built by its constructor."""
    transcoder = JSONTranscoder()
    world.dossiers.register_transcodings(transcoder)
    for name, cls in STORED_VALUE_TYPES.items():
        transcoder.register(_Validated(cls, name))
    return transcoder


def assert_same(actual: Any, expected: Any, path: str = "") -> None:
    """Equal, and of the same type all the way down (an enum member is not its string)."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if dataclasses.is_dataclass(expected):
        for field in dataclasses.fields(expected):
            assert_same(
                getattr(actual, field.name), getattr(expected, field.name), f"{path}.{field.name}"
            )
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), path
        for key in expected:
            assert_same(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), path
        for index, (a, b) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, b, f"{path}[{index}]")
    else:
        assert actual == expected, path


def test_every_stored_event_decodes_as_the_library_would_with_validated_values(
    world: World,
) -> None:
    scripted_flow(world)
    reference = reference_transcoder(world)
    fast = world.dossiers.mapper.transcoder
    assert isinstance(fast, FastJSONTranscoder)
    notifications = world.movements.recorder.select_notifications(1, limit=100_000)
    assert len(notifications) > 50
    kinds = set()
    for notification in notifications:
        assert_same(fast.decode(notification.state), reference.decode(notification.state))
        kinds.add(notification.topic)
    assert len(kinds) > 15


def test_a_value_stored_before_a_field_was_added_gets_the_field_default() -> None:
    transcoder = FastJSONTranscoder()
    register_domain_transcodings(transcoder)
    old = {
        "_type_": "comment",
        "_data_": {
            "comment_id": "c1",
            "kind": "support",
            "text": "Đồng ý",
            "author_name": None,
            "contact": None,
            "received_on": {"_type_": "date_iso", "_data_": "2026-03-02"},
        },
    }
    decoded = transcoder.decode(json.dumps({"comment": old}).encode())["comment"]

    assert isinstance(decoded, Comment)
    assert decoded.kind is CommentKind.SUPPORT
    assert decoded.status is CommentStatus.RECEIVED
    assert decoded.moderated_on is None


def test_shared_values_come_back_as_enum_members_and_the_same_object() -> None:
    transcoder = FastJSONTranscoder()
    register_domain_transcodings(transcoder)
    data = transcoder.encode({"a": Actor("u1", Role.APPRAISER), "b": Actor("u1", Role.APPRAISER)})
    decoded = transcoder.decode(data)

    assert decoded["a"].role is Role.APPRAISER
    assert decoded["a"] is decoded["b"]


def test_an_unknown_stored_field_is_refused_rather_than_dropped() -> None:
    transcoder = FastJSONTranscoder()
    register_domain_transcodings(transcoder)
    stored = (
        b'{"n":{"_type_":"nominee","_data_":{"kind":"individual","name":"A","position":"B","x":1}}}'
    )
    with pytest.raises(TypeError, match="no field 'x'"):
        transcoder.decode(stored)


def test_folding_directly_gives_the_same_dossiers_as_the_library_mutate(world: World) -> None:
    scripted_flow(world)
    submit_many(world, 3)
    ids = {n.originator_id for n in world.movements.recorder.select_notifications(1, 100_000)}
    compared = 0
    for aggregate_id in ids:
        events = list(world.movements.events.get(aggregate_id))
        ours = fold(None, events)
        if not isinstance(ours, Dossier):
            continue
        theirs: Any = None
        for event in world.movements.events.get(aggregate_id):
            theirs = event.mutate(theirs)
        assert vars(ours) == vars(theirs)
        compared += 1
    assert compared >= 7
