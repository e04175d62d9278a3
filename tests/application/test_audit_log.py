"""The audit log's writer on every store (memory, SQLite, PostgreSQL): the stored tree is the
RFC 9162 tree of every stored event in notification order, exactly once — after a scripted
flow, in any batch size, after a commit that failed, after a process killed inside its
transaction, and with two writers racing — and proofs given at one size stay valid as the log
grows."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from application.audit import merkle
from application.audit.merkle import (
    EMPTY_ROOT,
    nodes_of_leaves,
    root_hash,
    subtree_nodes,
    verify_consistency,
    verify_inclusion,
)
from infrastructure.audit.log import AuditLog, AuditLogCorrupt, BeyondTree
from tests.application.projection_helpers import scripted_flow, store_kind, submit_many
from tests.application.support import World

ROOT = Path(__file__).resolve().parents[2]
FILE_STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


class Crash(Exception):
    """What the sabotaged commit raises."""


def audit_log(world: World, *, batch_size: int = 20_000) -> AuditLog:
    log = AuditLog(world.movements, batch_size=batch_size)
    log.setup()
    return log


def recomputed(world: World) -> list[tuple[int, Any, int, bytes]]:
    """From scratch, through the library's own read of the log: (notification id, originator,
    version, leaf hash) of every stored event, in order."""
    rows = []
    start = 1
    while True:
        page = world.movements.recorder.select_notifications(start=start, limit=500)
        for n in page:
            leaf = merkle.event_leaf_hash(n.originator_id, n.originator_version, n.topic, n.state)
            rows.append((n.id, n.originator_id, n.originator_version, leaf))
        if len(page) < 500:
            return rows
        start = page[-1].id + 1


def assert_is_the_recomputed_tree(log: AuditLog, world: World) -> None:
    """Leaves, every stored node, and the root of every size equal a fresh recomputation."""
    expected = recomputed(world)
    leaves = list(log.iter_leaves(chunk=7))
    assert [
        (x.notification_id, x.originator_id, x.originator_version, x.leaf_hash) for x in leaves
    ] == expected
    assert [x.position for x in leaves] == list(range(len(expected)))
    hashes = [row[3] for row in expected]
    size = len(hashes)
    assert log.size() == size
    assert log.position() == (expected[-1][0] if expected else 0)
    everything = [
        (level, index) for level in range(size.bit_length()) for index in range(size >> level)
    ]
    assert log.get_nodes(everything) == nodes_of_leaves(hashes)(everything)
    for n in range(size + 1):
        assert log.root(n) == root_hash(hashes[:n]), n


def test_the_tree_is_the_recomputed_tree_of_every_event_after_a_scripted_flow(
    world: World,
) -> None:
    log = audit_log(world)
    assert log.size() == 0
    assert log.root() == EMPTY_ROOT
    scripted_flow(world, lambda name: log.catch_up())
    assert log.catch_up() == world.movements.max_position()
    assert_is_the_recomputed_tree(log, world)
    # Every kind of aggregate is in it, not only dossiers.
    topics = {
        n.topic.split(":")[0] for n in world.movements.recorder.select_notifications(1, 10_000)
    }
    assert {"domain.dossier", "domain.movement", "domain.registers"} <= topics
    assert log.stats.batches < log.stats.events  # many events per transaction


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_any_batch_size_gives_the_same_tree(world: World, batch_size: int) -> None:
    scripted_flow(world)
    small = audit_log(world, batch_size=batch_size)
    appended = []
    while count := small.step():
        assert count <= batch_size
        appended.append(count)
    assert sum(appended) == world.movements.max_position()
    assert_is_the_recomputed_tree(small, world)


@pytest.mark.parametrize("batch_size", [10, 1000])
def test_a_batch_read_in_many_chunks_while_hashing_gives_the_same_tree(
    world: World, batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import infrastructure.audit.log as module

    monkeypatch.setattr(module, "READ_CHUNK", 4)  # the next chunk is read while one is hashed
    scripted_flow(world)
    log = audit_log(world, batch_size=batch_size)
    assert log.catch_up() == world.movements.max_position()
    assert log.stats.batches == -(-world.movements.max_position() // batch_size)
    assert_is_the_recomputed_tree(log, world)


def test_proofs_at_an_earlier_size_stay_valid_as_the_log_grows(world: World) -> None:
    log = audit_log(world)
    submit_many(world, 5)
    old_size = log.catch_up()
    old_root = log.root()
    old_proofs = {p: log.inclusion_proof(p, old_size) for p in range(old_size)}
    old_leaves = {p: log.leaf(p) for p in range(old_size)}

    scripted_flow(world)
    new_size = log.catch_up()
    assert new_size > old_size
    new_root = log.root()
    assert log.root(old_size) == old_root  # the old tree is still inside the new one
    for m in range(old_size + 1):
        proof = log.consistency_proof(m, new_size)
        assert verify_consistency(m, new_size, log.root(m), new_root, proof), m
    for position, proof in old_proofs.items():
        leaf = old_leaves[position]
        assert leaf is not None
        assert log.leaf(position) == leaf
        assert verify_inclusion(leaf.leaf_hash, position, old_size, proof, old_root)
        assert log.inclusion_proof(position, old_size) == proof
        new_proof = log.inclusion_proof(position, new_size)
        assert verify_inclusion(leaf.leaf_hash, position, new_size, new_proof, new_root)
    everyone = list(range(new_size))
    assert log.inclusion_proofs(everyone, new_size) == [
        log.inclusion_proof(position, new_size) for position in everyone
    ]
    assert_is_the_recomputed_tree(log, world)


@pytest.mark.parametrize("restart", ["same writer", "fresh writer"])
def test_a_commit_that_fails_changes_nothing_and_catching_up_again_adds_each_event_once(
    world: World, restart: str
) -> None:
    scripted_flow(world)
    log = audit_log(world, batch_size=5)
    calls: list[int] = []

    def crash_on_third(position: int) -> None:
        calls.append(position)
        if len(calls) == 3:
            raise Crash(f"before committing up to {position}")

    log.before_commit = crash_on_third  # type: ignore[method-assign]
    assert log.step() == 5
    assert log.step() == 5
    committed = (log.size(), log.position(), log.root())
    with pytest.raises(Crash):
        log.step()
    assert (log.size(), log.position(), log.root()) == committed
    assert log.stats.errors == 1
    if restart == "fresh writer":
        log = audit_log(world, batch_size=5)
    else:
        log.before_commit = lambda position: None  # type: ignore[method-assign]
    assert log.catch_up() == world.movements.max_position()
    assert_is_the_recomputed_tree(log, world)


@pytest.mark.parametrize("store_env", FILE_STORES, indirect=True)
def test_a_writer_killed_inside_its_transaction_leaves_a_tree_that_catches_up_exactly_once(
    world: World,
) -> None:
    scripted_flow(world)
    submit_many(world, 6)
    head = world.movements.max_position()
    audit_log(world)  # the tables
    killer = """
import json, os, sys
from application.movements import Movements
from infrastructure.audit.log import AuditLog

env, crash_at = json.loads(sys.argv[1]), int(sys.argv[2])
log = AuditLog(Movements(env), batch_size=7)
calls = 0

def before_commit(position):
    global calls
    calls += 1
    if calls == crash_at:
        os._exit(1)  # the process dies inside the write transaction, before its commit

log.before_commit = before_commit
while log.step():
    print(log.size(), log.position(), flush=True)
"""
    import json

    done = subprocess.run(
        [sys.executable, "-c", killer, json.dumps(world.env), "4"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    reported = done.stdout.split()
    assert len(reported) == 6, done.stdout  # three commits, then death inside the fourth
    log = audit_log(world, batch_size=7)
    assert (log.size(), log.position()) == (int(reported[-2]), int(reported[-1]))
    assert log.size() == 21
    assert log.catch_up() == head
    assert_is_the_recomputed_tree(log, world)


@pytest.mark.parametrize("store_env", FILE_STORES, indirect=True)
def test_two_writers_racing_add_each_event_once(world: World) -> None:
    scripted_flow(world)
    other_store = world.second_instance()[0]
    first = audit_log(world, batch_size=4)
    second = AuditLog(other_store, batch_size=4)
    errors: list[BaseException] = []

    def run(log: AuditLog) -> None:
        try:
            log.catch_up()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(log,)) for log in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    # Whoever lost a race took the stored state again; both see the same tree.
    assert first.catch_up() == second.catch_up() == world.movements.max_position()
    assert first.stats.events + second.stats.events == world.movements.max_position()
    assert_is_the_recomputed_tree(first, world)


def test_a_dossiers_events_are_found_by_dossier_and_by_event(world: World) -> None:
    flow = scripted_flow(world)
    log = audit_log(world)
    log.catch_up()
    assert flow.a is not None
    dossier = flow.a
    stored = list(world.movements.recorder.select_events(dossier))
    leaves = log.leaves_of(dossier)
    assert [leaf.originator_version for leaf in leaves] == [s.originator_version for s in stored]
    assert log.positions_of_dossier(dossier) == [leaf.position for leaf in leaves]
    for leaf, event in zip(leaves, stored, strict=True):
        assert leaf.leaf_hash == merkle.event_leaf_hash(
            event.originator_id, event.originator_version, event.topic, event.state
        )
        assert log.position_of(leaf.notification_id) == leaf.position
        assert log.leaf_of_event(leaf.notification_id) == leaf
    assert log.position_of(world.movements.max_position() + 1) is None
    assert log.leaf(log.size()) is None


def test_sizes_and_positions_beyond_the_tree_are_refused(world: World) -> None:
    submit_many(world, 2)
    log = audit_log(world)
    size = log.catch_up()
    with pytest.raises(BeyondTree, match="không có cây cỡ"):
        log.root(size + 1)
    with pytest.raises(BeyondTree, match="không thuộc cây"):
        log.inclusion_proof(size, size)
    with pytest.raises(BeyondTree):
        log.consistency_proof(size, size + 1)
    with pytest.raises(BeyondTree):
        log.consistency_proof(size, size - 1)
    assert log.inclusion_proof(0, 1) == []


def test_a_tree_whose_leaves_were_removed_by_hand_refuses_to_continue(world: World) -> None:
    submit_many(world, 2)
    log = audit_log(world)
    last = log.catch_up() - 1
    with log.datastore.transaction(commit=True) as cursor:
        cursor.execute(
            log.database.sql(f"DELETE FROM {log.leaves_table} WHERE position = %s"), (last,)
        )
    submit_many(world, 1, start=5)
    fresh = AuditLog(world.movements)
    with pytest.raises(AuditLogCorrupt, match="audit_leaves"):
        fresh.catch_up()


def test_a_node_removed_by_hand_is_reported_not_computed_around(world: World) -> None:
    submit_many(world, 4)
    log = audit_log(world)
    size = log.catch_up()
    with log.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {log.nodes_table} WHERE idx = 0")
    with pytest.raises(AuditLogCorrupt, match="Thiếu nút"):
        log.root(size)
    with pytest.raises(AuditLogCorrupt, match="Thiếu nút"):
        log.inclusion_proof(size - 1, size)


def test_the_in_memory_store_keeps_its_tree_beside_its_views(world: World) -> None:
    if store_kind(world.env) != "memory":
        pytest.skip("about the in-memory store")
    submit_many(world, 3)
    log = audit_log(world)
    log.catch_up()
    again = AuditLog(world.movements)  # a second reader of the same store sees the same tree
    assert again.size() == log.size() > 0
    assert again.root() == log.root()
    assert subtree_nodes(again.size())


@pytest.mark.parametrize("batch_size", [3, 20_000])
def test_with_a_signer_every_leaf_is_signed_at_its_position(
    world: World, batch_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import infrastructure.audit.log as module

    monkeypatch.setattr(module, "SIGN_IN_THREADS_FROM", 8)  # large chunks: signed in threads
    key = Ed25519PrivateKey.generate()
    scripted_flow(world)
    submit_many(world, 20)
    log = AuditLog(world.movements, batch_size=batch_size, signer=lambda: key.sign)
    log.setup()
    log.setup()  # again: the column is there once
    log.catch_up()
    assert_is_the_recomputed_tree(log, world)
    leaves = list(log.iter_leaves())
    assert len(leaves) > 8
    for leaf in leaves:
        assert leaf.signature is not None
        key.public_key().verify(
            leaf.signature, merkle.leaf_receipt_body(leaf.position, leaf.leaf_hash)
        )


def test_without_a_signer_leaves_are_stored_unsigned(world: World) -> None:
    scripted_flow(world)
    log = audit_log(world)
    log.catch_up()
    assert {leaf.signature for leaf in log.iter_leaves()} == {None}


@pytest.mark.parametrize("store_env", FILE_STORES, indirect=True)
def test_a_tree_stored_before_leaves_were_signed_gets_the_column_and_continues(
    world: World,
) -> None:
    scripted_flow(world)
    old = audit_log(world)
    old.catch_up()
    with old.database.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"ALTER TABLE {old.leaves_table} DROP COLUMN signature")
    key = Ed25519PrivateKey.generate()
    upgraded = AuditLog(world.movements, signer=lambda: key.sign)
    upgraded.setup()
    before = upgraded.size()
    submit_many(world, 2)
    upgraded.catch_up()
    assert_is_the_recomputed_tree(upgraded, world)
    signatures = [leaf.signature for leaf in upgraded.iter_leaves()]
    assert signatures[:before] == [None] * before
    assert None not in signatures[before:]
