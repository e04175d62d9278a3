"""Audit proofs over HTTP, on SQLite and PostgreSQL: what the API answers verifies with
``application.audit.merkle`` alone against roots recomputed from the stored events, the size
defaults to the latest signed checkpoint, a proof given at a checkpoint still holds after the
log grew, mistakes get Vietnamese problems, and the public proof of a published nomination
carries positions and hashes only."""

from __future__ import annotations

import base64
import json
import socket
import time
from typing import Any
from uuid import UUID

import pytest

import api.routes.audit as audit_routes
from application.audit import merkle
from infrastructure.audit.stored import ProofReads
from tests.api.conftest import Staff
from tests.public.pages_support import open_for_comment, submit_state

INCLUSION = "/api/v1/audit/proofs/inclusion"
CONSISTENCY = "/api/v1/audit/proofs/consistency"


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def settle(staff: Staff) -> int:
    """Wait until the audit log (and the views) took every event; the tree's size."""
    services = staff.services
    head = services.movements.max_position()
    assert services.audit.wait_for(head, timeout=10)
    assert services.projections.wait_for(head, timeout=10)
    return services.audit.size()


def recomputed_leaves(staff: Staff) -> list[bytes]:
    """Every stored event's leaf hash, in log order, straight from the event store."""
    notifications = staff.services.movements.recorder.select_notifications(start=1, limit=100_000)
    return [
        merkle.event_leaf_hash(n.originator_id, n.originator_version, n.topic, n.state)
        for n in notifications
    ]


def assert_proves(answer: dict[str, Any], leaves: list[bytes]) -> None:
    """Every event's path leads from its leaf to the answer's root, which is the root of the
    first ``size`` recomputed leaves."""
    size = answer["size"]
    root = unb64(answer["root"])
    assert root == merkle.root_hash(leaves[:size])
    for event in answer["events"]:
        leaf = unb64(event["leaf_hash"])
        assert leaf == leaves[event["position"]]
        proof = [unb64(node) for node in event["proof"]]
        assert merkle.verify_inclusion(leaf, event["position"], size, proof, root)


def test_an_events_inclusion_proof_verifies_with_the_merkle_module(staff: Staff) -> None:
    dossier_id = staff.submit()
    position = staff.move(
        "appraiser", dossier_id, "appraisal", {"qualified": True, "opinion": "Đạt."}
    ).json()["position"]
    response = staff.get("auditor", INCLUSION, event=position)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["size"] == answer["tree_size"] == settle(staff)
    assert answer["checkpoint"] is None
    (event,) = answer["events"]
    assert event["notification_id"] == position
    assert event["originator_id"] == str(dossier_id)
    assert event["topic"] == "domain.dossier:Dossier.Appraised"
    assert event["timestamp"].startswith("2026-03-02T")
    assert event["event_matches_leaf"] is True
    # The auditor can recompute the leaf from the canonical bytes.
    canonical = unb64(event["canonical"])
    assert canonical.startswith(b"KT1" + dossier_id.bytes)
    assert merkle.leaf_hash(canonical) == unb64(event["leaf_hash"])
    assert_proves(answer, recomputed_leaves(staff))
    # An administrator gets the proof without the event's bytes (they may hold personal data).
    admin = staff.get("admin", INCLUSION, event=position).json()
    assert admin["events"][0]["canonical"] is None
    assert admin["events"][0]["proof"] == event["proof"]


def test_every_event_of_a_dossier_is_proven_at_once(staff: Staff) -> None:
    dossier_id = staff.submit()
    staff.move("appraiser", dossier_id, "return-for-supplement", {"missing": ["Biên bản họp"]})
    staff.move("submitter", dossier_id, "supplement", {"note": "Đã bổ sung."})
    staff.submit(name="Người khác", identity="001085099999")
    size = settle(staff)
    answer = staff.get("auditor", INCLUSION, dossier=str(dossier_id)).json()
    assert answer["size"] == size
    assert [e["originator_version"] for e in answer["events"]] == [1, 2, 3]
    assert {e["originator_id"] for e in answer["events"]} == {str(dossier_id)}
    assert answer["pending"] == []
    assert all(e["event_matches_leaf"] for e in answer["events"])
    assert_proves(answer, recomputed_leaves(staff))
    # The same events, against an earlier size that already held the first two.
    positions = [e["position"] for e in answer["events"]]
    earlier = staff.get("auditor", INCLUSION, dossier=str(dossier_id), size=positions[1] + 1)
    assert earlier.status_code == 200, earlier.text
    assert [e["position"] for e in earlier.json()["events"]] == positions[:2]
    assert [e["position"] for e in earlier.json()["pending"]] == positions[2:]
    assert_proves(earlier.json(), recomputed_leaves(staff))


def test_proofs_default_to_the_latest_checkpoint_and_stay_valid_as_the_log_grows(
    staff: Staff,
) -> None:
    first = staff.submit()
    settle(staff)
    signed = staff.services.checkpoints.sign()
    assert signed is not None
    checkpoint = signed.checkpoint
    staff.move("appraiser", first, "return-for-supplement", {"missing": ["Biên bản họp"]})
    staff.submit(name="Người sau", identity="001085088888")
    grown = settle(staff)
    assert grown > checkpoint.size

    answer = staff.get("auditor", INCLUSION, dossier=str(first)).json()
    assert answer["size"] == checkpoint.size
    assert unb64(answer["root"]) == checkpoint.root
    assert answer["checkpoint"]["size"] == checkpoint.size
    assert answer["checkpoint"]["root"] == answer["root"]
    assert [e["originator_version"] for e in answer["events"]] == [1]
    assert len(answer["pending"]) == 1  # returned after the checkpoint
    assert_proves(answer, recomputed_leaves(staff))

    consistency = staff.get("auditor", CONSISTENCY, **{"from": checkpoint.size, "to": grown})
    assert consistency.status_code == 200, consistency.text
    body = consistency.json()
    assert (body["from"], body["to"]) == (checkpoint.size, grown)
    assert unb64(body["root_from"]) == checkpoint.root
    assert body["checkpoint_from"]["size"] == checkpoint.size
    assert body["checkpoint_to"] is None
    leaves = recomputed_leaves(staff)
    assert unb64(body["root_to"]) == merkle.root_hash(leaves[:grown])
    assert merkle.verify_consistency(
        checkpoint.size,
        grown,
        checkpoint.root,
        merkle.root_hash(leaves[:grown]),
        [unb64(node) for node in body["proof"]],
    )
    # ``to`` defaults to the latest checkpoint too: nothing to prove between it and itself.
    same = staff.get("auditor", CONSISTENCY, **{"from": checkpoint.size}).json()
    assert (same["to"], same["proof"]) == (checkpoint.size, [])


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["title"]
    assert body["detail"]
    return body


def test_asking_the_wrong_thing_is_answered_with_a_clear_problem(staff: Staff) -> None:
    dossier_id = staff.submit()
    size = settle(staff)
    last = staff.services.movements.max_position()
    problem(staff.get("auditor", INCLUSION), 400, "invalid-proof-request")
    problem(
        staff.get("auditor", INCLUSION, event=last, dossier=str(dossier_id)),
        400,
        "invalid-proof-request",
    )
    gone = problem(staff.get("auditor", INCLUSION, event=last + 1000), 404, "event-not-found")
    assert str(last + 1000) in gone["detail"]
    beyond = problem(
        staff.get("auditor", INCLUSION, event=last, size=size + 5), 400, "size-beyond-tree"
    )
    assert beyond["tree_size"] == size
    assert "Cây nhật ký kiểm toán" in beyond["title"]
    early = problem(
        staff.get("auditor", INCLUSION, event=last, size=1), 400, "position-beyond-size"
    )
    assert early["position"] == size - 1
    assert "vị trí" in early["detail"]
    problem(
        staff.get("auditor", INCLUSION, dossier="7f1c0c8e-0000-4000-8000-000000000000"),
        404,
        "dossier-not-found",
    )
    problem(
        staff.get("auditor", CONSISTENCY, **{"from": 3, "to": 2}), 400, "invalid-consistency-sizes"
    )
    problem(
        staff.get("auditor", CONSISTENCY, **{"from": 1, "to": size + 1}), 400, "size-beyond-tree"
    )
    assert staff.get("auditor", INCLUSION, event=0).status_code == 422
    assert staff.get("auditor", INCLUSION, event=last, colour="blue").status_code == 422


def test_only_auditors_and_administrators_get_proofs(staff: Staff) -> None:
    staff.submit()
    settle(staff)
    last = staff.services.movements.max_position()
    for who in ("auditor", "admin"):
        assert staff.get(who, INCLUSION, event=last).status_code == 200
    for who in ("submitter", "appraiser", "chairman", "secretary", "hd-01"):
        problem(staff.get(who, INCLUSION, event=last), 403, "permission-denied")
        problem(staff.get(who, CONSISTENCY, **{"from": 0}), 403, "permission-denied")
    assert staff.get(None, INCLUSION, event=last).status_code == 401


# --- one event's proof in one read (PostgreSQL) ------------------------------------------------


def one_read(staff: Staff) -> ProofReads | None:
    return audit_routes.proof_reads(staff.services)


def grown_log(staff: Staff) -> tuple[int, int]:
    """A few dossiers, a checkpoint, then more events: ``(checkpoint size, tree size)``."""
    first = staff.submit()
    staff.move("appraiser", first, "return-for-supplement", {"missing": ["Biên bản họp"]})
    staff.submit(name="Người khác", identity="001085099999")
    settle(staff)
    signed = staff.services.checkpoints.sign()
    assert signed is not None
    staff.move("submitter", first, "supplement", {"note": "Đã bổ sung."})
    staff.submit(name="Người sau", identity="001085088888")
    return signed.checkpoint.size, settle(staff)


def test_one_events_proof_read_at_once_answers_as_the_reads_one_by_one(
    staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every event, at the checkpoint's size by default and at sizes asked, before and after
    it, beyond the tree: the same status and body whether the route reads once on the event
    loop (``AsyncProofReads``, PostgreSQL), once in a worker thread (``ProofReads``, here
    forced) or one read at a time (SQLite, and here forced)."""
    signed, size = grown_log(staff)
    head = staff.services.movements.max_position()
    queries: list[dict[str, int]] = [{"event": event} for event in range(1, head + 2)]
    queries += [{"event": event, "size": s} for event in (1, head) for s in (1, signed, size)]
    queries += [{"event": head, "size": size + 1}]

    def answers() -> list[tuple[int, Any]]:
        return [
            (r.status_code, r.json())
            for r in (staff.get("auditor", INCLUSION, **query) for query in queries)
        ]

    fast = answers()
    monkeypatch.setattr(staff.client.app.state, "async_proof_reads", None)  # type: ignore[attr-defined]
    in_a_thread = answers()
    monkeypatch.setattr(audit_routes, "_read_event", lambda *_: None)
    assert fast == in_a_thread == answers()
    statuses = {status for status, _ in fast}
    assert statuses == {200, 400, 404}  # proven; beyond the size or the tree; no such event


@pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)  # the one read is PostgreSQL's (SQLite reads one by one, as the test above compares)
def test_the_one_read_brings_every_node_of_the_audit_path(
    staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For every leaf and every tree size that holds it, the nodes read with the event make
    its audit path (no second read), and the path leads to the root recomputed from the
    stored events."""
    assert one_read(staff) is not None
    _, size = grown_log(staff)
    services = staff.services
    caller = services.accounts.authenticate(staff.tokens["auditor"])

    def no_second_read(*_: Any) -> None:
        raise AssertionError("an audit path node was not read with the event")

    monkeypatch.setattr(services.audit, "inclusion_proofs", no_second_read)
    leaves = recomputed_leaves(staff)
    for position in range(size):
        event = services.audit.leaf(position)
        assert event is not None
        for n in range(position + 1, size + 1):
            answer = audit_routes.prove_inclusion(
                caller, services, event=event.notification_id, size=n
            )
            (proven,) = answer.events
            proof = [unb64(node) for node in proven.proof]
            assert unb64(answer.root) == merkle.root_hash(leaves[:n])
            assert merkle.verify_inclusion(leaves[position], position, n, proof, unb64(answer.root))
            # The same read awaited on the event loop: a missing node would be a 500 here.
            served = staff.get("auditor", INCLUSION, event=event.notification_id, size=n)
            assert served.status_code == 200, served.text
            assert served.json()["events"][0]["proof"] == proven.proof


@pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)  # the read on the event loop is PostgreSQL's
def test_one_events_proof_is_answered_without_a_worker_thread(
    staff: Staff, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL an event's proof is read and answered on the server's event loop; a
    dossier's proof and an event not in the tree still go to a worker thread for their
    reads."""
    signed, size = grown_log(staff)
    hops: list[str] = []
    real = audit_routes.run_in_threadpool

    async def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(function.__name__)
        return await real(function, *args, **kwargs)

    monkeypatch.setattr(audit_routes, "run_in_threadpool", counted)
    leaves = recomputed_leaves(staff)
    head = staff.services.movements.max_position()
    for query in (
        {"event": 1},
        {"event": signed},
        {"event": 1, "size": size},
        {"event": head, "size": size},
    ):
        answer = staff.get("auditor", INCLUSION, **query)
        assert answer.status_code == 200, answer.text
        assert_proves(answer.json(), leaves)
    assert hops == []
    dossier = staff.services.audit.leaf(0)
    assert dossier is not None
    assert staff.get("auditor", INCLUSION, dossier=dossier.originator_id).status_code == 200
    assert staff.get("auditor", INCLUSION, event=10**9).status_code == 404
    assert hops == ["prove_inclusion", "prove_inclusion"]


@pytest.mark.parametrize(
    "settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)  # the read on the event loop is PostgreSQL's
def test_a_store_out_of_reach_gives_503_to_the_proof_read_on_the_event_loop(
    staff: Staff,
) -> None:
    """The event loop's pool pointed at a port where no server listens: the proof answers
    503 store-unavailable with Retry-After within the pool's time-out, as the blocking reads
    do, and the next proof after the store is back is served again."""
    staff.submit()
    settle(staff)
    last = staff.services.movements.max_position()
    reads = staff.client.app.state.async_proof_reads  # type: ignore[attr-defined]
    portal = staff.client.portal
    assert portal is not None
    listening = dict(reads._connect)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = probe.getsockname()[1]
    reads._connect = {**listening, "host": "127.0.0.1", "port": nobody}
    reads._timeout = 1.0
    portal.call(reads.open)
    started = time.monotonic()
    answer = staff.get("auditor", INCLUSION, event=last)
    assert time.monotonic() - started < 5
    problem(answer, 503, "store-unavailable")
    assert answer.headers["retry-after"] == "5"
    reads._connect = listening
    portal.call(reads.open)
    assert staff.get("auditor", INCLUSION, event=last).status_code == 200


def test_a_checkpoint_signed_elsewhere_is_named_by_the_next_proof(staff: Staff) -> None:
    """Nothing is kept between requests: a checkpoint signed by another process (here: the
    table written directly) is the size and the checkpoint of the very next proof."""
    staff.submit()
    size = settle(staff)
    last = staff.services.movements.max_position()
    before = staff.get("auditor", INCLUSION, event=last).json()
    assert (before["size"], before["checkpoint"]) == (size, None)
    signed = staff.services.checkpoints.sign()
    assert signed is not None
    after = staff.get("auditor", INCLUSION, event=last).json()
    assert after["checkpoint"]["id"] == signed.id
    assert after["checkpoint"]["size"] == size
    staff.submit(name="Người sau", identity="001085088888")
    grown = settle(staff)
    again = staff.services.checkpoints.sign()
    assert again is not None
    assert again.checkpoint.size == grown
    latest = staff.get("auditor", INCLUSION, event=last).json()
    assert (latest["size"], latest["checkpoint"]["id"]) == (grown, again.id)
    assert_proves(latest, recomputed_leaves(staff))


def test_the_token_is_checked_before_the_query(staff: Staff) -> None:
    """401 before 422 whatever the query, as on every route; then the query's own problems."""
    staff.submit()
    settle(staff)
    last = staff.services.movements.max_position()
    bad = {"Authorization": "Bearer kt_" + "0" * 32 + "_000000000000_" + "x" * 43}
    for params in ({"event": last}, {"event": "abc"}, {"event": 0}, {"event": [1, 2]}, {}):
        assert staff.client.get(INCLUSION, params=params).status_code == 401
        assert staff.client.get(INCLUSION, headers=bad, params=params).status_code == 401
    problem(staff.get("submitter", INCLUSION, event=last), 403, "permission-denied")
    for value in ("abc", "0", "-1", str(2**53), "1.5", ""):
        assert staff.get("auditor", INCLUSION, event=value).status_code == 422, value
    # Not plain for the one read, still answered by the route: a leading zero, a repeat.
    plain = staff.get("auditor", INCLUSION, event=last).json()
    assert staff.get("auditor", INCLUSION, event=f"0{last}").json() == plain
    assert staff.get("auditor", INCLUSION, event=[1, last]).json() == plain


# --- the public proof ------------------------------------------------------------------------------


PUBLIC_KEYS = {
    "dossier_id",
    "page",
    "size",
    "root",
    "checkpoint",
    "events",
    "pending",
    "how_to_verify",
}


def test_a_published_nomination_has_a_public_proof_with_hashes_and_positions_only(
    staff: Staff,
) -> None:
    dossier_id = submit_state(staff, "Nguyễn Thị Công Khai", "submitter", 71)
    open_for_comment(staff, dossier_id)
    hidden = staff.submit(name="Chưa Công Khai", identity="001085077777")
    settle(staff)

    page = staff.client.get(f"/cong-khai/{dossier_id}")
    assert page.status_code == 200
    assert f'href="/du-lieu-mo/bang-chung/{dossier_id}"' in page.text

    response = staff.client.get(f"/du-lieu-mo/bang-chung/{dossier_id}")
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    answer = response.json()
    assert set(answer) == PUBLIC_KEYS
    assert answer["dossier_id"] == str(dossier_id)
    assert answer["page"] == f"/cong-khai/{dossier_id}"
    for event in answer["events"]:
        assert set(event) == {"position", "leaf_hash", "proof"}
    leaves = recomputed_leaves(staff)
    assert len(answer["events"]) == 2  # submitted, published for comment
    assert_proves(answer, leaves)
    # Nothing of the events themselves: no names, numbers, contacts, topics or states.
    text = response.text
    stored = staff.services.movements.recorder.select_events(dossier_id)
    for secret in ("001085", "0912 345 678", "an.nguyen@example.vn", "Lê Duẩn", "Công Khai"):
        assert secret not in text
    assert "domain." not in text
    for event in stored:
        assert base64.b64encode(event.state).decode() not in text
        assert json.dumps(event.topic) not in text

    # Against the latest checkpoint once there is one.
    signed = staff.services.checkpoints.sign()
    assert signed is not None
    staff.move("appraiser", dossier_id, "comments", {"kind": "support", "text": "Đồng ý."})
    settle(staff)
    later = staff.client.get(f"/du-lieu-mo/bang-chung/{dossier_id}").json()
    assert later["size"] == signed.checkpoint.size
    assert later["checkpoint"]["signature"]
    assert len(later["events"]) == 2
    assert len(later["pending"]) == 1
    assert_proves(later, recomputed_leaves(staff))

    # Not for a dossier the public pages do not show, nor for nonsense.
    for missing in (hidden, "khong-phai-ma", UUID(int=5)):
        refused = staff.client.get(f"/du-lieu-mo/bang-chung/{missing}")
        problem(refused, 404, "not-found")
