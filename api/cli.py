"""The ``khenthuong`` command: run the web server, manage accounts, load the demo data, read a
dossier's history, run and check the view tables (``projections``).

Settings come from the environment (``KHENTHUONG_...``, see ``infrastructure.settings``).
Errors are reported in Vietnamese on stderr, never as a traceback, with these exit codes:

    0  done
    1  the command could not be carried out (unknown dossier or account, a rule refused a
       step, the port is taken, the web server could not start, ``projections verify``
       found differences)
    2  wrong usage (unknown command, malformed dossier id or account name, bad --port,
       unknown view name)
    3  invalid configuration (settings, rulebook or calendar files)
    4  the event store cannot be reached or prepared
  141  the output pipe was closed early (as in `khenthuong demo | head`)
"""

from __future__ import annotations

import argparse
import errno
import importlib
import io
import itertools
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TextIO
from uuid import UUID

import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError

from application.accounts import SYSTEM, AccountView, IssuedToken
from application.audit.compliance import RULES, ComplianceReplay, Finding, ReplaySummary
from application.audit.verifier import (
    EXPORT_FORMAT,
    Checkpoint,
    CheckpointFormatError,
    PublicKeyError,
    StoredEvent,
    VerifyReport,
    b64,
    event_line,
    key_id,
    load_public_key,
    verify_export,
    verify_log,
)
from application.demo import (
    DEMO_ACCOUNTS,
    EARLIEST_TODAY,
    DemoSummary,
    ensure_demo_accounts,
    load_demo,
)
from application.errors import ApplicationError, NotFound
from application.history import HistoryEntry, redact_private
from application.projections.views import VIEW_NAMES, View
from domain.accounts import ACCOUNT_NAME, STAFF_ROLES, DuplicateAccount
from domain.dossier import Status
from domain.errors import DomainError, RulebookError
from domain.shared import ROLE_LABELS, VIETNAM_TZ, Actor, Role
from infrastructure.audit.checkpoints import AuditKeyError, InconsistentLog, read_public_key
from infrastructure.audit.stored import StoredHistory
from infrastructure.bootstrap import Services, StorageUnavailable, bootstrap
from infrastructure.calendar import CalendarFileError
from infrastructure.logging import configure_logging
from infrastructure.settings import Settings, describe_settings_error
from infrastructure.views.rebuild import (
    REBUILD_BATCH_SIZE,
    REBUILD_CACHE_SIZE,
    Difference,
    RebuildError,
    rebuild,
    verify,
)

__all__ = ["main", "render_history"]

AUDITOR = Actor("cli-auditor", Role.AUDITOR)
projections_log = structlog.get_logger("khenthuong.projections")

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
    data = redact_private(entry.data)  # never printed, whoever runs the command
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


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, right: frozenset[int] = frozenset()
) -> list[str]:
    """An aligned table with a rule under the header; columns in ``right`` are right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), "  ".join("-" * width for width in widths), *map(line, rows)]


_ROLE_ORDER = list(Role)


def _role_name(role: Role) -> str:
    return f"{role.value}: {ROLE_LABELS[role]}"


ONCE_WARNING = (
    "Mã truy cập chỉ hiển thị MỘT LẦN (hệ thống chỉ lưu giá trị băm): hãy lưu lại ngay. "
    "Gửi kèm mỗi yêu cầu trong tiêu đề «Authorization: Bearer <mã>»."
)


def print_demo_tokens(tokens: Sequence[IssuedToken], out: TextIO) -> None:
    """The demo accounts' fresh tokens: role → account → token."""
    by_account = {token.account: token.token for token in tokens}
    rows = [
        (
            _role_name(account.role),
            account.name,
            by_account.get(account.name, "— (tài khoản đã bị khóa, không cấp mã)"),
        )
        for account in DEMO_ACCOUNTS
    ]
    print("Tài khoản dùng thử (mã cũ của các tài khoản này vừa bị thu hồi):", file=out)
    for text in _table(("Vai trò", "Tài khoản", "Mã truy cập"), rows):
        print(f"  {text}", file=out)
    print(ONCE_WARNING, file=out)
    print(
        "Cấp thêm mã bất cứ lúc nào: khenthuong users token <tài khoản>. "
        "Chạy lại lệnh này để cấp mã mới cho cả bộ.",
        file=out,
    )


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
    tokens = ensure_demo_accounts(services.accounts)
    print("", file=out)
    print_demo_tokens(tokens, out)


# --- accounts -----------------------------------------------------------------------------------


def _check_account_name(name: str) -> str:
    if not ACCOUNT_NAME.match(name):
        raise CliError(
            f"Tên tài khoản «{name[:70]}» không hợp lệ: cần 2–64 ký tự gồm chữ thường không dấu, "
            "chữ số, dấu chấm, gạch ngang, gạch dưới, bắt đầu bằng chữ hoặc số "
            "(ví dụ snv.thamdinh01).",
            USAGE,
        )
    return name


def _existing_account(services: Services, name: str) -> AccountView:
    try:
        return services.accounts.get_account(name)
    except NotFound:
        raise CliError(
            f"Không có tài khoản «{name}» (xem danh sách: khenthuong users list).", FAILED
        ) from None


def _print_token(token: IssuedToken, out: TextIO, err: TextIO) -> None:
    """The token alone on stdout (so that ``TOKEN=$(khenthuong users token x)`` works)."""
    print(ONCE_WARNING, file=err)
    print(token.token, file=out)


def users_add(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> None:
    roles = list(dict.fromkeys(args.role))
    display_name = args.display_name if args.display_name is not None else args.name
    try:
        view, token = services.accounts.create_account(
            name=args.name, display_name=display_name, roles=roles, unit=args.unit, by=SYSTEM
        )
    except DuplicateAccount as error:
        raise CliError(
            f"{error.message} Cấp mã mới cho tài khoản đó bằng: khenthuong users token {args.name}",
            FAILED,
        ) from None
    unit = f"; đơn vị: {view.unit}" if view.unit else ""
    listing = ", ".join(_role_name(role) for role in sorted(view.roles, key=_ROLE_ORDER.index))
    print(
        f"Đã tạo tài khoản «{view.name}» ({view.display_name}); vai trò: {listing}{unit}.", file=err
    )
    if token is not None:
        _print_token(token, out, err)


def users_list(services: Services, out: TextIO) -> None:
    accounts = services.accounts.list_accounts()
    if not accounts:
        print(
            "Chưa có tài khoản nào. Tạo bằng: khenthuong users add TÊN --role VAI_TRÒ "
            "(hoặc nạp dữ liệu mẫu: khenthuong demo).",
            file=out,
        )
        return
    rows = [
        (
            view.name,
            view.display_name,
            view.unit or "—",
            ", ".join(role.value for role in sorted(view.roles, key=_ROLE_ORDER.index)) or "—",
            str(len(view.token_ids)),
            "có" if view.disabled else "không",
        )
        for view in accounts
    ]
    header = ("Tài khoản", "Họ tên", "Đơn vị", "Vai trò", "Mã hiệu lực", "Bị khóa")
    for text in _table(header, rows, right=frozenset({4})):
        print(text, file=out)
    print(f"{len(accounts)} tài khoản.", file=out)


def users_revoke(name: str, services: Services, out: TextIO) -> None:
    before = _existing_account(services, name)
    after = services.accounts.revoke_all_tokens(name, by=SYSTEM)
    revoked = len(before.token_ids) - len(after.token_ids)
    if revoked:
        print(
            f"Đã thu hồi {revoked} mã truy cập của tài khoản «{name}»; các mã này không dùng "
            f"được nữa. Cấp mã mới bằng: khenthuong users token {name}",
            file=out,
        )
    elif before.disabled:
        print(f"Tài khoản «{name}» đã bị khóa: không còn mã truy cập nào hiệu lực.", file=out)
    else:
        print(
            f"Tài khoản «{name}» không có mã truy cập nào đang hiệu lực; không có gì để thu hồi.",
            file=out,
        )


def users_token(name: str, services: Services, out: TextIO, err: TextIO) -> None:
    view = _existing_account(services, name)
    if view.disabled:
        raise CliError(f"Tài khoản «{name}» đã bị khóa; không cấp mã truy cập mới.", FAILED)
    token = services.accounts.issue_token(name, by=SYSTEM)
    print(
        f"Đã cấp mã truy cập mới cho tài khoản «{name}» "
        f"(đang có {len(view.token_ids) + 1} mã hiệu lực).",
        file=err,
    )
    _print_token(token, out, err)


def users_disable(name: str, reason: str, services: Services, out: TextIO) -> None:
    view = _existing_account(services, name)
    if view.disabled:
        raise CliError(f"Tài khoản «{name}» đã bị khóa từ trước.", FAILED)
    services.accounts.disable(name, reason=reason, by=SYSTEM)
    tokens = f"{len(view.token_ids)} mã truy cập ngừng hiệu lực ngay; " if view.token_ids else ""
    print(
        f"Đã khóa tài khoản «{name}»: {tokens}tài khoản không dùng được nữa, lịch sử của tài "
        "khoản vẫn được giữ.",
        file=out,
    )


# --- the web server -----------------------------------------------------------------------------

APP_FACTORY = "api.app:app_from_environment"
PORTS = (1, 65535)
WORKERS = (1, 32)


def _check_address(host: str, port: int) -> None:
    """Fail early, in Vietnamese, when the server could not listen on ``host:port``."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError):
        raise CliError(
            f"Không dùng được địa chỉ --host «{host[:100]}»: không phân giải được tên máy này.",
            USAGE,
        ) from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CliError(
                    f"Cổng {port} trên {host} đang được một chương trình khác sử dụng; "
                    "dừng chương trình đó hoặc chọn cổng khác bằng --port.",
                    FAILED,
                ) from None
            if error.errno in (errno.EACCES, errno.EPERM):
                raise CliError(
                    f"Không có quyền mở cổng {port} (cổng dưới 1024 cần quyền quản trị); "
                    "chọn cổng khác bằng --port.",
                    FAILED,
                ) from None
            if error.errno == errno.EADDRNOTAVAIL:
                raise CliError(
                    f"Địa chỉ --host {host} không thuộc máy này (dùng 127.0.0.1 hoặc 0.0.0.0).",
                    USAGE,
                ) from None
            raise CliError(
                f"Không mở được {host}:{port}: {error.strerror or error}.", FAILED
            ) from None


def _check_web_app() -> None:
    """The ASGI factory must import before the store is prepared and the server started."""
    module_name, _, attribute = APP_FACTORY.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # any failure while importing the app's code
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CliError(
            f"Không nạp được ứng dụng web ({module_name}): {type(error).__name__}"
            + (f": {detail}" if detail else "")
            + ".",
            FAILED,
        ) from None
    if not callable(getattr(module, attribute, None)):
        raise CliError(f"Ứng dụng web thiếu hàm {APP_FACTORY}.", FAILED)


def _ensure_signing_key(services: Services) -> None:
    """The audit checkpoints' key is created on the server's first start (mode 0600), and a
    bad key file stops the start with its message; other commands never create it."""
    if services.settings.audit_checkpoint_minutes <= 0:
        return
    try:
        services.checkpoints.key()
    except AuditKeyError as error:
        raise CliError(f"Cấu hình không hợp lệ: {error}", CONFIGURATION) from None


def run_serve(args: argparse.Namespace, settings: Settings, out: TextIO) -> None:
    """Prepare the store once, optionally load the demo, then hand over to uvicorn."""
    _check_address(args.host, args.port)
    _check_web_app()
    # This process creates the tables whatever KHENTHUONG_CREATE_TABLES says, so that the
    # server's processes never race to create them.
    prepared = settings.model_copy(update={"create_tables": True})
    with _services(prepared) as services:
        _ensure_signing_key(services)
        try:
            if args.demo:
                today = datetime.now(VIETNAM_TZ).date()
                run_demo(services, today=today, show_history=False, out=out)
            else:
                print(f"Kho sự kiện: {prepared.store_description()}", file=out)
                if not services.accounts.list_accounts():
                    print(
                        "Chưa có tài khoản nào: tạo bằng khenthuong users add TÊN --role VAI_TRÒ "
                        "(hoặc chạy khenthuong serve --demo).",
                        file=out,
                    )
        except (DomainError, ApplicationError) as error:
            raise CliError(error.message, FAILED) from None
        except PersistenceError as error:
            raise CliError(_storage_message(settings, error), STORAGE) from None
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print("", file=out)
    print(
        f"Máy chủ API: http://{shown}:{args.port}/api/v1 — tài liệu: http://{shown}:{args.port}/docs "
        f"({args.workers} tiến trình). Nhấn Ctrl-C để dừng.",
        file=out,
    )
    out.flush()  # the tokens must be readable before the server's logs start

    import uvicorn  # imported here: the other commands do not need the web server

    # The tables exist now: the server's processes (the app factory builds Settings() from the
    # environment, and the workers inherit it) must not create them again, concurrently.
    os.environ["KHENTHUONG_CREATE_TABLES"] = "false"
    try:
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,  # keep our logging: uvicorn's records go through structlog
            access_log=False,  # the app logs one line per request itself
            loop="uvloop",  # explicit: a silent fallback to asyncio was several times slower
            http="httptools",
            server_header=False,
        )
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise CliError(
                "Máy chủ web không khởi động được (xem nhật ký ở trên).", FAILED
            ) from None
    print("Đã dừng máy chủ.", file=out)


# --- the projections (view tables) ------------------------------------------------------------

REBUILD_BATCH = (1, 100_000)
LIVE_STALL_SECONDS = 15.0
"""verify: how long the live views may stand still below the rebuilt position before a retry."""
RUN_REPORT_SECONDS = (1, 3600)


def _number(value: int) -> str:
    """An integer with Vietnamese digit grouping: 1.234.567."""
    return f"{value:,}".replace(",", ".")


def _decimal(value: float, digits: int = 1) -> str:
    """A decimal with a Vietnamese decimal comma: 12,3."""
    return f"{value:.{digits}f}".replace(".", ",")


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressDisplay:
    """Log positions done out of the log's end, with the rate and the time left: a bar redrawn
    in place on a terminal, otherwise a plain line at each quarter (for logs and pipes)."""

    BAR = 30

    def __init__(self, stream: TextIO, label: str, *, tty: bool | None = None) -> None:
        self.stream = stream
        self.label = label
        isatty = getattr(stream, "isatty", None)
        self.tty = tty if tty is not None else bool(callable(isatty) and isatty())
        self.started = time.monotonic()
        self.calls = 0
        self.drawn = 0.0
        self.quarter = -1
        self.position = 0
        self.head = 0

    def __call__(self, position: int, head: int) -> None:
        self.calls += 1
        self.position, self.head = position, max(head, position)
        now = time.monotonic()
        if self.tty:
            if now - self.drawn >= 0.1 or position >= self.head:
                self.drawn = now
                self.stream.write("\r" + self._line(now, bar=True) + "\x1b[K")
                self.stream.flush()
            return
        quarter = 4 * position // self.head if self.head else 4
        if quarter > self.quarter:
            self.quarter = quarter
            print(self._line(now, bar=False), file=self.stream, flush=True)

    def _line(self, now: float, *, bar: bool) -> str:
        done, total = self.position, self.head
        share = done / total if total else 1.0
        elapsed = max(now - self.started, 1e-6)
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else 0.0
        text = (
            f"{self.label}: {round(share * 100):3d}% ({_number(done)}/{_number(total)} sự kiện, "
            f"{_number(round(rate))} sự kiện/giây, còn {_duration(left)})"
        )
        if not bar:
            return text
        filled = round(share * self.BAR)
        return f"[{'█' * filled}{'░' * (self.BAR - filled)}] {text}"

    def finish(self) -> None:
        if self.tty and self.calls:
            self.stream.write("\n")
            self.stream.flush()


def _selected_views(names: Sequence[str]) -> tuple[str, ...]:
    """The named views (all when none is named), each once, in the order given."""
    unknown = [name for name in names if name not in VIEW_NAMES]
    if unknown:
        raise CliError(
            f"Không có bảng tra cứu «{', '.join(unknown)[:100]}»; chọn trong: "
            f"{', '.join(VIEW_NAMES)} (bỏ trống: tất cả).",
            USAGE,
        )
    return tuple(dict.fromkeys(names)) or VIEW_NAMES


def _views(services: Services, names: Sequence[str]) -> list[View]:
    return [services.projections.view(name) for name in _selected_views(names)]


def projections_status(services: Services, out: TextIO) -> None:
    """Each view's position, the log's end, and how far behind the view is (the audit log's
    tree too)."""
    print(f"Kho sự kiện: {services.settings.store_description()}", file=out)
    rows = [
        (
            status.name,
            services.projections.view(status.name).title
            if status.kind == "view"
            else AUDIT_LOG_TITLE,
            _number(status.position),
            _number(status.head),
            _number(status.lag_events),
            _decimal(status.lag_seconds),
        )
        for status in services.projections.status(followers=True)
    ]
    header = ("Bảng", "Nội dung", "Vị trí", "Cuối nhật ký", "Chậm (sự kiện)", "Chậm (giây)")
    for text in _table(header, rows, right=frozenset({2, 3, 4, 5})):
        print(text, file=out)


def projections_rebuild(
    services: Services,
    names: Sequence[str],
    batch_size: int,
    out: TextIO,
    err: TextIO,
    *,
    workers: int | None = None,
) -> None:
    views = _views(services, names)
    listed = ", ".join(view.name for view in views)
    print(f"Kho sự kiện: {services.settings.store_description()}", file=out)
    print(
        f"Dựng lại từ nhật ký sự kiện: {listed}. Bảng đang dùng vẫn phục vụ đến khi thay.", file=out
    )
    out.flush()
    progress = ProgressDisplay(err, "Dựng lại")
    try:
        result = rebuild(
            services.movements,
            views,
            batch_size=batch_size,
            cache_size=max(REBUILD_CACHE_SIZE, services.settings.projection_cache_size),
            progress=progress,
            workers=workers,
        )
    finally:
        progress.finish()
    again = f" (bắt kịp sự kiện mới {result.swaps - 1} lần)" if result.swaps > 1 else ""
    print(
        f"Đã dựng lại và thay vào bảng đang dùng: {len(views)} bảng tra cứu, đến vị trí "
        f"{_number(result.position)} của nhật ký, {_number(result.events)} sự kiện trong "
        f"{_decimal(result.seconds)} giây{again}.",
        file=out,
    )


def _live_catch_up(services: Services, names: Sequence[str]) -> Callable[[int], None]:
    """verify's way to bring the live views forward: this process runs the views no other
    process holds the lock of, and waits while whoever runs them makes progress."""
    projections = services.projections

    def catch_up(position: int) -> None:
        projections.start()
        last, since = -1, time.monotonic()
        while not projections.wait_for(position, views=names, timeout=1.0):
            reached = min(projections.positions()[name] for name in names)
            if reached != last:
                last, since = reached, time.monotonic()
            elif time.monotonic() - since > LIVE_STALL_SECONDS:
                return  # verify tries again, then says which views it could not compare

    return catch_up


def _shown(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return value.isoformat()
    return _clip(str(value), 80)


def _difference_line(difference: Difference) -> str:
    key = ", ".join(f"{name}={_shown(value)}" for name, value in difference.key.items())
    where = f"{difference.table} [{key}]"
    if difference.kind == "missing":
        return f"{where}: thiếu trong bảng đang dùng (bảng dựng lại có dòng này)"
    if difference.kind == "extra":
        return f"{where}: thừa trong bảng đang dùng (bảng dựng lại không có dòng này)"
    return (
        f"{where} {difference.column}: đang dùng «{_shown(difference.live)}», "
        f"dựng lại «{_shown(difference.rebuilt)}»"
    )


def projections_verify(
    services: Services,
    names: Sequence[str],
    batch_size: int,
    max_lines: int,
    out: TextIO,
    err: TextIO,
    *,
    workers: int | None = None,
) -> None:
    views = _views(services, names)
    print(f"Kho sự kiện: {services.settings.store_description()}", file=out)
    print(
        f"Kiểm tra {', '.join(view.name for view in views)}: dựng lại vào bảng tạm rồi so sánh "
        "từng dòng với bảng đang dùng, ở cùng một vị trí của nhật ký.",
        file=out,
    )
    out.flush()
    progress = ProgressDisplay(err, "Dựng lại để kiểm tra")
    try:
        report = verify(
            services.movements,
            views,
            batch_size=batch_size,
            cache_size=max(REBUILD_CACHE_SIZE, services.settings.projection_cache_size),
            progress=progress,
            catch_up_live=_live_catch_up(services, [view.name for view in views]),
            workers=workers,
        )
    finally:
        progress.finish()
    total = report.total_differences
    if total:
        print("", file=out)
        shown = report.differences[:max_lines]
        for difference in shown:
            print(_difference_line(difference), file=out)
        if total > len(shown):
            print(f"… và {_number(total - len(shown))} khác biệt nữa.", file=out)
    print("", file=out)
    rows = [
        (
            view.name,
            _number(view.position),
            table.table,
            _number(table.live_rows),
            _number(table.rebuilt_rows),
            _number(table.differences),
        )
        for view in report.views
        for table in view.tables
    ]
    header = ("Bảng", "Vị trí", "Bảng dữ liệu", "Dòng đang dùng", "Dòng dựng lại", "Khác biệt")
    for text in _table(header, rows, right=frozenset({1, 3, 4, 5})):
        print(text, file=out)
    if total:
        differing = " ".join(view.name for view in report.views if view.differences)
        raise CliError(
            f"Có {_number(total)} khác biệt giữa bảng đang dùng và bảng dựng lại từ nhật ký "
            f"({differing}). Dựng lại bằng: khenthuong projections rebuild {differing}",
            FAILED,
        )
    print(
        f"Không có khác biệt: bảng đang dùng trùng khớp với bảng dựng lại từ nhật ký "
        f"({_decimal(report.seconds)} giây).",
        file=out,
    )


def _held(services: Services) -> tuple[str, ...]:
    runner = services.projections.runner
    return tuple(runner.view_names) if runner is not None else ()


def _say_held(held: Sequence[str], out: TextIO) -> None:
    others = [name for name in VIEW_NAMES if name not in held]
    if not held:
        print(
            "Chưa giữ được khóa bảng nào: một tiến trình khác đang chạy các bảng tra cứu; "
            "sẽ tiếp quản khi tiến trình đó dừng.",
            file=out,
        )
    elif others:
        print(
            f"Đang chạy (giữ khóa): {', '.join(held)}. Các bảng {', '.join(others)} do tiến "
            "trình khác chạy; sẽ tiếp quản khi tiến trình đó dừng.",
            file=out,
        )
    else:
        print(f"Đang chạy (giữ khóa): {', '.join(held)}.", file=out)
    out.flush()


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT (Ctrl-C) ask for a clean stop (in the main thread only)."""
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGTERM, signal.SIGINT):
            previous[number] = signal.signal(number, lambda *_: stop.set())
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def projections_run(
    services: Services, report_every: float, out: TextIO, stop: threading.Event
) -> None:
    """Run the views this process can lock until ``stop`` is set (SIGTERM, SIGINT)."""
    projections = services.projections
    print(f"Kho sự kiện: {services.settings.store_description()}", file=out)
    print(
        "Chạy các bảng tra cứu ở tiến trình riêng (mỗi bảng một bộ chạy trên toàn hệ thống). "
        "Nhấn Ctrl-C hoặc gửi SIGTERM để dừng.",
        file=out,
    )
    out.flush()
    projections.start()
    deadline = time.monotonic() + 2.0  # the first try at the locks
    while not _held(services) and time.monotonic() < deadline and not stop.is_set():
        stop.wait(0.05)
    held: tuple[str, ...] | None = None
    next_report = 0.0
    while not stop.is_set():
        now_held = _held(services)
        if now_held != held:
            held = now_held
            _say_held(held, out)
            projections_log.info("projections_locks", held=list(held))
        if time.monotonic() >= next_report:
            next_report = time.monotonic() + report_every
            try:
                statuses = projections.status(followers=True)
            except Exception as error:  # the runner thread reports and retries on its own
                projections_log.warning("projections_status_failed", error=type(error).__name__)
            else:
                projections_log.info(
                    "projections_progress",
                    views={
                        s.name: {"position": s.position, "lag_events": s.lag_events}
                        for s in statuses
                    },
                    head=max((s.head for s in statuses), default=0),
                    running_here=[s.name for s in statuses if s.running_here],
                )
        stop.wait(0.2)
    print("Đang dừng bộ chạy bảng tra cứu…", file=out)
    out.flush()


def _run_projections(
    args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO
) -> None:
    # This process starts the runner itself (run) or builds scratch tables (rebuild, verify).
    own = settings.model_copy(update={"run_projections": False})
    action = args.projections_command
    stop = threading.Event()
    with _stop_on_signals(stop) if action == "run" else nullcontext():
        with _services(own) as services:
            try:
                if action == "run":
                    _ensure_signing_key(services)  # this process may be the one that signs
                    projections_run(services, args.report_every, out, stop)
                elif action == "status":
                    projections_status(services, out)
                elif action == "rebuild":
                    projections_rebuild(
                        services, args.views, args.batch_size, out, err, workers=args.workers
                    )
                else:
                    projections_verify(
                        services,
                        args.views,
                        args.batch_size,
                        args.max_lines,
                        out,
                        err,
                        workers=args.workers,
                    )
            except RebuildError as error:
                raise CliError(error.message, FAILED) from None
            except AuditKeyError as error:  # run: the checkpoints' key is read at start
                raise CliError(f"Cấu hình không hợp lệ: {error}", CONFIGURATION) from None
            except PersistenceError as error:
                raise CliError(_storage_message(settings, error), STORAGE) from None
        if action == "run":
            print("Đã dừng bộ chạy bảng tra cứu.", file=out)


# --- the audit log: checkpoint, verify, export, verify-export ---------------------------------

AUDIT_LOG_ACTIONS = ("checkpoint", "verify", "export", "verify-export")
KIND_NAMES = {
    "domain.dossier:": "hồ sơ",
    "domain.movement:": "phong trào",
    "domain.accounts:UserAccount": "tài khoản",
    "domain.accounts:AccountDirectory": "danh bạ tài khoản",
    "domain.registers:NominationSlot": "sổ đăng ký đề nghị",
    "domain.registers:DocumentNumber": "số văn bản",
}
DOSSIER = "hồ sơ"
EXPORT_PROOFS_AT_ONCE = 1_000
AUDIT_LOG_TITLE = "Cây nhật ký kiểm toán (Merkle, docs/audit.md)"
MAX_FINDINGS_SHOWN = 20
MAX_NAMES_SHOWN = 50


def _checkpoint_line(checkpoint: Checkpoint) -> str:
    return (
        f"{_number(checkpoint.size)} sự kiện, gốc {b64(checkpoint.root)}, ký lúc "
        f"{checkpoint.time.astimezone(VIETNAM_TZ):%H:%M:%S ngày %d/%m/%Y} (giờ VN), khóa "
        f"{checkpoint.key_id}"
    )


def audit_checkpoint(services: Services, out: TextIO, err: TextIO) -> None:
    """Bring the audit tree up to date, then sign a checkpoint (its JSON on stdout)."""
    before = services.audit.size()
    reached = services.audit.catch_up()
    if reached > before:
        print(
            f"Đã ghi thêm {_number(reached - before)} sự kiện vào cây nhật ký kiểm toán.", file=err
        )
    try:
        stored = services.checkpoints.sign()
    except InconsistentLog as error:
        raise CliError(str(error), FAILED) from None
    except AuditKeyError as error:
        raise CliError(str(error), CONFIGURATION) from None
    assert stored is not None
    print(f"Đã ký điểm kiểm tra số {stored.id}: {_checkpoint_line(stored.checkpoint)}.", file=err)
    print(
        json.dumps({"id": stored.id, **stored.checkpoint.to_json()}, ensure_ascii=False), file=out
    )


def _read_public_key(text: str) -> Ed25519PublicKey:
    """``--public-key``: a file (PEM, or base64 of the 32 raw bytes), or that base64 itself."""
    path = Path(text).expanduser()
    try:
        data: bytes | str = path.read_bytes() if path.is_file() else text
    except OSError as error:
        raise CliError(
            f"Không đọc được tệp khóa công khai {path}: {error.strerror}", USAGE
        ) from None
    try:
        return load_public_key(data)
    except PublicKeyError as error:
        raise CliError(f"--public-key: {error}.", USAGE) from None


def _read_checkpoint_file(path: Path) -> Checkpoint:
    try:
        data = json.loads(path.expanduser().read_text(encoding="utf-8"))
        return Checkpoint.from_json(data)
    except OSError as error:
        raise CliError(
            f"Không đọc được tệp điểm kiểm tra {path}: {error.strerror}", USAGE
        ) from None
    except (ValueError, CheckpointFormatError) as error:
        raise CliError(f"Tệp điểm kiểm tra {path} không hợp lệ: {error}", USAGE) from None


def _verification_keys(
    services: Services, public_key: str | None, checkpoints: Sequence[Checkpoint]
) -> dict[str, Ed25519PublicKey]:
    """``--public-key``, or the public half of the key file (none needed without checkpoints)."""
    if public_key is not None:
        key = _read_public_key(public_key)
    else:
        path = services.settings.audit_key_path
        if not checkpoints and not path.exists():
            return {}
        try:
            key = read_public_key(path)
        except AuditKeyError as error:
            raise CliError(
                f"{error} Hoặc chỉ định khóa công khai: --public-key TỆP.", CONFIGURATION
            ) from None
    return {key_id(key): key}


def _namer(history: StoredHistory) -> Callable[[Sequence[UUID]], dict[UUID, str]]:
    """Names aggregates as people know them: «hồ sơ <id>», «phong trào <id>»…"""

    def names(ids: Sequence[UUID]) -> dict[UUID, str]:
        topics = history.topics_of(ids)
        named = {}
        for originator_id in ids:
            topic = topics.get(originator_id, "")
            kind = next((k for p, k in KIND_NAMES.items() if topic.startswith(p)), "đối tượng")
            named[originator_id] = f"{kind} {originator_id}"
        return named

    return names


def _report_lines(
    report: VerifyReport, names: Callable[[Sequence[UUID]], dict[UUID, str]]
) -> list[str]:
    rows = [
        (
            _number(result.checkpoint.size),
            f"{result.checkpoint.time.astimezone(VIETNAM_TZ):%d/%m/%Y %H:%M}",
            result.checkpoint.key_id,
            "hợp lệ" if result.signature_ok else ("khóa lạ" if not result.key_known else "SAI"),
            "khớp"
            if result.root_ok
            else ("thiếu sự kiện" if result.computed_root is None else "KHÔNG KHỚP"),
        )
        for result in report.checkpoints
    ]
    header = ("Cỡ cây", "Ký lúc (giờ VN)", "Khóa", "Chữ ký", "Gốc tính lại")
    lines = list(_table(header, rows, right=frozenset({0}))) if rows else []
    first = report.first_bad
    if first is None:
        return lines
    ids = [i for i in (first.originator_id, *first.originators) if i is not None]
    named = names(list(dict.fromkeys(ids)))
    lines.append("")
    if first.kind == "range":
        lines.append(
            f"Vị trí hỏng đầu tiên: trong khoảng {first.first}–{first.last} (không xác định được "
            "chính xác hơn vì cây lưu trữ đã bị dựng lại cho khớp)."
        )
        lines.append(first.message)
        lines.extend(_range_names(first.originators, named))
    elif first.position is not None:
        who = named.get(first.originator_id) if first.originator_id else None
        lines.append(
            f"Vị trí hỏng đầu tiên: {first.position}"
            + (f", {who} (phiên bản {first.originator_version})" if who else "")
            + "."
        )
        lines.append(first.message)
    others = [f for f in report.findings if f is not first]
    if others:
        lines.append("")
        lines.append("Các vấn đề khác:")
        lines.extend(f"  - {f.message}" for f in others[:MAX_FINDINGS_SHOWN])
        if len(others) > MAX_FINDINGS_SHOWN:
            lines.append(f"  … và {len(others) - MAX_FINDINGS_SHOWN} vấn đề nữa.")
    return lines


def _range_names(originators: Sequence[UUID], named: Mapping[UUID, str]) -> list[str]:
    """The dossiers with events in a damaged range (the first fifty), and how many others."""
    dossiers = [named[i] for i in originators if named[i].startswith(DOSSIER + " ")]
    others = len(originators) - len(dossiers)
    lines = []
    if dossiers:
        shown = ", ".join(name.removeprefix(DOSSIER + " ") for name in dossiers[:MAX_NAMES_SHOWN])
        more = len(dossiers) - MAX_NAMES_SHOWN
        lines.append(
            f"Các hồ sơ có sự kiện trong khoảng này ({_number(len(dossiers))}): {shown}"
            + (f" … và {_number(more)} hồ sơ khác." if more > 0 else ".")
        )
    if others:
        lines.append(
            f"Cùng {_number(others)} đối tượng khác (phong trào, tài khoản, sổ đăng ký) có sự "
            "kiện trong khoảng này."
        )
    return lines


def _verify_pass(
    services: Services,
    history: StoredHistory,
    checkpoints: Sequence[Checkpoint],
    keys: Mapping[str, Ed25519PublicKey],
    leaves_from: int,
    label: str,
    err: TextIO,
) -> VerifyReport:
    progress = ProgressDisplay(err, label)
    head = services.movements.max_position()
    try:
        with history.open(leaves_from=leaves_from) as (events, leaves):
            return verify_log(
                events,
                checkpoints,
                keys,
                leaves,
                progress=lambda n: progress(n, head),
                originators_between=history.originators_between,
            )
    finally:
        progress.finish()


def audit_verify(
    services: Services,
    checkpoint_file: Path | None,
    public_key: str | None,
    out: TextIO,
    err: TextIO,
) -> None:
    """Recompute the tree from the stored events; check every checkpoint (or the given one)."""
    if checkpoint_file is not None:
        checkpoints = [_read_checkpoint_file(checkpoint_file)]
        where = f"điểm kiểm tra trong tệp {checkpoint_file}"
    else:
        checkpoints = services.checkpoints.table.all()
        where = f"{_number(len(checkpoints))} điểm kiểm tra đã lưu"
    keys = _verification_keys(services, public_key, checkpoints)
    history = StoredHistory(services.movements)
    print(f"Kho sự kiện: {services.settings.store_description()}", file=out)
    print(
        f"Tính lại cây nhật ký từ các sự kiện đã lưu và đối chiếu với {where} "
        f"(khóa công khai {', '.join(keys) or 'không cần'}).",
        file=out,
    )
    out.flush()
    started = time.monotonic()
    # The signed part is checked against the signatures alone; the stored leaves are compared
    # only after the last checkpoint (not signed yet) — unless something is wrong, when a
    # second pass compares them from where the history departs, to name the exact position.
    signed = max((c.size for c in checkpoints), default=0)
    report = _verify_pass(services, history, checkpoints, keys, signed, "Kiểm tra nhật ký", err)
    first = report.first_bad
    if first is not None and first.kind == "range" and report.leaves is not None:
        start = first.first if first.first is not None else 0
        print(f"Tìm vị trí chính xác: so từng lá của cây lưu trữ từ vị trí {start}…", file=out)
        out.flush()
        report = _verify_pass(services, history, checkpoints, keys, start, "Tìm vị trí", err)
    leaves_text = (
        f"; so được {_number(report.leaves)} lá của cây lưu trữ"
        if report.leaves
        else "; chưa có lá nào của cây lưu trữ để so"
        if report.leaves is not None
        else " (chưa có cây lưu trữ để so từng lá)"
    )
    if report.signed_leaves or report.unsigned_leaves:
        leaves_text += f"; kiểm chữ ký của {_number(report.signed_leaves)} lá"
        if report.unsigned_leaves:
            leaves_text += f" ({_number(report.unsigned_leaves)} lá không có chữ ký)"
    print(f"Đã đọc {_number(report.events)} sự kiện{leaves_text}.", file=out)
    for text in _report_lines(report, _namer(history)):
        print(text, file=out)
    if not checkpoints:
        print(
            "Chưa có điểm kiểm tra nào để đối chiếu. Ký bằng: khenthuong audit checkpoint",
            file=out,
        )
    if not report.ok:
        first = report.first_bad
        where_bad = (
            f"khoảng vị trí {first.first}–{first.last}"
            if first is not None and first.kind == "range"
            else f"vị trí {first.position}"
            if first is not None and first.position is not None
            else "điểm kiểm tra"
        )
        raise CliError(
            f"Nhật ký kiểm toán KHÔNG toàn vẹn: {len(report.findings)} vấn đề, đầu tiên ở "
            f"{where_bad}.",
            FAILED,
        )
    print(
        f"Toàn vẹn: {len(report.checkpoints)} điểm kiểm tra có chữ ký hợp lệ và khớp với cây "
        f"tính lại từ {_number(report.events)} sự kiện ({_decimal(time.monotonic() - started)} "
        "giây).",
        file=out,
    )


def audit_export(services: Services, dossier_id: UUID | None, out: TextIO, err: TextIO) -> None:
    """Events with their inclusion proofs against the latest checkpoint, as JSON lines."""
    latest = services.checkpoints.table.latest()
    if latest is None:
        raise CliError(
            "Chưa có điểm kiểm tra nào: ký trước bằng khenthuong audit checkpoint.", FAILED
        )
    checkpoint = latest.checkpoint
    audit_log = services.audit
    history = StoredHistory(services.movements)
    header = {
        "type": "checkpoint",
        "format": EXPORT_FORMAT,
        "key_id": checkpoint.key_id,
        "dossier": str(dossier_id) if dossier_id else None,
        "checkpoint": {"id": latest.id, **checkpoint.to_json()},
    }
    print(json.dumps(header, ensure_ascii=False), file=out)
    count = 0
    exported = _exported_events(audit_log, history, checkpoint.size, dossier_id)
    while chunk := list(itertools.islice(exported, EXPORT_PROOFS_AT_ONCE)):
        # one read of the stored nodes for a chunk of events (neighbours share most of them)
        proofs = audit_log.inclusion_proofs([position for position, _ in chunk], checkpoint.size)
        for (position, event), proof in zip(chunk, proofs, strict=True):
            print(json.dumps(event_line(event, position, proof), ensure_ascii=False), file=out)
        count += len(chunk)
    if dossier_id is not None and not count:
        raise CliError(
            f"Hồ sơ {dossier_id} không có sự kiện nào trong điểm kiểm tra mới nhất "
            f"({_number(checkpoint.size)} sự kiện).",
            FAILED,
        )
    print(json.dumps({"type": "end", "events": count}), file=out)
    print(
        f"Đã xuất {_number(count)} sự kiện kèm bằng chứng thuộc cây cỡ "
        f"{_number(checkpoint.size)} (điểm kiểm tra số {latest.id}).",
        file=err,
    )


def _exported_events(
    audit_log: Any, history: StoredHistory, size: int, dossier_id: UUID | None
) -> Iterator[tuple[int, StoredEvent]]:
    if dossier_id is None:
        with history.open(leaves_from=None) as (events, _):
            for position, event in enumerate(events):
                if position >= size:
                    return
                yield position, event
        return
    leaves = [leaf for leaf in audit_log.leaves_of(dossier_id) if leaf.position < size]
    by_notification = {leaf.notification_id: leaf.position for leaf in leaves}
    for event in history.events_at(by_notification):
        yield by_notification[event.notification_id], event


def audit_verify_export(path: Path, public_key: str, out: TextIO) -> None:
    """Check an exported file with the public key alone: no settings, no database."""
    key = _read_public_key(public_key)
    try:
        with path.expanduser().open(encoding="utf-8") as lines:
            report = verify_export(lines, key)
    except OSError as error:
        raise CliError(f"Không đọc được tệp {path}: {error.strerror}", USAGE) from None
    except UnicodeDecodeError:
        raise CliError(f"Tệp {path} không phải văn bản UTF-8 (JSON lines).", FAILED) from None
    if report.checkpoint is not None:
        print(f"Điểm kiểm tra trong tệp: {_checkpoint_line(report.checkpoint)}.", file=out)
    if not report.ok:
        for finding in report.findings[:MAX_FINDINGS_SHOWN]:
            print(f"  - {finding.message}", file=out)
        if len(report.findings) > MAX_FINDINGS_SHOWN:
            print(f"  … và {len(report.findings) - MAX_FINDINGS_SHOWN} vấn đề nữa.", file=out)
        first = report.findings[0] if report.findings else None
        where = f" (vị trí {first.position})" if first and first.position is not None else ""
        raise CliError(f"Tệp {path} KHÔNG hợp lệ: {len(report.findings)} vấn đề{where}.", FAILED)
    print(
        f"Hợp lệ: {_number(report.events)} sự kiện của {len(report.originators)} hồ sơ, đối "
        "tượng đều có bằng chứng thuộc cây khớp với gốc đã ký.",
        file=out,
    )


def _audit_log_command(
    args: argparse.Namespace, services: Services, out: TextIO, err: TextIO
) -> int:
    """checkpoint, verify, export (verify-export needs no settings: see ``main``)."""
    if args.audit_command == "checkpoint":
        audit_checkpoint(services, out, err)
    elif args.audit_command == "verify":
        audit_verify(services, args.checkpoint, args.public_key, out, err)
    else:
        audit_export(services, _parse_id(args.dossier) if args.dossier else None, out, err)
    return OK


# --- audit: compliance replay ------------------------------------------------------------------

REPLAY_HEADER = ("Hồ sơ", "Vị trí", "Phiên bản", "Sự kiện", "Quy tắc", "Yêu cầu", "Thực tế")


def _replay_report(summary: ReplaySummary, findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "position": summary.position,
        "dossiers": summary.dossiers,
        "events": summary.events,
        "rules": dict(RULES),
        "by_rule": {rule: summary.by_rule[rule] for rule in RULES if summary.by_rule[rule]},
        "findings": [finding.as_dict() for finding in findings],
    }


def _replay_summary_line(summary: ReplaySummary) -> str:
    checked = (
        f"Đã kiểm tra {_number(summary.dossiers)} hồ sơ, {_number(summary.events)} sự kiện "
        f"(nhật ký đến vị trí {_number(summary.position)}) theo bộ quy tắc có hiệu lực khi trình"
    )
    if not summary.findings:
        return f"{checked}: không có vi phạm."
    return f"{checked}: {_number(summary.findings)} vi phạm."


def _print_replay_table(summary: ReplaySummary, findings: Sequence[Finding], out: TextIO) -> None:
    if findings:
        rows = [
            (
                str(f.dossier_id),
                str(f.position),
                str(f.version),
                f.event_label,
                f.rule,
                f.expected,
                f.actual,
            )
            for f in findings
        ]
        for text in _table(REPLAY_HEADER, rows, right=frozenset({1, 2})):
            print(text, file=out)
        print("", file=out)
        print("Quy tắc:", file=out)
        for rule, title in RULES.items():
            if summary.by_rule[rule]:
                print(f"  {rule:<24} {_number(summary.by_rule[rule]):>7}  {title}", file=out)
        print("", file=out)
    print(_replay_summary_line(summary), file=out)


def _write_replay_json(report: Mapping[str, Any], target: str, out: TextIO) -> None:
    text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    if target == "-":
        out.write(text)
        return
    try:
        with open(target, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise CliError(
            f"Không ghi được tệp JSON «{target}»: {error.strerror or error}", FAILED
        ) from None


def _audit_replay(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> int:
    """Replay every dossier against the rulebook in force at its submission; print the
    findings (a table, and JSON with --json); OK when none, FAILED otherwise."""
    replay = ComplianceReplay(
        services.dossiers,
        services.rulebooks,
        services.calendar,
        reader=services.projections.database.log_reader(),
    )
    findings = list(replay.run())
    summary = replay.summary
    if args.json == "-":
        _write_replay_json(_replay_report(summary, findings), "-", out)
        print(_replay_summary_line(summary), file=err)
    else:
        _print_replay_table(summary, findings, out)
        if args.json is not None:
            _write_replay_json(_replay_report(summary, findings), args.json, out)
    return FAILED if findings else OK


def _run_audit(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int:
    """The ``audit`` commands; each returns its exit status."""
    own = settings.model_copy(update={"run_projections": False})
    with _services(own) as services:
        try:
            if args.audit_command == "replay":
                return _audit_replay(args, services, out, err)
            if args.audit_command in AUDIT_LOG_ACTIONS:
                return _audit_log_command(args, services, out, err)
            raise CliError(f"Lệnh audit «{args.audit_command}» chưa được hỗ trợ.", USAGE)
        except (DomainError, ApplicationError) as error:
            raise CliError(error.message, FAILED) from None
        except PersistenceError as error:
            raise CliError(_storage_message(settings, error), STORAGE) from None


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


def _bounded(what: str, low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{what} phải là số nguyên từ {low} đến {high} (nhận được «{text[:20]}»)"
            )
        return value

    return parse


def _host(text: str) -> str:
    host = text.strip()
    if not host or len(host) > 253 or any(ch.isspace() for ch in host):
        raise argparse.ArgumentTypeError(f"«{text[:60]}» không phải địa chỉ máy hợp lệ")
    return host


def _role(text: str) -> Role:
    try:
        role = Role(text.strip().lower())
    except ValueError:
        role = Role.PUBLIC
    if role not in STAFF_ROLES:
        allowed = ", ".join(each.value for each in STAFF_ROLES)
        raise argparse.ArgumentTypeError(
            f"«{text[:40]}» không phải vai trò; chọn một trong: {allowed}"
        )
    return role


def _text(what: str, limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip()
        if not value:
            raise argparse.ArgumentTypeError(f"{what} không được để trống")
        if len(value) > limit:
            raise argparse.ArgumentTypeError(f"{what} dài quá {limit} ký tự")
        return value

    return parse


_ARGPARSE_MESSAGES = (
    (re.compile(r"^the following arguments are required: (.+)$"), r"thiếu tham số bắt buộc: \1"),
    (re.compile(r"^unrecognized arguments: (.+)$"), r"không hiểu tham số: \1"),
    (
        re.compile(r"^argument ([^:]+): invalid choice: '?(.*?)'? \(choose from (.+)\)$"),
        r"\1 «\2» không có; chọn một trong: \3",
    ),
    (re.compile(r"^argument ([^:]+): expected one argument$"), r"\1 cần một giá trị"),
    (re.compile(r"^argument ([^:]+): (\1 .*)$"), r"\2"),
    (re.compile(r"^argument ([^:]+): "), r"\1: "),
)


def _in_vietnamese(message: str) -> str:
    """argparse's own messages (not translated by the standard library), in Vietnamese."""
    for pattern, replacement in _ARGPARSE_MESSAGES:
        if pattern.search(message):
            translated = pattern.sub(replacement, message)
            return translated.replace("'", "") if "choose from" in message else translated
    return message


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"Lỗi: {_in_vietnamese(message)} (xem: {self.prog} --help)\n")


def _add_users_parser(commands: Any) -> None:
    users = commands.add_parser(
        "users",
        help="quản lý tài khoản và mã truy cập API",
        description="Tạo, liệt kê, khóa tài khoản; cấp và thu hồi mã truy cập API. Mọi thay đổi "
        f"được ghi vào lịch sử của tài khoản, nhân danh «{SYSTEM.user_id}» (quản trị).",
    )
    actions = users.add_subparsers(dest="users_command", metavar="VIỆC", required=True)
    roles = ", ".join(role.value for role in STAFF_ROLES)
    add = actions.add_parser(
        "add",
        help="tạo tài khoản và cấp mã truy cập đầu tiên (chỉ hiển thị một lần)",
        description="Tạo tài khoản với một hoặc nhiều vai trò và in mã truy cập đầu tiên (chỉ "
        "mã được in ra stdout, các thông báo ra stderr).",
    )
    add.add_argument("name", metavar="TÊN", help="tên đăng nhập, ví dụ snv.thamdinh01")
    add.add_argument(
        "--role",
        type=_role,
        action="append",
        required=True,
        metavar="VAI_TRÒ",
        help=f"vai trò (lặp lại để cấp nhiều vai trò): {roles}",
    )
    add.add_argument(
        "--unit",
        type=_text("--unit", 300),
        default=None,
        metavar="ĐƠN_VỊ",
        help="đơn vị của tài khoản (bắt buộc với vai trò submitter), ví dụ «Sở Y tế tỉnh Cao Bằng»",
    )
    add.add_argument(
        "--display-name",
        type=_text("--display-name", 200),
        default=None,
        metavar="HỌ_TÊN",
        help="họ tên hiển thị (mặc định: tên tài khoản)",
    )
    actions.add_parser(
        "list",
        help="liệt kê tài khoản",
        description="Bảng tài khoản: tên, họ tên, đơn vị, vai trò, số mã đang hiệu lực, khóa.",
    )
    revoke = actions.add_parser(
        "revoke",
        help="thu hồi mọi mã truy cập của một tài khoản",
        description="Thu hồi mọi mã truy cập đang hiệu lực của tài khoản; tài khoản vẫn dùng "
        "được với mã cấp sau đó.",
    )
    revoke.add_argument("name", metavar="TÊN", help="tên tài khoản")
    token = actions.add_parser(
        "token",
        help="cấp thêm một mã truy cập (chỉ hiển thị một lần)",
        description="Cấp một mã truy cập mới; các mã cũ vẫn hiệu lực cho đến khi bị thu hồi. "
        "Chỉ mã được in ra stdout: TOKEN=$(khenthuong users token TÊN).",
    )
    token.add_argument("name", metavar="TÊN", help="tên tài khoản")
    disable = actions.add_parser(
        "disable",
        help="khóa tài khoản (mọi mã ngừng hiệu lực, lịch sử được giữ)",
        description="Khóa tài khoản: mọi mã truy cập ngừng hiệu lực ngay; không mở khóa lại được.",
    )
    disable.add_argument("name", metavar="TÊN", help="tên tài khoản")
    disable.add_argument(
        "--reason", type=_text("--reason", 2000), required=True, metavar="LÝ_DO", help="lý do khóa"
    )


def _add_projections_parser(commands: Any) -> None:
    projections = commands.add_parser(
        "projections",
        help="bảng tra cứu (danh sách, chương trình họp, sổ khen thưởng, thống kê): chạy, xem "
        "trạng thái, dựng lại, kiểm tra",
        description="Các bảng tra cứu được cập nhật từ nhật ký sự kiện. Tên bảng: "
        f"{', '.join(VIEW_NAMES)}.",
    )
    actions = projections.add_subparsers(dest="projections_command", metavar="VIỆC", required=True)
    run = actions.add_parser(
        "run",
        help="chạy các bảng ở tiến trình riêng (cho máy chủ chạy với "
        "KHENTHUONG_RUN_PROJECTIONS=false)",
        description="Chạy các bảng tra cứu ở tiền cảnh cho đến khi nhận Ctrl-C hoặc SIGTERM. Mỗi "
        "bảng chỉ có một bộ chạy trên toàn hệ thống (khóa theo bảng): bảng đang do tiến trình khác "
        "chạy sẽ được tiếp quản khi tiến trình đó dừng.",
    )
    run.add_argument(
        "--report-every",
        type=_bounded("--report-every", *RUN_REPORT_SECONDS),
        default=30,
        metavar="GIÂY",
        help="ghi nhật ký vị trí và độ chậm của các bảng mỗi bao nhiêu giây (mặc định 30)",
    )
    actions.add_parser(
        "status",
        help="vị trí của từng bảng và độ chậm so với nhật ký",
        description="Mỗi bảng: vị trí đã cập nhật đến, vị trí cuối của nhật ký, chậm bao nhiêu sự "
        "kiện và bao nhiêu giây.",
    )
    for name, help_text, description in (
        (
            "rebuild",
            "dựng lại bảng từ nhật ký rồi thay vào bảng đang dùng",
            "Dựng lại các bảng đã nêu (mặc định: tất cả) vào bảng tạm từ toàn bộ nhật ký, rồi thay "
            "vào bảng đang dùng trong một giao dịch: người đọc không bao giờ thấy bảng dựng dở. "
            "Chạy được khi máy chủ đang hoạt động.",
        ),
        (
            "verify",
            "kiểm tra bảng đang dùng có trùng với bảng dựng lại từ nhật ký",
            "Dựng lại các bảng đã nêu (mặc định: tất cả) vào bảng tạm rồi so sánh từng dòng với "
            "bảng đang dùng ở cùng một vị trí của nhật ký; in các khác biệt. Thoát với mã 1 nếu có "
            "khác biệt, 0 nếu không.",
        ),
    ):
        action = actions.add_parser(name, help=help_text, description=description)
        action.add_argument(
            "views", nargs="*", metavar="BẢNG", help=f"tên bảng: {', '.join(VIEW_NAMES)}"
        )
        action.add_argument(
            "--batch-size",
            type=_bounded("--batch-size", *REBUILD_BATCH),
            default=REBUILD_BATCH_SIZE,
            metavar="SỐ",
            help=f"số sự kiện mỗi giao dịch khi dựng lại (mặc định {REBUILD_BATCH_SIZE})",
        )
        action.add_argument(
            "--workers",
            type=_bounded("--workers", 1, 32),
            default=None,
            metavar="SỐ",
            help="số tiến trình dựng lại song song trên PostgreSQL (mặc định: số lõi CPU; "
            "1: chỉ tiến trình này)",
        )
        if name == "verify":
            action.add_argument(
                "--max-lines",
                type=_bounded("--max-lines", 0, 100_000),
                default=50,
                metavar="SỐ",
                help="in tối đa bấy nhiêu dòng khác biệt (mặc định 50)",
            )


def _add_audit_parser(commands: Any) -> Any:
    """The ``audit`` group; returns its subparsers (``audit_actions``) for more commands."""
    audit = commands.add_parser(
        "audit",
        help="kiểm toán: kiểm tra lại mọi quyết định theo bộ quy tắc (replay); ký, kiểm tra "
        "và trích xuất nhật ký chống sửa đổi (checkpoint, verify, export, verify-export)",
        description="Các lệnh kiểm toán nhật ký sự kiện và các quyết định đã ghi nhận.",
    )
    audit_actions = audit.add_subparsers(dest="audit_command", metavar="VIỆC", required=True)
    _add_audit_replay_parser(audit_actions)
    _add_audit_log_parsers(audit_actions)
    return audit_actions


def _add_audit_replay_parser(audit_actions: Any) -> None:
    replay = audit_actions.add_parser(
        "replay",
        help="phát lại mọi hồ sơ và kiểm tra lại từng quyết định theo bộ quy tắc khi trình",
        description="Đọc lại toàn bộ nhật ký sự kiện, hồ sơ theo hồ sơ, và kiểm tra lại từng "
        "bước đã ghi nhận theo bộ quy tắc có hiệu lực vào ngày trình hồ sơ: thời hạn lấy ý kiến "
        "Nhân dân (ngày làm việc), trả lời mọi ý kiến, số dự họp và tỷ lệ đồng ý trên tổng số "
        "thành viên Hội đồng, xung đột lợi ích, người trình không thẩm định, bỏ phiếu, quyết "
        "định, vai trò người ký, mẫu và tính duy nhất của số văn bản, thời hạn thẩm định (trừ "
        "thời gian trả lại, tạm dừng). In bảng các vi phạm; thoát với mã 1 nếu có vi phạm, 0 "
        "nếu không.",
    )
    replay.add_argument(
        "--json",
        default=None,
        metavar="TỆP",
        help="ghi thêm kết quả dạng JSON vào TỆP («-»: ra stdout thay cho bảng)",
    )


def _add_audit_log_parsers(audit_actions: Any) -> None:
    audit_actions.add_parser(
        "checkpoint",
        help="cập nhật cây nhật ký rồi ký một điểm kiểm tra",
        description="Ghi các sự kiện mới vào cây nhật ký kiểm toán, kiểm tra cây nối tiếp điểm "
        "kiểm tra trước (bằng chứng nhất quán), rồi ký điểm kiểm tra mới. In điểm kiểm tra dạng "
        "JSON ra stdout (các thông báo ra stderr). Không ký nếu cây không nối tiếp (mã thoát 1).",
    )
    verify = audit_actions.add_parser(
        "verify",
        help="tính lại cây từ các sự kiện đã lưu và đối chiếu với các điểm kiểm tra đã ký",
        description="Đọc thẳng các sự kiện từ bảng của kho (không qua bộ ghi nhật ký), tính lại "
        "mã băm từng sự kiện và gốc cây ở cỡ của từng điểm kiểm tra, kiểm tra chữ ký. Nêu vị trí "
        "hỏng đầu tiên và hồ sơ ở đó (sự kiện bị sửa, xóa, chèn, tráo thứ tự), hoặc khoảng vị trí "
        "nếu cây lưu trữ đã bị dựng lại cho khớp. Thoát với mã 1 nếu có vấn đề.",
    )
    verify.add_argument(
        "--checkpoint",
        type=Path,
        default=None,
        metavar="TỆP",
        help="chỉ đối chiếu với điểm kiểm tra trong tệp này (JSON như "
        "/du-lieu-mo/checkpoints/latest), lưu giữ ở nơi khác",
    )
    verify.add_argument(
        "--public-key",
        default=None,
        metavar="KHÓA",
        help="khóa công khai để kiểm tra chữ ký: tệp PEM (như /du-lieu-mo/checkpoints/"
        "public-key) hoặc base64; mặc định: khóa của KHENTHUONG_AUDIT_KEY_FILE",
    )
    export = audit_actions.add_parser(
        "export",
        help="trích xuất sự kiện kèm bằng chứng thuộc cây (JSON lines, ra stdout)",
        description="Ghi ra stdout, mỗi dòng một JSON: dòng đầu là điểm kiểm tra mới nhất, mỗi "
        "sự kiện (các trường đã lưu, state dạng base64, vị trí lá, bằng chứng thuộc cây), dòng "
        "cuối là số sự kiện. Ví dụ: khenthuong audit export --dossier MÃ > ho-so.jsonl",
    )
    export.add_argument(
        "--dossier", default=None, metavar="MÃ_HỒ_SƠ", help="chỉ các sự kiện của hồ sơ này (UUID)"
    )
    verify_export = audit_actions.add_parser(
        "verify-export",
        help="kiểm tra tệp trích xuất chỉ với khóa công khai (không cần cơ sở dữ liệu)",
        description="Kiểm tra chữ ký của điểm kiểm tra trong tệp và bằng chứng thuộc cây của "
        "từng sự kiện, chỉ với khóa công khai: không đọc cấu hình, không kết nối cơ sở dữ liệu. "
        "Thoát với mã 1 nếu có dòng không hợp lệ.",
    )
    verify_export.add_argument("file", type=Path, metavar="TỆP", help="tệp do audit export ghi")
    verify_export.add_argument(
        "--public-key",
        required=True,
        metavar="KHÓA",
        help="khóa công khai: tệp PEM (như /du-lieu-mo/checkpoints/public-key) hoặc base64",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="khenthuong",
        description="Quản lý hồ sơ đề nghị khen thưởng: chạy máy chủ API, quản lý tài khoản, nạp "
        "dữ liệu mẫu, xem lịch sử hồ sơ.",
        epilog="Cấu hình qua biến môi trường KHENTHUONG_* (ví dụ KHENTHUONG_DATA_DIR, "
        "KHENTHUONG_STORE, KHENTHUONG_POSTGRES_URL).",
    )
    parser.add_argument(
        "--version", action="version", version=f"khenthuong {_version()}", help="in số phiên bản"
    )
    commands = parser.add_subparsers(dest="command", metavar="LỆNH", required=True)
    serve = commands.add_parser(
        "serve",
        help="chạy máy chủ API (với --demo: nạp dữ liệu mẫu và in mã truy cập dùng thử)",
        description="Chuẩn bị kho sự kiện (tạo bảng) một lần rồi chạy máy chủ API bằng uvicorn. "
        "Nhấn Ctrl-C để dừng.",
    )
    serve.add_argument(
        "--host",
        type=_host,
        default="127.0.0.1",
        help="địa chỉ lắng nghe (mặc định 127.0.0.1; 0.0.0.0 để mở cho mạng ngoài)",
    )
    serve.add_argument(
        "--port",
        type=_bounded("--port", *PORTS),
        default=8000,
        help="cổng lắng nghe, 1–65535 (mặc định 8000)",
    )
    serve.add_argument(
        "--workers",
        type=_bounded("--workers", *WORKERS),
        default=1,
        help="số tiến trình phục vụ, 1–32 (mặc định 1)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="nạp dữ liệu mẫu trước (chạy lại không tạo trùng) và in mã truy cập mới cho các "
        "tài khoản dùng thử",
    )
    _add_users_parser(commands)
    demo = commands.add_parser(
        "demo",
        help="nạp bộ dữ liệu mẫu (phong trào thi đua, hồ sơ ở mọi trạng thái); chạy lại không tạo trùng",
        description="Nạp bộ dữ liệu mẫu vào kho sự kiện đã cấu hình, in bảng số hồ sơ theo trạng "
        "thái và mã truy cập mới cho các tài khoản dùng thử (mã cũ của chúng bị thu hồi).",
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
    _add_projections_parser(commands)
    _add_audit_parser(commands)
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
    except AuditKeyError as error:
        raise CliError(f"Cấu hình không hợp lệ: {error}", CONFIGURATION) from None
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


def _run_users(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO) -> None:
    action = args.users_command
    if action == "add":
        users_add(args, services, out, err)
    elif action == "list":
        users_list(services, out)
    elif action == "revoke":
        users_revoke(args.name, services, out)
    elif action == "token":
        users_token(args.name, services, out, err)
    else:
        users_disable(args.name, args.reason, services, out)


def _execute(args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO) -> int | None:
    """Run the command; a command with its own exit status (``audit``) returns it."""
    if args.command == "serve":
        run_serve(args, settings, out)
        return None
    if args.command == "projections":
        _run_projections(args, settings, out, err)
        return None
    if args.command == "audit":
        return _run_audit(args, settings, out, err)
    with _services(settings) as services:
        try:
            if args.command == "demo":
                today = args.today or datetime.now(VIETNAM_TZ).date()
                run_demo(services, today=today, show_history=args.show_history, out=out)
            elif args.command == "users":
                _run_users(args, services, out, err)
            else:
                print_history(services, _parse_id(args.dossier_id), out)
        except (DomainError, ApplicationError) as error:
            raise CliError(error.message, FAILED) from None
        except PersistenceError as error:
            raise CliError(_storage_message(settings, error), STORAGE) from None
    return None


def _check_usage(args: argparse.Namespace) -> None:
    """What argparse cannot check: raise CliError(USAGE) before any setting is read."""
    if args.command == "history":
        _parse_id(args.dossier_id)
    elif args.command == "audit" and args.audit_command == "export" and args.dossier:
        _parse_id(args.dossier)
    elif args.command == "projections" and args.projections_command in ("rebuild", "verify"):
        _selected_views(args.views)
    elif args.command == "users" and args.users_command != "list":
        _check_account_name(args.name)
        if args.users_command == "add" and Role.SUBMITTER in args.role and not args.unit:
            raise CliError(
                "Vai trò submitter (đơn vị trình) cần đơn vị của tài khoản: thêm --unit "
                "«tên đơn vị», ví dụ --unit «Sở Y tế tỉnh Cao Bằng».",
                USAGE,
            )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (never raises for an expected failure)."""
    out, err = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else USAGE)
    try:
        _check_usage(args)
    except CliError as error:
        print(f"Lỗi: {error.message}", file=err)
        return error.code
    if args.command == "audit" and args.audit_command == "verify-export":
        return _offline(lambda: audit_verify_export(args.file, args.public_key, out), err)
    try:
        settings = Settings()
    except ValidationError as error:
        print("Lỗi: cấu hình không hợp lệ:", file=err)
        for problem in describe_settings_error(error):
            print(f"  - {problem}", file=err)
        return CONFIGURATION
    configure_logging(settings)
    try:
        status = _execute(args, settings, out, err)
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
    return OK if status is None else status


def _offline(run: Callable[[], None], err: TextIO) -> int:
    """A command that reads no settings and opens no store (``audit verify-export``)."""
    try:
        run()
    except CliError as error:
        print(f"Lỗi: {error.message}", file=err)
        return error.code
    except BrokenPipeError:
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
