"""Old events still load after an event's shape changes (class_version + upcaster)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from domain.dossier import Dossier
from domain.values import CommentKind
from tests.application.flows import local_today
from tests.application.support import APPRAISER, AUDITOR, PUBLIC, World, submit


def test_a_version_1_comment_without_a_kind_loads_as_information(world: World) -> None:
    receipt = submit(world, "bang_khen_thu_tuong")
    world.dossiers.open_public_comment(
        receipt.id,
        closes_on=world.calendar.add_working_days(local_today(world), 10),
        by=APPRAISER,
        expected_version=1,
    )
    dossier = world.dossiers.get(receipt.id, viewer=APPRAISER)
    # Build the event as version 2 would, then store it the way version 1 did: no kind and
    # no class_version in its state.
    dossier.receive_comment(
        comment_id="v1-comment",
        kind=CommentKind.OBJECTION,
        text="Ý kiến gửi trước khi có phân loại.",
        author_name=None,
        contact=None,
        by=PUBLIC,
        at=world.clock() + timedelta(hours=1),
    )
    (new_event,) = dossier.collect_events()
    stored = world.dossiers.mapper.to_stored_event(new_event)
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    state.pop("kind")
    old_stored = replace(stored, state=json.dumps(state, ensure_ascii=False).encode())
    world.dossiers.recorder.insert_events([old_stored])

    loaded = world.dossiers.get(receipt.id, viewer=APPRAISER)
    assert loaded.version == 3
    assert loaded.comments["v1-comment"].kind is CommentKind.INFORMATION
    history = world.dossiers.history(receipt.id, viewer=AUDITOR)
    assert history[-1].data["kind"] == "information"


def test_the_current_event_shape_is_stored_with_its_class_version(world: World) -> None:
    receipt = submit(world, "bang_khen_thu_tuong")
    world.dossiers.open_public_comment(
        receipt.id,
        closes_on=world.calendar.add_working_days(local_today(world), 10),
        by=APPRAISER,
        expected_version=1,
    )
    world.dossiers.receive_comment(
        receipt.id,
        kind=CommentKind.SUPPORT,
        text="Đồng ý",
        author_name=None,
        contact=None,
        by=PUBLIC,
    )
    stored = list(world.dossiers.recorder.select_events(receipt.id))[-1]
    assert stored.topic.endswith("Dossier.CommentReceived")
    assert json.loads(stored.state)["class_version"] == Dossier.CommentReceived.class_version == 2
