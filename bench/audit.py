"""Audit log benchmark: Merkle tree build, ``audit verify`` and inclusion proofs on PostgreSQL.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/audit.py [--database kt_bench_projections] [--no-reuse [--keep]]
                                    [--dossiers 100000] [--batch 50000] [--proofs 1000]
                                    [--warmup 50] [--seed 6] [--no-http] [--no-cli]
                                    [--profile [--profile-events 300000]]

What it does, in one run against one database (by default ``kt_bench_projections``, the data
set of ``bench/projections.py``, reused and kept; ``--no-reuse`` generates it afresh through
``prepare_data`` of ``bench/_common.py`` and drops it at the end unless ``--keep``):

1. **Plain read.** A plain sequential read of every event: the library's
   ``recorder.select_notifications(start, limit=5000)`` in a loop, nothing decoded
   (as ``read_log`` of ``bench/projections.py``), once before the tree build, once after it and
   once after ``audit verify``: the fastest run counts (the strict choice). A bare psycopg
   SELECT of the same rows is given for context.
2. **Tree build.** The audit tables are emptied: ``audit_leaves`` and ``audit_nodes`` dropped
   and created again by ``AuditLog.setup`` (with their indexes, as on a first start), the log's
   tracking row (``audit_log``) deleted, and the stored checkpoints and their keys deleted
   (they were signed over the old tree by another key). ``AuditLog.catch_up()`` (the service's
   batch of 50,000 events a transaction) then builds the tree from zero over the whole log,
   timed: events/s and the ratio to the plain read, with the time its read thread spent in
   the events table (overlapping the hashing and the COPY) and the time spent signing the
   leaves (each leaf is signed as it is appended, with the checkpoints' Ed25519 key, created
   in a temporary folder as the service creates its own: ``merkle.leaf_receipt_body``, spread
   over threads). The tree's size must equal the number of events.
3. **Verify.** A checkpoint of the whole tree is signed (``services.checkpoints.sign()``) with
   an Ed25519 key created in a temporary folder (``Settings.audit_key_file``); then the
   function the command line runs for ``khenthuong audit verify`` (``api.cli.audit_verify``:
   the stored events streamed through ``StoredHistory``, every leaf hash and the root
   recomputed by ``verify_log``, the signature checked) is called in this process and timed
   (the services are already started: the command's start-up is not in it), over every event:
   events/s and the ratio to the plain read (target: at least 50 %). For context: the
   verifier's stream of events alone (``StoredHistory.open``, nothing hashed) and, unless
   ``--no-cli``, the real command in a subprocess (``khenthuong audit verify``, its start-up
   included), its exit status and time.
4. **Inclusion proofs.** ``--proofs`` events at random (seeded), the same for both sides:
   ``AuditLog.inclusion_proof(position, size)`` in process against the checkpoint's size, and,
   unless ``--no-http``, ``GET /api/v1/audit/proofs/inclusion?event=NOTIFICATION_ID`` through
   ``khenthuong serve`` (``bench/_common.py``'s ``Server``: one worker, access log on, the
   views rebuilt first when they lag more than ``/readyz`` allows, as after ``--no-reuse``; one
   keep-alive connection, a bearer token issued for the demo auditor account and revoked at
   the end); ``--warmup`` unmeasured calls first. Every proof is checked against the signed
   root with ``merkle.verify_inclusion``. p50/p95/p99 in ms (target: p99 under 5 ms, judged on
   each side). For context, where an HTTP proof's time goes: the server's own time per request
   (``duration_ms`` of its access log), the route's body called in process (no HTTP, no
   framework: ``api.routes.audit.prove_event`` awaited on an event loop, as the server runs
   it on PostgreSQL), and each call it makes, timed apart (token check, its one read
   ``AsyncProofReads.event``), with the reads it used to make one by one (the event's leaf,
   the tree's size, the latest checkpoint, the stored event, the proof).

``--profile`` runs ``verify_log`` over the first ``--profile-events`` events under cProfile and
prints where the time goes; it runs by itself when the verify target is missed.

The table at the end gives each metric, its target and pass/fail. The machine has two cores
shared with PostgreSQL (and possibly other work): the load average is printed; compare the
ratios within one run. The run writes to the database: the rebuilt audit tables, one
checkpoint (deleted at the end, with its key's row: the key file was temporary), and two events
of the demo auditor's account (its token issued, then revoked).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# ``python bench/audit.py`` puts bench/ first on sys.path, where bench/api.py would shadow the
# ``api`` package: import from the repository root instead.
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import base64  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any, cast  # noqa: E402

import psycopg  # noqa: E402

import infrastructure.audit.log as audit_log_module  # noqa: E402
from api.cli import CliError, audit_verify, projections_rebuild  # noqa: E402
from api.routes.audit import (  # noqa: E402
    async_proof_reads,
    prove_event,
    prove_inclusion,
)
from application.accounts import IssuedToken, Principal  # noqa: E402
from application.audit import merkle  # noqa: E402
from application.audit.verifier import Checkpoint, verify_log  # noqa: E402
from application.demo import READER, ensure_demo_accounts  # noqa: E402
from application.projections.runner import LogRow  # noqa: E402
from bench._common import (  # noqa: E402
    BenchDatabase,
    DataSet,
    Metric,
    Read,
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
from infrastructure.audit.log import TRACKING_NAME, AuditLog  # noqa: E402
from infrastructure.audit.stored import AsyncProofReads, StoredHistory  # noqa: E402
from infrastructure.bootstrap import Services, bootstrap  # noqa: E402

TARGET_VERIFY_SHARE = 0.50
TARGET_PROOF_P99_MS = 5.0
DEFAULT_DATABASE = "kt_bench_projections"
AUDIT_BATCH = 50_000
PROOF_ROUTE = "/api/v1/audit/proofs/inclusion"
"""``AuditLog``'s default batch (events a transaction), what the service uses."""


# --- the data set -----------------------------------------------------------------------------


def other_sessions(db: BenchDatabase) -> list[str]:
    """Other connections to the benchmark's database (another run would disturb this one)."""
    with db.admin() as conn:
        rows = conn.execute(
            "SELECT pid, coalesce(application_name, ''), state, left(query, 60) "
            "FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (db.name,),
        ).fetchall()
    return [f"pid {pid} {app or '?'} ({state}): {query}" for pid, app, state, query in rows]


def key_services(services: Services, db: BenchDatabase, args: argparse.Namespace) -> Services:
    """The services again, their checkpoints signed with a key of the run's temporary folder
    (``audit_key_file``) and no checkpoint timer."""
    services.close()
    settings = db.settings(args).model_copy(
        update={"audit_key_file": args.key_file, "audit_checkpoint_minutes": 0}
    )
    return bootstrap(settings, run_projections=False)


# --- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    events: int
    """The tree's size reached."""
    seconds: float
    read_seconds: float
    sign_seconds: float
    batches: int
    leaves: int
    nodes: int
    table_mb: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def empty_audit_tables(services: Services) -> None:
    """Drop the tree's tables and position, and the checkpoints signed over it; create the
    tables again as a first start does (``AuditLog.setup``)."""
    audit = services.audit
    table = services.checkpoints.table
    with audit.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {audit.leaves_table}, {audit.nodes_table}")
        cursor.execute(
            f"DELETE FROM {audit.database.tracking_table} WHERE application_name = %s",
            (TRACKING_NAME,),
        )
        cursor.execute(f"DELETE FROM {table.table}")
        cursor.execute(f"DELETE FROM {table.keys_table}")
    audit.reset()
    audit.setup()
    if audit.size() or audit.position():
        raise RuntimeError("the audit tables are not empty after the reset")


def remove_checkpoints(services: Services, key_id: str) -> int:
    """Delete the checkpoints signed with this run's key, and the key's row: the key file goes
    with the temporary folder, and a checkpoint by a key nobody holds would make every later
    ``audit verify`` of this database report an unknown key."""
    table = services.checkpoints.table
    with table.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"DELETE FROM {table.table} WHERE key_id = %s", (key_id,))
        removed = int(cursor.rowcount)
        cursor.execute(f"DELETE FROM {table.keys_table} WHERE key_id = %s", (key_id,))
    return removed


def build_tree(services: Services, db: BenchDatabase) -> Build:
    """``AuditLog.catch_up()`` from zero over the whole log, timed (its reads timed apart)."""
    audit = services.audit
    read = audit._read
    spent = [0.0]

    def timed_read(start: int, stop: int, limit: int, topics: Sequence[str]) -> Sequence[LogRow]:
        started = time.perf_counter()
        try:
            return read(start, stop, limit, topics)
        finally:
            spent[0] += time.perf_counter() - started

    audit._read = timed_read
    sign_leaves = audit_log_module._signatures
    signing = [0.0]

    def timed_signatures(sign: Any, first: int, leaves: Sequence[bytes]) -> list[bytes | None]:
        started = time.perf_counter()
        try:
            return sign_leaves(sign, first, leaves)
        finally:
            signing[0] += time.perf_counter() - started

    audit_log_module._signatures = timed_signatures
    done = threading.Event()

    def report() -> None:
        while not done.wait(15):
            log(f"  tree: {audit.stats.events:,} events in {audit.stats.batches} batches")

    reporter = threading.Thread(target=report, daemon=True)
    reporter.start()
    batches = audit.stats.batches
    try:
        started = time.perf_counter()
        size = audit.catch_up()
        seconds = time.perf_counter() - started
    finally:
        done.set()
        reporter.join()
        audit._read = read
        audit_log_module._signatures = sign_leaves
    with psycopg.connect(db.conninfo(), autocommit=True) as conn:
        leaves, nodes, size_bytes = conn.execute(
            f"SELECT (SELECT count(*) FROM {audit.leaves_table}), "
            f"(SELECT count(*) FROM {audit.nodes_table}), "
            f"pg_total_relation_size('{audit.leaves_table}') "
            f"+ pg_total_relation_size('{audit.nodes_table}')"
        ).fetchone() or (0, 0, 0)
    return Build(
        events=size,
        seconds=seconds,
        read_seconds=spent[0],
        sign_seconds=signing[0],
        batches=audit.stats.batches - batches,
        leaves=int(leaves),
        nodes=int(nodes),
        table_mb=int(size_bytes) / 2**20,
    )


# --- verify -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verified:
    ok: bool
    events: int
    seconds: float
    summary: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds


def verify_in_process(services: Services, events: int) -> Verified:
    """``khenthuong audit verify``'s function (``api.cli.audit_verify``), against every stored
    checkpoint, with the key file of the settings."""
    out, err = io.StringIO(), io.StringIO()
    ok = True
    started = time.perf_counter()
    try:
        audit_verify(services, None, None, out, err)
    except CliError as error:
        ok = False
        out.write(f"\n{error.message} (exit {error.code})")
    seconds = time.perf_counter() - started
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    return Verified(ok, events, seconds, lines[-1] if lines else "(no output)")


def verifier_stream(services: Services) -> Read:
    """The verifier's stream of events alone (``StoredHistory.open``, no leaves), not hashed."""
    history = StoredHistory(services.movements)
    count = 0
    started = time.perf_counter()
    with history.open(leaves_from=None) as (events, _leaves):
        for _event in events:
            count += 1
    return Read(count, time.perf_counter() - started)


def verify_subprocess(db: BenchDatabase, args: argparse.Namespace) -> tuple[int, float, str]:
    """``khenthuong audit verify`` as a command: exit status, seconds, last line of output."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("KHENTHUONG")}
    env.update(
        {
            "KHENTHUONG_STORE": "postgres",
            "KHENTHUONG_POSTGRES_URL": db.url,
            "KHENTHUONG_AUDIT_KEY_FILE": str(args.key_file),
            "KHENTHUONG_AUDIT_CHECKPOINT_MINUTES": "0",
            "KHENTHUONG_LOG_FORMAT": "json",
            "KHENTHUONG_LOG_LEVEL": "WARNING",
        }
    )
    command = [str(Path(sys.executable).parent / "khenthuong"), "audit", "verify"]
    started = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    lines = lines or [line for line in done.stderr.splitlines() if line.strip()]
    return done.returncode, seconds, lines[-1] if lines else "(no output)"


def profile_verify(services: Services, events: int) -> list[str]:
    """``verify_log`` over the first ``events`` events under cProfile (main thread: the
    server-side cursor's prefetch thread is not profiled; its wait shows as ``queue.get``)."""
    history = StoredHistory(services.movements)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with history.open(leaves_from=None) as (stream, _leaves):
        profiler.enable()
        report = verify_log(itertools.islice(stream, events), [], {})
        profiler.disable()
    seconds = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    raw = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], stats.stats)  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    lines = [
        f"Profile of verify_log over the first {report.events:,} events: {seconds:.1f} s under "
        f"the profiler ({report.events / seconds:,.0f} events/s), {total:.1f} s of profiled "
        "self time in the main thread",
        "",
        "Self time by area:",
    ]
    areas: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        areas[_area(filename)] += tottime
    for area, spent in sorted(areas.items(), key=lambda item: -item[1]):
        lines.append(f"  {area:<40} {spent:7.2f} s  {100 * spent / total:5.1f} %")
    lines += ["", "Self time, all functions (top 20):"]
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in sorted(
        raw.items(), key=lambda item: -item[1][2]
    )[:20]:
        lines.append(
            f"  {tottime:7.2f} s self {cumtime:7.2f} s cum {calls:9d} calls  "
            f"{_short(filename)}:{line} {name}"
        )
    return lines


def _area(filename: str) -> str:
    path = filename.replace("\\", "/")
    root = str(REPO_ROOT).replace("\\", "/") + "/"
    for library in ("eventsourcing", "psycopg_pool", "psycopg", "cryptography"):
        if f"/site-packages/{library}/" in path:
            return library
    if path.startswith(root) and "/site-packages/" not in path:
        return "project: " + path[len(root) :]
    if path.startswith("~") or path.startswith("<"):
        return "builtins (hashlib, bytes, ...)"
    return "python stdlib"


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", str(REPO_ROOT).replace("\\", "/") + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.rsplit("/lib/python", 1)[-1] if "/lib/python" in path else path


# --- inclusion proofs -------------------------------------------------------------------------


@dataclass
class Latencies:
    side: str
    values: list[float] = field(default_factory=list)
    """Seconds, sorted once measured."""
    checked: int = 0
    """Proofs that verified against the signed root."""

    def pct(self, q: float) -> float:
        return percentile(self.values, q) * 1000


@dataclass(frozen=True)
class Sample:
    position: int
    notification_id: int
    leaf_hash: bytes


def pick_events(audit: AuditLog, size: int, count: int, rng: random.Random) -> list[Sample]:
    picked: list[Sample] = []
    for position in rng.sample(range(size), min(count, size)):
        leaf = audit.leaf(position)
        if leaf is None:
            raise RuntimeError(f"no leaf at position {position} of a tree of {size}")
        picked.append(Sample(position, leaf.notification_id, leaf.leaf_hash))
    return picked


def proofs_in_process(
    audit: AuditLog, checkpoint: Checkpoint, samples: Sequence[Sample], warmup: Sequence[Sample]
) -> Latencies:
    size, root = checkpoint.size, checkpoint.root
    for sample in warmup:
        audit.inclusion_proof(sample.position, size)
    latencies = Latencies("in process: AuditLog.inclusion_proof(position, size)")
    proofs = []
    for sample in samples:
        started = time.perf_counter()
        proof = audit.inclusion_proof(sample.position, size)
        latencies.values.append(time.perf_counter() - started)
        proofs.append(proof)
    latencies.values.sort()
    latencies.checked = sum(
        merkle.verify_inclusion(s.leaf_hash, s.position, size, proof, root)
        for s, proof in zip(samples, proofs, strict=True)
    )
    return latencies


def views_up_to_date(services: Services, batch: int) -> None:
    """Rebuild the views when they lag more than the server's ``/readyz`` allows (a data set
    generated by this run: ``prepare_data`` writes the events only), so the server answers
    ready at once instead of catching up for minutes first."""
    limit = services.settings.ready_max_lag_events
    lagging = [s.name for s in services.projections.status() if s.lag_events > limit]
    if not lagging:
        return
    log(f"The views lag the log ({', '.join(lagging)}): rebuilding them first...")
    projections_rebuild(services, (), batch, sys.stderr, sys.stderr)


def auditor_token(services: Services) -> tuple[str, str | None]:
    """A bearer token of the demo auditor account: issued for this run (revoked at the end),
    or, when that account does not exist yet, by ``ensure_demo_accounts``."""
    accounts = services.accounts
    if any(view.name == READER.user_id for view in accounts.list_accounts()):
        issued = accounts.issue_token(READER.user_id)
        return issued.token, issued.token_id
    tokens: list[IssuedToken] = ensure_demo_accounts(accounts)
    return next(t.token for t in tokens if t.account == READER.user_id), None


def proofs_http(
    db: BenchDatabase,
    args: argparse.Namespace,
    token: str,
    checkpoint: Checkpoint,
    samples: Sequence[Sample],
    warmup: Sequence[Sample],
) -> tuple[Latencies, list[float], Latencies]:
    """The proofs through ``khenthuong serve``: the client's latencies (request sent to body
    read), the server's own (``duration_ms`` of its access log, in seconds, sorted), and, for
    context, as many ``GET /healthz`` (no token, no store, one thread hop) on the same
    connection right after: the floor of an answer from this server on this machine."""
    log_file = args.folder / "server.log"
    server = Server(
        db,
        log_file,
        extra_env={
            "KHENTHUONG_AUDIT_KEY_FILE": str(args.key_file),
            "KHENTHUONG_AUDIT_CHECKPOINT_MINUTES": "0",
        },
    )
    latencies = Latencies("HTTP: GET /api/v1/audit/proofs/inclusion?event=ID")
    floor = Latencies("HTTP: GET /healthz")
    bodies: list[bytes] = []
    try:
        server.wait_ready(args.startup_timeout)
        conn = server.connect()
        try:
            for sample in warmup:
                status, body = server.get(conn, _proof_path(sample), token)
                if status != 200:
                    raise RuntimeError(f"GET {_proof_path(sample)}: {status} {body[:300]!r}")
            for sample in samples:
                started = time.perf_counter()
                status, body = server.get(conn, _proof_path(sample), token)
                latencies.values.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"GET {_proof_path(sample)}: {status} {body[:300]!r}")
                bodies.append(body)
            for _ in samples:
                started = time.perf_counter()
                status, body = server.get(conn, "/healthz", token)
                floor.values.append(time.perf_counter() - started)
                if status != 200:
                    raise RuntimeError(f"GET /healthz: {status} {body[:300]!r}")
        finally:
            conn.close()
    finally:
        server.close()
    latencies.values.sort()
    floor.values.sort()
    for sample, body in zip(samples, bodies, strict=True):
        answer = json.loads(body)
        (event,) = answer["events"]
        latencies.checked += (
            answer["size"] == checkpoint.size
            and base64.b64decode(answer["root"]) == checkpoint.root
            and event["position"] == sample.position
            and event["event_matches_leaf"]
            and merkle.verify_inclusion(
                base64.b64decode(event["leaf_hash"]),
                sample.position,
                checkpoint.size,
                [base64.b64decode(node) for node in event["proof"]],
                checkpoint.root,
            )
        )
    return latencies, server_durations(log_file, len(samples)), floor


def server_durations(log_file: Path, count: int) -> list[float]:
    """The last ``count`` proof requests' ``duration_ms`` in the server's access log."""
    found: list[float] = []
    for line in log_file.read_text(errors="replace").splitlines():
        if PROOF_ROUTE not in line:
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if entry.get("route") == PROOF_ROUTE and "duration_ms" in entry:
            found.append(float(entry["duration_ms"]) / 1000)
    return sorted(found[-count:])


@dataclass
class Breakdown:
    """The handler of ``GET /api/v1/audit/proofs/inclusion?event=`` in process (no HTTP, no
    framework), and each of its reads, in seconds (sorted)."""

    handler: list[float]
    steps: dict[str, list[float]]


def handler_breakdown(
    services: Services, token: str, checkpoint: Checkpoint, samples: Sequence[Sample]
) -> Breakdown:
    """The route's body called directly, then the calls it makes, one by one, timed apart,
    for the same events; and, for context, the separate reads it used to make. On
    PostgreSQL the body is ``api.routes.audit.prove_event`` awaited on an event loop (its
    read ``AsyncProofReads.event``, as the served route does); elsewhere
    ``prove_inclusion``, what the route runs in a worker thread."""
    audit = services.audit
    table = services.checkpoints.table
    recorder = services.movements.recorder
    caller = services.accounts.authenticate(token, None)
    size = checkpoint.size
    steps: dict[str, list[float]] = defaultdict(list)
    on_loop = async_proof_reads(services)
    if on_loop is None:
        handler: list[float] = []
        for sample in samples:
            started = time.perf_counter()
            prove_inclusion(caller, services, event=sample.notification_id)
            handler.append(time.perf_counter() - started)
    else:
        handler = asyncio.run(_on_the_loop(on_loop, services, caller, samples, steps))

    def timed(name: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = call(*args, **kwargs)
        steps[name].append(time.perf_counter() - started)
        return result

    def read_events(leaf: Any) -> list[Any]:  # the slow path's _stored_events, for one leaf
        version = leaf.originator_version
        return list(recorder.select_events(leaf.originator_id, gt=version - 1, lte=version))

    for sample in samples:
        timed("authenticate (cached)", services.accounts.authenticate, token, None)
        # context: the reads it made one by one before (still its way on SQLite)
        leaf = timed("[was] leaf_of_event", audit.leaf_of_event, sample.notification_id)
        timed("[was] size", audit.size)
        timed("[was] latest checkpoint", table.latest)
        timed("[was] select_events", read_events, leaf)
        timed("[was] inclusion_proofs", audit.inclusion_proofs, [leaf.position], size)
    return Breakdown(sorted(handler), {name: sorted(v) for name, v in steps.items()})


async def _on_the_loop(
    reads: AsyncProofReads,
    services: Services,
    caller: Principal,
    samples: Sequence[Sample],
    steps: dict[str, list[float]],
) -> list[float]:
    """``prove_event`` for each sample on this loop (the route's body on PostgreSQL), then its
    read alone (``AsyncProofReads.event``) into ``steps``."""
    await reads.open()
    try:
        handler: list[float] = []
        for sample in samples:
            started = time.perf_counter()
            await prove_event(reads, caller, services, sample.notification_id, None)
            handler.append(time.perf_counter() - started)
        for sample in samples:
            started = time.perf_counter()
            await reads.event(sample.notification_id)
            steps["AsyncProofReads.event (awaited)"].append(time.perf_counter() - started)
        return handler
    finally:
        await reads.close()


def _pcts(values: Sequence[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5) * 1000:.2f} / p95 {percentile(values, 0.95) * 1000:.2f} / "
        f"p99 {percentile(values, 0.99) * 1000:.2f} ms"
    )


def _proof_path(sample: Sample) -> str:
    return f"/api/v1/audit/proofs/inclusion?event={sample.notification_id}"


def proof_metric(latencies: Latencies, count: int) -> Metric:
    p99 = latencies.pct(0.99)
    ok = p99 < TARGET_PROOF_P99_MS and latencies.checked == count
    return Metric(
        f"inclusion proof, {latencies.side}",
        f"p50 {latencies.pct(0.5):.2f} / p95 {latencies.pct(0.95):.2f} / p99 {p99:.2f} ms "
        f"({len(latencies.values):,} events; {latencies.checked:,} proofs verify)",
        f"p99 < {TARGET_PROOF_P99_MS:.0f} ms",
        verdict(ok),
    )


# --- command line -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    add = parser.add_argument
    add("--database", default=DEFAULT_DATABASE, help=f"database name ({DEFAULT_DATABASE})")
    add(
        "--reuse",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reuse the database's data if it holds --dossiers dossiers, and keep it (default); "
        "--no-reuse generates it afresh (and drops it at the end unless --keep)",
    )
    add("--keep", action="store_true", help="keep the database at the end (with --no-reuse)")
    add("--dossiers", type=int, default=100_000, help="dossiers to generate (100000)")
    add("--group-size", type=int, default=1_000, help="dossiers per campaign (1000)")
    add("--batch", type=int, default=AUDIT_BATCH, help=f"tree build batch ({AUDIT_BATCH})")
    add("--proofs", type=int, default=1_000, help="random events to prove (1000)")
    add("--warmup", type=int, default=50, help="unmeasured proofs first, per side (50)")
    add("--seed", type=int, default=6, help="random seed of the events proved (6)")
    add("--no-http", action="store_true", help="skip the proofs through the HTTP API")
    add("--no-cli", action="store_true", help="skip audit verify as a subprocess")
    add("--startup-timeout", type=float, default=120.0, help="server start timeout (120 s)")
    add("--profile", action="store_true", help="profile verify_log (also when its target fails)")
    add("--profile-events", type=int, default=300_000, help="events for --profile (300000)")
    add("--live-batch", type=int, default=2_000, help="live runner batch size (2000)")
    add("--cache", type=int, default=200_000, help="runner aggregate cache size (200000)")
    add_postgres_arguments(parser)
    args = parser.parse_args(argv)
    if args.dossiers < 10:
        parser.error("--dossiers must be at least 10")
    if args.batch < 1 or args.proofs < 1 or args.warmup < 0:
        parser.error("--batch and --proofs must be positive, --warmup not negative")
    if args.reuse:
        args.keep = True
    return args


def data_metrics(data: DataSet, events: int) -> list[Metric]:
    later = f"; {events - data.events:,} more from earlier runs" if events > data.events else ""
    return [
        Metric(
            "data set",
            f"{data.dossiers:,} dossiers, {data.events:,} generated events{later}: "
            f"{events:,} events in the log",
        ),
        Metric(
            "generation (domain commands + COPY)",
            f"{data.generated_seconds:.1f} s ({data.events / data.generated_seconds:,.0f} "
            "events/s)" + (" [earlier run]" if data.reused else ""),
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    db = BenchDatabase(args)
    metrics: list[Metric] = []
    notes: list[str] = []
    profile_lines: list[str] = []
    services: Services | None = None
    signed_with: str | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="kt-bench-audit-") as folder:
            args.folder = Path(folder)
            args.key_file = args.folder / "audit-ed25519.pem"
            others = other_sessions(db) if db.exists() else []
            if others:
                notes.append(
                    f"Other sessions on {db.name} at the start (they may disturb this run, "
                    "and this run empties the audit tables they may use): " + "; ".join(others)
                )
                log(notes[-1])
            first, data = prepare_data(args, db)
            services = key_services(first, db, args)
            store = services.movements

            log("Reading the log (plain read, bare SELECT)...")
            plains = [read_log(store, decode=False)]
            log(f"  plain read    {plains[0].events:,} events {plains[0].rate:,.0f}/s")
            raw = read_raw(db, store)
            log(f"  raw SELECT    {raw.events:,} events {raw.rate:,.0f}/s")
            events = plains[0].events
            metrics += data_metrics(data, events)

            log("Emptying the audit tables...")
            empty_audit_tables(services)
            services.audit.batch_size = args.batch
            log(f"Building the tree from zero (AuditLog.catch_up, batch {args.batch:,})...")
            built = build_tree(services, db)
            log(f"  {built.events:,} events in {built.seconds:.1f} s ({built.rate:,.0f}/s)")
            if built.events != events:
                raise RuntimeError(f"the tree has {built.events:,} leaves for {events:,} events")
            plains.append(read_log(store, decode=False))
            log(f"  plain read    {plains[-1].events:,} events {plains[-1].rate:,.0f}/s")

            log("Signing a checkpoint...")
            started = time.perf_counter()
            stored = services.checkpoints.sign()
            sign_ms = (time.perf_counter() - started) * 1000
            assert stored is not None
            checkpoint = stored.checkpoint
            signed_with = checkpoint.key_id
            log(f"  size {checkpoint.size:,}, key {checkpoint.key_id}, {sign_ms:.0f} ms")

            log("audit verify (api.cli.audit_verify, in process)...")
            verified = verify_in_process(services, events)
            log(f"  {verified.seconds:.1f} s ({verified.rate:,.0f}/s): {verified.summary}")
            log("The verifier's stream of events alone...")
            stream = verifier_stream(services)
            log(f"  {stream.events:,} events {stream.rate:,.0f}/s")
            plains.append(read_log(store, decode=False))
            log(f"  plain read    {plains[-1].events:,} events {plains[-1].rate:,.0f}/s")
            cli: tuple[int, float, str] | None = None
            if not args.no_cli:
                log("khenthuong audit verify (subprocess)...")
                cli = verify_subprocess(db, args)
                log(f"  exit {cli[0]} in {cli[1]:.1f} s: {cli[2]}")

            plain = max(plains, key=lambda r: r.rate)
            build_share = built.rate / plain.rate
            verify_share = verified.rate / plain.rate
            metrics += [
                Metric(
                    "plain read of the log (select_notifications, no decoding), best run",
                    f"{plain.rate:,.0f} events/s (runs: "
                    + ", ".join(f"{r.rate:,.0f}" for r in plains)
                    + ")",
                ),
                Metric(
                    "  context: bare psycopg SELECT of the same rows", f"{raw.rate:,.0f} events/s"
                ),
                Metric(
                    f"tree build from zero (AuditLog.catch_up, batch {args.batch:,})",
                    f"{built.rate:,.0f} events/s = {build_share:.1%} of plain read "
                    f"({built.seconds:.1f} s)",
                ),
                Metric(
                    "  its reads (a thread, overlapping) / batches / rows / tables",
                    f"{built.read_seconds:.1f} s / {built.batches} / {built.leaves:,} leaves, "
                    f"{built.nodes:,} nodes / {built.table_mb:,.0f} MB",
                ),
                Metric(
                    "  of which signing every leaf (Ed25519, in threads)",
                    f"{built.sign_seconds:.1f} s; without it about "
                    f"{built.events / max(built.seconds - built.sign_seconds, 1e-9):,.0f} "
                    "events/s",
                ),
                Metric("sign a checkpoint of the whole tree", f"{sign_ms:.0f} ms"),
                Metric(
                    "audit verify (api.cli.audit_verify in process, 1 checkpoint)",
                    f"{verified.rate:,.0f} events/s = {verify_share:.1%} of plain read "
                    f"({verified.seconds:.1f} s, {'intact' if verified.ok else 'NOT INTACT'})",
                    f">= {TARGET_VERIFY_SHARE:.0%} of plain read",
                    verdict(verified.ok and verify_share >= TARGET_VERIFY_SHARE),
                ),
                Metric(
                    "  context: the verifier's stream alone (StoredHistory, no hashing)",
                    f"{stream.rate:,.0f} events/s = {stream.rate / plain.rate:.1%} of plain read",
                ),
            ]
            if cli is not None:
                metrics.append(
                    Metric(
                        "  context: khenthuong audit verify, subprocess (with start-up)",
                        f"exit {cli[0]}, {cli[1]:.1f} s = {events / cli[1]:,.0f} events/s "
                        f"({events / cli[1] / plain.rate:.1%} of plain read)",
                    )
                )
            notes.append(f"audit verify said: {verified.summary}")
            if cli is not None:
                notes.append(f"khenthuong audit verify (subprocess) said: {cli[2]}")

            log(f"Inclusion proofs: {args.proofs:,} random events (seed {args.seed})...")
            rng = random.Random(args.seed)
            samples = pick_events(services.audit, checkpoint.size, args.proofs, rng)
            warmup = pick_events(services.audit, checkpoint.size, args.warmup, rng)
            in_process = proofs_in_process(services.audit, checkpoint, samples, warmup)
            log(f"  in process p50 {in_process.pct(0.5):.2f} ms p99 {in_process.pct(0.99):.2f} ms")
            metrics.append(proof_metric(in_process, len(samples)))
            if not args.no_http:
                views_up_to_date(services, args.batch)
                token, token_id = auditor_token(services)
                try:
                    http, served, floor = proofs_http(db, args, token, checkpoint, samples, warmup)
                    log(f"  HTTP p50 {http.pct(0.5):.2f} ms p99 {http.pct(0.99):.2f} ms")
                    log("  the handler in process, and its reads one by one...")
                    breakdown = handler_breakdown(services, token, checkpoint, samples)
                finally:
                    if token_id is not None:
                        services.accounts.revoke_token(READER.user_id, token_id)
                metrics += [
                    proof_metric(http, len(samples)),
                    Metric(
                        "  server side (access log duration_ms)",
                        _pcts(served) + f" ({len(served):,} requests)",
                    ),
                    Metric(
                        "  context: GET /healthz, same server and connection, right after",
                        _pcts(floor.values) + f" ({len(floor.values):,} requests)",
                    ),
                    Metric(
                        "  handler in process (route function, no HTTP)", _pcts(breakdown.handler)
                    ),
                    Metric(
                        f"  its {len(breakdown.steps)} calls, p50 each (sum "
                        f"{sum(percentile(v, 0.5) for v in breakdown.steps.values()) * 1000:.2f} ms)",
                        ", ".join(
                            f"{name} {percentile(v, 0.5) * 1000:.2f}"
                            for name, v in breakdown.steps.items()
                        ),
                    ),
                    Metric(
                        "  its calls, p99 each",
                        ", ".join(
                            f"{name} {percentile(v, 0.99) * 1000:.2f}"
                            for name, v in breakdown.steps.items()
                        ),
                    ),
                ]

            if args.profile or verify_share < TARGET_VERIFY_SHARE:
                log(f"Profiling verify_log over {args.profile_events:,} events...")
                profile_lines = profile_verify(services, args.profile_events)
            notes.append(
                f"Left in {db.name}: the rebuilt tree, caught up to "
                f"{services.audit.catch_up():,} events; the run's checkpoint and its key are "
                "deleted at the end (the key file was temporary)."
            )

        print()
        for line in machine_info(db):
            print(line)
        print()
        for line in format_table(metrics):
            print(line)
        for note in notes:
            print(f"\n{note}")
        if profile_lines:
            print()
            for line in profile_lines:
                print(line)
    finally:
        if services is not None:
            if signed_with is not None:
                remove_checkpoints(services, signed_with)
            services.close()
        if args.keep:
            log(f"\nDatabase {db.name} kept (drop it with: dropdb {db.name}).")
        else:
            db.drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
