"""Rebuild the views from the log, and check that the live views equal a rebuild.

``rebuild`` fills a scratch set of tables (``__new``) from the whole log in large batches,
indexes it once, and swaps it into place in one transaction (``ViewDatabase.swap_into_live``):
readers see the old tables until the swap and the new ones after it, never a half-built view.
A live runner still following the old tables notices that its position moved and carries on
from the new one.

``verify`` fills another scratch set (``__verify``), brings the live views and the scratch set
to the same log position, and compares them row by row in one snapshot: every column of a
keyed table, the count of a counter table. The comparison runs in the database (a full outer
join on the table's key), so only the rows that differ are brought back. The scratch set is
dropped at the end, whatever happens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from application.projections.runner import Runner
from application.projections.schema import Table
from application.projections.views import View
from application.store import Store
from infrastructure.views.database import LIVE, REBUILD, VERIFY, ViewDatabase, quote
from infrastructure.views.parallel import default_workers, fill_in_parallel

__all__ = [
    "REBUILD_BATCH_SIZE",
    "REBUILD_CACHE_SIZE",
    "Difference",
    "Progress",
    "RebuildError",
    "RebuildResult",
    "TableReport",
    "VerifyReport",
    "ViewReport",
    "catch_up_with_runner",
    "rebuild",
    "verify",
]

REBUILD_BATCH_SIZE = 100_000
"""Events per transaction in a rebuild: each batch derives a touched aggregate's rows once,
so big batches write far fewer rows (measured in bench/projections.py)."""
REBUILD_CACHE_SIZE = 100_000
SWAP_ATTEMPTS = 100
VERIFY_ATTEMPTS = 10
KEEP_DIFFERENCES = 1_000

Progress = Callable[[int, int], None]
"""Told ``(position, head)`` after each batch: how far the scratch views are in the log."""

LiveCatchUp = Callable[[int], None]
"""Bring the live views to at least the given position (as far as it can; verify checks)."""


class RebuildError(Exception):
    """A rebuild or verification could not finish (the message is for people, in Vietnamese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- rebuild ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildResult:
    views: tuple[str, ...]
    position: int
    """The log position the rebuilt views reached when they were swapped in."""
    events: int
    """Events read from the log and applied to the rebuilt tables."""
    seconds: float
    swaps: int
    """Attempts at the swap (more than 1: events arrived meanwhile and were caught up)."""


def rebuild(
    store: Store,
    views: Sequence[View],
    *,
    batch_size: int = REBUILD_BATCH_SIZE,
    cache_size: int = REBUILD_CACHE_SIZE,
    progress: Progress | None = None,
    attempts: int = SWAP_ATTEMPTS,
    workers: int | None = None,
) -> RebuildResult:
    """Build ``views`` afresh from the log in scratch tables and put them in place of the live
    ones. Safe while a live runner is running; raises ``RebuildError`` if the log keeps
    moving faster than the swap can catch it ``attempts`` times (the scratch set is dropped).
    On PostgreSQL the scratch tables are filled by ``workers`` processes (default: one per
    core; 1 fills them in this process)."""
    started = time.monotonic()
    scratch = ViewDatabase(store, views, suffix=REBUILD)
    scratch.drop()
    scratch.setup(indexes=False)
    try:
        parallel_events = _fill(scratch, workers, batch_size, cache_size, progress)
        runner = Runner(store, views, scratch, batch_size=batch_size, cache_size=cache_size)
        runner.run_until_caught_up(progress)
        scratch.create_indexes()
        for attempt in range(1, attempts + 1):
            position = min(runner.positions().values())
            if scratch.swap_into_live(catch_up=runner.run_until_caught_up):
                return RebuildResult(
                    views=tuple(v.name for v in views),
                    position=position,
                    events=parallel_events + _events(runner),
                    seconds=time.monotonic() - started,
                    swaps=attempt,
                )
            runner.run_until_caught_up(progress)
    except BaseException:
        with suppress(Exception):  # the original error matters more than a failed clean-up
            scratch.drop()
        raise
    scratch.drop()
    raise RebuildError(
        f"Không thay được bảng dựng lại vào chỗ bảng đang dùng sau {attempts} lần thử: sự kiện "
        "mới được ghi liên tục trong lúc thay. Hãy chạy lại lệnh lúc hệ thống ít việc hơn."
    )


def _events(runner: Runner) -> int:
    return max((stats.events for stats in runner.stats.views.values()), default=0)


def _fill(
    scratch: ViewDatabase,
    workers: int | None,
    batch_size: int,
    cache_size: int,
    progress: Progress | None,
) -> int:
    """Fill empty scratch tables with worker processes where that helps (PostgreSQL, a log
    of at least one batch); returns the events they applied (0 when it did nothing: the
    caller's runner then does all the work)."""
    count = default_workers() if workers is None else workers
    if count < 2 or scratch.dialect != "postgres" or scratch.store.max_position() < batch_size:
        return 0
    try:
        _, events = fill_in_parallel(
            scratch,
            workers=count,
            batch_size=batch_size,
            cache_size=max(1, cache_size // count),
            progress=progress,
        )
    except RuntimeError as error:
        raise RebuildError(f"Không dựng lại được bảng bằng nhiều tiến trình: {error}") from error
    return events


# --- verify -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One cell (or a whole row) where the live table and the rebuild disagree."""

    view: str
    table: str
    key: dict[str, Any]
    column: str | None
    """The column that differs; None when the row exists on one side only."""
    live: Any
    rebuilt: Any
    kind: str = "changed"
    """``changed`` (a column), ``missing`` (the live table lacks the row), ``extra`` (only the
    live table has it)."""


@dataclass(frozen=True)
class TableReport:
    table: str
    counter: bool
    live_rows: int
    rebuilt_rows: int
    differences: int
    """Differing cells plus rows found on one side only."""


@dataclass(frozen=True)
class ViewReport:
    name: str
    position: int
    """The log position at which both sides were compared."""
    tables: tuple[TableReport, ...]

    @property
    def differences(self) -> int:
        return sum(t.differences for t in self.tables)


@dataclass
class VerifyReport:
    views: list[ViewReport] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    """The first differences found (at most ``keep`` of them), in view, table and key order."""
    seconds: float = 0.0
    attempts: int = 0

    @property
    def total_differences(self) -> int:
        return sum(v.differences for v in self.views)

    @property
    def ok(self) -> bool:
        return self.total_differences == 0


def catch_up_with_runner(
    store: Store,
    views: Sequence[View],
    *,
    batch_size: int = REBUILD_BATCH_SIZE,
    cache_size: int = REBUILD_CACHE_SIZE,
) -> LiveCatchUp:
    """Bring the live views up to date with a runner of one's own. Safe beside another live
    runner: a view's position is checked in every write, so no event is applied twice."""
    live = ViewDatabase(store, views, suffix=LIVE)
    live.setup()
    runner = Runner(store, views, live, batch_size=batch_size, cache_size=cache_size)

    def catch_up(position: int) -> None:
        runner.reset()
        runner.run_until_caught_up()

    return catch_up


def verify(
    store: Store,
    views: Sequence[View],
    *,
    batch_size: int = REBUILD_BATCH_SIZE,
    cache_size: int = REBUILD_CACHE_SIZE,
    progress: Progress | None = None,
    catch_up_live: LiveCatchUp | None = None,
    attempts: int = VERIFY_ATTEMPTS,
    keep: int = KEEP_DIFFERENCES,
    workers: int | None = None,
) -> VerifyReport:
    """Rebuild ``views`` into scratch tables and compare them with the live tables, each view
    at one log position on both sides. ``catch_up_live`` brings the live views forward
    (default: a runner of this process). Raises ``RebuildError`` when a view could not be
    caught at the same position on both sides within ``attempts`` tries."""
    started = time.monotonic()
    live = ViewDatabase(store, views, suffix=LIVE)
    scratch = ViewDatabase(store, views, suffix=VERIFY)
    if catch_up_live is None:
        catch_up_live = catch_up_with_runner(
            store, views, batch_size=batch_size, cache_size=cache_size
        )
    report = VerifyReport()
    compared: dict[str, ViewReport] = {}
    scratch.drop()
    try:
        scratch.setup(indexes=False)
        _fill(scratch, workers, batch_size, cache_size, progress)
        runner = Runner(store, views, scratch, batch_size=batch_size, cache_size=cache_size)
        for attempt in range(1, attempts + 1):
            report.attempts = attempt
            target = runner.run_until_caught_up(progress)
            catch_up_live(target)
            with _snapshot(live) as cursor:
                pending = [v for v in views if v.name not in compared]
                names = [v.name for v in pending]
                at_live = _positions(cursor, live, names)
                at_scratch = _positions(cursor, scratch, names)
                for view in pending:
                    if at_live[view.name] != at_scratch[view.name]:
                        continue
                    compared[view.name] = _compare_view(
                        cursor, live, scratch, view, at_live[view.name], report, keep
                    )
            if len(compared) == len(views):
                break
        else:
            missing = ", ".join(v.name for v in views if v.name not in compared)
            raise RebuildError(
                f"Không so sánh được bảng {missing}: sau {attempts} lần thử, bảng đang dùng và "
                "bảng dựng lại vẫn chưa ở cùng một vị trí trong nhật ký (bộ chạy bảng đang dùng "
                "bị dừng hoặc chậm, hoặc sự kiện mới được ghi liên tục). Kiểm tra: "
                "khenthuong projections status."
            )
    finally:
        with suppress(Exception):
            scratch.drop()
    report.views = [compared[v.name] for v in views]
    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _snapshot(database: ViewDatabase) -> Iterator[Any]:
    """A read-only transaction that sees one moment of the database throughout."""
    with database.transaction(write=False) as cursor:
        if database.dialect == "postgres":
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        # SQLite (WAL): a read transaction keeps the snapshot of its first read.
        yield cursor


def _value(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]


def _positions(cursor: Any, database: ViewDatabase, views: Sequence[str]) -> dict[str, int]:
    if not views:
        return {}
    names = [database.tracking_name(v) for v in views]
    marks = ", ".join(["%s"] * len(names))
    cursor.execute(
        database.sql(
            f"SELECT application_name, notification_id FROM {database.tracking_table} "
            f"WHERE application_name IN ({marks})"
        ),
        names,
    )
    found = {
        _value(row, "application_name", 0): int(_value(row, "notification_id", 1) or 0)
        for row in cursor.fetchall()
    }
    return {v: found.get(database.tracking_name(v), 0) for v in views}


def _count(cursor: Any, name: str) -> int:
    cursor.execute(f"SELECT count(*) AS n FROM {name}")
    return int(_value(cursor.fetchone(), "n", 0))


def _compare_view(
    cursor: Any,
    live: ViewDatabase,
    scratch: ViewDatabase,
    view: View,
    position: int,
    report: VerifyReport,
    keep: int,
) -> ViewReport:
    tables = tuple(
        _compare_table(cursor, live, scratch, view, table, report, keep) for table in view.tables
    )
    return ViewReport(name=view.name, position=position, tables=tables)


def _compare_table(
    cursor: Any,
    live: ViewDatabase,
    scratch: ViewDatabase,
    view: View,
    table: Table,
    report: VerifyReport,
    keep: int,
) -> TableReport:
    live_name = live.qualified(live.table_name(table))
    scratch_name = scratch.qualified(scratch.table_name(table))
    keys = table.key
    values = [c for c in table.column_names if c not in keys]
    distinct = "IS DISTINCT FROM" if live.dialect == "postgres" else "IS NOT"
    first = quote(keys[0])
    join = " AND ".join(f"l.{quote(k)} = r.{quote(k)}" for k in keys)
    changed = [f"l.{quote(c)} {distinct} r.{quote(c)}" for c in values]
    one_side = f"l.{first} IS NULL OR r.{first} IS NULL"
    source = (
        f"FROM {live_name} AS l FULL OUTER JOIN {scratch_name} AS r ON {join} "
        f"WHERE {' OR '.join([one_side, *changed])}"
    )
    cells = " + ".join(f"CASE WHEN {c} THEN 1 ELSE 0 END" for c in changed) or "0"
    cursor.execute(
        f"SELECT coalesce(sum(CASE WHEN {one_side} THEN 1 ELSE {cells} END), 0) AS n {source}"
    )
    differences = int(_value(cursor.fetchone(), "n", 0))
    room = keep - len(report.differences)
    if differences and room > 0:
        columns = table.column_names
        selected = ", ".join(
            [f"l.{quote(c)} AS {quote(f'l{i}')}" for i, c in enumerate(columns)]
            + [f"r.{quote(c)} AS {quote(f'r{i}')}" for i, c in enumerate(columns)]
        )
        order = ", ".join(f"coalesce(l.{quote(k)}, r.{quote(k)})" for k in keys)
        cursor.execute(f"SELECT {selected} {source} ORDER BY {order} LIMIT {int(room)}")
        width = len(columns)
        for row in cursor.fetchall():
            raw = [_value(row, f"l{i}", i) for i in range(width)]
            raw_r = [_value(row, f"r{i}", width + i) for i in range(width)]
            left = live.decode(table, raw, columns)
            right = live.decode(table, raw_r, columns)
            report.differences.extend(_row_differences(view.name, table, left, right))
        del report.differences[keep:]
    return TableReport(
        table=table.name,
        counter=table.counter is not None,
        live_rows=_count(cursor, live_name),
        rebuilt_rows=_count(cursor, scratch_name),
        differences=differences,
    )


def _row_differences(
    view: str, table: Table, live: dict[str, Any], rebuilt: dict[str, Any]
) -> list[Difference]:
    keys = table.key
    if live[keys[0]] is None:
        key = {k: rebuilt[k] for k in keys}
        return [Difference(view, table.name, key, None, None, rebuilt, kind="missing")]
    key = {k: live[k] for k in keys}
    if rebuilt[keys[0]] is None:
        return [Difference(view, table.name, key, None, live, None, kind="extra")]
    return [
        Difference(view, table.name, key, column, live[column], rebuilt[column])
        for column in table.column_names
        if column not in keys and live[column] != rebuilt[column]
    ]
