"""The audit log's writer: an RFC 9162 Merkle tree of every stored event, kept next to them.

``AuditLog`` follows the stored notification log — every topic, in notification order — and
appends each event's leaf hash (``merkle.EventHasher``: SHA-256 over ``0x00`` and the event's
canonical bytes) to two tables in the event store's database (SQLite or PostgreSQL; the
in-memory store keeps them in the same side database as its views):

``audit_leaves``  ``position`` (the leaf index: 0, 1, 2, … with no gaps), ``notification_id``
                  (unique), ``originator_id``, ``originator_version``, ``leaf_hash``,
                  ``signature`` (Ed25519 over ``merkle.leaf_receipt_body(position, leaf_hash)``
                  with the checkpoints' key; NULL only where the writer had no key)
``audit_nodes``   ``(level, idx, hash)``: the root of the complete subtree of leaves
                  ``[idx·2^level, (idx+1)·2^level)``, for every level ≥ 1 (level 0 is
                  ``audit_leaves.leaf_hash``)

A batch of events — its leaves, the nodes it completes, and the log's tracking position (the
views' tracking table, name ``audit_log``) — is written in one transaction, so each event is in
the tree exactly once, also across crashes: a batch that did not commit is read and applied
again. Leaves are read from the events table as plain tuples, hashed in Python, and written in
bulk (COPY on PostgreSQL, ``executemany`` on SQLite).

When the log has a signer (``infrastructure.bootstrap`` gives it the checkpoints' key), every
leaf is signed as it is appended, like a Certificate Transparency SCT: the signed checkpoints
prove that the history changed, the leaf signatures say where, even when the tree was rebuilt
to match a changed event, and they cover the events after the last checkpoint. Signing takes
about 45 µs a leaf; a large batch is signed in several threads (the library releases the GIL).

Every complete subtree being stored, the root of any size and every proof are a handful of
indexed reads (``merkle.subtree_nodes``, ``merkle.inclusion_proof``,
``merkle.consistency_proof`` over ``get_nodes``).
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking

from application.audit import merkle
from application.audit.merkle import (
    EMPTY_ROOT,
    EventHasher,
    Node,
    TreeBuilder,
    leaf_receipt_body,
    originator_bytes,
)
from application.audit.verifier import StoredLeaf
from application.projections.runner import (
    LogReader,
    LogRow,
    notifications_reader,
    read_ahead,
    rows_until,
)
from application.store import Store
from infrastructure.views.database import ViewDatabase, lock_key, quote

__all__ = [
    "LEAVES_TABLE",
    "NODES_TABLE",
    "TRACKING_NAME",
    "AuditLog",
    "AuditLogCorrupt",
    "AuditStats",
    "BeyondTree",
    "LeafSigner",
    "StoredLeaf",
]

LEAVES_TABLE = "audit_leaves"
NODES_TABLE = "audit_nodes"
TRACKING_NAME = "audit_log"
"""The audit log's name in the views' tracking table (and its lock's)."""
READ_CHUNK = 5_000
SQLITE_PARAMS = 400
"""Positions per ``IN (...)`` on SQLite (its limit on bound parameters is far above)."""


class BeyondTree(ValueError):
    """A position or size the tree has not reached (yet)."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


class AuditLogCorrupt(RuntimeError):
    """The stored tree contradicts itself (its tracking position and its leaves disagree, or a
    node is missing): someone changed the tables by hand. ``khenthuong audit verify`` says
    where."""


# PostgreSQL's binary COPY: a signature, then per row its field count and each field's length
# and bytes (big-endian), then -1.
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_COPY_TRAILER = struct.pack(">h", -1)
_LEAF_ROW = struct.Struct(">hiqiqi16siqi32s")
"""An ``audit_leaves`` row: its field count (6), then position, notification_id, originator_id
(uuid), originator_version, leaf_hash; the signature follows (``_signature_field``)."""
_NULL_FIELD = struct.pack(">i", -1)
_SIGNATURE_LENGTH = struct.pack(">i", 64)
SIGN_IN_THREADS_FROM = 256
"""Leaves in one chunk from which signing is spread over the CPU cores."""

LeafSigner = Callable[[], Callable[[bytes], bytes]]
"""Gives the signing function (the checkpoints' Ed25519 key, read or created on first use)."""
_NODE_ROW = struct.Struct(">hihiqi32s")
"""level (int2), idx, hash of an ``audit_nodes`` row."""


class _PositionMoved(Exception):
    """Another writer appended meanwhile: load the stored state again."""


@dataclass
class AuditStats:
    """Counters of this process's writer (metrics, ``projections run``)."""

    events: int = 0
    batches: int = 0
    errors: int = 0


@dataclass
class _State:
    position: int
    """The last notification id in the tree (0 when empty)."""
    builder: TreeBuilder


class AuditLog:
    """The Merkle tree of one event store: writing (``catch_up``) and reading (sizes, roots,
    leaves, proofs)."""

    def __init__(
        self, store: Store, *, batch_size: int = 50_000, signer: LeafSigner | None = None
    ) -> None:
        self.store = store
        self.batch_size = max(1, batch_size)
        self.signer = signer
        """Signs each appended leaf (``merkle.leaf_receipt_body``); None: leaves unsigned."""
        # The views' database gives the datastore, the dialect and the tracking table.
        self.database = ViewDatabase(store, [])
        self.dialect: str = self.database.dialect
        self.datastore: Any = self.database.datastore
        self.leaves_table = self.database.qualified(LEAVES_TABLE)
        self.nodes_table = self.database.qualified(NODES_TABLE)
        self._read: LogReader = self._log_reader()
        self._write_lock = threading.Lock()
        self._state: _State | None = None
        self._changed = threading.Condition()
        self.stats = AuditStats()

    # --- setup --------------------------------------------------------------------------------

    def setup(self) -> None:
        """Create the tables (and the views' tracking table) if missing."""
        self.database.setup()
        postgres = self.dialect == "postgres"
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.leaves_table} ("
            + (
                "position bigint PRIMARY KEY, notification_id bigint NOT NULL UNIQUE, "
                "originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "leaf_hash bytea NOT NULL, signature bytea)"
                if postgres
                else "position INTEGER PRIMARY KEY, notification_id INTEGER NOT NULL UNIQUE, "
                "originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, "
                "leaf_hash BLOB NOT NULL, signature BLOB)"
            ),
            f"CREATE INDEX IF NOT EXISTS {quote('ix_' + LEAVES_TABLE + '_originator')} "
            f"ON {self.leaves_table} (originator_id, originator_version)",
            f"CREATE TABLE IF NOT EXISTS {self.nodes_table} ("
            + (
                "level smallint NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL, "
                "PRIMARY KEY (level, idx))"
                if postgres
                else "level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, "
                "PRIMARY KEY (level, idx)) WITHOUT ROWID"
            ),
        ]
        with self.datastore.transaction(commit=True) as cursor:
            if postgres:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("setup"),))
            for statement in statements:
                cursor.execute(statement)
            self._add_signature_column(cursor)

    def _add_signature_column(self, cursor: Any) -> None:
        """A tree written before leaves were signed gets the (empty) column."""
        if self.dialect == "postgres":
            cursor.execute(
                f"ALTER TABLE {self.leaves_table} ADD COLUMN IF NOT EXISTS signature bytea"
            )
            return
        cursor.execute(f"PRAGMA table_info({self.leaves_table})")
        if not any(
            (row["name"] if isinstance(row, dict) else row[1]) == "signature"
            for row in cursor.fetchall()
        ):
            cursor.execute(f"ALTER TABLE {self.leaves_table} ADD COLUMN signature BLOB")

    # --- writing ------------------------------------------------------------------------------

    def catch_up(self) -> int:
        """Append every event recorded after the tree's position, batch by batch (one
        transaction each); returns the tree's size reached."""
        while self.step():
            pass
        return self._loaded().builder.size

    def step(self) -> int:
        """Append one batch (at most ``batch_size`` events); returns how many were appended
        (0 when the tree is up to date)."""
        with self._write_lock:
            for _ in range(3):
                try:
                    return self._step()
                except _PositionMoved:  # another writer appended: start from what it stored
                    self._state = None
                except BaseException:
                    self._state = None  # the tree in memory may be ahead of what was committed
                    self.stats.errors += 1
                    raise
            return 0

    def _step(self) -> int:
        state = self._loaded()
        head = self.store.recorder.max_notification_id() or 0
        if head <= state.position:
            return 0
        builder = TreeBuilder(state.builder.size, state.builder.subtrees())
        sign = self.signer() if self.signer is not None else None  # the key: before writing
        chunks = self._chunks(state.position + 1, head)
        if self.dialect == "postgres":
            count, end = self._write_postgres(state.position, chunks, builder, sign)
        else:
            count, end = self._write_sqlite(state.position, chunks, builder, sign)
        if not count:
            return 0
        self._state = _State(end, builder)
        self.stats.events += count
        self.stats.batches += 1
        with self._changed:
            self._changed.notify_all()
        return count

    def _chunks(self, start: int, stop: int) -> Iterator[list[LogRow]]:
        """The batch's events from ``start`` (at most ``batch_size``, up to ``stop``), in
        chunks; while one chunk is hashed and written the next is read in another thread."""
        with ThreadPoolExecutor(1, thread_name_prefix="khenthuong-audit-read") as pool:
            yield from read_ahead(self._read, start, stop, self.batch_size, (), pool, READ_CHUNK)

    def _begin(self, cursor: Any, start: int) -> None:
        if self.dialect == "postgres":
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)",
                (lock_key(f"audit-write:{self.database.schema}"),),
            )
        if self._tracked(cursor) != start:
            raise _PositionMoved

    def _finish(self, cursor: Any, end: int) -> None:
        try:
            self.database.tracking._insert_tracking(cursor, Tracking(TRACKING_NAME, end))
        except IntegrityError:
            raise _PositionMoved from None
        self.before_commit(end)

    def _write_sqlite(
        self,
        start: int,
        chunks: Iterator[list[LogRow]],
        builder: TreeBuilder,
        sign: Callable[[bytes], bytes] | None,
    ) -> tuple[int, int]:
        """Hash first, then write the batch in one short transaction (SQLite has one writer)."""
        hasher = EventHasher()
        append = builder.append
        leaves: list[tuple[int, int, str, int, bytes, bytes | None]] = []
        nodes: list[tuple[int, int, bytes]] = []
        position = builder.size
        end = start
        for rows in chunks:
            first = position
            hashed: list[tuple[int, str, int, bytes]] = []
            for notification_id, originator_id, version, topic, stored in rows:
                originator = originator_bytes(originator_id)
                leaf = hasher.leaf(originator, version, topic, stored)
                hashed.append((notification_id, originator.hex(), version, leaf))
                nodes.extend(append(leaf))
                position += 1
            signatures = _signatures(sign, first, [row[3] for row in hashed])
            leaves.extend((first + i, *row, signatures[i]) for i, row in enumerate(hashed))
            if rows:
                end = rows[-1][0]
        if not leaves:
            return 0, start
        with self.database.transaction() as cursor:
            self._begin(cursor, start)
            cursor.executemany(
                f"INSERT INTO {self.leaves_table} (position, notification_id, originator_id, "
                "originator_version, leaf_hash, signature) VALUES (?, ?, ?, ?, ?, ?)",
                leaves,
            )
            if nodes:
                cursor.executemany(
                    f"INSERT INTO {self.nodes_table} (level, idx, hash) VALUES (?, ?, ?)", nodes
                )
            self._finish(cursor, end)
        return len(leaves), end

    def _write_postgres(
        self,
        start: int,
        chunks: Iterator[list[LogRow]],
        builder: TreeBuilder,
        sign: Callable[[bytes], bytes] | None,
    ) -> tuple[int, int]:
        """Hash each chunk straight into a binary COPY, so the server stores the leaves while
        the next are hashed (and the next chunk is read meanwhile)."""
        hasher = EventHasher()
        append = builder.append
        pack_leaf = _LEAF_ROW.pack
        nodes: list[tuple[int, int, bytes]] = []
        add_nodes = nodes.extend
        position = builder.size
        count = 0
        end = start
        with self.database.transaction() as cursor:
            self._begin(cursor, start)
            with cursor.copy(
                f"COPY {self.leaves_table} (position, notification_id, originator_id, "
                "originator_version, leaf_hash, signature) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.write(_COPY_HEADER)
                for rows in chunks:
                    data: list[bytes] = []
                    hashes: list[bytes] = []
                    first = position
                    for notification_id, originator_id, version, topic, stored in rows:
                        originator = originator_bytes(originator_id)
                        leaf = hasher.leaf(originator, version, topic, stored)
                        data.append(
                            pack_leaf(
                                6,
                                8,
                                position,
                                8,
                                notification_id,
                                16,
                                originator,
                                8,
                                version,
                                32,
                                leaf,
                            )
                        )
                        hashes.append(leaf)
                        add_nodes(append(leaf))
                        position += 1
                    signatures = _signatures(sign, first, hashes)
                    if rows:
                        copy.write(
                            b"".join(
                                row + _signature_field(signature)
                                for row, signature in zip(data, signatures, strict=True)
                            )
                        )
                        count += len(rows)
                        end = rows[-1][0]
                copy.write(_COPY_TRAILER)
            if not count:
                return 0, start
            if nodes:
                pack_node = _NODE_ROW.pack
                with cursor.copy(
                    f"COPY {self.nodes_table} (level, idx, hash) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.write(_COPY_HEADER)
                    copy.write(
                        b"".join(pack_node(3, 2, lv, 8, ix, 32, value) for lv, ix, value in nodes)
                    )
                    copy.write(_COPY_TRAILER)
            self._finish(cursor, end)
        return count, end

    def before_commit(self, position: int) -> None:
        """Called inside a batch's transaction just before it commits (tests simulate a crash
        here); ``position`` is the notification id the batch reaches."""

    def reset(self) -> None:
        """Forget the in-memory tree: the next batch starts from the stored state."""
        with self._write_lock:
            self._state = None

    def _tracked(self, cursor: Any) -> int:
        cursor.execute(
            self.database.sql(
                f"SELECT notification_id FROM {self.database.tracking_table} "
                "WHERE application_name = %s"
            ),
            (TRACKING_NAME,),
        )
        row = cursor.fetchone()
        if row is None:
            return 0
        value = row["notification_id"] if isinstance(row, dict) else row[0]
        return int(value or 0)

    def _loaded(self) -> _State:
        if self._state is None:
            with self.database.transaction(write=False) as cursor:
                # One statement, one snapshot: read apart, another writer's commit could fall
                # between the position and the leaves (PostgreSQL reads each statement afresh).
                cursor.execute(
                    self.database.sql(
                        f"SELECT (SELECT notification_id FROM {self.database.tracking_table} "
                        "WHERE application_name = %s) AS tracked, max(position) AS last, "
                        f"max(notification_id) AS reached FROM {self.leaves_table}"
                    ),
                    (TRACKING_NAME,),
                )
                row = cursor.fetchone()
                tracked, last, reached = (
                    (row["tracked"], row["last"], row["reached"])
                    if isinstance(row, dict)
                    else (row[0], row[1], row[2])
                )
                position = int(tracked or 0)
            size = 0 if last is None else int(last) + 1
            if int(reached or 0) != position:
                raise AuditLogCorrupt(
                    f"Vị trí theo dõi của nhật ký kiểm toán ({position}) khác sự kiện cuối cùng "
                    f"trong cây ({reached or 0}): bảng audit_leaves đã bị sửa ngoài hệ thống."
                )
            subtrees = self.get_nodes(merkle.subtree_nodes(size)) if size else []
            self._state = _State(position, TreeBuilder(size, subtrees))
        return self._state

    def wait_for(self, notification_id: int, *, timeout: float = 2.0) -> bool:
        """Wait until the event with this notification id is in the tree (written by this
        process or another); False if it is not within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            state = self._state
            if state is not None and state.position >= notification_id:
                return True
            if self.position() >= notification_id:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, 0.05))

    # --- reading the stored events ------------------------------------------------------------

    def _log_reader(self) -> LogReader:
        recorder = self.store.recorder
        table = getattr(recorder, "events_table_name", None)
        if table is None:  # the in-memory store
            return notifications_reader(self.store)
        events = self.database.qualified(table)
        datastore = self.datastore
        if self.dialect == "postgres":
            from psycopg.rows import tuple_row

            # No upper bound in SQL: with one, a table whose statistics are stale (just
            # loaded) gets a sort of the whole range instead of a walk along the index.
            # The id as its 16 bytes: hashed and copied as they are, no UUID object made.
            statement = (
                "SELECT notification_id, uuid_send(originator_id), originator_version, topic, "
                f"state FROM {events} WHERE notification_id >= %s "
                "ORDER BY notification_id LIMIT %s"
            )

            def read_postgres(
                start: int, stop: int, limit: int, topics: Sequence[str]
            ) -> list[LogRow]:
                with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
                    cur.execute(statement, (start, limit), prepare=True)
                    rows: list[LogRow] = cur.fetchall()
                return rows_until(rows, stop)

            return read_postgres
        statement = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {events} WHERE rowid >= ? ORDER BY rowid LIMIT ?"
        )

        def read_sqlite(start: int, stop: int, limit: int, topics: Sequence[str]) -> list[LogRow]:
            with datastore.transaction(commit=False) as cursor:
                cursor.execute(statement, (start, limit))
                rows = [tuple(row) for row in cursor.fetchall()]
            return rows_until(rows, stop)

        return read_sqlite

    # --- reading the tree ---------------------------------------------------------------------

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One read as plain tuples: on PostgreSQL a single prepared statement on an autocommit
        connection (no BEGIN/ROLLBACK round trips); ``%s`` marks."""
        if self.dialect == "postgres":
            from psycopg.rows import tuple_row

            with (
                self.datastore.get_connection() as conn,
                conn.cursor(row_factory=tuple_row) as cur,
            ):
                cur.execute(statement, list(params), prepare=True)
                rows: list[tuple[Any, ...]] = cur.fetchall()
                return rows
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.database.sql(statement), list(params))
            return [tuple(row) for row in cursor.fetchall()]

    def position(self) -> int:
        """The last notification id in the tree (0 when empty)."""
        rows = self._rows(
            f"SELECT notification_id FROM {self.database.tracking_table} "
            "WHERE application_name = %s",
            [TRACKING_NAME],
        )
        return int(rows[0][0] or 0) if rows else 0

    def size(self) -> int:
        """The number of leaves (events) in the tree."""
        ((last,),) = self._rows(f"SELECT max(position) FROM {self.leaves_table}")
        return 0 if last is None else int(last) + 1

    def _beyond(self, size: int) -> BeyondTree:
        current = self.size()
        return BeyondTree(
            f"Cây nhật ký kiểm toán hiện có {current} lá; không có cây cỡ {size}.", current
        )

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree of ``size`` leaves (the current tree by default)."""
        size = self.size() if size is None else size
        if size < 0:
            raise self._beyond(size)
        if size == 0:
            return EMPTY_ROOT
        nodes = merkle.subtree_nodes(size)
        found = self._nodes(nodes, size)
        return TreeBuilder(size, [found[node] for node in nodes]).root()

    def get_nodes(self, nodes: Sequence[Node]) -> list[bytes]:
        """The hashes of these complete nodes (``merkle`` proofs' ``get_nodes``), in one read."""
        found = self._nodes(nodes, None)
        return [found[node] for node in nodes]

    def _nodes(self, nodes: Sequence[Node], size: int | None) -> dict[Node, bytes]:
        """The stored hashes of these nodes. One missing: ``BeyondTree`` when the tree has not
        reached ``size``, else ``AuditLogCorrupt``."""
        leaf_positions = sorted({index for level, index in nodes if level == 0})
        inner = sorted({(level, index) for level, index in nodes if level > 0})
        found: dict[Node, bytes] = {}
        if self.dialect == "postgres":
            rows = self._rows(
                f"SELECT 0, position, leaf_hash FROM {self.leaves_table} "
                "WHERE position = ANY(%s) UNION ALL "
                f"SELECT level, idx, hash FROM {self.nodes_table} "
                "WHERE (level, idx) IN (SELECT * FROM unnest(%s::smallint[], %s::bigint[]))",
                (leaf_positions, [n[0] for n in inner], [n[1] for n in inner]),
            )
            for level, index, value in rows:
                found[int(level), int(index)] = bytes(value)
        else:
            with self.datastore.transaction(commit=False) as cursor:
                for at in range(0, len(leaf_positions), SQLITE_PARAMS):
                    chunk = leaf_positions[at : at + SQLITE_PARAMS]
                    cursor.execute(
                        f"SELECT position, leaf_hash FROM {self.leaves_table} "
                        f"WHERE position IN ({', '.join('?' * len(chunk))})",
                        chunk,
                    )
                    for row in cursor.fetchall():
                        found[0, int(row[0])] = bytes(row[1])
                for at in range(0, len(inner), SQLITE_PARAMS):
                    pairs = inner[at : at + SQLITE_PARAMS]
                    cursor.execute(
                        f"SELECT level, idx, hash FROM {self.nodes_table} WHERE (level, idx) "
                        f"IN (VALUES {', '.join(['(?, ?)'] * len(pairs))})",
                        [value for pair in pairs for value in pair],
                    )
                    for row in cursor.fetchall():
                        found[int(row[0]), int(row[1])] = bytes(row[2])
        if len(found) < len(leaf_positions) + len(inner):
            if size is not None and size > self.size():
                raise self._beyond(size)
            missing = sorted({*((0, p) for p in leaf_positions), *inner} - set(found))
            raise AuditLogCorrupt(
                f"Thiếu nút {missing[0]} của cây nhật ký kiểm toán: bảng đã bị sửa ngoài hệ thống."
            )
        return found

    def inclusion_proof(self, position: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``position`` in the tree of ``size`` leaves (default: now)."""
        return self.inclusion_proofs([position], size)[0]

    def inclusion_proofs(
        self, positions: Sequence[int], size: int | None = None
    ) -> list[list[bytes]]:
        """The audit paths of several leaves in the tree of ``size`` leaves, in one read."""
        size = self.size() if size is None else size
        for position in positions:
            if not 0 <= position < size:
                raise BeyondTree(
                    f"Vị trí {position} không thuộc cây nhật ký kiểm toán cỡ {size} "
                    f"(các vị trí từ 0 đến {size - 1}).",
                    size,
                )
        wanted = [
            node
            for position in positions
            for start, end in merkle.inclusion_ranges(position, size)
            for node in merkle.range_nodes(start, end)
        ]
        found = self._nodes(wanted, size)

        def stored(nodes: Sequence[Node]) -> list[bytes]:
            return [found[node] for node in nodes]

        return [merkle.inclusion_proof(position, size, stored) for position in positions]

    def consistency_proof(self, m: int, n: int) -> list[bytes]:
        """The proof that the tree of ``n`` leaves extends the tree of ``m`` leaves."""
        if not 0 <= m <= n:
            raise BeyondTree(
                f"Bằng chứng nhất quán cần 0 ≤ cỡ cũ ≤ cỡ mới (nhận {m} và {n}).", self.size()
            )
        wanted = [
            node
            for start, end in merkle.consistency_ranges(m, n)
            for node in merkle.range_nodes(start, end)
        ]
        if not wanted and n > self.size():  # nothing to read, but no such tree either
            raise self._beyond(n)
        found = self._nodes(wanted, n)
        return merkle.consistency_proof(m, n, lambda nodes: [found[node] for node in nodes])

    # --- leaves -------------------------------------------------------------------------------

    _LEAF_COLUMNS = (
        "position, notification_id, originator_id, originator_version, leaf_hash, signature"
    )

    def _leaf(self, row: tuple[Any, ...]) -> StoredLeaf:
        position, notification_id, originator, version, value, signature = row
        return StoredLeaf(
            position=int(position),
            notification_id=int(notification_id),
            originator_id=originator if isinstance(originator, UUID) else UUID(originator),
            originator_version=int(version),
            leaf_hash=bytes(value),
            signature=None if signature is None else bytes(signature),
        )

    def _select_leaves(self, where: str, params: Sequence[Any]) -> list[StoredLeaf]:
        rows = self._rows(
            f"SELECT {self._LEAF_COLUMNS} FROM {self.leaves_table} WHERE {where} ORDER BY position",
            params,
        )
        return [self._leaf(row) for row in rows]

    def leaf(self, position: int) -> StoredLeaf | None:
        """The leaf at ``position``, if the tree has it."""
        found = self._select_leaves("position = %s", [position])
        return found[0] if found else None

    def leaf_of_event(self, notification_id: int) -> StoredLeaf | None:
        """The leaf of the event with this notification id, if the tree has it."""
        found = self._select_leaves("notification_id = %s", [notification_id])
        return found[0] if found else None

    def position_of(self, notification_id: int) -> int | None:
        """The leaf position of the event with this notification id (None: not in the tree)."""
        found = self.leaf_of_event(notification_id)
        return None if found is None else found.position

    def leaves_of(self, originator_id: UUID) -> list[StoredLeaf]:
        """The leaves of one aggregate's events (a dossier's, say), in log order."""
        value: Any = originator_id if self.dialect == "postgres" else originator_id.hex
        return self._select_leaves("originator_id = %s", [value])

    def positions_of_dossier(self, dossier_id: UUID) -> list[int]:
        """The leaf positions of one dossier's events, in log order."""
        return [leaf.position for leaf in self.leaves_of(dossier_id)]

    def iter_leaves(self, start: int = 0, *, chunk: int = 10_000) -> Iterator[StoredLeaf]:
        """Every leaf from ``start`` on, in order, read ``chunk`` at a time."""
        position = start
        while True:
            rows = self._select_leaves(
                "position >= %s AND position < %s", [position, position + chunk]
            )
            yield from rows
            if len(rows) < chunk:
                return
            position += chunk


def _signature_field(signature: bytes | None) -> bytes:
    """The ``signature`` field of a binary COPY row: its length and bytes, or NULL."""
    return _NULL_FIELD if signature is None else _SIGNATURE_LENGTH + signature


def _signatures(
    sign: Callable[[bytes], bytes] | None, first: int, leaves: Sequence[bytes]
) -> list[bytes | None]:
    """The signatures of ``leaves`` appended from position ``first`` (None each, unsigned):
    spread over the CPU cores for a large chunk (a tree built over an existing log)."""
    if sign is None:
        return [None] * len(leaves)
    bodies = [leaf_receipt_body(first + i, leaf) for i, leaf in enumerate(leaves)]
    workers = min(os.cpu_count() or 1, 8)
    if len(bodies) < SIGN_IN_THREADS_FROM or workers < 2:
        return [sign(body) for body in bodies]
    with ThreadPoolExecutor(workers, thread_name_prefix="khenthuong-audit-sign") as pool:
        return list(pool.map(sign, bodies, chunksize=max(1, len(bodies) // (workers * 4))))
