"""``khenthuong users ...`` and the demo's accounts: tokens shown once, revoked, refused."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from api.cli import main
from application.accounts import SYSTEM, Accounts, Unauthenticated
from application.demo import (
    APPRAISERS,
    CHAIRMAN,
    DEMO_ACCOUNTS,
    READER,
    SECRETARY,
    demo_dossier_ids,
    ensure_demo_accounts,
    load_demo,
)
from domain.accounts import ACCOUNT_NAME, STAFF_ROLES, UserAccount
from domain.dossier import Status
from domain.shared import VIETNAM_TZ, Actor, Role, same_unit
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings

TOKEN = re.compile(r"kt_[0-9a-f]{32}_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
UNIT = "Sở Y tế tỉnh Cao Bằng"
AUDITOR = Actor("kiem-tra", Role.AUDITOR)


@pytest.fixture(autouse=True)
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "data"
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(folder))
    monkeypatch.setenv("KHENTHUONG_LOG_FORMAT", "json")
    return folder


@pytest.fixture
def services(data_dir: Path) -> Iterator[Services]:
    """Another process than the CLI's: without the authentication cache, so that what the CLI
    revokes shows at once (with it, after at most auth_cache_seconds)."""
    with bootstrap(Settings(data_dir=data_dir, auth_cache_seconds=0)) as opened:
        yield opened


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def authenticates(accounts: Accounts, token: str, role: str | None = None) -> bool:
    try:
        accounts.authenticate(token, role)
    except Unauthenticated:
        return False
    return True


# --- users add --------------------------------------------------------------------------------


def test_add_prints_only_the_token_on_stdout_and_it_authenticates(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    code, out, err = run(
        capsys,
        "users",
        "add",
        "snv.thamdinh09",
        "--role",
        "appraiser",
        "--display-name",
        "Lê Văn An",
    )

    assert code == 0
    token = out.strip()
    assert TOKEN.fullmatch(token)
    assert "MỘT LẦN" in err
    assert "«snv.thamdinh09» (Lê Văn An)" in err
    principal = services.accounts.authenticate(token)
    assert principal.actor == Actor("snv.thamdinh09", Role.APPRAISER)
    assert principal.account.display_name == "Lê Văn An"


def test_a_submitter_is_bound_to_its_unit_and_roles_can_be_several(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    code, out, _ = run(
        capsys,
        "users", "add", "syt.vanthu",
        "--role", "submitter", "--role", "council_member", "--role", "submitter",
        "--unit", UNIT,
    )  # fmt: skip

    assert code == 0
    view = services.accounts.get_account("syt.vanthu")
    assert set(view.roles) == {Role.SUBMITTER, Role.COUNCIL_MEMBER}
    assert view.display_name == "syt.vanthu"
    submitter = services.accounts.authenticate(out.strip(), "submitter").actor
    assert submitter == Actor("syt.vanthu", Role.SUBMITTER, UNIT)


def test_changes_from_the_command_line_are_made_as_the_system_actor(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    run(capsys, "users", "add", "ubnd.pct", "--role", "chairman")
    run(capsys, "users", "token", "ubnd.pct")
    run(capsys, "users", "revoke", "ubnd.pct")
    run(capsys, "users", "disable", "ubnd.pct", "--reason", "Nghỉ hưu")

    events = list(services.accounts.stored_events(UserAccount.id_for("ubnd.pct")))
    assert len(events) == 7  # created, role, token, token, revoked x2, disabled
    assert {event.by for event in events} == {SYSTEM}
    assert Actor("khenthuong-cli", Role.ADMIN) == SYSTEM


def test_a_submitter_without_a_unit_is_refused(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    code, out, err = run(capsys, "users", "add", "vanthu", "--role", "submitter")

    assert code == 2
    assert out == ""
    assert err.startswith("Lỗi: Vai trò submitter")
    assert "--unit" in err
    assert services.accounts.list_accounts() == []


@pytest.mark.parametrize("role", ["public", "superuser", ""])
def test_an_unknown_role_is_refused(
    capsys: pytest.CaptureFixture[str], services: Services, role: str
) -> None:
    code, _, err = run(capsys, "users", "add", "someone", "--role", role)

    assert code == 2
    assert "không phải vai trò" in err
    assert "council_secretary" in err
    assert services.accounts.list_accounts() == []


@pytest.mark.parametrize("name", ["Nguyen.Van.A", "a", "nguyễn", "_x", "a b"])
def test_a_malformed_account_name_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, _, err = run(capsys, "users", "add", name, "--role", "auditor")

    assert code == 2
    assert "Tên tài khoản" in err


def test_an_existing_account_is_not_created_twice(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "users", "add", "kiemtoan", "--role", "auditor")[0] == 0

    code, out, err = run(capsys, "users", "add", "kiemtoan", "--role", "admin")

    assert code == 1
    assert out == ""
    assert "Đã có tài khoản «kiemtoan»" in err
    assert "khenthuong users token kiemtoan" in err


def test_usage_errors_are_in_vietnamese(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "users")[2].endswith(
        "Lỗi: thiếu tham số bắt buộc: VIỆC (xem: khenthuong users --help)\n"
    )
    code, _, err = run(capsys, "users", "add", "abc")
    assert code == 2
    assert "thiếu tham số bắt buộc: --role" in err
    code, _, err = run(capsys, "users", "disable", "abc")
    assert code == 2
    assert "thiếu tham số bắt buộc: --reason" in err


# --- list, token, revoke, disable ---------------------------------------------------------


def test_list_shows_an_aligned_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "users", "list")[1].startswith("Chưa có tài khoản nào")
    run(capsys, "users", "add", "syt.vanthu", "--role", "submitter", "--unit", UNIT, "--display-name", "Nguyễn Thị Lan")  # fmt: skip
    run(capsys, "users", "add", "hdtdkt.thuky", "--role", "council_secretary")
    run(capsys, "users", "token", "hdtdkt.thuky")
    run(capsys, "users", "add", "cu.thanhvien", "--role", "council_member", "--role", "auditor")
    run(capsys, "users", "disable", "cu.thanhvien", "--reason", "Hết nhiệm kỳ")

    code, out, _ = run(capsys, "users", "list")

    assert code == 0
    header, rule, *rows, total = out.splitlines()
    assert header.split("  ")[0] == "Tài khoản"
    for title in ("Họ tên", "Đơn vị", "Vai trò", "Mã hiệu lực", "Bị khóa"):
        assert title in header
    assert set(rule) == {"-", " "}
    starts = [match.start() for match in re.finditer(r"-+", rule)]
    assert len(starts) == 6
    assert [row.split()[0] for row in rows] == ["cu.thanhvien", "hdtdkt.thuky", "syt.vanthu"]
    for row in rows:
        for start in starts[1:]:
            assert row[start - 2 : start] == "  "
    cells = {row.split()[0]: re.split(r"\s{2,}", row) for row in rows}
    assert cells["syt.vanthu"] == ["syt.vanthu", "Nguyễn Thị Lan", UNIT, "submitter", "1", "không"]
    assert cells["hdtdkt.thuky"][-2:] == ["2", "không"]
    assert cells["cu.thanhvien"][-3:] == ["council_member, auditor", "0", "có"]
    assert total == "3 tài khoản."


def test_token_issues_another_token_and_the_old_one_keeps_working(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    first = run(capsys, "users", "add", "snv.thamdinh02", "--role", "appraiser")[1].strip()

    code, out, err = run(capsys, "users", "token", "snv.thamdinh02")

    assert code == 0
    second = out.strip()
    assert TOKEN.fullmatch(second)
    assert second != first
    assert "MỘT LẦN" in err
    assert "2 mã hiệu lực" in err
    assert authenticates(services.accounts, first)
    assert authenticates(services.accounts, second)


def test_revoke_stops_every_token_of_the_account(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    first = run(capsys, "users", "add", "ubnd.chutich", "--role", "chairman")[1].strip()
    second = run(capsys, "users", "token", "ubnd.chutich")[1].strip()
    other = run(capsys, "users", "add", "snv.thamdinh01", "--role", "appraiser")[1].strip()
    assert authenticates(services.accounts, first)

    code, out, _ = run(capsys, "users", "revoke", "ubnd.chutich")

    assert code == 0
    assert out.startswith("Đã thu hồi 2 mã truy cập của tài khoản «ubnd.chutich»")
    assert not authenticates(services.accounts, first)
    assert not authenticates(services.accounts, second)
    assert authenticates(services.accounts, other)
    code, out, _ = run(capsys, "users", "revoke", "ubnd.chutich")
    assert code == 0
    assert "không có mã truy cập nào đang hiệu lực" in out
    third = run(capsys, "users", "token", "ubnd.chutich")[1].strip()
    assert authenticates(services.accounts, third)


def test_disable_needs_a_reason_and_stops_the_account(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    token = run(capsys, "users", "add", "m07", "--role", "council_member")[1].strip()

    code, out, _ = run(capsys, "users", "disable", "m07", "--reason", "Chuyển công tác")

    assert code == 0
    assert out.startswith("Đã khóa tài khoản «m07»: 1 mã truy cập ngừng hiệu lực ngay")
    assert not authenticates(services.accounts, token)
    assert services.accounts.get_account("m07").disabled
    code, out, err = run(capsys, "users", "token", "m07")
    assert (code, out) == (1, "")
    assert "đã bị khóa" in err
    assert run(capsys, "users", "disable", "m07", "--reason", "lần nữa")[0] == 1
    assert run(capsys, "users", "disable", "m07", "--reason", "   ")[0] == 2


@pytest.mark.parametrize("action", [["revoke"], ["token"], ["disable", "--reason", "x"]])
def test_an_unknown_account_is_reported(
    capsys: pytest.CaptureFixture[str], action: list[str]
) -> None:
    code, out, err = run(capsys, "users", action[0], "khong.co", *action[1:])

    assert code == 1
    assert out == ""
    assert err == "Lỗi: Không có tài khoản «khong.co» (xem danh sách: khenthuong users list).\n"


# --- the demo's accounts ----------------------------------------------------------------------


def test_the_demo_has_one_account_per_role_each_with_a_working_token(services: Services) -> None:
    issued = ensure_demo_accounts(services.accounts)

    assert [demo.role for demo in DEMO_ACCOUNTS] == list(STAFF_ROLES)
    assert [token.account for token in issued] == [demo.name for demo in DEMO_ACCOUNTS]
    for demo, token in zip(DEMO_ACCOUNTS, issued, strict=True):
        assert ACCOUNT_NAME.match(demo.name)
        actor = services.accounts.authenticate(token.token).actor
        assert (actor.user_id, actor.role) == (demo.name, demo.role)
    submitter = DEMO_ACCOUNTS[0]
    assert submitter.unit is not None
    assert services.accounts.authenticate(issued[0].token).actor.unit == submitter.unit
    # the whole council of the histories, so that a review opened from the accounts has 15
    members = services.accounts.members_with_role(Role.COUNCIL_MEMBER)
    assert members == [f"m{number:02d}" for number in range(1, 16)]


def test_running_it_again_issues_new_tokens_and_the_old_ones_stop_working(
    services: Services,
) -> None:
    first = ensure_demo_accounts(services.accounts)
    count = len(services.accounts.list_accounts())

    second = ensure_demo_accounts(services.accounts)

    assert len(services.accounts.list_accounts()) == count
    assert len(second) == len(first) == len(DEMO_ACCOUNTS)
    for old, new in zip(first, second, strict=True):
        assert old.account == new.account
        assert not authenticates(services.accounts, old.token)
        assert authenticates(services.accounts, new.token)
        assert services.accounts.get_account(new.account).token_ids == (new.token_id,)


def test_a_disabled_demo_account_stays_disabled_and_gets_no_token(services: Services) -> None:
    ensure_demo_accounts(services.accounts)
    services.accounts.disable("demo.quantri", reason="Không dùng tài khoản mẫu")

    issued = ensure_demo_accounts(services.accounts)

    assert "demo.quantri" not in {token.account for token in issued}
    assert len(issued) == len(DEMO_ACCOUNTS) - 1
    assert services.accounts.get_account("demo.quantri").disabled


def test_the_demo_accounts_are_the_people_of_the_histories(services: Services) -> None:
    today = datetime.now(VIETNAM_TZ).date()
    load_demo(services.movements, services.dossiers, today=today, log=lambda _line: None)
    by_role = {demo.role: demo for demo in DEMO_ACCOUNTS}
    dossiers = [services.dossiers.get(each, viewer=AUDITOR) for each in demo_dossier_ids()]

    assert by_role[Role.APPRAISER].name == APPRAISERS[0].user_id
    assert by_role[Role.COUNCIL_SECRETARY].name == SECRETARY.user_id
    assert by_role[Role.CHAIRMAN].name == CHAIRMAN.user_id
    assert by_role[Role.AUDITOR].name == READER.user_id
    # the submitter: the unit with the most dossiers in flow, and nobody else's account
    submitter = by_role[Role.SUBMITTER]
    assert submitter.unit is not None
    in_flow = {
        Status.SUBMITTED, Status.RETURNED, Status.PUBLIC_COMMENT, Status.COMMENT_CLOSED,
        Status.HELD, Status.AWAITING_COUNCIL, Status.COUNCIL_VOTING, Status.AWAITING_DECISION,
    }  # fmt: skip
    own = [d for d in dossiers if same_unit(d.submitting_unit, submitter.unit)]
    assert sum(1 for d in own if d.status in in_flow) >= 5
    assert all(submitter.name in d.submitters for d in own)
    others = {demo.name for demo in DEMO_ACCOUNTS if demo is not submitter}
    assert not any(others & set(d.submitters) for d in dossiers)
    # the member can still cast a real ballot on a dossier before the council
    member = by_role[Role.COUNCIL_MEMBER].name
    voting = [d for d in dossiers if d.status is Status.COUNCIL_VOTING]
    assert any(
        member in d.council_members and member not in d.ballots and member not in d.conflicts
        for d in voting
    )


def test_the_demo_command_prints_a_token_per_role(
    capsys: pytest.CaptureFixture[str], services: Services
) -> None:
    today = datetime.now(VIETNAM_TZ).date().isoformat()

    code, out, _ = run(capsys, "demo", "--today", today)

    assert code == 0
    table = {line.split()[-2]: line.split()[-1] for line in out.splitlines() if TOKEN.search(line)}
    assert list(table) == [demo.name for demo in DEMO_ACCOUNTS]
    for demo in DEMO_ACCOUNTS:
        line = next(line for line in out.splitlines() if table[demo.name] in line)
        assert line.strip().startswith(f"{demo.role.value}: ")
        assert services.accounts.authenticate(table[demo.name]).actor.role is demo.role
    assert "MỘT LẦN" in out

    code, again, _ = run(capsys, "demo", "--today", today)

    assert code == 0
    for token in table.values():
        assert token not in again
        assert not authenticates(services.accounts, token)
