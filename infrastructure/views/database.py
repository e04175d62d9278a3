"""View tables in SQLite or PostgreSQL, next to the events, written with their tracking position.

``ViewDatabase`` is the projection runner's sink: it creates a view's tables, writes a batch of
changes for several views and their tracking records in one transaction (the library's tracking
recorder supplies the tracking table and its "only forward" insert), and reads rows back with
the right Python types. A ``suffix`` gives a separate set of tables for a rebuild ("__new") or
a verification ("__verify"); ``swap_into_live`` puts rebuilt tables in place of the live ones in
one transaction, while command writers are held off, so readers never see a half-built view.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from application.projections.runner import LogReader, LogRow, PositionMoved, rows_until
from application.projections.schema import ColumnType, Table, ViewChanges
from application.projections.views import View
from application.store import Store

LIVE = ""
REBUILD = "__new"
VERIFY = "__verify"
META_TABLE = "khenthuong_view_meta"
PG_TRACKING_TABLE = "khenthuong_view_tracking"
SQLITE_CHUNK = 500

_PG_TYPES = {
    ColumnType.UUID: "uuid",
    ColumnType.TEXT: "text",
    ColumnType.INT: "bigint",
    ColumnType.BOOL: "boolean",
    ColumnType.DATE: "date",
    ColumnType.TIMESTAMP: "timestamptz",
}
_SQLITE_TYPES = {
    ColumnType.UUID: "TEXT",
    ColumnType.TEXT: "TEXT",
    ColumnType.INT: "INTEGER",
    ColumnType.BOOL: "INTEGER",
    ColumnType.DATE: "TEXT",
    ColumnType.TIMESTAMP: "TEXT",
}


def sqlite_timestamp(moment: datetime) -> str:
    """UTC, fixed width: stored timestamps sort as text in time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _to_sqlite(kind: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if kind is ColumnType.UUID:
        return str(value)
    if kind is ColumnType.TIMESTAMP:
        return sqlite_timestamp(value)
    if kind is ColumnType.DATE:
        return value.isoformat()
    if kind is ColumnType.BOOL:
        return 1 if value else 0
    return value


def _from_sqlite(kind: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if kind is ColumnType.UUID:
        return UUID(value)
    if kind is ColumnType.TIMESTAMP:
        return datetime.fromisoformat(value)
    if kind is ColumnType.DATE:
        return date.fromisoformat(value)
    if kind is ColumnType.BOOL:
        return bool(value)
    return value


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _SQLiteTracking(SQLiteTrackingRecorder):
    """The library's SQLite tracking table ("tracking"), shared with the event store's file."""


class _PostgresTracking(PostgresTrackingRecorder):
    """The library's PostgreSQL tracking table, named for the views."""


class ViewDatabase:
    """The tables of a set of views (live, or a scratch copy named by ``suffix``)."""

    def __init__(self, store: Store, views: Sequence[View], *, suffix: str = LIVE) -> None:
        self.store = store
        self.views = list(views)
        self.suffix = suffix
        datastore = getattr(store.recorder, "datastore", None)
        if isinstance(datastore, PostgresDatastore):
            self.dialect = "postgres"
            self.schema: str | None = datastore.schema
            self.tracking: SQLiteTrackingRecorder | PostgresTrackingRecorder = _PostgresTracking(
                datastore, tracking_table_name=PG_TRACKING_TABLE
            )
        else:
            if not isinstance(datastore, SQLiteDatastore):
                # The in-memory event store keeps its views in an in-memory SQLite database.
                datastore = _memory_datastore(store)
            self.dialect = "sqlite"
            self.schema = None
            self.tracking = _SQLiteTracking(datastore)
        self.datastore: Any = datastore
        self._search_indexes = True
        self._shared_cursor: Any = None

    # --- reading the log ----------------------------------------------------------------------

    def log_reader(self, *, share: tuple[int, int] | None = None) -> LogReader | None:
        """Stored events as plain tuples, straight from the events table (PostgreSQL): the
        library's ``select_notifications`` builds a dict and then a ``Notification`` for every
        row, which costs more than the query. None elsewhere (the runner then uses the
        library's read). ``share=(k, n)``: only the events of the aggregates whose id ends in
        a byte ``b`` with ``b % n == k`` (a rebuild's worker process)."""
        recorder = self.store.recorder
        if self.dialect != "postgres" or not hasattr(recorder, "events_table_name"):
            return None
        from psycopg.rows import tuple_row

        where = "notification_id >= %s AND topic = ANY(%s)"
        if share is not None:
            where += " AND get_byte(uuid_send(originator_id), 15) %% %s = %s"
        extra: tuple[int, ...] = () if share is None else (share[1], share[0])
        statement = (
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {self.qualified(recorder.events_table_name)} "
            f"WHERE {where} ORDER BY notification_id LIMIT %s"
        )
        datastore = self.datastore

        def read(start: int, stop: int, limit: int, topics: Sequence[str]) -> list[LogRow]:
            with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as cur:
                cur.execute(statement, (start, list(topics), *extra, limit), prepare=True)
                rows: list[LogRow] = cur.fetchall()
            return rows_until(rows, stop)

        return read

    # --- names ------------------------------------------------------------------------------

    def qualified(self, name: str) -> str:
        if self.schema is None:
            return quote(name)
        return f"{quote(self.schema)}.{quote(name)}"

    def table_name(self, table: Table, suffix: str | None = None) -> str:
        return table.name + (self.suffix if suffix is None else suffix)

    def tracking_name(self, view: str, suffix: str | None = None) -> str:
        return view + (self.suffix if suffix is None else suffix)

    @property
    def tracking_table(self) -> str:
        return self.qualified("tracking" if self.dialect == "sqlite" else PG_TRACKING_TABLE)

    def sql(self, statement: str) -> str:
        """Statements are written with ``%s`` placeholders; SQLite wants ``?``."""
        return statement.replace("%s", "?") if self.dialect == "sqlite" else statement

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Any]:
        if self._shared_cursor is not None:
            # Inside ``swap_into_live``: the catch-up writes in the swap's own transaction.
            yield self._shared_cursor
            return
        with self.datastore.transaction(commit=write) as cursor:
            if write and self.dialect == "sqlite":
                # Take the write lock at once, so reading the positions and writing the rows
                # cannot be split by another writer.
                cursor.execute(f"UPDATE {self.qualified(META_TABLE)} SET version = version WHERE 0")
            yield cursor

    def hold_off_writers(self, cursor: Any) -> None:
        """Within a transaction: no command can record events until it ends."""
        if self.dialect == "postgres":
            events = getattr(self.store.recorder, "events_table_name", "khenthuong_events")
            cursor.execute(f"LOCK TABLE {self.qualified(events)} IN SHARE MODE")
        # SQLite: the write transaction already holds the database's only write lock.

    def head(self, cursor: Any) -> int:
        if self.dialect == "postgres":
            events = getattr(self.store.recorder, "events_table_name", "khenthuong_events")
            cursor.execute(f"SELECT max(notification_id) AS head FROM {self.qualified(events)}")
        else:
            events = getattr(self.store.recorder, "events_table_name", "khenthuong_events")
            cursor.execute(f"SELECT max(rowid) AS head FROM {self.qualified(events)}")
        row = cursor.fetchone()
        value = row["head"] if isinstance(row, dict) else row[0]
        return int(value or 0)

    # --- tables -----------------------------------------------------------------------------

    def _create_meta(self) -> None:
        self.tracking.create_table()
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.qualified(META_TABLE)} "
                "(view TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            if self.dialect == "postgres":
                try:
                    cursor.execute("SAVEPOINT trgm")
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    cursor.execute("RELEASE SAVEPOINT trgm")
                except Exception:  # no right to add extensions: plain search still works
                    cursor.execute("ROLLBACK TO SAVEPOINT trgm")
                    self._search_indexes = False

    def setup(self, *, indexes: bool = True) -> list[str]:
        """Create missing tables; tables of another view version are dropped and emptied.

        Returns the names of the views whose tables were (re)created."""
        self._create_meta()
        created: list[str] = []
        with self.transaction() as cursor:
            if self.dialect == "postgres":
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key("setup"),))
            for view in self.views:
                tracked = self.tracking_name(view.name)
                cursor.execute(
                    self.sql(f"SELECT version FROM {self.qualified(META_TABLE)} WHERE view = %s"),
                    (tracked,),
                )
                row = cursor.fetchone()
                version = (
                    None if row is None else (row["version"] if isinstance(row, dict) else row[0])
                )
                missing = any(not self._exists(cursor, t) for t in view.tables)
                if version == view.version and not missing:
                    continue
                self._drop(cursor, view)
                for table in view.tables:
                    self._create(cursor, table, indexes=indexes)
                cursor.execute(
                    self.sql(f"DELETE FROM {self.qualified(META_TABLE)} WHERE view = %s"),
                    (tracked,),
                )
                cursor.execute(
                    self.sql(f"INSERT INTO {self.qualified(META_TABLE)} VALUES (%s, %s)"),
                    (tracked, view.version),
                )
                created.append(view.name)
        return created

    def _exists(self, cursor: Any, table: Table) -> bool:
        name = self.table_name(table)
        if self.dialect == "postgres":
            cursor.execute("SELECT to_regclass(%s) AS found", (self.qualified(name),))
            row = cursor.fetchone()
            return row["found"] is not None
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cursor.fetchone() is not None

    def _drop(self, cursor: Any, view: View) -> None:
        for table in view.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {self.qualified(self.table_name(table))}")
        cursor.execute(
            self.sql(f"DELETE FROM {self.tracking_table} WHERE application_name = %s"),
            (self.tracking_name(view.name),),
        )

    def _create(self, cursor: Any, table: Table, *, indexes: bool) -> None:
        types = _PG_TYPES if self.dialect == "postgres" else _SQLITE_TYPES
        columns = ", ".join(
            f"{quote(c.name)} {types[c.type]}{'' if c.nullable else ' NOT NULL'}"
            for c in table.columns
        )
        key = ", ".join(quote(k) for k in table.key)
        cursor.execute(
            f"CREATE TABLE {self.qualified(self.table_name(table))} "
            f"({columns}, PRIMARY KEY ({key}))"
        )
        if indexes:
            self._create_indexes(cursor, table)

    def _create_indexes(self, cursor: Any, table: Table) -> None:
        name = self.table_name(table)
        token = secrets.token_hex(3)
        for number, index in enumerate(table.indexes):
            index_name = quote(f"ix_{table.name}_{number}_{token}")
            if index.search:
                if self.dialect != "postgres" or not self._search_indexes:
                    continue
                column = quote(index.columns[0])
                cursor.execute(
                    f"CREATE INDEX {index_name} ON {self.qualified(name)} "
                    f"USING gin ({column} gin_trgm_ops)"
                )
                continue
            columns = ", ".join(
                f"{quote(c[1:])} DESC" if c.startswith("-") else quote(c) for c in index.columns
            )
            cursor.execute(f"CREATE INDEX {index_name} ON {self.qualified(name)} ({columns})")

    def create_indexes(self) -> None:
        """For tables set up with ``indexes=False`` (a rebuild indexes once, when filled)."""
        with self.transaction() as cursor:
            for view in self.views:
                for table in view.tables:
                    self._create_indexes(cursor, table)
        self.vacuum()

    def vacuum(self) -> None:
        """Reclaim the dead rows a rebuild leaves behind (a batch replaces the rows of every
        aggregate it touched) and refresh the planner's statistics, so the swapped-in tables
        are as compact as fresh ones even where autovacuum is off or slow. PostgreSQL only
        (VACUUM cannot run inside a transaction)."""
        if self.dialect != "postgres":
            return
        with self.datastore.get_connection() as conn:
            conn.autocommit = True
            try:
                for view in self.views:
                    for table in view.tables:
                        conn.execute(f"VACUUM (ANALYZE) {self.qualified(self.table_name(table))}")
            finally:
                conn.autocommit = False

    def drop(self) -> None:
        """Remove this set's tables, tracking and meta rows (scratch sets only)."""
        if self.suffix == LIVE:
            raise ValueError("the live views are replaced by a rebuild, never dropped")
        self._create_meta()
        with self.transaction() as cursor:
            for view in self.views:
                self._drop(cursor, view)
                cursor.execute(
                    self.sql(f"DELETE FROM {self.qualified(META_TABLE)} WHERE view = %s"),
                    (self.tracking_name(view.name),),
                )

    # --- the runner's sink ----------------------------------------------------------------

    def positions(self, views: Sequence[str]) -> dict[str, int]:
        with self.transaction(write=False) as cursor:
            return self._positions(cursor, views)

    def _positions(
        self, cursor: Any, views: Sequence[str], *, lock: bool = False
    ) -> dict[str, int]:
        names = [self.tracking_name(v) for v in views]
        marks = ", ".join(["%s"] * len(names))
        statement = (
            f"SELECT application_name, notification_id FROM {self.tracking_table} "
            f"WHERE application_name IN ({marks})"
        )
        if lock and self.dialect == "postgres":
            statement += " FOR UPDATE"
        cursor.execute(self.sql(statement), names)
        found: dict[str, int] = {}
        for row in cursor.fetchall():
            name, position = (
                (row["application_name"], row["notification_id"])
                if isinstance(row, dict)
                else (row[0], row[1])
            )
            found[name] = int(position or 0)
        return {v: found.get(self.tracking_name(v), 0) for v in views}

    def write(self, changes: Sequence[ViewChanges]) -> None:
        if not changes:
            return
        with self.transaction() as cursor:
            stored = self._positions(cursor, [c.view for c in changes], lock=True)
            for change in changes:
                if stored[change.view] != change.start:
                    raise PositionMoved(change.view)
            for change in changes:
                for table_changes in change.tables.values():
                    table = table_changes.table
                    if table.owner is not None:
                        self._replace(cursor, table, table_changes.owners, table_changes.rows)
                    else:
                        self._add(cursor, table, table_changes.deltas)
                try:
                    self.tracking._insert_tracking(
                        cursor, Tracking(self.tracking_name(change.view), change.end)
                    )
                except IntegrityError:
                    raise PositionMoved(change.view) from None
            self.before_commit(changes)

    def before_commit(self, changes: Sequence[ViewChanges]) -> None:
        """Called inside the transaction just before it commits (tests simulate crashes here)."""

    def _replace(
        self, cursor: Any, table: Table, owners: set[Any], rows: list[dict[str, Any]]
    ) -> None:
        if not owners:
            return
        name = self.qualified(self.table_name(table))
        owner = quote(cast(str, table.owner))
        columns = table.columns
        if self.dialect == "postgres":
            cursor.execute(f"DELETE FROM {name} WHERE {owner} = ANY(%s)", (list(owners),))
            if rows:
                names = ", ".join(quote(c.name) for c in columns)
                with cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c.name] for c in columns])
            return
        ids = [str(o) for o in owners]
        for at in range(0, len(ids), SQLITE_CHUNK):
            chunk = ids[at : at + SQLITE_CHUNK]
            cursor.execute(
                f"DELETE FROM {name} WHERE {owner} IN ({', '.join('?' * len(chunk))})", chunk
            )
        if rows:
            names = ", ".join(quote(c.name) for c in columns)
            marks = ", ".join("?" * len(columns))
            cursor.executemany(
                f"INSERT INTO {name} ({names}) VALUES ({marks})",
                [[_to_sqlite(c.type, row[c.name]) for c in columns] for row in rows],
            )

    def _add(self, cursor: Any, table: Table, deltas: dict[tuple[Any, ...], int]) -> None:
        changes = [(key, change) for key, change in deltas.items() if change]
        if not changes:
            return
        name = self.qualified(self.table_name(table))
        count = quote(cast(str, table.counter))
        keys = ", ".join(quote(k) for k in table.key)
        marks = ", ".join(["%s"] * (len(table.key) + 1))
        statement = self.sql(
            f"INSERT INTO {name} ({keys}, {count}) VALUES ({marks}) "
            f"ON CONFLICT ({keys}) DO UPDATE SET {count} = {name}.{count} + excluded.{count}"
        )
        if self.dialect == "sqlite":
            key_types = [table.column(k).type for k in table.key]
            params = [
                [*(_to_sqlite(t, v) for t, v in zip(key_types, key, strict=True)), change]
                for key, change in changes
            ]
        else:
            params = [[*key, change] for key, change in changes]
        cursor.executemany(statement, params)
        cursor.execute(f"DELETE FROM {name} WHERE {count} = 0")

    # --- reading ----------------------------------------------------------------------------

    def decode(self, table: Table, row: Any, names: Sequence[str]) -> dict[str, Any]:
        """A fetched row as a dict of Python values (only needed on SQLite)."""
        values = row if not isinstance(row, dict) else [row[n] for n in names]
        result: dict[str, Any] = {}
        for name, value in zip(names, values, strict=True):
            if self.dialect == "sqlite":
                try:
                    kind = table.column(name).type
                except KeyError:
                    result[name] = value
                    continue
                result[name] = _from_sqlite(kind, value)
            elif isinstance(value, datetime):
                result[name] = value.astimezone(UTC)
            else:
                result[name] = value
        return result

    def encode(self, table: Table, column: str, value: Any) -> Any:
        """A Python value as a query parameter for ``column``."""
        if self.dialect == "sqlite":
            return _to_sqlite(table.column(column).type, value)
        return value

    def select(
        self, table: Table, statement: str, params: Sequence[Any] = ()
    ) -> list[dict[str, Any]]:
        """Run a SELECT written with ``{table}`` for the table's name and ``%s`` marks."""
        text = self.sql(statement.format(table=self.qualified(self.table_name(table))))
        with self.transaction(write=False) as cursor:
            cursor.execute(text, list(params))
            names = _column_names(cursor)
            return [self.decode(table, row, names) for row in cursor.fetchall()]

    def iterate(
        self, table: Table, statement: str, params: Sequence[Any] = (), *, chunk: int = 1_000
    ) -> Iterator[dict[str, Any]]:
        """Like ``select`` but streamed in chunks (an export never holds a whole listing)."""
        text = self.sql(statement.format(table=self.qualified(self.table_name(table))))
        with self.transaction(write=False) as cursor:
            cursor.execute(text, list(params))
            names = _column_names(cursor)
            while True:
                rows = getattr(cursor, "sqlite_cursor", cursor).fetchmany(chunk)
                if not rows:
                    return
                for row in rows:
                    yield self.decode(table, row, names)

    # --- rebuild ----------------------------------------------------------------------------

    def swap_into_live(self, catch_up: Callable[[], object] | None = None) -> bool:
        """Put this (rebuilt) set of tables in place of the live ones.

        Holds command writers off for the moment of the swap; on PostgreSQL ``catch_up`` (the
        rebuild's runner) then applies the last events in the same transaction, so the swap
        succeeds however busy the writers are. Otherwise returns False, changing nothing, if
        events were recorded after this set's position (catch up and retry)."""
        if self.suffix == LIVE:
            raise ValueError("only a rebuilt set can replace the live views")
        names = [v.name for v in self.views]
        with self.transaction() as cursor:
            self.hold_off_writers(cursor)
            head = self.head(cursor)
            mine = self._positions(cursor, names)
            # On SQLite the catch-up would need a second connection from the pool while this
            # one holds its only writer, and a command waiting for the writer holds the pool's
            # queue: there the caller catches up between attempts instead.
            behind = any(position < head for position in mine.values())
            if catch_up is not None and behind and self.dialect == "postgres":
                self._shared_cursor = cursor
                try:
                    catch_up()
                finally:
                    self._shared_cursor = None
                mine = self._positions(cursor, names)
            if any(position < head for position in mine.values()):
                return False
            live = ViewDatabase(self.store, self.views, suffix=LIVE)
            live._positions(cursor, names, lock=True)
            for view in self.views:
                for table in view.tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {self.qualified(live.table_name(table))}")
                    rename = quote(live.table_name(table))
                    cursor.execute(
                        f"ALTER TABLE {self.qualified(self.table_name(table))} RENAME TO {rename}"
                    )
                cursor.execute(
                    self.sql(
                        f"DELETE FROM {self.tracking_table} WHERE application_name IN (%s, %s)"
                    ),
                    (live.tracking_name(view.name), self.tracking_name(view.name)),
                )
                cursor.execute(
                    self.sql(f"INSERT INTO {self.tracking_table} VALUES (%s, %s)"),
                    (live.tracking_name(view.name), mine[view.name]),
                )
                for name in (live.tracking_name(view.name), self.tracking_name(view.name)):
                    cursor.execute(
                        self.sql(f"DELETE FROM {self.qualified(META_TABLE)} WHERE view = %s"),
                        (name,),
                    )
                cursor.execute(
                    self.sql(f"INSERT INTO {self.qualified(META_TABLE)} VALUES (%s, %s)"),
                    (live.tracking_name(view.name), view.version),
                )
        return True


def _memory_datastore(store: Store) -> SQLiteDatastore:
    """One in-memory SQLite database per in-memory event store (tests, examples), kept on the
    store's recorder so it lives and dies with it."""
    recorder = store.recorder
    found = getattr(recorder, "_khenthuong_views", None)
    if found is None:
        found = SQLiteDatastore(f"file:views-{secrets.token_hex(8)}?mode=memory&cache=shared")
        recorder._khenthuong_views = found  # type: ignore[attr-defined]
    return cast(SQLiteDatastore, found)


def _column_names(cursor: Any) -> list[str]:
    raw = getattr(cursor, "sqlite_cursor", cursor)
    return [d[0] for d in raw.description]


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for a PostgreSQL advisory lock."""
    import hashlib

    digest = hashlib.sha256(f"khenthuong:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_key(name: str) -> int:
    return _lock_key(name)
