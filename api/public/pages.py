"""The public pages: home, the nominations under public comment, one nomination, the register
of awards, the movements.

Every page reads the view tables (``PublicReads``), never the event store, but one: the list of
consultations as it stood at the end of a past day (``/cong-khai?ngay=YYYY-MM-DD``), rebuilt
from the events (``application.history_views``). Lists are paged by an opaque cursor in
``trang``; a search (``q``) matches words without diacritics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import HTMLResponse, Response

from api.public.site import PublicSite, parse_dossier_id, site_of
from application.history_views import DayOutOfRange, select_consultations
from domain.dossier import Status
from domain.shared import fold
from infrastructure.views.public_reads import (
    CONSULTATION_STATES,
    ConsultationFilter,
    ConsultationState,
    Milestones,
    public_consultation,
)
from infrastructure.views.reads import InvalidCursor, search_words

__all__ = [
    "Form",
    "comment_form_context",
    "is_open",
    "offset_of",
    "parse_day",
    "router",
    "timeline",
]

router = APIRouter(include_in_schema=False)
Site = Annotated[PublicSite, Depends(site_of)]
MAX_QUERY = 200
HOME_ROWS = 5
MAX_OFFSET = 1_000_000
ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
LOCAL_DAY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")

STATE_PARAMS: dict[str, ConsultationState] = {
    "dang_mo": "open",
    "da_ket_thuc": "ended",
    "tat_ca": "all",
}
STATE_LABELS = {
    "dang_mo": "Đang lấy ý kiến",
    "da_ket_thuc": "Đã kết thúc",
    "tat_ca": "Tất cả",
}
assert set(STATE_PARAMS.values()) == set(CONSULTATION_STATES)

APPRAISED = frozenset(
    {
        Status.NOT_QUALIFIED,
        Status.AWAITING_COUNCIL,
        Status.COUNCIL_VOTING,
        Status.NOT_RECOMMENDED,
        Status.AWAITING_DECISION,
        Status.APPROVED,
        Status.REJECTED,
        Status.FORWARDED,
        Status.CONFERRED,
        Status.DECLINED,
        Status.REVOKED,
    }
)
COUNCIL_DONE = APPRAISED - {Status.NOT_QUALIFIED, Status.AWAITING_COUNCIL, Status.COUNCIL_VOTING}
DECIDED = frozenset(
    {
        Status.APPROVED,
        Status.REJECTED,
        Status.FORWARDED,
        Status.CONFERRED,
        Status.DECLINED,
        Status.REVOKED,
    }
)


def clean(text: str | None, limit: int = MAX_QUERY) -> str | None:
    """A query value trimmed to its words (and to ``limit`` characters); None if empty."""
    if text is None:
        return None
    words = " ".join(text.split())[:limit]
    return words or None


def link(path: str, **params: str | None) -> str:
    """``path`` with the non-empty parameters as its query string."""
    kept = {name: value for name, value in params.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


def bad_page_link(site: PublicSite, request: Request, first_page: str) -> HTMLResponse:
    return site.render(
        request,
        "error.html",
        {
            "title": "Liên kết trang không hợp lệ",
            "message": "Liên kết tới trang tiếp theo không đúng hoặc đã cũ. Hãy quay lại trang "
            "đầu của danh sách.",
            "status_code": 400,
            "back": first_page,
        },
        status_code=400,
    )


def parse_day(text: str) -> date | None:
    """A day written ``YYYY-MM-DD`` (as a date field sends it) or ``dd/mm/yyyy``; None if not."""
    try:
        if found := ISO_DAY.fullmatch(text):
            year, month, day = found.groups()
        elif found := LOCAL_DAY.fullmatch(text):
            day, month, year = found.groups()
        else:
            return None
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def offset_of(cursor: str | None) -> int | None:
    """The rows to skip for the cursor of a list rebuilt in memory (0 without one); None for
    a cursor this service did not make."""
    if cursor is None:
        return 0
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > MAX_OFFSET:
        return None
    return int(cursor)


def bad_day(site: PublicSite, request: Request, title: str, message: str) -> HTMLResponse:
    return site.render(
        request,
        "error.html",
        {
            "title": title,
            "message": message,
            "status_code": 400,
            "back": "/cong-khai",
            "back_label": "Xem danh sách hồ sơ lấy ý kiến hiện nay",
        },
        status_code=400,
    )


def not_a_day(site: PublicSite, request: Request, text: str) -> HTMLResponse:
    today = site.today()
    return bad_day(
        site,
        request,
        "Ngày không hợp lệ",
        f"«{text}» không phải là một ngày. Hãy ghi ngày theo dạng năm-tháng-ngày, ví dụ "
        f"ngay={today.isoformat()}, hoặc ngày/tháng/năm như {today.strftime('%d/%m/%Y')}.",
    )


def not_found(site: PublicSite, request: Request) -> HTMLResponse:
    return site.error_page(
        request,
        404,
        "Không tìm thấy trang",
        "Không có hồ sơ công khai nào ứng với địa chỉ này. Hồ sơ có thể chưa được công khai "
        "lấy ý kiến Nhân dân.",
    )


def is_open(row: dict[str, Any], today: date) -> bool:
    """The window takes comments: published, not closed, and today is not past its last day."""
    return (
        row["status"] == Status.PUBLIC_COMMENT.value
        and row["closed_on"] is None
        and today <= row["closes_on"]
    )


def _with_days_left(site: PublicSite, rows: list[dict[str, Any]], today: date) -> None:
    for row in rows:
        row["open"] = is_open(row, today)
        row["days_left"] = site.working_days_left(row["closes_on"], today) if row["open"] else 0


# --- home -------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, site: Site) -> Response:
    today = site.today()
    reads = site.reads
    consultations = reads.public_consultations(
        ConsultationFilter(state="open"), today=today, cursor=None, limit=HOME_ROWS, count=True
    )
    _with_days_left(site, consultations.rows, today)
    awards = reads.public_awards(None, cursor=None, limit=HOME_ROWS)
    movements = reads.current_movements(today, HOME_ROWS)
    return site.render(
        request,
        "home.html",
        {
            "today": today,
            "consultations": consultations.rows,
            "open_total": consultations.total or 0,
            "awards": awards.rows,
            "movements": movements,
        },
    )


# --- the nominations under public comment -------------------------------------------------------


@router.get("/cong-khai", response_class=HTMLResponse)
def consultations(
    request: Request,
    site: Site,
    q: str | None = None,
    don_vi: str | None = None,
    hinh_thuc: str | None = None,
    tinh_trang: str | None = None,
    trang: str | None = None,
    ngay: str | None = None,
) -> Response:
    today = site.today()
    units, awards = site.choices()
    query = clean(q)
    unit = clean(don_vi, 300)
    award = clean(hinh_thuc, 60)
    state_param = tinh_trang if tinh_trang in STATE_PARAMS else "dang_mo"
    matching_units: tuple[str, ...] = ()
    if unit is not None:
        folded = fold(unit)
        matching_units = tuple(u for u in units if fold(u) == folded) or (unit,)
    found = ConsultationFilter(
        state=STATE_PARAMS[state_param], q=query, units=matching_units, award_code=award
    )
    day_text = clean(ngay, 40)
    as_of = parse_day(day_text) if day_text is not None else None
    if day_text is not None and as_of is None:
        return not_a_day(site, request, day_text)
    params = {"q": query, "don_vi": unit, "hinh_thuc": award}
    if state_param != "dang_mo":
        params["tinh_trang"] = state_param
    if as_of is not None:
        params["ngay"] = as_of.isoformat()
    first_page = link("/cong-khai", **params)
    if as_of is None:
        try:
            page = site.reads.public_consultations(
                found, today=today, cursor=clean(trang, 400), limit=site.page_size, count=True
            )
        except InvalidCursor:
            return bad_page_link(site, request, first_page)
        rows, total, next_cursor = page.rows, page.total or 0, page.next_cursor
    else:
        try:
            past = site.past.rows_on(as_of)
        except DayOutOfRange as error:
            return bad_day(site, request, error.heading, error.message)
        offset = offset_of(clean(trang, 400))
        if offset is None:
            return bad_page_link(site, request, first_page)
        chosen = select_consultations(
            past,
            as_of,
            state=found.state,
            words=search_words(query),
            units=matching_units,
            award_code=award,
        )
        end = offset + site.page_size
        rows = [public_consultation(row) for row in chosen[offset:end]]
        total, next_cursor = len(chosen), str(end) if end < len(chosen) else None
    _with_days_left(site, rows, as_of or today)
    chosen_unit = matching_units[0] if matching_units else unit
    return site.render(
        request,
        "consultations.html",
        {
            "today": today,
            "as_of": as_of,
            "first_day": site.past.first_day(),
            "rows": rows,
            "total": total,
            "q": query or "",
            "unit": chosen_unit or "",
            "award": award or "",
            "state": state_param,
            "states": STATE_LABELS,
            "units": units,
            "awards": awards,
            "first_page": first_page,
            "paged": bool(trang),
            "next_page": link("/cong-khai", **params, trang=next_cursor) if next_cursor else None,
        },
    )


# --- one nomination ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """What a person typed into the comment form (kept when it is refused)."""

    noi_dung: str = ""
    ho_ten: str = ""
    lien_he: str = ""
    loai: str = "thong_tin"


@dataclass(frozen=True)
class Milestone:
    title: str
    reached: bool
    day: date | None = None
    note: str = ""


def timeline(row: dict[str, Any], known: Milestones, today: date) -> list[Milestone]:
    """The public milestones: submitted, published for comment, comment closed, appraised,
    council reviewed, decided (dates where the views hold them)."""
    status = Status(known.status or row["status"])
    closes_on: date = row["closes_on"]
    ended = (
        row["closed_on"] is not None
        or today > closes_on
        or status not in (Status.PUBLIC_COMMENT, Status.HELD)
    )
    steps = [
        Milestone("Tiếp nhận hồ sơ đề nghị", known.submitted_on is not None, known.submitted_on),
        Milestone(
            "Công khai lấy ý kiến Nhân dân",
            True,
            row["opened_on"],
            f"Nhận ý kiến đến hết ngày {closes_on.strftime('%d/%m/%Y')}.",
        ),
        Milestone(
            "Kết thúc lấy ý kiến Nhân dân",
            ended,
            row["closed_on"] or (closes_on if ended else None),
            "" if ended else f"Dự kiến sau ngày {closes_on.strftime('%d/%m/%Y')}.",
        ),
        Milestone(
            "Thẩm định hồ sơ",
            status in APPRAISED,
            row.get("appraised_on"),
            "Kết quả: không đủ điều kiện." if status is Status.NOT_QUALIFIED else "",
        ),
        Milestone(
            "Hội đồng Thi đua - Khen thưởng tỉnh xét",
            status in COUNCIL_DONE,
            known.council_meeting_on,
            "Hội đồng đang biểu quyết."
            if status is Status.COUNCIL_VOTING
            else "Hội đồng không thông qua."
            if status is Status.NOT_RECOMMENDED
            else "",
        ),
        _decision(status, known),
    ]
    if status is Status.WITHDRAWN:
        steps.append(Milestone("Đơn vị đã rút hồ sơ", True))
    if status is Status.HELD:
        steps.append(Milestone("Tạm dừng xét khen thưởng để xác minh", True))
    return steps


def _decision(status: Status, known: Milestones) -> Milestone:
    title = "Quyết định khen thưởng"
    if status is Status.APPROVED or (status is Status.REVOKED and known.decision_number):
        note = f"Quyết định số {known.decision_number}"
        return Milestone(title, True, known.decision_date, note)
    if status is Status.CONFERRED or (status is Status.REVOKED and known.central_decision_number):
        note = f"Cấp trên quyết định khen thưởng, quyết định số {known.central_decision_number}"
        return Milestone(title, True, known.central_decision_date, note)
    if status is Status.FORWARDED:
        return Milestone(title, True, None, "Chủ tịch UBND tỉnh đã trình cấp trên xem xét.")
    if status is Status.REJECTED:
        return Milestone(title, True, None, "Chủ tịch UBND tỉnh quyết định không khen thưởng.")
    if status is Status.DECLINED:
        return Milestone(title, True, None, "Cấp trên không khen thưởng.")
    return Milestone(title, False)


def _revocation(status: Status, known: Milestones) -> Milestone | None:
    if status is not Status.REVOKED:
        return None
    note = f"Quyết định hủy bỏ số {known.revocation_number}" if known.revocation_number else ""
    return Milestone("Hủy bỏ quyết định khen thưởng", True, known.revocation_date, note)


def comment_form_context(
    site: PublicSite,
    dossier_id: UUID,
    cookie: str | None,
    *,
    form: Form | None = None,
    error: str | None = None,
    error_field: str | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The form's values and a CSRF token for ``cookie`` (a new cookie if it has none usable);
    the cookie to set, if new."""
    usable = site.csrf.usable_cookie(cookie)
    new_cookie = None if usable else site.csrf.new_cookie()
    token = site.csrf.token(usable or new_cookie or "", site.now())
    return (
        {
            "form": form or Form(),
            "csrf_token": token,
            "error": error,
            "error_field": error_field,
            "action": f"/cong-khai/{dossier_id}/y-kien",
        },
        new_cookie,
    )


def nomination_context(site: PublicSite, row: dict[str, Any]) -> dict[str, Any]:
    """Everything the nomination's page shows but the form."""
    today = site.today()
    reads = site.reads
    dossier_id: UUID = row["id"]
    known = reads.milestones(dossier_id)
    steps = timeline(row, known, today)
    revoked = _revocation(Status(known.status or row["status"]), known)
    if revoked is not None:
        steps.append(revoked)
    window_open = is_open(row, today)
    return {
        "today": today,
        "row": row,
        "open": window_open,
        "days_left": site.working_days_left(row["closes_on"], today) if window_open else 0,
        "steps": steps,
        "comments": reads.published_comments(dossier_id),
        "error": None,
        "error_field": None,
    }


@router.get("/cong-khai/{dossier_id}", response_class=HTMLResponse)
def nomination(request: Request, site: Site, dossier_id: str) -> Response:
    found = parse_dossier_id(dossier_id)
    row = site.reads.public_consultation(found) if found is not None else None
    if found is None or row is None:
        return not_found(site, request)
    context = nomination_context(site, row)
    cookie = None
    if context["open"]:
        form, cookie = comment_form_context(site, found, request.cookies.get("kt_csrf"))
        context.update(form)
    return site.render(request, "nomination.html", context, cookie=cookie, private=True)


# --- the register of awards -------------------------------------------------------------------


@router.get("/khen-thuong", response_class=HTMLResponse)
def register(
    request: Request, site: Site, q: str | None = None, trang: str | None = None
) -> Response:
    query = clean(q)
    first_page = link("/khen-thuong", q=query)
    try:
        page = site.reads.public_awards(query, cursor=clean(trang, 400), limit=site.page_size)
    except InvalidCursor:
        return bad_page_link(site, request, first_page)
    return site.render(
        request,
        "awards.html",
        {
            "rows": page.rows,
            "q": query or "",
            "first_page": first_page,
            "paged": bool(trang),
            "next_page": link("/khen-thuong", q=query, trang=page.next_cursor)
            if page.next_cursor
            else None,
        },
    )


# --- the movements ----------------------------------------------------------------------------


@router.get("/phong-trao", response_class=HTMLResponse)
def movements(
    request: Request,
    site: Site,
    trang: Annotated[str | None, Query()] = None,
) -> Response:
    reads = site.reads
    try:
        page = reads.public_movements(cursor=clean(trang, 400), limit=site.page_size)
    except InvalidCursor:
        return bad_page_link(site, request, "/phong-trao")
    counts = reads.movement_counts()
    today = site.today()
    return site.render(
        request,
        "movements.html",
        {
            "today": today,
            "rows": page.rows,
            "counts": counts,
            "first_page": "/phong-trao",
            "paged": bool(trang),
            "next_page": link("/phong-trao", trang=page.next_cursor) if page.next_cursor else None,
        },
    )
