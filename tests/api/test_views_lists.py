"""The agenda, the register, the consultations, the statistics, the movements and the exports,
over HTTP after a scripted flow, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import statistics as stats
import zipfile
from collections import Counter
from typing import Any
from uuid import UUID

from domain.rulebook import Subject
from domain.values import Vote
from tests.api.conftest import OTHER_UNIT, Staff
from tests.api.drive import CHAIRMAN, MEMBERS, STATE, Driver
from tests.api.test_views_api import appraise, head, ids, read, submit

AGENDA = "/api/v1/council/agenda"
AWARDS = "/api/v1/awards"
CONSULTATIONS = "/api/v1/consultations"
STATISTICS = "/api/v1/statistics"
XLSX_MAGIC = b"PK\x03\x04"


def approve(driver: Driver, dossier_id: UUID, number: str) -> UUID:
    return driver.do(
        "approve", dossier_id, CHAIRMAN, decision_number=number, decision_date=driver.today()
    )


def scripted(staff: Staff) -> dict[str, Any]:
    """Dossiers in many stages, across two days and two units."""
    driver = Driver(staff)
    made: dict[str, Any] = {"first_day": driver.today()}
    driver.open_windows(STATE, 3)
    made["approved_early"] = approve(driver, driver.awaiting_decision(), "120/QĐ-UBND")
    driver.let_windows_elapse()
    made["second_day"] = driver.today()
    made["forwarded"] = driver.forwarded()
    made["conferred"] = driver.conferred()
    made["elapsed"] = driver.comment_elapsed()  # its window ran out; not closed yet
    made["comment_open"] = driver.comment_open()
    made["voting"] = driver.council_voting()
    driver.do("cast_ballot", made["voting"], MEMBERS[0], vote=Vote.YES)
    made["awaiting_council"] = driver.awaiting_council()
    made["approved"] = approve(driver, driver.awaiting_decision(), "123/QĐ-UBND")
    foreign = driver.appraised(driver.submit(unit=OTHER_UNIT))
    made["approved_foreign"] = approve(driver, foreign, "124/QĐ-UBND")
    made["returned"] = driver.returned()
    made["held"] = driver.held()
    made["submitted_foreign"] = driver.submit(unit=OTHER_UNIT)
    return made


def test_the_agenda_puts_the_vote_in_progress_first_and_only_counts_ballots(
    staff: Staff,
) -> None:
    made = scripted(staff)
    agenda = read(staff, AGENDA, who="secretary")
    assert [item["id"] for item in agenda["items"]] == [
        str(made["voting"]),
        str(made["awaiting_council"]),
    ]
    assert (agenda["total"], agenda["offset"], agenda["limit"]) == (2, 0, 50)
    assert agenda["position"] >= head(staff)
    voting, waiting = agenda["items"]
    assert (voting["status"], voting["status_label"]) == (
        "council_voting",
        "Hội đồng đang biểu quyết",
    )
    assert (voting["votes_cast"], voting["council_members"], voting["conflicts"]) == (1, 5, 0)
    assert voting["council_meeting_on"] is not None
    assert voting["votes_required"] is not None
    assert "vote" not in voting
    assert "ballots" not in voting
    assert (waiting["status"], waiting["votes_cast"], waiting["council_meeting_on"]) == (
        "awaiting_council",
        0,
        None,
    )
    second = read(staff, AGENDA, who="chairman", limit=1, offset=1)
    assert [item["id"] for item in second["items"]] == [str(made["awaiting_council"])]


def test_the_register_lists_awards_with_filters_search_and_pages(staff: Staff) -> None:
    made = scripted(staff)
    entries = {item["id"]: item for item in read(staff, AWARDS)["items"]}
    expected = ["approved", "approved_early", "approved_foreign", "forwarded", "conferred"]
    assert set(entries) == {str(made[key]) for key in expected}
    approved = entries[str(made["approved"])]
    assert (approved["status"], approved["decision_number"]) == ("approved", "123/QĐ-UBND")
    assert approved["recorded_on"] == made["second_day"].isoformat()
    forwarded = entries[str(made["forwarded"])]
    assert (forwarded["status_label"], forwarded["submission_number"]) == (
        "Đã trình cấp trên",
        "45/TTr-UBND",
    )
    conferred = entries[str(made["conferred"])]
    assert conferred["central_decision_number"] == "1520/QĐ-TTg"

    def found(**params: Any) -> set[str]:
        return {item["id"] for item in read(staff, AWARDS, **params)["items"]}

    assert found(status="approved") == {
        str(made[k]) for k in ("approved", "approved_early", "approved_foreign")
    }
    assert found(level="state") == {str(made["forwarded"]), str(made["conferred"])}
    assert found(q="123/qd-ubnd") == {str(made["approved"])}
    assert found(q="1520/QĐ-TTg") == {str(made["conferred"])}
    assert found(unit="cong an tinh") == {str(made["approved_foreign"])}
    assert found(decided_to=made["first_day"].isoformat()) == {str(made["approved_early"])}
    assert str(made["approved_early"]) not in found(decided_from=made["second_day"].isoformat())
    assert found(movement_id=str(staff.movement_id)) == set(entries)
    # A submitter reads its own unit's entries only.
    assert str(made["approved_foreign"]) not in {
        item["id"] for item in read(staff, AWARDS, who="submitter")["items"]
    }
    assert {item["id"] for item in read(staff, AWARDS, who="other_submitter")["items"]} == {
        str(made["approved_foreign"])
    }
    # Pages by cursor, latest first, each entry once.
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = read(staff, AWARDS, limit=2, count=True, **({"cursor": cursor} if cursor else {}))
        assert page["total"] == 5
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 == len({item["id"] for item in seen})
    days = [item["recorded_on"] for item in seen]
    assert days == sorted(days, reverse=True)
    oldest_first = [
        item["recorded_on"] for item in read(staff, AWARDS, sort="recorded_on")["items"]
    ]
    assert oldest_first == sorted(days)


def test_the_consultations_show_open_windows_and_recently_closed_ones(staff: Staff) -> None:
    made = scripted(staff)
    listed = read(staff, CONSULTATIONS, who="appraiser")
    shown = {item["id"]: item for item in listed["items"]}
    assert set(shown) == {
        str(made[key]) for key in ("forwarded", "conferred", "elapsed", "comment_open")
    }
    assert listed["closed_within_days"] == 30
    assert shown[str(made["comment_open"])]["open_for_comment"] is True
    assert shown[str(made["elapsed"])]["open_for_comment"] is False
    assert shown[str(made["elapsed"])]["closed_on"] is None
    assert shown[str(made["forwarded"])]["closed_on"] == made["second_day"].isoformat()
    closes = [item["closes_on"] for item in listed["items"]]
    assert closes == sorted(closes, reverse=True)
    assert {item["id"] for item in read(staff, CONSULTATIONS, q="thu 1")["items"]} <= set(shown)

    staff.clock.advance(days=40)
    later_on = {item["id"] for item in read(staff, CONSULTATIONS)["items"]}
    assert later_on == {str(made["elapsed"]), str(made["comment_open"])}
    longer = read(staff, CONSULTATIONS, closed_within_days=90)
    assert len(longer["items"]) == 4
    assert longer["total"] == 4


def test_the_statistics_agree_with_the_listing(staff: Staff) -> None:
    scripted(staff)
    figures = read(staff, STATISTICS, who="chairman")
    listing = read(staff, "/api/v1/dossiers", limit=200)["items"]
    by_status = Counter(item["status"] for item in listing)
    assert {row["status"]: row["count"] for row in figures["by_status"]} == dict(by_status)
    assert figures["total"] == len(listing)
    assert all(row["status_label"] for row in figures["by_status"])
    units = {group["key"]: group for group in figures["by_unit"]}
    assert units[OTHER_UNIT]["total"] == sum(
        1 for item in listing if item["submitting_unit"] == OTHER_UNIT
    )
    assert units[OTHER_UNIT]["by_status"] == dict(
        Counter(item["status"] for item in listing if item["submitting_unit"] == OTHER_UNIT)
    )
    awards = {group["key"]: group for group in figures["by_award"]}
    assert awards[STATE]["label"] == "Bằng khen của Thủ tướng Chính phủ"
    levels = {group["key"]: group for group in figures["by_level"]}
    assert levels["state"]["label"] == "Cấp Nhà nước"
    assert sum(group["total"] for group in figures["by_level"]) == len(listing)
    movements = figures["by_movement"]
    assert [(group["key"], group["label"]) for group in movements] == [
        (str(staff.movement_id), "461/KH-UBND")
    ]
    clocks = figures["clocks"]
    deadlines = [item["deadline"] for item in listing]
    assert clocks["running"] == sum(1 for d in deadlines if d["due_on"] and not d["paused"])
    assert clocks["paused"] == sum(1 for d in deadlines if d["paused"])
    overdue = len(ids(staff, overdue=True, limit=200))
    assert clocks["overdue"] == overdue == sum(1 for d in deadlines if d["overdue"])
    assert figures["today"] == staff.today().isoformat()
    for stage in figures["stages"]:
        assert stage["stage_label"]
        assert stage["median_days"] <= stage["p90_days"] <= stage["longest_days"]


def test_the_time_spent_in_a_stage_is_summarised_by_median_and_90th_percentile(
    staff: Staff,
) -> None:
    calendar = staff.services.calendar
    start = staff.today()
    made = [submit(staff, f"Tạ Văn {n}") for n in range(3)]
    for dossier_id, days in zip(made, (1, 2, 5), strict=True):
        staff.clock.set_local(calendar.add_working_days(start, days))
        appraise(staff, dossier_id)
    figures = read(staff, STATISTICS)
    submitted = next(stage for stage in figures["stages"] if stage["stage"] == "submitted")
    assert submitted == {
        "stage": "submitted",
        "stage_label": "Đã tiếp nhận, chờ thẩm định",
        "dossiers": 3,
        "median_days": 2,
        "p90_days": 5,
        "mean_days": round(stats.mean([1, 2, 5]), 1),
        "longest_days": 5,
    }
    assert figures["clocks"]["running"] == 0
    assert figures["by_status"] == [
        {
            "status": "awaiting_decision",
            "status_label": "Chờ Chủ tịch UBND tỉnh quyết định",
            "count": 3,
        }
    ]


def test_the_movements_list_reads_the_view(staff: Staff) -> None:
    newer = Driver(staff).movement()
    listed = read(staff, "/api/v1/movements")
    assert [item["id"] for item in listed["items"]] == [str(newer), str(staff.movement_id)]
    assert (listed["total"], listed["limit"], listed["offset"]) == (2, 50, 0)
    assert listed["items"][1]["plan_number"] == "461/KH-UBND"
    found = read(staff, "/api/v1/movements", q="dak nong")["items"]
    assert [item["id"] for item in found] == [str(staff.movement_id)]
    assert read(staff, "/api/v1/movements", q="Đắk Nông")["total"] == 1


# --- exports -------------------------------------------------------------------------------------

TRICKY = ["=HYPERLINK(1)", "+1 Tổ", "-2 Tổ", "@Tổ"]


def exported_dossiers(staff: Staff) -> list[UUID]:
    made = [submit(staff, name, kind=Subject.COLLECTIVE) for name in TRICKY]
    made += [submit(staff, f"Tổ công tác số {n:02d}", kind=Subject.COLLECTIVE) for n in range(56)]
    appraise(staff, made[-1])
    # Past the deadline: the working days left are negative (a number, not text).
    calendar = staff.services.calendar
    staff.clock.set_local(
        calendar.add_working_days(calendar.add_working_days(staff.today(), 20), 3)
    )
    return made


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_the_csv_export_has_every_matching_dossier_and_no_formulas(staff: Staff) -> None:
    made = exported_dossiers(staff)
    response = staff.get("auditor", "/api/v1/dossiers/export.csv", after=head(staff))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="ho-so-{staff.today().isoformat()}.csv"'
    rows = csv_rows(response.content)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Mã hồ sơ", "Trạng thái", "Người/tập thể được đề nghị"]
    assert "Số ngày làm việc còn lại" in header
    assert "Quá hạn" in header
    assert len(body) == len(made) == 60  # every row, not one page
    assert {row[0] for row in body} == {str(d) for d in made}
    names = {row[2] for row in body}
    assert {"'=HYPERLINK(1)", "'+1 Tổ", "'-2 Tổ", "'@Tổ"} <= names
    column = {name: header.index(name) for name in header}
    overdue = [row for row in body if row[column["Quá hạn"]] == "Có"]
    assert len(overdue) == 59
    assert {row[column["Số ngày làm việc còn lại"]] for row in overdue} == {"-3"}
    assert {row[column["Phong trào thi đua"]] for row in body} == {"461/KH-UBND"}
    assert body[0][column["Cấp khen thưởng"]] == "Cấp tỉnh"
    # The listing's filters and sort apply.
    filtered = staff.get(
        "auditor", "/api/v1/dossiers/export.csv", status="awaiting_decision", sort="name"
    )
    assert [row[0] for row in csv_rows(filtered.content)[1:]] == [str(made[-1])]
    by_name = csv_rows(staff.get("auditor", "/api/v1/dossiers/export.csv", sort="-name").content)
    names_in_order = [row[2].lstrip("'") for row in by_name[1:]]
    assert names_in_order[0] == "Tổ công tác số 55"


def test_the_xlsx_export_is_a_workbook_with_typed_cells(staff: Staff) -> None:
    import openpyxl

    made = exported_dossiers(staff)
    response = staff.get("auditor", "/api/v1/dossiers/export.xlsx", after=head(staff))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["content-disposition"].endswith('.xlsx"')
    assert response.content.startswith(XLSX_MAGIC)
    assert int(response.headers["content-length"]) == len(response.content)
    assert "xl/worksheets/sheet1.xml" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == "Hồ sơ"
    rows = list(sheet.iter_rows())
    header = [cell.value for cell in rows[0]]
    assert header[:3] == ["Mã hồ sơ", "Trạng thái", "Người/tập thể được đề nghị"]
    assert len(rows) - 1 == len(made)
    column = {name: header.index(name) for name in header}
    formula_like = [row[2] for row in rows[1:] if str(row[2].value).startswith("=")]
    assert [(cell.value, cell.data_type) for cell in formula_like] == [("=HYPERLINK(1)", "s")]
    submitted = rows[1][column["Ngày trình"]]
    assert submitted.is_date
    days_left = {row[column["Số ngày làm việc còn lại"]].value for row in rows[1:]}
    assert days_left == {-3, None}


def test_the_register_exports_as_csv_and_xlsx(staff: Staff) -> None:
    import openpyxl

    made = scripted(staff)
    response = staff.get("chairman", "/api/v1/awards/export.csv", after=head(staff))
    assert response.status_code == 200, response.text
    rows = csv_rows(response.content)
    assert rows[0][:2] == ["Mã hồ sơ", "Tình trạng"]
    assert "Số quyết định" in rows[0]
    assert "Ngày ghi sổ" in rows[0]
    assert len(rows) - 1 == 5
    number = rows[0].index("Số quyết định")
    assert "123/QĐ-UBND" in {row[number] for row in rows[1:]}
    own = csv_rows(staff.get("submitter", "/api/v1/awards/export.csv").content)
    assert str(made["approved_foreign"]) not in {row[0] for row in own[1:]}
    assert len(own) - 1 == 4

    workbook = staff.get("auditor", "/api/v1/awards/export.xlsx", status="approved")
    assert workbook.status_code == 200, workbook.text
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sheet.title == "Sổ khen thưởng"
    assert sheet.max_row - 1 == 3


def test_an_export_of_nothing_has_only_its_header(staff: Staff) -> None:
    empty = staff.get("auditor", "/api/v1/dossiers/export.csv", q="không ai", after=head(staff))
    assert empty.status_code == 200
    assert len(csv_rows(empty.content)) == 1
    workbook = staff.get("auditor", "/api/v1/awards/export.xlsx", q="không ai")
    assert workbook.status_code == 200
    assert workbook.content.startswith(XLSX_MAGIC)
