"""Helpers for the projection tests: view sets, table dumps, rebuilds, and a scripted flow that
takes dossiers through every kind of step the views care about."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from application.dossiers import Dossiers
from application.movements import Movements
from application.projections.runner import Runner
from application.projections.schema import Table
from application.projections.views import View, build_views
from application.store import Receipt, Store
from domain.calendar import WorkCalendar
from domain.rulebook import default_rulebooks
from domain.shared import Actor, Role
from domain.values import CentralOutcome, CommentKind, Grounds, HoldKind, Vote
from infrastructure.calendar import VietnamCalendar
from infrastructure.settings import Settings
from infrastructure.views.database import LIVE, VERIFY, ViewDatabase
from tests.application.flows import appraise
from tests.application.support import (
    ADMIN,
    APPRAISER,
    CHAIRMAN,
    MEMBERS,
    PUBLIC,
    SECRETARY,
    SUBMITTER,
    ManualClock,
    World,
    base_titles,
    document,
    submit,
)

Dump = dict[str, list[dict[str, Any]]]

DN_UNIT = "Ủy ban nhân dân huyện Đắk Song, tỉnh Đắk Nông"
DN_SUBMITTER = Actor("dn-1", Role.SUBMITTER, DN_UNIT)


# --- stores -------------------------------------------------------------------------------


def store_kind(env: dict[str, str]) -> str:
    return {
        "eventsourcing.popo": "memory",
        "eventsourcing.sqlite": "sqlite",
        "eventsourcing.postgres": "postgres",
    }[env["PERSISTENCE_MODULE"]]


def conninfo(env: dict[str, str]) -> str | None:
    """A libpq connection string for the PostgreSQL store of ``env`` (None for the others)."""
    if store_kind(env) != "postgres":
        return None
    from psycopg.conninfo import make_conninfo

    return make_conninfo(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout="5",
    )


def settings_fields(env: dict[str, str], data_dir: Path) -> dict[str, Any]:
    """Service settings (as plain values) for the SQLite file in ``data_dir`` or the
    PostgreSQL schema of ``env``."""
    if store_kind(env) == "sqlite":
        return {"store": "sqlite", "data_dir": str(data_dir), "log_format": "json"}
    auth = env["POSTGRES_USER"]
    if env.get("POSTGRES_PASSWORD"):
        auth += f":{env['POSTGRES_PASSWORD']}"
    url = f"postgresql://{auth}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    return {
        "store": "postgres",
        "postgres_url": url,
        "postgres_schema": env["POSTGRES_SCHEMA"],
        "postgres_pool_size": 4,
        "log_format": "json",
    }


def settings_for(env: dict[str, str], data_dir: Path) -> Settings:
    return Settings(**settings_fields(env, data_dir))


# --- view sets ----------------------------------------------------------------------------


def view_database(
    store: Store,
    calendar: WorkCalendar,
    *,
    suffix: str = LIVE,
    names: tuple[str, ...] | None = None,
) -> ViewDatabase:
    """A set of view tables, created if missing (a scratch set is emptied first)."""
    database = ViewDatabase(store, build_views(calendar, names), suffix=suffix)
    if suffix != LIVE:
        database.drop()
    database.setup()
    return database


def runner(database: ViewDatabase, **options: int) -> Runner:
    return Runner(database.store, database.views, database, **options)


def tables_of(views: Sequence[View]) -> list[Table]:
    return [table for view in views for table in view.tables]


def _sort_key(table: Table, row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(row[name]) for name in table.key)


def dump(database: ViewDatabase) -> Dump:
    """Every row of every table of the set, as Python values, in key order."""
    result: Dump = {}
    for table in tables_of(database.views):
        rows = database.select(table, "SELECT * FROM {table}")
        result[table.name] = sorted(rows, key=lambda row, t=table: _sort_key(t, row))  # type: ignore[misc]
    return result


def positions(database: ViewDatabase) -> dict[str, int]:
    return database.positions([view.name for view in database.views])


def rebuild(store: Store, calendar: WorkCalendar, *, suffix: str = VERIFY) -> Dump:
    """The rows of all views built from scratch by a separate runner in one big pass."""
    database = view_database(store, calendar, suffix=suffix)
    try:
        reached = runner(database, batch_size=100_000).run_until_caught_up()
        assert reached == store.max_position()
        return dump(database)
    finally:
        database.drop()


def assert_same_rows(actual: Dump, expected: Dump) -> None:
    """Table by table, so that a failure names the table and the first differing row."""
    assert sorted(actual) == sorted(expected)
    for name in expected:
        got, want = actual[name], expected[name]
        for index, (a, b) in enumerate(zip(got, want, strict=False)):
            assert a == b, f"{name} row {index}: {a!r} != {b!r}"
        assert len(got) == len(want), f"{name}: {len(got)} rows, expected {len(want)}"


def assert_equals_rebuild(database: ViewDatabase, calendar: WorkCalendar) -> None:
    assert_same_rows(dump(database), rebuild(database.store, calendar))


def by_id(rows: list[dict[str, Any]]) -> dict[UUID, dict[str, Any]]:
    return {row["id"]: row for row in rows}


def counters(rows: list[dict[str, Any]], *key: str) -> dict[tuple[Any, ...], int]:
    return {tuple(row[k] for k in key): row["count"] for row in rows}


# --- a scripted flow --------------------------------------------------------------------------


@dataclass
class Flow:
    """The dossiers of the script and the days things happened on."""

    a: UUID | None = None
    """State level: public comment, council, party opinion, forwarded, conferred, revoked."""
    b: UUID | None = None
    """Provincial Bằng khen: returned and supplemented, held and lifted, approved."""
    c: UUID | None = None
    """Provincial Chiến sĩ thi đua: held after its deadline, lifted, left in council voting."""
    w: UUID | None = None
    """Submitted by a unit of Đắk Nông, then withdrawn."""
    receipts: dict[str, Receipt] = field(default_factory=dict)


def day(month: int, number: int) -> date:
    return date(2026, month, number)


def scripted_flow(world: World, checkpoint: Callable[[str], None] = lambda name: None) -> Flow:
    """Drive four dossiers along the timeline below, calling ``checkpoint`` at named moments.

    ===========  ==================================================================
    02/03 (Mon)  submit A (state), B, C, W; open public comment on A; two comments
    03/03        return B for documents                          → "returned"
    05/03        B supplemented                                  → "supplemented"
    06/03        B held                                          → "held"
    10/03        hold on B lifted                                → "lifted"
    11/03        W withdrawn
    17/03        public comment on A closed
    18/03        A and B appraised
    19/03        council opened on A, 5 ballots                  → "voting"
                 5 more ballots, council concluded
    20/03        party opinion, A forwarded; B approved          → "forwarded"
    31/03        C held (its deadline was 30/03)                 → "overdue_hold"
    01/04        hold on C lifted
    02/04        C appraised                                     → "awaiting_council"
    03/04        council opened on C, one conflict, 7 ballots
    20/04        central decision on A: conferred                → "conferred"
    21/04        A revoked                                       → "end"
    ===========  ==================================================================
    """
    flow = Flow()
    dossiers = world.dossiers
    clock = world.clock

    def at(month: int, number: int) -> None:
        clock.set_local(day(month, number))

    at(3, 2)
    a = submit(
        world,
        "chien_si_thi_dua_toan_quoc",
        name="Nguyễn Văn An",
        identity="001085000001",
        prior_titles=base_titles("chien_si_thi_dua_tinh", range(2022, 2026, 3)),
    )
    b = submit(world, "bang_khen_chu_tich_tinh", name="Trần Thị Bình", identity="001085000002")
    c = submit(
        world,
        "chien_si_thi_dua_tinh",
        name="Lê Văn Cường",
        identity="001085000003",
        prior_titles=base_titles(),
    )
    w = submit(
        world,
        "bang_khen_chu_tich_tinh",
        name="Đặng Văn Đức",
        identity="001085000004",
        by=DN_SUBMITTER,
    )
    flow.a, flow.b, flow.c, flow.w = a.id, b.id, c.id, w.id
    a = dossiers.open_public_comment(
        a.id,
        closes_on=world.calendar.add_working_days(day(3, 2), 10),
        by=APPRAISER,
        expected_version=a.version,
    )
    for number, kind in ((1, CommentKind.SUPPORT), (2, CommentKind.OBJECTION)):
        a = dossiers.receive_comment(
            a.id,
            kind=kind,
            text=f"Ý kiến số {number} về đề nghị khen thưởng.",
            author_name="Lê Thị Hoa",
            contact=None,
            by=PUBLIC,
            comment_id=f"c{number}",
        )
    checkpoint("submitted")

    at(3, 3)
    b = dossiers.return_for_supplement(
        b.id,
        missing=["Bản sao quyết định công nhận sáng kiến"],
        note="Đề nghị bổ sung.",
        by=APPRAISER,
        expected_version=b.version,
    )
    checkpoint("returned")

    at(3, 5)
    b = dossiers.supplement(
        b.id,
        documents=[document("quyet-dinh-sang-kien.pdf", "b")],
        note="Đơn vị đã bổ sung.",
        by=SUBMITTER,
        expected_version=b.version,
    )
    checkpoint("supplemented")

    at(3, 6)
    b = dossiers.hold(
        b.id,
        kind=HoldKind.COMPLAINT,
        reason="Có đơn khiếu nại về thành tích.",
        by=CHAIRMAN,
        expected_version=b.version,
    )
    checkpoint("held")

    at(3, 10)
    b = dossiers.lift_hold(
        b.id, outcome="Khiếu nại không có cơ sở.", by=CHAIRMAN, expected_version=b.version
    )
    checkpoint("lifted")

    at(3, 11)
    w = dossiers.withdraw(
        w.id, reason="Đơn vị rút để hoàn thiện.", by=DN_SUBMITTER, expected_version=w.version
    )

    at(3, 17)
    a = dossiers.close_public_comment(a.id, by=APPRAISER, expected_version=a.version)

    at(3, 18)
    a = appraise(world, a)
    b = appraise(world, b)

    at(3, 19)
    a = dossiers.open_council_review(
        a.id,
        members=[member.user_id for member in MEMBERS],
        meeting_on=day(3, 20),
        by=SECRETARY,
        expected_version=a.version,
    )
    for member in MEMBERS[:5]:
        a = dossiers.cast_ballot(a.id, vote=Vote.YES, by=member, expected_version=a.version)
    checkpoint("voting")
    for member in MEMBERS[5:]:
        a = dossiers.cast_ballot(a.id, vote=Vote.YES, by=member, expected_version=a.version)
    a = dossiers.conclude_council_review(
        a.id,
        present=[member.user_id for member in MEMBERS],
        by=SECRETARY,
        expected_version=a.version,
    )

    at(3, 20)
    a = dossiers.record_party_opinion(
        a.id,
        document_number="215-CV/TU",
        document_date=day(3, 20),
        favourable=True,
        summary="Ban Thường vụ Tỉnh ủy thống nhất đề nghị.",
        by=APPRAISER,
        expected_version=a.version,
    )
    a = dossiers.forward_upward(
        a.id,
        submission_number="45/TTr-UBND",
        submission_date=day(3, 20),
        by=CHAIRMAN,
        expected_version=a.version,
    )
    b = dossiers.approve(
        b.id,
        decision_number="123/QĐ-UBND",
        decision_date=day(3, 20),
        by=CHAIRMAN,
        expected_version=b.version,
    )
    checkpoint("forwarded")

    at(3, 31)
    c = dossiers.hold(
        c.id,
        kind=HoldKind.INSPECTION,
        reason="Đang thanh tra đơn vị.",
        by=APPRAISER,
        expected_version=c.version,
    )
    checkpoint("overdue_hold")

    at(4, 1)
    c = dossiers.lift_hold(
        c.id, outcome="Thanh tra kết luận không vi phạm.", by=APPRAISER, expected_version=c.version
    )
    at(4, 2)
    c = appraise(world, c)
    checkpoint("awaiting_council")
    at(4, 3)
    c = dossiers.open_council_review(
        c.id,
        members=[member.user_id for member in MEMBERS],
        meeting_on=day(4, 6),
        by=SECRETARY,
        expected_version=c.version,
    )
    c = dossiers.declare_conflict_of_interest(
        c.id, reason="Là người thân của đối tượng.", by=MEMBERS[9], expected_version=c.version
    )
    for index, member in enumerate(MEMBERS[:7]):
        vote = Vote.NO if index == 6 else Vote.YES
        c = dossiers.cast_ballot(c.id, vote=vote, by=member, expected_version=c.version)

    at(4, 20)
    a = dossiers.record_central_decision(
        a.id,
        outcome=CentralOutcome.CONFERRED,
        decision_number="1520/QĐ-TTg",
        decision_date=day(4, 20),
        note="Quyết định của Thủ tướng Chính phủ.",
        by=APPRAISER,
        expected_version=a.version,
    )
    checkpoint("conferred")

    at(4, 21)
    a = dossiers.revoke(
        a.id,
        grounds=Grounds.FALSE_DOCUMENTS,
        explanation="Phát hiện kê khai sai thành tích.",
        decision_number="88/QĐ-TTg",
        decision_date=day(4, 21),
        by=CHAIRMAN,
        expected_version=a.version,
    )
    flow.receipts = {"a": a, "b": b, "c": c, "w": w}
    checkpoint("end")
    return flow


def submit_many(world: World, count: int, *, start: int = 0, dossiers: Any = None) -> list[Receipt]:
    """``count`` more dossiers for distinct people (nothing else happens to them)."""
    return [
        submit(
            world,
            name=f"Người đề nghị số {start + index}",
            identity=f"0010900{start + index:05d}",
            dossiers=dossiers,
        )
        for index in range(count)
    ]


# --- a runner in another process ----------------------------------------------------------

CRASHING_RUNNER = """
import json, os, sys
from application.movements import Movements
from application.dossiers import Dossiers
from application.movements import Movements
from application.projections.runner import Runner
from application.projections.views import build_views
from infrastructure.calendar import VietnamCalendar
from infrastructure.views.database import ViewDatabase

env, crash_at, batch_size = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
store = Movements(env)
database = ViewDatabase(store, build_views(VietnamCalendar()))
calls = 0

def before_commit(changes):
    global calls
    calls += 1
    if calls == crash_at:
        os._exit(1)  # the process dies inside the write transaction, before its commit

database.before_commit = before_commit
runner = Runner(store, database.views, database, batch_size=batch_size)
while runner.step():
    print(json.dumps(runner.positions()), flush=True)
print("caught up", flush=True)
"""


HOLDING_SERVICE = """
import json, sys, time
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings

services = bootstrap(Settings(**json.loads(sys.argv[1])), run_projections=True)
while not all(s.running_here for s in services.projections.status()):
    time.sleep(0.05)
print("holding", flush=True)
time.sleep(600)
"""
"""A service that runs every view until it is killed."""


def crashing_runner_args(env: dict[str, str], crash_at: int, batch_size: int) -> list[str]:
    return [json.dumps(env), str(crash_at), str(batch_size)]


def make_world(env: dict[str, str], clock: ManualClock, calendar: VietnamCalendar) -> World:
    """What the ``world`` fixture builds, for fixtures of a wider scope."""
    movements = Movements(env, clock=clock)
    dossiers = Dossiers(
        env,
        rulebooks=default_rulebooks(),
        calendar=calendar,
        clock=clock,
        share_with=movements,
    )
    receipt = movements.launch(
        plan_number="461/KH-UBND",
        title="Phong trào thi đua cao điểm chào mừng 20 năm thành lập tỉnh",
        issuing_body="Ủy ban nhân dân tỉnh Đắk Nông",
        issued_on=date(2022, 8, 11),
        starts_on=date(2022, 8, 11),
        ends_on=date(2026, 10, 31),
        by=ADMIN,
    )
    world = World(movements, dossiers, clock, receipt.id, env, calendar)
    world.closers.append(movements.close)
    return world
