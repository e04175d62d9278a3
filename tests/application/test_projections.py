"""What each view holds along a scripted flow, on every store: exact values of the columns
that the listings, the agenda, the public pages, the register and the statistics show."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.projections.views import deadline_of
from domain.shared import VIETNAM_TZ, fold
from infrastructure.calendar import VietnamCalendar
from tests.application.conftest import STORES
from tests.application.projection_helpers import (
    DN_UNIT,
    Dump,
    Flow,
    by_id,
    counters,
    day,
    dump,
    make_world,
    runner,
    scripted_flow,
    view_database,
)
from tests.application.support import ADMIN, AUDITOR, UNIT, ManualClock, World
from tests.conftest import PostgresDatabase

STATE = "chien_si_thi_dua_toan_quoc"
BANG_KHEN = "bang_khen_chu_tich_tinh"
CSTD_TINH = "chien_si_thi_dua_tinh"


def at_nine(month: int, number: int) -> datetime:
    return datetime(2026, month, number, 9, tzinfo=VIETNAM_TZ)


@dataclass
class Flown:
    """The scripted flow with the live views caught up at each of its checkpoints."""

    world: World
    flow: Flow
    views: dict[str, Dump] = field(default_factory=dict)
    today: dict[str, date] = field(default_factory=dict)
    deadline_checks: int = 0


@pytest.fixture(scope="module", params=STORES)
def flown(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    calendar: VietnamCalendar,
) -> Iterator[Flown]:
    """The flow runs once per store; the tests below only read what the views held."""
    with module_store_env(request, tmp_path_factory) as env:
        clock = ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
        world = make_world(env, clock, calendar)
        try:
            yield run_flow(world)
        finally:
            for close in world.closers:
                close()


@contextmanager
def module_store_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Like the ``store_env`` fixture, for a module: memory, a SQLite file, a PG schema."""
    if request.param == "memory":
        yield {"PERSISTENCE_MODULE": "eventsourcing.popo"}
        return
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("projections")
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(folder / "events.sqlite3"),
        }
        return
    import psycopg
    from psycopg import sql

    database: PostgresDatabase = request.getfixturevalue("postgres_database")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(database.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield database.env(schema)
    finally:
        with psycopg.connect(database.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def run_flow(world: World) -> Flown:
    database = view_database(world.movements, world.calendar)
    live = runner(database, batch_size=50)
    result = Flown(world, Flow())

    def checkpoint(name: str) -> None:
        live.run_until_caught_up()
        result.views[name] = dump(database)
        today = world.clock().astimezone(VIETNAM_TZ).date()
        result.today[name] = today
        # Whatever the day a row is read on, its deadline is the dossier's own.
        for row in result.views[name]["view_dossiers"]:
            dossier = world.dossiers.get(row["id"], viewer=AUDITOR)
            for offset in (0, 3, 12, 40):
                read_on = today + timedelta(days=offset)
                stored = deadline_of(
                    world.calendar,
                    read_on,
                    clock_started_on=row["clock_started_on"],
                    deadline_budget=row["deadline_budget"],
                    paused_since=row["paused_since"],
                )
                assert stored == dossier.deadline(world.calendar, read_on), (name, row["id"])
                result.deadline_checks += 1

    result.flow = scripted_flow(world, checkpoint)
    return result


def _ids(flown: Flown) -> tuple[UUID, UUID, UUID, UUID]:
    f = flown.flow
    assert f.a is not None
    assert f.b is not None
    assert f.c is not None
    assert f.w is not None
    return f.a, f.b, f.c, f.w


def _pick(row: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: row[name] for name in names}


CLOCK = ("status", "version", "clock_started_on", "deadline_budget", "paused_since", "due_on")


# --- listing -----------------------------------------------------------------------------------


def test_the_listing_follows_each_dossier_with_its_nominee_status_and_council(
    flown: Flown,
) -> None:
    a, b, c, w = _ids(flown)
    first = by_id(flown.views["submitted"]["view_dossiers"])
    assert set(first) == {a, b, c, w}
    assert first[a] == {
        "id": a,
        "version": 4,
        "status": "public_comment",
        "award_code": STATE,
        "award_name": "Chiến sĩ thi đua toàn quốc",
        "level": "state",
        "nominee_kind": "individual",
        "nominee_name": "Nguyễn Văn An",
        "nominee_position": "Giáo viên Trường THPT Chu Văn An",
        "submitting_unit": UNIT,
        "movement_id": flown.world.movement_id,
        "unit_key": "so giao duc va dao tao",
        "name_key": "nguyen van an",
        "submitted_at": at_nine(3, 2),
        "modified_at": at_nine(3, 2),
        "status_since": at_nine(3, 2),
        "clock_started_on": None,  # state level: the clock starts when public comment closes
        "deadline_budget": None,
        "paused_since": None,
        "due_on": None,
        "paused_overdue": False,
        "council_meeting_on": None,
        "council_members": 0,
        "votes_cast": 0,
        "search": "nguyen van an | so giao duc va dao tao",
    }
    assert _pick(first[w], "status", "submitting_unit", "unit_key", "name_key", "level") == {
        "status": "submitted",
        "submitting_unit": DN_UNIT,
        "unit_key": "uy ban nhan dan huyen dak song, tinh dak nong",
        "name_key": "dang van duc",
        "level": "provincial",
    }

    voting = by_id(flown.views["voting"]["view_dossiers"])[a]
    assert _pick(voting, "status", "version", "council_members", "votes_cast") == {
        "status": "council_voting",
        "version": 12,
        "council_members": 10,
        "votes_cast": 5,
    }
    assert voting["council_meeting_on"] == day(3, 20)
    assert voting["status_since"] == at_nine(3, 19)

    end = by_id(flown.views["end"]["view_dossiers"])
    assert {row["status"] for row in end.values()} == {
        "revoked",
        "approved",
        "council_voting",
        "withdrawn",
    }
    assert _pick(end[a], "status", "version", "votes_cast", "modified_at", "submitted_at") == {
        "status": "revoked",
        "version": 22,
        "votes_cast": 10,
        "modified_at": at_nine(4, 21),
        "submitted_at": at_nine(3, 2),
    }
    assert _pick(end[b], "status", "version", "status_since") == {
        "status": "approved",
        "version": 7,
        "status_since": at_nine(3, 20),
    }
    assert _pick(end[c], "status", "version", "council_members", "votes_cast") == {
        "status": "council_voting",
        "version": 13,
        "council_members": 10,
        "votes_cast": 7,
    }
    assert _pick(end[w], "status", "version", "status_since") == {
        "status": "withdrawn",
        "version": 2,
        "status_since": at_nine(3, 11),
    }


def test_the_listing_stores_the_clock_paused_while_returned_or_held_and_extended_after(
    flown: Flown,
) -> None:
    a, b, c, w = _ids(flown)

    def clock_of(checkpoint: str, dossier: UUID) -> tuple[Any, ...]:
        row = by_id(flown.views[checkpoint]["view_dossiers"])[dossier]
        return (*(row[name] for name in CLOCK), row["paused_overdue"])

    started = day(3, 2)
    assert clock_of("submitted", b) == ("submitted", 1, started, 20, None, day(3, 30), False)
    # Returned on 03/03: the clock stops; the deadline moves every working day of the pause.
    assert clock_of("returned", b) == ("returned", 2, started, 20, day(3, 3), None, False)
    # Supplemented on 05/03: two working days (04/03, 05/03) are added.
    assert clock_of("supplemented", b) == ("submitted", 3, started, 22, None, day(4, 1), False)
    assert clock_of("held", b) == ("held", 4, started, 22, day(3, 6), None, False)
    # Lifted on 10/03: two more (09/03, 10/03).
    assert clock_of("lifted", b) == ("submitted", 5, started, 24, None, day(4, 3), False)
    # Appraised: the appraisal clock has done its work.
    assert clock_of("voting", b) == ("awaiting_decision", 6, None, None, None, None, False)
    # C was due on 30/03 and held on 31/03: overdue for as long as the hold lasts.
    assert clock_of("overdue_hold", c) == ("held", 2, started, 20, day(3, 31), None, True)
    assert clock_of("awaiting_council", c)[2:] == (None, None, None, None, False)
    # State level: no clock during public comment, then 20 working days from its close.
    assert clock_of("lifted", a)[2:] == (None, None, None, None, False)
    assert clock_of("end", w) == ("withdrawn", 2, None, None, None, None, False)
    assert clock_of("end", a) == ("revoked", 22, None, None, None, None, False)
    assert flown.deadline_checks > 100


# --- agenda ------------------------------------------------------------------------------------


AGENDA_FIGURES = (
    "status",
    "version",
    "members",
    "conflicts",
    "ballots_cast",
    "quorum",
    "threshold",
    "quorum_required",
    "votes_required",
)


def test_the_agenda_lists_dossiers_awaiting_or_under_vote_with_quorum_and_votes_needed(
    flown: Flown,
) -> None:
    a, _, c, _ = _ids(flown)
    assert flown.views["lifted"]["view_agenda"] == []
    voting = flown.views["voting"]["view_agenda"]
    assert [row["id"] for row in voting] == [a]
    assert _pick(voting[0], *AGENDA_FIGURES) == {
        "status": "council_voting",
        "version": 12,
        "members": 10,
        "conflicts": 0,
        "ballots_cast": 5,
        "quorum": "0.8",
        "threshold": "0.9",
        "quorum_required": 8,  # 0.8 of all 10 members
        "votes_required": 9,  # 0.9 of all 10 members
    }
    assert _pick(voting[0], "appraised_on", "waiting_since", "council_meeting_on") == {
        "appraised_on": day(3, 18),
        "waiting_since": at_nine(3, 19),
        "council_meeting_on": day(3, 20),
    }
    assert voting[0]["nominee_name"] == "Nguyễn Văn An"
    # Concluded: off the agenda.
    assert flown.views["forwarded"]["view_agenda"] == []

    waiting = flown.views["awaiting_council"]["view_agenda"]
    assert [row["id"] for row in waiting] == [c]
    assert _pick(waiting[0], *AGENDA_FIGURES) == {
        "status": "awaiting_council",
        "version": 4,
        "members": 0,
        "conflicts": 0,
        "ballots_cast": 0,
        "quorum": "0.8",
        "threshold": "0.9",
        "quorum_required": None,
        "votes_required": None,
    }
    assert _pick(waiting[0], "appraised_on", "waiting_since", "council_meeting_on") == {
        "appraised_on": day(4, 2),
        "waiting_since": at_nine(4, 2),
        "council_meeting_on": None,
    }

    end = flown.views["end"]["view_agenda"]
    assert [row["id"] for row in end] == [c]
    assert _pick(end[0], *AGENDA_FIGURES) == {
        "status": "council_voting",
        "version": 13,
        "members": 10,
        "conflicts": 1,
        "ballots_cast": 7,  # six for, one against: only counted, never shown
        "quorum": "0.8",
        "threshold": "0.9",
        "quorum_required": 8,
        "votes_required": 9,
    }
    assert end[0]["waiting_since"] == at_nine(4, 3)
    assert end[0]["council_meeting_on"] == day(4, 6)


# --- consultation ------------------------------------------------------------------------------


def test_the_consultation_shows_published_nominations_with_their_window_and_comment_counts(
    flown: Flown,
) -> None:
    a, _, _, _ = _ids(flown)
    first = flown.views["submitted"]["view_consultation"]
    assert len(first) == 1
    assert first[0] == {
        "id": a,
        "version": 4,
        "status": "public_comment",
        "award_code": STATE,
        "award_name": "Chiến sĩ thi đua toàn quốc",
        "level": "state",
        "nominee_kind": "individual",
        "nominee_name": "Nguyễn Văn An",
        "nominee_position": "Giáo viên Trường THPT Chu Văn An",
        "submitting_unit": UNIT,
        "movement_id": flown.world.movement_id,
        "opened_on": day(3, 2),
        "closes_on": day(3, 16),  # ten working days
        "closed_on": None,
        "comments_received": 2,
        "comments_published": 0,
        "comments_withheld": 0,
        "achievements": "Hoàn thành xuất sắc nhiệm vụ năm học; sáng kiến được công nhận cấp tỉnh.",
        "appraised_on": None,
        "search": "nguyen van an | so giao duc va dao tao",
    }
    end = flown.views["end"]["view_consultation"]
    assert [row["id"] for row in end] == [a]
    assert _pick(
        end[0], "status", "version", "closes_on", "closed_on", "comments_received", "appraised_on"
    ) == {
        "status": "revoked",
        "version": 22,
        "closes_on": day(3, 16),
        "closed_on": day(3, 17),
        "comments_received": 2,
        "appraised_on": flown.world.dossiers.repository.get(a).appraised_on,
    }
    assert end[0]["appraised_on"] is not None


# --- register ----------------------------------------------------------------------------------

REGISTER_FIGURES = (
    "status",
    "version",
    "decision_number",
    "decision_date",
    "submission_number",
    "submission_date",
    "central_decision_number",
    "central_decision_date",
    "revocation_number",
    "revocation_date",
    "recorded_on",
)


def test_the_register_holds_only_awards_made_forwarded_conferred_or_revoked(
    flown: Flown,
) -> None:
    a, b, _, _ = _ids(flown)
    for checkpoint in ("submitted", "returned", "held", "lifted", "voting"):
        assert flown.views[checkpoint]["view_awards"] == [], checkpoint

    forwarded = by_id(flown.views["forwarded"]["view_awards"])
    assert set(forwarded) == {a, b}
    assert _pick(forwarded[a], *REGISTER_FIGURES) == {
        "status": "forwarded",
        "version": 20,
        "decision_number": None,
        "decision_date": None,
        "submission_number": "45/TTr-UBND",
        "submission_date": day(3, 20),
        "central_decision_number": None,
        "central_decision_date": None,
        "revocation_number": None,
        "revocation_date": None,
        "recorded_on": day(3, 20),
    }
    assert _pick(forwarded[b], *REGISTER_FIGURES) == {
        "status": "approved",
        "version": 7,
        "decision_number": "123/QĐ-UBND",
        "decision_date": day(3, 20),
        "submission_number": None,
        "submission_date": None,
        "central_decision_number": None,
        "central_decision_date": None,
        "revocation_number": None,
        "revocation_date": None,
        "recorded_on": day(3, 20),
    }
    assert forwarded[b]["search"] == "tran thi binh | so giao duc va dao tao | 123/qd-ubnd"

    conferred = by_id(flown.views["conferred"]["view_awards"])
    assert set(conferred) == {a, b}
    assert _pick(conferred[a], "status", "version", "central_decision_number") == {
        "status": "conferred",
        "version": 21,
        "central_decision_number": "1520/QĐ-TTg",
    }
    assert (conferred[a]["central_decision_date"], conferred[a]["recorded_on"]) == (
        day(4, 20),
        day(4, 20),
    )

    end = by_id(flown.views["end"]["view_awards"])
    assert set(end) == {a, b}  # C (council) and W (withdrawn) never appear
    assert _pick(end[a], *REGISTER_FIGURES) == {
        "status": "revoked",
        "version": 22,
        "decision_number": None,
        "decision_date": None,
        "submission_number": "45/TTr-UBND",
        "submission_date": day(3, 20),
        "central_decision_number": "1520/QĐ-TTg",
        "central_decision_date": day(4, 20),
        "revocation_number": "88/QĐ-TTg",
        "revocation_date": day(4, 21),
        "recorded_on": day(4, 21),
    }
    assert end[a]["search"] == "nguyen van an | so giao duc va dao tao | 1520/qd-ttg"
    assert end[b] == forwarded[b]


# --- statistics --------------------------------------------------------------------------------


def expected_counts(
    world: World, dossiers: list[tuple[str, str, str, str]]
) -> dict[tuple[str, str, str], int]:
    """(award, level, unit, status) of each dossier → the rows of ``view_stat_counts``."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for award, level, unit, status in dossiers:
        counts[("all", "", status)] += 1
        counts[("award", award, status)] += 1
        counts[("level", level, status)] += 1
        counts[("unit", unit, status)] += 1
        counts[("movement", str(world.movement_id), status)] += 1
    return dict(counts)


def test_the_statistics_count_dossiers_by_status_in_every_dimension(flown: Flown) -> None:
    world = flown.world

    def counts(checkpoint: str) -> dict[tuple[Any, ...], int]:
        return counters(flown.views[checkpoint]["view_stat_counts"], "dimension", "key", "status")

    assert counts("submitted") == expected_counts(
        world,
        [
            (STATE, "state", UNIT, "public_comment"),
            (BANG_KHEN, "provincial", UNIT, "submitted"),
            (CSTD_TINH, "provincial", UNIT, "submitted"),
            (BANG_KHEN, "provincial", DN_UNIT, "submitted"),
        ],
    )
    assert counts("held") == expected_counts(
        world,
        [
            (STATE, "state", UNIT, "public_comment"),
            (BANG_KHEN, "provincial", UNIT, "held"),
            (CSTD_TINH, "provincial", UNIT, "submitted"),
            (BANG_KHEN, "provincial", DN_UNIT, "submitted"),
        ],
    )
    assert counts("end") == expected_counts(
        world,
        [
            (STATE, "state", UNIT, "revoked"),
            (BANG_KHEN, "provincial", UNIT, "approved"),
            (CSTD_TINH, "provincial", UNIT, "council_voting"),
            (BANG_KHEN, "provincial", DN_UNIT, "withdrawn"),
        ],
    )
    assert counts("end")[("all", "", "revoked")] == 1
    assert sum(n for (dim, _, _), n in counts("end").items() if dim == "all") == 4


def test_the_statistics_count_running_and_paused_clocks_by_due_date(flown: Flown) -> None:
    def clocks(checkpoint: str) -> dict[tuple[Any, ...], int]:
        return counters(flown.views[checkpoint]["view_stat_clocks"], "kind", "due_on")

    assert clocks("submitted") == {("running", "2026-03-30"): 3}
    assert clocks("returned") == {("running", "2026-03-30"): 2, ("paused", ""): 1}
    assert clocks("supplemented") == {("running", "2026-03-30"): 2, ("running", "2026-04-01"): 1}
    assert clocks("held") == {("running", "2026-03-30"): 2, ("paused", ""): 1}
    assert clocks("lifted") == {("running", "2026-03-30"): 2, ("running", "2026-04-03"): 1}
    # A and B appraised, W withdrawn: only C's clock runs.
    assert clocks("voting") == {("running", "2026-03-30"): 1}
    assert clocks("overdue_hold") == {("paused_overdue", ""): 1}
    assert clocks("end") == {}


def test_the_statistics_count_the_working_days_each_stage_took(flown: Flown) -> None:
    calendar = flown.world.calendar
    spans = [
        # A
        ("submitted", day(3, 2), day(3, 2)),
        ("public_comment", day(3, 2), day(3, 17)),
        ("comment_closed", day(3, 17), day(3, 18)),
        ("awaiting_council", day(3, 18), day(3, 19)),
        ("council_voting", day(3, 19), day(3, 19)),
        ("awaiting_decision", day(3, 19), day(3, 20)),
        ("forwarded", day(3, 20), day(4, 20)),
        ("conferred", day(4, 20), day(4, 21)),
        # B
        ("submitted", day(3, 2), day(3, 3)),
        ("returned", day(3, 3), day(3, 5)),
        ("submitted", day(3, 5), day(3, 6)),
        ("held", day(3, 6), day(3, 10)),
        ("submitted", day(3, 10), day(3, 18)),
        ("awaiting_decision", day(3, 18), day(3, 20)),
        # C
        ("submitted", day(3, 2), day(3, 31)),
        ("held", day(3, 31), day(4, 1)),
        ("submitted", day(4, 1), day(4, 2)),
        ("awaiting_council", day(4, 2), day(4, 3)),
        # W
        ("submitted", day(3, 2), day(3, 11)),
    ]
    expected = Counter((status, calendar.working_days_between(s, e)) for status, s, e in spans)
    assert expected[("forwarded", 21)] == 1
    assert expected[("public_comment", 11)] == 1

    def stages(checkpoint: str) -> dict[tuple[Any, ...], int]:
        return counters(flown.views[checkpoint]["view_stat_stage_days"], "stage", "days")

    assert stages("submitted") == {("submitted", 0): 1}  # A: straight into public comment
    assert stages("returned") == {("submitted", 0): 1, ("submitted", 1): 1}
    assert stages("end") == dict(expected)


# --- movements ---------------------------------------------------------------------------------


def test_the_movements_view_follows_launch_amendment_and_closing(world: World) -> None:
    database = view_database(world.movements, world.calendar)
    live = runner(database)
    live.run_until_caught_up()
    assert dump(database)["view_movements"] == [
        {
            "id": world.movement_id,
            "version": 1,
            "plan_number": "461/KH-UBND",
            "title": "Phong trào thi đua cao điểm chào mừng 20 năm thành lập tỉnh",
            "issuing_body": "Ủy ban nhân dân tỉnh Đắk Nông",
            "issued_on": date(2022, 8, 11),
            "starts_on": date(2022, 8, 11),
            "ends_on": date(2026, 10, 31),
            "closed": False,
            "modified_at": at_nine(3, 2),
            "search": "461/kh-ubnd | phong trao thi dua cao diem chao mung 20 nam thanh lap tinh"
            " | uy ban nhan dan tinh dak nong",
        }
    ]
    world.movements.amend(
        world.movement_id,
        expected_version=1,
        ends_on=date(2026, 12, 31),
        reason="Gia hạn",
        by=ADMIN,
    )
    world.clock.set_local(day(4, 22))
    world.movements.close_movement(
        world.movement_id, expected_version=2, reason="Tổng kết", by=ADMIN
    )
    live.run_until_caught_up()
    (row,) = dump(database)["view_movements"]
    assert _pick(row, "version", "ends_on", "closed", "modified_at") == {
        "version": 3,
        "ends_on": date(2026, 12, 31),
        "closed": True,
        "modified_at": at_nine(4, 22),
    }


def test_the_movements_view_is_the_same_after_the_flow(flown: Flown) -> None:
    (row,) = flown.views["end"]["view_movements"]
    assert (row["id"], row["version"], row["closed"]) == (flown.world.movement_id, 1, False)


# --- search ------------------------------------------------------------------------------------


def test_the_search_column_is_folded_so_a_search_without_diacritics_finds_the_row(
    flown: Flown,
) -> None:
    a, b, _, w = _ids(flown)
    database = view_database(flown.world.movements, flown.world.calendar)
    assert fold("Nguyễn Văn An") == "nguyen van an"
    assert fold("Đắk Nông") == "dak nong"

    def find(table_name: str, words: str) -> list[Any]:
        view = next(v for v in database.views if any(t.name == table_name for t in v.tables))
        table = view.table(table_name)
        rows = database.select(
            table, "SELECT * FROM {table} WHERE search LIKE %s ORDER BY id", [f"%{words}%"]
        )
        return [row["id"] for row in rows]

    assert find("view_dossiers", "nguyen van an") == [a]
    assert find("view_dossiers", "dak nong") == [w]
    assert find("view_dossiers", "dang van duc") == [w]
    assert find("view_dossiers", "Đắk") == []  # the stored text has no diacritics left
    assert find("view_consultation", "nguyen van an") == [a]
    assert find("view_awards", "1520/qd-ttg") == [a]
    assert find("view_awards", "123/qd-ubnd") == [b]
    assert find("view_movements", "dak nong") == [flown.world.movement_id]
    for row in dump(database)["view_dossiers"]:
        assert row["search"] == fold(row["search"])
