"""The projections of one process: who runs which view, waking the runner, waiting for it.

A process runs a view only while it holds that view's lock (a PostgreSQL session advisory lock,
or an exclusive lock on a file next to the SQLite database), so however many API processes and
``khenthuong projections run`` processes share a database, each view has one active runner;
the others retry the lock every few seconds and take over if its holder stops.

The runner wakes when this process commits a command (``notify``), on PostgreSQL when any
process does (LISTEN on the event store's NOTIFY channel), and otherwise polls.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import structlog

from application.projections.runner import Runner
from application.projections.views import View, build_views
from application.store import Store
from domain.calendar import WorkCalendar
from infrastructure.views.database import LIVE, ViewDatabase, lock_key

log = structlog.get_logger("khenthuong.projections")

LOCK_RETRY_SECONDS = 5.0
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class ViewStatus:
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    running_here: bool
    events_applied: int
    errors: int
    kind: str = "view"
    """``view``, or ``follower`` for another follower of the log (the audit log's writer)."""


@dataclass(frozen=True)
class FollowerProgress:
    """What a follower reports about itself: its name in the tracking table and this
    process's counters (its position and lag are read like a view's)."""

    name: str
    running_here: bool
    events_applied: int
    errors: int


class _Locks:
    """One exclusive lock per view, held for as long as this process runs the view."""

    def __init__(self, store: Store, database: ViewDatabase, postgres_conninfo: str | None) -> None:
        self._store = store
        self._database = database
        self._conninfo = postgres_conninfo
        self._connection: Any = None
        self._files: dict[str, int] = {}
        self._held: set[str] = set()

    def _sqlite_path(self) -> Path | None:
        name = getattr(self._database.datastore.pool, "db_name", "")
        if not name or "mode=memory" in name or ":memory:" in name:
            return None
        return Path(name)

    def try_acquire(self, names: Sequence[str]) -> set[str]:
        wanted = [n for n in names if n not in self._held]
        if self._database.dialect == "postgres":
            if self._connection is None:
                import psycopg

                self._connection = psycopg.connect(self._conninfo or "", autocommit=True)
            for name in wanted:
                key = lock_key(f"view:{self._database.schema}:{name}")
                row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if row and row[0]:
                    self._held.add(name)
        else:
            path = self._sqlite_path()
            for name in wanted:
                if path is None:
                    if _memory_lock(self._store, name).acquire(blocking=False):
                        self._held.add(name)
                    continue
                descriptor = os.open(f"{path}.view-{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    os.close(descriptor)
                    continue
                self._files[name] = descriptor
                self._held.add(name)
        return set(self._held)

    def check(self) -> set[str]:
        """The views still held: a PostgreSQL session that dropped has lost its locks."""
        if self._database.dialect == "postgres" and self._connection is not None:
            try:
                self._connection.execute("SELECT 1")
            except Exception:
                self._forget()
        return set(self._held)

    def _forget(self) -> None:
        self._held.clear()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None

    def release(self) -> None:
        for name in list(self._held):
            descriptor = self._files.pop(name, None)
            if descriptor is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)
            elif self._database.dialect == "sqlite":
                lock = _memory_lock(self._store, name)
                if lock.locked():
                    lock.release()
        self._held.clear()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


_MEMORY_LOCKS_GUARD = threading.Lock()


def _memory_lock(store: Store, name: str) -> threading.Lock:
    """The in-memory store's per-view locks, kept on its recorder."""
    recorder = store.recorder
    with _MEMORY_LOCKS_GUARD:
        locks: dict[str, threading.Lock] | None = getattr(recorder, "_khenthuong_view_locks", None)
        if locks is None:
            locks = {}
            recorder._khenthuong_view_locks = locks  # type: ignore[attr-defined]
        return locks.setdefault(name, threading.Lock())


class Follower(Protocol):
    """Another follower of the stored log that runs beside the views (the audit log's writer,
    ``infrastructure.audit.follower``): started, stopped and woken with them."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wake(self) -> None: ...


@runtime_checkable
class ReportsProgress(Protocol):
    """A follower whose position is tracked beside the views' and shown with them."""

    def progress(self) -> FollowerProgress: ...


class Projections:
    """The live views of one store: tables, the runner thread (when this process runs them),
    and the read-your-writes wait."""

    def __init__(
        self,
        store: Store,
        calendar: WorkCalendar,
        *,
        postgres_conninfo: str | None = None,
        batch_size: int = 2_000,
        cache_size: int = 20_000,
        views: Sequence[View] | None = None,
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.views = list(views) if views is not None else build_views(calendar)
        self.database = ViewDatabase(store, self.views, suffix=LIVE)
        self._conninfo = postgres_conninfo
        self._batch_size = batch_size
        self._cache_size = cache_size
        self._wake = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._locks = _Locks(store, self.database, postgres_conninfo)
        self.runner: Runner | None = None
        self.on_error: Callable[[BaseException], None] | None = None
        self.followers: list[Follower] = []
        """Run with the views (see ``Follower``); each keeps its own lock."""

    def view(self, name: str) -> View:
        for view in self.views:
            if view.name == name:
                return view
        raise KeyError(name)

    # --- lifecycle ------------------------------------------------------------------------

    def setup(self) -> list[str]:
        """Create the live tables (a view of an older version is emptied, to be rebuilt)."""
        return self.database.setup()

    def start(self) -> None:
        """Run the views this process can lock, in a background thread, until ``stop``."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="khenthuong-projections", daemon=True
        )
        self._thread.start()
        if self.database.dialect == "postgres" and self._conninfo:
            self._listener = threading.Thread(
                target=self._listen, name="khenthuong-projections-listen", daemon=True
            )
            self._listener.start()
        for follower in self.followers:
            follower.start()

    def stop(self) -> None:
        for follower in self.followers:
            follower.stop()
        self._stop.set()
        self._wake.set()
        alive = False
        for thread in (self._thread, self._listener):
            if thread is not None:
                thread.join(timeout=10)
                alive = alive or thread.is_alive()
        self._thread = None
        self._listener = None
        if not alive:  # a runner still writing keeps its locks (they go with the process)
            self._locks.release()
            self.runner = None

    def notify(self, position: int = 0) -> None:
        """A command was committed in this process: wake the runner now."""
        self._wake.set()
        for follower in self.followers:
            follower.wake()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self) -> None:
        names = [v.name for v in self.views]
        held: set[str] = set()
        next_try = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_try:
                try:
                    held = self._locks.check()
                    if len(held) < len(names):
                        held = self._locks.try_acquire(names)
                except Exception as error:
                    self._report(error)
                    held = self._locks.check()
                next_try = now + LOCK_RETRY_SECONDS
                if not held:
                    self.runner = None
                elif self.runner is None or set(self.runner.view_names) != held:
                    self.runner = Runner(
                        self.store,
                        [v for v in self.views if v.name in held],
                        self.database,
                        batch_size=self._batch_size,
                        cache_size=self._cache_size,
                    )
            if self.runner is None:
                self._stop.wait(min(LOCK_RETRY_SECONDS, 1.0))
                continue
            try:
                covered = self.runner.step()
            except Exception as error:
                self._report(error)
                self._stop.wait(0.5)
                continue
            if covered:
                with self._changed:
                    self._changed.notify_all()
                continue
            self._sleep(POLL_SECONDS)

    def _report(self, error: BaseException) -> None:
        log.error("projection_error", error=type(error).__name__, detail=str(error)[:200])
        if self.on_error is not None:
            self.on_error(error)

    def _listen(self) -> None:
        import psycopg

        channel = getattr(self.store.recorder, "channel_name", None)
        if not channel:
            return
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo or "", autocommit=True) as connection:
                    connection.execute(
                        psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel))
                    )
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=0.05, stop_after=1):
                            self._wake.set()
                            for follower in self.followers:
                                follower.wake()
            except Exception as error:
                self._report(error)
                self._stop.wait(1.0)

    def run_until_caught_up(self) -> int:
        """Bring every view up to date now, in this thread (tests, the CLI, start-up)."""
        runner = Runner(
            self.store,
            self.views,
            self.database,
            batch_size=self._batch_size,
            cache_size=self._cache_size,
        )
        return runner.run_until_caught_up()

    # --- positions ------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        return self.database.positions([v.name for v in self.views])

    def wait_for(
        self, position: int, *, views: Sequence[str] | None = None, timeout: float = 2.0
    ) -> bool:
        """Wait until the named views (all by default) have applied ``position``."""
        names = list(views) if views is not None else [v.name for v in self.views]
        deadline = time.monotonic() + timeout
        while True:
            current = self._known_positions(names)
            if min(current.values(), default=0) >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._wake.set()
            with self._changed:
                self._changed.wait(min(remaining, 0.02))

    def _known_positions(self, names: Sequence[str]) -> dict[str, int]:
        """From this process's runner when it runs all the named views (no query), else from
        the tracking table."""
        runner = self.runner
        if runner is not None and set(names) <= set(runner.view_names):
            known = runner.known_positions()
            if known is not None:
                return {name: known[name] for name in names}
        return self.database.positions(names)

    def status(self, *, followers: bool = False) -> list[ViewStatus]:
        """Each view's position, how far it is behind the log, and this process's counters;
        with ``followers``, then the same for the followers that report it (the audit log)."""
        head = self.store.max_position()
        reporting = [
            follower.progress()
            for follower in (self.followers if followers else ())
            if isinstance(follower, ReportsProgress)
        ]
        positions = self.database.positions(
            [v.name for v in self.views] + [p.name for p in reporting]
        )
        runner = self.runner
        behind: dict[int, float] = {}  # one read per position (the views usually share one)

        def status(progress: FollowerProgress, kind: str) -> ViewStatus:
            position = positions.get(progress.name, 0)
            if position not in behind:
                behind[position] = self._seconds_behind(position, head)
            return ViewStatus(
                name=progress.name,
                position=position,
                head=head,
                lag_events=max(0, head - position),
                lag_seconds=behind[position],
                running_here=progress.running_here,
                events_applied=progress.events_applied,
                errors=progress.errors,
                kind=kind,
            )

        result = []
        for view in self.views:
            stats = runner.stats.views.get(view.name) if runner is not None else None
            ran = FollowerProgress(
                view.name,
                stats is not None,
                stats.events if stats else 0,
                stats.errors if stats else 0,
            )
            result.append(status(ran, "view"))
        return result + [status(progress, "follower") for progress in reporting]

    def _seconds_behind(self, position: int, head: int) -> float:
        """The age of the oldest event after ``position`` (0 when up to date)."""
        if position >= head:
            return 0.0
        pending = self.store.recorder.select_notifications(start=position + 1, limit=1)
        if pending:
            event = self.store.mapper.to_domain_event(pending[0])
            stamp = getattr(event, "timestamp", None)
            if stamp is not None:
                return max(0.0, time.time() - float(stamp.timestamp()))
        return 0.0
