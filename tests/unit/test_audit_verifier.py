"""The offline verifier on histories built in memory: every kind of tampering is found and
placed, an untouched history verifies, exports verify with the public key alone."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.audit.merkle import (
    inclusion_proof,
    leaf_receipt_body,
    nodes_of_leaves,
    root_hash,
)
from application.audit.verifier import (
    Checkpoint,
    CheckpointFormatError,
    StoredEvent,
    StoredLeaf,
    event_line,
    key_id,
    load_public_key,
    public_key_raw,
    verify_export,
    verify_log,
)

NAMESPACE = UUID("6f1c6e2a-3b7d-4a3e-9d55-0f7b1c2d3e4f")
ORIGIN = "khenthuong/test"
KEY = Ed25519PrivateKey.generate()
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def state(number: int, text: str = "x") -> bytes:
    moment = (T0 + timedelta(minutes=number)).isoformat()
    return (
        '{"timestamp":{"_type_":"datetime_iso","_data_":"' + moment + '"},"text":"' + text + '"}'
    ).encode()


def history(count: int = 20, dossiers: int = 4) -> list[StoredEvent]:
    versions: dict[int, int] = {}
    events = []
    for number in range(count):
        which = number % dossiers
        versions[which] = versions.get(which, 0) + 1
        events.append(
            StoredEvent(
                notification_id=number + 1,
                originator_id=uuid5(NAMESPACE, f"dossier-{which}"),
                originator_version=versions[which],
                topic="domain.dossier:Dossier.Submitted",
                state=state(number),
            )
        )
    return events


def leaves_of(events: list[StoredEvent]) -> list[StoredLeaf]:
    return [
        StoredLeaf(p, e.notification_id, e.originator_id, e.originator_version, e.leaf())
        for p, e in enumerate(events)
    ]


def sign(events: list[StoredEvent], size: int, key: Ed25519PrivateKey = KEY) -> Checkpoint:
    root = root_hash([e.leaf() for e in events[:size]])
    unsigned = Checkpoint(
        ORIGIN, size, root, T0 + timedelta(hours=size), key_id(key.public_key()), b""
    )
    return replace(unsigned, signature=key.sign(unsigned.body()))


@pytest.fixture
def events() -> list[StoredEvent]:
    return history()


@pytest.fixture
def checkpoints(events: list[StoredEvent]) -> list[Checkpoint]:
    return [sign(events, 0), sign(events, 5), sign(events, 12), sign(events, 20)]


def test_an_untouched_history_verifies(events, checkpoints):
    report = verify_log(events, checkpoints, KEYS, leaves_of(events), origin=ORIGIN)
    assert report.ok, report.findings
    assert report.events == 20
    assert report.leaves == 20
    assert all(result.ok for result in report.checkpoints)


def test_events_after_the_last_checkpoint_and_beyond_the_tree_are_fine(events, checkpoints):
    more = history(25)
    report = verify_log(more, checkpoints, KEYS, leaves_of(more)[:22])
    assert report.ok, report.findings


def test_a_changed_byte_is_placed_exactly(events, checkpoints):
    leaves = leaves_of(events)
    tampered = list(events)
    tampered[7] = events[7]._replace(state=events[7].state.replace(b'"x"', b'"y"'))
    report = verify_log(tampered, checkpoints, KEYS, leaves)
    first = report.first_bad
    assert first is not None
    assert first.kind == "changed"
    assert first.position == 7
    assert first.originator_id == events[7].originator_id
    assert [r.root_ok for r in report.checkpoints] == [True, True, False, False]


def test_a_deleted_event_is_named_from_its_leaf(events, checkpoints):
    leaves = leaves_of(events)
    tampered = events[:9] + events[10:]
    first = verify_log(tampered, checkpoints, KEYS, leaves).first_bad
    assert first is not None
    assert (first.kind, first.position) == ("deleted", 9)
    assert first.originator_id == events[9].originator_id
    assert first.originator_version == events[9].originator_version


def test_the_last_event_deleted_is_found(events, checkpoints):
    report = verify_log(events[:-1], checkpoints, KEYS, leaves_of(events))
    assert report.first_bad is not None
    assert (report.first_bad.kind, report.first_bad.position) == ("deleted", 19)
    assert any(f.kind == "missing" for f in report.findings)


def test_an_inserted_event_is_called_forged(events, checkpoints):
    forged = StoredEvent(
        999, uuid5(NAMESPACE, "forged"), 1, "domain.dossier:Dossier.Approved", state(3, "forged")
    )
    tampered = [*events[:3], forged, *events[3:]]
    first = verify_log(tampered, checkpoints, KEYS, leaves_of(events)).first_bad
    assert first is not None
    assert (first.kind, first.position, first.originator_id) == (
        "inserted",
        3,
        forged.originator_id,
    )


def test_swapped_events_are_both_named(events, checkpoints):
    tampered = list(events)
    tampered[4], tampered[15] = events[15], events[4]
    first = verify_log(tampered, checkpoints, KEYS, leaves_of(events)).first_bad
    assert first is not None
    assert (first.kind, first.position, first.last) == ("swapped", 4, 15)
    assert set(first.originators) == {events[4].originator_id, events[15].originator_id}


def test_a_tree_rebuilt_without_leaf_signatures_is_placed_between_checkpoints(events, checkpoints):
    tampered = list(events)
    tampered[8] = events[8]._replace(state=state(8, "rewritten"))
    report = verify_log(tampered, checkpoints, KEYS, leaves_of(tampered))
    first = report.first_bad
    assert first is not None
    assert first.kind == "range"
    assert (first.first, first.last) == (5, 11)
    assert events[8].originator_id in first.originators
    # only the dossiers with events in positions 5–11
    assert set(first.originators) == {e.originator_id for e in events[5:12]}


def test_without_leaves_only_the_range_is_known(events, checkpoints):
    tampered = list(events)
    tampered[1] = events[1]._replace(topic="domain.dossier:Dossier.Approved")
    first = verify_log(tampered, checkpoints, KEYS).first_bad
    assert first is not None
    assert (first.kind, first.first, first.last) == ("range", 0, 4)


def test_a_changed_leaf_with_good_events_blames_the_tree(events, checkpoints):
    leaves = leaves_of(events)
    leaves[6] = leaves[6]._replace(leaf_hash=bytes(32))
    first = verify_log(events, checkpoints, KEYS, leaves).first_bad
    assert first is not None
    assert (first.kind, first.position) == ("leaves_altered", 6)


def test_a_forged_checkpoint_fails_its_signature(events, checkpoints):
    forged = replace(checkpoints[2], size=11, root=root_hash([e.leaf() for e in events[:11]]))
    report = verify_log(events, [*checkpoints, forged], KEYS, leaves_of(events))
    assert [f.kind for f in report.findings] == ["signature"]


def test_a_checkpoint_by_another_key_is_reported(events, checkpoints):
    other = sign(events, 10, Ed25519PrivateKey.generate())
    report = verify_log(events, [*checkpoints, other], KEYS)
    assert [f.kind for f in report.findings] == ["unknown_key"]


def test_a_checkpoint_json_round_trips_and_bad_ones_are_refused(checkpoints):
    data = checkpoints[2].to_json()
    assert Checkpoint.from_json(json.loads(json.dumps(data))) == checkpoints[2]
    assert data["signed_text"].startswith(f"{ORIGIN}\n12\n")
    for broken in ({}, {**data, "root": "!!"}, {**data, "size": -1}, {**data, "time": "hôm qua"}):
        with pytest.raises(CheckpointFormatError):
            Checkpoint.from_json(broken)


def test_public_keys_load_from_pem_and_base64():
    from cryptography.hazmat.primitives import serialization

    public = KEY.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    raw = public_key_raw(public)
    import base64

    for given in (pem, pem.decode(), base64.b64encode(raw).decode()):
        assert key_id(load_public_key(given)) == key_id(public)


def export_lines(events: list[StoredEvent], checkpoint: Checkpoint) -> list[str]:
    hashes = [e.leaf() for e in events[: checkpoint.size]]
    get = nodes_of_leaves(hashes)
    lines = [json.dumps({"type": "checkpoint", "checkpoint": checkpoint.to_json()})]
    for position, event in enumerate(events[: checkpoint.size]):
        proof = inclusion_proof(position, checkpoint.size, get)
        lines.append(json.dumps(event_line(event, position, proof)))
    lines.append(json.dumps({"type": "end", "events": checkpoint.size}))
    return lines


def test_an_export_verifies_with_the_public_key_alone(events, checkpoints):
    report = verify_export(export_lines(events, checkpoints[2]), KEY.public_key())
    assert report.ok, report.findings
    assert report.events == 12


def test_a_tampered_export_line_fails(events, checkpoints):
    lines = export_lines(events, checkpoints[2])
    line = json.loads(lines[4])
    line["originator_version"] += 1
    lines[4] = json.dumps(line)
    report = verify_export(lines, KEY.public_key())
    assert not report.ok
    assert report.findings[0].position == 3


def test_a_cut_export_or_another_key_fails(events, checkpoints):
    lines = export_lines(events, checkpoints[2])
    assert not verify_export(lines[:-2], KEY.public_key()).ok
    assert not verify_export(lines, Ed25519PrivateKey.generate().public_key()).ok


def test_leaves_compared_from_a_later_position_leave_earlier_damage_to_the_range(
    events, checkpoints
):
    tampered = events[:9] + events[10:]  # position 9 deleted
    leaves = leaves_of(events)
    tail = verify_log(tampered, checkpoints, KEYS, leaves[20:]).first_bad
    assert tail is not None
    assert (tail.kind, tail.first, tail.last) == ("range", 5, 11)
    again = verify_log(tampered, checkpoints, KEYS, leaves[tail.first :]).first_bad
    assert again is not None
    assert (again.kind, again.position) == ("deleted", 9)


def test_leaves_compared_after_the_signed_part_catch_a_later_change(events, checkpoints):
    more = history(24)
    leaves = leaves_of(more)
    tampered = list(more)
    tampered[22] = more[22]._replace(state=state(22, "later"))
    report = verify_log(tampered, checkpoints, KEYS, leaves[20:])
    assert report.first_bad is not None
    assert (report.first_bad.kind, report.first_bad.position) == ("changed", 22)
    assert all(result.ok for result in report.checkpoints)
    assert report.leaves == 4


# --- leaf signatures --------------------------------------------------------------------------


def signed_leaves_of(events: list[StoredEvent], key: Ed25519PrivateKey = KEY) -> list[StoredLeaf]:
    return [
        leaf._replace(signature=key.sign(leaf_receipt_body(leaf.position, leaf.leaf_hash)))
        for leaf in leaves_of(events)
    ]


def rewritten(events: list[StoredEvent], leaves: list[StoredLeaf], at: int):
    """Event ``at`` changed and its leaf hash rewritten to match; its signature stays."""
    tampered = list(events)
    tampered[at] = events[at]._replace(state=events[at].state.replace(b'"x"', b'"y"'))
    moved = list(leaves)
    moved[at] = leaves[at]._replace(leaf_hash=tampered[at].leaf())
    return tampered, moved


def test_signed_leaves_of_an_untouched_history_verify(events, checkpoints):
    report = verify_log(events, checkpoints, KEYS, signed_leaves_of(events))
    assert report.ok, report.findings
    assert (report.signed_leaves, report.unsigned_leaves) == (20, 0)


def test_a_tree_rewritten_to_match_is_placed_exactly_by_the_leaf_signature(events, checkpoints):
    tampered, leaves = rewritten(events, signed_leaves_of(events), 9)
    report = verify_log(tampered, checkpoints, KEYS, leaves[5:])
    first = report.first_bad
    assert first is not None
    assert (first.kind, first.position) == ("rewritten", 9)
    assert first.originator_id == events[9].originator_id
    assert not [f for f in report.findings if f.kind == "range"]


def test_a_rewritten_leaf_after_every_checkpoint_is_found(events, checkpoints):
    more = history(25)
    tampered, leaves = rewritten(more, signed_leaves_of(more), 22)
    report = verify_log(tampered, checkpoints, KEYS, leaves[20:])
    assert [(f.kind, f.position) for f in report.findings] == [("rewritten", 22)]


def test_a_removed_leaf_signature_is_found_among_signed_ones(events, checkpoints):
    tampered, leaves = rewritten(events, signed_leaves_of(events), 14)
    leaves[14] = leaves[14]._replace(signature=None)
    report = verify_log(tampered, checkpoints, KEYS, leaves[12:])
    first = report.first_bad
    assert first is not None
    assert (first.kind, first.position) == ("unsigned", 14)


def test_a_leaf_signed_by_another_key_fails(events, checkpoints):
    leaves = signed_leaves_of(events)
    other = signed_leaves_of(events, Ed25519PrivateKey.generate())
    leaves[3] = other[3]
    report = verify_log(events, checkpoints, KEYS, leaves)
    assert [(f.kind, f.position) for f in report.findings] == [("rewritten", 3)]


def test_many_signed_leaves_are_checked_in_order_up_to_the_first_bad_one():
    events = history(9_000, dossiers=50)
    checkpoints = [sign(events, 100), sign(events, 9_000)]
    leaves = signed_leaves_of(events)
    for at in (8_500, 5_000):  # two rewrites: the first in log order is named
        events, leaves = rewritten(events, leaves, at)
    report = verify_log(events, checkpoints, KEYS, leaves[100:])
    first = report.first_bad
    assert first is not None
    assert (first.kind, first.position) == ("rewritten", 5_000)
    assert report.signed_leaves == 4_901  # checking stops at the first that fails


def test_unsigned_leaves_alone_are_not_a_finding(events, checkpoints):
    report = verify_log(events, checkpoints, KEYS, leaves_of(events))
    assert report.ok
    assert (report.signed_leaves, report.unsigned_leaves) == (0, 20)
