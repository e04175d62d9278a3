"""``khenthuong projections run`` writes the audit log too, beside the views: one process at a
time holds its lock, another takes over when it stops, and the tree is the recomputed tree of
every stored event (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from pathlib import Path

from application.audit import merkle
from infrastructure.bootstrap import Services
from tests.cli.test_projections_cli import HOLDING, WAITING, Store, opened, record, running
from tests.cli.test_projections_cli import store as store  # the fixture


def wait_for_the_tree(services: Services, head: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while services.audit.position() < head:
        assert time.monotonic() < deadline, (services.audit.position(), head)
        time.sleep(0.1)


def assert_is_the_recomputed_tree(services: Services) -> None:
    notifications = services.movements.recorder.select_notifications(start=1, limit=100_000)
    leaves = [
        merkle.event_leaf_hash(n.originator_id, n.originator_version, n.topic, n.state)
        for n in notifications
    ]
    assert services.audit.size() == len(leaves)
    assert services.audit.root() == merkle.root_hash(leaves)
    assert [leaf.leaf_hash for leaf in services.audit.iter_leaves()] == leaves


def test_projections_run_writes_the_audit_log_and_hands_it_over_on_sigterm(
    store: Store, tmp_path: Path
) -> None:
    with opened(store) as services:  # this process runs nothing
        with running(store, tmp_path, "first") as first:
            first.wait_for(HOLDING)
            head = record(services, 3)
            wait_for_the_tree(services, head)
            with running(store, tmp_path, "second") as second:
                second.wait_for(WAITING)
                assert first.stop() == 0
                second.wait_for(HOLDING, timeout=20)
                head = record(services, 2, first=50)
                wait_for_the_tree(services, head)
                assert second.stop() == 0
        assert_is_the_recomputed_tree(services)
        logs = first.err.read_text(encoding="utf-8") + second.err.read_text(encoding="utf-8")
        assert "Traceback" not in logs
        assert "audit_log_error" not in logs
