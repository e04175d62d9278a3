"""Keeping the audit log up to date inside a running process, beside the views.

``AuditFollower`` runs ``AuditLog.step`` in a background thread while this process holds the
audit log's lock — the views' kind of lock (a PostgreSQL session advisory lock, or a lock file
next to the SQLite database), under the name ``audit_log`` — so however many API and
``khenthuong projections run`` processes share a database, one writes the tree and the others
stand by to take over. ``Projections`` starts, stops and wakes it with the views: on every
command this process commits, and on PostgreSQL on every commit of any process (LISTEN).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from infrastructure.audit.log import TRACKING_NAME, AuditLog
from infrastructure.views.service import (
    LOCK_RETRY_SECONDS,
    POLL_SECONDS,
    FollowerProgress,
    _Locks,
)

__all__ = ["AuditFollower"]

log = structlog.get_logger("khenthuong.audit")
MAX_BACKOFF_SECONDS = 30.0


class AuditFollower:
    """The audit log's writer thread of one process."""

    def __init__(self, audit_log: AuditLog, *, postgres_conninfo: str | None = None) -> None:
        self.audit_log = audit_log
        self._locks = _Locks(audit_log.store, audit_log.database, postgres_conninfo)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.running_here = False
        """Whether this process holds the lock and writes the tree."""
        self.on_error: Callable[[BaseException], None] | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="khenthuong-audit", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=10)
            if thread.is_alive():  # still writing: its lock goes with the process
                return
        self._thread = None
        self._locks.release()
        self.running_here = False

    def wake(self) -> None:
        """New events may have been committed: look now."""
        self._wake.set()

    def progress(self) -> FollowerProgress:
        """Shown beside the views (``/metrics``, ``khenthuong projections status``)."""
        stats = self.audit_log.stats
        return FollowerProgress(TRACKING_NAME, self.running_here, stats.events, stats.errors)

    def _run(self) -> None:
        next_try = 0.0
        held = False
        backoff = 0.5
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_try:
                try:
                    held = TRACKING_NAME in self._locks.check() or TRACKING_NAME in (
                        self._locks.try_acquire([TRACKING_NAME])
                    )
                except Exception as error:
                    self._report(error)
                    held = TRACKING_NAME in self._locks.check()
                if held and not self.running_here:
                    self.audit_log.reset()  # another process may have written meanwhile
                self.running_here = held
                next_try = now + LOCK_RETRY_SECONDS
            if not held:
                self._stop.wait(min(LOCK_RETRY_SECONDS, 1.0))
                continue
            try:
                appended = self.audit_log.step()
            except Exception as error:  # reported, then tried again less and less often
                self._report(error)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            backoff = 0.5
            if appended:
                continue
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _report(self, error: BaseException) -> None:
        log.error("audit_log_error", error=type(error).__name__, detail=str(error)[:200])
        if self.on_error is not None:
            self.on_error(error)
