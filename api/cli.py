"""The ``khenthuong`` command: load the demo data, read a dossier's history.

Settings come from the environment (``KHENTHUONG_...``, see ``infrastructure.settings``).
Errors are reported in Vietnamese on stderr, never as a traceback, with these exit codes:

    0  done
    1  the command could not be carried out (unknown dossier, a rule refused a step)
    2  wrong usage (unknown command, malformed dossier id)
    3  invalid configuration (settings, rulebook or calendar files)
    4  the event store cannot be reached or prepared
  141  the output pipe was closed early (as in `khenthuong demo | head`)
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from importlib import metadata
from typing import Any, NoReturn, TextIO
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from application.demo import EARLIEST_TODAY, DemoSummary, load_demo
from application.errors import ApplicationError
from application.history import PRIVATE_EVENT_FIELDS, REDACTED, HistoryEntry
from domain.dossier import Status
from domain.errors import DomainError, RulebookError
from domain.shared import VIETNAM_TZ, Actor, Role
from infrastructure.bootstrap import Services, StorageUnavailable, bootstrap
from infrastructure.calendar import CalendarFileError
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, describe_settings_error

__all__ = ["main", "render_history"]

AUDITOR = Actor("cli-auditor", Role.AUDITOR)

OK, FAILED, USAGE, CONFIGURATION, STORAGE = 0, 1, 2, 3, 4
BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a pipeline cut short

COMMENT_KINDS = {
    "support": "Đồng tình",
    "objection": "Phản ánh",
    "information": "Cung cấp thông tin",
}
HOLD_KINDS = {
    "discipline": "Xem xét kỷ luật",
    "inspection": "Thanh tra, kiểm tra",
    "complaint": "Khiếu nại, tố cáo, phản ánh",
}
GROUNDS = {
    "fraud": "gian dối",
    "false_documents": "hồ sơ, tài liệu không trung thực",
    "unlawful_appraisal": "thẩm định trái pháp luật",
    "standards_unmet": "không đạt tiêu chuẩn",
}
SUMMARY_WIDTH = 90


class CliError(Exception):
    """A failure already phrased for people, with its exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# --- rendering a history ----------------------------------------------------------------------


def _day(value: Any) -> str:
    try:
        return f"{date.fromisoformat(str(value)):%d/%m/%Y}"
    except ValueError:
        return str(value)


def _clip(text: str, width: int = SUMMARY_WIDTH) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def _redact(data: Mapping[str, Any]) -> dict[str, Any]:
    """Personal fields are never printed, whoever runs the command."""
    return {
        key: (REDACTED if key in PRIVATE_EVENT_FIELDS and value is not None else value)
        for key, value in data.items()
    }


def _council_result(data: Mapping[str, Any]) -> str:
    result = data.get("result") or {}
    verdict = "Thông qua" if result.get("passed") else "Không thông qua"
    return (
        f"{verdict}: {result.get('votes_for')}/{result.get('members')} phiếu đồng ý "
        f"(cần {result.get('votes_required')}), dự họp {result.get('present')}, "
        f"xung đột lợi ích {result.get('conflicted')}"
    )


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "Submitted": lambda d: (
        f"{d['award']['name']} · {d['nominee']['name']} ({d['nominee']['position']}) · "
        f"{len(d.get('documents') or [])} tài liệu"
    ),
    "ReturnedForSupplement": lambda d: "Cần bổ sung: " + "; ".join(d.get("missing") or []),
    "Supplemented": lambda d: f"{len(d.get('documents') or [])} tài liệu. {d.get('note') or ''}",
    "PublicCommentOpened": lambda d: f"Lấy ý kiến đến hết ngày {_day(d['closes_on'])}",
    "CommentReceived": lambda d: f"{COMMENT_KINDS.get(d['kind'], d['kind'])}: {d['text']}",
    "PublicCommentClosed": lambda d: "Hết thời hạn lấy ý kiến",
    "Held": lambda d: f"{HOLD_KINDS.get(d['kind'], d['kind'])}: {d['reason']}",
    "HoldLifted": lambda d: str(d["outcome"]),
    "Appraised": lambda d: (
        f"{'Đủ' if d['qualified'] else 'Không đủ'} điều kiện"
        + (f"; trả lời {len(d['answers'])} ý kiến" if d.get("answers") else "")
        + f". {d['opinion']}"
    ),
    "CouncilReviewOpened": lambda d: (
        f"{len(d['members'])} thành viên, họp ngày {_day(d['meeting_on'])}"
    ),
    "ConflictOfInterestDeclared": lambda d: str(d["reason"]),
    "BallotCast": lambda d: "Đã bỏ phiếu (phiếu kín)",
    "CouncilReviewConcluded": _council_result,
    "PartyOpinionRecorded": lambda d: (
        f"Văn bản số {d['document_number']} ngày {_day(d['document_date'])}: "
        f"{'đồng ý' if d['favourable'] else 'không đồng ý'}"
    ),
    "Approved": lambda d: f"Quyết định số {d['decision_number']} ngày {_day(d['decision_date'])}",
    "Rejected": lambda d: (
        f"Thông báo số {d['notice_number']} ngày {_day(d['notice_date'])}: {d['reason']}"
    ),
    "ForwardedUpward": lambda d: (
        f"Tờ trình số {d['submission_number']} ngày {_day(d['submission_date'])}"
    ),
    "CentralDecisionRecorded": lambda d: (
        f"{'Khen thưởng' if d['outcome'] == 'conferred' else 'Không khen thưởng'}: quyết định "
        f"số {d['decision_number']} ngày {_day(d['decision_date'])}"
    ),
    "Withdrawn": lambda d: str(d["reason"]),
    "Revoked": lambda d: (
        f"Quyết định số {d['decision_number']} ngày {_day(d['decision_date'])} "
        f"({GROUNDS.get(d['grounds'], d['grounds'])}): {d['explanation']}"
    ),
}


def summarize(entry: HistoryEntry) -> str:
    """One line saying what the event recorded (private fields never appear)."""
    data = _redact(entry.data)
    summary = _SUMMARIES.get(entry.event)
    if summary is not None:
        try:
            return _clip(summary(data))
        except (KeyError, TypeError):
            pass
    shown = [f"{key}={value}" for key, value in data.items() if not isinstance(value, dict | list)]
    return _clip(", ".join(shown) or "—")


def render_history(entries: Sequence[HistoryEntry]) -> list[str]:
    """An aligned table: version, local time (Vietnam), label, who, what."""
    header = ("Phiên bản", "Thời điểm (giờ VN)", "Sự kiện", "Người thực hiện", "Nội dung")
    rows = [
        (
            str(entry.version),
            f"{entry.at.astimezone(VIETNAM_TZ):%d/%m/%Y %H:%M}",
            entry.label,
            f"{entry.actor_role_label} · {entry.actor.user_id}",
            summarize(entry),
        )
        for entry in entries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].rjust(widths[0])
        middle = [cell.ljust(width) for cell, width in zip(cells[1:-1], widths[1:], strict=True)]
        return "  ".join([first, *middle, cells[-1]]).rstrip()

    rule = "  ".join("-" * width for width in [*widths, len(header[-1])])
    return [line(header), rule, *(line(row) for row in rows)]


# --- commands -------------------------------------------------------------------------------


def _parse_id(text: str) -> UUID:
    try:
        return UUID(text.strip())
    except ValueError:
        raise CliError(
            f"Mã hồ sơ «{text[:60]}» không đúng định dạng UUID "
            "(ví dụ 3f2b8c1e-6a4d-5b7e-9c0f-1a2b3c4d5e6f).",
            USAGE,
        ) from None


def print_history(services: Services, dossier_id: UUID, out: TextIO) -> None:
    dossier = services.dossiers.get(dossier_id, viewer=AUDITOR)
    entries = services.dossiers.history(dossier_id, viewer=AUDITOR)
    status = Status(dossier.status)
    print(f"Hồ sơ {dossier_id}", file=out)
    for label, value in (
        ("Đối tượng", f"{dossier.nominee.name} ({dossier.nominee.position})"),
        ("Hình thức", dossier.award.name),
        ("Đơn vị trình", dossier.submitting_unit),
        ("Trạng thái", f"{status.label} ({status.value})"),
    ):
        print(f"  {label + ':':<14}{value}", file=out)
    print("", file=out)
    for text in render_history(entries):
        print(text, file=out)


def _status_table(summary: DemoSummary) -> list[str]:
    rows = [
        (status.label, status.value, str(summary.by_status.get(status, 0)))
        for status in Status
        if summary.by_status.get(status, 0)
    ]
    total = ("Tổng cộng", "", str(sum(summary.by_status.values())))
    header = ("Trạng thái", "Mã", "Số hồ sơ")
    widths = [max(len(row[i]) for row in [header, *rows, total]) for i in range(3)]

    def line(row: Sequence[str]) -> str:
        return f"{row[0].ljust(widths[0])}  {row[1].ljust(widths[1])}  {row[2].rjust(widths[2])}"

    rule = "  ".join("-" * width for width in widths)
    return [line(header), rule, *(line(row) for row in rows), rule, line(total)]


def run_demo(services: Services, *, today: date, show_history: bool, out: TextIO) -> None:
    print(f"Kho sự kiện: {services.settings.store_description()}", file=out)
    summary = load_demo(
        services.movements, services.dossiers, today=today, log=lambda text: print(text, file=out)
    )
    print("", file=out)
    for text in _status_table(summary):
        print(text, file=out)
    print("", file=out)
    print("Một số hồ sơ tiêu biểu (xem bằng: khenthuong history <mã>):", file=out)
    for key in ("revoked", "conferred", "public_comment", "council_voting", "held"):
        if key in summary.interesting:
            print(f"  {Status(key).label:<40} {summary.interesting[key]}", file=out)
    if show_history:
        print("", file=out)
        print_history(services, summary.revoked, out)


# --- the parser -------------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("khenthuong")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _today(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"«{text}» không phải ngày dạng YYYY-MM-DD") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"Lỗi: {message} (xem: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="khenthuong",
        description="Quản lý hồ sơ đề nghị khen thưởng: nạp dữ liệu mẫu, xem lịch sử hồ sơ.",
        epilog="Cấu hình qua biến môi trường KHENTHUONG_* (ví dụ KHENTHUONG_DATA_DIR, "
        "KHENTHUONG_STORE, KHENTHUONG_POSTGRES_URL).",
    )
    parser.add_argument(
        "--version", action="version", version=f"khenthuong {_version()}", help="in số phiên bản"
    )
    commands = parser.add_subparsers(dest="command", metavar="LỆNH", required=True)
    demo = commands.add_parser(
        "demo",
        help="nạp bộ dữ liệu mẫu (phong trào thi đua, hồ sơ ở mọi trạng thái); chạy lại không tạo trùng",
        description="Nạp bộ dữ liệu mẫu vào kho sự kiện đã cấu hình rồi in bảng số hồ sơ theo trạng thái.",
    )
    demo.add_argument(
        "--show-history",
        action="store_true",
        help="in thêm lịch sử của hồ sơ đã bị hủy bỏ quyết định khen thưởng",
    )
    demo.add_argument(
        "--today",
        type=_today,
        default=None,
        metavar="YYYY-MM-DD",
        help=f"ngày tham chiếu của dữ liệu (mặc định: hôm nay theo giờ Việt Nam; từ {EARLIEST_TODAY:%d/%m/%Y})",
    )
    history = commands.add_parser(
        "history",
        help="in lịch sử một hồ sơ (không hiển thị thông tin cá nhân)",
        description="In toàn bộ lịch sử của một hồ sơ dưới quyền thanh tra, kiểm toán.",
    )
    history.add_argument("dossier_id", metavar="MÃ_HỒ_SƠ", help="mã hồ sơ (UUID)")
    return parser


# --- running, with every failure turned into a message -----------------------------------------


@contextmanager
def _services(settings: Settings) -> Iterator[Services]:
    try:
        services = bootstrap(settings)
    except (RulebookError, CalendarFileError) as error:
        raise CliError(f"Cấu hình không hợp lệ: {error}", CONFIGURATION) from None
    except StorageUnavailable as error:
        raise CliError(str(error), STORAGE) from None
    except PersistenceError as error:
        raise CliError(_storage_message(settings, error), STORAGE) from None
    try:
        yield services
    finally:
        services.close()


def _storage_message(settings: Settings, error: BaseException) -> str:
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return (
        f"Không truy cập được kho sự kiện ({settings.store_description()}): {detail}. "
        "Kiểm tra máy chủ cơ sở dữ liệu và cấu hình KHENTHUONG_*."
    )


def _execute(args: argparse.Namespace, settings: Settings, out: TextIO) -> None:
    with _services(settings) as services:
        try:
            if args.command == "demo":
                today = args.today or datetime.now(VIETNAM_TZ).date()
                run_demo(services, today=today, show_history=args.show_history, out=out)
            else:
                print_history(services, _parse_id(args.dossier_id), out)
        except (DomainError, ApplicationError) as error:
            raise CliError(error.message, FAILED) from None
        except PersistenceError as error:
            raise CliError(_storage_message(settings, error), STORAGE) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (never raises for an expected failure)."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else USAGE)
    if args.command == "history":
        try:
            _parse_id(args.dossier_id)
        except CliError as error:
            print(f"Lỗi: {error.message}", file=err)
            return error.code
    try:
        settings = Settings()
    except ValidationError as error:
        print("Lỗi: cấu hình không hợp lệ:", file=err)
        for problem in describe_settings_error(error):
            print(f"  - {problem}", file=err)
        return CONFIGURATION
    configure_logging(settings)
    try:
        _execute(args, settings, out)
    except CliError as error:
        print(f"Lỗi: {error.message}", file=err)
        return error.code
    except ValueError as error:  # e.g. a reference date before the demo's earliest
        print(f"Lỗi: {error}", file=err)
        return FAILED
    except KeyboardInterrupt:
        print("Đã dừng theo yêu cầu.", file=err)
        return 130
    except BrokenPipeError:  # the reader went away (khenthuong demo | head)
        _silence_stdout()
        return BROKEN_PIPE
    return OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


if __name__ == "__main__":
    sys.exit(main())
