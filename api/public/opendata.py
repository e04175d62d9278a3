"""Open data (dữ liệu mở): the public lists as JSON pages and as whole CSV files.

- ``/du-lieu-mo/`` documents every file, its fields and parameters (a page for people).
- ``<list>.json``: one page of ``so_luong`` rows (1–1000, default 100) after the cursor
  ``trang``, with ``next_cursor`` and ``next`` (the next page's address, None on the last).
- ``<list>.csv``: every row, streamed from the view tables (UTF-8 with a byte order mark,
  comma-separated; a cell a spreadsheet would run as a formula starts with ``'``).

The lists are the public pages' own: the nominations published for comment (``cong-khai``),
the register of awards made and revoked (``khen-thuong``), the movements (``phong-trao``).
Only what domain.md lets the public see; any site may fetch them (CORS ``*``).

``cong-khai`` also takes ``ngay=YYYY-MM-DD``: the list as it stood at the end of that day,
rebuilt from the events like the page (``application.history_views``); its cursor is then a
row offset (the rebuilt list of a past day does not change).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from starlette.responses import HTMLResponse, JSONResponse, Response

from api.errors import ApiProblem
from api.export import Column, csv_response, field
from api.public.pages import STATE_PARAMS, clean, is_open, offset_of, parse_day
from api.public.site import (
    LEVEL_LABELS,
    NOMINEE_KIND_LABELS,
    PublicSite,
    site_of,
    status_label,
)
from application.history_views import DayOutOfRange, select_consultations
from infrastructure.views.public_reads import (
    ConsultationFilter,
    MovementCounts,
    public_consultation,
)
from infrastructure.views.reads import InvalidCursor, KeysetPage, search_words

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Site = Annotated[PublicSite, Depends(site_of)]
DEFAULT_ROWS = 100
MAX_ROWS = 1000
OPEN_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=60"}
Row = dict[str, Any]


def _rows(so_luong: str | None) -> int:
    if so_luong is None:
        return DEFAULT_ROWS
    text = so_luong.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ROWS:
        raise ApiProblem(
            400,
            "invalid-page-size",
            "Số dòng mỗi trang không hợp lệ",
            f"Tham số so_luong phải là số nguyên từ 1 đến {MAX_ROWS}.",
            headers=OPEN_HEADERS,
        )
    return int(text)


def _bad_cursor(error: InvalidCursor) -> ApiProblem:
    return ApiProblem(
        400,
        "invalid-cursor",
        "Con trỏ trang không hợp lệ",
        "Tham số trang phải là nguyên giá trị next_cursor của trang trước (giữ nguyên các tham "
        "số khác); bỏ tham số trang để đọc từ trang đầu.",
        headers=OPEN_HEADERS,
    )


def _page(request: Request, items: list[Row], page: KeysetPage, **params: str | None) -> Response:
    kept = {name: value for name, value in params.items() if value}
    following = None
    if page.next_cursor:
        following = f"{request.url.path}?{urlencode({**kept, 'trang': page.next_cursor})}"
    body = {"items": items, "next_cursor": page.next_cursor, "next": following}
    return JSONResponse(jsonable_encoder(body), headers=OPEN_HEADERS)


def _csv(rows: Iterator[Row], columns: list[Column], name: str, today: date) -> Response:
    response = csv_response(rows, columns, f"{name}-{today.isoformat()}.csv")
    response.headers.update(OPEN_HEADERS)
    return response


# --- the documentation ------------------------------------------------------------------------


@router.get("/du-lieu-mo", response_class=HTMLResponse)
@router.get("/du-lieu-mo/", response_class=HTMLResponse)
def documentation(request: Request, site: Site) -> Response:
    return site.render(
        request,
        "open_data.html",
        {"default_rows": DEFAULT_ROWS, "max_rows": MAX_ROWS},
    )


# --- nominations published for comment -----------------------------------------------------------


def consultation_item(row: Row, today: date) -> Row:
    return {
        "id": row["id"],
        "url": f"/cong-khai/{row['id']}",
        "nominee_name": row["nominee_name"],
        "nominee_kind": row["nominee_kind"],
        "nominee_position": row["nominee_position"],
        "submitting_unit": row["submitting_unit"],
        "award_code": row["award_code"],
        "award_name": row["award_name"],
        "level": row["level"],
        "movement_id": row["movement_id"],
        "status": row["status"],
        "status_label": status_label(row["status"]),
        "opened_on": row["opened_on"],
        "closes_on": row["closes_on"],
        "closed_on": row["closed_on"],
        "open_for_comment": is_open(row, today),
        "comments_received": row["comments_received"],
        "comments_published": row["comments_published"],
        "comments_withheld": row["comments_withheld"],
        "appraised_on": row["appraised_on"],
        "achievements": row["achievements"],
    }


def _consultation_filter(q: str | None, tinh_trang: str | None) -> ConsultationFilter:
    state = STATE_PARAMS.get(tinh_trang or "tat_ca")
    if state is None:
        raise ApiProblem(
            400,
            "invalid-state",
            "Tình trạng không hợp lệ",
            "Tham số tinh_trang là một trong: dang_mo, da_ket_thuc, tat_ca (mặc định).",
            headers=OPEN_HEADERS,
        )
    return ConsultationFilter(state=state, q=clean(q))


def _as_of(site: PublicSite, ngay: str | None) -> date | None:
    """The day of ``ngay`` (None without one); a 400 problem for a day that is not one, still
    to come, or before the first recorded event."""
    text = clean(ngay, 40)
    if text is None:
        return None
    day = parse_day(text)
    if day is None:
        raise ApiProblem(
            400,
            "invalid-date",
            "Ngày không hợp lệ",
            "Tham số ngay là một ngày dạng YYYY-MM-DD (lịch Việt Nam).",
            headers=OPEN_HEADERS,
        )
    try:
        site.past.check(day)
    except DayOutOfRange as error:
        raise ApiProblem(
            400, "invalid-date", error.heading, error.message, headers=OPEN_HEADERS
        ) from None
    return day


def _past_rows(site: PublicSite, found: ConsultationFilter, day: date) -> list[Row]:
    """The consultations as they stood at the end of ``day``, rebuilt from the events."""
    try:
        rows = site.past.rows_on(day)
    except DayOutOfRange as error:  # the day ended between the check and now: no
        raise ApiProblem(
            400, "invalid-date", error.heading, error.message, headers=OPEN_HEADERS
        ) from None
    chosen = select_consultations(rows, day, state=found.state, words=search_words(found.q))
    return [public_consultation(row) for row in chosen]


@router.get("/du-lieu-mo/cong-khai.json")
def consultations_json(
    request: Request,
    site: Site,
    q: str | None = None,
    tinh_trang: str | None = None,
    trang: str | None = None,
    so_luong: str | None = None,
    ngay: str | None = None,
) -> Response:
    found = _consultation_filter(q, tinh_trang)
    as_of = _as_of(site, ngay)
    limit = _rows(so_luong)
    if as_of is None:
        try:
            page = site.reads.public_consultations(
                found, today=site.today(), cursor=clean(trang, 400), limit=limit
            )
        except InvalidCursor as error:
            raise _bad_cursor(error) from None
    else:
        offset = offset_of(clean(trang, 400))
        if offset is None:
            raise _bad_cursor(InvalidCursor(str(trang)))
        rows = _past_rows(site, found, as_of)
        end = offset + limit
        page = KeysetPage(rows[offset:end], str(end) if end < len(rows) else None)
    day = as_of or site.today()
    items = [consultation_item(row, day) for row in page.rows]
    kept = as_of.isoformat() if as_of else None
    return _page(
        request, items, page, q=found.q, tinh_trang=tinh_trang, so_luong=so_luong, ngay=kept
    )


CONSULTATION_COLUMNS = [
    Column("Mã hồ sơ", field("id")),
    Column("Người/tập thể được đề nghị", field("nominee_name")),
    Column("Cá nhân/tập thể", lambda r: NOMINEE_KIND_LABELS.get(r["nominee_kind"])),
    Column("Chức vụ, chức danh", field("nominee_position")),
    Column("Đơn vị trình", field("submitting_unit")),
    Column("Hình thức khen thưởng đề nghị", field("award_name")),
    Column("Cấp khen thưởng", lambda r: LEVEL_LABELS.get(r["level"])),
    Column("Tình trạng", lambda r: status_label(r["status"])),
    Column("Ngày công khai", field("opened_on")),
    Column("Hạn góp ý", field("closes_on")),
    Column("Ngày kết thúc lấy ý kiến", field("closed_on")),
    Column("Số ý kiến đã nhận", field("comments_received")),
    Column("Số ý kiến đã công bố", field("comments_published")),
    Column("Số ý kiến không công bố", field("comments_withheld")),
    Column("Ngày thẩm định xong", field("appraised_on")),
    Column("Tóm tắt thành tích", field("achievements")),
]


@router.get("/du-lieu-mo/cong-khai.csv")
def consultations_csv(
    site: Site, q: str | None = None, tinh_trang: str | None = None, ngay: str | None = None
) -> Response:
    found = _consultation_filter(q, tinh_trang)
    day = _as_of(site, ngay)
    if day is not None:
        return _csv(iter(_past_rows(site, found, day)), CONSULTATION_COLUMNS, "cong-khai", day)
    today = site.today()
    rows = site.reads.all_public_consultations(found, today=today)
    return _csv(rows, CONSULTATION_COLUMNS, "cong-khai", today)


# --- the register -------------------------------------------------------------------------------


def award_item(row: Row) -> Row:
    return {**row, "status_label": status_label(row["status"])}


@router.get("/du-lieu-mo/khen-thuong.json")
def awards_json(
    request: Request,
    site: Site,
    q: str | None = None,
    trang: str | None = None,
    so_luong: str | None = None,
) -> Response:
    query = clean(q)
    try:
        page = site.reads.public_awards(query, cursor=clean(trang, 400), limit=_rows(so_luong))
    except InvalidCursor as error:
        raise _bad_cursor(error) from None
    return _page(request, [award_item(r) for r in page.rows], page, q=query, so_luong=so_luong)


AWARD_COLUMNS = [
    Column("Mã hồ sơ", field("id")),
    Column("Tình trạng", lambda r: status_label(r["status"])),
    Column("Người/tập thể được khen thưởng", field("nominee_name")),
    Column("Cá nhân/tập thể", lambda r: NOMINEE_KIND_LABELS.get(r["nominee_kind"])),
    Column("Chức vụ, chức danh", field("nominee_position")),
    Column("Đơn vị trình", field("submitting_unit")),
    Column("Hình thức khen thưởng", field("award_name")),
    Column("Cấp khen thưởng", lambda r: LEVEL_LABELS.get(r["level"])),
    Column("Số quyết định", field("decision_number")),
    Column("Ngày quyết định", field("decision_date")),
    Column("Số quyết định cấp trên", field("central_decision_number")),
    Column("Ngày quyết định cấp trên", field("central_decision_date")),
    Column("Số quyết định hủy bỏ", field("revocation_number")),
    Column("Ngày hủy bỏ", field("revocation_date")),
    Column("Ngày ghi sổ", field("recorded_on")),
]


@router.get("/du-lieu-mo/khen-thuong.csv")
def awards_csv(site: Site, q: str | None = None) -> Response:
    rows = site.reads.all_public_awards(clean(q))
    return _csv(rows, AWARD_COLUMNS, "khen-thuong", site.today())


# --- the movements ------------------------------------------------------------------------------


def movement_item(row: Row, counts: dict[UUID, MovementCounts]) -> Row:
    numbers = counts.get(row["id"], MovementCounts())
    return {
        **row,
        "dossiers": numbers.nominated,
        "dossiers_in_progress": numbers.in_progress,
        "dossiers_awarded": numbers.awarded,
    }


@router.get("/du-lieu-mo/phong-trao.json")
def movements_json(
    request: Request, site: Site, trang: str | None = None, so_luong: str | None = None
) -> Response:
    reads = site.reads
    try:
        page = reads.public_movements(cursor=clean(trang, 400), limit=_rows(so_luong))
    except InvalidCursor as error:
        raise _bad_cursor(error) from None
    counts = reads.movement_counts()
    items = [movement_item(row, counts) for row in page.rows]
    return _page(request, items, page, so_luong=so_luong)


MOVEMENT_COLUMNS = [
    Column("Mã phong trào", field("id")),
    Column("Số kế hoạch", field("plan_number")),
    Column("Tên phong trào", field("title")),
    Column("Cơ quan phát động", field("issuing_body")),
    Column("Ngày ban hành", field("issued_on")),
    Column("Bắt đầu", field("starts_on")),
    Column("Kết thúc", field("ends_on")),
    Column("Đã kết thúc", field("closed")),
    Column("Số hồ sơ đề nghị", field("dossiers")),
    Column("Số hồ sơ đang xét", field("dossiers_in_progress")),
    Column("Số hồ sơ được khen thưởng", field("dossiers_awarded")),
]


@router.get("/du-lieu-mo/phong-trao.csv")
def movements_csv(site: Site) -> Response:
    reads = site.reads
    counts = reads.movement_counts()
    rows = (movement_item(row, counts) for row in reads.all_public_movements())
    return _csv(rows, MOVEMENT_COLUMNS, "phong-trao", site.today())
