"""The stored history, read straight from its tables for the offline verifier.

Independent of the audit log's writer (``infrastructure.audit.log``): the events come from the
event store's own table in notification order, the writer's leaves from ``audit_leaves`` by
position, each streamed in chunks (a server-side cursor on PostgreSQL), never whole in memory.

The leaves are opened before the events, so the events seen always include every event the
leaves seen had hashed (both tables only grow), and a writer appending meanwhile is never
mistaken for a deleted event. Checkpoints should be read before either.

``ProofReads`` serves the staff API's inclusion proof of one event instead: the event's leaf,
the tree's size, the checkpoint the proof is checked against, the stored event and the nodes of
its audit path, in one statement (one round trip and one snapshot where the route made five
reads and about nine round trips).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import OperationalError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg import AsyncConnection
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from application.audit.verifier import StoredEvent, StoredLeaf
from application.store import Store
from infrastructure.audit.checkpoints import StoredCheckpoint, stored_checkpoint

__all__ = [
    "LEAVES_TABLE",
    "AsyncProofReads",
    "EventProofInputs",
    "Node",
    "ProofReads",
    "StoredHistory",
]

LEAVES_TABLE = "audit_leaves"
CHUNK = 5_000


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return UUID(bytes=bytes(value))
    return UUID(str(value))


class StoredHistory:
    """Events and leaves of one store (SQLite or PostgreSQL), as stored."""

    def __init__(self, store: Store) -> None:
        recorder = store.recorder
        datastore = getattr(recorder, "datastore", None)
        if isinstance(datastore, PostgresDatastore):
            self.dialect = "postgres"
            schema = _quote(datastore.schema)
            self.events_table = f"{schema}.{_quote(recorder.events_table_name)}"  # type: ignore[attr-defined]
            self.leaves_table = f"{schema}.{_quote(LEAVES_TABLE)}"
            self._position = "notification_id"
        elif isinstance(datastore, SQLiteDatastore):
            self.dialect = "sqlite"
            self.events_table = _quote(recorder.events_table_name)  # type: ignore[attr-defined]
            self.leaves_table = _quote(LEAVES_TABLE)
            self._position = "rowid"
        else:
            raise ValueError("the verifier reads SQLite or PostgreSQL stores only")
        self.datastore: Any = datastore

    # --- connections ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _rows(self, statement: str, params: Sequence[Any] = ()) -> Iterator[Iterator[Any]]:
        """Rows of one query, streamed, on a connection of their own."""
        if self.dialect == "postgres":
            with self.datastore.get_connection() as conn, conn.transaction():
                # One stream waits while the other is read (the leaves start later than the
                # events): the store's idle-in-transaction limit must not end it meanwhile.
                conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
                # Server-side, in chunks; binary results (bytea and uuid need no text parsing).
                named = conn.cursor(name=f"audit_{secrets.token_hex(4)}", row_factory=tuple_row)
                try:
                    named.execute(statement, list(params), binary=True)
                    prefetch = _Prefetch(named)
                    try:
                        yield iter(prefetch)
                    finally:
                        prefetch.close()
                finally:
                    named.close()
            return
        with self.datastore.transaction(commit=False) as cursor:
            raw = getattr(cursor, "sqlite_cursor", cursor)
            raw.execute(statement.replace("%s", "?"), list(params))
            yield _fetch(raw)

    def _has_leaves(self) -> bool:
        with self.datastore.transaction(commit=False) as cursor:
            if self.dialect == "postgres":
                cursor.execute("SELECT to_regclass(%s) AS found", (self.leaves_table,))
                row = cursor.fetchone()
                return row["found"] is not None
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEAVES_TABLE,)
            )
            return cursor.fetchone() is not None

    # --- reading ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def open(
        self, *, leaves_from: int | None = 0
    ) -> Iterator[tuple[Iterator[StoredEvent], Iterator[StoredLeaf] | None]]:
        """The events in notification order and (if the table exists) the stored leaves by
        position from ``leaves_from`` (None: no leaves), both streamed; the leaves' snapshot
        is taken first."""
        with contextlib.ExitStack() as stack:
            leaves: Iterator[StoredLeaf] | None = None
            if leaves_from is not None and self._has_leaves():
                rows = stack.enter_context(
                    self._rows(
                        "SELECT position, notification_id, originator_id, originator_version, "
                        f"leaf_hash, signature FROM {self.leaves_table} WHERE position >= %s "
                        "ORDER BY position",
                        (leaves_from,),
                    )
                )
                leaves = (_leaf(row) for row in rows)
                leaves = _primed(leaves, stack)
            events = stack.enter_context(
                self._rows(
                    f"SELECT {self._position}, originator_id, originator_version, topic, state "
                    f"FROM {self.events_table} ORDER BY {self._position}"
                )
            )
            yield (_event(row) for row in events), leaves

    def events_at(self, notification_ids: Iterable[int]) -> list[StoredEvent]:
        """The events with these notification ids, in notification order."""
        wanted = sorted(set(notification_ids))
        found: list[StoredEvent] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            statement = (
                f"SELECT {self._position}, originator_id, originator_version, topic, state "
                f"FROM {self.events_table} WHERE {self._position} IN ({marks}) "
                f"ORDER BY {self._position}"
            )
            with self._rows(statement, chunk) as rows:
                found.extend(_event(row) for row in rows)
        return found

    def originators_between(self, first: int, last: int) -> set[UUID]:
        """The aggregates with events at positions ``first``–``last`` (0-based, in
        notification order), read again from the events table."""
        statement = (
            f"SELECT originator_id FROM {self.events_table} ORDER BY {self._position} "
            "LIMIT %s OFFSET %s"
        )
        with self._rows(statement, (last - first + 1, first)) as rows:
            return {_uuid(row[0]) for row in rows}

    def topics_of(self, originator_ids: Iterable[UUID]) -> dict[UUID, str]:
        """The topic of each originator's first event (to name what it is), if stored."""
        wanted = list(dict.fromkeys(originator_ids))
        result: dict[UUID, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            values = [i if self.dialect == "postgres" else i.hex for i in chunk]
            marks = ", ".join(["%s"] * len(chunk))
            statement = (
                f"SELECT originator_id, topic FROM {self.events_table} "
                f"WHERE originator_version = 1 AND originator_id IN ({marks})"
            )
            with self._rows(statement, values) as rows:
                for originator_id, topic in rows:
                    result[_uuid(originator_id)] = str(topic)
        return result


def _primed(rows: Iterator[StoredLeaf], stack: contextlib.ExitStack) -> Iterator[StoredLeaf]:
    """Run the leaves' query now (its snapshot before the events'), yielding lazily after."""
    first = next(rows, None)

    def chain() -> Iterator[StoredLeaf]:
        if first is None:
            return
        yield first
        yield from rows

    return chain()


def _fetch(cursor: Any) -> Iterator[Any]:
    while True:
        rows = cursor.fetchmany(CHUNK)
        if not rows:
            return
        yield from rows


class _Prefetch:
    """Fetch the next chunk of a server-side cursor in a thread while the caller works on
    this one (the wait for the server overlaps the hashing). The cursor is used by the
    thread alone until the rows run out or ``close`` is called."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._chunks: queue.Queue[list[Any] | BaseException | None] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                rows = self._cursor.fetchmany(CHUNK)
                self._put(rows or None)
                if not rows:
                    return
        except BaseException as error:
            self._put(error)

    def _put(self, item: list[Any] | BaseException | None) -> None:
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[Any]:
        while True:
            chunk = self._chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise chunk
            yield from chunk

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _event(row: Any) -> StoredEvent:
    notification_id, originator_id, version, topic, state = row
    if isinstance(originator_id, UUID) and isinstance(state, bytes):
        return StoredEvent(notification_id, originator_id, version, topic, state)
    return StoredEvent(notification_id, _uuid(originator_id), version, topic, bytes(state))


def _leaf(row: Any) -> StoredLeaf:
    position, notification_id, originator_id, version, digest, signature = row
    if signature is not None and not isinstance(signature, bytes):
        signature = bytes(signature)
    if isinstance(originator_id, UUID) and isinstance(digest, bytes):
        return StoredLeaf(position, notification_id, originator_id, version, digest, signature)
    return StoredLeaf(
        position, notification_id, _uuid(originator_id), version, bytes(digest), signature
    )


# --- one event's inclusion proof (the staff API) -----------------------------------------------

Node = tuple[int, int]
"""A complete subtree of the tree: ``(level, index)``, as ``application.audit.merkle`` names
them (level 0: the leaves)."""


@dataclass(frozen=True)
class EventProofInputs:
    """What the inclusion proof of one event needs, read together (one snapshot)."""

    tree_size: int
    """The tree's size (leaves) now."""
    leaf: StoredLeaf | None
    """The event's leaf; None when the tree does not have it (yet)."""
    event: StoredEvent | None
    """The stored event behind the leaf; None when it is gone (deleted by hand)."""
    checkpoint: StoredCheckpoint | None
    """The latest checkpoint, or with ``size`` asked the latest signed at exactly that size."""
    nodes: dict[Node, bytes]
    """Stored hashes of the complete subtrees an audit path of the leaf may need in the tree
    of the size the proof is for (the size asked, else the latest checkpoint's, or the tree's
    if smaller or without a checkpoint). Only a prefetch: ``merkle`` says which the path
    takes, and a node missing here must be read from the tree (``AuditLog``)."""


class ProofReads:
    """The inclusion proof's reads of one event in a single prepared statement, on
    PostgreSQL (on SQLite, which answers in process, ``for_store`` gives None and the route
    reads as before).

    Why one statement: each read of the route was a round trip to the server (two more for
    the BEGIN and ROLLBACK of the library's transactions), and on a busy host a round trip
    costs more than the reads themselves; one statement is also one snapshot, so the size, the
    leaf, the checkpoint and the nodes can never come from two moments of a log being appended
    to. Nothing is cached: another process may sign a checkpoint at any time, and the answer
    must name it.

    The audit path's nodes are chosen in SQL, from the leaf's position ``p`` and the size
    ``n``, as a superset of what ``merkle.inclusion_ranges`` and ``merkle.range_nodes`` ask:
    at each level ``L`` the sibling ``(L, (p >> L) XOR 1)`` when that subtree lies inside the
    first ``n`` leaves, and the right edge's complete subtrees ``(L, (n >> L) - 1)`` for each
    bit ``L`` set in ``n`` (about one node more than the path). Level 0 is read from the leaves,
    the others from the nodes table, as ``AuditLog`` reads them.

    The leaves table's columns are the writer's contract (``StoredHistory`` reads them too);
    the events table is the library's; the nodes and checkpoints tables are the audit log's
    and its checkpoints' (``infrastructure.audit``), whose qualified names the caller gives.
    """

    def __init__(
        self,
        datastore: Any,
        *,
        events_table: str,
        leaves_table: str,
        nodes_table: str,
        checkpoints_table: str,
    ) -> None:
        self.datastore = datastore
        head = (
            "SELECT t.last, l.position, l.notification_id, l.originator_id, "
            "l.originator_version, l.leaf_hash, e.topic, e.state, c.id, c.origin, c.size, "
            "c.root, c.time, c.key_id, c.signature, p.levels, p.idxs, p.hashes "
            f"FROM (SELECT max(position) AS last FROM {leaves_table}) t "
            f"LEFT JOIN {leaves_table} l ON l.notification_id = %(event)s "
            f"LEFT JOIN {events_table} e ON e.originator_id = l.originator_id "
            "AND e.originator_version = l.originator_version "
            "LEFT JOIN LATERAL (SELECT id, origin, size, root, time, key_id, signature "
            f"FROM {checkpoints_table} "
        )
        nodes = (
            # z.n: the size of the tree the proof is for.
            "LEFT JOIN LATERAL (WITH w AS ("
            "SELECT g.lvl::smallint AS lvl, (l.position >> g.lvl) # 1::bigint AS idx "
            "FROM generate_series(0, 62) AS g(lvl) "
            "WHERE ((l.position >> g.lvl) # 1::bigint) < (z.n >> g.lvl) "
            "UNION SELECT g.lvl::smallint, (z.n >> g.lvl) - 1 "
            "FROM generate_series(0, 62) AS g(lvl) "
            "WHERE l.position IS NOT NULL AND ((z.n >> g.lvl) & 1) = 1) "
            "SELECT array_agg(f.level) AS levels, array_agg(f.idx) AS idxs, "
            "array_agg(f.hash) AS hashes FROM ("
            "SELECT 0::smallint AS level, s.position AS idx, s.leaf_hash AS hash "
            f"FROM {leaves_table} s WHERE s.position IN (SELECT w.idx FROM w WHERE w.lvl = 0) "
            "UNION ALL SELECT d.level, d.idx, d.hash "
            f"FROM {nodes_table} d "
            "WHERE (d.level, d.idx) IN (SELECT w.lvl, w.idx FROM w WHERE w.lvl > 0)) f) p ON true"
        )
        # Two statements rather than one with "size = %s OR %s IS NULL": each keeps its own
        # plan (the latest checkpoint: the primary key backwards, one row).
        self._latest = (
            head + "ORDER BY id DESC LIMIT 1) c ON true CROSS JOIN LATERAL (SELECT CASE WHEN "
            "c.size IS NULL THEN t.last + 1 ELSE least(c.size, t.last + 1) END AS n) z " + nodes
        )
        self._at_size = (
            head + "WHERE size = %(size)s ORDER BY id DESC LIMIT 1) c ON true "
            "CROSS JOIN LATERAL (SELECT %(size)s::bigint AS n) z " + nodes
        )

    @classmethod
    def for_store(
        cls,
        store: Store,
        datastore: Any,
        *,
        leaves_table: str,
        nodes_table: str,
        checkpoints_table: str,
    ) -> ProofReads | None:
        """The reads for this store's tables (``datastore``: the audit log's), or None when
        the store is not PostgreSQL."""
        recorder = store.recorder
        if not isinstance(datastore, PostgresDatastore) or not isinstance(
            getattr(recorder, "datastore", None), PostgresDatastore
        ):
            return None
        events = f"{_quote(datastore.schema)}.{_quote(recorder.events_table_name)}"  # type: ignore[attr-defined]
        return cls(
            datastore,
            events_table=events,
            leaves_table=leaves_table,
            nodes_table=nodes_table,
            checkpoints_table=checkpoints_table,
        )

    def statement(self, notification_id: int, size: int | None) -> tuple[str, dict[str, Any]]:
        """The statement and parameters of the read (``event``; ``AsyncProofReads`` too)."""
        if size is None:
            return self._latest, {"event": notification_id}
        return self._at_size, {"event": notification_id, "size": size}

    def event(self, notification_id: int, size: int | None = None) -> EventProofInputs:
        """The leaf of the event ``notification_id``, its stored event, the tree's size, the
        checkpoint (the latest, or with ``size`` the latest signed at exactly that size) and
        the nodes of the leaf's audit path."""
        statement, params = self.statement(notification_id, size)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
            # Autocommit connection: no BEGIN/ROLLBACK; prepared once per connection.
            cur.execute(statement, params, prepare=True)
            row = cur.fetchone()
        return self.inputs(row)

    @staticmethod
    def inputs(row: Sequence[Any] | None) -> EventProofInputs:
        """The read's one row as what the proof needs."""
        assert row is not None  # one row whatever is found: the tree's size is always there
        last, position, notification, originator_id, version, digest, topic, state = row[:8]
        leaf = event = None
        if position is not None:
            leaf = StoredLeaf(
                int(position), int(notification), _uuid(originator_id), int(version), bytes(digest)
            )
            if topic is not None:
                event = StoredEvent(
                    leaf.notification_id,
                    leaf.originator_id,
                    leaf.originator_version,
                    str(topic),
                    bytes(state),
                )
        checkpoint = None if row[8] is None else stored_checkpoint(row[8:15])
        levels, indexes, hashes = row[15:18]
        nodes: dict[Node, bytes] = {}
        if levels is not None:
            for level, index, value in zip(levels, indexes, hashes, strict=True):
                nodes[int(level), int(index)] = bytes(value)
        tree_size = 0 if last is None else int(last) + 1
        return EventProofInputs(tree_size, leaf, event, checkpoint, nodes)


class AsyncProofReads:
    """``ProofReads.event`` awaited on an event loop, over a small asyncio pool of its own.

    Why: the route is ``async``; a blocking read had to go to a worker thread and back, and
    on a busy host that hop cost about as much as the read itself (and most of its tail). The
    pool belongs to one event loop: ``open`` it on that loop (the app's lifespan does), and
    ``serves_here`` tells a request on another loop (a test client without its lifespan) to
    use the blocking read instead. The connections are the store's own (same server, user,
    database and time-outs), in autocommit, each statement prepared once per connection.

    A store that cannot be reached raises the library's ``OperationalError`` (503 at the
    API), as the blocking read does.
    """

    def __init__(self, reads: ProofReads, *, max_size: int) -> None:
        sync_pool = reads.datastore.pool
        self.reads = reads
        self._connect = {
            key: value
            for key, value in dict(sync_pool.kwargs).items()
            if key in ("dbname", "host", "port", "user", "password")
        }
        self._get_password = getattr(sync_pool, "get_password_func", None)
        self._max_size = max_size
        self._timeout = float(sync_pool.timeout)
        self._max_lifetime = float(sync_pool.max_lifetime)
        self._pool: Any = None
        self._loop: Any = None

    async def open(self) -> None:
        """Open a pool on the running loop (without waiting for a connection: a store down
        at start-up answers 503 per request, as the blocking reads do)."""
        await self.close()
        connect = dict(self._connect)
        if self._get_password is not None:
            connect["password"] = self._get_password()
        pool: AsyncConnectionPool[AsyncConnection[Any]] = AsyncConnectionPool(
            "",
            kwargs={**connect, "autocommit": True},
            min_size=1,
            max_size=self._max_size,
            open=False,
            timeout=self._timeout,
            max_lifetime=self._max_lifetime,
            name="khenthuong-proofs",
        )
        await pool.open(wait=False)
        self._pool, self._loop = pool, asyncio.get_running_loop()

    async def close(self) -> None:
        """Close the pool (a later ``open`` makes a new one)."""
        pool, self._pool, self._loop = self._pool, None, None
        if pool is not None:
            await pool.close()

    def serves_here(self) -> bool:
        """Open, and on the running loop."""
        try:
            return self._loop is not None and asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def event(self, notification_id: int, size: int | None = None) -> EventProofInputs:
        """As ``ProofReads.event``, without blocking the loop."""
        statement, params = self.reads.statement(notification_id, size)
        try:
            async with (
                self._pool.connection() as conn,
                conn.cursor(row_factory=tuple_row) as cur,
            ):
                await cur.execute(statement, params, prepare=True)
                row = await cur.fetchone()
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as error:
            raise OperationalError(str(error)) from error
        return self.reads.inputs(row)
