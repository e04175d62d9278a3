"""HTTP benchmark: the dossier flow through the real API server on PostgreSQL, against the same
flow called directly on the application layer, in the same run.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/api.py [--n 200] [--clients 4] [--workers 2] [--reps 1]
                                  [--warmup 16] [--server-env KHENTHUONG_KEY=VALUE ...]
                                  [--http auto|h11|httptools] [--loop auto|asyncio|uvloop]
                                  [--profile-server [--profile-top 40]]

What it does:

1. creates a throwaway PostgreSQL database (``khenthuong_bench_api_<random>``, dropped at the
   end, also after Ctrl-C, SIGTERM or an error) with two schemas, ``http_run`` and
   ``direct_run``, so both sides start from the same empty store; in each it creates the tables
   once and the accounts (one per role, twelve submitting units, fifteen council members, each
   with a token);
2. starts the real server as a subprocess in its own session on a free loopback port: uvicorn
   with the app factory (``create_app``), ``--workers W``, uvicorn's choice of HTTP parser and
   event loop (httptools and uvloop, both installed) and the options ``khenthuong serve`` uses
   (no uvicorn access log, no server header, our JSON request log at INFO),
   ``KHENTHUONG_STORE=postgres`` with the default pool; waits for ``/readyz``;
3. drives the flow for N dossiers over HTTP from C client threads (one keep-alive connection
   per thread: the standard library's http.client by default, ``--client httpx`` for httpx,
   which takes about three times the client CPU away from a server on the same two cores), and the same flow called directly on the ``Dossiers``
   application from C threads sharing one set of services (as a server process does), on the
   same kind of store, and prints per command the count, requests per second, mean and
   p50/p95/p99 latency, the totals, the ratio HTTP/direct and the verdict on the targets.

The flow and the clock. The mix is the lifecycle benchmark's (``bench/lifecycle.py``,
``build_cases``): half *Bằng khen của Chủ tịch UBND tỉnh* (submit → appraise → approve; one in
ten returned for supplement first, one in forty not qualified), a quarter *Chiến sĩ thi đua cấp
tỉnh* (a council of 10 to 15 members votes, one in five with a declared conflict of interest),
a quarter state-level (public comment with three comments, a read of the dossier to answer
them, council, the Party opinion where required, forwarding, the central decision). A public
comment window lasts at least 10 working days, so the state-level flow cannot happen in real
time. The server therefore runs with a test clock through ``create_app(settings, clock=...)``:
the real time plus an offset that the benchmark moves forward between phases (8 bytes in a
file that every worker process maps, so all processes agree). Everything else is the
production app. The flow runs in phases (the days of a campaign): within a phase each client
thread walks its own dossiers (whole groups of four, one of each kind, so every thread has the
same mix) through that day's steps, chaining ``If-Match`` from the ``ETag`` each answer
returns; the threads meet between phases while the clock jumps to the next working day (the
waits count in the wall time). The direct side runs exactly the same phases, threads and
bodies: each JSON body is turned into the use case's arguments inside the timed section, as a
route does. Commands on the direct side do not authenticate (the use cases take an actor).

Measured: every request's latency as the client sees it (from before sending to the parsed
answer); from the server's request log, the time inside the server (``duration_ms`` of each
``khenthuong.access`` line, taken by the outermost middleware), so HTTP's cost splits into
client and loopback on one side, the web stack on the other; and the CPU time used during the
measured runs by the client (this process), each server process, the PostgreSQL backends of the
benchmark's database, and everything else on the machine (a warning is printed when other
processes disturbed the run). Commands per second are sustained over the whole run (wall time
from the first request to the last answer, phase changes included); the per-command ``rps`` is
that command's count over the same wall time (the column adds up to the total). One warm-up
run of ``--warmup`` dossiers per side precedes the measured runs; with ``--reps`` the runs
alternate (HTTP, direct, direct, HTTP, ...) and the latencies of all runs are pooled.

``--profile-server`` runs the HTTP side only, against one server process with cProfile (CPU
time per thread) in every thread, and prints where the server's CPU goes per request: the event
loop's thread (uvicorn, middleware, routing, dependencies, logging) apart from the thread pool
(sync dependencies and endpoints: authentication, use cases, store). Its latencies are slowed
down by the profiler and say nothing about the targets.

Everything is bounded: ``--request-timeout`` per request, ``--startup-timeout`` for the
server, ``--max-seconds`` for the whole benchmark; only loopback addresses are used.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# ``python bench/api.py`` puts bench/ first on sys.path, where this very file would shadow the
# ``api`` package: import from the repository root instead (bench.lifecycle is imported as
# bench.lifecycle, which also lets the server's worker processes import ``bench.api``).
if sys.path and Path(sys.path[0] or ".").resolve() == REPO_ROOT / "bench":
    sys.path[0] = str(REPO_ROOT)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import mmap  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable, Mapping, Sequence  # noqa: E402
from contextlib import ExitStack, suppress  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from datetime import time as clock_time  # noqa: E402
from importlib.metadata import version as package_version  # noqa: E402
from types import FrameType  # noqa: E402
from typing import Any, Protocol  # noqa: E402
from urllib.parse import quote  # noqa: E402

import httpx  # noqa: E402
import psycopg  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from api.app import create_app  # noqa: E402
from application.accounts import SYSTEM  # noqa: E402
from application.store import Receipt  # noqa: E402
from bench.lifecycle import (  # noqa: E402
    ADMIN,
    APPRAISER,
    CHAIRMAN,
    COMMENT_TEXTS,
    COUNCIL,
    FIRST_DAY,
    SECRETARY,
    UNITS,
    Case,
    _submission,
    build_cases,
)
from domain.rulebook import DECIDER_DOCUMENT_SUFFIX, RulebookHistory, Subject  # noqa: E402
from domain.rulebook import default_rulebooks as default_rulebook_history  # noqa: E402
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role  # noqa: E402
from domain.values import (  # noqa: E402
    CentralOutcome,
    CommentAnswer,
    CommentKind,
    Disposition,
    Nominee,
    PersonalDetails,
    PriorTitle,
    TitleKind,
    Vote,
)
from infrastructure.bootstrap import Services, bootstrap  # noqa: E402
from infrastructure.calendar import VietnamCalendar  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

TARGET_RATIO = 2.0
TARGET_COMMANDS_PER_SECOND = 500.0
TARGET_P99_MS = 50.0
TARGET_CLIENTS = 4
SERVER_FACTORY = "bench.api:server_app"
CLOCK_FILE_VARIABLE = "KHENTHUONG_BENCH_CLOCK_FILE"
HTTP_SCHEMA, DIRECT_SCHEMA = "http_run", "direct_run"
HTTP, DIRECT = "http", "direct"
READ = "read_state"  # the one read of the flow (GET /dossiers/{id}), not a command

SUBMITTERS = [Actor(f"vanthu-{i:02d}", Role.SUBMITTER, unit) for i, unit in enumerate(UNITS)]
ACCOUNTS: list[tuple[Actor, str]] = [
    (ADMIN, "Quản trị hệ thống"),
    (APPRAISER, "Chuyên viên Sở Nội vụ"),
    (SECRETARY, "Thư ký Hội đồng Thi đua - Khen thưởng"),
    (CHAIRMAN, "Chủ tịch UBND tỉnh"),
    *[(actor, f"Văn thư {actor.unit}") for actor in SUBMITTERS],
    *[(member, f"Thành viên Hội đồng {member.user_id}") for member in COUNCIL],
]


# --- a clock shared by every process of the server --------------------------------------------


class SharedClock:
    """The real time (UTC) plus an offset kept in an 8-byte file that every process maps.

    Only the benchmark writes the offset, between phases, when no request is in flight; moving
    to a later day therefore keeps the time increasing, in every process."""

    def __init__(self, path: Path, *, writable: bool = False) -> None:
        self.path = path
        self._file = path.open("r+b" if writable else "rb")
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
        self._map = mmap.mmap(self._file.fileno(), 8, access=access)

    @classmethod
    def create(cls, path: Path, start: datetime) -> SharedClock:
        """A new clock file, starting at ``start`` (which may be in the past)."""
        offset = (start - datetime.now(tz=UTC)).total_seconds()
        path.write_bytes(struct.pack("<d", offset))
        return cls(path, writable=True)

    def __call__(self) -> datetime:
        (offset,) = struct.unpack_from("<d", self._map, 0)
        return datetime.now(tz=UTC) + timedelta(seconds=offset)

    def set_moment(self, moment: datetime) -> None:
        if moment < self():
            raise ValueError(f"the clock cannot go back to {moment.isoformat()}")
        struct.pack_into("<d", self._map, 0, (moment - datetime.now(tz=UTC)).total_seconds())

    def set_day(self, day: date, hour: int = 8) -> None:
        """Jump to ``hour`` o'clock (Vietnam) on ``day``."""
        self.set_moment(datetime.combine(day, clock_time(hour, 0), tzinfo=VIETNAM_TZ))

    def close(self) -> None:
        self._map.close()
        self._file.close()


def server_app() -> FastAPI:
    """The app factory the server processes run: the production app with the shared clock."""
    return create_app(Settings(), clock=SharedClock(Path(os.environ[CLOCK_FILE_VARIABLE])))


def serve(argv: Sequence[str]) -> int:
    """``bench/api.py _serve``: uvicorn with the options ``khenthuong serve`` uses.

    With ``--profile PATH`` (one process only) every thread runs under its own cProfile: the
    event loop's thread is dumped to ``PATH.loop``, the thread pool's (sync dependencies and
    endpoints) merged into ``PATH.pool``, at shutdown."""
    parser = argparse.ArgumentParser(prog="bench/api.py _serve")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--profile-server",
        action="store_true",
        help="run the HTTP side only, against one server process under cProfile, and print "
        "where the server's time goes",
    )
    parser.add_argument("--profile-top", type=int, default=40, help="functions listed (40)")
    parser.add_argument("--http", default="auto")
    parser.add_argument("--loop", default="auto")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args(argv)
    import uvicorn

    options: dict[str, Any] = {
        "factory": True,
        "host": "127.0.0.1",
        "port": args.port,
        "workers": args.workers,
        "http": args.http,
        "loop": args.loop,
        "app_dir": str(REPO_ROOT),
        "log_config": None,
        "access_log": False,
        "server_header": False,
    }
    if args.profile is None:
        uvicorn.run(SERVER_FACTORY, **options)
        return 0
    pool: list[cProfile.Profile] = []
    lock = threading.Lock()

    def profile_new_thread(*_: Any) -> Any:
        sys.setprofile(None)
        profiler = cProfile.Profile(time.thread_time)
        with lock:
            pool.append(profiler)
        profiler.enable()

    # uvicorn raises the captured SIGTERM again after its graceful shutdown: ignore it then, so
    # that the profiles below get written.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    loop = cProfile.Profile(time.thread_time)
    threading.setprofile(profile_new_thread)
    loop.enable()
    try:
        uvicorn.run(SERVER_FACTORY, **{**options, "workers": 1})
    finally:
        loop.disable()
        threading.setprofile(None)
        pstats.Stats(loop).dump_stats(f"{args.profile}.loop")
        with lock:
            profilers = list(pool)
        if profilers:
            merged = pstats.Stats(profilers[0])
            for profiler in profilers[1:]:
                merged.add(profiler)
            merged.dump_stats(f"{args.profile}.pool")
    return 0


# --- the flow -----------------------------------------------------------------------------------


@dataclass
class Walk:
    """One dossier as a client follows it: the lifecycle's case plus what the answers said."""

    case: Case
    thread: int
    members: list[str]
    dossier_id: uuid.UUID | None = None
    etag: str = ""
    version: int = 0
    comment_ids: list[str] = field(default_factory=list)

    @property
    def submitter(self) -> Actor:
        return SUBMITTERS[self.case.index % len(SUBMITTERS)]


class Executor(Protocol):
    """Sends one step, records its latency, and updates the walk from the answer."""

    def submit(self, walk: Walk, body: dict[str, Any]) -> None: ...

    def move(self, walk: Walk, who: Actor, action: str, body: dict[str, Any]) -> None: ...

    def read(self, walk: Walk, who: Actor) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass
class Campaign:
    """The days of one run and what numbers its documents get (unique per run and thread)."""

    run_no: int
    movement_id: uuid.UUID
    days: list[date]
    closes_on: date
    meeting_on: date
    rulebooks: RulebookHistory

    def decision_number(self, thread: int, k: int) -> str:
        return f"{1000 * (self.run_no + 1) + 100 * thread + k // 10}/QĐ-UBND"

    def submission_number(self, thread: int, k: int) -> str:
        return f"{1000 * (self.run_no + 1) + 100 * thread + 50 + k // 10}/TTr-UBND"

    def central_number(self, thread: int, k: int, suffix: str) -> str:
        return f"{1000 * (self.run_no + 1) + 100 * thread + 70 + k // 10}/{suffix}"


@dataclass
class ThreadCounters:
    approved: int = 0
    forwarded: int = 0
    central: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def campaign_days(start: date, calendar: VietnamCalendar) -> tuple[list[date], date, date]:
    """The seven phase days from ``start`` (a working day), the comment window's last day and
    the council's meeting day."""
    d0 = start
    d1 = calendar.add_working_days(d0, 1)
    closes_on = calendar.add_working_days(d1, 10)
    d2 = calendar.add_working_days(d1, 2)
    d3 = calendar.add_working_days(closes_on, 1)
    meeting_on = calendar.add_working_days(d3, 2)
    d5 = calendar.add_working_days(meeting_on, 1)
    d6 = calendar.add_working_days(d5, 22)
    return [d0, d1, d2, d3, meeting_on, d5, d6], closes_on, meeting_on


def submission_body(case: Case, movement_id: uuid.UUID) -> dict[str, Any]:
    """The lifecycle benchmark's submission of this case, as the JSON a client sends."""
    params = _submission(case)
    nominee: Nominee = params["nominee"]
    personal: PersonalDetails | None = params["personal"]
    body: dict[str, Any] = {
        "movement_id": str(movement_id),
        "award_code": params["award_code"],
        "submitting_unit": params["submitting_unit"],
        "nominee": {"kind": nominee.kind.value, "name": nominee.name, "position": nominee.position},
        "achievements": params["achievements"],
        "documents": [
            {"name": doc.name, "sha256": doc.sha256, "size": doc.size}
            for doc in params["documents"]
        ],
        "prior_titles": [
            {
                "title_code": title.title_code,
                "year": title.year,
                "decision_number": title.decision_number,
                "kind": title.kind.value,
            }
            for title in params["prior_titles"]
        ],
    }
    if personal is not None:
        body["personal"] = {
            "identity_number": personal.identity_number,
            "date_of_birth": personal.date_of_birth.isoformat() if personal.date_of_birth else None,
            "phone": personal.phone,
            "email": personal.email,
            "address": personal.address,
        }
    return body


def phase_submit(c: Campaign, ex: Executor, w: Walk, _n: ThreadCounters) -> None:
    ex.submit(w, submission_body(w.case, c.movement_id))
    if w.case.returned:
        body = {
            "missing": ["Biên bản bình xét của Hội đồng thi đua cơ sở"],
            "note": "Đề nghị bổ sung trước ngày họp.",
        }
        ex.move(w, APPRAISER, "return-for-supplement", body)


def phase_supplement_and_publish(c: Campaign, ex: Executor, w: Walk, _n: ThreadCounters) -> None:
    if w.case.returned:
        digest = f"{w.case.index:064x}"
        body = {
            "documents": [{"name": "bien-ban-binh-xet.pdf", "sha256": digest, "size": 52_000}],
            "note": "Đã bổ sung biên bản.",
        }
        ex.move(w, w.submitter, "supplement", body)
    if w.case.comment_ids:
        ex.move(w, APPRAISER, "public-comment/open", {"closes_on": c.closes_on.isoformat()})


def phase_comments(_c: Campaign, ex: Executor, w: Walk, _n: ThreadCounters) -> None:
    if not w.case.comment_ids:
        return
    for kind, text in COMMENT_TEXTS:
        body = {
            "kind": kind.value,
            "text": text,
            "author_name": "Trần Văn Bình",
            "contact": "0912 345 678",
        }
        ex.move(w, APPRAISER, "comments", body)


def phase_appraise(c: Campaign, ex: Executor, w: Walk, _n: ThreadCounters) -> None:
    if w.case.comment_ids:
        ex.move(w, APPRAISER, "public-comment/close", {})
        state = ex.read(w, APPRAISER)
        w.comment_ids = [item["comment_id"] for item in state["public_comment"]["comments"]]
    answer = {"disposition": "noted", "reason": "Đã tiếp thu, xác minh và giải trình."}
    body = {
        "qualified": w.case.qualified,
        "opinion": "Hồ sơ đầy đủ, thành tích được xác nhận.",
        "answers": dict.fromkeys(w.comment_ids, answer),
    }
    ex.move(w, APPRAISER, "appraisal", body)
    if w.case.council and w.case.qualified:
        body = {"members": w.members, "meeting_on": c.meeting_on.isoformat()}
        ex.move(w, SECRETARY, "council-review", body)


def phase_council(_c: Campaign, ex: Executor, w: Walk, _n: ThreadCounters) -> None:
    if not (w.case.council and w.case.qualified):
        return
    members = [member for member in COUNCIL if member.user_id in w.members]
    for member in members[:-1]:
        ex.move(w, member, "ballots", {"vote": "yes"})
    if w.case.conflict:
        reason = "Có quan hệ gia đình với người được đề nghị."
        ex.move(w, members[-1], "conflicts-of-interest", {"reason": reason})
    else:
        ex.move(w, members[-1], "ballots", {"vote": "abstain"})
    ex.move(w, SECRETARY, "council-review/conclusion", {"present": w.members})


def phase_decide(c: Campaign, ex: Executor, w: Walk, n: ThreadCounters) -> None:
    today = c.days[5].isoformat()
    if w.case.party_opinion:
        body = {
            "document_number": f"{c.run_no * 1000 + 300 + w.case.index}-CV/TU",
            "document_date": today,
            "favourable": True,
            "summary": "Ban Thường vụ Tỉnh ủy thống nhất đề nghị.",
        }
        ex.move(w, APPRAISER, "party-opinion", body)
    if w.case.state_level:
        body = {"submission_number": c.submission_number(w.thread, n.forwarded)}
        body["submission_date"] = today
        n.forwarded += 1
        ex.move(w, CHAIRMAN, "forwarding", body)
    elif w.case.qualified:
        body = {"decision_number": c.decision_number(w.thread, n.approved), "decision_date": today}
        n.approved += 1
        ex.move(w, CHAIRMAN, "approval", body)


def phase_central(c: Campaign, ex: Executor, w: Walk, n: ThreadCounters) -> None:
    if not w.case.state_level:
        return
    decider = c.rulebooks.in_force(c.days[0]).rule(w.case.award).decider
    k = n.central[decider]
    n.central[decider] += 1
    body = {
        "outcome": "declined" if w.case.declined else "conferred",
        "decision_number": c.central_number(w.thread, k, DECIDER_DOCUMENT_SUFFIX[decider]),
        "decision_date": c.days[6].isoformat(),
    }
    ex.move(w, APPRAISER, "central-decision", body)


Phase = Callable[[Campaign, Executor, Walk, ThreadCounters], None]
PHASES: list[Phase] = [
    phase_submit,
    phase_supplement_and_publish,
    phase_comments,
    phase_appraise,
    phase_council,
    phase_decide,
    phase_central,
]


# --- the direct side: JSON body → the use case's arguments (what a route does) -----------------


def _documents(items: Sequence[Mapping[str, Any]]) -> list[DocumentRef]:
    return [DocumentRef(item["name"], item["sha256"].lower(), item["size"]) for item in items]


def submit_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    nominee, personal = body["nominee"], body.get("personal")
    return {
        "movement_id": uuid.UUID(body["movement_id"]),
        "award_code": body["award_code"],
        "submitting_unit": body["submitting_unit"],
        "nominee": Nominee(Subject(nominee["kind"]), nominee["name"], nominee["position"]),
        "personal": PersonalDetails(
            identity_number=personal["identity_number"],
            date_of_birth=date.fromisoformat(personal["date_of_birth"]),
            phone=personal["phone"],
            email=personal["email"],
            address=personal["address"],
        )
        if personal
        else None,
        "achievements": body["achievements"],
        "documents": _documents(body["documents"]),
        "prior_titles": [
            PriorTitle(t["title_code"], t["year"], t["decision_number"], TitleKind(t["kind"]))
            for t in body["prior_titles"]
        ],
    }


def _day(text: str) -> date:
    return date.fromisoformat(text)


MOVES: dict[str, tuple[str, Callable[[Mapping[str, Any]], dict[str, Any]]]] = {
    # action path: (use case of Dossiers, body → keyword arguments)
    "return-for-supplement": (
        "return_for_supplement",
        lambda b: {"missing": list(b["missing"]), "note": b["note"]},
    ),
    "supplement": (
        "supplement",
        lambda b: {"documents": _documents(b["documents"]), "note": b["note"]},
    ),
    "public-comment/open": ("open_public_comment", lambda b: {"closes_on": _day(b["closes_on"])}),
    "comments": (
        "receive_comment",
        lambda b: {
            "kind": CommentKind(b["kind"]),
            "text": b["text"],
            "author_name": b["author_name"],
            "contact": b["contact"],
        },
    ),
    "public-comment/close": ("close_public_comment", lambda b: {}),
    "appraisal": (
        "appraise",
        lambda b: {
            "qualified": b["qualified"],
            "opinion": b["opinion"],
            "answers": {
                key: CommentAnswer(Disposition(a["disposition"]), a["reason"])
                for key, a in b["answers"].items()
            },
        },
    ),
    "council-review": (
        "open_council_review",
        lambda b: {"members": list(b["members"]), "meeting_on": _day(b["meeting_on"])},
    ),
    "conflicts-of-interest": ("declare_conflict_of_interest", lambda b: {"reason": b["reason"]}),
    "ballots": ("cast_ballot", lambda b: {"vote": Vote(b["vote"])}),
    "council-review/conclusion": (
        "conclude_council_review",
        lambda b: {"present": list(b["present"])},
    ),
    "party-opinion": (
        "record_party_opinion",
        lambda b: {
            "document_number": b["document_number"],
            "document_date": _day(b["document_date"]),
            "favourable": b["favourable"],
            "summary": b["summary"],
        },
    ),
    "approval": (
        "approve",
        lambda b: {
            "decision_number": b["decision_number"],
            "decision_date": _day(b["decision_date"]),
        },
    ),
    "forwarding": (
        "forward_upward",
        lambda b: {
            "submission_number": b["submission_number"],
            "submission_date": _day(b["submission_date"]),
        },
    ),
    "central-decision": (
        "record_central_decision",
        lambda b: {
            "outcome": CentralOutcome(b["outcome"]),
            "decision_number": b["decision_number"],
            "decision_date": _day(b["decision_date"]),
        },
    ),
}
ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/dossiers"): "submit",
    ("GET", "/api/v1/dossiers/{dossier_id}"): READ,
    **{
        ("POST", f"/api/v1/dossiers/{{dossier_id}}/{action}"): use_case
        for action, (use_case, _) in MOVES.items()
    },
}


class BenchFailure(Exception):
    """A step did not get the answer the flow expects; the run stops."""


Latencies = dict[str, list[float]]


class DirectExecutor:
    def __init__(self, services: Services, latencies: Latencies, deadline: float) -> None:
        self.dossiers = services.dossiers
        self.latencies = latencies
        self.deadline = deadline

    def _check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise BenchFailure("the run took longer than --max-seconds allows")

    def submit(self, walk: Walk, body: dict[str, Any]) -> None:
        self._check_time()
        started = time.perf_counter()
        receipt = self.dossiers.submit(**submit_arguments(body), by=walk.submitter)
        self.latencies["submit"].append(time.perf_counter() - started)
        walk.dossier_id, walk.version = receipt.id, receipt.version

    def move(self, walk: Walk, who: Actor, action: str, body: dict[str, Any]) -> None:
        self._check_time()
        use_case, arguments = MOVES[action]
        started = time.perf_counter()
        receipt: Receipt = getattr(self.dossiers, use_case)(
            walk.dossier_id, **arguments(body), by=who, expected_version=walk.version
        )
        self.latencies[use_case].append(time.perf_counter() - started)
        walk.version = receipt.version

    def read(self, walk: Walk, who: Actor) -> dict[str, Any]:
        self._check_time()
        assert walk.dossier_id is not None
        started = time.perf_counter()
        state = self.dossiers.state(walk.dossier_id, viewer=who)
        self.latencies[READ].append(time.perf_counter() - started)
        return state

    def close(self) -> None:
        pass


class LeanResponse:
    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """A keep-alive HTTP/1.1 client on the standard library's http.client: about a third of
    httpx's CPU per request, which matters when clients and server share two cores."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 80
        self._timeout = timeout
        self._conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _send(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> LeanResponse:
        all_headers = {"Accept": "application/json", **headers}
        if body is not None:
            all_headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self._conn.request(method, path, body=body, headers=all_headers)
                raw = self._conn.getresponse()
                content = raw.read()
            except (http.client.HTTPException, ConnectionError):
                self._conn.close()
                self._conn = self._connect()
                if attempt == 2:
                    raise
                continue
            return LeanResponse(raw.status, {k.lower(): v for k, v in raw.getheaders()}, content)
        raise AssertionError("unreachable")

    def post(self, path: str, *, json: Any, headers: Mapping[str, str]) -> LeanResponse:
        return self._send("POST", path, _json_bytes(json), headers)

    def get(self, path: str, *, headers: Mapping[str, str]) -> LeanResponse:
        return self._send("GET", path, None, headers)

    def close(self) -> None:
        self._conn.close()


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=str).encode()


class HttpExecutor:
    def __init__(
        self,
        base_url: str,
        tokens: Mapping[str, str],
        latencies: Latencies,
        deadline: float,
        timeout: float,
        lean: bool = False,
    ) -> None:
        self.client: Any = (
            LeanClient(base_url, timeout)
            if lean
            else httpx.Client(base_url=base_url, timeout=timeout)
        )
        self.auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
        self.latencies = latencies
        self.deadline = deadline

    def _check(self, response: Any, expected: int, what: str) -> None:
        if response.status_code != expected:
            raise BenchFailure(
                f"{what}: HTTP {response.status_code} instead of {expected}: {response.text[:600]}"
            )

    def _check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise BenchFailure("the run took longer than --max-seconds allows")

    def submit(self, walk: Walk, body: dict[str, Any]) -> None:
        self._check_time()
        headers = self.auth[walk.submitter.user_id]
        started = time.perf_counter()
        response = self.client.post("/api/v1/dossiers", json=body, headers=headers)
        answer = response.json()
        self.latencies["submit"].append(time.perf_counter() - started)
        self._check(response, 201, f"submit dossier {walk.case.index}")
        walk.dossier_id, walk.etag = uuid.UUID(answer["id"]), response.headers["etag"]
        walk.version = int(answer["version"])

    def move(self, walk: Walk, who: Actor, action: str, body: dict[str, Any]) -> None:
        self._check_time()
        headers = {**self.auth[who.user_id], "If-Match": walk.etag}
        path = f"/api/v1/dossiers/{walk.dossier_id}/{action}"
        started = time.perf_counter()
        response = self.client.post(path, json=body, headers=headers)
        answer = response.json()
        self.latencies[MOVES[action][0]].append(time.perf_counter() - started)
        self._check(response, 200, f"{action} on dossier {walk.case.index} by {who.user_id}")
        walk.etag, walk.version = response.headers["etag"], int(answer["version"])

    def read(self, walk: Walk, who: Actor) -> dict[str, Any]:
        self._check_time()
        started = time.perf_counter()
        response = self.client.get(
            f"/api/v1/dossiers/{walk.dossier_id}", headers=self.auth[who.user_id]
        )
        state: dict[str, Any] = response.json()
        self.latencies[READ].append(time.perf_counter() - started)
        self._check(response, 200, f"read dossier {walk.case.index}")
        walk.etag = response.headers["etag"]
        return state

    def close(self) -> None:
        self.client.close()


# --- one run: C threads, phase by phase ---------------------------------------------------------


@dataclass
class RunResult:
    mode: str
    n: int
    clients: int
    seconds: float
    latencies: Latencies
    cpu: dict[str, float] = field(default_factory=dict)
    server_ms: dict[str, list[float]] = field(default_factory=dict)

    @property
    def commands(self) -> int:
        return sum(len(v) for k, v in self.latencies.items() if k != READ)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


def council_members(case: Case) -> list[str]:
    """10 to 15 members, varying from dossier to dossier."""
    return [member.user_id for member in COUNCIL[: 10 + (case.index // 4) % 6]]


def run_flow(
    campaign: Campaign,
    cases: Sequence[Case],
    clients: int,
    clock: SharedClock,
    make_executor: Callable[[Latencies], Executor],
    deadline: float,
    stop: threading.Event,
) -> tuple[float, Latencies]:
    """Drive the cases through the phases from ``clients`` threads; wall seconds, latencies."""
    walks: list[list[Walk]] = [[] for _ in range(clients)]
    for case in cases:
        # Cases come in groups of four, one of each kind: a thread takes whole groups, so every
        # thread has the same mix (and the same work in every phase).
        thread = (case.index // 4) % clients
        walks[thread].append(Walk(case, thread, council_members(case)))
    phase_no = -1
    started = [0.0]

    def next_phase() -> None:  # runs in one thread while all wait: nothing is in flight
        nonlocal phase_no
        phase_no += 1
        if phase_no < len(PHASES):
            clock.set_day(campaign.days[phase_no])
        if phase_no == 0:
            started[0] = time.perf_counter()

    barrier = threading.Barrier(clients, action=next_phase)
    per_thread: list[Latencies] = [defaultdict(list) for _ in range(clients)]
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        executor = make_executor(per_thread[thread])
        counters = ThreadCounters()
        try:
            for phase in PHASES:
                barrier.wait(timeout=max(0.1, deadline - time.monotonic()))
                for walk in walks[thread]:
                    if stop.is_set():
                        raise BenchFailure("stopped")
                    phase(campaign, executor, walk, counters)
            barrier.wait(timeout=max(0.1, deadline - time.monotonic()))
        except threading.BrokenBarrierError:
            pass
        except BaseException as error:
            errors.append(error)
            stop.set()
            barrier.abort()
        finally:
            executor.close()

    threads = [
        threading.Thread(target=worker, args=(t,), name=f"client-{t}", daemon=True)
        for t in range(clients)
    ]
    for client in threads:
        client.start()
    try:
        for client in threads:
            while client.is_alive():
                client.join(0.2)
    except BaseException:
        stop.set()
        barrier.abort()
        raise
    ended = time.perf_counter()
    if errors:
        first = errors[0]
        raise BenchFailure(f"{type(first).__name__}: {first}") from first
    if barrier.broken:
        raise BenchFailure("the client threads were stopped (timeout or interrupt)")
    merged: Latencies = defaultdict(list)
    for latencies in per_thread:
        for name, values in latencies.items():
            merged[name].extend(values)
    return ended - started[0], dict(merged)


# --- CPU accounting -----------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_seconds() -> float:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return math.nan
    values = [int(v) for v in fields[:8]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICK


def _process_table() -> tuple[dict[int, int], dict[int, float]]:
    """Parent and user + system CPU seconds of every process (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(rest[1])
        times[int(entry.name)] = (int(rest[11]) + int(rest[12])) / TICK
    return parents, times


def _tree(root: int, parents: Mapping[int, int]) -> set[int]:
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def _self_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuSample:
    """CPU seconds so far: the machine, this process, the server's processes, and the
    PostgreSQL backends serving the benchmark's database (by pid)."""

    machine: float
    client: float
    server: dict[int, float]
    backends: dict[int, float]

    @classmethod
    def take(cls, server_pid: int | None, database: Database) -> CpuSample:
        backend_pids = database.backend_pids()
        parents, times = _process_table()
        server = _tree(server_pid, parents) if server_pid else set()
        return cls(
            _machine_busy_seconds(),
            _self_seconds(),
            {pid: times[pid] for pid in server if pid in times},
            {pid: times[pid] for pid in backend_pids if pid in times},
        )

    def since(self, before: CpuSample) -> dict[str, float]:
        machine = self.machine - before.machine
        client = self.client - before.client
        per_process = {
            pid: seconds - before.server.get(pid, 0.0) for pid, seconds in self.server.items()
        }
        server = sum(per_process.values())
        postgres = sum(
            seconds - before.backends.get(pid, 0.0) for pid, seconds in self.backends.items()
        )
        return {
            **{f"server pid {pid}": seconds for pid, seconds in per_process.items()},
            "client": client,
            "server": server,
            "postgres": postgres,
            "machine": machine,
            "foreign": max(0.0, machine - client - server - postgres),
        }


# --- the environment: database, accounts, server ------------------------------------------------


class Database:
    """A throwaway database with one schema per side; dropped by ``close``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.conninfo = {
            "host": args.pg_host,
            "port": str(args.pg_port),
            "user": args.pg_user,
            "password": args.pg_password,
        }
        self.dbname = f"khenthuong_bench_api_{uuid.uuid4().hex[:10]}"
        with self._connect("postgres") as conn:
            row = conn.execute("SHOW server_version").fetchone()
            self.server_version = str(row[0]) if row else "?"
            conn.execute(f'CREATE DATABASE "{self.dbname}"')
        with self._connect(self.dbname) as conn:
            for schema in (HTTP_SCHEMA, DIRECT_SCHEMA):
                conn.execute(f'CREATE SCHEMA "{schema}"')

    def _connect(self, dbname: str) -> psycopg.Connection[Any]:
        return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=5, **self.conninfo)

    @property
    def url(self) -> str:
        user = quote(self.conninfo["user"], safe="")
        password = quote(self.conninfo["password"], safe="")
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@{self.conninfo['host']}:{self.conninfo['port']}/{self.dbname}"

    def settings(self, schema: str, extra: Mapping[str, str], *, create_tables: bool) -> Settings:
        """The service's settings for one side, with the --server-env overrides applied."""
        values: dict[str, Any] = {
            "store": "postgres",
            "postgres_url": self.url,
            "postgres_schema": schema,
            "create_tables": create_tables,
            "log_format": "json",
            "log_level": "WARNING",
        }
        for key, value in extra.items():
            name = key.removeprefix("KHENTHUONG_").lower()
            if name in Settings.model_fields and name not in ("store", "postgres_schema"):
                values[name] = value
        return Settings(**values)

    def backend_pids(self) -> list[int]:
        """The PostgreSQL backends connected to the benchmark's database (not this query's)."""
        with self._connect(self.dbname) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (self.dbname,),
            ).fetchall()
        return [int(row[0]) for row in rows]

    def describe(self) -> str:
        where = f"{self.conninfo['host']}:{self.conninfo['port']}"
        return f"PostgreSQL {self.server_version} at {where}, database {self.dbname} (dropped)"

    def close(self) -> None:
        with self._connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


def prepare_accounts(services: Services) -> dict[str, str]:
    """The accounts of the flow, each with a token: account name → token."""
    tokens: dict[str, str] = {}
    for actor, display_name in ACCOUNTS:
        _, issued = services.accounts.create_account(
            name=actor.user_id,
            display_name=display_name,
            roles=[actor.role],
            unit=actor.unit,
            by=SYSTEM,
        )
        assert issued is not None
        tokens[actor.user_id] = issued.token
    return tokens


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """The API server as a subprocess (its own session), stopped by ``close``."""

    def __init__(
        self,
        args: argparse.Namespace,
        database: Database,
        clock_file: Path,
        log_file: Path,
        profile: Path | None = None,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        env = {key: value for key, value in os.environ.items() if not key.startswith("KHENTHUONG")}
        env.update(
            {
                "KHENTHUONG_STORE": "postgres",
                "KHENTHUONG_POSTGRES_URL": database.url,
                "KHENTHUONG_POSTGRES_SCHEMA": HTTP_SCHEMA,
                "KHENTHUONG_CREATE_TABLES": "false",  # created once by the benchmark
                "KHENTHUONG_LOG_FORMAT": "json",
                "KHENTHUONG_LOG_LEVEL": "INFO",  # one access line per request, as in production
                CLOCK_FILE_VARIABLE: str(clock_file),
                **args.server_env,
            }
        )
        self.command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "_serve",
            "--port",
            str(self.port),
            "--workers",
            str(args.workers),
            "--http",
            args.http,
            "--loop",
            args.loop,
            *(["--profile", str(profile)] if profile is not None else []),
        ]
        self._log = log_file.open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C in the terminal reaches the benchmark only
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise BenchFailure(
                        f"the server exited with code {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise BenchFailure(f"the server was not ready after {timeout:g} s:\n{self.log_tail()}")

    def log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def request_durations(self, start: int, end: int) -> dict[str, list[float]]:
        """Server-side milliseconds per command, from the access log lines in [start, end)."""
        durations: dict[str, list[float]] = defaultdict(list)
        with self.log_file.open("rb") as log:
            log.seek(start)
            chunk = log.read(max(0, end - start))
        for line in chunk.splitlines():
            if b'"request"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            name = ROUTES.get((str(record.get("method")), str(record.get("route"))))
            if record.get("event") == "request" and name is not None:
                durations[name].append(float(record["duration_ms"]))
        return dict(durations)

    def close(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)  # uvicorn shuts its workers down
                try:
                    self.process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=5)
            else:  # the supervisor is gone: make sure no worker of its session survives
                with suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
        finally:
            self._log.close()


# --- a side: its services, clock, tokens and runs -----------------------------------------------


@dataclass
class Side:
    mode: str
    services: Services
    clock: SharedClock
    tokens: dict[str, str]
    next_day: date
    database: Database
    runs: int = 0


def next_campaign(side: Side, calendar: VietnamCalendar, rulebooks: RulebookHistory) -> Campaign:
    """A new movement for the run (untimed), and the run's days after the previous run's."""
    days, closes_on, meeting_on = campaign_days(side.next_day, calendar)
    side.clock.set_day(days[0], hour=7)
    receipt = side.services.movements.launch(
        plan_number=f"{461 + side.runs}/KH-UBND",
        title=f"Phong trào thi đua «Cả nước chung tay vì người nghèo», đợt {side.runs + 1}",
        issuing_body="Ủy ban nhân dân tỉnh",
        issued_on=days[0],
        starts_on=date(days[0].year, 1, 1),
        ends_on=date(days[-1].year, 12, 31),
        by=ADMIN,
    )
    campaign = Campaign(side.runs, receipt.id, days, closes_on, meeting_on, rulebooks)
    side.runs += 1
    side.next_day = calendar.add_working_days(days[-1], 1)
    return campaign


def one_run(
    side: Side,
    n: int,
    args: argparse.Namespace,
    server: Server | None,
    rulebooks: RulebookHistory,
    calendar: VietnamCalendar,
    deadline: float,
    stop: threading.Event,
) -> RunResult:
    campaign = next_campaign(side, calendar, rulebooks)
    cases = build_cases(n, rulebooks)

    def make_executor(latencies: Latencies) -> Executor:
        if side.mode == HTTP:
            assert server is not None
            return HttpExecutor(
                server.base_url,
                side.tokens,
                latencies,
                deadline,
                args.request_timeout,
                lean=args.client == "lean",
            )
        return DirectExecutor(side.services, latencies, deadline)

    log_start = server.log_size() if server is not None else 0
    server_pid = server.process.pid if server is not None else None
    before = CpuSample.take(server_pid, side.database)
    seconds, latencies = run_flow(
        campaign, cases, args.clients, side.clock, make_executor, deadline, stop
    )
    after = CpuSample.take(server_pid, side.database)
    result = RunResult(side.mode, n, args.clients, seconds, latencies, after.since(before))
    if server is not None:
        time.sleep(0.2)  # let the last access lines reach the file
        result.server_ms = server.request_durations(log_start, server.log_size())
    return result


# --- reporting ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(q * len(values)) - 1)]


@dataclass
class Pooled:
    """The measured runs of one side, latencies pooled."""

    mode: str
    seconds: float
    latencies: dict[str, list[float]]
    cpu: dict[str, float]
    server_ms: dict[str, list[float]]

    @classmethod
    def of(cls, runs: Sequence[RunResult]) -> Pooled:
        latencies: dict[str, list[float]] = defaultdict(list)
        server_ms: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, float] = defaultdict(float)
        for run in runs:
            for name, values in run.latencies.items():
                latencies[name].extend(values)
            for name, values in run.server_ms.items():
                server_ms[name].extend(values)
            for key, value in run.cpu.items():
                cpu[key] += value
        for values in (*latencies.values(), *server_ms.values()):
            values.sort()
        return cls(runs[0].mode, sum(r.seconds for r in runs), dict(latencies), cpu, server_ms)

    def commands(self) -> list[float]:
        return sorted(v for k, vs in self.latencies.items() if k != READ for v in vs)

    def requests(self) -> list[float]:
        return sorted(v for vs in self.latencies.values() for v in vs)

    def server_commands(self) -> list[float]:
        return sorted(v for k, vs in self.server_ms.items() if k != READ for v in vs)


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{1000 * value:.2f}"


def _format(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def fmt(row: Sequence[str]) -> str:
        cells = [
            cell.ljust(widths[i]) if i < left else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *map(fmt, rows)]


def order_of(pooled: Pooled) -> list[str]:
    return sorted(pooled.latencies, key=lambda name: (name == READ, -len(pooled.latencies[name])))


def side_table(pooled: Pooled) -> list[str]:
    with_server = bool(pooled.server_ms)
    header = ["command", "count", "rps", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    if with_server:
        header += ["server p50", "server p99"]
    rows: list[list[str]] = []

    def row(name: str, values: list[float], server: list[float] | None) -> list[str]:
        cells = [
            name,
            str(len(values)),
            f"{len(values) / pooled.seconds:.1f}",
            _ms(statistics.fmean(values) if values else math.nan),
            _ms(percentile(values, 0.50)),
            _ms(percentile(values, 0.95)),
            _ms(percentile(values, 0.99)),
            _ms(values[-1] if values else math.nan),
        ]
        if with_server:
            ms = [v / 1000 for v in server or []]
            cells += [_ms(percentile(ms, 0.50)), _ms(percentile(ms, 0.99))]
        return cells

    for name in order_of(pooled):
        rows.append(row(name, pooled.latencies[name], pooled.server_ms.get(name)))
    rows.append(row("ALL COMMANDS", pooled.commands(), pooled.server_commands()))
    every = sorted(v for vs in pooled.server_ms.values() for v in vs)
    rows.append(row("all requests", pooled.requests(), every))
    return _format(header, rows)


def ratio_table(http: Pooled, direct: Pooled) -> list[str]:
    header = ["command", "mean", "p50", "p95", "p99", "HTTP-direct p50 ms", "in server p50 ms"]
    rows: list[list[str]] = []

    def row(name: str, h: list[float], d: list[float], server: list[float]) -> list[str]:
        if not h or not d:
            return [name, "-", "-", "-", "-", "-", "-"]
        ratios = [
            statistics.fmean(h) / statistics.fmean(d),
            *(percentile(h, q) / percentile(d, q) for q in (0.5, 0.95, 0.99)),
        ]
        server_p50 = percentile([v / 1000 for v in server], 0.5) if server else math.nan
        gap = percentile(h, 0.5) - percentile(d, 0.5)
        return [name, *(f"{r:.2f}x" for r in ratios), _ms(gap), _ms(server_p50)]

    for name in order_of(http):
        rows.append(
            row(
                name,
                http.latencies[name],
                direct.latencies.get(name, []),
                http.server_ms.get(name, []),
            )
        )
    rows.append(row("ALL COMMANDS", http.commands(), direct.commands(), http.server_commands()))
    return _format(header, rows)


def machine_info(database: Database, args: argparse.Namespace) -> list[str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    names = "eventsourcing psycopg fastapi starlette pydantic uvicorn httptools uvloop httpx"
    libraries = ", ".join(f"{name} {package_version(name)}" for name in names.split())
    return [
        f"command line : {shlex.join(sys.orig_argv)}",
        f"machine      : {platform.platform()}; {os.cpu_count()} CPUs ({cpu}); load {load}",
        f"python       : {platform.python_implementation()} {platform.python_version()}",
        f"libraries    : {libraries}",
        f"store        : {database.describe()}",
        f"server       : uvicorn, {args.workers} worker process(es), --http {args.http} "
        f"--loop {args.loop}, JSON request log at INFO; extra env {args.server_env or '{}'}",
        f"clients      : {args.clients} threads, one keep-alive "
        f"{'http.client connection' if args.client == 'lean' else 'httpx.Client'} each",
    ]


FOREIGN_LOAD_WARNING = 0.15  # cores used by processes that are not part of the benchmark


def cpu_lines(pooled: Pooled) -> list[str]:
    cpu, seconds = pooled.cpu, pooled.seconds
    parts = [f"client (this process) {cpu.get('client', 0) / seconds:.2f}"]
    if pooled.mode == HTTP:
        processes = sorted(
            (
                value
                for key, value in cpu.items()
                if key.startswith("server pid") and value >= 0.005 * seconds
            ),
            reverse=True,
        )
        each = " + ".join(f"{value / seconds:.2f}" for value in processes)
        parts.append(f"server {cpu.get('server', 0) / seconds:.2f} (by process: {each})")
    parts.append(f"PostgreSQL backends {cpu.get('postgres', 0) / seconds:.2f}")
    parts.append(f"other processes {cpu.get('foreign', 0) / seconds:.2f}")
    parts.append(f"machine {cpu.get('machine', 0) / seconds:.2f} of {os.cpu_count()}")
    ours = cpu.get("client", 0) + cpu.get("server", 0) + cpu.get("postgres", 0)
    requests = len(pooled.requests())
    per = [f"{1000 * cpu.get(key, 0) / requests:.2f}" for key in ("client", "server", "postgres")]
    lines = [
        "CPU cores busy on average: " + ", ".join(parts),
        f"CPU ms per request: {1000 * ours / requests:.2f} (client {per[0]}, server {per[1]}, "
        f"PostgreSQL {per[2]})",
    ]
    if cpu.get("foreign", 0) / seconds > FOREIGN_LOAD_WARNING:
        lines.append(
            "WARNING: other processes kept the CPUs busy during these runs; the latencies and "
            "rates are disturbed (the CPU ms per request much less)"
        )
    return lines


def report(
    args: argparse.Namespace,
    database: Database,
    http_runs: Sequence[RunResult],
    direct_runs: Sequence[RunResult],
    elapsed: float,
) -> None:
    http, direct = Pooled.of(http_runs), Pooled.of(direct_runs)
    print()
    for line in machine_info(database, args):
        print(line)
    print(
        f"workload     : {args.n} dossiers per run, {len(http_runs)} measured run(s) per side "
        f"(after a warm-up of {args.warmup}); whole benchmark took {elapsed:.0f} s"
    )
    for title, pooled in (
        (f"HTTP: {args.clients} client threads -> server with {args.workers} worker(s)", http),
        (f"DIRECT: {args.clients} threads -> application layer, one process", direct),
    ):
        commands = pooled.commands()
        print()
        busy = sum(pooled.requests()) / (args.clients * pooled.seconds)
        print(
            f"{title}: {len(commands)} commands + {len(pooled.latencies.get(READ, []))} reads in "
            f"{pooled.seconds:.2f} s = {len(commands) / pooled.seconds:.0f} commands/s sustained, "
            f"p99 {_ms(percentile(commands, 0.99))} ms; the threads waited for an answer "
            f"{100 * busy:.0f} % of the time"
        )
        for line in side_table(pooled):
            print("  " + line)
        for line in cpu_lines(pooled):
            print("  " + line)
    print()
    print(
        "rps = the command's count over the run's wall time (the column adds up to the total); "
        "server p50/p99 = time inside the server, from its access log."
    )
    print()
    print("HTTP / direct (latency ratios per command; the gap and the time inside the server):")
    for line in ratio_table(http, direct):
        print("  " + line)
    http_rate = len(http.commands()) / http.seconds
    direct_rate = len(direct.commands()) / direct.seconds
    wall_ratio = direct_rate / http_rate
    print(
        f"  overall: direct {direct_rate:.0f} commands/s, HTTP {http_rate:.0f} commands/s -> "
        f"HTTP costs {wall_ratio:.2f}x the direct wall time"
    )
    print()
    p99 = percentile(http.commands(), 0.99) * 1000
    mean_ratio = statistics.fmean(http.commands()) / statistics.fmean(direct.commands())
    cost_ratio = max(wall_ratio, mean_ratio)
    verdicts = [
        (
            f"HTTP <= {TARGET_RATIO:.0f}x direct",
            cost_ratio <= TARGET_RATIO,
            f"{wall_ratio:.2f}x wall time, {mean_ratio:.2f}x mean latency",
        ),
        (
            f">= {TARGET_COMMANDS_PER_SECOND:.0f} commands/s over HTTP",
            http_rate >= TARGET_COMMANDS_PER_SECOND,
            f"{http_rate:.0f} commands/s",
        ),
    ]
    if args.clients == TARGET_CLIENTS:
        verdicts.append((f"p99 < {TARGET_P99_MS:.0f} ms", p99 < TARGET_P99_MS, f"{p99:.1f} ms"))
    print("Targets:")
    for name, met, value in verdicts:
        print(f"  {'meets ' if met else 'MISSES'}  {name:<32} {value}")
    if args.clients != TARGET_CLIENTS:
        print(f"  (p99 target is set at {TARGET_CLIENTS} clients; this run used {args.clients})")


# --- the server's profile ----------------------------------------------------------------------

LIBRARIES = (
    "fastapi", "starlette", "pydantic_core", "pydantic", "uvicorn", "httptools", "uvloop", "anyio",
    "structlog", "eventsourcing", "psycopg_pool", "psycopg", "h11", "sniffio",
)  # fmt: skip
STDLIB_NAMED = ("json", "logging", "threading", "asyncio", "typing", "copy", "uuid", "enum")


def layer_of(filename: str) -> str:
    """Which part of the stack a profiled function belongs to."""
    if filename.startswith(("~", "<")):
        return "builtins / C"
    path = filename.replace("\\", "/")
    root = str(REPO_ROOT).replace("\\", "/") + "/"
    for ours in ("api", "application", "domain", "infrastructure", "bench"):
        if path.startswith(f"{root}{ours}/"):
            return f"ours: {ours}"
    if "/site-packages/" in path:
        package = path.split("/site-packages/", 1)[1].split("/", 1)[0]
        for library in LIBRARIES:
            if package == library:
                return library
        return f"other: {package}"
    if "/lib/python3" in path:
        parts = path.split("/lib/python3", 1)[1].split("/")
        name = parts[1].removesuffix(".py") if len(parts) > 1 else "?"
        return f"stdlib {name}" if name in STDLIB_NAMED else "stdlib other"
    return "other"


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path.removeprefix(str(REPO_ROOT) + "/")


def print_server_profile(profile: Path, requests: int, top: int) -> None:
    """Self time by layer and the top functions, per thread kind, in µs per request."""
    for suffix, title in (
        ("loop", "event loop thread (uvicorn, middleware, FastAPI's async part, logging)"),
        ("pool", "thread pool (sync dependencies and endpoints: auth, use cases, store)"),
    ):
        path = Path(f"{profile}.{suffix}")
        if not path.exists():
            print(f"\n(no profile for the {title})")
            continue
        stats = pstats.Stats(str(path))
        raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]]
        raw = stats.stats  # type: ignore[attr-defined]
        total = sum(entry[2] for entry in raw.values())
        print(f"\nServer profile, {title}: {1e6 * total / requests:.0f} us per request")
        by_layer: dict[str, float] = defaultdict(float)
        for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
            by_layer[layer_of(filename)] += tottime
        for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1])[:14]:
            print(
                f"  {layer:<26} {1e6 * seconds / requests:7.0f} us/request  "
                f"{100 * seconds / total:5.1f} %"
            )
        print(f"  top {top} by cumulative time (us per request; calls per request):")
        ranked = sorted(raw.items(), key=lambda item: -item[1][3])
        shown = 0
        for (filename, line, name), (_cc, nc, _tottime, cumtime, _callers) in ranked:
            if name.startswith("<") or filename == "~":
                continue
            print(
                f"    {1e6 * cumtime / requests:7.0f}  {nc / requests:6.2f}  "
                f"{_short(filename)}:{line} {name}"
            )
            shown += 1
            if shown >= top:
                break


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="dossiers per measured run (200)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (4)")
    parser.add_argument(
        "--client",
        choices=("lean", "httpx"),
        default="lean",
        help="HTTP client library of the client threads: the standard library's http.client "
        "(lean, default: least CPU taken from the server on a shared machine) or httpx",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (2)")
    parser.add_argument("--reps", type=int, default=1, help="measured runs per side (1)")
    parser.add_argument("--warmup", type=int, default=None, help="warm-up dossiers (4 x clients)")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra KHENTHUONG_ setting for the server AND the direct side, "
        "e.g. KHENTHUONG_POSTGRES_POOL_SIZE=20",
    )
    parser.add_argument(
        "--profile-server",
        action="store_true",
        help="run the HTTP side only, against one server process under cProfile, and print "
        "where the server's time goes",
    )
    parser.add_argument("--profile-top", type=int, default=40, help="functions listed (40)")
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"])
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"])
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds (30)")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="whole run bound (900)")
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--pg-password", default=os.environ.get("PGPASSWORD", ""))
    args = parser.parse_args(argv)
    if not 4 <= args.n <= 2000:
        parser.error("--n must be between 4 (one dossier of each kind) and 2000")
    if not 1 <= args.clients <= 64:
        parser.error("--clients must be between 1 and 64")
    if not 1 <= args.workers <= 32:
        parser.error("--workers must be between 1 and 32")
    if not 1 <= args.reps <= 10:
        parser.error("--reps must be between 1 and 10")
    if args.profile_server:
        args.workers = 1
    if args.warmup is None:
        args.warmup = max(8, 4 * args.clients)
    if args.pg_host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--pg-host must be a loopback address")
    try:
        pairs = [item.split("=", 1) for item in args.server_env]
        args.server_env = dict(pairs)
    except ValueError:
        parser.error("--server-env takes KEY=VALUE")
    if any(not key.startswith("KHENTHUONG_") for key in args.server_env):
        parser.error("--server-env keys start with KHENTHUONG_")
    return args


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["_serve"]:
        return serve(arguments[1:])
    args = parse_args(arguments)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # clean up as after Ctrl-C
    started = time.perf_counter()
    deadline = time.monotonic() + args.max_seconds
    stop = threading.Event()
    rulebooks = default_rulebook_history()
    calendar = VietnamCalendar()
    with ExitStack() as cleanup:
        try:
            return _benchmark(args, cleanup, rulebooks, calendar, deadline, stop, started)
        except KeyboardInterrupt:
            stop.set()
            print("\ninterrupted: stopping the server and dropping the database", file=sys.stderr)
            return 130
        except (BenchFailure, psycopg.OperationalError, ValidationError) as error:
            stop.set()
            print(f"\nbenchmark failed: {error}", file=sys.stderr)
            return 1


def _benchmark(
    args: argparse.Namespace,
    cleanup: ExitStack,
    rulebooks: RulebookHistory,
    calendar: VietnamCalendar,
    deadline: float,
    stop: threading.Event,
    started: float,
) -> int:
    folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="khenthuong-api-")))
    database = Database(args)
    cleanup.callback(database.close)
    print(f"database {database.dbname}; preparing tables and accounts", flush=True)

    sides: dict[str, Side] = {}
    start_day = FIRST_DAY
    while not calendar.is_working_day(start_day):
        start_day += timedelta(days=1)
    for mode, schema in ((HTTP, HTTP_SCHEMA), (DIRECT, DIRECT_SCHEMA)):
        start = datetime.combine(start_day, clock_time(6, 0), tzinfo=VIETNAM_TZ)
        clock = SharedClock.create(folder / f"clock-{mode}", start)
        cleanup.callback(clock.close)
        # Tables are created here, once; the server's processes never create them.
        settings = database.settings(schema, args.server_env, create_tables=True)
        services = bootstrap(settings, clock=clock)
        cleanup.callback(services.close)
        tokens = prepare_accounts(services)
        sides[mode] = Side(mode, services, clock, tokens, start_day, database)

    log_file = folder / "server.log"
    profile = folder / "server.prof" if args.profile_server else None
    server = Server(args, database, sides[HTTP].clock.path, log_file, profile)
    cleanup.callback(server.close)
    print(f"server: {shlex.join(server.command)} (pid {server.process.pid})", flush=True)
    server.wait_ready(min(args.startup_timeout, max(1.0, deadline - time.monotonic())))

    modes = (HTTP,) if profile is not None else (HTTP, DIRECT)
    for mode in modes:
        run = one_run(
            sides[mode], args.warmup, args, server if mode == HTTP else None,
            rulebooks, calendar, deadline, stop,
        )  # fmt: skip
        print(f"  warm-up {mode:<6}  {run.commands:5d} commands  {run.seconds:6.2f} s", flush=True)
    results: dict[str, list[RunResult]] = {HTTP: [], DIRECT: []}
    for rep in range(args.reps):
        order = modes if rep % 2 == 0 else modes[::-1]
        for mode in order:
            run = one_run(
                sides[mode], args.n, args, server if mode == HTTP else None,
                rulebooks, calendar, deadline, stop,
            )  # fmt: skip
            results[mode].append(run)
            print(
                f"  run {rep + 1}/{args.reps} {mode:<6}  {run.commands:5d} commands  "
                f"{run.seconds:6.2f} s  {run.commands / run.seconds:6.0f} commands/s",
                flush=True,
            )
    errors = [line for line in server.log_tail(10_000).splitlines() if '"level": "error"' in line]
    if errors:
        print(f"server logged {len(errors)} error(s); the first: {errors[0][:300]}")
    if profile is None:
        report(args, database, results[HTTP], results[DIRECT], time.perf_counter() - started)
        return 0
    server.close()  # the profiles are written at shutdown
    pooled = Pooled.of(results[HTTP])
    print()
    for line in machine_info(database, args):
        print(line)
    print(
        f"\nPROFILED server (cProfile in every thread slows it down; use these numbers for "
        f"where the time goes, not for the targets): {len(pooled.commands())} commands in "
        f"{pooled.seconds:.2f} s"
    )
    for line in side_table(pooled):
        print("  " + line)
    print_server_profile(profile, len(pooled.requests()), args.profile_top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
