"""The batched projection runner: follow the stored log, fold aggregates, write view changes.

One runner serves several views from one read of the log. Each batch reads up to
``batch_size`` notifications, decodes each event once, folds it into the aggregate it belongs
to (kept in a bounded cache; a miss loads the aggregate at the version before the event), and
then asks each view for the rows of every aggregate the batch touched. The sink writes all the
views' rows and their tracking positions in one transaction, so each event is applied exactly
once: a crash before the commit leaves the views and their positions as they were.

Views may stand at different positions (one was just added or rebuilt). A batch never spans a
view's position: it ends there, so a view either takes the whole batch or none of it, and its
counters always start from the state at its own position.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic

from application.folding import apply_event
from application.projections.schema import TableChanges, ViewChanges, merge_deltas
from application.projections.views import View
from application.store import Store, replay

READ_CHUNK = 5_000


class PositionMoved(Exception):
    """A view's stored position is not where this runner left it (another writer moved it,
    e.g. a rebuild swapped in new tables): the runner starts again from the stored positions."""


LogRow = tuple[int, Any, int, str, bytes]
"""One stored event as read for the views: position, originator id, version, topic, state."""


class LogReader(Protocol):
    def __call__(
        self, start: int, stop: int, limit: int, topics: Sequence[str]
    ) -> Sequence[LogRow]:
        """Up to ``limit`` stored events of the given topics from ``start`` to ``stop``
        (both included), in log order."""
        ...


def rows_until(rows: Sequence[LogRow], stop: int) -> list[LogRow]:
    """The rows up to log position ``stop``. Readers leave the upper bound out of their SQL:
    with one, a freshly loaded table (no statistics yet) got a plan sorting the whole range for
    every chunk; and a read may see events recorded since ``stop`` was taken."""
    if rows and rows[-1][0] > stop:
        return [row for row in rows if row[0] <= stop]
    return list(rows)


def read_ahead(
    read: LogReader,
    start: int,
    stop: int,
    limit: int,
    topics: Sequence[str],
    pool: ThreadPoolExecutor | None,
    chunk_size: int | None = None,
) -> Iterator[list[LogRow]]:
    """Up to ``limit`` rows from ``start`` to ``stop`` in chunks of ``chunk_size`` (default
    ``READ_CHUNK``: one huge SELECT is slower than several). With a ``pool``, the next chunk is
    read in its thread while the caller works on this one: the database's part of a read
    overlaps with Python's work."""
    size = READ_CHUNK if chunk_size is None else chunk_size
    pending: Future[Sequence[LogRow]] | None = None
    cursor, remaining = start, limit
    try:
        while remaining > 0:
            want = min(size, remaining)
            chunk = list(
                pending.result() if pending is not None else read(cursor, stop, want, topics)
            )
            pending = None
            remaining -= len(chunk)
            full = len(chunk) == want
            if full and remaining > 0:
                cursor = chunk[-1][0] + 1
                if pool is not None:
                    following = min(size, remaining)
                    pending = pool.submit(read, cursor, stop, following, topics)
            yield chunk
            if not full:
                return
    finally:
        if pending is not None:  # the caller stopped early: don't leave it running
            pending.cancel()


def notifications_reader(store: Store) -> LogReader:
    """Reads through the library's ``select_notifications`` (any recorder)."""

    def read(start: int, stop: int, limit: int, topics: Sequence[str]) -> list[LogRow]:
        return [
            (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            for n in store.recorder.select_notifications(
                start=start, limit=limit, stop=stop, topics=topics
            )
        ]

    return read


class EventDecoder:
    """Stored event rows to domain events: the mapper's ``to_domain_event`` without building
    a ``StoredEvent`` for each row (the mapper itself when a cipher or compressor is set)."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self._mapper = mapper
        self._plain = mapper.cipher is None and mapper.compressor is None
        self._decode = mapper.transcoder.decode
        self._classes: dict[str, type] = {}

    def __call__(self, row: LogRow) -> Any:
        _, originator_id, version, topic, state = row
        if not self._plain:
            return self._mapper.to_domain_event(StoredEvent(originator_id, version, topic, state))
        cls = self._classes.get(topic)
        if cls is None:
            cls = self._classes[topic] = resolve_topic(topic)
        values: dict[str, Any] = self._decode(state)
        values["originator_id"] = (
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id)
        )
        values["originator_version"] = version
        class_version = getattr(cls, "class_version", 1)
        from_version = values.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(values)
            from_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", values)
        return event


class ViewSink(Protocol):
    """Where the views live (SQLite or PostgreSQL tables)."""

    def positions(self, views: Sequence[str]) -> dict[str, int]:
        """Each view's tracked position (0 when it has none yet)."""
        ...

    # A sink may also offer ``log_reader() -> LogReader | None``: a faster read of the log
    # than the library's notifications (the runner uses it when it answers one).

    def write(self, changes: Sequence[ViewChanges]) -> None:
        """Write every view's changes and its new position in one transaction.

        Raises ``PositionMoved`` (and writes nothing) when a view's stored position is not
        the ``start`` of its changes."""
        ...


def event_topics(kinds: Iterable[type[Aggregate]]) -> dict[str, type[Aggregate]]:
    """The stored topic of every event class of the given aggregates."""
    topics: dict[str, type[Aggregate]] = {}
    for kind in kinds:
        for value in vars(kind).values():
            if (
                isinstance(value, type)
                and issubclass(value, Aggregate.Event)
                and value.__qualname__.startswith(kind.__name__ + ".")
            ):
                topics[get_topic(value)] = kind
    return topics


@dataclass
class ViewStats:
    """Counters for one view, read by the metrics endpoint."""

    events: int = 0
    batches: int = 0
    errors: int = 0
    position: int = 0
    last_event_at: float | None = None
    """When the last applied event was recorded (seconds since the epoch)."""


@dataclass
class RunnerStats:
    views: dict[str, ViewStats] = field(default_factory=dict)
    head: int = 0
    """The log's last position when last looked at."""
    loads: int = 0
    """Aggregates loaded from the store on a cache miss."""


class AggregateCache:
    """The aggregates as of the runner's position; bounded, least recently used dropped."""

    def __init__(self, store: Store, size: int) -> None:
        self._store = store
        self._size = max(1, size)
        self._items: OrderedDict[UUID, Aggregate] = OrderedDict()
        self.loads = 0

    def clear(self) -> None:
        self._items.clear()

    def before(self, event: Any) -> Aggregate | None:
        """The aggregate as it was just before ``event``."""
        aggregate = self._items.get(event.originator_id)
        if aggregate is not None:
            self._items.move_to_end(event.originator_id)
            return aggregate
        if event.originator_version == 1:
            return None
        self.loads += 1
        loaded: Aggregate = self._store.repository.get(
            event.originator_id, version=event.originator_version - 1, projector_func=replay
        )
        return loaded

    def put(self, aggregate: Aggregate) -> None:
        self._items[aggregate.id] = aggregate
        self._items.move_to_end(aggregate.id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass
class _Touched:
    kind: type[Aggregate]
    snapshots: dict[str, Any]
    aggregate: Any = None
    """Held here for the whole batch, whatever the cache drops."""


class Runner:
    """Brings a set of views up to date with the stored log, batch by batch."""

    def __init__(
        self,
        store: Store,
        views: Sequence[View],
        sink: ViewSink,
        *,
        batch_size: int = 2_000,
        cache_size: int = 20_000,
        reader: LogReader | None = None,
    ) -> None:
        if not views:
            raise ValueError("a runner needs at least one view")
        self.store = store
        sink_reader = getattr(sink, "log_reader", None)
        fast_reader = reader or (sink_reader() if sink_reader else None)
        # A reader of its own (PostgreSQL) is safe to call from another thread: prefetch.
        self._prefetch = (
            ThreadPoolExecutor(1, thread_name_prefix="log-prefetch") if fast_reader else None
        )
        self._read = fast_reader or notifications_reader(store)
        self._decode = EventDecoder(store.mapper)
        self.views = list(views)
        self.sink = sink
        self.batch_size = batch_size
        self._kinds: dict[str, type[Aggregate]] = event_topics(
            {kind for view in self.views for kind in view.kinds}
        )
        self._topics = sorted(self._kinds)
        self._cache = AggregateCache(store, cache_size)
        self._positions: dict[str, int] | None = None
        self.stats = RunnerStats(views={v.name: ViewStats() for v in self.views})
        self._lock = threading.Lock()
        self._last_event_at: float | None = None
        """When the last event the runner decoded was recorded (for the lag metric)."""
        self.until: int | None = None
        """When set, the runner goes no further than this log position."""

    @property
    def view_names(self) -> list[str]:
        return [v.name for v in self.views]

    def positions(self) -> dict[str, int]:
        """Where each view stands (as last loaded or written by this runner)."""
        with self._lock:
            return dict(self._load_positions())

    def known_positions(self) -> dict[str, int] | None:
        """The positions this runner has committed, without asking the database (None until
        it has loaded them). Never ahead of the stored positions."""
        positions = self._positions
        return None if positions is None else dict(positions)

    def _load_positions(self) -> dict[str, int]:
        if self._positions is None:
            self._positions = self.sink.positions(self.view_names)
            self._cache.clear()
            for name, position in self._positions.items():
                self.stats.views[name].position = position
        return self._positions

    def reset(self) -> None:
        """Forget the cache and re-read the stored positions before the next batch."""
        with self._lock:
            self._positions = None
            self._cache.clear()

    def step(self) -> int:
        """Apply one batch; returns the number of log positions it covered, 0 only when the
        views are up to date (a batch refused because another writer moved a view's position
        counts as 1: look again)."""
        with self._lock:
            try:
                return self._step()
            except PositionMoved:
                self._positions = None
                self._cache.clear()
                return 1
            except BaseException:
                # The cache may hold events the sink did not commit: start again from the
                # stored positions.
                self._positions = None
                self._cache.clear()
                for stats in self.stats.views.values():
                    stats.errors += 1
                raise

    def run_until_caught_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply batches until the views reach the log's end; returns the final position."""
        while True:
            covered = self.step()
            if progress is not None:
                progress(min(self.positions().values()), self.stats.head)
            if covered == 0:
                return min(self.positions().values())

    def run_forever(
        self,
        stop: threading.Event,
        wait: Callable[[float], object],
        *,
        idle: float = 1.0,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Keep the views up to date until ``stop`` is set; ``wait`` sleeps until new events
        may have arrived (or ``idle`` seconds pass)."""
        backoff = 0.1
        while not stop.is_set():
            try:
                covered = self.step()
            except Exception as error:  # the loop survives a failing database
                if on_error is not None:
                    on_error(error)
                stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            if covered == 0:
                wait(idle)

    # --- one batch ----------------------------------------------------------------------

    def _step(self) -> int:
        positions = self._load_positions()
        recorder = self.store.recorder
        head = recorder.max_notification_id() or 0
        if self.until is not None:
            head = min(head, self.until)
        self.stats.head = head
        start = min(positions.values())
        if start >= head:
            return 0
        stop = head
        for position in positions.values():
            if start < position < stop:
                stop = position
        notifications: list[LogRow] = []
        active = [v for v in self.views if positions[v.name] == start]
        touched = self._fold(self._rows(start, stop, notifications), active)
        end = notifications[-1][0] if len(notifications) >= self.batch_size else stop
        changes = self._derive(touched, active, start, end, len(notifications))
        self.sink.write(changes)
        last_at = self._last_event_at
        for view in active:
            positions[view.name] = end
            stats = self.stats.views[view.name]
            stats.position = end
            stats.events += len(notifications)
            stats.batches += 1
            if last_at is not None:
                stats.last_event_at = last_at
        self.stats.loads = self._cache.loads
        return end - start

    def _rows(self, start: int, stop: int, into: list[LogRow]) -> Iterator[LogRow]:
        """The batch's rows, read ahead in chunks (``read_ahead``) and kept in ``into``."""
        chunks = read_ahead(
            self._read, start + 1, stop, self.batch_size, self._topics, self._prefetch
        )
        for chunk in chunks:
            into.extend(chunk)
            yield from chunk

    def _fold(self, rows: Iterable[LogRow], active: Sequence[View]) -> dict[UUID, _Touched]:
        """Fold the rows' events into the aggregates they belong to."""
        to_domain_event = self._decode
        cache = self._cache
        touched: dict[UUID, _Touched] = {}
        counting = [v for v in active if any(t.counter for t in v.tables)]
        kinds = self._kinds
        event: Any = None
        for notification in rows:
            kind = kinds.get(notification[3])
            if kind is None:
                continue
            event = to_domain_event(notification)
            touch = touched.get(event.originator_id)
            if touch is None:
                aggregate = cache.before(event)
                touch = touched[event.originator_id] = _Touched(
                    kind,
                    {v.name: v.snapshot(aggregate) for v in counting if issubclass(kind, v.kinds)},
                )
            else:
                aggregate = touch.aggregate
            touch.aggregate = apply_event(event, aggregate)
        if event is not None:
            self._last_event_at = event.timestamp.timestamp()
        return touched

    def _derive(
        self,
        touched: dict[UUID, _Touched],
        active: Sequence[View],
        start: int,
        end: int,
        events: int,
    ) -> list[ViewChanges]:
        """Each view's rows and counter deltas for the aggregates the batch touched."""
        cache = self._cache
        for touch in touched.values():
            if touch.aggregate is not None:
                cache.put(touch.aggregate)
        result: list[ViewChanges] = []
        for view in active:
            tables = {t.name: TableChanges(t) for t in view.tables}
            for aggregate_id, touch in touched.items():
                if touch.aggregate is None or not issubclass(touch.kind, view.kinds):
                    continue
                aggregate = touch.aggregate
                for table_name, rows in view.rows(aggregate).items():
                    changes = tables[table_name]
                    changes.owners.add(aggregate_id)
                    changes.rows.extend(rows)
                if view.name in touch.snapshots:
                    for table_name, deltas in view.deltas(
                        touch.snapshots[view.name], aggregate
                    ).items():
                        merge_deltas(tables[table_name].deltas, deltas)
            result.append(
                ViewChanges(
                    view=view.name,
                    start=start,
                    end=end,
                    tables=tables,
                    events=events,
                )
            )
        return result


def positions_reached(positions: Mapping[str, int]) -> int:
    """The position every view has reached."""
    return min(positions.values(), default=0)
