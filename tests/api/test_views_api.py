"""The lists read from the view tables, over HTTP, on SQLite and PostgreSQL.

The dossier listing (filters, search with and without diacritics, every sort, cursor pages that
hold while writes go on), read-your-writes with ``?after=``, and who may read what. The
projection runner works in a background thread: reads pass ``after=`` (the log's head, or a
command's position) instead of sleeping.

The pagination guarantee: with a sort on a value that never changes (``submitted_at``,
``name``) every dossier that existed before the first page appears exactly once, whatever is
written meanwhile; dossiers submitted meanwhile appear at most once. With ``-modified_at`` no
dossier appears twice (one changed meanwhile moves before the cursor and is then only on a
fresh first page).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.rulebook import Subject
from domain.shared import Actor, DocumentRef, Role, fold
from domain.values import HoldKind, Nominee, PersonalDetails
from infrastructure.settings import Settings
from tests.api.conftest import OTHER_UNIT, UNIT, Staff, open_staff, sha, submission
from tests.api.drive import APPRAISER, CHAIRMAN, PROVINCIAL, STATE, Driver

DOSSIERS = "/api/v1/dossiers"
DAK_NONG = "Sở Nội vụ tỉnh Đắk Nông"


# --- helpers --------------------------------------------------------------------------------------

_identities = iter(range(10**11, 10**12))


def submit(
    staff: Staff,
    name: str,
    *,
    unit: str = UNIT,
    award: str = PROVINCIAL,
    kind: Subject = Subject.INDIVIDUAL,
    movement_id: UUID | None = None,
) -> UUID:
    """A dossier through the use case, by a submitter of ``unit`` (any unit may submit)."""
    personal = (
        PersonalDetails(identity_number=f"{next(_identities):012d}")
        if kind is Subject.INDIVIDUAL
        else None
    )
    receipt = staff.services.dossiers.submit(
        movement_id=movement_id or staff.movement_id,
        award_code=award,
        submitting_unit=unit,
        nominee=Nominee(kind, name, "Giáo viên" if kind is Subject.INDIVIDUAL else "Tập thể"),
        personal=personal,
        achievements="Hoàn thành xuất sắc nhiệm vụ.",
        documents=[
            DocumentRef("to-trinh.pdf", sha(f"to-trinh:{name}:{unit}"), 1000),
            DocumentRef("bao-cao.pdf", sha(f"bao-cao:{name}:{unit}"), 2000),
        ],
        by=Actor(f"trinh.{abs(hash(unit)) % 10**6}", Role.SUBMITTER, unit),
    )
    return receipt.id


def version(staff: Staff, dossier_id: UUID) -> int:
    return staff.services.dossiers.get(dossier_id, viewer=APPRAISER).version


def appraise(staff: Staff, dossier_id: UUID) -> None:
    staff.services.dossiers.appraise(
        dossier_id,
        qualified=True,
        opinion="Đủ điều kiện.",
        answers={},
        by=APPRAISER,
        expected_version=version(staff, dossier_id),
    )


def head(staff: Staff) -> int:
    return staff.services.movements.max_position()


def read(staff: Staff, path: str, who: str = "auditor", **params: Any) -> dict[str, Any]:
    """A read that has seen every write so far."""
    params.setdefault("after", head(staff))
    response = staff.get(who, path, **params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ids(staff: Staff, who: str = "auditor", **params: Any) -> list[str]:
    return [item["id"] for item in read(staff, DOSSIERS, who, **params)["items"]]


def pages(staff: Staff, path: str = DOSSIERS, **params: Any) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = read(staff, path, **params, **({"cursor": cursor} if cursor else {}))
        yield page
        cursor = page["next_cursor"]
        if cursor is None:
            return


def later(staff: Staff, minutes: int = 1) -> None:
    staff.clock.advance(minutes=minutes)


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}"
    return body


# --- filters and search ---------------------------------------------------------------------------


def test_the_listing_filters_by_status_award_level_unit_and_movement(staff: Staff) -> None:
    own = submit(staff, "Lê Văn Một")
    later(staff)
    foreign = submit(staff, "Lê Văn Hai", unit=OTHER_UNIT)
    later(staff)
    state = submit(staff, "Lê Văn Ba", award=STATE)
    later(staff)
    appraise(staff, foreign)
    other_movement = Driver(staff).movement()
    elsewhere = submit(staff, "Lê Văn Bốn", movement_id=other_movement)

    everything = ids(staff)
    assert sorted(everything) == sorted(str(d) for d in (own, foreign, state, elsewhere))
    assert ids(staff, status="awaiting_decision") == [str(foreign)]
    assert sorted(ids(staff, status=["awaiting_decision", "submitted"])) == sorted(everything)
    assert ids(staff, award_code=STATE) == [str(state)]
    assert ids(staff, level="state") == [str(state)]
    assert str(state) not in ids(staff, level="provincial")
    assert ids(staff, unit=OTHER_UNIT) == [str(foreign)]
    assert ids(staff, unit="CÔNG AN TỈNH") == [str(foreign)]  # any case
    assert ids(staff, unit="cong an tinh") == [str(foreign)]  # without diacritics
    assert ids(staff, movement_id=str(other_movement)) == [str(elsewhere)]
    assert ids(staff, unit=OTHER_UNIT, status="submitted") == []
    item = read(staff, DOSSIERS, status="awaiting_decision")["items"][0]
    assert item["status_label"] == "Chờ Chủ tịch UBND tỉnh quyết định"
    assert (item["nominee_name"], item["submitting_unit"]) == ("Lê Văn Hai", OTHER_UNIT)


def test_submission_dates_are_vietnamese_calendar_days(staff: Staff) -> None:
    day = staff.today()
    staff.clock.moment = datetime(day.year, day.month, day.day, 16, 30, tzinfo=UTC)  # 23:30 ICT
    late_evening = submit(staff, "Phạm Văn Tối")
    staff.clock.moment += timedelta(hours=1)  # 00:30 the next day in Vietnam, same UTC day
    next_morning = submit(staff, "Phạm Văn Sáng")
    tomorrow = (day + timedelta(days=1)).isoformat()

    assert ids(staff, submitted_to=day.isoformat()) == [str(late_evening)]
    assert ids(staff, submitted_from=tomorrow) == [str(next_morning)]
    assert ids(staff, submitted_from=day.isoformat(), submitted_to=day.isoformat()) == [
        str(late_evening)
    ]
    assert len(ids(staff, submitted_from=day.isoformat(), submitted_to=tomorrow)) == 2
    bad = staff.get("auditor", DOSSIERS, submitted_from="02/03/2026")
    assert problem(bad, 422, "validation-error")["errors"][0]["field"] == "submitted_from"


def test_search_matches_every_word_with_or_without_diacritics(staff: Staff) -> None:
    an = submit(staff, "Nguyễn Văn An")
    anh = submit(staff, "Nguyễn Văn Anh", unit=OTHER_UNIT)
    binh = submit(staff, "Trần Thị Bình", unit=DAK_NONG)
    underscore = submit(staff, "Tổ 12_1", kind=Subject.COLLECTIVE)
    plain = submit(staff, "Tổ 12A1", kind=Subject.COLLECTIVE)

    assert sorted(ids(staff, q="nguyen van an")) == sorted([str(an), str(anh)])
    assert sorted(ids(staff, q="Nguyễn Văn An")) == sorted([str(an), str(anh)])
    assert ids(staff, q="  NGUYEN   van   ANH ") == [str(anh)]
    assert ids(staff, q="van an cong") == [str(anh)]  # words from the name and the unit
    assert ids(staff, q="dak nong") == [str(binh)]
    assert ids(staff, q="Đắk Nông") == [str(binh)]
    assert ids(staff, q="đak nông bình") == [str(binh)]
    assert ids(staff, q="nguyen binh") == []
    # LIKE wildcards are plain characters in a search.
    assert ids(staff, q="12_") == [str(underscore)]
    assert ids(staff, q="%") == []
    assert ids(staff, q="12a1") == [str(plain)]
    assert ids(staff, q="to 12", unit=UNIT, sort="name") == [str(underscore), str(plain)]
    too_long = staff.get("auditor", DOSSIERS, q="x" * 201)
    assert problem(too_long, 422, "validation-error")["errors"][0]["field"] == "q"
    for path, field in (
        (DOSSIERS, "q"),
        (DOSSIERS, "unit"),
        ("/api/v1/awards", "q"),
        ("/api/v1/movements", "q"),
        ("/api/v1/consultations", "q"),
    ):
        control = staff.get("auditor", path, **{field: "an\x00"})
        assert problem(control, 422, "validation-error")["errors"][0]["field"] == field


def test_overdue_is_worked_out_on_the_day_of_the_request(staff: Staff) -> None:
    late = submit(staff, "Võ Văn Trễ")
    paused_late = submit(staff, "Võ Văn Dừng")
    calendar = staff.services.calendar
    due_on = calendar.add_working_days(staff.today(), 20)
    assert read(staff, DOSSIERS, overdue=True)["items"] == []
    on_time_item = read(staff, DOSSIERS, q="vo van tre")["items"][0]
    assert on_time_item["deadline"] == {
        "due_on": due_on.isoformat(),
        "working_days_left": 20,
        "paused": False,
        "overdue": False,
    }

    staff.clock.set_local(calendar.add_working_days(due_on, 2))
    fresh = submit(staff, "Võ Văn Mới")
    staff.services.dossiers.hold(
        paused_late,
        kind=HoldKind.COMPLAINT,
        reason="Có đơn khiếu nại.",
        by=CHAIRMAN,
        expected_version=1,
    )
    assert sorted(ids(staff, overdue=True)) == sorted([str(late), str(paused_late)])
    assert ids(staff, overdue=False) == [str(fresh)]
    items = {item["id"]: item for item in read(staff, DOSSIERS)["items"]}
    assert items[str(late)]["deadline"]["overdue"] is True
    assert items[str(late)]["deadline"]["working_days_left"] == -2
    assert items[str(paused_late)]["deadline"]["paused"] is True
    assert items[str(paused_late)]["deadline"]["overdue"] is True
    # The listing's deadline is the dossier's own.
    for dossier_id in (late, paused_late, fresh):
        assert items[str(dossier_id)]["deadline"] == staff.state(dossier_id)["deadline"]
    assert read(staff, DOSSIERS, sort="due_on")["items"][0]["id"] == str(late)


# --- sorting and pages ----------------------------------------------------------------------------


def build_sortable(staff: Staff) -> dict[str, UUID]:
    """Five dossiers submitted a minute apart, names out of order; two appraised later, one
    approved (so it has no deadline)."""
    made: dict[str, UUID] = {}
    for name in ("Đỗ Văn Cường", "An Thị Bảo", "Bùi Văn Đạt", "Cao Văn Em", "Dương Thị Phúc"):
        made[name] = submit(staff, name)
        later(staff)
    appraise(staff, made["An Thị Bảo"])
    later(staff)
    appraise(staff, made["Cao Văn Em"])
    later(staff)
    staff.services.dossiers.approve(
        made["Cao Văn Em"],
        decision_number="77/QĐ-UBND",
        decision_date=staff.today(),
        by=CHAIRMAN,
        expected_version=2,
    )
    return made


def _key(sort: str, item: dict[str, Any]) -> Any:
    column = sort.lstrip("-")
    if column == "name":
        return fold(item["nominee_name"])
    if column == "due_on":
        return item["deadline"]["due_on"]
    return datetime.fromisoformat(item[column])


@pytest.mark.parametrize("limit", [2, 50])
def test_each_sort_orders_the_listing_in_both_directions(staff: Staff, limit: int) -> None:
    made = build_sortable(staff)
    for sort in ("modified_at", "submitted_at", "name", "due_on"):
        for descending in (False, True):
            name = f"-{sort}" if descending else sort
            items = [
                item for page in pages(staff, sort=name, limit=limit) for item in page["items"]
            ]
            assert sorted(item["id"] for item in items) == sorted(str(d) for d in made.values())
            keys = [(_key(sort, item), item["id"]) for item in items]
            valued = [key for key in keys if key[0] is not None]
            assert valued == sorted(valued, reverse=descending), name
            # Dossiers without a value (no deadline) come last, whichever the direction.
            assert all(key[0] is None for key in keys[len(valued) :]), name
    by_name = [item["nominee_name"] for item in read(staff, DOSSIERS, sort="name")["items"]]
    # Đ sorts as D: "do van cuong" before "duong thi phuc".
    assert by_name == ["An Thị Bảo", "Bùi Văn Đạt", "Cao Văn Em", "Đỗ Văn Cường", "Dương Thị Phúc"]
    newest = read(staff, DOSSIERS)["items"][0]  # -modified_at by default
    assert newest["id"] == str(made["Cao Văn Em"])
    # Appraised (and then decided) dossiers have no appraisal deadline any more.
    no_deadline = {str(made["An Thị Bảo"]), str(made["Cao Văn Em"])}
    for sort in ("due_on", "-due_on"):
        assert {
            item["id"] for item in read(staff, DOSSIERS, sort=sort)["items"][-2:]
        } == no_deadline


@pytest.mark.parametrize("sort", ["submitted_at", "-submitted_at", "name", "-name"])
def test_paging_on_a_fixed_value_shows_every_earlier_dossier_exactly_once(
    staff: Staff, sort: str
) -> None:
    before = {submit(staff, f"Hồ Văn Trước {n:02d}") for n in range(9)}
    for _ in range(3):
        later(staff)
        before.add(submit(staff, f"Hồ Văn Trước {len(before):02d}"))
    seen: list[str] = []
    changing = iter(sorted(before))
    for number, page in enumerate(pages(staff, sort=sort, limit=4)):
        seen += [item["id"] for item in page["items"]]
        # Between pages: new dossiers (before and after the cursor) and changes to others.
        later(staff)
        submit(staff, f"A Mới {number}")
        submit(staff, f"Ỷ Mới {number}")
        appraise(staff, next(changing))
    assert len(seen) == len(set(seen)), "a dossier was repeated"
    assert {str(d) for d in before} <= set(seen), "a dossier was skipped"


def test_paging_by_last_change_never_repeats_a_dossier(staff: Staff) -> None:
    pending = []  # oldest first
    for n in range(10):
        pending.append(submit(staff, f"Hồ Văn Đổi {n:02d}"))
        later(staff)
    seen: list[str] = []
    for page in pages(staff, limit=3):
        shown = [UUID(item["id"]) for item in page["items"]]
        seen += [str(d) for d in shown]
        later(staff)
        appraise(staff, shown[0])  # shown, then changed: it moves before the cursor
        pending.remove(shown[0])
        if pending and pending[0] not in shown:
            appraise(staff, pending.pop(0))  # not shown yet, then changed: it moves too
    assert len(seen) == len(set(seen)), "a dossier was repeated"


def test_a_cursor_this_service_did_not_make_is_a_400(staff: Staff) -> None:
    for n in range(3):
        submit(staff, f"Mai Văn {n}")
    first = read(staff, DOSSIERS, limit=2)
    assert first["next_cursor"]
    assert first["total"] is None
    assert read(staff, DOSSIERS, limit=2, count=True)["total"] == 3

    def encoded(value: Any) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    good = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=="))
    for cursor in [
        "không-phải-con-trỏ",
        "!!!",
        "eyJ",
        encoded(["a"]),
        encoded({**good, "extra": 1}),
        encoded({**good, "i": "not-a-uuid"}),
        encoded({**good, "v": 12}),
        encoded({**good, "v": "2026-03-02T09:00:00"}),  # no time zone
        encoded({**good, "v": None}),  # modified_at is never empty
    ]:
        body = problem(staff.get("auditor", DOSSIERS, cursor=cursor), 400, "invalid-cursor")
        assert "next_cursor" in body["detail"]
    other_sort = problem(
        staff.get("auditor", DOSSIERS, cursor=first["next_cursor"], sort="name"),
        400,
        "invalid-cursor",
    )
    assert "sắp xếp" in other_sort["detail"]
    assert problem(staff.get("auditor", DOSSIERS, cursor="x" * 401), 422, "validation-error")
    second = read(staff, DOSSIERS, limit=2, cursor=first["next_cursor"])
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None


def test_the_page_size_is_bounded(staff: Staff) -> None:
    for n in range(51):
        submit(staff, f"Lý Văn {n:02d}", kind=Subject.COLLECTIVE)
    default = read(staff, DOSSIERS)
    assert (default["limit"], len(default["items"])) == (50, 50)
    assert default["next_cursor"]
    assert len(read(staff, DOSSIERS, limit=200)["items"]) == 51
    for limit in ("0", "201", "-1", "abc"):
        assert problem(staff.get("auditor", DOSSIERS, limit=limit), 422, "validation-error")


# --- read-your-writes ---------------------------------------------------------------------------


def test_a_read_after_a_commands_position_sees_it(staff: Staff) -> None:
    for _ in range(3):
        created = staff.post("submitter", DOSSIERS, _body(staff))
        assert created.status_code == 201, created.text
        position = created.json()["position"]
        listed = staff.get("auditor", DOSSIERS, after=position).json()
        assert listed["position"] >= position
        assert created.json()["id"] in [item["id"] for item in listed["items"]]
    dossier_id = UUID(created.json()["id"])
    appraised = staff.appraise(dossier_id)
    after = appraised.json()["position"]
    shown = staff.get("auditor", DOSSIERS, after=after, status="awaiting_decision").json()
    assert [item["id"] for item in shown["items"]] == [str(dossier_id)]
    approved = staff.approve(dossier_id)
    register = staff.get("auditor", "/api/v1/awards", after=approved.json()["position"]).json()
    assert [item["id"] for item in register["items"]] == [str(dossier_id)]
    statistics = staff.get("auditor", "/api/v1/statistics", after=approved.json()["position"])
    assert statistics.json()["total"] == 3
    detail = staff.get("auditor", f"{DOSSIERS}/{dossier_id}", after=approved.json()["position"])
    assert detail.json()["status"] == "approved"


def _body(staff: Staff) -> dict[str, Any]:
    n = next(_identities)
    return submission(staff.movement_id, name=f"Trịnh Văn {n % 1000}", identity=f"{n:012d}")


@pytest.fixture
def impatient(settings: Settings) -> Iterator[Staff]:
    """A world whose reads wait at most 0.3 s for the views."""
    with open_staff(settings.model_copy(update={"read_wait_seconds": 0.3})) as world:
        yield world


def test_a_position_the_views_have_not_reached_is_a_503_with_retry_after(
    impatient: Staff,
) -> None:
    staff = impatient
    beyond = head(staff) + 1_000
    for path in (
        DOSSIERS,
        f"{DOSSIERS}/export.csv",
        "/api/v1/council/agenda",
        "/api/v1/awards",
        "/api/v1/consultations",
        "/api/v1/statistics",
        "/api/v1/movements",
    ):
        started = time.monotonic()
        response = staff.get("auditor", path, after=beyond)
        body = problem(response, 503, "views-not-caught-up")
        assert response.headers["retry-after"] == "1"
        assert body["after"] == beyond
        assert "thử lại" in body["detail"]
        assert time.monotonic() - started < 1.5  # a position past the log is not waited for
    assert problem(staff.get("auditor", DOSSIERS, after=-1), 422, "validation-error")

    # A real position the runner has not applied yet: waited for, then 503.
    staff.services.projections.stop()
    position = staff.services.dossiers.submit(
        movement_id=staff.movement_id,
        award_code=PROVINCIAL,
        submitting_unit=UNIT,
        nominee=Nominee(Subject.COLLECTIVE, "Tổ Chờ", "Tập thể"),
        personal=None,
        achievements="Hoàn thành xuất sắc nhiệm vụ.",
        documents=[DocumentRef("a.pdf", sha("a"), 1), DocumentRef("b.pdf", sha("b"), 1)],
        by=Actor("sgd.trinh", Role.SUBMITTER, UNIT),
    ).position
    started = time.monotonic()
    waited = staff.get("auditor", DOSSIERS, after=position)
    assert time.monotonic() - started >= 0.3
    problem(waited, 503, "views-not-caught-up")
    staff.services.projections.start()
    assert staff.services.projections.wait_for(position, timeout=30)  # restarting may be slow
    listed = staff.get("auditor", DOSSIERS, after=position)
    assert listed.status_code == 200, listed.text
    assert [item["nominee_name"] for item in listed.json()["items"]] == ["Tổ Chờ"]


# --- who may read what --------------------------------------------------------------------------


def test_a_submitter_lists_and_exports_only_its_own_units_dossiers(staff: Staff) -> None:
    own = submit(staff, "Đinh Văn Nhà")
    foreign = submit(staff, "Đinh Văn Khách", unit=OTHER_UNIT)
    assert ids(staff, "submitter") == [str(own)]
    assert ids(staff, "submitter", unit=OTHER_UNIT) == [str(own)]
    assert ids(staff, "submitter", q="dinh van khach") == []
    assert ids(staff, "other_submitter") == [str(foreign)]
    assert sorted(ids(staff, "hd-01")) == sorted([str(own), str(foreign)])
    exported = staff.get("submitter", f"{DOSSIERS}/export.csv", after=head(staff))
    assert exported.status_code == 200
    assert "Đinh Văn Nhà" in exported.text
    assert "Đinh Văn Khách" not in exported.text
    for path in ("/api/v1/council/agenda", "/api/v1/consultations", "/api/v1/statistics"):
        problem(staff.get("submitter", path), 403, "permission-denied")
