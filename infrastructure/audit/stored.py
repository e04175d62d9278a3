"""The stored history, read straight from its tables for the offline verifier.

Independent of the audit log's writer (``infrastructure.audit.log``): the events come from the
event store's own table in notification order, the writer's leaves from ``audit_leaves`` by
position, each streamed in chunks (a server-side cursor on PostgreSQL), never whole in memory.

The leaves are opened before the events, so the events seen always include every event the
leaves seen had hashed (both tables only grow), and a writer appending meanwhile is never
mistaken for a deleted event. Checkpoints should be read before either.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

from application.audit.verifier import StoredEvent, StoredLeaf
from application.store import Store

__all__ = ["LEAVES_TABLE", "StoredHistory"]

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
            from psycopg.rows import tuple_row

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
