"""Lifecycle benchmark: the whole dossier flow against a bare eventsourcing aggregate.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/lifecycle.py [--n 200] [--stores sqlite,postgres] [--reps 3]
                                        [--profile] [--env KEY=VALUE ...]

What is measured, per store (SQLite in a temporary file, PostgreSQL in a throwaway database
created for the run and dropped at the end):

``lifecycle``
    N dossiers driven through the whole provincial flow by the real ``Movements`` and
    ``Dossiers`` applications, with a settable clock so the legal windows elapse. The mix is
    like a province's yearly campaign: half *Bằng khen của Chủ tịch UBND tỉnh* (submit →
    appraise → approve, one in ten returned for supplement first, one in twenty not
    qualified), a quarter *Chiến sĩ thi đua cấp tỉnh* (council of 15 members voting), and a
    quarter state-level awards (public comment with three comments, council of 15, the Party
    standing committee's opinion where the rulebook requires it, forwarding, the central
    decision). Decisions are numbered in batches of ten dossiers, as a real decision awards
    many nominees. Commands are the application calls made; events are the rows written
    (dossiers plus movement, nomination slots and document-number registers).

``bare get+save`` (the target's baseline)
    The same count of saves of a bare ``Aggregate`` subclass with one ``@event`` method and no
    domain logic, following the same trace: the first command on an aggregate creates and
    saves it; every later command is ``repository.get`` + trigger + ``save``. Each bare
    aggregate therefore sees exactly as many commands (and replays as many events) as the
    dossier it mirrors. This is what any event-sourced command costs in the library alone, so
    the issue's target ("the domain and application layers cost at most 1.5x the bare
    library save") is read against it.

``bare save-only``
    The same trace without loading: aggregates stay in memory, each command is trigger +
    ``save``. The cheapest thing the library can do per command; reported so the comparison
    is honest (its ratio also charges the library's own load/replay to our layers).

Each measurement runs ``--reps`` times on a fresh, empty store, interleaved (the order of the
three workloads rotates each repetition) so a noisy neighbour hits all sides; the table shows
medians. App construction and store set-up are outside the timed section. ``--profile`` then
runs the lifecycle once more under cProfile and prints where the time goes, by layer and by
function of ``domain`` and ``application``.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import platform
import pstats
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Protocol, cast

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from application.dossiers import Dossiers
from application.movements import Movements
from application.store import Receipt
from domain.calendar import WeekdayCalendar
from domain.rulebook import DECIDER_DOCUMENT_SUFFIX, RulebookHistory, Subject, default_rulebooks
from domain.shared import VIETNAM_TZ, Actor, DocumentRef, Role
from domain.values import (
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

REPO_ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.5
FIRST_DAY = date(2026, 3, 2)  # a Monday, under the ND152-2025 rulebook
CALENDAR = WeekdayCalendar()

WORKLOAD_LIFECYCLE = "lifecycle"
WORKLOAD_BARE_GET = "bare get+save"
WORKLOAD_BARE_SAVE = "bare save-only"
WORKLOADS = (WORKLOAD_LIFECYCLE, WORKLOAD_BARE_GET, WORKLOAD_BARE_SAVE)

# --- a settable clock -------------------------------------------------------------------------


class SettableClock:
    """Returns a set moment, advancing 10 ms per reading so timestamps stay strictly ordered."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        moment = self.moment
        self.moment = moment + timedelta(milliseconds=10)
        return moment

    def set_day(self, day: date) -> None:
        """Jump forward to 08:00 (Vietnam) on ``day``; the clock never goes back."""
        target = datetime.combine(day, clock_time(8, 0), tzinfo=VIETNAM_TZ).astimezone(UTC)
        if target < self.moment:
            raise ValueError(f"the clock cannot go back to {day}")
        self.moment = target


def next_working_day(day: date, days: int = 1) -> date:
    return CALENDAR.add_working_days(day, days)


# --- the province's workload ------------------------------------------------------------------

UNITS = [
    "Sở Giáo dục và Đào tạo",
    "Sở Y tế",
    "Sở Tài chính",
    "Sở Nông nghiệp và Môi trường",
    "Sở Xây dựng",
    "Công an tỉnh",
    "Bộ Chỉ huy Quân sự tỉnh",
    "UBND huyện Hòa Vang",
    "UBND thành phố Tam Kỳ",
    "Liên đoàn Lao động tỉnh",
    "Tỉnh đoàn",
    "Hội Liên hiệp Phụ nữ tỉnh",
]
ADMIN = Actor("quantri-01", Role.ADMIN)
APPRAISER = Actor("cv-snv-01", Role.APPRAISER)
SECRETARY = Actor("thuky-hdtdkt", Role.COUNCIL_SECRETARY)
CHAIRMAN = Actor("chutich-ubnd", Role.CHAIRMAN)
CITIZEN = Actor("cong-thong-tin", Role.PUBLIC)
COUNCIL = [Actor(f"hdtdkt-{m:02d}", Role.COUNCIL_MEMBER) for m in range(15)]
COUNCIL_IDS = [member.user_id for member in COUNCIL]
STATE_AWARDS = [
    "bang_khen_thu_tuong",  # no Party opinion, decided by the Prime Minister
    "huan_chuong_lao_dong_hang_ba",  # no Party opinion, decided by the President
    "chien_si_thi_dua_toan_quoc",  # Party opinion required
    "huan_chuong_lao_dong_hang_nhat",  # Party opinion required
]
PLAN_NUMBER = "461/KH-UBND"
PLAN_ISSUED_ON = date(2026, 2, 2)
ACHIEVEMENTS = (
    "Hoàn thành xuất sắc nhiệm vụ được giao trong năm; chủ trì hai đề tài nghiên cứu khoa học "
    "cấp tỉnh được nghiệm thu loại xuất sắc; có sáng kiến cải tiến quy trình tiếp nhận hồ sơ "
    "được áp dụng trong toàn ngành, tiết kiệm hơn 1,2 tỷ đồng mỗi năm; tích cực tham gia các "
    "phong trào thi đua, hoạt động xã hội và từ thiện tại địa phương."
)
COMMENT_TEXTS = [
    (CommentKind.SUPPORT, "Tôi đồng ý đề nghị khen thưởng, đồng chí rất tận tụy với công việc."),
    (CommentKind.INFORMATION, "Đề nghị bổ sung thông tin về sáng kiến đã được áp dụng ở đâu."),
    (CommentKind.OBJECTION, "Năm trước đơn vị còn để xảy ra chậm trễ trong giải quyết hồ sơ."),
]


@dataclass
class Case:
    """One dossier of the workload, with what the driver needs to follow it."""

    index: int
    award: str
    collective: bool
    submitter: Actor
    dossier_id: uuid.UUID = field(default_factory=uuid.uuid4)
    version: int = 0
    returned: bool = False
    qualified: bool = True
    council: bool = False
    conflict: bool = False
    party_opinion: bool = False
    state_level: bool = False
    declined: bool = False
    comment_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One application call about aggregate ``key`` (-1: the movement).

    ``params`` are fixed; ``build`` makes the value objects a request carries at call time (so
    their validation is timed, as in a real request); a versioned call also sends the
    dossier's current version as ``expected_version``, as a client echoing an ETag does.
    """

    key: int
    use_case: str
    params: Mapping[str, Any] = field(default_factory=dict)
    build: Callable[[Case], dict[str, Any]] | None = None
    versioned: bool = True


@dataclass(frozen=True)
class Day:
    """The clock jumps to this working day before the following steps."""

    day: date


def build_cases(n: int, rulebooks: RulebookHistory) -> list[Case]:
    book = rulebooks.in_force(FIRST_DAY)
    cases: list[Case] = []
    for i in range(n):
        unit = UNITS[i % len(UNITS)]
        submitter = Actor(f"vanthu-{i % len(UNITS):02d}", Role.SUBMITTER, unit)
        slot = i % 4
        if slot in (0, 1):
            case = Case(i, "bang_khen_chu_tich_tinh", collective=i % 3 == 0, submitter=submitter)
            case.returned = i % 10 == 1
            case.qualified = i % 40 != 4
        elif slot == 2:
            case = Case(i, "chien_si_thi_dua_tinh", collective=False, submitter=submitter)
        else:
            case = Case(i, STATE_AWARDS[(i // 4) % len(STATE_AWARDS)], False, submitter)
            case.declined = (i // 4) % 8 == 5
        rule = book.rule(case.award)
        case.council = rule.council_required
        case.party_opinion = rule.party_opinion
        case.state_level = rule.is_state_level
        case.conflict = case.council and i % 5 == 2
        if rule.public_comment:
            case.comment_ids = [f"y-kien-{i}-{k}" for k in range(len(COMMENT_TEXTS))]
        cases.append(case)
    return cases


def _documents(i: int) -> list[DocumentRef]:
    names = ["to-trinh.pdf", "bao-cao-thanh-tich.pdf", "bien-ban-hop-xet.pdf"]
    return [
        DocumentRef(name, hashlib.sha256(f"{i}/{name}".encode()).hexdigest(), 180_000 + i)
        for name in names
    ]


def _prior_titles() -> list[PriorTitle]:
    base = [
        PriorTitle("chien_si_thi_dua_co_so", year, f"{year - 2000}/QĐ-UBND")
        for year in (2023, 2024, 2025)
    ]
    tinh = [
        PriorTitle("chien_si_thi_dua_tinh", year, f"{year - 1900}/QĐ-UBND", TitleKind.REGULAR)
        for year in (2024, 2025)
    ]
    return base + tinh


def _submission(case: Case) -> dict[str, Any]:
    i = case.index
    personal: PersonalDetails | None
    if case.collective:
        nominee = Nominee(Subject.COLLECTIVE, f"Phòng Nghiệp vụ số {i}", "Tập thể")
        personal = None
    else:
        nominee = Nominee(Subject.INDIVIDUAL, f"Nguyễn Thị Minh Hằng {i}", "Chuyên viên chính")
        personal = PersonalDetails(
            identity_number=f"0{i:011d}",
            date_of_birth=date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
            phone="0905 123 456",
            email=f"nhanvien{i}@quangnam.gov.vn",
            address="Số 10 Trần Hưng Đạo, Tam Kỳ",
        )
    return {
        "award_code": case.award,
        "submitting_unit": case.submitter.unit,
        "nominee": nominee,
        "personal": personal,
        "achievements": ACHIEVEMENTS,
        "documents": _documents(i),
        "prior_titles": [] if case.collective else _prior_titles(),
        "by": case.submitter,
        "dossier_id": case.dossier_id,
    }


def _supplement(case: Case) -> dict[str, Any]:
    digest = hashlib.sha256(f"bo-sung/{case.index}".encode()).hexdigest()
    return {
        "documents": [DocumentRef("bien-ban-binh-xet.pdf", digest, 52_000)],
        "by": case.submitter,
    }


def _answers(case: Case) -> dict[str, Any]:
    answer = "Đã tiếp thu, xác minh và giải trình trong báo cáo thẩm định."
    return {
        "qualified": case.qualified,
        "answers": {key: CommentAnswer(Disposition.NOTED, answer) for key in case.comment_ids},
    }


def plan(cases: Sequence[Case], rulebooks: RulebookHistory) -> list[Step | Day]:
    """The campaign, phase by phase, as a province runs it (every phase over all dossiers)."""
    book = rulebooks.in_force(FIRST_DAY)
    day = FIRST_DAY
    steps: list[Step | Day] = [Day(day)]
    add = steps.append
    launch = {
        "plan_number": PLAN_NUMBER,
        "title": "Phong trào thi đua «Cả nước chung tay vì người nghèo» năm 2026",
        "issuing_body": "Ủy ban nhân dân tỉnh",
        "issued_on": PLAN_ISSUED_ON,
        "starts_on": date(2026, 1, 1),
        "ends_on": date(2026, 12, 31),
        "by": ADMIN,
    }
    add(Step(-1, "launch", launch, versioned=False))
    for case in cases:
        add(Step(case.index, "submit", build=_submission, versioned=False))
    returned = [case for case in cases if case.returned]
    published = [case for case in cases if case.comment_ids]
    to_council = [case for case in cases if case.council and case.qualified]
    missing = {
        "missing": ["Biên bản bình xét của Hội đồng thi đua cơ sở"],
        "note": "Đề nghị bổ sung trước ngày họp.",
        "by": APPRAISER,
    }
    for case in returned:
        add(Step(case.index, "return_for_supplement", missing))

    day = next_working_day(day)
    add(Day(day))
    for case in returned:
        add(Step(case.index, "supplement", {"note": "Đã bổ sung biên bản."}, build=_supplement))
    closes_on = next_working_day(day, 10)
    for case in published:
        add(Step(case.index, "open_public_comment", {"closes_on": closes_on, "by": APPRAISER}))

    day = next_working_day(day, 2)
    add(Day(day))
    for case in published:
        for comment_id, (kind, text) in zip(case.comment_ids, COMMENT_TEXTS, strict=True):
            comment = {
                "kind": kind,
                "text": text,
                "author_name": "Trần Văn Bình",
                "contact": "0912 345 678",
                "by": CITIZEN,
                "comment_id": comment_id,
            }
            add(Step(case.index, "receive_comment", comment, versioned=False))

    day = next_working_day(closes_on)
    add(Day(day))
    for case in published:
        add(Step(case.index, "close_public_comment", {"by": APPRAISER}))
    opinion = {"opinion": "Hồ sơ đầy đủ, thành tích được xác nhận.", "by": APPRAISER}
    for case in cases:
        add(Step(case.index, "appraise", opinion, build=_answers))
    meeting_on = next_working_day(day, 2)
    review = {"members": COUNCIL_IDS, "meeting_on": meeting_on, "by": SECRETARY}
    for case in to_council:
        add(Step(case.index, "open_council_review", review))

    day = meeting_on
    add(Day(day))
    conflict = "Có quan hệ gia đình với người được đề nghị."
    for case in to_council:
        for member in COUNCIL[:-1]:
            add(Step(case.index, "cast_ballot", {"vote": Vote.YES, "by": member}))
        last = COUNCIL[-1]
        if case.conflict:
            add(Step(case.index, "declare_conflict_of_interest", {"reason": conflict, "by": last}))
        else:
            add(Step(case.index, "cast_ballot", {"vote": Vote.ABSTAIN, "by": last}))
        add(Step(case.index, "conclude_council_review", {"present": COUNCIL_IDS, "by": SECRETARY}))

    day = next_working_day(day)
    add(Day(day))
    for case in cases:
        if case.party_opinion:
            party = {
                "document_number": f"{300 + case.index}-CV/TU",
                "document_date": day,
                "favourable": True,
                "summary": "Ban Thường vụ Tỉnh ủy thống nhất đề nghị.",
                "by": APPRAISER,
            }
            add(Step(case.index, "record_party_opinion", party))
    # One decision (and one submission upward) covers ten dossiers, as in a real campaign.
    approved = [case for case in cases if case.qualified and not case.state_level]
    for k, case in enumerate(approved):
        decision = {
            "decision_number": f"{100 + k // 10}/QĐ-UBND",
            "decision_date": day,
            "by": CHAIRMAN,
        }
        add(Step(case.index, "approve", decision))
    forwarded = [case for case in cases if case.state_level]
    for k, case in enumerate(forwarded):
        submission = {
            "submission_number": f"{500 + k // 10}/TTr-UBND",
            "submission_date": day,
            "by": CHAIRMAN,
        }
        add(Step(case.index, "forward_upward", submission))

    day = next_working_day(day, 22)
    add(Day(day))
    per_decider: dict[str, int] = defaultdict(int)
    for case in forwarded:
        decider = book.rule(case.award).decider
        k = per_decider[decider]
        per_decider[decider] += 1
        central = {
            "outcome": CentralOutcome.DECLINED if case.declined else CentralOutcome.CONFERRED,
            "decision_number": f"{700 + k // 10}/{DECIDER_DOCUMENT_SUFFIX[decider]}",
            "decision_date": day,
            "by": APPRAISER,
        }
        add(Step(case.index, "record_central_decision", central))
    return steps


# --- the three workloads ----------------------------------------------------------------------


@dataclass
class Run:
    workload: str
    seconds: float
    commands: int
    events: int
    per_use_case: dict[str, float] = field(default_factory=dict)


def run_lifecycle(
    env: Mapping[str, str], n: int, rulebooks: RulebookHistory
) -> tuple[Run, list[int]]:
    """Drive N dossiers through the flow; return the run and its trace of aggregate keys."""
    cases = build_cases(n, rulebooks)
    steps = plan(cases, rulebooks)
    clock = SettableClock(datetime.combine(FIRST_DAY, clock_time(7, 0), tzinfo=VIETNAM_TZ))
    mv = Movements(env, clock=clock)
    ds = Dossiers(env, rulebooks=rulebooks, calendar=CALENDAR, clock=clock, share_with=mv)
    trace: list[int] = []
    per_use_case: dict[str, float] = defaultdict(float)
    movement_id: uuid.UUID | None = None
    try:
        before = ds.max_position()
        perf = time.perf_counter
        started = perf()
        for step in steps:
            if isinstance(step, Day):
                clock.set_day(step.day)
                continue
            case = cases[step.key] if step.key >= 0 else None
            t0 = perf()
            kwargs = dict(step.params)
            if case is not None:
                if step.build is not None:
                    kwargs.update(step.build(case))
                if step.versioned:
                    kwargs["expected_version"] = case.version
            receipt: Receipt
            if step.use_case == "launch":
                receipt = mv.launch(**kwargs)
                movement_id = receipt.id
            elif step.use_case == "submit":
                assert movement_id is not None, "the movement is launched first"
                receipt = ds.submit(movement_id=movement_id, **kwargs)
            else:
                assert case is not None
                receipt = getattr(ds, step.use_case)(case.dossier_id, **kwargs)
            if case is not None:
                case.version = receipt.version
            per_use_case[step.use_case] += perf() - t0
            trace.append(step.key)
        seconds = perf() - started
        events = ds.max_position() - before
    finally:
        ds.close()
        mv.close()
    return Run(WORKLOAD_LIFECYCLE, seconds, len(trace), events, dict(per_use_case)), trace


class BareAggregate(Aggregate):
    """No domain logic: one event to create, one to trigger."""

    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Triggered")
    def trigger(self) -> None:
        self.count += 1


class BareApp(Application[uuid.UUID]):
    name = "bare"


def run_bare(env: Mapping[str, str], trace: Sequence[int], *, load: bool) -> Run:
    """The same count of saves, aggregate for aggregate, as the lifecycle's trace."""
    app = BareApp(env=dict(env))
    ids: dict[int, uuid.UUID] = {}
    live: dict[int, BareAggregate] = {}
    try:
        before = app.recorder.max_notification_id() or 0
        perf = time.perf_counter
        started = perf()
        for key in trace:
            aggregate_id = ids.get(key)
            if aggregate_id is None:
                aggregate = BareAggregate()
                ids[key] = aggregate.id
                live[key] = aggregate
            else:
                if load:
                    aggregate = cast(BareAggregate, app.repository.get(aggregate_id))
                else:
                    aggregate = live[key]
                aggregate.trigger()
            app.save(aggregate)
        seconds = perf() - started
        events = (app.recorder.max_notification_id() or 0) - before
    finally:
        app.close()
    workload = WORKLOAD_BARE_GET if load else WORKLOAD_BARE_SAVE
    return Run(workload, seconds, len(trace), events)


# --- stores -----------------------------------------------------------------------------------


class BenchStore(Protocol):
    name: str

    def fresh_env(self) -> dict[str, str]: ...

    def reset(self) -> None: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class SQLiteStore:
    """A new database file for every run, in a temporary folder removed at the end."""

    name = "sqlite"

    def __init__(self, extra: Mapping[str, str]) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="khenthuong-bench-")
        self._extra = dict(extra)
        self._runs = 0
        self._path: Path | None = None

    def fresh_env(self) -> dict[str, str]:
        self._runs += 1
        self._path = Path(self._folder.name) / f"run-{self._runs}.sqlite"
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self._path),
            **self._extra,
        }

    def reset(self) -> None:
        if self._path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self._path}{suffix}").unlink(missing_ok=True)

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version} (file in {tempfile.gettempdir()})"

    def close(self) -> None:
        self._folder.cleanup()


class PostgresStore:
    """A throwaway database; its public schema is emptied after every run, dropped at the end."""

    name = "postgres"

    def __init__(self, args: argparse.Namespace, extra: Mapping[str, str]) -> None:
        self._conninfo = {
            "host": args.pg_host,
            "port": str(args.pg_port),
            "user": args.pg_user,
            "password": args.pg_password,
        }
        self.dbname = f"khenthuong_bench_{uuid.uuid4().hex[:10]}"
        self._extra = dict(extra)
        with self._admin("postgres") as conn:
            self._server = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            conn.execute(f'CREATE DATABASE "{self.dbname}"')

    def _admin(self, dbname: str) -> psycopg.Connection[Any]:
        return psycopg.connect(dbname=dbname, autocommit=True, connect_timeout=5, **self._conninfo)

    def fresh_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self._conninfo["host"],
            "POSTGRES_PORT": self._conninfo["port"],
            "POSTGRES_USER": self._conninfo["user"],
            "POSTGRES_PASSWORD": self._conninfo["password"],
            "POSTGRES_CONNECT_TIMEOUT": "5",
            **self._extra,
        }

    def reset(self) -> None:
        with self._admin(self.dbname) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")

    def describe(self) -> str:
        host = f"{self._conninfo['host']}:{self._conninfo['port']}"
        return f"PostgreSQL {self._server} at {host}, database {self.dbname} (dropped at the end)"

    def close(self) -> None:
        with self._admin("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Measured:
    store: str
    runs: dict[str, list[Run]] = field(default_factory=lambda: defaultdict(list))

    def median_seconds(self, workload: str) -> float:
        return statistics.median(run.seconds for run in self.runs[workload])


def one_run(
    store: BenchStore, workload: str, n: int, rulebooks: RulebookHistory, trace: Sequence[int]
) -> tuple[Run, list[int]]:
    env = store.fresh_env()
    try:
        if workload == WORKLOAD_LIFECYCLE:
            return run_lifecycle(env, n, rulebooks)
        return run_bare(env, trace, load=workload == WORKLOAD_BARE_GET), list(trace)
    finally:
        store.reset()


def measure(store: BenchStore, n: int, reps: int, rulebooks: RulebookHistory) -> Measured:
    # Warm up imports, connections and the store's caches on a small workload, unmeasured.
    _, small = one_run(store, WORKLOAD_LIFECYCLE, 8, rulebooks, [])
    for workload in WORKLOADS[1:]:
        one_run(store, workload, 8, rulebooks, small)

    measured = Measured(store.name)
    # The lifecycle gives the trace the bare workloads follow; then every repetition rotates
    # the order of the three workloads.
    first, trace = one_run(store, WORKLOAD_LIFECYCLE, n, rulebooks, [])
    measured.runs[WORKLOAD_LIFECYCLE].append(first)
    _progress(store, 0, reps, first)
    order = [*WORKLOADS[1:], WORKLOAD_LIFECYCLE]
    for rep in range(reps):
        rotated = order[rep % 3 :] + order[: rep % 3]
        for workload in rotated:
            if workload == WORKLOAD_LIFECYCLE and rep == 0:
                continue  # the first lifecycle run above belongs to this repetition
            run, again = one_run(store, workload, n, rulebooks, trace)
            if workload == WORKLOAD_LIFECYCLE and again != trace:
                raise RuntimeError("the lifecycle workload is not deterministic")
            measured.runs[workload].append(run)
            _progress(store, rep, reps, run)
    return measured


def _progress(store: BenchStore, rep: int, reps: int, run: Run) -> None:
    print(
        f"  {store.name:<8} rep {rep + 1}/{reps}  {run.workload:<15} {run.seconds:7.2f} s  "
        f"{run.commands} commands, {run.events} events",
        flush=True,
    )


def profile_lifecycle(store: BenchStore, n: int, rulebooks: RulebookHistory, top: int) -> None:
    env = store.fresh_env()
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        run, _ = run_lifecycle(env, n, rulebooks)
        profiler.disable()
    finally:
        store.reset()
    stats = pstats.Stats(profiler)
    raw = cast(dict[tuple[str, int, str], tuple[int, int, float, float, Any]], stats.stats)  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    print(
        f"\nProfile of one lifecycle run on {store.name} (n={n}, {run.commands} commands, "
        f"{run.seconds:.2f} s under the profiler; profiled total {total:.2f} s)"
    )
    by_layer: dict[str, float] = defaultdict(float)
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_layer[_layer(filename)] += tottime
    print("\nSelf time by layer (where the interpreter actually was):")
    for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1]):
        print(f"  {layer:<34} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")

    ours = [
        (key, value)
        for key, value in raw.items()
        if _layer(key[0]) in ("domain", "application", "bench (driver)")
    ]
    print(f"\nOur functions by cumulative time (top {top}):")
    print(f"  {'cumulative':>10} {'self':>8} {'calls':>8}  function")
    for (filename, line, name), (_cc, nc, tottime, cumtime, _callers) in sorted(
        ours, key=lambda item: -item[1][3]
    )[:top]:
        where = Path(filename).resolve().relative_to(REPO_ROOT)
        print(f"  {cumtime:9.2f}s {tottime:7.2f}s {nc:8d}  {where}:{line} {name}")
    print(f"\nAll functions by self time (top {top}):")
    for (filename, line, name), (_cc, nc, tottime, cumtime, _callers) in sorted(
        raw.items(), key=lambda item: -item[1][2]
    )[:top]:
        short = filename if filename.startswith("~") else _short(filename)
        print(f"  {tottime:7.2f}s {cumtime:8.2f}s {nc:8d}  {short}:{line} {name}")


def _layer(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins / C (json, sqlite3, ...)"
    path = filename.replace("\\", "/")
    root = str(REPO_ROOT).replace("\\", "/") + "/"
    if path.startswith(root + "domain/"):
        return "domain"
    if path.startswith(root + "application/"):
        return "application"
    if path.startswith(root + "bench/"):
        return "bench (driver)"
    for library in ("eventsourcing", "psycopg_pool", "psycopg"):
        if f"/site-packages/{library}/" in path:
            return library
    module = path.rsplit("/", 2)
    if "/lib/python3" in path and "/site-packages/" not in path:
        # Name the stdlib modules the library leans on: json (decoding), typing (runtime
        # Protocol checks), copy (deepcopy from the aggregate cache), uuid, enum.
        name = module[-1].removesuffix(".py")
        if module[-2] in ("json", "sqlite3"):
            name = module[-2]
        if name in ("json", "typing", "copy", "uuid", "enum", "datetime", "sqlite3"):
            return f"stdlib {name}"
        return "stdlib other"
    return "other"


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in path:
            return path.split(marker, 1)[1]
    try:
        return str(Path(filename).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return filename


# --- reporting --------------------------------------------------------------------------------


def machine_info(stores: Sequence[BenchStore]) -> list[str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = (
        ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    )
    lines = [
        f"command line : {shlex.join(sys.orig_argv)}",
        f"machine      : {platform.platform()}; {os.cpu_count()} CPUs ({cpu}); load {load}",
        f"python       : {platform.python_implementation()} {platform.python_version()}",
        f"libraries    : eventsourcing {package_version('eventsourcing')}, "
        f"psycopg {package_version('psycopg')}",
    ]
    lines += [f"store        : {store.describe()}" for store in stores]
    return lines


def table(results: Sequence[Measured]) -> list[str]:
    header = (
        "store", "workload", "commands", "events", "seconds", "min-max", "commands/s",
        "events/s", "ratio vs bare", "ratio vs save-only",
    )  # fmt: skip
    rows: list[tuple[str, ...]] = []
    for measured in results:
        baseline = measured.median_seconds(WORKLOAD_BARE_GET)
        save_only = measured.median_seconds(WORKLOAD_BARE_SAVE)
        for workload in WORKLOADS:
            runs = measured.runs[workload]
            seconds = measured.median_seconds(workload)
            commands, events = runs[0].commands, runs[0].events
            name = f"{workload} (baseline)" if workload == WORKLOAD_BARE_GET else workload
            rows.append(
                (
                    measured.store,
                    name,
                    str(commands),
                    str(events),
                    f"{seconds:.2f}",
                    f"{min(r.seconds for r in runs):.2f}-{max(r.seconds for r in runs):.2f}",
                    f"{commands / seconds:.0f}",
                    f"{events / seconds:.0f}",
                    f"{seconds / baseline:.2f}x",
                    f"{seconds / save_only:.2f}x",
                )
            )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7, 8, 9}

    def fmt(row: Sequence[str]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(cells).rstrip()

    return [fmt(header), "  ".join("-" * width for width in widths), *map(fmt, rows)]


def breakdown(measured: Measured, counts: Mapping[str, int]) -> list[str]:
    runs = measured.runs[WORKLOAD_LIFECYCLE]
    totals: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        for use_case, seconds in run.per_use_case.items():
            totals[use_case].append(seconds)
    median_total = statistics.median(run.seconds for run in runs)
    lines = [
        f"{measured.store}: lifecycle time by use case (medians over {len(runs)} runs)",
        f"  {'use case':<30} {'commands':>8} {'seconds':>8} {'share':>6} {'ms/command':>10}",
    ]
    for use_case, values in sorted(totals.items(), key=lambda item: -statistics.median(item[1])):
        seconds = statistics.median(values)
        count = counts.get(use_case, 0)
        lines.append(
            f"  {use_case:<30} {count:8d} {seconds:8.2f} {100 * seconds / median_total:5.1f}% "
            f"{1000 * seconds / max(count, 1):10.2f}"
        )
    return lines


def per_use_case_counts(steps: Sequence[Step | Day]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for step in steps:
        if isinstance(step, Step):
            counts[step.use_case] += 1
    return dict(counts)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=200, help="dossiers per run (default 200)")
    parser.add_argument(
        "--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions per workload (5)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra eventsourcing setting for ALL workloads, e.g. AGGREGATE_CACHE_MAXSIZE=1000",
    )
    parser.add_argument("--profile", action="store_true", help="profile one lifecycle run")
    parser.add_argument("--profile-top", type=int, default=30, help="functions listed (30)")
    parser.add_argument(
        "--profile-store", default=None, help="store to profile on (default: the first one)"
    )
    parser.add_argument("--pg-host", default=os.environ.get("PGHOST", "127.0.0.1"))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("PGPORT", "5432")))
    parser.add_argument("--pg-user", default=os.environ.get("PGUSER", "postgres"))
    parser.add_argument("--pg-password", default=os.environ.get("PGPASSWORD", ""))
    args = parser.parse_args(argv)
    if args.n < 4:
        parser.error("--n must be at least 4 (one dossier of each kind)")
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    args.store_names = [name.strip() for name in args.stores.split(",") if name.strip()]
    unknown = set(args.store_names) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown store(s): {', '.join(sorted(unknown))}")
    try:
        args.extra_env = dict(item.split("=", 1) for item in args.env)
    except ValueError:
        parser.error("--env takes KEY=VALUE")
    return args


def open_store(name: str, args: argparse.Namespace) -> BenchStore:
    if name == "sqlite":
        return SQLiteStore(args.extra_env)
    return PostgresStore(args, args.extra_env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rulebooks = default_rulebooks()
    stores: list[BenchStore] = []
    results: list[Measured] = []
    try:
        for name in args.store_names:
            try:
                stores.append(open_store(name, args))
            except psycopg.OperationalError as error:
                print(f"skipping {name}: cannot reach the server ({error})", file=sys.stderr)
        counts = per_use_case_counts(plan(build_cases(args.n, rulebooks), rulebooks))
        print(
            f"Lifecycle of {args.n} dossiers: " + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
        started = time.perf_counter()
        for store in stores:
            results.append(measure(store, args.n, args.reps, rulebooks))
        elapsed = time.perf_counter() - started
        print()
        for line in machine_info(stores):
            print(line)
        if args.extra_env:
            print(f"extra env    : {args.extra_env} (all workloads)")
        print(
            f"repetitions  : {args.reps} per workload, interleaved; medians shown; "
            f"measuring took {elapsed:.0f} s"
        )
        print()
        for line in table(results):
            print(line)
        print()
        print(
            f"ratio vs bare = lifecycle seconds / '{WORKLOAD_BARE_GET}' seconds for the same "
            f"count of saves on the same trace (the target's baseline; target <= {TARGET_RATIO}x)."
        )
        print(
            "ratio vs save-only also charges the library's own load/replay to our layers "
            "(a stricter, less fair bound)."
        )
        for measured in results:
            ours = measured.median_seconds(WORKLOAD_LIFECYCLE)
            bare = measured.median_seconds(WORKLOAD_BARE_GET)
            commands = measured.runs[WORKLOAD_LIFECYCLE][0].commands
            ratio = ours / bare
            verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
            print(
                f"  {measured.store}: {ratio:.2f}x -> {verdict} the {TARGET_RATIO}x target; "
                f"our layers add {1e6 * (ours - bare) / commands:.0f} us per command "
                f"(bare: {1e6 * bare / commands:.0f} us)"
            )
        for measured in results:
            print()
            for line in breakdown(measured, counts):
                print(line)
        if args.profile and stores:
            chosen = [store for store in stores if store.name == args.profile_store] or stores
            profile_lifecycle(chosen[0], args.n, rulebooks, args.profile_top)
    finally:
        for store in stores:
            try:
                store.close()
            except Exception as error:  # report it and go on cleaning up
                print(f"cleaning up {store.name} failed: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
