"""Proofs from the audit log (the Merkle tree of every stored event; docs/audit.md).

Staff API, auditors and administrators:

- ``GET /api/v1/audit/proofs/inclusion?event=NOTIFICATION_ID[&size=N]``: one event's audit path;
- ``GET /api/v1/audit/proofs/inclusion?dossier=UUID[&size=N]``: every event of one dossier;
- ``GET /api/v1/audit/proofs/consistency?from=M[&to=N]``: the log only grew from M to N events.

``size`` (and ``to``) default to the latest signed checkpoint's size, so the answer can be
checked against a signed root; without a checkpoint, to the tree's current size.

Public, no account: ``GET /du-lieu-mo/bang-chung/{dossier_id}`` for a nomination on the public
pages: positions, leaf hashes and paths only — never an event's content.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from api.errors import ApiProblem
from api.models import Out
from api.public.opendata import OPEN_HEADERS
from api.public.site import PublicSite, parse_dossier_id, site_of
from api.routes.common import MAX_POSITION, READ_PROBLEMS, api_router, problems
from api.security import Caller, ServicesDep
from application.accounts import Principal
from application.audit import merkle
from application.audit.verifier import b64
from application.policy import PRIVATE_READERS, authorize
from infrastructure.audit.checkpoints import StoredCheckpoint
from infrastructure.audit.log import BeyondTree, StoredLeaf
from infrastructure.audit.stored import AsyncProofReads, EventProofInputs, Node, ProofReads
from infrastructure.bootstrap import Services

__all__ = [
    "async_proof_reads",
    "proof_reads",
    "prove_event",
    "prove_inclusion",
    "public_router",
    "router",
]

router = api_router("/api/v1", "Nhật ký kiểm toán (audit)")
public_router = APIRouter(include_in_schema=False)

WAIT_SECONDS = 2.0
"""How long an inclusion proof for a just-recorded event waits for the tree to take it."""


# --- checkpoints (signed by infrastructure.audit.checkpoints) ---------------------------------


def _checkpoint_json(
    services: Services, size: int, known: StoredCheckpoint | None = None
) -> dict[str, Any] | None:
    """The latest checkpoint signed at exactly this size, as served publicly, or None
    (``known``: one already read, used when it is of that size)."""
    stored = known if known is not None and known.checkpoint.size == size else None
    if stored is None:
        stored = services.checkpoints.table.at_size(size)
    return _served(stored)


def _served(stored: StoredCheckpoint | None) -> dict[str, Any] | None:
    """A checkpoint as served publicly (None stays None)."""
    return None if stored is None else {"id": stored.id, **stored.checkpoint.to_json()}


def _sizes(services: Services, size: int | None) -> tuple[int, int, StoredCheckpoint | None]:
    """``(size, tree size, latest checkpoint if it was read)``: the size asked, or the latest
    checkpoint's, or the tree's; 400 beyond the tree."""
    current = services.audit.size()
    latest = services.checkpoints.table.latest() if size is None else None
    return _size_of(size, current, latest), current, latest


def _size_of(asked: int | None, current: int, latest: StoredCheckpoint | None) -> int:
    """The size asked (400 beyond the tree of ``current`` leaves), or else the ``latest``
    checkpoint's (the tree's if it is behind), or else the tree's."""
    if asked is None:
        return current if latest is None else min(latest.checkpoint.size, current)
    if asked > current:
        raise ApiProblem(
            400,
            "size-beyond-tree",
            "Cây nhật ký kiểm toán chưa tới cỡ này",
            f"Cây nhật ký kiểm toán hiện có {current} sự kiện; không có cây cỡ {asked}. "
            "Hãy chọn size không lớn hơn số đó (thường là cỡ của một điểm kiểm tra đã ký).",
            extensions={"tree_size": current},
        )
    return asked


def _tree_size(services: Services, size: int | None) -> int:
    """The size asked, or the latest checkpoint's, or the tree's; 400 beyond the tree."""
    return _sizes(services, size)[0]


# --- inclusion ----------------------------------------------------------------------------------


class ProvenEvent(Out):
    """One event, its leaf, and its audit path in the tree of ``size`` leaves."""

    position: int = Field(description="Vị trí của lá trong cây (0, 1, 2…: thứ tự nhật ký)")
    notification_id: int = Field(description="Số thứ tự của sự kiện trong nhật ký sự kiện")
    originator_id: UUID = Field(description="Mã đối tượng (hồ sơ, phong trào…) của sự kiện")
    originator_version: int = Field(description="Phiên bản của đối tượng sau sự kiện")
    topic: str | None = Field(description="Loại sự kiện như đã lưu (null nếu sự kiện đã mất)")
    timestamp: str | None = Field(description="Thời điểm của sự kiện như đã lưu (ISO 8601)")
    leaf_hash: str = Field(description="Băm lá (RFC 9162: SHA-256 của 0x00 ‖ bytes chuẩn), base64")
    event_matches_leaf: bool = Field(
        description="Sự kiện đang lưu có cho đúng băm lá này không (false: đã bị sửa hoặc xóa)"
    )
    proof: list[str] = Field(description="Đường kiểm chứng (audit path), từ lá lên gốc, base64")
    canonical: str | None = Field(
        default=None,
        description="Bytes chuẩn của sự kiện (base64; băm lá = SHA-256(0x00 ‖ bytes)); chỉ cho "
        "vai trò được xem dữ liệu cá nhân",
    )


class PendingEvent(Out):
    position: int
    notification_id: int
    originator_version: int


class InclusionOut(Out):
    """Audit paths against the tree of ``size`` leaves with root ``root``."""

    size: int = Field(description="Cỡ cây mà các bằng chứng dựa vào")
    root: str = Field(description="Gốc cây cỡ size (base64)")
    tree_size: int = Field(description="Cỡ cây hiện tại")
    checkpoint: dict[str, Any] | None = Field(
        description="Điểm kiểm tra đã ký ở đúng cỡ size (null nếu chưa ký ở cỡ này)"
    )
    events: list[ProvenEvent]
    pending: list[PendingEvent] = Field(
        description="Sự kiện của hồ sơ chưa nằm trong cây cỡ size (ghi sau điểm kiểm tra)"
    )


def _stored_events(services: Services, leaves: list[StoredLeaf]) -> dict[int, Any]:
    """The stored events behind these leaves, by notification id (one read per aggregate)."""
    recorder = services.movements.recorder
    found: dict[int, Any] = {}
    by_originator: dict[UUID, dict[int, int]] = {}
    for leaf in leaves:
        by_originator.setdefault(leaf.originator_id, {})[leaf.originator_version] = (
            leaf.notification_id
        )
    for originator_id, versions in by_originator.items():
        low, high = min(versions), max(versions)
        for stored in recorder.select_events(originator_id, gt=low - 1, lte=high):
            notification_id = versions.get(stored.originator_version)
            if notification_id is not None:
                found[notification_id] = stored
    return found


def _proven(leaf: StoredLeaf, proof: list[bytes], stored: Any, *, private: bool) -> ProvenEvent:
    canonical = None
    if stored is not None:
        canonical = merkle.canonical_event_bytes(
            stored.originator_id, stored.originator_version, stored.topic, stored.state
        )
    return ProvenEvent(
        position=leaf.position,
        notification_id=leaf.notification_id,
        originator_id=leaf.originator_id,
        originator_version=leaf.originator_version,
        topic=stored.topic if stored is not None else None,
        timestamp=merkle.event_timestamp(stored.state) if stored is not None else None,
        leaf_hash=b64(leaf.leaf_hash),
        event_matches_leaf=canonical is not None and merkle.leaf_hash(canonical) == leaf.leaf_hash,
        proof=[b64(node) for node in proof],
        canonical=b64(canonical) if private and canonical is not None else None,
    )


def _event_leaf(services: Services, event: int) -> StoredLeaf:
    audit = services.audit
    leaf = audit.leaf_of_event(event)
    if leaf is None:
        recorded = services.movements.recorder.select_notifications(
            start=event, limit=1, stop=event
        )
        if recorded and audit.wait_for(event, timeout=WAIT_SECONDS):
            leaf = audit.leaf_of_event(event)
        if leaf is None and recorded:
            raise ApiProblem(
                503,
                "audit-log-behind",
                "Nhật ký kiểm toán chưa ghi kịp sự kiện này",
                f"Sự kiện {event} vừa được ghi; cây nhật ký kiểm toán chưa cập nhật tới. Hãy "
                "thử lại sau ít giây.",
                headers={"Retry-After": "2"},
            )
        if leaf is None:
            raise ApiProblem(
                404,
                "event-not-found",
                "Không có sự kiện này",
                f"Không có sự kiện nào có số thứ tự {event} trong nhật ký sự kiện.",
            )
    return leaf


def _beyond(leaf: StoredLeaf, size: int) -> ApiProblem:
    return ApiProblem(
        400,
        "position-beyond-size",
        "Sự kiện nằm ngoài cây cỡ này",
        f"Sự kiện {leaf.notification_id} ở vị trí {leaf.position} của nhật ký kiểm toán, còn "
        f"cây được hỏi chỉ có {size} sự kiện (vị trí 0 đến {size - 1}). Hãy hỏi với size lớn "
        f"hơn {leaf.position}, hoặc chờ điểm kiểm tra sau.",
        extensions={"position": leaf.position, "size": size},
    )


EventParam = Annotated[
    int | None,
    Query(
        ge=1, le=MAX_POSITION, description="Số thứ tự của sự kiện trong nhật ký (notification id)"
    ),
]
DossierParam = Annotated[
    UUID | None, Query(description="Mã hồ sơ: bằng chứng cho mọi sự kiện của hồ sơ")
]
SizeParam = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_POSITION,
        description="Cỡ cây (số sự kiện) để chứng minh; mặc định cỡ của điểm kiểm tra đã ký gần "
        "nhất, nếu chưa có thì cỡ hiện tại",
    ),
]


@router.get(
    "/audit/proofs/inclusion",
    response_model=InclusionOut,
    response_model_exclude_none=False,
    responses=problems(*READ_PROBLEMS, 503),
)
async def inclusion_proof(
    request: Request,
    caller: Caller,
    services: ServicesDep,
    event: EventParam = None,
    dossier: DossierParam = None,
    size: SizeParam = None,
) -> InclusionOut:
    """Bằng chứng một sự kiện (``event``) hoặc mọi sự kiện của một hồ sơ (``dossier``) nằm
    trong nhật ký kiểm toán cỡ ``size`` (RFC 9162). Thanh tra, kiểm toán và quản trị;
    ``canonical`` (bytes chuẩn, có thể chứa dữ liệu cá nhân) chỉ cho thanh tra, kiểm toán."""
    # async: the caller comes from the token cache on the event loop; one event on
    # PostgreSQL is read there too (``AsyncProofReads``) and answered without leaving the
    # loop. Everything else runs its blocking reads in one worker thread (a sync route made
    # three hops to the thread pool and back, each costing more than the proof's own work).
    reads: AsyncProofReads | None = getattr(request.app.state, "async_proof_reads", None)
    if event is None or dossier is not None or reads is None or not reads.serves_here():
        return await run_in_threadpool(prove_inclusion, caller, services, event, dossier, size)
    return await prove_event(reads, caller, services, event, size)


async def prove_event(
    reads: AsyncProofReads, caller: Principal, services: Services, event: int, size: int | None
) -> InclusionOut:
    """One event's proof, read and answered on the event loop (``reads`` open on it); what
    needs more reads (an event not in the tree, a tree behind its checkpoint, a node missing)
    goes to a worker thread."""
    authorize(caller.actor, "audit.proofs")
    read = await reads.event(event, size)
    if read.leaf is None:  # not in the tree (yet): wait for it, or 503, or 404
        return await run_in_threadpool(
            prove_inclusion, caller, services, event, None, size, read_once=False
        )
    private = caller.actor.role in PRIVATE_READERS
    try:
        return _event_answer(services, read, size, private=private, blocking=False)
    except _MoreReads:  # rare
        return await run_in_threadpool(
            _event_answer, services, read, size, private=private, blocking=True
        )


def prove_inclusion(
    caller: Principal,
    services: Services,
    event: int | None = None,
    dossier: UUID | None = None,
    size: int | None = None,
    *,
    read_once: bool = True,
) -> InclusionOut:
    """The body of ``GET /api/v1/audit/proofs/inclusion`` (blocking: its reads wait for the
    store). One event on PostgreSQL: one round trip (``ProofReads``) unless ``read_once`` is
    False (already read, not in the tree); otherwise the tree's reads one by one."""
    authorize(caller.actor, "audit.proofs")
    if (event is None) == (dossier is None):
        raise ApiProblem(
            400,
            "invalid-proof-request",
            "Cần đúng một trong event hoặc dossier",
            "Hỏi bằng chứng cho một sự kiện (?event=số thứ tự) hoặc cho một hồ sơ "
            "(?dossier=mã hồ sơ), không phải cả hai hay không có.",
        )
    audit = services.audit
    private = caller.actor.role in PRIVATE_READERS
    if event is not None:
        read = _read_event(services, event, size) if read_once else None
        if read is not None:
            return _event_answer(services, read, size, private=private)
        leaf = _event_leaf(services, event)
        size, current, latest = _sizes(services, size)
        if leaf.position >= size:
            raise _beyond(leaf, size)
        included, pending = [leaf], []
    else:
        assert dossier is not None
        leaves = audit.leaves_of(dossier)
        if not leaves:
            raise ApiProblem(
                404,
                "dossier-not-found",
                "Không có sự kiện nào của hồ sơ này",
                f"Nhật ký kiểm toán không có sự kiện nào của {dossier} (mã sai, hoặc hồ sơ vừa "
                "được trình và cây chưa cập nhật).",
            )
        size, current, latest = _sizes(services, size)
        included = [leaf for leaf in leaves if leaf.position < size]
        pending = [leaf for leaf in leaves if leaf.position >= size]
    stored = _stored_events(services, included)
    proofs = audit.inclusion_proofs([leaf.position for leaf in included], size)
    # The root follows from any proof and its leaf: no more reads (the stored root otherwise).
    root = (
        merkle.root_from_inclusion_proof(
            included[0].leaf_hash, included[0].position, size, proofs[0]
        )
        if included
        else None
    )
    return InclusionOut(
        size=size,
        root=b64(root if root is not None else audit.root(size)),
        tree_size=current,
        checkpoint=_checkpoint_json(services, size, latest),
        events=[
            _proven(leaf, proof, stored.get(leaf.notification_id), private=private)
            for leaf, proof in zip(included, proofs, strict=True)
        ],
        pending=[
            PendingEvent(
                position=leaf.position,
                notification_id=leaf.notification_id,
                originator_version=leaf.originator_version,
            )
            for leaf in pending
        ],
    )


def _event_answer(
    services: Services,
    read: EventProofInputs,
    asked: int | None,
    *,
    private: bool,
    blocking: bool = True,
) -> InclusionOut:
    """The answer for one event from ``ProofReads.event``: the same sizes, checkpoint and
    errors as the reads one by one, from one snapshot. Not ``blocking`` (on the event loop):
    raises ``_MoreReads`` instead of reading more from the store."""
    leaf, current, found = read.leaf, read.tree_size, read.checkpoint
    assert leaf is not None
    # ``found`` is the latest checkpoint, or with a size asked the one signed at that size.
    size = _size_of(asked, current, found if asked is None else None)
    if leaf.position >= size:
        raise _beyond(leaf, size)
    if asked is None and found is not None and found.checkpoint.size != size:
        if not blocking:
            raise _MoreReads
        checkpoint = _checkpoint_json(services, size)  # the tree is behind the latest: rare
    else:
        checkpoint = _served(found)
    proof = _audit_path(services, read, size, blocking=blocking)
    root = merkle.root_from_inclusion_proof(leaf.leaf_hash, leaf.position, size, proof)
    if root is None and not blocking:
        raise _MoreReads
    return InclusionOut(
        size=size,
        root=b64(root if root is not None else services.audit.root(size)),
        tree_size=current,
        checkpoint=checkpoint,
        events=[_proven(leaf, proof, read.event, private=private)],
        pending=[],
    )


class _MoreReads(Exception):
    """The answer needs a read from the store that the event loop must not wait for."""


def proof_reads(services: Services) -> ProofReads | None:
    """The one-statement reads of an event's proof over this store's tables (PostgreSQL), or
    None (SQLite, memory)."""
    audit = services.audit
    return ProofReads.for_store(
        services.movements,
        audit.datastore,
        leaves_table=audit.leaves_table,
        nodes_table=audit.nodes_table,
        checkpoints_table=services.checkpoints.table.table,
    )


def async_proof_reads(services: Services) -> AsyncProofReads | None:
    """The one read of an event's proof awaited on the server's event loop (PostgreSQL; the
    app opens it in its lifespan), or None (SQLite, memory)."""
    reads = proof_reads(services)
    if reads is None:
        return None
    return AsyncProofReads(reads, max_size=services.settings.postgres_pool_size)


def _read_event(services: Services, event: int, size: int | None) -> EventProofInputs | None:
    """One event's leaf, the tree's size, the checkpoint, the stored event and the audit
    path's nodes in one read (``ProofReads``, PostgreSQL); None on SQLite, or when the tree
    does not have the event (the caller's slow path waits for it, or answers 503 or 404)."""
    reads = proof_reads(services)
    if reads is None:
        return None
    found = reads.event(event, size)
    return found if found.leaf is not None else None


class _NotRead(Exception):
    """A node of the audit path that the combined read did not bring."""


def _audit_path(
    services: Services, read: EventProofInputs, size: int, *, blocking: bool = True
) -> list[bytes]:
    """The leaf's audit path in the tree of ``size`` leaves, from the nodes read with it; from
    the tree (``AuditLog``, which also tells a missing node from a tampered table) when one
    is not among them (``_MoreReads`` instead when not ``blocking``)."""
    assert read.leaf is not None
    position, nodes = read.leaf.position, read.nodes

    def stored(wanted: Sequence[Node]) -> list[bytes]:
        try:
            return [nodes[node] for node in wanted]
        except KeyError:
            raise _NotRead from None

    try:
        return merkle.inclusion_proof(position, size, stored)
    except _NotRead:
        if not blocking:
            raise _MoreReads from None
        return services.audit.inclusion_proofs([position], size)[0]


# --- consistency --------------------------------------------------------------------------------


class ConsistencyOut(Out):
    """The tree of ``to`` leaves begins with the tree of ``from`` leaves."""

    from_size: int = Field(alias="from", description="Cỡ cây cũ")
    to_size: int = Field(alias="to", description="Cỡ cây mới")
    root_from: str = Field(description="Gốc cây cỡ from (base64)")
    root_to: str = Field(description="Gốc cây cỡ to (base64)")
    proof: list[str] = Field(description="Bằng chứng nhất quán (RFC 9162 §2.1.4), base64")
    checkpoint_from: dict[str, Any] | None = Field(
        description="Điểm kiểm tra đã ký ở cỡ from (null nếu không có)"
    )
    checkpoint_to: dict[str, Any] | None = Field(
        description="Điểm kiểm tra đã ký ở cỡ to (null nếu không có)"
    )
    tree_size: int = Field(description="Cỡ cây hiện tại")

    model_config = ConfigDict(populate_by_name=True, from_attributes=True)


@router.get(
    "/audit/proofs/consistency",
    response_model=ConsistencyOut,
    response_model_by_alias=True,
    responses=problems(*READ_PROBLEMS),
)
def consistency_proof(
    caller: Caller,
    services: ServicesDep,
    from_size: Annotated[
        int, Query(alias="from", ge=0, le=MAX_POSITION, description="Cỡ cây cũ (số sự kiện)")
    ],
    to_size: Annotated[
        int | None,
        Query(
            alias="to",
            ge=0,
            le=MAX_POSITION,
            description="Cỡ cây mới; mặc định cỡ của điểm kiểm tra đã ký gần nhất, nếu chưa có "
            "thì cỡ hiện tại",
        ),
    ] = None,
) -> ConsistencyOut:
    """Bằng chứng nhật ký kiểm toán chỉ được nối thêm giữa hai cỡ cây: cây cỡ ``to`` bắt đầu
    bằng đúng cây cỡ ``from`` (RFC 9162). Thanh tra, kiểm toán và quản trị."""
    authorize(caller.actor, "audit.proofs")
    audit = services.audit
    to = _tree_size(services, to_size)
    if from_size > to:
        raise ApiProblem(
            400,
            "invalid-consistency-sizes",
            "Cỡ cây cũ lớn hơn cỡ cây mới",
            f"from ({from_size}) phải không lớn hơn to ({to}): bằng chứng nhất quán đi từ cây "
            "nhỏ tới cây lớn.",
        )
    try:
        proof = audit.consistency_proof(from_size, to)
    except BeyondTree as error:  # the tree cannot shrink; only a race with a bad size
        raise ApiProblem(400, "size-beyond-tree", "Cỡ cây không hợp lệ", str(error)) from None
    return ConsistencyOut.model_validate(
        {
            "from": from_size,
            "to": to,
            "root_from": b64(audit.root(from_size)),
            "root_to": b64(audit.root(to)),
            "proof": [b64(node) for node in proof],
            "checkpoint_from": _checkpoint_json(services, from_size),
            "checkpoint_to": _checkpoint_json(services, to),
            "tree_size": audit.size(),
        }
    )


# --- the public proof of a published nomination -------------------------------------------------

Site = Annotated[PublicSite, Depends(site_of)]


def _not_public() -> ApiProblem:
    return ApiProblem(
        404,
        "not-found",
        "Không tìm thấy hồ sơ công khai",
        "Không có hồ sơ công khai lấy ý kiến Nhân dân nào ứng với mã này.",
        headers=OPEN_HEADERS,
    )


@public_router.get("/du-lieu-mo/bang-chung/{dossier_id}")
def public_proof(site: Site, dossier_id: str) -> JSONResponse:
    """Proof that a published nomination's history is in the signed audit log: each event's
    position, leaf hash and audit path, the tree's size and root, and the checkpoint — never an
    event's content (which may hold personal data)."""
    found = parse_dossier_id(dossier_id)
    if found is None or site.reads.public_consultation(found) is None:
        raise _not_public()
    services = site.services
    audit = services.audit
    leaves = audit.leaves_of(found)
    size = _tree_size(services, None)
    included = [leaf for leaf in leaves if leaf.position < size]
    proofs = audit.inclusion_proofs([leaf.position for leaf in included], size)
    body = {
        "dossier_id": str(found),
        "page": f"/cong-khai/{found}",
        "size": size,
        "root": b64(audit.root(size)),
        "checkpoint": _checkpoint_json(services, size),
        "events": [
            {
                "position": leaf.position,
                "leaf_hash": b64(leaf.leaf_hash),
                "proof": [b64(node) for node in proof],
            }
            for leaf, proof in zip(included, proofs, strict=True)
        ],
        "pending": [leaf.position for leaf in leaves if leaf.position >= size],
        "how_to_verify": "/du-lieu-mo/#bang-chung",
    }
    return JSONResponse(body, headers=OPEN_HEADERS)
