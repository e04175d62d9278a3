"""The tamper-evident log's mathematics: canonical event bytes and an RFC 9162 Merkle tree.

Pure standard library, no database and no framework, so an auditor can read it whole and run
it anywhere (the offline verifier is built on it). Everything here is defined by RFC 9162
(Certificate Transparency version 2.0), section 2.1, with SHA-256:

- a leaf's hash is ``SHA-256(0x00 || data)`` and an interior node's ``SHA-256(0x01 || left ||
  right)``; the empty tree's root is ``SHA-256()`` (:func:`leaf_hash`, :func:`node_hash`,
  :data:`EMPTY_ROOT`);
- the tree head of ``n`` leaves (MTH) splits at the largest power of two smaller than ``n``
  (:func:`root_hash`, :class:`TreeBuilder` for a stream);
- inclusion proofs (audit paths) and consistency proofs, and their verification
  (:func:`inclusion_proof`, :func:`verify_inclusion`, :func:`consistency_proof`,
  :func:`verify_consistency`).

What a leaf holds is this service's choice: the canonical bytes of one stored event
(:func:`canonical_event_bytes`), see docs/audit.md for the layout and a worked example.

Addressing nodes. A *complete* subtree of ``2**level`` leaves starting at leaf
``index * 2**level`` is the node ``(level, index)``; level 0 are the leaves. A writer that keeps
every complete node (as ``infrastructure.audit.log`` does) answers any root or proof from
O(log n) stored nodes: the proof functions take ``get_nodes``, a function from a list of
``(level, index)`` to their hashes, and ask for all the nodes they need in one call.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import struct
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from uuid import UUID

__all__ = [
    "CANONICAL_MAGIC",
    "EMPTY_ROOT",
    "HASH_SIZE",
    "EventHasher",
    "Node",
    "TreeBuilder",
    "canonical_event_bytes",
    "checkpoint_body",
    "consistency_proof",
    "consistency_ranges",
    "event_leaf_hash",
    "event_timestamp",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "nodes_of_leaves",
    "originator_bytes",
    "parse_checkpoint_body",
    "range_hash",
    "range_nodes",
    "root_from_inclusion_proof",
    "root_hash",
    "subtree_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the tree of no leaves (RFC 9162: the hash of the empty string)."""

CANONICAL_MAGIC = b"KT1"
"""First bytes of every event's canonical encoding (its format version)."""

Node = tuple[int, int]
"""``(level, index)``: the complete subtree of leaves ``[index * 2**level, (index+1) * 2**level)``."""

GetNodes = Callable[[Sequence[Node]], Sequence[bytes]]
"""Hashes of the given complete nodes, in the order asked."""

_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"


# --- hashing ------------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: ``SHA-256(0x00 || data)``."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: ``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def root_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the tree whose leaves have these *leaf hashes* (already ``leaf_hash``-ed)."""
    builder = TreeBuilder()
    for value in leaf_hashes:
        builder.append(value)
    return builder.root()


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


class TreeBuilder:
    """The tree grown one leaf at a time, in O(log n) memory: the roots of the complete
    subtrees that make up its leaves, largest first (a "compact range" from leaf 0).

    ``append`` returns the complete interior nodes the new leaf finished, as
    ``(level, index, hash)``; a writer that stores them (and the leaves) can answer every proof.
    """

    __slots__ = ("_stack", "size")

    def __init__(self, size: int = 0, subtrees: Sequence[bytes] = ()) -> None:
        """Resume a tree of ``size`` leaves from the hashes of ``subtree_nodes(size)``."""
        if len(subtrees) != size.bit_count():
            raise ValueError("a tree of this size is made of one subtree per bit of its size")
        self.size = size
        self._stack = list(subtrees)

    def append(self, leaf: bytes) -> Sequence[tuple[int, int, bytes]]:
        """Add a leaf (its hash); returns the interior nodes completed by it."""
        position = self.size
        self.size = position + 1
        stack = self._stack
        if not position & 1:  # a left child: completes nothing
            stack.append(leaf)
            return ()
        made: list[tuple[int, int, bytes]] = []
        value = leaf
        level = 0
        while (position >> level) & 1:
            value = _sha256(_NODE + stack.pop() + value).digest()
            level += 1
            made.append((level, position >> level, value))
        stack.append(value)
        return made

    def subtrees(self) -> list[bytes]:
        """The hashes of ``subtree_nodes(self.size)``."""
        return list(self._stack)

    def root(self) -> bytes:
        """MTH of the leaves appended so far."""
        stack = self._stack
        if not stack:
            return EMPTY_ROOT
        value = stack[-1]
        for left in reversed(stack[:-1]):
            value = _sha256(_NODE + left + value).digest()
        return value


# --- node ranges --------------------------------------------------------------------------------


def range_nodes(start: int, end: int) -> list[Node]:
    """The complete nodes whose hashes make MTH(D[start:end]), left to right.

    Defined for the ranges the RFC's recursions produce: ``start`` is a multiple of the largest
    power of two not above ``end - start``, so the range splits into complete subtrees of
    strictly decreasing size, and the MTH is their hashes folded from the right."""
    if not 0 <= start < end:
        raise ValueError(f"empty or negative range [{start}, {end})")
    nodes: list[Node] = []
    offset = start
    remaining = end - start
    previous = None
    for level in range(remaining.bit_length() - 1, -1, -1):
        if not (remaining >> level) & 1:
            continue
        if offset % (1 << level) or (previous is not None and level >= previous):
            raise ValueError(f"[{start}, {end}) is not a range of the tree's recursion")
        nodes.append((level, offset >> level))
        offset += 1 << level
        previous = level
    return nodes


def subtree_nodes(size: int) -> list[Node]:
    """The complete subtrees of a tree of ``size`` leaves, largest first (none when empty)."""
    return range_nodes(0, size) if size else []


def _fold(hashes: Sequence[bytes]) -> bytes:
    value = hashes[-1]
    for left in reversed(hashes[:-1]):
        value = node_hash(left, value)
    return value


def range_hash(start: int, end: int, get_nodes: GetNodes) -> bytes:
    """MTH(D[start:end]) from its complete nodes."""
    return _fold(list(get_nodes(range_nodes(start, end))))


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form the audit path of leaf ``index`` in a tree of ``size``
    leaves, from the leaf's sibling up to the root's other child (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    offset, n, m = 0, size, index
    while n > 1:
        k = _largest_power_of_two_below(n)
        if m < k:
            ranges.append((offset + k, offset + n))
            n = k
        else:
            ranges.append((offset, offset + k))
            offset, n, m = offset + k, n - k, m - k
    ranges.reverse()
    return ranges


def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The leaf ranges whose MTHs form the consistency proof from the tree of ``m`` leaves to
    the tree of ``n`` leaves (RFC 9162 §2.1.4.1); none when ``m`` is 0 or equals ``n``."""
    if not 0 <= m <= n:
        raise ValueError(f"no consistency proof from {m} leaves to {n} leaves")
    if m == 0 or m == n:
        return []
    ranges: list[tuple[int, int]] = []
    offset, size, first, complete = 0, n, m, True
    while first != size:
        k = _largest_power_of_two_below(size)
        if first <= k:
            ranges.append((offset + k, offset + size))
            size = k
        else:
            ranges.append((offset, offset + k))
            offset, size, first, complete = offset + k, size - k, first - k, False
    if not complete:
        ranges.append((offset, offset + size))
    ranges.reverse()
    return ranges


def _proof(ranges: Sequence[tuple[int, int]], get_nodes: GetNodes) -> list[bytes]:
    wanted = [range_nodes(start, end) for start, end in ranges]
    flat: list[Node] = [node for nodes in wanted for node in nodes]
    found = list(get_nodes(flat)) if flat else []
    if len(found) != len(flat):
        raise ValueError("get_nodes answered a different number of nodes than asked")
    proof: list[bytes] = []
    at = 0
    for nodes in wanted:
        proof.append(_fold(found[at : at + len(nodes)]))
        at += len(nodes)
    return proof


def inclusion_proof(index: int, size: int, get_nodes: GetNodes) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1)."""
    return _proof(inclusion_ranges(index, size), get_nodes)


def consistency_proof(m: int, n: int, get_nodes: GetNodes) -> list[bytes]:
    """The consistency proof between the trees of ``m`` and ``n`` leaves (RFC 9162 §2.1.4.1)."""
    return _proof(consistency_ranges(m, n), get_nodes)


def nodes_of_leaves(leaf_hashes: Sequence[bytes]) -> GetNodes:
    """``get_nodes`` over a list of leaf hashes held in memory (tests, small exports)."""

    def get_nodes(nodes: Sequence[Node]) -> list[bytes]:
        result = []
        for level, index in nodes:
            start = index << level
            end = start + (1 << level)
            if end > len(leaf_hashes):
                raise KeyError((level, index))
            result.append(root_hash(leaf_hashes[start:end]))
        return result

    return get_nodes


# --- verification -------------------------------------------------------------------------------


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root that ``proof`` leads to from ``leaf`` (a leaf hash) at ``index`` in a tree of
    ``size`` leaves, or None when the proof cannot be one for that position (RFC 9162
    §2.1.3.2, steps 1–5 without the final comparison)."""
    if not 0 <= index < size or not _is_hash(leaf) or not all(_is_hash(p) for p in proof):
        return None
    fn, sn = index, size - 1
    value = bytes(leaf)
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            value = node_hash(bytes(sibling), value)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            value = node_hash(value, bytes(sibling))
        fn >>= 1
        sn >>= 1
    if sn != 0:
        return None
    return value


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when ``proof`` shows that the leaf hash ``leaf`` is leaf ``index`` of the tree of
    ``size`` leaves whose root is ``root`` (RFC 9162 §2.1.3.2)."""
    found = root_from_inclusion_proof(leaf, index, size, proof)
    return found is not None and _is_hash(root) and found == bytes(root)


def verify_consistency(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows that the tree of ``n`` leaves with root ``root_n`` extends the
    tree of ``m`` leaves with root ``root_m`` (RFC 9162 §2.1.4.2).

    The trivial cases: ``m == n`` needs equal roots and an empty proof; ``m == 0`` (every tree
    extends the empty one) needs an empty proof."""
    if not 0 <= m <= n or not all(_is_hash(p) for p in proof):
        return False
    if m == n:
        return not proof and _is_hash(root_m) and bytes(root_m) == bytes(root_n)
    if m == 0:
        return not proof
    if not proof or not _is_hash(root_m) or not _is_hash(root_n):
        return False
    path = [bytes(p) for p in proof]
    if m & (m - 1) == 0:  # m is a power of two: the old root is itself a node of the new tree
        path.insert(0, bytes(root_m))
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for value in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first = node_hash(value, first)
            second = node_hash(value, second)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            second = node_hash(second, value)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first == bytes(root_m) and second == bytes(root_n)


# --- canonical event bytes ----------------------------------------------------------------------

_TIMESTAMP_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
_TIMESTAMP_START = len(_TIMESTAMP_PREFIX)
_LEAF_MAGIC = _LEAF + CANONICAL_MAGIC
_pack = struct.pack


def _timestamp_bytes(state: bytes) -> bytes:
    if state.startswith(_TIMESTAMP_PREFIX):
        end = state.find(b'"', _TIMESTAMP_START)
        if end != -1:
            stamp = state[_TIMESTAMP_START:end]
            if b"\\" not in stamp:
                return stamp
    try:
        value = json.loads(state)
        data = value["timestamp"]["_data_"]
    except (ValueError, TypeError, KeyError, IndexError):
        return b""
    return data.encode("utf-8") if isinstance(data, str) else b""


def event_timestamp(state: bytes) -> str:
    """The event's time as stored: the ``_data_`` string of the state's ``"timestamp"`` member.

    The rule, exactly (an independent verifier must follow it): when the state begins with
    the bytes ``{"timestamp":{"_type_":"datetime_iso","_data_":"`` and a ``"`` follows with no
    backslash before it, the timestamp is the bytes between them (this is how the service's
    transcoder writes every event). Otherwise the state is parsed as JSON and the timestamp is
    ``state["timestamp"]["_data_"]`` in UTF-8 when that is a string; failing that, empty.
    """
    return _timestamp_bytes(state).decode("utf-8", "replace")


def _id_bytes(originator_id: UUID | bytes | str) -> bytes:
    if isinstance(originator_id, UUID):
        return originator_id.bytes
    if isinstance(originator_id, bytes | bytearray | memoryview):
        raw = bytes(originator_id)
        if len(raw) != 16:
            raise ValueError("an originator id is 16 bytes")
        return raw
    return UUID(originator_id).bytes


def _topic_field(topic: str) -> bytes:
    encoded = topic.encode("utf-8")
    return _pack(">I", len(encoded)) + encoded


def _frame(originator: bytes, version: int, topic_field: bytes, state: bytes) -> bytes:
    stamp = _timestamp_bytes(state)
    return b"".join(
        (
            CANONICAL_MAGIC,
            originator,
            _pack(">Q", version),
            topic_field,
            _pack(">I", len(stamp)),
            stamp,
            _pack(">I", len(state)),
            state,
        )
    )


def canonical_event_bytes(
    originator_id: UUID | bytes | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """One stored event as the bytes its leaf hashes (docs/audit.md, "Canonical bytes")::

        "KT1"                                 3 bytes, the format's version
        originator id                         16 bytes (the UUID's bytes)
        originator version                    8 bytes, unsigned big-endian
        len(topic)     || topic               4 bytes big-endian || UTF-8
        len(timestamp) || timestamp           4 bytes big-endian || ISO 8601 text, as stored
        len(state)     || state               4 bytes big-endian || the stored bytes, as stored

    The originator id may be given as a UUID, its 16 bytes, or its text (hex, with or without
    hyphens). The timestamp is read from the state (:func:`event_timestamp`)."""
    return _frame(_id_bytes(originator_id), originator_version, _topic_field(topic), state)


def event_leaf_hash(
    originator_id: UUID | bytes | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """``leaf_hash(canonical_event_bytes(...))``."""
    return leaf_hash(canonical_event_bytes(originator_id, originator_version, topic, state))


def originator_bytes(originator_id: UUID | bytes | str) -> bytes:
    """An originator id's 16 bytes, from a UUID, its bytes, or its text (hex, hyphens or not)."""
    if type(originator_id) is bytes and len(originator_id) == 16:
        return originator_id
    if isinstance(originator_id, UUID):
        return originator_id.bytes
    if isinstance(originator_id, str) and len(originator_id) == 32:  # hex, as SQLite keeps it
        return bytes.fromhex(originator_id)
    return _id_bytes(originator_id)


class EventHasher:
    """``event_leaf_hash`` for a stream of events (the same bytes; topics encoded once)."""

    __slots__ = ("_topics",)

    def __init__(self) -> None:
        self._topics: dict[str, bytes] = {}

    def __call__(
        self, originator_id: UUID | bytes | str, originator_version: int, topic: str, state: bytes
    ) -> bytes:
        return self.leaf(originator_bytes(originator_id), originator_version, topic, state)

    def leaf(self, originator: bytes, originator_version: int, topic: str, state: bytes) -> bytes:
        """The leaf hash, given the originator id's 16 bytes (``originator_bytes``)."""
        if len(originator) != 16:
            raise ValueError("an originator id is 16 bytes")
        field = self._topics.get(topic)
        if field is None:
            field = self._topics[topic] = _topic_field(topic)
        # The usual state, inline (``_frame`` with ``_timestamp_bytes``'s first rule).
        if state.startswith(_TIMESTAMP_PREFIX):
            end = state.find(b'"', _TIMESTAMP_START)
            if end != -1:
                stamp = state[_TIMESTAMP_START:end]
                if b"\\" not in stamp:
                    return _sha256(
                        b"".join(
                            (
                                _LEAF_MAGIC,
                                originator,
                                _pack(">Q", originator_version),
                                field,
                                _pack(">I", len(stamp)),
                                stamp,
                                _pack(">I", len(state)),
                                state,
                            )
                        )
                    ).digest()
        return _sha256(_LEAF + _frame(originator, originator_version, field, state)).digest()


def leaf_hashes(
    rows: Iterable[tuple[UUID | bytes | str, int, str, bytes]],
) -> list[bytes]:
    """The leaf hash of each ``(originator_id, version, topic, state)``."""
    hasher = EventHasher()
    return [hasher(*row) for row in rows]


# --- checkpoints --------------------------------------------------------------------------------


def _checkpoint_time(time: datetime) -> str:
    if time.tzinfo is None or time.utcoffset() is None:
        raise ValueError("a checkpoint's time must carry its time zone")
    return time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def checkpoint_body(origin: str, size: int, root: bytes, time: datetime) -> bytes:
    """The signed text of a checkpoint (after C2SP's tlog-checkpoint note body)::

    <origin>\\n<size in decimal>\\n<base64 of the root>\\n<time, UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ>\\n
    """
    if not origin or "\n" in origin or origin != origin.strip():
        raise ValueError("a checkpoint's origin is one non-empty line without outer spaces")
    if size < 0:
        raise ValueError("a tree size is not negative")
    if not _is_hash(root):
        raise ValueError("a root is a 32-byte SHA-256 hash")
    encoded = base64.b64encode(bytes(root)).decode("ascii")
    return f"{origin}\n{size}\n{encoded}\n{_checkpoint_time(time)}\n".encode()


def parse_checkpoint_body(body: bytes) -> tuple[str, int, bytes, datetime]:
    """``(origin, size, root, time)`` from a checkpoint's text; ValueError if it is not one
    that ``checkpoint_body`` would write."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("a checkpoint is UTF-8 text") from None
    lines = text.split("\n")
    if len(lines) != 5 or lines[4] != "":
        raise ValueError("a checkpoint has exactly four lines, each ending in a newline")
    origin, size_text, root_text, time_text = lines[:4]
    if not (size_text.isascii() and size_text.isdigit()) or (
        len(size_text) > 1 and size_text[0] == "0"
    ):
        raise ValueError("a checkpoint's size is a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
        time = datetime.strptime(time_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (binascii.Error, ValueError):
        raise ValueError("a checkpoint's root or time is malformed") from None
    size = int(size_text)
    if checkpoint_body(origin, size, root, time) != body:
        raise ValueError("not a checkpoint in its canonical form")
    return origin, size, root, time


# --- leaf receipts ----------------------------------------------------------------------------

LEAF_RECEIPT_MAGIC = b"KT1-leaf\n"
_POSITION = struct.Struct(">Q")


def leaf_receipt_body(position: int, leaf: bytes) -> bytes:
    """The bytes the writer signs for every leaf it appends (like a Certificate Transparency
    SCT, a signed promise per entry): ``KT1-leaf\\n`` ‖ position (u64, big-endian) ‖ leaf hash.

    A checkpoint signs a root, which proves that something changed but not where: a
    database administrator who changes an event and rebuilds the tree to match leaves only the
    signed roots to contradict him. The per-leaf signature binds one leaf hash to one position
    with the same key, so the verifier names the exact event whose bytes no longer match what
    was appended, and the positions after the last checkpoint are covered too."""
    if position < 0:
        raise ValueError("a leaf position is not negative")
    if not _is_hash(leaf):
        raise ValueError("a leaf hash is a 32-byte SHA-256 hash")
    return LEAF_RECEIPT_MAGIC + _POSITION.pack(position) + bytes(leaf)
