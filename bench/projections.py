"""Projection benchmark: rebuild throughput, listing latency and projection lag on PostgreSQL.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/projections.py [--dossiers 100000] [--reuse] [--keep]
                                          [--database kt_bench_projections]
                                          [--batch 5000,200000] [--cache 200000]
                                          [--requests 1000] [--page-size 50]
                                          [--lag-rate 200] [--lag-seconds 25] [--lag-threads 2]
                                          [--stock [--stock-events 10000]]
                                          [--profile [--profile-events 300000]]
                                          [--no-http] [--no-verify]

What it does, in one run against one database (created for the run, dropped at the end unless
``--keep``; ``--reuse`` keeps it and skips the generation when it already holds the data):

1. **Data.** ``--dossiers`` dossiers (about ten events each, a million for the default), their
   movements and registers, generated through the real domain commands and bulk-inserted with
   ``COPY`` (``bench/_data.py`` explains the province it simulates). Some dossiers are then
   loaded with ``repository.get`` and compared with the generator's final state.
2. **Rebuild throughput**, in the same run: a plain sequential read of the whole log
   (``recorder.select_notifications(start, limit=5000)`` in a loop, nothing decoded; before the
   first rebuild and after each, the fastest run counts, which is the strict choice), the same
   read decoding every event (``mapper.to_domain_event``) and a bare psycopg SELECT for
   context, then for each ``--batch`` size a rebuild of every view into the scratch tables
   (``ViewDatabase(suffix=REBUILD)``: ``drop``, ``setup(indexes=False)``, ``Runner(batch_size,
   cache_size).run_until_caught_up()``, then ``create_indexes``), timed apart, with the time in
   ``select_notifications`` and in the sink's writes. Rates are log events per second (all
   events of the log, also the registers' that no view follows); the ratio is the rebuild's
   rate over the plain read's (target: at least 25 %). 5,000 is the core's
   ``REBUILD_BATCH_SIZE``. The last rebuild is swapped into place (``swap_into_live``).
   ``--stock`` also runs the runner with ``batch_size=1`` (one transaction per event, what the
   library's stock ``ProjectionRunner`` does) over the first ``--stock-events`` events;
   ``--profile`` rebuilds the first ``--profile-events`` events again (last batch size) under
   cProfile and prints where the time goes.
3. **Listing latency**: the first page (``--page-size`` rows, newest change first) filtered by
   a common and a rare status, and searched for a common and a rare name fragment,
   ``--requests`` times each after a warm-up: in process through ``ViewReads.dossiers`` (the
   queries the API runs), and through the real HTTP server (``khenthuong serve``, uvloop and
   httptools, one keep-alive connection, bearer token of a demo account) when its listing
   offers ``q`` (checked in ``/openapi.json``). p50/p95/p99 in ms (target: p95 under 20 ms,
   judged on HTTP when it ran).
4. **Projection lag**: with the live runner running in this process (``projections.start()``,
   woken by its commits and by LISTEN/NOTIFY), ``--lag-threads`` threads apply ``--lag-rate``
   commands per second in total for ``--lag-seconds`` through the ``Dossiers`` use cases
   (appraise submitted dossiers, approve those awaiting a decision, submit new ones, in turn).
   A command's commit is timed by the store's ``on_commit`` hook; a watcher thread polls the
   runner's committed positions every millisecond; the lag of a command is the time from its
   commit until every view has applied its position (target: p99 under 100 ms).
5. **Verify**: ``infrastructure.views.rebuild.verify`` compares the live views (rebuilt, then
   moved on by the live runner during the lag test) with a fresh rebuild, row by row (without
   that module: row counts and an md5 of every table, live against a fresh rebuild).

The table at the end gives each metric, its target and pass/fail. The machine has two cores
shared with PostgreSQL (and possibly other work): compare ratios within one run.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# ``python bench/projections.py`` puts bench/ first on sys.path, where bench/api.py would shadow
# the ``api`` package: import from the repository root instead.
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import heapq  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from contextlib import contextmanager, suppress  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, datetime  # noqa: E402
from typing import Any, cast  # noqa: E402
from uuid import UUID  # noqa: E402

from eventsourcing.persistence import Notification  # noqa: E402

from application.accounts import IssuedToken  # noqa: E402
from application.demo import READER, ensure_demo_accounts  # noqa: E402
from application.projections.runner import Runner  # noqa: E402
from application.projections.schema import Table, ViewChanges  # noqa: E402
from application.projections.views import Listing, build_views  # noqa: E402
from application.store import Store  # noqa: E402
from bench._common import (  # noqa: E402
    BenchDatabase,
    Metric,
    Server,
    add_postgres_arguments,
    format_table,
    log,
    machine_info,
    percentile,
    prepare_data,
    read_log,
    read_raw,
    verdict,
)
from bench._data import APPRAISERS, CHAIRMAN, RARE_SURNAME, UNITS  # noqa: E402
from domain.rulebook import Subject  # noqa: E402
from domain.shared import VIETNAM_TZ, DocumentRef, fold  # noqa: E402
from domain.values import Nominee, PersonalDetails  # noqa: E402
from infrastructure.bootstrap import Services  # noqa: E402
from infrastructure.views.database import LIVE, REBUILD, VERIFY, ViewDatabase, quote  # noqa: E402
from infrastructure.views.parallel import default_workers, fill_in_parallel  # noqa: E402

TARGET_REBUILD_SHARE = 0.25
TARGET_LISTING_P95_MS = 20.0
TARGET_LAG_P99_MS = 100.0
LISTING_TABLE: Table = Listing.table("view_dossiers")
PROVINCIAL_AWARDS = ("bang_khen_chu_tich_tinh", "tap_the_lao_dong_xuat_sac")


# --- rebuild ----------------------------------------------------------------------------------


class TimedViewDatabase(ViewDatabase):
    """The runner's sink, timing its writes."""

    write_seconds = 0.0
    read_seconds = 0.0
    rows_written = 0

    def log_reader(self, *, share: tuple[int, int] | None = None) -> Any:
        read = super().log_reader(share=share)
        if read is None:
            return None

        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return read(*args)
            finally:
                self.read_seconds += time.perf_counter() - started

        return timed

    def write(self, changes: Sequence[ViewChanges]) -> None:
        self.rows_written += sum(c.rows_written() for c in changes)
        started = time.perf_counter()
        try:
            super().write(changes)
        finally:
            self.write_seconds += time.perf_counter() - started


@contextmanager
def timed_reads(store: Store) -> Iterator[list[float]]:
    """Time the recorder's ``select_notifications`` (the runner's reads) while inside."""
    recorder: Any = store.recorder
    original = recorder.select_notifications
    spent = [0.0]

    def select(*args: Any, **kwargs: Any) -> Sequence[Notification]:
        started = time.perf_counter()
        try:
            return cast(Sequence[Notification], original(*args, **kwargs))
        finally:
            spent[0] += time.perf_counter() - started

    recorder.select_notifications = select
    try:
        yield spent
    finally:
        del recorder.select_notifications


@dataclass(frozen=True)
class Rebuild:
    events: int
    """Log positions covered."""
    workers: int
    """Processes that filled the tables (1: the runner of this process alone)."""
    applied: int
    """Events the views followed (what the runner read and applied)."""
    apply_seconds: float
    index_seconds: float
    read_seconds: float
    write_seconds: float
    loads: int
    batches: int
    peak_rss_mb: float
    rows_written: int
    rows_final: int

    @property
    def rate(self) -> float:
        return self.events / self.apply_seconds

    @property
    def overall_rate(self) -> float:
        return self.events / (self.apply_seconds + self.index_seconds)


def rebuild_views(
    services: Services, args: argparse.Namespace, batch: int, workers: int
) -> Rebuild:
    store = services.movements
    views = build_views(services.calendar)
    scratch = TimedViewDatabase(store, views, suffix=REBUILD)
    scratch.drop()
    scratch.setup(indexes=False)
    runner = Runner(store, views, scratch, batch_size=batch, cache_size=args.cache)
    head = store.max_position()
    next_report = [time.perf_counter() + 15]

    def progress(position: int, top: int) -> None:
        if time.perf_counter() > next_report[0]:
            next_report[0] = time.perf_counter() + 15
            log(f"  rebuilding: {position:,}/{top:,}")

    with timed_reads(store) as read_seconds:
        started = time.perf_counter()
        parallel_events = 0
        if workers > 1:
            # What ``khenthuong projections rebuild`` does on PostgreSQL: worker processes
            # fill the scratch tables, then this process's runner takes any later events.
            _, parallel_events = fill_in_parallel(
                scratch,
                workers=workers,
                batch_size=batch,
                cache_size=max(1, args.cache // workers),
                progress=progress,
            )
        runner.run_until_caught_up(progress)
        applied = time.perf_counter() - started
    started = time.perf_counter()
    scratch.create_indexes()
    indexed = time.perf_counter() - started
    stats = next(iter(runner.stats.views.values()))
    final = 0
    with scratch.transaction(write=False) as cursor:
        for view in views:
            for table in view.tables:
                cursor.execute(
                    f"SELECT count(*) AS n FROM {scratch.qualified(scratch.table_name(table))}"
                )
                final += int(cursor.fetchone()["n"])
    return Rebuild(
        events=head,
        workers=workers,
        applied=parallel_events + stats.events,
        apply_seconds=applied,
        index_seconds=indexed,
        read_seconds=read_seconds[0] + scratch.read_seconds,
        write_seconds=scratch.write_seconds,
        loads=runner.stats.loads,
        batches=stats.batches,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        rows_written=scratch.rows_written,
        rows_final=final,
    )


def swap_into_live(services: Services) -> None:
    views = build_views(services.calendar)
    scratch = ViewDatabase(services.movements, views, suffix=REBUILD)
    if not scratch.swap_into_live():
        raise RuntimeError("the rebuilt views could not be swapped in (the log moved)")


@dataclass(frozen=True)
class Stock:
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def stock_sample(services: Services, events: int) -> Stock:
    """One transaction per event over the first ``events`` events (as the stock runner does)."""
    store = services.movements
    views = build_views(services.calendar)
    scratch = ViewDatabase(store, views, suffix=VERIFY)
    scratch.drop()
    scratch.setup(indexes=True)
    try:
        runner = Runner(store, views, scratch, batch_size=1, cache_size=1_000_000)
        started = time.perf_counter()
        while min(runner.positions().values()) < events:
            if runner.step() == 0:
                break
        seconds = time.perf_counter() - started
        covered = min(runner.positions().values())
    finally:
        scratch.drop()
    return Stock(covered, seconds)


def profile_rebuild(services: Services, args: argparse.Namespace) -> list[str]:
    """Rebuild the first ``--profile-events`` events under cProfile; where the time goes."""
    store = services.movements
    views = build_views(services.calendar)
    scratch = ViewDatabase(store, views, suffix=VERIFY)
    scratch.drop()
    scratch.setup(indexes=False)
    profiler = cProfile.Profile()
    try:
        runner = Runner(store, views, scratch, batch_size=args.batch, cache_size=args.cache)
        started = time.perf_counter()
        profiler.enable()
        while min(runner.positions().values()) < args.profile_events:
            if runner.step() == 0:
                break
        profiler.disable()
        seconds = time.perf_counter() - started
        covered = min(runner.positions().values())
    finally:
        scratch.drop()
    stats = pstats.Stats(profiler)
    raw = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], stats.stats)  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    lines = [
        f"Profile of a rebuild of the first {covered:,} log events (batch {args.batch}): "
        f"{seconds:.1f} s under the profiler, {total:.1f} s of profiled self time",
        "",
        "Self time by area:",
    ]
    areas: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        areas[_area(filename)] += tottime
    for area, spent in sorted(areas.items(), key=lambda item: -item[1]):
        lines.append(f"  {area:<40} {spent:7.2f} s  {100 * spent / total:5.1f} %")
    lines += ["", "Cumulative time, functions of the project (top 25):"]
    ours = [item for item in raw.items() if _area(item[0][0]).startswith("project")]
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in sorted(
        ours, key=lambda item: -item[1][3]
    )[:25]:
        lines.append(
            f"  {cumtime:7.2f} s cum {tottime:6.2f} s self {calls:9d} calls  "
            f"{_short(filename)}:{line} {name}"
        )
    lines += ["", "Self time, all functions (top 25):"]
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in sorted(
        raw.items(), key=lambda item: -item[1][2]
    )[:25]:
        lines.append(
            f"  {tottime:7.2f} s self {cumtime:7.2f} s cum {calls:9d} calls  "
            f"{_short(filename)}:{line} {name}"
        )
    return lines


def _area(filename: str) -> str:
    path = filename.replace("\\", "/")
    root = str(REPO_ROOT).replace("\\", "/") + "/"
    for library in ("eventsourcing", "psycopg_pool", "psycopg", "holidays"):
        if f"/site-packages/{library}/" in path:
            return library
    if path.startswith(root) and "/site-packages/" not in path:
        relative = path[len(root) :]
        parts = relative.split("/")
        if parts[0] in ("application", "infrastructure") and len(parts) > 2:
            return f"project {parts[0]}/{parts[1]}"
        return f"project {parts[0]}"
    if filename.startswith(("~", "<")):
        return "builtins / C"
    if "/lib/python3" in path and "/site-packages/" not in path:
        module = path.rsplit("/", 2)
        name = module[-2] if module[-2] in ("json", "encodings") else module[-1]
        return f"stdlib {name.removesuffix('.py')}"
    return "other"


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    with suppress(ValueError):
        return str(Path(filename).resolve().relative_to(REPO_ROOT))
    return filename


# --- listing latency --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListingQuery:
    name: str
    statuses: tuple[str, ...] = ()
    q: str | None = None

    def query_string(self, limit: int) -> str:
        params: list[tuple[str, str]] = [("status", s) for s in self.statuses]
        if self.q:
            params.append(("q", self.q))
        params.append(("limit", str(limit)))
        return urllib.parse.urlencode(params)


LISTING_QUERIES = (
    ListingQuery("status=approved (common)", statuses=("approved",)),
    ListingQuery("status=held (rare)", statuses=("held",)),
    ListingQuery("q=nguyen (common name)", q="nguyen"),
    ListingQuery(f"q={fold(RARE_SURNAME)} (rare name)", q=fold(RARE_SURNAME)),
)


@dataclass
class Latencies:
    side: str
    query: ListingQuery
    matches: int
    values: list[float] = field(default_factory=list)
    """Seconds, sorted."""
    rows: int = 0

    def pct(self, q: float) -> float:
        return percentile(self.values, q) * 1000


def count_matches(services: Services, query: ListingQuery) -> int:
    database = services.projections.database
    clauses: list[str] = []
    params: list[Any] = []
    if query.statuses:
        clauses.append(f"status IN ({', '.join(['%s'] * len(query.statuses))})")
        params += list(query.statuses)
    for word in fold(query.q or "").split():
        clauses.append("search LIKE %s")
        params.append(f"%{word}%")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = database.select(LISTING_TABLE, f"SELECT count(*) AS n FROM {{table}}{where}", params)
    return int(rows[0]["n"])


def measure_in_process(services: Services, args: argparse.Namespace) -> list[Latencies]:
    """The listing's queries as the API runs them (``ViewReads.dossiers``), no HTTP."""
    try:
        reads_module: Any = importlib.import_module("infrastructure.views.reads")
    except ImportError:
        reads_module = None
    today = datetime.now(VIETNAM_TZ).date()
    results = []
    for query in LISTING_QUERIES:
        run: Callable[[], int]
        if reads_module is not None:
            reads = reads_module.ViewReads(services.projections.database)
            found = reads_module.DossierFilter(statuses=query.statuses, q=query.q)
            sort = reads_module.DOSSIER_SORTS["-modified_at"]

            def run(
                reads: Any = reads, found: Any = found, sort: Any = sort, today: date = today
            ) -> int:
                reads.position(("listing",))
                page = reads.dossiers(
                    found, today=today, sort=sort, cursor=None, limit=args.page_size
                )
                return len(page.rows)

            side = "in process (ViewReads)"
        else:
            run = _plain_listing(services, query, args.page_size)
            side = "in process (SQL)"
        latencies = Latencies(side, query, count_matches(services, query))
        for _ in range(args.warmup):
            run()
        for _ in range(args.requests):
            started = time.perf_counter()
            latencies.rows = run()
            latencies.values.append(time.perf_counter() - started)
        latencies.values.sort()
        results.append(latencies)
        log(
            f"  {side:<24} {query.name:<26} p50 {latencies.pct(0.5):6.2f} ms  "
            f"p95 {latencies.pct(0.95):6.2f} ms  p99 {latencies.pct(0.99):6.2f} ms  "
            f"({latencies.rows} rows of {latencies.matches:,})"
        )
    return results


def _plain_listing(services: Services, query: ListingQuery, limit: int) -> Callable[[], int]:
    """The listing's first page as plain SQL (when ``infrastructure.views.reads`` is absent)."""
    database = services.projections.database
    clauses: list[str] = []
    params: list[Any] = []
    if query.statuses:
        clauses.append(f"status IN ({', '.join(['%s'] * len(query.statuses))})")
        params += list(query.statuses)
    for word in fold(query.q or "").split():
        clauses.append("search LIKE %s")
        params.append(f"%{word}%")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    statement = (
        f"SELECT * FROM {{table}}{where} ORDER BY modified_at DESC, id DESC LIMIT {limit + 1}"
    )

    def run() -> int:
        return len(database.select(LISTING_TABLE, statement, params))

    return run


def listing_supports_search(server: Server) -> bool:
    conn = server.connect()
    try:
        conn.request("GET", "/openapi.json")
        spec = json.loads(conn.getresponse().read())
    finally:
        conn.close()
    operation = spec.get("paths", {}).get("/api/v1/dossiers", {}).get("get", {})
    names = {p.get("name") for p in operation.get("parameters", [])}
    return "q" in names and "status" in names


def measure_http(
    services: Services, db: BenchDatabase, args: argparse.Namespace, folder: Path
) -> tuple[list[Latencies], str]:
    """The same pages through the real server; empty when its listing has no ``q`` yet."""
    tokens: list[IssuedToken] = ensure_demo_accounts(services.accounts)
    token = next(t.token for t in tokens if t.account == READER.user_id)
    server = Server(db, folder / "server.log")
    results: list[Latencies] = []
    try:
        server.wait_ready(args.startup_timeout)
        if not listing_supports_search(server):
            return [], "the server's GET /api/v1/dossiers has no q parameter yet"
        conn = server.connect()
        try:
            for query in LISTING_QUERIES:
                path = f"/api/v1/dossiers?{query.query_string(args.page_size)}"
                status, body = server.get(conn, path, token)
                if status != 200:
                    raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
                latencies = Latencies("HTTP", query, count_matches(services, query))
                for _ in range(args.warmup):
                    server.get(conn, path, token)
                for _ in range(args.requests):
                    started = time.perf_counter()
                    status, body = server.get(conn, path, token)
                    latencies.values.append(time.perf_counter() - started)
                    if status != 200:
                        raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
                latencies.rows = len(json.loads(body)["items"])
                latencies.values.sort()
                results.append(latencies)
                log(
                    f"  {'HTTP':<24} {query.name:<26} p50 {latencies.pct(0.5):6.2f} ms  "
                    f"p95 {latencies.pct(0.95):6.2f} ms  p99 {latencies.pct(0.99):6.2f} ms  "
                    f"({latencies.rows} rows of {latencies.matches:,})"
                )
        finally:
            conn.close()
    finally:
        server.close()
    return results, ""


# --- projection lag ---------------------------------------------------------------------------


@dataclass
class Lag:
    commands: int
    seconds: float
    lags: list[float]
    """Seconds from commit to every view having applied it, sorted."""
    command_seconds: list[float]
    errors: Counter[str]
    unseen: int
    kinds: Counter[str]

    @property
    def rate(self) -> float:
        return self.commands / self.seconds if self.seconds else math.nan


class LagWork:
    """The commands of the lag test, on dossiers of the data set and new ones."""

    def __init__(self, services: Services, threads: int) -> None:
        self.services = services
        database = services.projections.database
        self.today = datetime.now(VIETNAM_TZ).date()
        marks = ", ".join(["%s"] * len(PROVINCIAL_AWARDS))
        submitted = database.select(
            LISTING_TABLE,
            f"SELECT id, version FROM {{table}} WHERE status = %s AND award_code IN ({marks}) "
            "ORDER BY modified_at",
            ["submitted", *PROVINCIAL_AWARDS],
        )
        awaiting = database.select(
            LISTING_TABLE,
            "SELECT id, version FROM {table} WHERE status = %s AND level = %s ORDER BY modified_at",
            ["awaiting_decision", "provincial"],
        )
        movements = database.select(
            services.projections.view("movements").tables[0],
            "SELECT id FROM {table} WHERE closed = %s AND starts_on <= %s "
            "ORDER BY issued_on DESC LIMIT 1",
            [False, self.today],
        )
        if not movements:
            raise RuntimeError("no open movement to submit new dossiers to")
        self.movement_id: UUID = movements[0]["id"]
        self.to_appraise: list[list[tuple[UUID, int]]] = [
            [(r["id"], r["version"]) for r in submitted[k::threads]] for k in range(threads)
        ]
        self.to_approve: list[list[tuple[UUID, int]]] = [
            [(r["id"], r["version"]) for r in awaiting[k::threads]] for k in range(threads)
        ]
        self.found = (len(submitted), len(awaiting))
        self.head = services.movements.max_position()
        """New nominees' identity numbers follow the log's head: unique across runs."""
        self.base = random.randint(100_000, 800_000)
        self._count = 0
        self._lock = threading.Lock()

    def _next(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def run(self, thread: int, turn: int) -> str:
        """One command; returns its kind."""
        kinds = ("appraise", "approve", "submit")
        kind = kinds[turn % 3]
        if kind == "appraise" and self.to_appraise[thread]:
            self.appraise(thread)
        elif kind == "approve" and self.to_approve[thread]:
            self.approve(thread)
        else:
            kind = "submit"
            self.submit(thread)
        return kind

    def appraise(self, thread: int) -> None:
        dossier_id, version = self.to_appraise[thread].pop(0)
        receipt = self.services.dossiers.appraise(
            dossier_id,
            qualified=True,
            opinion="Hồ sơ đầy đủ thành phần; thành tích đạt tiêu chuẩn.",
            answers={},
            by=APPRAISERS[0],
            expected_version=version,
        )
        self.to_approve[thread].append((dossier_id, receipt.version))

    def approve(self, thread: int) -> None:
        dossier_id, version = self.to_approve[thread].pop(0)
        self.services.dossiers.approve(
            dossier_id,
            decision_number=f"{self.base + self._next()}/QĐ-UBND",
            decision_date=self.today,
            by=CHAIRMAN,
            expected_version=version,
        )

    def submit(self, thread: int) -> None:
        number = self._next()
        unit = UNITS[number % len(UNITS)]
        receipt = self.services.dossiers.submit(
            movement_id=self.movement_id,
            award_code="bang_khen_chu_tich_tinh",
            submitting_unit=unit.name,
            nominee=Nominee(Subject.INDIVIDUAL, f"Nguyễn Văn Thử {number}", "Chuyên viên"),
            personal=PersonalDetails(identity_number=f"0049{(self.head + number) % 10**8:08d}"),
            achievements="Hoàn thành xuất sắc nhiệm vụ năm; có sáng kiến được áp dụng.",
            documents=[
                DocumentRef("Tờ trình.pdf", f"{random.getrandbits(256):064x}", 90_000),
                DocumentRef("Báo cáo thành tích.pdf", f"{random.getrandbits(256):064x}", 250_000),
            ],
            by=unit.submitter,
        )
        self.to_appraise[thread].append((receipt.id, receipt.version))


def measure_lag(services: Services, args: argparse.Namespace) -> tuple[Lag, tuple[int, int]]:
    projections = services.projections
    work = LagWork(services, args.lag_threads)
    commits: list[tuple[int, float]] = []
    original = services.dossiers.on_commit

    def on_commit(position: int) -> None:
        commits.append((position, time.perf_counter()))
        if original is not None:
            original(position)

    services.dossiers.on_commit = on_commit
    projections.start()
    try:
        head = services.movements.max_position()
        deadline = time.monotonic() + 60
        while True:
            runner = projections.runner
            if runner is not None and min(s.position for s in runner.stats.views.values()) >= head:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the live runner did not start or catch up within 60 s")
            time.sleep(0.05)
        lags: list[float] = []
        stop_watch = threading.Event()

        def watch() -> None:
            waiting: list[tuple[int, float]] = []
            taken = 0
            while True:
                runner = projections.runner
                reached = (
                    min(s.position for s in runner.stats.views.values())
                    if runner is not None
                    else 0
                )
                now = time.perf_counter()
                while taken < len(commits):
                    heapq.heappush(waiting, commits[taken])
                    taken += 1
                while waiting and waiting[0][0] <= reached:
                    _, committed = heapq.heappop(waiting)
                    lags.append(max(0.0, now - committed))
                if stop_watch.is_set() and not waiting and taken == len(commits):
                    return
                time.sleep(0.001)

        watcher = threading.Thread(target=watch, name="lag-watch", daemon=True)
        watcher.start()
        total = int(args.lag_rate * args.lag_seconds)
        interval = 1.0 / args.lag_rate
        command_seconds: list[float] = []
        outcomes: list[str] = []  # appended from the driving threads (atomic under the GIL)
        first = time.perf_counter() + 0.1

        def drive(thread: int) -> None:
            for turn, index in enumerate(range(thread, total, args.lag_threads)):
                due = first + index * interval
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                started = time.perf_counter()
                try:
                    outcomes.append(work.run(thread, turn))
                except Exception as error:  # counted and reported; the run goes on
                    outcomes.append(f"error {type(error).__name__}")
                command_seconds.append(time.perf_counter() - started)

        drivers = [
            threading.Thread(target=drive, args=(k,), name=f"lag-drive-{k}")
            for k in range(args.lag_threads)
        ]
        for thread in drivers:
            thread.start()
        for thread in drivers:
            thread.join()
        ended = time.perf_counter()
        stop_watch.set()
        watcher.join(timeout=15)
        unseen = len(commits) - len(lags)
    finally:
        projections.stop()
        services.dossiers.on_commit = original
    return (
        Lag(
            commands=len(command_seconds),
            seconds=ended - first,
            lags=sorted(lags),
            command_seconds=sorted(command_seconds),
            errors=Counter(o[6:] for o in outcomes if o.startswith("error ")),
            unseen=unseen,
            kinds=Counter(o for o in outcomes if not o.startswith("error ")),
        ),
        work.found,
    )


# --- verify -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    ok: bool
    how: str
    lines: list[str]


def verify_views(services: Services, args: argparse.Namespace) -> Verified:
    store = services.movements
    views = build_views(services.calendar)
    try:
        rebuild_module: Any = importlib.import_module("infrastructure.views.rebuild")
        verify = rebuild_module.verify
    except (ImportError, AttributeError):
        return _checksum_compare(services, args)
    report = verify(store, views, batch_size=args.batch, cache_size=args.cache)
    lines = []
    for view in report.views:
        for table in view.tables:
            lines.append(
                f"  {view.name:<13} {table.table:<22} live {table.live_rows:>9,} rows, "
                f"rebuilt {table.rebuilt_rows:>9,} rows, {table.differences} differences "
                f"(at position {view.position:,})"
            )
    for difference in report.differences[:10]:
        lines.append(f"  difference: {difference}")
    how = f"infrastructure.views.rebuild.verify, {report.seconds:.0f} s"
    return Verified(bool(report.ok), how, lines)


def _checksum_compare(services: Services, args: argparse.Namespace) -> Verified:
    """Without ``verify``: rebuild into the VERIFY tables and compare counts and checksums."""
    store = services.movements
    views = build_views(services.calendar)
    scratch = ViewDatabase(store, views, suffix=VERIFY)
    live = ViewDatabase(store, views, suffix=LIVE)
    scratch.drop()
    scratch.setup(indexes=False)
    lines: list[str] = []
    ok = True
    try:
        Runner(
            store, views, scratch, batch_size=args.batch, cache_size=args.cache
        ).run_until_caught_up()
        with live.transaction(write=False) as cursor:
            for view in views:
                for table in view.tables:
                    order = ", ".join(quote(k) for k in table.key)
                    sums = []
                    for database in (live, scratch):
                        name = database.qualified(database.table_name(table))
                        cursor.execute(
                            f"SELECT count(*) AS n, md5(string_agg(md5(t::text), '' ORDER BY {order})) AS h FROM {name} AS t"
                        )
                        row = cursor.fetchone()
                        sums.append((int(row["n"]), row["h"]))
                    same = sums[0] == sums[1]
                    ok = ok and same
                    lines.append(
                        f"  {view.name:<13} {table.name:<22} live {sums[0][0]:>9,} rows, rebuilt "
                        f"{sums[1][0]:>9,} rows, checksums {'equal' if same else 'DIFFER'}"
                    )
    finally:
        scratch.drop()
    return Verified(ok, "row counts and md5 of every row, live vs a fresh rebuild", lines)


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--dossiers", type=int, default=100_000, help="dossiers to generate (100000)")
    add("--group-size", type=int, default=1_000, help="dossiers per campaign (1000)")
    add("--database", default="kt_bench_projections", help="database name (kt_bench_projections)")
    add("--reuse", action="store_true", help="reuse the database's data if it matches (keeps it)")
    add("--keep", action="store_true", help="keep the database at the end")
    add(
        "--batch",
        default="5000,200000",
        help="rebuild batch sizes, comma-separated, each timed (5000,200000); the last one is "
        "swapped in and used by --profile and the verification",
    )
    add("--cache", type=int, default=200_000, help="runner aggregate cache size (200000)")
    add(
        "--workers",
        default=f"1,{default_workers()}",
        help="rebuild processes to compare, comma-separated (1 and one per core)",
    )
    add("--live-batch", type=int, default=2_000, help="live runner batch size (2000)")
    add("--requests", type=int, default=1_000, help="requests per listing query (1000)")
    add("--warmup", type=int, default=50, help="unmeasured requests per query first (50)")
    add("--page-size", type=int, default=50, help="listing page size (50, the API's default)")
    add("--no-http", action="store_true", help="skip the HTTP listing measurement")
    add("--startup-timeout", type=float, default=120.0, help="server start timeout (120 s)")
    add("--lag-rate", type=float, default=200.0, help="commands per second (200)")
    add("--lag-seconds", type=float, default=25.0, help="seconds of commands (25)")
    add("--lag-threads", type=int, default=2, help="threads applying the commands (2)")
    add("--stock", action="store_true", help="also time one transaction per event")
    add("--stock-events", type=int, default=10_000, help="events for --stock (10000)")
    add("--profile", action="store_true", help="profile a partial rebuild")
    add("--profile-events", type=int, default=300_000, help="events for --profile (300000)")
    add("--no-verify", action="store_true", help="skip comparing live views with a rebuild")
    add_postgres_arguments(parser)
    args = parser.parse_args(argv)
    if args.dossiers < 10:
        parser.error("--dossiers must be at least 10")
    if args.reuse:
        args.keep = True
    try:
        args.batches = [int(b) for b in args.batch.split(",") if b.strip()]
    except ValueError:
        parser.error("--batch takes integers separated by commas")
    if not args.batches or min(args.batches) < 1:
        parser.error("--batch needs at least one positive batch size")
    args.batch = args.batches[-1]
    try:
        args.workers = [int(w) for w in args.workers.split(",") if w.strip()]
    except ValueError:
        parser.error("--workers takes integers separated by commas")
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers needs at least one positive number")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    db = BenchDatabase(args)
    metrics: list[Metric] = []
    notes: list[str] = []
    services: Services | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="kt-bench-projections-") as folder:
            services, data = prepare_data(args, db)
            store = services.movements
            head = store.max_position()
            later = f"; {head - data.events:,} more from earlier runs' lag tests" if head > data.events else ""  # fmt: skip
            metrics.append(
                Metric(
                    "data set",
                    f"{data.dossiers:,} dossiers, {data.events:,} events "
                    f"({data.events / data.dossiers:.1f} per dossier{later})",
                )
            )
            metrics.append(
                Metric(
                    "generation (domain commands + COPY)",
                    f"{data.generated_seconds:.1f} s ({data.events / data.generated_seconds:,.0f} events/s)"
                    + (" [earlier run]" if data.reused else ""),
                )
            )

            log("Reading the log...")
            decoded = read_log(store, decode=True)
            log(f"  decoded read  {decoded.events:,} events {decoded.rate:,.0f}/s")
            raw = read_raw(db, store)
            log(f"  raw SELECT    {raw.events:,} events {raw.rate:,.0f}/s")
            rebuilds: list[tuple[int, Rebuild]] = []
            plains = [read_log(store, decode=False)]
            log(f"  plain read    {plains[0].events:,} events {plains[0].rate:,.0f}/s")
            for batch, workers in [(b, w) for b in args.batches for w in args.workers]:
                log(
                    f"Rebuilding every view into the scratch tables (batch {batch:,}, "
                    f"{workers} process{'es' if workers > 1 else ''})..."
                )
                rebuilt = rebuild_views(services, args, batch, workers)
                rebuilds.append((batch, rebuilt))
                log(
                    f"  apply {rebuilt.apply_seconds:.1f} s ({rebuilt.rate:,.0f} events/s; reads "
                    f"{rebuilt.read_seconds:.1f} s, writes {rebuilt.write_seconds:.1f} s), "
                    f"indexes {rebuilt.index_seconds:.1f} s, {rebuilt.loads} cache misses"
                )
                plains.append(read_log(store, decode=False))
                log(f"  plain read    {plains[-1].events:,} events {plains[-1].rate:,.0f}/s")
            plain = max(plains, key=lambda r: r.rate)
            swap_into_live(services)
            metrics += [
                Metric(
                    "plain read of the log (no decoding), best run",
                    f"{plain.rate:,.0f} events/s (runs: "
                    + ", ".join(f"{r.rate:,.0f}" for r in plains)
                    + ")",
                ),
                Metric(
                    "  context: bare psycopg SELECT of the same rows",
                    f"{raw.rate:,.0f} events/s",
                ),
                Metric(
                    "read + decode every event",
                    f"{decoded.rate:,.0f} events/s ({decoded.rate / plain.rate:.0%} of plain)",
                ),
            ]
            for batch, rebuilt in rebuilds:
                share = rebuilt.rate / plain.rate
                cpu = rebuilt.apply_seconds - rebuilt.write_seconds
                metrics += [
                    Metric(
                        f"rebuild apply, batch {batch:,} (cache {args.cache:,}), "
                        + (
                            f"{rebuilt.workers} worker processes"
                            if rebuilt.workers > 1
                            else "1 process"
                        ),
                        f"{rebuilt.rate:,.0f} events/s = {share:.1%} of plain read "
                        f"({rebuilt.apply_seconds:.1f} s)",
                        f">= {TARGET_REBUILD_SHARE:.0%} of plain read",
                        verdict(share >= TARGET_REBUILD_SHARE),
                    ),
                    Metric(
                        "  reads (a prefetch thread, overlapping) / writes / all but writes",
                        f"{rebuilt.read_seconds:.1f} s / {rebuilt.write_seconds:.1f} s / "
                        f"{cpu:.1f} s"
                        if rebuilt.workers == 1
                        else "(in the workers: not timed apart)",
                    ),
                    Metric(
                        "  with create_indexes (overall)",
                        f"{rebuilt.overall_rate:,.0f} events/s = "
                        f"{rebuilt.overall_rate / plain.rate:.1%} of plain "
                        f"(indexes {rebuilt.index_seconds:.1f} s)",
                    ),
                    Metric(
                        "  batches, cache misses, view rows written / kept, peak RSS",
                        f"{rebuilt.batches:,}, {rebuilt.loads:,}, {rebuilt.rows_written:,} / "
                        f"{rebuilt.rows_final:,} ({rebuilt.rows_written / max(1, rebuilt.rows_final):.1f}x), "
                        f"{rebuilt.peak_rss_mb:,.0f} MB",
                    ),
                ]
            if args.stock:
                log(
                    f"Stock approach (one transaction per event) on {args.stock_events:,} events..."
                )
                stock = stock_sample(services, args.stock_events)
                metrics.append(
                    Metric(
                        "one transaction per event (stock)",
                        f"{stock.rate:,.0f} events/s = {stock.rate / plain.rate:.2%} of plain "
                        f"({stock.events:,} events)",
                    )
                )
            profile_lines: list[str] = []
            if args.profile:
                log(f"Profiling a rebuild of {args.profile_events:,} events...")
                profile_lines = profile_rebuild(services, args)

            log("Listing latency...")
            in_process = measure_in_process(services, args)
            http: list[Latencies] = []
            if not args.no_http:
                http, why = measure_http(services, db, args, Path(folder))
                if why:
                    notes.append(f"HTTP listing not measured: {why}.")
            judged = http or in_process
            for latencies in [*in_process, *http]:
                is_judged = latencies in judged
                metrics.append(
                    Metric(
                        f"listing {latencies.side}: {latencies.query.name}",
                        f"p50 {latencies.pct(0.5):.1f} / p95 {latencies.pct(0.95):.1f} / "
                        f"p99 {latencies.pct(0.99):.1f} ms ({latencies.matches:,} match)",
                        f"p95 < {TARGET_LISTING_P95_MS:.0f} ms" if is_judged else "",
                        verdict(latencies.pct(0.95) < TARGET_LISTING_P95_MS) if is_judged else "",
                    )
                )

            log(
                f"Projection lag: {args.lag_rate:g} commands/s for {args.lag_seconds:g} s "
                f"from {args.lag_threads} threads..."
            )
            lag, found = measure_lag(services, args)
            lag_p99 = percentile(lag.lags, 0.99) * 1000
            metrics += [
                Metric(
                    "lag: commands applied",
                    f"{lag.commands:,} in {lag.seconds:.1f} s = {lag.rate:.0f}/s ("
                    + ", ".join(f"{k} {v}" for k, v in sorted(lag.kinds.items()))
                    + (f"; errors {dict(lag.errors)}" if lag.errors else "")
                    + ")",
                    f"{args.lag_rate:g}/s",
                    verdict(lag.rate >= 0.95 * args.lag_rate and not lag.errors),
                ),
                Metric(
                    "lag: command latency",
                    f"p50 {percentile(lag.command_seconds, 0.5) * 1000:.1f} / "
                    f"p99 {percentile(lag.command_seconds, 0.99) * 1000:.1f} ms",
                ),
                Metric(
                    "lag: commit -> every view applied",
                    f"p50 {percentile(lag.lags, 0.5) * 1000:.1f} / p95 "
                    f"{percentile(lag.lags, 0.95) * 1000:.1f} / p99 {lag_p99:.1f} ms "
                    f"({len(lag.lags):,} commits"
                    + (f", {lag.unseen} never seen" if lag.unseen else "")
                    + ")",
                    f"p99 < {TARGET_LAG_P99_MS:.0f} ms",
                    verdict(lag_p99 < TARGET_LAG_P99_MS and lag.unseen == 0),
                ),
            ]
            notes.append(
                f"Lag test pools: {found[0]:,} submitted provincial dossiers to appraise, "
                f"{found[1]:,} awaiting a provincial decision (new submissions when a pool ran out)."
            )
            verify_lines: list[str] = []
            if not args.no_verify:
                log("Verifying the live views against a fresh rebuild...")
                verified = verify_views(services, args)
                verify_lines = verified.lines
                metrics.append(
                    Metric(
                        "live views == fresh rebuild",
                        f"{'identical' if verified.ok else 'DIFFERENT'} ({verified.how})",
                        "identical",
                        verdict(verified.ok),
                    )
                )

        print()
        for line in machine_info(db):
            print(line)
        print()
        for line in format_table(metrics):
            print(line)
        for note in notes:
            print(f"\n{note}")
        if verify_lines:
            print("\nVerify:")
            for line in verify_lines:
                print(line)
        if profile_lines:
            print()
            for line in profile_lines:
                print(line)
    finally:
        if services is not None:
            services.close()
        if args.keep:
            log(f"\nDatabase {db.name} kept (drop it with: dropdb {db.name}).")
        else:
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
