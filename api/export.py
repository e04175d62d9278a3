"""Exports of the lists as CSV and XLSX, streamed: never the whole list in memory.

- **CSV** is UTF-8 with a byte order mark (so Excel shows Vietnamese), comma-separated, CRLF,
  written row by row from the view tables' streamed rows. A text cell that a spreadsheet
  would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return) is prefixed with ``'``.
- **XLSX** is written by xlsxwriter in ``constant_memory`` mode (each row is flushed to disk
  as it is written) into a temporary file, which is then streamed and removed. Cells are
  written with their type (text is always text, never a formula); dates as dates.

Headers are Vietnamese; timestamps are shown in Vietnam's time (UTC+7).
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter
from starlette.responses import StreamingResponse

from domain.calendar import WorkCalendar
from domain.dossier import Deadline, Status
from domain.rulebook import Level, Subject
from domain.shared import VIETNAM_TZ
from infrastructure.views.reads import deadline_for

__all__ = [
    "CSV_MEDIA_TYPE",
    "XLSX_MEDIA_TYPE",
    "Column",
    "award_columns",
    "csv_response",
    "dossier_columns",
    "export_responses",
    "primed",
    "xlsx_response",
]

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576
"""Excel's limit, header row included."""
CHUNK_BYTES = 64 * 1024

Row = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One exported column: its Vietnamese header, how to get the value from a row, and its
    width in the spreadsheet."""

    header: str
    value: Callable[[Row], Any]
    width: float = 16


def field(name: str) -> Callable[[Row], Any]:
    return lambda row: row.get(name)


def primed(rows: Iterator[Row]) -> Iterator[Row]:
    """Run the query now (so a store that cannot answer is a problem answer, not a broken
    download), and give back every row, the first included."""
    try:
        first = next(rows)
    except StopIteration:
        return iter(())
    return itertools.chain([first], rows)


# --- CSV --------------------------------------------------------------------------------------


def safe_text(text: str) -> str:
    """Text a spreadsheet will not run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, datetime):
        return value.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    return safe_text(str(value))


def csv_chunks(rows: Iterable[Row], columns: Sequence[Column]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([column.header for column in columns])
    for row in rows:
        writer.writerow([csv_cell(column.value(row)) for column in columns])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _disposition(filename: str) -> str:
    return f'attachment; filename="{filename}"'


def csv_response(
    rows: Iterator[Row], columns: Sequence[Column], filename: str
) -> StreamingResponse:
    return StreamingResponse(
        csv_chunks(primed(rows), columns),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": _disposition(filename)},
    )


# --- XLSX -------------------------------------------------------------------------------------


def write_xlsx(
    rows: Iterable[Row], columns: Sequence[Column], sheet: str, target: IO[bytes]
) -> bool:
    """Write the rows to ``target``; True if they did not all fit in one sheet."""
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "tmpdir": tempfile.gettempdir(),
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    truncated = False
    try:
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        day = workbook.add_format({"num_format": "dd/mm/yyyy"})
        moment = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        for index, column in enumerate(columns):
            worksheet.set_column(index, index, column.width)
            worksheet.write_string(0, index, column.header, bold)
        worksheet.freeze_panes(1, 0)
        number = 0
        for number, row in enumerate(rows, start=1):
            if number >= XLSX_MAX_ROWS:
                truncated = True
                break
            for index, column in enumerate(columns):
                value = column.value(row)
                if value is None:
                    continue
                if isinstance(value, bool):
                    worksheet.write_string(number, index, "Có" if value else "Không")
                elif isinstance(value, datetime):
                    local = value.astimezone(VIETNAM_TZ).replace(tzinfo=None)
                    worksheet.write_datetime(number, index, local, moment)
                elif isinstance(value, date):
                    worksheet.write_datetime(number, index, value, day)
                elif isinstance(value, int | float):
                    worksheet.write_number(number, index, value)
                else:
                    worksheet.write_string(number, index, str(value))
        if number:
            worksheet.autofilter(0, 0, min(number, XLSX_MAX_ROWS - 1), len(columns) - 1)
    finally:
        workbook.close()
    return truncated


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    try:
        handle.seek(0)
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk
    finally:
        handle.close()


def xlsx_response(
    rows: Iterator[Row], columns: Sequence[Column], filename: str, sheet: str
) -> StreamingResponse:
    """Write the workbook to a temporary file (removed once sent), then stream it."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _file_chunks once streamed)
    try:
        truncated = write_xlsx(primed(rows), columns, sheet, handle)
        size = handle.tell()
    except BaseException:
        handle.close()
        raise
    headers = {"Content-Disposition": _disposition(filename), "Content-Length": str(size)}
    if truncated:
        headers["X-Export-Truncated"] = "true"
    return StreamingResponse(_file_chunks(handle), media_type=XLSX_MEDIA_TYPE, headers=headers)


def export_responses(kind: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer of an export endpoint for the OpenAPI document."""
    media = "text/csv" if kind == "csv" else XLSX_MEDIA_TYPE
    schema: dict[str, Any] = {"type": "string"}
    if kind == "xlsx":
        schema["format"] = "binary"
    described = "CSV (UTF-8 có BOM)" if kind == "csv" else "Bảng tính Excel (.xlsx)"
    return {200: {"description": f"{described}, tải về", "content": {media: {"schema": schema}}}}


# --- what each list exports -------------------------------------------------------------------

LEVEL_LABELS = {Level.PROVINCIAL.value: "Cấp tỉnh", Level.STATE.value: "Cấp Nhà nước"}
KIND_LABELS = {Subject.INDIVIDUAL.value: "Cá nhân", Subject.COLLECTIVE.value: "Tập thể"}


def _status_label(row: Row) -> str:
    try:
        return Status(row["status"]).label
    except ValueError:
        return str(row["status"])


def _nominee_columns(plans: dict[Any, str]) -> list[Column]:
    return [
        Column("Người/tập thể được đề nghị", field("nominee_name"), 28),
        Column("Cá nhân/tập thể", lambda r: KIND_LABELS.get(r["nominee_kind"], r["nominee_kind"])),
        Column("Chức vụ, nơi công tác", field("nominee_position"), 30),
        Column("Đơn vị trình", field("submitting_unit"), 30),
        Column("Hình thức khen thưởng", field("award_name"), 34),
        Column("Cấp khen thưởng", lambda r: LEVEL_LABELS.get(r["level"], r["level"]), 14),
        Column("Phong trào thi đua", lambda r: plans.get(r["movement_id"]), 18),
    ]


def dossier_columns(calendar: WorkCalendar, today: date, plans: dict[Any, str]) -> list[Column]:
    """The dossier listing's export: what a row shows, the deadline as of ``today``."""

    def deadline(row: Row) -> Deadline:
        found = row.get("_deadline")
        if found is None:
            found = row["_deadline"] = deadline_for(row, calendar, today)
        return found

    return [
        Column("Mã hồ sơ", field("id"), 38),
        Column("Trạng thái", _status_label, 30),
        *_nominee_columns(plans),
        Column("Ngày trình", field("submitted_at"), 18),
        Column("Cập nhật lần cuối", field("modified_at"), 18),
        Column("Hạn thẩm định", lambda r: deadline(r).due_on, 14),
        Column("Số ngày làm việc còn lại", lambda r: deadline(r).working_days_left, 12),
        Column("Tạm dừng tính hạn", lambda r: deadline(r).paused, 10),
        Column("Quá hạn", lambda r: deadline(r).overdue, 10),
        Column("Phiên bản", field("version"), 10),
    ]


def award_columns(plans: dict[Any, str]) -> list[Column]:
    """The register's export."""
    return [
        Column("Mã hồ sơ", field("id"), 38),
        Column("Tình trạng", _status_label, 30),
        *_nominee_columns(plans),
        Column("Số quyết định", field("decision_number"), 16),
        Column("Ngày quyết định", field("decision_date"), 14),
        Column("Số tờ trình cấp trên", field("submission_number"), 16),
        Column("Ngày tờ trình", field("submission_date"), 14),
        Column("Số quyết định cấp trên", field("central_decision_number"), 16),
        Column("Ngày quyết định cấp trên", field("central_decision_date"), 14),
        Column("Số quyết định hủy bỏ", field("revocation_number"), 16),
        Column("Ngày hủy bỏ", field("revocation_date"), 14),
        Column("Ngày ghi sổ", field("recorded_on"), 14),
    ]
