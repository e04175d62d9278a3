"""Public pages benchmark: the nominations under public comment through the real HTTP server.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/public.py [--dossiers 100000] [--reuse] [--keep]
                                     [--database kt_bench_public] [--requests 1000]
                                     [--warmup 50] [--ids 300] [--no-moderate] [--no-vacuum]
                                     [--rebuild]

What it does, in one run against one database (created for the run, dropped at the end unless
``--keep``; ``--reuse`` keeps it and skips the generation when it already holds the data, e.g.
``--database kt_bench_projections --reuse`` for the database of ``bench/projections.py``):

1. **Data.** ``--dossiers`` dossiers generated through the real domain commands and bulk-inserted
   with ``COPY`` (``prepare_data`` of ``bench/_common.py``, shared with ``bench/projections.py``;
   ``bench/_data.py``): the state-level ones went through public comment, and those whose
   window ends after the reference day are still open.
2. **Views.** The live view tables are brought up to date: rebuilt from the log
   (``infrastructure.views.rebuild.rebuild``, what ``khenthuong projections rebuild`` runs) when
   they are missing or far behind, else caught up in this process. Their row counts are then
   checked against the log (dossiers, windows opened, comments received): views at the log's
   head but with other counts are rebuilt (``--rebuild`` forces it).
3. **Pages to request.** The nominations whose window is open on the real current date (the
   server's clock, Vietnamese calendar day): up to ``--ids`` of them at random (seeded), and the
   ``--ids`` windows closed most recently (last day, or day of closing, not after today).
   Unless ``--no-moderate``, the comments still waiting on those dossiers are moderated through
   ``DossierService.moderate_comment`` (most published, some withheld with a reason), so the
   pages show published comments and, after appraisal, the answers.
4. **Vacuum.** Once the server is up and every view at the log's head, ``VACUUM (ANALYZE)`` of
   the view tables (unless ``--no-vacuum``): a rebuild, and a live runner catching up, replace
   a row many times over and leave dead ones behind, which autovacuum clears in production (it
   is off on the CI's PostgreSQL): the pages are timed in that steady state.
5. **Latency** through ``khenthuong serve`` (uvloop and httptools, one worker, access log on, as
   in production; ``bench/_common.py``'s ``Server``) once ``/readyz`` answers and every
   view has reached the log's head: one keep-alive connection, a browser's headers (HTML, the
   CSRF cookie sent back once set), ``--warmup`` unmeasured requests then ``--requests`` timed
   ones (request sent to body read) for each page: ``/cong-khai`` (the open windows, first
   page), the same with every window (``tinh_trang=tat_ca``), a search without diacritics for a
   common and a rare name fragment (open windows, then all), and ``/cong-khai/{id}`` cycling
   over the open ids (the comment form must be on the page) and over the closed ones (it must
   not). p50/p95/p99 in ms; target p95 under 30 ms for each page. A page that answers with an
   error is reported (status, start of the body, the server log's tail), not timed.

The table at the end gives each metric, its target and pass/fail. The machine has two cores
shared with PostgreSQL, the client and possibly other work: the load average is printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# ``python bench/public.py`` puts bench/ first on sys.path, where bench/api.py would shadow the
# ``api`` package: import from the repository root instead.
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, datetime  # noqa: E402
from http.cookies import SimpleCookie  # noqa: E402
from typing import Any  # noqa: E402
from uuid import UUID  # noqa: E402

import psycopg  # noqa: E402
from eventsourcing.utils import get_topic  # noqa: E402

from bench._common import (  # noqa: E402
    BenchDatabase,
    DataSet,
    Metric,
    Server,
    add_postgres_arguments,
    format_table,
    log,
    machine_info,
    percentile,
    prepare_data,
    verdict,
)
from bench._data import APPRAISERS, RARE_SURNAME  # noqa: E402
from domain.dossier import Dossier, Status  # noqa: E402
from domain.shared import VIETNAM_TZ, fold  # noqa: E402
from domain.values import CommentStatus  # noqa: E402
from infrastructure.bootstrap import Services  # noqa: E402
from infrastructure.views.database import quote  # noqa: E402
from infrastructure.views.public_reads import (  # noqa: E402
    ConsultationFilter,
    ConsultationState,
    PublicReads,
)
from infrastructure.views.rebuild import rebuild  # noqa: E402

DEFAULT_DATABASE = "kt_bench_public"
TARGET_PAGE_P95_MS = 30.0
TARGET = f"p95 < {TARGET_PAGE_P95_MS:.0f} ms"
FORM_MARKER = b'id="form-y-kien"'
LIST_MARKER = b'id="so-ket-qua"'
NOMINATION_NOTICES = (
    ("published comments", b'<ol class="y-kien">'),
    ("answers", b'class="tra-loi"'),
)
"""What a nomination page may show, counted over the ids requested."""
COMMON_FRAGMENT = "nguyen"
RARE_FRAGMENT = fold(RARE_SURNAME)
PUBLIC_COMMENT = Status.PUBLIC_COMMENT.value
BROWSER_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "vi-VN,vi;q=0.9",
    "User-Agent": "khenthuong-bench/1 (bench/public.py)",
}


# --- the views --------------------------------------------------------------------------------


def view_counts(db: BenchDatabase, services: Services) -> list[tuple[str, int, int]]:
    """(what, in the log, in the view) for the views the public pages read."""
    recorder: Any = services.movements.recorder
    events = f"{quote(recorder.datastore.schema)}.{quote(recorder.events_table_name)}"
    topics = {
        "dossiers": get_topic(Dossier.Submitted),
        "windows opened": get_topic(Dossier.PublicCommentOpened),
        "comments received": get_topic(Dossier.CommentReceived),
    }
    in_log: dict[str, int] = {}
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        for what, topic in topics.items():
            distinct = "originator_id" if what != "comments received" else "*"
            count = "count(DISTINCT originator_id)" if distinct != "*" else "count(*)"
            row = conn.execute(f"SELECT {count} FROM {events} WHERE topic = %s", (topic,))
            found = row.fetchone()
            in_log[what] = int(found[0]) if found else 0
    projections = services.projections
    database = projections.database
    tables = {
        "dossiers": projections.view("listing").tables[0],
        "windows opened": projections.view("consultation").tables[0],
        "comments received": projections.view("comments").tables[0],
    }
    return [
        (
            what,
            in_log[what],
            int(database.select(table, "SELECT count(*) AS n FROM {table}")[0]["n"]),
        )
        for what, table in tables.items()
    ]


def views_lag(services: Services) -> int:
    head = services.movements.max_position()
    return max((head - p for p in services.projections.positions().values()), default=head)


def rebuild_views(services: Services) -> float:
    next_report = [time.monotonic() + 15]

    def progress(position: int, head: int) -> None:
        if time.monotonic() > next_report[0]:
            next_report[0] = time.monotonic() + 15
            log(f"  rebuilding: {position:,}/{head:,}")

    result = rebuild(services.movements, services.projections.views, progress=progress)
    log(f"  rebuilt {len(result.views)} views at position {result.position:,} in {result.seconds:.0f} s")  # fmt: skip
    return result.seconds


def ensure_views(db: BenchDatabase, services: Services, args: argparse.Namespace) -> str:
    """Bring the live views up to date and check their counts against the log; says how."""
    projections = services.projections
    projections.setup()
    behind = views_lag(services)
    if args.rebuild or behind > args.catch_up_limit:
        why = "--rebuild" if args.rebuild else f"{behind:,} events behind"
        log(f"Rebuilding the views from the log ({why})...")
        how = f"rebuilt ({why}) in {rebuild_views(services):.0f} s"
    else:
        started = time.perf_counter()
        projections.run_until_caught_up()
        how = f"{behind:,} events behind, caught up in {time.perf_counter() - started:.1f} s"
    counts = view_counts(db, services)
    wrong = [(what, logged, viewed) for what, logged, viewed in counts if logged != viewed]
    if wrong:
        log(
            "The views are at the log's head but do not match it ("
            + "; ".join(f"{what}: log {a:,}, view {b:,}" for what, a, b in wrong)
            + "): rebuilding..."
        )
        how = (
            "at the head but not matching the log ("
            + ", ".join(f"{what} {b:,} of {a:,}" for what, a, b in wrong)
            + f"): rebuilt in {rebuild_views(services):.0f} s"
        )
        counts = view_counts(db, services)
        wrong = [(what, logged, viewed) for what, logged, viewed in counts if logged != viewed]
        if wrong:
            raise RuntimeError(f"the rebuilt views still do not match the log: {wrong}")
    # The server's audit-log follower would otherwise build the Merkle tree of the whole log
    # in the background while the pages are timed.
    started = time.perf_counter()
    services.audit.setup()
    leaves = services.audit.catch_up()
    how += f"; audit tree at {leaves:,} leaves ({time.perf_counter() - started:.1f} s)"
    return how + "; " + ", ".join(f"{what} {viewed:,}" for what, _, viewed in counts)


# --- the dossiers to request ------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    today: date
    consultations: int
    open_now: int
    past_last_day: int
    """Still in public comment by state, but today is past the window's last day."""
    open_ids: list[UUID]
    closed_ids: list[UUID]
    closed_range: tuple[date, date] | None
    """Last days of the sampled closed windows: earliest, latest."""


def pick_windows(services: Services, args: argparse.Namespace) -> Windows:
    today = datetime.now(VIETNAM_TZ).date()
    database = services.projections.database
    table = services.projections.view("consultation").tables[0]
    is_open = "status = %s AND closed_on IS NULL AND closes_on >= %s"
    counts = database.select(
        table,
        f"SELECT count(*) AS n, count(*) FILTER (WHERE {is_open}) AS open_now, "
        "count(*) FILTER (WHERE status = %s AND closed_on IS NULL AND closes_on < %s) AS past "
        "FROM {table}",
        [PUBLIC_COMMENT, today, PUBLIC_COMMENT, today],
    )[0]
    open_rows = database.select(
        table, f"SELECT id FROM {{table}} WHERE {is_open} ORDER BY id", [PUBLIC_COMMENT, today]
    )
    rng = random.Random(20240108)
    open_ids = [row["id"] for row in open_rows]
    if len(open_ids) > args.ids:
        open_ids = rng.sample(open_ids, args.ids)
    closed_rows = database.select(
        table,
        f"SELECT id, coalesce(closed_on, closes_on) AS ended FROM {{table}} "
        f"WHERE NOT ({is_open}) AND coalesce(closed_on, closes_on) <= %s "
        f"ORDER BY coalesce(closed_on, closes_on) DESC, id LIMIT {int(args.ids)}",
        [PUBLIC_COMMENT, today, today],
    )
    closed_ids = [row["id"] for row in closed_rows]
    rng.shuffle(closed_ids)
    ended = [row["ended"] for row in closed_rows]
    return Windows(
        today=today,
        consultations=int(counts["n"]),
        open_now=int(counts["open_now"]),
        past_last_day=int(counts["past"]),
        open_ids=open_ids,
        closed_ids=closed_ids,
        closed_range=(min(ended), max(ended)) if ended else None,
    )


@dataclass
class Moderation:
    published: int = 0
    withheld: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    already: int = 0
    """Comments of the sampled dossiers moderated by an earlier run."""


def moderate(services: Services, ids: Sequence[UUID]) -> Moderation:
    """Publish most of the waiting comments of ``ids``, withhold some (seeded)."""
    done = Moderation()
    if not ids:
        return done
    database = services.projections.database
    comments = services.projections.view("comments").tables[0]
    consultation = services.projections.view("consultation").tables[0]
    marks = ", ".join(["%s"] * len(ids))
    rows = database.select(
        comments,
        f"SELECT dossier_id, comment_id, status FROM {{table}} WHERE dossier_id IN ({marks}) "
        "ORDER BY dossier_id, number",
        list(ids),
    )
    versions = {
        row["id"]: int(row["version"])
        for row in database.select(
            consultation, f"SELECT id, version FROM {{table}} WHERE id IN ({marks})", list(ids)
        )
    }
    rng = random.Random(7)
    appraiser = APPRAISERS[0]
    for row in rows:
        if row["status"] != CommentStatus.RECEIVED.value:
            done.already += 1
            continue
        dossier_id: UUID = row["dossier_id"]
        withhold = rng.random() < 0.15
        try:
            receipt = services.dossiers.moderate_comment(
                dossier_id,
                str(row["comment_id"]),
                decision=CommentStatus.WITHHELD if withhold else CommentStatus.PUBLISHED,
                reason="Ý kiến có nội dung không liên quan đến thành tích của người được đề nghị."
                if withhold
                else "",
                by=appraiser,
                expected_version=versions[dossier_id],
            )
        except Exception as error:  # counted and reported; the benchmark goes on
            done.errors[type(error).__name__] += 1
            continue
        versions[dossier_id] = receipt.version
        if withhold:
            done.withheld += 1
        else:
            done.published += 1
    return done


# --- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    paths: list[str]
    matches: str = ""
    """What the page lists or is, for the table."""
    must_have: bytes | None = None
    must_not_have: bytes | None = None
    notices: tuple[tuple[str, bytes], ...] = ()


@dataclass
class Timing:
    page: Page
    values: list[float] = field(default_factory=list)
    """Seconds, sorted."""
    statuses: Counter[int] = field(default_factory=Counter)
    wrong: int = 0
    """Answers 200 without the expected marker (or with the forbidden one)."""
    body_bytes: int = 0
    seen: dict[str, set[str]] = field(default_factory=dict)
    """Per notice of the page, the paths whose page showed it."""
    error: str = ""
    """Why the page was not timed (its first answer was not 200)."""

    def pct(self, q: float) -> float:
        return percentile(self.values, q) * 1000

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and self.wrong == 0
            and set(self.statuses) <= {200}
            and self.pct(0.95) < TARGET_PAGE_P95_MS
        )


def consultations_path(**params: str) -> str:
    return "/cong-khai" + (f"?{urllib.parse.urlencode(params)}" if params else "")


def list_pages(services: Services, today: date) -> list[Page]:
    reads = PublicReads(services.projections.database)

    def total(state: ConsultationState, q: str | None = None) -> int:
        page = reads.public_consultations(
            ConsultationFilter(state=state, q=q), today=today, cursor=None, limit=1, count=True
        )
        return int(page.total or 0)

    states: tuple[tuple[str, ConsultationState, dict[str, str]], ...] = (
        ("open windows", "open", {}),
        ("every window", "all", {"tinh_trang": "tat_ca"}),
    )
    pages = []
    for label, state, params in states:
        pages.append(
            Page(
                f"/cong-khai first page, {label}",
                [consultations_path(**params)],
                f"{total(state):,} listed",
                must_have=LIST_MARKER,
            )
        )
    for label, state, params in states:
        for fragment, kind in ((COMMON_FRAGMENT, "common"), (RARE_FRAGMENT, "rare")):
            pages.append(
                Page(
                    f"/cong-khai?q={fragment} ({kind} name), {label}",
                    [consultations_path(q=fragment, **params)],
                    f"{total(state, fragment):,} match",
                    must_have=LIST_MARKER,
                )
            )
    return pages


def nomination_pages(windows: Windows) -> list[Page]:
    pages = []
    if windows.open_ids:
        pages.append(
            Page(
                "/cong-khai/{id}, window open (form shown)",
                [f"/cong-khai/{i}" for i in windows.open_ids],
                f"{len(windows.open_ids)} ids",
                must_have=FORM_MARKER,
                notices=NOMINATION_NOTICES,
            )
        )
    if windows.closed_ids:
        pages.append(
            Page(
                "/cong-khai/{id}, window closed",
                [f"/cong-khai/{i}" for i in windows.closed_ids],
                f"{len(windows.closed_ids)} ids",
                must_not_have=FORM_MARKER,
                notices=NOMINATION_NOTICES,
            )
        )
    return pages


class Browser:
    """One keep-alive connection with a browser's headers and cookie."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.conn = server.connect()
        self.cookies: dict[str, str] = {}
        self.reconnects = 0

    def get(self, path: str) -> tuple[int, bytes]:
        headers = dict(BROWSER_HEADERS)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request("GET", path, headers=headers)
        response = self.conn.getresponse()
        body = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(value)
            self.cookies.update({name: morsel.value for name, morsel in jar.items()})
        if response.will_close:
            self.conn.close()
            self.conn = self.server.connect()
            self.reconnects += 1
        return response.status, body

    def close(self) -> None:
        self.conn.close()


def measure(browser: Browser, page: Page, args: argparse.Namespace) -> Timing:
    timing = Timing(page)
    status, body = browser.get(page.paths[0])
    if status != 200:
        text = re.sub(r"\s+", " ", body[:2000].decode("utf-8", "replace"))
        timing.error = f"GET {page.paths[0]}: {status} {text[:300]}"
        timing.statuses[status] += 1
        return timing
    paths = page.paths
    for turn in range(args.warmup):
        browser.get(paths[turn % len(paths)])
    for turn in range(args.requests):
        path = paths[(args.warmup + turn) % len(paths)]
        started = time.perf_counter()
        status, body = browser.get(path)
        timing.values.append(time.perf_counter() - started)
        timing.statuses[status] += 1
        timing.body_bytes = max(timing.body_bytes, len(body))
        if status == 200 and (
            (page.must_have is not None and page.must_have not in body)
            or (page.must_not_have is not None and page.must_not_have in body)
        ):
            timing.wrong += 1
        for notice, marker in page.notices:
            if status == 200 and marker in body:
                timing.seen.setdefault(notice, set()).add(path)
    timing.values.sort()
    log(
        f"  {page.name:<46} p50 {timing.pct(0.5):6.2f} ms  p95 {timing.pct(0.95):6.2f} ms  "
        f"p99 {timing.pct(0.99):6.2f} ms  ({page.matches}; up to {timing.body_bytes:,} bytes)"
    )
    return timing


@dataclass(frozen=True)
class Vacuum:
    live: int
    dead: int
    seconds: float
    autovacuum: str


def vacuum_views(db: BenchDatabase, services: Services) -> Vacuum:
    """``VACUUM (ANALYZE)`` the live view tables: the steady state autovacuum keeps (a rebuild
    or a live runner's catch-up replaces rows many times over and leaves dead ones behind)."""
    database = services.projections.database
    names = [database.table_name(t) for view in services.projections.views for t in view.tables]
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        setting = conn.execute("SHOW autovacuum").fetchone()
        row = conn.execute(
            "SELECT coalesce(sum(n_live_tup), 0), coalesce(sum(n_dead_tup), 0) "
            "FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            (names,),
        ).fetchone()
        started = time.perf_counter()
        conn.execute("VACUUM (ANALYZE) " + ", ".join(database.qualified(n) for n in names))
        seconds = time.perf_counter() - started
    return Vacuum(
        live=int(row[0]) if row else 0,
        dead=int(row[1]) if row else 0,
        seconds=seconds,
        autovacuum=str(setting[0]) if setting else "?",
    )


def wait_views_at_head(services: Services, timeout: float) -> int:
    """Until every view has applied the log's head (the server's runner moves them)."""
    deadline = time.monotonic() + timeout
    while True:
        lag = views_lag(services)
        if lag == 0:
            return services.movements.max_position()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the views are still {lag:,} events behind after {timeout:g} s")
        time.sleep(0.2)


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--dossiers", type=int, default=100_000, help="dossiers to generate (100000)")
    add("--group-size", type=int, default=1_000, help="dossiers per campaign (1000)")
    add("--database", default=DEFAULT_DATABASE, help=f"database name ({DEFAULT_DATABASE})")
    add("--reuse", action="store_true", help="reuse the database's data if it matches (keeps it)")
    add("--keep", action="store_true", help="keep the database at the end")
    add("--rebuild", action="store_true", help="rebuild the views even if they are up to date")
    add(
        "--catch-up-limit",
        type=int,
        default=100_000,
        help="views further behind the log than this are rebuilt, not caught up (100000)",
    )
    add("--requests", type=int, default=1_000, help="timed requests per page (1000)")
    add("--warmup", type=int, default=50, help="unmeasured requests per page first (50)")
    add("--ids", type=int, default=300, help="open and closed nominations to request, each (300)")
    add("--no-moderate", action="store_true", help="leave the sampled dossiers' comments as they are")  # fmt: skip
    add("--no-vacuum", action="store_true", help="time the view tables as the views left them")
    add("--startup-timeout", type=float, default=300.0, help="server start timeout (300 s)")
    add("--cache", type=int, default=200_000, help="runner aggregate cache size (200000)")
    add("--live-batch", type=int, default=2_000, help="live runner batch size (2000)")
    add_postgres_arguments(parser)
    args = parser.parse_args(argv)
    if args.dossiers < 10:
        parser.error("--dossiers must be at least 10")
    if args.requests < 1 or args.warmup < 0 or args.ids < 1:
        parser.error("--requests and --ids must be positive, --warmup not negative")
    if args.database != DEFAULT_DATABASE and not args.reuse:
        parser.error(
            f"--database {args.database} without --reuse would regenerate and drop it: "
            "add --reuse (which keeps it)"
        )
    if args.reuse:
        args.keep = True
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    db = BenchDatabase(args)
    metrics: list[Metric] = []
    notes: list[str] = []
    services: Services | None = None
    server: Server | None = None
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="kt-bench-public-") as folder:
            services, data = prepare_data(args, db)
            metrics += data_metrics(data, services)
            how = ensure_views(db, services, args)
            metrics.append(Metric("views before the server starts", how))

            windows = pick_windows(services, args)
            metrics.append(
                Metric(
                    f"windows on {windows.today:%d/%m/%Y} (real clock, Vietnam)",
                    f"{windows.consultations:,} published for comment: {windows.open_now:,} open "
                    f"now, {windows.past_last_day:,} still in public comment past their last day",
                    "some open",
                    verdict(windows.open_now > 0),
                )
            )
            if windows.closed_range is not None:
                first, last = windows.closed_range
                notes.append(
                    f"Closed windows requested: the {len(windows.closed_ids)} that ended most "
                    f"recently (last days {first:%d/%m/%Y} to {last:%d/%m/%Y}); open ones: "
                    f"{len(windows.open_ids)} of {windows.open_now:,} at random."
                )
            if not args.no_moderate:
                log("Moderating the waiting comments of the sampled dossiers...")
                done = moderate(services, [*windows.open_ids, *windows.closed_ids])
                metrics.append(
                    Metric(
                        "comments moderated (sampled dossiers)",
                        f"{done.published:,} published, {done.withheld:,} withheld this run, "
                        f"{done.already:,} by earlier runs"
                        + (f"; errors {dict(done.errors)}" if done.errors else ""),
                    )
                )

            log("Starting khenthuong serve...")
            server = Server(
                db,
                Path(folder) / "server.log",
                extra_env={"KHENTHUONG_DATA_DIR": str(Path(folder) / "data")},
            )
            started = time.perf_counter()
            server.wait_ready(args.startup_timeout)
            ready = time.perf_counter() - started
            position = wait_views_at_head(services, args.startup_timeout)
            metrics.append(
                Metric(
                    "server ready (/readyz), every view at the head",
                    f"{ready:.1f} s; views at position {position:,}",
                )
            )

            if not args.no_vacuum:
                log("VACUUM (ANALYZE) of the view tables...")
                vacuumed = vacuum_views(db, services)
                metrics.append(
                    Metric(
                        "view tables vacuumed before timing",
                        f"VACUUM (ANALYZE) removed {vacuumed.dead:,} dead rows beside "
                        f"{vacuumed.live:,} live in {vacuumed.seconds:.1f} s (the server's "
                        f"autovacuum: {vacuumed.autovacuum})",
                    )
                )

            pages = [*list_pages(services, windows.today), *nomination_pages(windows)]
            log(f"Timing {len(pages)} pages, {args.requests:,} requests each...")
            browser = Browser(server)
            timings: list[Timing] = []
            try:
                for page in pages:
                    timing = measure(browser, page, args)
                    timings.append(timing)
                    if timing.error:
                        log(f"  {page.name}: ERROR {timing.error}")
            finally:
                browser.close()
            for timing in timings:
                metrics.append(page_metric(timing))
                if timing.error:
                    notes.append(f"{timing.page.name} not timed: {timing.error}")
                if timing.wrong:
                    marker = timing.page.must_have or timing.page.must_not_have
                    notes.append(
                        f"{timing.page.name}: {timing.wrong} answers "
                        f"{'without' if timing.page.must_have else 'with'} {marker!r}."
                    )
            if any(t.error or set(t.statuses) - {200} for t in timings):
                notes.append("Server log (last lines):\n" + server.tail(30))
            if browser.reconnects:
                notes.append(f"The server closed the connection {browser.reconnects} times.")
            server.close()
            server = None

        load_after = os.getloadavg()
        print()
        for line in machine_info(db):
            print(line)
        print(
            "server       : khenthuong serve (uvicorn, uvloop, httptools, 1 worker, JSON access "
            "log), one keep-alive connection from this process"
        )
        print(
            "load average : "
            + ", ".join(f"{v:.2f}" for v in load_before)
            + " before, "
            + ", ".join(f"{v:.2f}" for v in load_after)
            + " after (1, 5, 15 min)"
        )
        print()
        for line in format_table(metrics):
            print(line)
        for note in notes:
            print(f"\n{note}")
    finally:
        if server is not None:
            server.close()
        if services is not None:
            services.close()
        if args.keep:
            log(f"\nDatabase {db.name} kept (drop it with: dropdb {db.name}).")
        else:
            db.drop()
    return 0


def data_metrics(data: DataSet, services: Services) -> list[Metric]:
    head = services.movements.max_position()
    later = f"; {head - data.events:,} more from earlier runs" if head > data.events else ""
    return [
        Metric(
            "data set",
            f"{data.dossiers:,} dossiers, {data.events:,} events "
            f"({data.events / data.dossiers:.1f} per dossier{later}), generated up to "
            f"{data.last_day:%d/%m/%Y}",
        ),
        Metric(
            "generation (domain commands + COPY)",
            f"{data.generated_seconds:.1f} s" + (" [earlier run]" if data.reused else ""),
        ),
    ]


def page_metric(timing: Timing) -> Metric:
    if timing.error:
        status = next(iter(timing.statuses), 0)
        return Metric(timing.page.name, f"ERROR: status {status}", TARGET, verdict(False))
    others = {s: n for s, n in timing.statuses.items() if s != 200}
    value = (
        f"p50 {timing.pct(0.5):.1f} / p95 {timing.pct(0.95):.1f} / p99 {timing.pct(0.99):.1f} ms "
        f"({timing.page.matches}, {timing.body_bytes / 1024:.0f} KB)"
    )
    if others:
        value += f"; statuses {others}"
    if timing.page.notices:
        value += "; with " + ", ".join(
            f"{notice} on {len(timing.seen.get(notice, ()))}" for notice, _ in timing.page.notices
        )
    if timing.wrong:
        value += f"; {timing.wrong} wrong pages"
    return Metric(timing.page.name, value, TARGET, verdict(timing.ok))


if __name__ == "__main__":
    sys.exit(main())
