"""The offline verifier: re-check the audit log from the stored events alone.

It trusts nothing the writer (``infrastructure.audit.log``) computed. Given the stored events in
notification order, it recomputes every leaf hash (``merkle.canonical_event_bytes``) and the
tree's root at the size of every checkpoint, checks each checkpoint's Ed25519 signature over
``merkle.checkpoint_body``, and reports the first position where the history departs from
what was signed:

- With the writer's stored leaves (``audit_leaves``) beside the events (from any position on:
  ``khenthuong audit verify`` passes those after the last checkpoint, and all from the last
  good checkpoint when one fails), the first position where the two disagree is found
  exactly, and named: an event changed (same event, other bytes), deleted, inserted (forged),
  or two events swapped. When the checkpoints still verify there, the leaves table is what was
  altered, and the report says so.
- When the leaves agree with the events, each compared leaf's signature (made by the writer
  with the checkpoints' key when it appended the leaf: ``merkle.leaf_receipt_body``) is
  checked against the leaf hash recomputed from the event. Someone who changed an event and
  rewrote the tree to match it cannot sign the new leaf: the first leaf whose signature fails
  (or is missing where the leaves before it are signed) names the event exactly. This also
  covers the events after the last checkpoint, which no signed root covers yet.
- Only when the leaves have no signatures to check (a tree rebuilt without the key) and a
  checkpoint fails, the change is known to lie after the last checkpoint that still verifies
  and within the first that does not: the report gives that range of positions and the
  dossiers (aggregates) with events in it.

``verify_export`` checks a file written by ``khenthuong audit export`` with nothing but the
public key: the checkpoint's signature, and each event's inclusion proof against its root.

The module reads nothing itself (no database code): the caller streams the events and leaves
in, so the same code checks a live store, a backup, or a copy on an auditor's machine. It uses
only ``application.audit.merkle`` (stdlib hashing) and the ``cryptography`` library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from application.audit.merkle import (
    TreeBuilder,
    checkpoint_body,
    event_leaf_hash,
    leaf_receipt_body,
    verify_inclusion,
)

__all__ = [
    "EXPORT_FORMAT",
    "Checkpoint",
    "CheckpointFormatError",
    "CheckpointResult",
    "ExportReport",
    "Finding",
    "PublicKeyError",
    "StoredEvent",
    "StoredLeaf",
    "VerifyReport",
    "b64",
    "checkpoint_time",
    "event_line",
    "key_id",
    "load_public_key",
    "public_key_raw",
    "verify_export",
    "verify_log",
]

EXPORT_FORMAT = "khenthuong-audit-export/1"
KEY_ID_LENGTH = 16


# --- values -----------------------------------------------------------------------------------


class StoredEvent(NamedTuple):
    """One row of the events table, as stored (``state`` byte for byte)."""

    notification_id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes

    def leaf(self) -> bytes:
        """RFC 9162 leaf hash of the event's canonical bytes."""
        return event_leaf_hash(self.originator_id, self.originator_version, self.topic, self.state)


class StoredLeaf(NamedTuple):
    """One row of the writer's ``audit_leaves`` table."""

    position: int
    notification_id: int
    originator_id: UUID
    originator_version: int
    leaf_hash: bytes
    signature: bytes | None = None
    """Ed25519 over ``merkle.leaf_receipt_body(position, leaf_hash)``, made when appended."""


class CheckpointFormatError(ValueError):
    """A checkpoint (JSON) that cannot be read."""


class PublicKeyError(ValueError):
    """A public key that is neither PEM nor 32 raw bytes in base64."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise CheckpointFormatError(f"{what} phải là chuỗi base64")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise CheckpointFormatError(f"{what} không phải base64 hợp lệ") from None


def checkpoint_time(moment: datetime) -> datetime:
    """A checkpoint's time: in UTC (its text and JSON carry it to the microsecond)."""
    return moment.astimezone(UTC)


def _time_text(moment: datetime) -> str:
    """As in the signed text: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log named ``origin`` had ``size`` leaves with root ``root``."""

    origin: str
    size: int
    root: bytes
    time: datetime
    key_id: str
    signature: bytes

    def body(self) -> bytes:
        """The signed text (``merkle.checkpoint_body``)."""
        return checkpoint_body(self.origin, self.size, self.root, self.time)

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "size": self.size,
            "root": b64(self.root),
            "time": _time_text(self.time),
            "key_id": self.key_id,
            "signature": b64(self.signature),
            "signed_text": self.body().decode("utf-8"),
        }

    @classmethod
    def from_json(cls, data: Any) -> Checkpoint:
        """Read a checkpoint as served by ``/du-lieu-mo/checkpoints/latest`` (``signed_text``,
        if present, is ignored: the text is rebuilt from the fields)."""
        if not isinstance(data, dict):
            raise CheckpointFormatError("điểm kiểm tra phải là một đối tượng JSON")
        missing = [
            k for k in ("origin", "size", "root", "time", "key_id", "signature") if k not in data
        ]
        if missing:
            raise CheckpointFormatError(f"điểm kiểm tra thiếu trường: {', '.join(missing)}")
        size = data["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise CheckpointFormatError("size phải là số nguyên không âm")
        if not isinstance(data["origin"], str) or not isinstance(data["key_id"], str):
            raise CheckpointFormatError("origin và key_id phải là chuỗi")
        try:
            moment = datetime.fromisoformat(str(data["time"]))
        except ValueError:
            raise CheckpointFormatError("time phải là thời điểm ISO 8601 (UTC)") from None
        if moment.tzinfo is None:
            raise CheckpointFormatError("time phải có múi giờ (UTC, hậu tố Z)")
        root = _unb64(data["root"], "root")
        if len(root) != hashlib.sha256().digest_size:
            raise CheckpointFormatError("root phải là 32 byte (SHA-256)")
        return cls(
            origin=data["origin"],
            size=size,
            root=root,
            time=moment.astimezone(UTC),
            key_id=data["key_id"],
            signature=_unb64(data["signature"], "signature"),
        )


# --- keys -------------------------------------------------------------------------------------


def public_key_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw 32-byte public key."""
    return hashlib.sha256(public_key_raw(key)).hexdigest()[:KEY_ID_LENGTH]


def load_public_key(data: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (``-----BEGIN PUBLIC KEY-----``) or 32 raw bytes in
    base64, as served at ``/du-lieu-mo/checkpoints/public-key``."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    text = raw.strip()
    if text.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(text)
        except ValueError:
            raise PublicKeyError("khóa công khai PEM không đọc được") from None
        if not isinstance(key, Ed25519PublicKey):
            raise PublicKeyError("khóa công khai không phải Ed25519")
        return key
    try:
        decoded = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise PublicKeyError("khóa công khai phải là PEM hoặc 32 byte dạng base64") from None
    if len(decoded) != 32:
        raise PublicKeyError("khóa công khai Ed25519 dạng base64 phải dài 32 byte")
    return Ed25519PublicKey.from_public_bytes(decoded)


def _signature_ok(checkpoint: Checkpoint, key: Ed25519PublicKey) -> bool:
    try:
        key.verify(checkpoint.signature, checkpoint.body())
    except InvalidSignature:
        return False
    return True


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem. ``position`` is the leaf index (0-based) where the history departs from
    what was recorded or signed; ``first``/``last`` bound it when only a range is known."""

    kind: str
    """changed, deleted, inserted, swapped, replaced, reordered, leaves_altered, rewritten,
    unsigned, missing, range, root, signature, unknown_key, origin, bad_line"""
    message: str
    position: int | None = None
    originator_id: UUID | None = None
    originator_version: int | None = None
    notification_id: int | None = None
    first: int | None = None
    last: int | None = None
    originators: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: Checkpoint
    signature_ok: bool
    key_known: bool
    root_ok: bool
    computed_root: bytes | None
    """None when the events are fewer than the checkpoint's size."""

    @property
    def ok(self) -> bool:
        return self.signature_ok and self.root_ok


@dataclass
class VerifyReport:
    events: int = 0
    leaves: int | None = None
    signed_leaves: int = 0
    """Compared leaves whose signature was checked (up to the first that failed)."""
    unsigned_leaves: int = 0
    """Compared leaves without a signature (written without the key)."""
    checkpoints: list[CheckpointResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad(self) -> Finding | None:
        """The finding at the lowest position (the range between the last checkpoint that
        verifies and the first that does not counts from its start); else the first one."""
        placed = [f for f in self.findings if f.position is not None]
        if placed:  # at one position: an exact finding first, then one naming its dossier
            return min(
                placed,
                key=lambda f: (
                    f.position or 0,
                    f.kind == "unsigned",
                    f.kind == "range",
                    f.originator_id is None,
                ),
            )
        return self.findings[0] if self.findings else None


# --- recomputing the tree ---------------------------------------------------------------------


Identity = tuple[UUID, int]


@dataclass
class _Mismatch:
    """The first position where the stored leaves and the recomputed ones differ."""

    position: int
    event: StoredEvent | None
    leaf: StoredLeaf | None
    event_found_at_leaf: int | None = None  # where the event's identity sits among the leaves
    leaf_found_at_event: int | None = None  # where the leaf's event sits among the events

    def look(self, position: int, event: StoredEvent | None, leaf: StoredLeaf | None) -> None:
        if (
            self.event is not None
            and leaf is not None
            and self.event_found_at_leaf is None
            and (leaf.originator_id, leaf.originator_version) == _identity(self.event)
        ):
            self.event_found_at_leaf = position
        if (
            self.leaf is not None
            and event is not None
            and self.leaf_found_at_event is None
            and _identity(event) == (self.leaf.originator_id, self.leaf.originator_version)
        ):
            self.leaf_found_at_event = position


def _about(kind: str, message: str, event: StoredEvent | StoredLeaf, **more: Any) -> Finding:
    """A finding at an event (or a stored leaf): its position, originator and version."""
    position = more.pop("position", getattr(event, "position", None))
    return Finding(
        kind,
        message,
        position=position,
        originator_id=event.originator_id,
        originator_version=event.originator_version,
        notification_id=event.notification_id,
        **more,
    )


def _identity(event: StoredEvent) -> Identity:
    return (event.originator_id, event.originator_version)


def _who(originator_id: UUID | None, version: int | None) -> str:
    if originator_id is None:
        return "không rõ"
    return f"{originator_id} phiên bản {version}"


class _Walk:
    """One pass over the events (and leaves), checking checkpoints as their sizes are reached."""

    def __init__(
        self,
        checkpoints: Sequence[Checkpoint],
        keys: Mapping[str, Ed25519PublicKey],
        origin: str | None,
    ) -> None:
        self.report = VerifyReport()
        self.frontier = TreeBuilder()
        self.pending = deque(sorted(checkpoints, key=lambda c: (c.size, c.time)))
        self.keys = keys
        self.origin = origin
        self.mismatch: _Mismatch | None = None
        self.last_good_size = 0  # the largest signed size whose root verified so far
        self.interval: set[UUID] = set()  # originators since the last good checkpoint
        self.range_found = False
        self.range_finding: Finding | None = None
        self.good_time: datetime | None = None  # of the checkpoint at last_good_size
        self.leaves_span = (0, 0)  # the positions compared with stored leaves so far

    def check_signature(self, checkpoint: Checkpoint) -> tuple[bool, bool]:
        key = self.keys.get(checkpoint.key_id)
        if key is None:
            self.report.findings.append(
                Finding(
                    "unknown_key",
                    f"Điểm kiểm tra cỡ {checkpoint.size} ({_time_text(checkpoint.time)}) được ký "
                    f"bằng khóa {checkpoint.key_id}, không phải khóa công khai đã cho.",
                )
            )
            return False, False
        if self.origin is not None and checkpoint.origin != self.origin:
            self.report.findings.append(
                Finding(
                    "origin",
                    f"Điểm kiểm tra cỡ {checkpoint.size} thuộc nhật ký «{checkpoint.origin}», "
                    f"không phải «{self.origin}».",
                )
            )
        if not _signature_ok(checkpoint, key):
            self.report.findings.append(
                Finding(
                    "signature",
                    f"Chữ ký của điểm kiểm tra cỡ {checkpoint.size} "
                    f"({_time_text(checkpoint.time)}) không hợp lệ: điểm kiểm tra đã bị sửa "
                    "hoặc giả mạo.",
                )
            )
            return False, True
        return True, True

    def reached(self, size: int) -> None:
        """Check every checkpoint of exactly ``size`` leaves against the recomputed root."""
        while self.pending and self.pending[0].size == size:
            checkpoint = self.pending.popleft()
            signed, known = self.check_signature(checkpoint)
            computed = self.frontier.root()
            root_ok = computed == checkpoint.root
            self.report.checkpoints.append(
                CheckpointResult(checkpoint, signed, known, root_ok, computed)
            )
            if not signed:
                continue  # a checkpoint that is not genuinely signed proves nothing either way
            if root_ok:
                if not self.range_found:
                    self.last_good_size = max(self.last_good_size, size)
                    self.good_time = checkpoint.time
                    self.interval.clear()
                continue
            self.report.findings.append(
                Finding(
                    "root",
                    f"Gốc cây tính lại từ {size} sự kiện đầu tiên khác gốc đã ký ở điểm kiểm tra "
                    f"cỡ {size} ({_time_text(checkpoint.time)}).",
                )
            )
            if not self.range_found:
                self.range_found = True
                self.range_finding = self._range(checkpoint)

    def _range(self, bad: Checkpoint) -> Finding:
        """The change lies after the last checkpoint that verifies, within the first that
        does not: name the positions and the aggregates with events there."""
        first, last = self.last_good_size, bad.size - 1
        if self.good_time is None:
            since = "chưa có điểm kiểm tra nào trước đó còn khớp"
        else:
            since = (
                f"điểm kiểm tra cỡ {self.last_good_size} ({_time_text(self.good_time)}) còn khớp"
            )
        why = (
            " Cây nhật ký lưu trữ khớp với các sự kiện: cây đã bị dựng lại cho khớp với sự kiện "
            "bị sửa, nên chỉ xác định được khoảng."
            if self.leaves_span[0] <= first and self.leaves_span[1] >= bad.size
            else " Không có đủ cây lưu trữ để so từng lá, nên chỉ xác định được khoảng."
        )
        return Finding(
            "range",
            f"Lịch sử đã bị thay đổi trong khoảng vị trí {first}–{last}: {since}, điểm kiểm tra "
            f"cỡ {bad.size} ({_time_text(bad.time)}) thì không.{why}",
            position=first,
            first=first,
            last=last,
            originators=tuple(sorted(self.interval, key=str)),
        )

    def missing(self, count: int) -> None:
        """Checkpoints larger than the events: events were removed from the end."""
        for checkpoint in self.pending:
            signed, known = self.check_signature(checkpoint)
            self.report.checkpoints.append(
                CheckpointResult(checkpoint, signed, known, root_ok=False, computed_root=None)
            )
            if signed:
                self.report.findings.append(
                    Finding(
                        "missing",
                        f"Điểm kiểm tra cỡ {checkpoint.size} ({_time_text(checkpoint.time)}) "
                        f"phủ {checkpoint.size} sự kiện nhưng kho chỉ còn {count}: thiếu sự kiện "
                        f"từ vị trí {count}.",
                        position=count,
                    )
                )
        self.pending.clear()


def _leaf_signature_ok(
    keys: Sequence[Ed25519PublicKey], position: int, leaf: bytes, signature: bytes
) -> bool:
    body = leaf_receipt_body(position, leaf)
    for key in keys:
        try:
            key.verify(signature, body)
        except InvalidSignature:
            continue
        return True
    return False


class _LeafSignatures:
    """Checks each compared leaf's signature against the leaf hash recomputed from its event,
    in order, until the first that fails; batches are spread over threads (the library
    releases the GIL while it verifies)."""

    BATCH = 4_096

    def __init__(self, keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.keys = list(keys.values())
        self.pending: list[tuple[int, bytes, bytes | None, StoredEvent]] = []
        self.finding: Finding | None = None
        self.signed = 0
        self.unsigned = 0
        self.first_unsigned: StoredEvent | None = None
        self.first_unsigned_at = 0
        self._pool: ThreadPoolExecutor | None = None

    @property
    def active(self) -> bool:
        return bool(self.keys) and self.finding is None

    def add(self, position: int, leaf: bytes, signature: bytes | None, event: StoredEvent) -> None:
        self.pending.append((position, leaf, signature, event))
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch or self.finding is not None:
            return
        signed = [(p, leaf, sig) for p, leaf, sig, _ in batch if sig is not None]
        results = iter(self._verify(signed))
        for position, _leaf, signature, event in batch:
            if signature is None:
                self.unsigned += 1
                if self.first_unsigned is None:
                    self.first_unsigned, self.first_unsigned_at = event, position
                continue
            self.signed += 1
            if not next(results):
                self.finding = _about(
                    "rewritten",
                    f"Sự kiện ở vị trí {position} ({_who(event.originator_id, event.originator_version)}"
                    f", số thứ tự {event.notification_id}, {event.topic}) đã bị sửa: chữ ký "
                    "của lá, ký khi sự kiện được ghi vào cây, không khớp với nội dung đang lưu "
                    "(cây lưu trữ đã bị dựng lại cho khớp với sự kiện bị sửa).",
                    event,
                    position=position,
                )
                return

    def _verify(self, items: Sequence[tuple[int, bytes, bytes]]) -> list[bool]:
        keys = self.keys

        def check(part: Sequence[tuple[int, bytes, bytes]]) -> list[bool]:
            return [_leaf_signature_ok(keys, p, leaf, sig) for p, leaf, sig in part]

        if len(items) < 64:
            return check(items)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(2, thread_name_prefix="khenthuong-verify-leaf")
        half = len(items) // 2
        parts = list(self._pool.map(check, (items[:half], items[half:])))
        return parts[0] + parts[1]

    def close(self) -> Finding | None:
        """Check what is left; the finding at the first leaf that fails, if any. A leaf without
        a signature among signed ones is one too: its signature was removed."""
        self.flush()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if self.signed and self.first_unsigned is not None:
            event, position = self.first_unsigned, self.first_unsigned_at
            unsigned = _about(
                "unsigned",
                f"Lá ở vị trí {position} ({_who(event.originator_id, event.originator_version)}, "
                f"số thứ tự {event.notification_id}) không có chữ ký, trong khi các lá khác có: "
                f"chữ ký đã bị xóa ({self.unsigned} lá không có chữ ký).",
                event,
                position=position,
            )
            if self.finding is None or position < (self.finding.position or 0):
                self.finding = unsigned
        return self.finding


def verify_log(
    events: Iterable[StoredEvent],
    checkpoints: Sequence[Checkpoint],
    keys: Mapping[str, Ed25519PublicKey],
    leaves: Iterable[StoredLeaf] | None = None,
    *,
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
    originators_between: Callable[[int, int], Iterable[UUID]] | None = None,
) -> VerifyReport:
    """Recompute the tree from ``events`` (in notification order) and check every checkpoint.

    ``keys`` maps key ids to public keys (``key_id``); a checkpoint by another key is a
    finding. ``leaves`` (the writer's stored leaves, by position, from any position on: the
    first one says where the comparison starts), when given, localise a change exactly: by
    comparing their hashes, then by checking their signatures (by any of ``keys``) against
    the hashes recomputed from the events.
    ``origin``, when given, is the log name every checkpoint must carry.
    ``progress`` is called with the number of events read, every 100,000.
    ``originators_between(first, last)`` names the aggregates with events at those positions
    when only a range is known (a store reads them again); without it, the originators of
    each stretch between checkpoints are kept in memory as the events pass.
    """
    walk = _Walk(checkpoints, keys, origin)
    signatures = _LeafSignatures(keys)
    leaf_iter: Iterator[StoredLeaf] | None = iter(leaves) if leaves is not None else None
    leaf = next(leaf_iter, None) if leaf_iter is not None else None
    start = leaf.position if leaf is not None else 0  # where the comparison begins
    leaf_count = 0
    count = 0
    walk.reached(0)
    append = walk.frontier.append
    collect = originators_between is None
    interval = walk.interval
    next_size = walk.pending[0].size if walk.pending else -1
    for event in events:
        digest = event.leaf()
        if leaf is not None and count >= start:
            leaf_count += 1
            if walk.mismatch is not None:
                walk.mismatch.look(count, event, leaf)
            elif leaf.leaf_hash != digest or leaf.position != count:
                # (the hash covers the originator and version: equal hashes, same event)
                walk.mismatch = _Mismatch(count, event, leaf)
            elif signatures.active:
                signatures.add(count, digest, leaf.signature, event)
            leaf = next(leaf_iter, None) if leaf_iter is not None else None
        elif walk.mismatch is not None:
            walk.mismatch.look(count, event, None)
        append(digest)
        if collect and not walk.range_found:
            interval.add(event.originator_id)
        count += 1
        if count == next_size:
            walk.leaves_span = (start, start + leaf_count)
            walk.reached(count)
            next_size = walk.pending[0].size if walk.pending else -1
        if progress is not None and count % 100_000 == 0:
            progress(count)
    position = max(count, start)
    while leaf is not None:  # stored leaves beyond the events: events removed from the end
        if walk.mismatch is None:
            walk.mismatch = _Mismatch(position, None, leaf)
        else:
            walk.mismatch.look(position, None, leaf)
        leaf_count += 1
        position += 1
        leaf = next(leaf_iter, None) if leaf_iter is not None else None
    walk.missing(count)
    report = walk.report
    report.events = count
    report.leaves = leaf_count if leaves is not None else None
    exact: list[int] = []
    if walk.mismatch is not None:
        report.findings.append(_classify(walk.mismatch, report))
        exact.append(walk.mismatch.position)
    signed_finding = signatures.close()
    report.signed_leaves, report.unsigned_leaves = signatures.signed, signatures.unsigned
    if signed_finding is not None:
        report.findings.append(signed_finding)
        exact.append(signed_finding.position or 0)
    found = walk.range_finding
    if found is not None and (not exact or min(exact) > (found.last or 0)):
        # no compared leaf explains the failing checkpoint: only the range is known
        if signatures.unsigned and not signatures.signed:
            found = replace(
                found,
                message=found.message
                + " Các lá trong khoảng không có chữ ký để đối chiếu (cây được dựng lại không "
                "có khóa ký).",
            )
        if originators_between is not None and found.first is not None and found.last is not None:
            named = originators_between(found.first, found.last)
            found = replace(found, originators=tuple(sorted(set(named), key=str)))
        report.findings.append(found)
    return report


def _signed_root_ok_at(report: VerifyReport, position: int) -> bool:
    """A genuinely signed checkpoint covering ``position`` matched the recomputed root."""
    return any(
        r.signature_ok and r.root_ok and r.checkpoint.size > position for r in report.checkpoints
    )


def _classify(m: _Mismatch, report: VerifyReport) -> Finding:
    """Name what happened at the first position where the leaves and the events disagree."""
    p, event, leaf = m.position, m.event, m.leaf
    assert leaf is not None  # a mismatch is always against a stored leaf
    recorded = _who(leaf.originator_id, leaf.originator_version)
    if event is None:
        return _about(
            "deleted",
            f"Sự kiện ở vị trí {p} ({recorded}, số thứ tự {leaf.notification_id}) đã có trong "
            "cây nhật ký nhưng không còn trong kho: sự kiện đã bị xóa.",
            leaf,
            position=p,
        )
    now = _who(event.originator_id, event.originator_version)
    both = tuple(dict.fromkeys((event.originator_id, leaf.originator_id)))
    at_leaf, at_event = m.event_found_at_leaf, m.leaf_found_at_event
    if _identity(event) == (leaf.originator_id, leaf.originator_version):
        if _signed_root_ok_at(report, p):
            return _about(
                "leaves_altered",
                f"Lá ở vị trí {p} trong bảng cây nhật ký (audit_leaves) khác mã băm của sự kiện "
                f"({now}), nhưng sự kiện khớp với điểm kiểm tra đã ký: bảng cây nhật ký đã bị "
                "sửa, không phải sự kiện.",
                event,
                position=p,
            )
        return _about(
            "changed",
            f"Sự kiện ở vị trí {p} ({now}, số thứ tự {event.notification_id}, {event.topic}) "
            "đã bị sửa: mã băm của nội dung đang lưu khác mã băm đã ghi vào cây nhật ký.",
            event,
            position=p,
        )
    if at_event is None and at_leaf == p + 1:
        return _about(
            "deleted",
            f"Sự kiện ở vị trí {p} ({recorded}, số thứ tự {leaf.notification_id}) đã bị xóa "
            "khỏi kho.",
            leaf,
            position=p,
        )
    if at_leaf is None and at_event == p + 1:
        return _about(
            "inserted",
            f"Sự kiện ở vị trí {p} ({now}, số thứ tự {event.notification_id}, {event.topic}) "
            "không có trong cây nhật ký: sự kiện đã bị chèn thêm (giả mạo).",
            event,
            position=p,
        )
    if at_leaf is not None and at_leaf == at_event:
        return _about(
            "swapped",
            f"Thứ tự sự kiện đã bị tráo: vị trí {p} nay là {now} (trước ở vị trí {at_leaf}), "
            f"vị trí {at_leaf} nay là {recorded}.",
            event,
            position=p,
            first=p,
            last=at_leaf,
            originators=both,
        )
    if at_leaf is None and at_event is None:
        return _about(
            "replaced",
            f"Sự kiện ở vị trí {p} ({recorded}) đã bị thay bằng một sự kiện khác ({now}).",
            event,
            position=p,
            originators=both,
        )
    return _about(
        "reordered",
        f"Thứ tự sự kiện đã bị thay đổi từ vị trí {p}: ở đó nay là {now}, cây nhật ký ghi "
        f"{recorded}.",
        event,
        position=p,
        originators=both,
    )


# --- exported files ---------------------------------------------------------------------------


def event_line(event: StoredEvent, position: int, proof: Sequence[bytes]) -> dict[str, Any]:
    """One event of an export: its stored fields, its leaf position and inclusion proof."""
    return {
        "type": "event",
        "position": position,
        "notification_id": event.notification_id,
        "originator_id": str(event.originator_id),
        "originator_version": event.originator_version,
        "topic": event.topic,
        "state": b64(event.state),
        "leaf_hash": b64(event.leaf()),
        "proof": [b64(node) for node in proof],
    }


@dataclass
class ExportReport:
    checkpoint: Checkpoint | None = None
    events: int = 0
    originators: set[UUID] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings and self.checkpoint is not None


def _export_event(
    data: dict[str, Any], line: int, checkpoint: Checkpoint
) -> tuple[Finding | None, UUID | None]:
    """Check one event line: its leaf, recomputed, is included at its position."""
    try:
        event = StoredEvent(
            notification_id=int(data["notification_id"]),
            originator_id=UUID(str(data["originator_id"])),
            originator_version=int(data["originator_version"]),
            topic=str(data["topic"]),
            state=_unb64(data["state"], "state"),
        )
        position = int(data["position"])
        proof = [_unb64(node, "proof") for node in data["proof"]]
    except (KeyError, TypeError, ValueError) as error:
        return Finding("bad_line", f"Dòng {line}: không đọc được sự kiện ({error})."), None
    where = (
        f"Dòng {line}, vị trí {position} ({_who(event.originator_id, event.originator_version)})"
    )
    if not 0 <= position < checkpoint.size:
        message = f"{where}: vị trí ngoài cây cỡ {checkpoint.size}."
        return _about("bad_line", message, event, position=position), None
    if not verify_inclusion(event.leaf(), position, checkpoint.size, proof, checkpoint.root):
        message = (
            f"{where}: bằng chứng thuộc cây không khớp với gốc đã ký: sự kiện hoặc bằng chứng "
            "đã bị sửa."
        )
        return _about("changed", message, event, position=position), None
    return None, event.originator_id


def verify_export(lines: Iterable[str], key: Ed25519PublicKey) -> ExportReport:
    """Check an exported file (JSON lines) with nothing but the log's public key.

    The first line holds the checkpoint, which must be signed by ``key``; each event line must
    prove its inclusion at its position in that checkpoint's tree, no position twice; the last
    line gives the number of event lines (a cut file fails)."""
    report = ExportReport()
    seen: set[int] = set()
    declared: int | None = None
    event_lines = 0
    number = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            report.findings.append(Finding("bad_line", f"Dòng {number}: không phải JSON hợp lệ."))
            if number == 1:
                break
            continue
        kind = data.get("type") if isinstance(data, dict) else None
        if number == 1:
            if not _export_header(data if kind == "checkpoint" else None, key, report):
                break
            continue
        if kind == "end" and declared is None:
            value = data.get("events")
            declared = value if isinstance(value, int) and not isinstance(value, bool) else -1
            continue
        if kind != "event" or declared is not None:
            report.findings.append(Finding("bad_line", f"Dòng {number}: dòng không mong đợi."))
            continue
        event_lines += 1
        assert report.checkpoint is not None
        finding, originator = _export_event(data, number, report.checkpoint)
        position = data.get("position")
        if finding is None and position in seen:
            finding = Finding("bad_line", f"Dòng {number}: vị trí {position} xuất hiện hai lần.")
        if finding is not None or originator is None:
            report.findings.append(finding or Finding("bad_line", f"Dòng {number}: lỗi."))
            continue
        seen.add(int(position))
        report.events += 1
        report.originators.add(originator)
    if report.checkpoint is None:
        if not report.findings:
            report.findings.append(Finding("bad_line", "Tệp trống: không có điểm kiểm tra."))
    elif declared is None:
        report.findings.append(
            Finding("bad_line", f"Tệp thiếu dòng kết thúc (sau dòng {number}): tệp đã bị cắt.")
        )
    elif declared != event_lines:
        report.findings.append(
            Finding(
                "bad_line",
                f"Dòng kết thúc ghi {declared} sự kiện nhưng tệp có {event_lines}: tệp đã bị "
                "thêm hoặc bớt dòng.",
            )
        )
    return report


def _export_header(data: Any, key: Ed25519PublicKey, report: ExportReport) -> bool:
    """The first line: the checkpoint, signed by ``key``."""
    if not isinstance(data, dict):
        report.findings.append(
            Finding("bad_line", "Dòng 1: dòng đầu phải là điểm kiểm tra đã ký (type: checkpoint).")
        )
        return False
    try:
        checkpoint = Checkpoint.from_json(data.get("checkpoint"))
    except CheckpointFormatError as error:
        report.findings.append(Finding("bad_line", f"Dòng 1: {error}."))
        return False
    if checkpoint.key_id != key_id(key) or not _signature_ok(checkpoint, key):
        report.findings.append(
            Finding(
                "signature",
                f"Chữ ký của điểm kiểm tra cỡ {checkpoint.size} trong tệp không hợp lệ với khóa "
                f"công khai đã cho (khóa {key_id(key)}).",
            )
        )
        return False
    report.checkpoint = checkpoint
    return True
