"""Time travel of the public consultation list (``/cong-khai?ngay=YYYY-MM-DD``), through the real
app on SQLite and PostgreSQL: the list as it stood at the end of a past day (Vietnam time),
rebuilt from the events.

The world (its clock starts on Monday 2 March 2026, 09:00 in Vietnam): three state-level
nominations A, B and C are submitted on 2 March and published on 3 March, all three closing on
17 March (11 working days, 3 March included). B is withdrawn at 23:59:59.999999 on 4 March; A
receives a comment at midnight sharp starting 5 March; C is held on 5 March and resumed on 6
March; on 18 March (today) A's window is closed. Tests that add events add their own dossiers,
so the tests run in any order.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import unescape
from typing import Any
from uuid import UUID

import pytest

from application.history_views import Candidates, PastConsultations
from domain.dossier import Status
from domain.shared import VIETNAM_TZ
from infrastructure.views.public_reads import PublicReads
from tests.api.conftest import (
    STORES,
    Staff,
    make_settings,
    module_postgres_schema,  # noqa: F401 (a fixture)
    open_staff,
)
from tests.public.pages_support import STATE_AWARD, read, submit_state

FIRST_DAY = date(2026, 3, 2)
PUBLISHED = date(2026, 3, 3)
CLOSES = date(2026, 3, 17)
TODAY = date(2026, 3, 18)
HOLD_REASON = "Lý do nội bộ: xác minh đơn thư tố cáo số 17/2026 về người được đề nghị"
CONTACT = "Số nhà 45, ngõ 12, phố Kim Đồng, điện thoại 0208 386 4411"
NAMES = {"a": "Nguyễn Văn An", "b": "Trần Thị Bình", "c": "Lê Đức Cường"}
PRIVATE = (
    "0010850",  # the identity numbers' prefix (pages_support numbers them 0010850xxxxx)
    "0912 345 678",
    "0912345678",
    "an.nguyen@example.vn",
    "12 Lê Duẩn",
    "12/04/1985",
    "1985-04-12",
    HOLD_REASON,
    CONTACT,
    "0208 386 4411",
)


@dataclass
class Timeline:
    staff: Staff
    ids: dict[str, UUID]

    @property
    def client(self) -> Any:
        return self.staff.client

    def settle(self) -> None:
        services = self.staff.services
        assert services.projections.wait_for(services.movements.max_position(), timeout=10)

    def page(self, day: date | str, **params: str) -> Any:
        text = day.isoformat() if isinstance(day, date) else day
        return self.client.get("/cong-khai", params={"ngay": text, **params})


def at(staff: Staff, moment: datetime) -> None:
    staff.clock.moment = moment.astimezone(UTC)


def build(staff: Staff) -> Timeline:
    ids = {
        key: submit_state(staff, name, "submitter", number)
        for number, (key, name) in enumerate(NAMES.items(), start=21)
    }
    staff.clock.set_local(PUBLISHED)
    for dossier_id in ids.values():
        staff.move(
            "appraiser", dossier_id, "public-comment/open", {"closes_on": CLOSES.isoformat()}
        )
    at(staff, datetime(2026, 3, 4, 23, 59, 59, 999_999, tzinfo=VIETNAM_TZ))
    staff.move("submitter", ids["b"], "withdrawal", {"reason": "Đơn vị rút để bổ sung."})
    at(staff, datetime(2026, 3, 5, 0, 0, tzinfo=VIETNAM_TZ))
    staff.move(
        "appraiser",
        ids["a"],
        "comments",
        {
            "kind": "support",
            "text": "Tôi đồng ý đề nghị.",
            "author_name": "Lê Thị Hoa",
            "contact": CONTACT,
        },
    )
    staff.clock.set_local(date(2026, 3, 5))
    staff.move("appraiser", ids["c"], "hold", {"kind": "complaint", "reason": HOLD_REASON})
    staff.clock.set_local(date(2026, 3, 6))
    staff.move("appraiser", ids["c"], "hold/lift", {"outcome": "Đơn thư không có cơ sở."})
    staff.clock.set_local(TODAY)
    staff.move("appraiser", ids["a"], "public-comment/close")
    timeline = Timeline(staff, ids)
    timeline.settle()
    return timeline


@pytest.fixture(scope="module", params=STORES)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Timeline]:
    if request.param == "sqlite":
        settings = make_settings("sqlite", tmp_path_factory.mktemp("travel") / "data")
    else:
        schema = request.getfixturevalue("module_postgres_schema")
        settings = make_settings("postgres", tmp_path_factory.mktemp("travel"), schema)
    settings = settings.model_copy(update={"public_page_size": 5})
    with open_staff(settings) as staff:
        yield build(staff)


def cards(html: str) -> dict[str, str]:
    """Nominee's name → the text of its card on a list page."""
    found: dict[str, str] = {}
    for card in re.findall(r'<li class="the">(.*?)</li>', html, re.DOTALL):
        text = " ".join(unescape(re.sub(r"<[^>]+>", " ", card)).split())
        name = re.search(r'<a href="/cong-khai/[0-9a-f-]+">([^<]+)</a>', card)
        assert name is not None
        found[unescape(name.group(1))] = text
    return found


def shown(world: Timeline, day: date, state: str = "tat_ca") -> dict[str, str]:
    response = world.page(day, tinh_trang=state)
    assert response.status_code == 200, response.text
    return cards(response.text)


def ours(found: dict[str, str]) -> set[str]:
    return {key for key, name in NAMES.items() if name in found}


# --- what the list showed --------------------------------------------------------------------


def test_the_day_before_publication_shows_none_of_them(world: Timeline) -> None:
    for state in ("tat_ca", "dang_mo", "da_ket_thuc"):
        assert ours(shown(world, FIRST_DAY, state)) == set(), state
    response = world.page(FIRST_DAY)
    assert "Không có hồ sơ nào đang lấy ý kiến Nhân dân vào ngày 02/03/2026" in response.text


def test_inside_the_window_a_nomination_is_open_with_the_working_days_left_that_day(
    world: Timeline,
) -> None:
    expected = {
        PUBLISHED: "còn 11 ngày làm việc",
        date(2026, 3, 4): "còn 10 ngày làm việc",
        date(2026, 3, 7): "còn 7 ngày làm việc",  # a Saturday: not counted
        CLOSES: "còn 1 ngày làm việc",
    }
    for day, left in expected.items():
        found = shown(world, day, "dang_mo")
        assert NAMES["a"] in found, day
        assert left in found[NAMES["a"]], (day, found[NAMES["a"]])
        assert "hết ngày 17/03/2026" in found[NAMES["a"]]
    on_publication = shown(world, PUBLISHED, "dang_mo")
    assert ours(on_publication) == {"a", "b", "c"}
    assert all("còn 11 ngày làm việc" in on_publication[name] for name in NAMES.values())


def test_comments_count_as_recorded_by_the_end_of_the_day(world: Timeline) -> None:
    # The comment was recorded at 00:00 on 5 March: the 4th ends just before it.
    before = shown(world, date(2026, 3, 4))[NAMES["a"]]
    after = shown(world, date(2026, 3, 5))[NAMES["a"]]
    assert "Ý kiến đã nhận 0" in before
    assert "Ý kiến đã nhận 1" in after


def test_after_closing_the_nomination_shows_closed(world: Timeline) -> None:
    assert "a" not in ours(shown(world, TODAY, "dang_mo"))
    ended = shown(world, TODAY, "da_ket_thuc")
    assert Status.COMMENT_CLOSED.label in ended[NAMES["a"]]
    # C was never closed by the staff: past its last day it is shown as out of time.
    assert "đã hết thời hạn góp ý" in ended[NAMES["c"]]


def test_a_withdrawal_and_a_hold_show_what_stood_each_day(world: Timeline) -> None:
    # B was withdrawn a microsecond before the end of 4 March.
    assert "b" in ours(shown(world, PUBLISHED, "dang_mo"))
    on_fourth = shown(world, date(2026, 3, 4))
    assert "b" not in ours(shown(world, date(2026, 3, 4), "dang_mo"))
    assert Status.WITHDRAWN.label in on_fourth[NAMES["b"]]
    # C was held on 5 March and resumed on 6 March.
    held = shown(world, date(2026, 3, 5), "da_ket_thuc")
    assert Status.HELD.label in held[NAMES["c"]]
    resumed = shown(world, date(2026, 3, 6), "dang_mo")
    assert "còn 8 ngày làm việc" in resumed[NAMES["c"]]
    assert "b" not in ours(resumed)


def test_the_page_is_labelled_with_its_day_and_links_back_to_todays_list(
    world: Timeline,
) -> None:
    response = world.page(PUBLISHED)
    page = read(response)
    assert "Danh sách tại cuối ngày 03/03/2026" in response.text
    assert [text for level, text in page.headings if level == 1] == [
        "Hồ sơ lấy ý kiến Nhân dân tại cuối ngày 03/03/2026"
    ]
    assert "Xem danh sách hiện nay" in page.ids["thoi-diem"]
    assert "/cong-khai" in page.links
    search = next(form for form in page.forms.values() if form["action"] == "/cong-khai")
    assert search["fields"]["ngay"] == "2026-03-03"
    # The same day written the Vietnamese way.
    assert "Danh sách tại cuối ngày 03/03/2026" in world.page("03/03/2026").text
    # Today's own list offers the field, empty; an empty field is today's list.
    today = world.client.get("/cong-khai", params={"ngay": ""})
    assert today.status_code == 200
    assert "Danh sách tại cuối ngày" not in today.text
    assert 'name="ngay" value=""' in today.text


def test_search_and_filters_work_on_a_past_day(world: Timeline) -> None:
    assert ours(shown(world, PUBLISHED, "dang_mo")) == {"a", "b", "c"}
    for query in ("tran thi binh", "BÌNH"):
        found = cards(world.page(PUBLISHED, q=query).text)
        assert ours(found) == {"b"}, query
    assert ours(cards(world.page(PUBLISHED, hinh_thuc=STATE_AWARD).text)) == {"a", "b", "c"}
    assert ours(cards(world.page(PUBLISHED, hinh_thuc="khong_co").text)) == set()
    assert ours(cards(world.page(PUBLISHED, don_vi="so giao duc va dao tao").text)) == {
        "a",
        "b",
        "c",
    }
    assert ours(cards(world.page(PUBLISHED, don_vi="Công an tỉnh").text)) == set()


def test_todays_rebuilt_list_equals_the_live_view(world: Timeline) -> None:
    live = world.client.get("/du-lieu-mo/cong-khai.json", params={"so_luong": 1000}).json()
    rebuilt = world.client.get(
        "/du-lieu-mo/cong-khai.json", params={"so_luong": 1000, "ngay": TODAY.isoformat()}
    ).json()
    assert rebuilt["items"] == live["items"]
    assert len(live["items"]) >= 3
    for state in ("dang_mo", "da_ket_thuc", "tat_ca"):
        page = world.client.get("/cong-khai", params={"tinh_trang": state}).text
        again = world.page(TODAY, tinh_trang=state).text
        assert list(cards(again)) == list(cards(page)), state


# --- open data ----------------------------------------------------------------------------------


def test_open_data_json_and_csv_take_the_day_too(world: Timeline) -> None:
    body = world.client.get(
        "/du-lieu-mo/cong-khai.json", params={"ngay": "2026-03-04", "tinh_trang": "tat_ca"}
    ).json()
    items = {item["nominee_name"]: item for item in body["items"]}
    assert items[NAMES["a"]]["open_for_comment"] is True
    assert items[NAMES["a"]]["comments_received"] == 0
    assert items[NAMES["b"]]["status"] == Status.WITHDRAWN.value
    assert items[NAMES["b"]]["open_for_comment"] is False
    assert set(items[NAMES["a"]]) == set(
        world.client.get("/du-lieu-mo/cong-khai.json").json()["items"][0]
    )
    # Pages by cursor, the day kept in the next page's address.
    seen: list[str] = []
    path: str | None = "/du-lieu-mo/cong-khai.json?ngay=2026-03-04&tinh_trang=tat_ca&so_luong=1"
    while path is not None:
        page = world.client.get(path).json()
        seen += [item["nominee_name"] for item in page["items"]]
        path = page["next"]
        assert path is None or "ngay=2026-03-04" in path
        assert len(seen) < 20
    assert sorted(seen) == sorted(items)
    response = world.client.get("/du-lieu-mo/cong-khai.csv", params={"ngay": "2026-03-04"})
    assert response.status_code == 200
    assert "cong-khai-2026-03-04.csv" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {row["Người/tập thể được đề nghị"] for row in rows} >= {NAMES["a"], NAMES["b"]}


def test_bad_days_in_open_data_are_400_problems(world: Timeline) -> None:
    for value, title in (
        ("hom-qua", "Ngày không hợp lệ"),
        ("2026-02-30", "Ngày không hợp lệ"),
        ("2026-03-19", "Ngày chưa tới"),
        ("2026-03-01", "Chưa có dữ liệu của ngày này"),
    ):
        for ext in ("json", "csv"):
            response = world.client.get(f"/du-lieu-mo/cong-khai.{ext}", params={"ngay": value})
            assert response.status_code == 400, (value, ext)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["title"] == title
    cursor = world.client.get(
        "/du-lieu-mo/cong-khai.json", params={"ngay": "2026-03-04", "trang": "abc"}
    )
    assert cursor.status_code == 400


# --- bad days on the page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "title", "says"),
    [
        ("hom-qua", "Ngày không hợp lệ", "«hom-qua» không phải là một ngày"),
        ("2026-02-30", "Ngày không hợp lệ", "ví dụ ngay=2026-03-18"),
        ("31/02/2026", "Ngày không hợp lệ", "không phải là một ngày"),
        ("<b>2026</b>", "Ngày không hợp lệ", "không phải là một ngày"),
        ("2026-03-19", "Ngày chưa tới", "Ngày 19/03/2026 chưa tới"),
        ("2030-01-01", "Ngày chưa tới", "hôm nay (18/03/2026)"),
        ("2026-03-01", "Chưa có dữ liệu của ngày này", "bắt đầu ghi nhận từ ngày 02/03/2026"),
    ],
)
def test_a_bad_day_is_a_400_page_in_vietnamese(
    world: Timeline, value: str, title: str, says: str
) -> None:
    response = world.page(value)
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    page = read(response)
    assert [text for level, text in page.headings if level == 1] == [title]
    assert says in unescape(response.text)
    assert "<b>" not in response.text
    assert 'href="/cong-khai"' in response.text


def test_a_page_cursor_that_is_not_ours_is_a_400_page(world: Timeline) -> None:
    response = world.page(PUBLISHED, trang="abc")
    assert response.status_code == 400
    assert "Liên kết trang không hợp lệ" in response.text


# --- privacy ----------------------------------------------------------------------------------


def test_no_private_detail_appears_on_any_day(world: Timeline) -> None:
    documents: list[str] = []
    for day in (PUBLISHED, date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6), TODAY):
        documents.append(world.page(day, tinh_trang="tat_ca").text)
        for ext in ("json", "csv"):
            documents.append(
                world.client.get(
                    f"/du-lieu-mo/cong-khai.{ext}", params={"ngay": day.isoformat()}
                ).text
            )
    for text in documents:
        readable = unescape(text)
        for value in PRIVATE:
            assert value not in readable, value
    # And searching by a private value finds nobody.
    for value in ("an.nguyen@example.vn", "001085000021", "0912 345 678"):
        assert ours(cards(world.page(PUBLISHED, q=value, tinh_trang="tat_ca").text)) == set()


# --- rebuilding and caching -------------------------------------------------------------------


def test_a_lagging_view_misses_nothing_the_log_holds(world: Timeline) -> None:
    """Dossiers published in events the view has not read yet come from the log's tail: with
    a view that has read nothing, the rebuild finds every one from the events alone."""
    services = world.staff.services
    view = services.projections.view("consultation")
    blind = PastConsultations(services.dossiers, view, lambda day: Candidates(0, []))
    reads = PublicReads(services.projections.database)

    def stored(day: date) -> Candidates:
        position, ids = reads.consultations_opened_by(day)
        return Candidates(position, ids)

    seeing = PastConsultations(services.dossiers, view, stored)
    for day in (FIRST_DAY, PUBLISHED, date(2026, 3, 5), TODAY):
        assert blind.rebuild(day) == seeing.rebuild(day), day
    assert {row["id"] for row in seeing.rebuild(PUBLISHED)} >= set(world.ids.values())


def test_a_settled_day_is_cached_and_today_follows_new_events(world: Timeline) -> None:
    staff = world.staff
    site = staff.client.app.state.public
    calls: list[date] = []
    rebuild = site.past.rebuild

    def counting(day: date) -> list[dict[str, Any]]:
        calls.append(day)
        return rebuild(day)

    site.past.rebuild = counting
    try:
        world.page(CLOSES)
        world.page(CLOSES)
        assert calls.count(CLOSES) <= 1  # once, or never if an earlier test cached it
        before = shown(world, TODAY, "dang_mo")
        newcomer = "Đỗ Thị Mai"
        assert newcomer not in before
        dossier_id = submit_state(staff, newcomer, "submitter", 41)
        staff.move(
            "appraiser",
            dossier_id,
            "public-comment/open",
            {"closes_on": staff.services.calendar.add_working_days(TODAY, 10).isoformat()},
        )
        # No wait for the views: the rebuilt list reads the log itself.
        found = shown(world, TODAY, "dang_mo")
        assert "còn 11 ngày làm việc" in found[newcomer]
        assert newcomer not in shown(world, CLOSES)
    finally:
        del site.past.rebuild
    world.settle()
