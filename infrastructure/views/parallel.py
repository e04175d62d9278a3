"""Fill a scratch set of view tables from the log with several processes (PostgreSQL).

A rebuild is bound by Python's work per event (decode, fold, derive rows), which one process
does on one core. Every row of a keyed view table belongs to one aggregate and is derived from
that aggregate alone, so the aggregates can be shared out: worker ``k`` of ``n`` reads only the
events of aggregates whose id ends in a byte ``b`` with ``b % n == k``, folds them, and writes
their rows into the scratch tables in its own transactions. Counter tables (statistics) are
not written by the workers: each worker adds up its deltas in memory and hands them back, and
the parent writes their sum and every view's tracking position in one final transaction.

This is only for scratch tables that nobody reads (a rebuild or a verification): if anything
fails, the parent raises and the caller drops the scratch set; a half-filled set is never
swapped in, because its tracking positions are written last.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Tracking

from application.projections.runner import LogReader, Runner
from application.projections.schema import CounterKey, ViewChanges, merge_deltas
from application.projections.views import View
from application.store import Store
from infrastructure.views.database import ViewDatabase

__all__ = ["default_workers", "fill_in_parallel"]

WORKER_POLL_SECONDS = 0.5

Progress = Callable[[int, int], None]
Deltas = dict[str, dict[str, dict[CounterKey, int]]]
"""view -> counter table -> key -> change."""


def default_workers() -> int:
    """One worker per core (PostgreSQL runs beside them, but waits on I/O part of the time)."""
    return max(1, min(os.cpu_count() or 1, 8))


class _PartitionSink(ViewDatabase):
    """A worker's sink: its share of the log, rows only, positions kept in memory."""

    def __init__(
        self, store: Store, views: Sequence[View], *, suffix: str, part: int, parts: int
    ) -> None:
        super().__init__(store, views, suffix=suffix)
        self.part = part
        self.parts = parts
        self.deltas: Deltas = {v.name: {} for v in views}
        self._at = {v.name: 0 for v in views}

    def log_reader(self, *, share: tuple[int, int] | None = None) -> LogReader | None:
        return super().log_reader(share=(self.part, self.parts))

    def positions(self, views: Sequence[str]) -> dict[str, int]:
        return {v: self._at[v] for v in views}

    def write(self, changes: Sequence[ViewChanges]) -> None:
        with self.transaction() as cursor:
            for change in changes:
                for table_changes in change.tables.values():
                    table = table_changes.table
                    if table.owner is not None:
                        self._replace(cursor, table, table_changes.owners, table_changes.rows)
        for change in changes:
            sums = self.deltas[change.view]
            for name, table_changes in change.tables.items():
                if table_changes.table.owner is None and table_changes.deltas:
                    merge_deltas(sums.setdefault(name, {}), table_changes.deltas)
            self._at[change.view] = change.end


def _work(
    name: str,
    env: dict[str, str],
    views: list[View],
    suffix: str,
    part: int,
    parts: int,
    until: int,
    batch_size: int,
    cache_size: int,
    reports: Any,
) -> None:
    """One worker process: fill its share of the scratch tables up to ``until``."""
    try:
        # The parent's store under its own name (the name picks the events table).
        kind = type("RebuildStore", (Store,), {"name": name})
        store = kind({**env, "CREATE_TABLE": "n"})
        try:
            sink = _PartitionSink(store, views, suffix=suffix, part=part, parts=parts)
            runner = Runner(store, views, sink, batch_size=batch_size, cache_size=cache_size)
            runner.until = until
            while runner.step():
                reports.put(("progress", part, min(runner.positions().values())))
            events = max((s.events for s in runner.stats.views.values()), default=0)
            reports.put(("done", part, sink.deltas, events))
        finally:
            store.close()
    except BaseException:
        reports.put(("error", part, traceback.format_exc()))
        raise


def fill_in_parallel(
    scratch: ViewDatabase,
    *,
    workers: int,
    batch_size: int,
    cache_size: int,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Fill ``scratch`` (empty, at position 0) up to the log's current end with ``workers``
    processes; returns ``(position, events applied)``. Raises RuntimeError if a worker fails."""
    store = scratch.store
    until = store.max_position()
    names = [v.name for v in scratch.views]
    if until == 0 or any(scratch.positions(names).values()):
        raise RuntimeError("parallel fill needs empty scratch tables and a non-empty log")
    context = multiprocessing.get_context("spawn")
    reports: Any = context.Queue()
    env = dict(store.env)
    name = store.name
    processes = [
        context.Process(
            target=_work,
            args=(
                name,
                env,
                scratch.views,
                scratch.suffix,
                part,
                workers,
                until,
                batch_size,
                cache_size,
                reports,
            ),
            name=f"khenthuong-rebuild-{part}",
            daemon=True,
        )
        for part in range(workers)
    ]
    for process in processes:
        process.start()
    reached = dict.fromkeys(range(workers), 0)
    totals: Deltas = {name: {} for name in names}
    events = 0
    finished: set[int] = set()
    try:
        while len(finished) < workers:
            try:
                report = reports.get(timeout=WORKER_POLL_SECONDS)
            except queue.Empty:
                for part, process in enumerate(processes):
                    if part not in finished and not process.is_alive():
                        raise RuntimeError(
                            f"worker {part} stopped (exit status {process.exitcode})"
                        ) from None
                continue
            kind, part = report[0], report[1]
            if kind == "progress":
                reached[part] = report[2]
                if progress is not None:
                    progress(min(reached.values()), until)
            elif kind == "done":
                for view, tables in report[2].items():
                    for table, deltas in tables.items():
                        merge_deltas(totals[view].setdefault(table, {}), deltas)
                events += report[3]
                reached[part] = until
                finished.add(part)
            else:
                raise RuntimeError(f"worker {part} failed:\n{report[2]}")
    finally:
        for process in processes:
            if process.is_alive() and len(finished) < workers:
                process.terminate()
            process.join(timeout=10)
    with scratch.transaction() as cursor:
        for view in scratch.views:
            for table in view.tables:
                if table.owner is None:
                    scratch._add(cursor, table, totals[view.name].get(table.name, {}))
            scratch.tracking._insert_tracking(
                cursor, Tracking(scratch.tracking_name(view.name), until)
            )
    if progress is not None:
        progress(until, until)
    return until, events
