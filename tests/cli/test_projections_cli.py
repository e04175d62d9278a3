"""``khenthuong projections``: status, rebuild, verify, and run as its own process, on SQLite
and PostgreSQL."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from api.cli import ProgressDisplay, main
from application.projections.views import VIEW_NAMES
from domain.rulebook import Subject
from domain.shared import Actor, DocumentRef, Role
from domain.values import Nominee, PersonalDetails
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings
from infrastructure.views.database import REBUILD, VERIFY
from infrastructure.views.rebuild import rebuild, verify
from tests.api.conftest import make_settings, start_clock

ROOT = Path(__file__).resolve().parents[2]
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
UNIT = "Sở Giáo dục và Đào tạo"
SUBMITTER = Actor("sgd.trinh", Role.SUBMITTER, UNIT)
ADMIN = Actor("qt.admin", Role.ADMIN)

Dump = dict[str, list[dict[str, Any]]]


@dataclass
class Store:
    """Where the commands under test keep their events: the settings, and the same as
    ``KHENTHUONG_*`` variables (set in this process, given to subprocesses)."""

    settings: Settings
    env: dict[str, str]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)
    env = {"KHENTHUONG_LOG_FORMAT": "json"}
    if request.param == "sqlite":
        settings = make_settings("sqlite", tmp_path / "data")
        env["KHENTHUONG_DATA_DIR"] = str(tmp_path / "data")
    else:
        settings = make_settings("postgres", tmp_path, request.getfixturevalue("postgres_schema"))
        assert settings.postgres_url is not None
        env["KHENTHUONG_STORE"] = "postgres"
        env["KHENTHUONG_POSTGRES_URL"] = settings.postgres_url.get_secret_value()
        env["KHENTHUONG_POSTGRES_SCHEMA"] = str(settings.postgres_schema)
        env["KHENTHUONG_POSTGRES_POOL_SIZE"] = "4"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Store(settings, env)


@pytest.fixture
def demo(store: Store, capsys: pytest.CaptureFixture[str]) -> Store:
    """``khenthuong demo`` loaded into the store."""
    assert main(["demo", "--today", "2026-03-02"]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return store


@contextmanager
def opened(store: Store, *, run_projections: bool = False) -> Iterator[Services]:
    settings = store.settings.model_copy(update={"run_projections": run_projections})
    with bootstrap(settings, clock=start_clock()) as services:
        yield services


def dump(services: Services) -> Dump:
    """Every live view table, ordered by its key."""
    database = services.projections.database
    tables: Dump = {}
    for view in services.projections.views:
        for table in view.tables:
            order = ", ".join(f'"{column}"' for column in table.key)
            tables[table.name] = database.select(table, f"SELECT * FROM {{table}} ORDER BY {order}")
    return tables


def scratch_tables(services: Services) -> list[str]:
    """Tables left over from a rebuild or a verification."""
    database = services.projections.database
    with database.transaction(write=False) as cursor:
        if database.dialect == "postgres":
            cursor.execute(
                "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = %s",
                (database.schema,),
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = [row["name"] for row in cursor.fetchall()]
    return sorted(n for n in names if n.endswith((REBUILD, VERIFY)))


def launch(services: Services, number: int) -> Any:
    return services.movements.launch(
        plan_number=f"{number}/KH-UBND",
        title=f"Phong trào thi đua số {number}",
        issuing_body="Ủy ban nhân dân tỉnh Đắk Nông",
        issued_on=date(2025, 1, 2),
        starts_on=date(2025, 1, 2),
        ends_on=date(2026, 12, 31),
        by=ADMIN,
    ).id


def submit(services: Services, movement_id: Any, number: int) -> None:
    services.dossiers.submit(
        movement_id=movement_id,
        award_code="bang_khen_chu_tich_tinh",
        submitting_unit=UNIT,
        nominee=Nominee(Subject.INDIVIDUAL, f"Nguyễn Văn Số {number}", "Giáo viên"),
        personal=PersonalDetails(identity_number=f"{number:012d}"),
        achievements="Hoàn thành xuất sắc nhiệm vụ năm học.",
        documents=[DocumentRef("to-trinh.pdf", f"{number:064x}", 1_024)],
        by=SUBMITTER,
    )


def record(services: Services, count: int, *, first: int = 1) -> int:
    """A movement and ``count`` dossiers under it; the log's end afterwards."""
    movement_id = launch(services, 900 + first)
    for number in range(first, first + count):
        submit(services, movement_id, number)
    return services.movements.max_position()


def corrupt(services: Services) -> dict[str, str]:
    """Three kinds of damage to the live (caught-up) tables: a changed status, a deleted row,
    a changed counter; what was damaged."""
    services.projections.run_until_caught_up()
    database = services.projections.database
    dossiers = services.projections.view("listing").table("view_dossiers")
    awards = services.projections.view("register").table("view_awards")
    changed = database.select(dossiers, "SELECT id, status FROM {table} ORDER BY id LIMIT 1")[0]
    deleted = database.select(awards, "SELECT id FROM {table} ORDER BY id LIMIT 1")[0]
    live = database.qualified
    with database.transaction() as cursor:
        cursor.execute(
            database.sql(f"UPDATE {live('view_dossiers')} SET status = %s WHERE id = %s"),
            ("rejected", database.encode(dossiers, "id", changed["id"])),
        )
        cursor.execute(
            database.sql(f"DELETE FROM {live('view_awards')} WHERE id = %s"),
            (database.encode(awards, "id", deleted["id"]),),
        )
        cursor.execute(
            f'UPDATE {live("view_stat_counts")} SET "count" = "count" + 7 '
            "WHERE dimension = 'all' AND status = 'approved'"
        )
    return {
        "changed": str(changed["id"]),
        "status": changed["status"],
        "deleted": str(deleted["id"]),
    }


# --- usage ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["rebuild", "verify"])
def test_an_unknown_view_is_a_usage_error_naming_the_views(
    action: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHENTHUONG_STORE", "khong-co")  # settings are never read
    code = main(["projections", action, "listing", "khong-co"])
    err = capsys.readouterr().err
    assert code == 2
    assert "«khong-co»" in err
    for name in VIEW_NAMES:
        assert name in err
    assert "Traceback" not in err


def test_the_projections_commands_are_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["projections", "--help"]) == 0
    out = capsys.readouterr().out
    for action in ("run", "status", "rebuild", "verify"):
        assert action in out


# --- status -------------------------------------------------------------------------------------


def test_status_shows_each_view_position_and_lag(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(store) as services:
        head = record(services, 2)

    assert main(["projections", "status"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split()}
    for name in VIEW_NAMES:
        assert name in rows, out
        numbers = [cell for cell in rows[name] if cell.replace(".", "").isdigit()]
        # position 0 (nothing ran the views), the log's end, lag = head events
        assert numbers[:3] == ["0", str(head), str(head)], rows[name]

    with opened(store) as services:
        services.projections.run_until_caught_up()
    assert main(["projections", "status"]) == 0
    out = capsys.readouterr().out
    listing = next(line for line in out.splitlines() if line.startswith("listing"))
    assert listing.split()[-4:] == [str(head), str(head), "0", "0,0"]
    # the audit log's tree is listed too, written by its own follower
    tree = next(line for line in out.splitlines() if line.startswith("audit_log"))
    assert "Cây nhật ký kiểm toán" in tree
    assert tree.split()[-4:-2] == ["0", str(head)]


# --- rebuild ------------------------------------------------------------------------------------


def test_rebuild_gives_the_same_rows_and_reports_its_progress(
    demo: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(demo) as services:
        services.projections.run_until_caught_up()
        before = dump(services)
        head = services.movements.max_position()
    assert sum(len(rows) for rows in before.values()) > 100

    code = main(["projections", "rebuild", "--batch-size", "100"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"Đã dựng lại và thay vào bảng đang dùng: {len(VIEW_NAMES)} bảng tra cứu" in captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith("Dựng lại:")]
    assert 2 <= len(progress) <= 6, captured.err  # a few plain lines, not one per batch
    shown = f"{head:,}".replace(",", ".")
    assert progress[-1].startswith(f"Dựng lại: 100% ({shown}/{shown} sự kiện"), progress
    assert "sự kiện/giây" in progress[-1]

    with opened(demo) as services:
        assert dump(services) == before
        assert services.projections.positions() == dict.fromkeys(VIEW_NAMES, head)
        assert scratch_tables(services) == []


def test_rebuild_of_some_views_leaves_the_others_alone(
    demo: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(demo) as services:
        damage = corrupt(services)
    assert main(["projections", "rebuild", "register", "listing"]) == 0
    out = capsys.readouterr().out
    assert "2 bảng tra cứu" in out
    assert main(["projections", "verify"]) == 1
    out = capsys.readouterr().out
    assert damage["changed"] not in out
    assert damage["deleted"] not in out
    assert "view_stat_counts [dimension=all, key=, status=approved] count" in out


def test_rebuild_is_safe_while_commands_and_the_live_runner_run(store: Store) -> None:
    with opened(store, run_projections=True) as services:
        record(services, 30)
        stop = threading.Event()
        failures: list[BaseException] = []

        def keep_writing() -> None:
            movement_id = launch(services, 999)
            number = 100
            try:
                while not stop.is_set():
                    submit(services, movement_id, number)
                    number += 1
                    time.sleep(0.005)
            except BaseException as error:  # reported by the test
                failures.append(error)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        try:
            results = [rebuild(services.movements, services.projections.views) for _ in range(3)]
        finally:
            stop.set()
            writer.join(timeout=30)
        assert not failures
        assert all(result.position > 0 for result in results)
        head = services.movements.max_position()
        assert services.projections.wait_for(head, timeout=20)
        report = verify(services.movements, services.projections.views)
        assert report.ok, report.differences[:5]
        assert scratch_tables(services) == []


def test_the_progress_bar_is_redrawn_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressDisplay(stream, "Dựng lại", tty=True)
    for position in range(0, 10_001, 1_000):
        bar(position, 10_000)
        bar.drawn = 0.0  # as if 0.1 s had passed between batches
    bar.finish()
    text = stream.getvalue()
    frames = text.split("\r")[1:]
    assert len(frames) == 11
    assert "[" + "░" * 30 + "]" in frames[0]
    assert frames[-1].startswith("[" + "█" * 30 + "] Dựng lại: 100% (10.000/10.000 sự kiện")
    assert "còn 0:00" in frames[-1]
    assert text.endswith("\n")


# --- verify -------------------------------------------------------------------------------------


def test_verify_finds_no_difference_after_the_demo(
    demo: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["projections", "verify"])
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert "Không có khác biệt" in captured.out
    for name in ("view_dossiers", "view_agenda", "view_awards", "view_stat_counts"):
        assert name in captured.out
    assert "Dựng lại để kiểm tra: 100%" in captured.err
    with opened(demo) as services:
        assert scratch_tables(services) == []


def test_verify_prints_each_difference_and_exits_1(
    demo: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(demo) as services:
        damage = corrupt(services)

    code = main(["projections", "verify"])
    captured = capsys.readouterr()
    out = captured.out
    assert code == 1
    assert (
        f"view_dossiers [id={damage['changed']}] status: đang dùng «rejected», "
        f"dựng lại «{damage['status']}»"
    ) in out
    assert f"view_awards [id={damage['deleted']}]: thiếu trong bảng đang dùng" in out
    counts = next(line for line in out.splitlines() if line.startswith("view_stat_counts ["))
    live, rebuilt = (int(part.split("«")[1].rstrip("»")) for part in counts.split(", ")[-2:])
    assert live == rebuilt + 7
    summary = {
        cells[2]: cells[3:]  # live rows, rebuilt rows, differences
        for cells in (line.split() for line in out.splitlines())
        if len(cells) == 6 and cells[2].startswith("view_")
    }
    assert summary["view_dossiers"][2] == "1"
    assert summary["view_stat_counts"][2] == "1"
    assert summary["view_agenda"][2] == "0"
    live_rows, rebuilt_rows, differences = summary["view_awards"]
    assert (int(live_rows), differences) == (int(rebuilt_rows) - 1, "1")
    assert "Lỗi: Có 3 khác biệt" in captured.err
    assert "khenthuong projections rebuild listing register statistics" in captured.err
    with opened(demo) as services:
        assert scratch_tables(services) == []

    assert main(["projections", "verify", "listing", "--max-lines", "0"]) == 1
    out = capsys.readouterr().out
    assert "… và 1 khác biệt nữa." in out
    assert "view_awards" not in out

    assert main(["projections", "rebuild"]) == 0
    assert main(["projections", "verify"]) == 0
    capsys.readouterr()


def test_verify_catches_the_live_views_up_when_nothing_runs_them(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(store) as services:
        head = record(services, 5)
        assert services.projections.positions() == dict.fromkeys(VIEW_NAMES, 0)

    assert main(["projections", "verify"]) == 0, capsys.readouterr().err
    with opened(store) as services:
        assert services.projections.positions() == dict.fromkeys(VIEW_NAMES, head)


def test_verify_as_a_function_reports_rows_and_differences(demo: Store) -> None:
    with opened(demo) as services:
        damage = corrupt(services)
        views = [services.projections.view(name) for name in ("listing", "register")]
        report = verify(services.movements, views, keep=10)
    assert [view.name for view in report.views] == ["listing", "register"]
    assert report.total_differences == 2
    assert not report.ok
    kinds = {(d.table, d.kind, str(next(iter(d.key.values())))) for d in report.differences}
    assert kinds == {
        ("view_dossiers", "changed", damage["changed"]),
        ("view_awards", "missing", damage["deleted"]),
    }
    register = report.views[1].tables[0]
    assert register.live_rows == register.rebuilt_rows - 1


# --- run ------------------------------------------------------------------------------------------


def _command() -> list[str]:
    script = Path(sys.executable).parent / "khenthuong"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "api.cli"]


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    out: Path
    err: Path

    def output(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 30.0, *, count: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"«{text}» not printed (exit {self.process.poll()}):\n{self.output()}\n"
                    + self.err.read_text(encoding="utf-8", errors="replace")[-3000:]
                )
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@contextmanager
def running(store: Store, tmp_path: Path, name: str) -> Iterator[Running]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KHENTHUONG_")}
    env.update(store.env)
    out_path, err_path = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            [*_command(), "projections", "run", "--report-every", "1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        started = Running(process, out_path, err_path)
        try:
            yield started
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_until_caught_up(services: Services, head: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while min(services.projections.positions().values()) < head:
        assert time.monotonic() < deadline, services.projections.positions()
        time.sleep(0.1)


HOLDING = "Đang chạy (giữ khóa): " + ", ".join(VIEW_NAMES) + "."
WAITING = "Chưa giữ được khóa bảng nào"


def test_run_serves_the_views_in_its_own_process_and_hands_over_on_sigterm(
    store: Store, tmp_path: Path
) -> None:
    with opened(store) as services:
        with running(store, tmp_path, "first") as first:
            first.wait_for(HOLDING)
            with running(store, tmp_path, "second") as second:
                second.wait_for(WAITING)
                head = record(services, 3)
                wait_until_caught_up(services, head)

                assert first.stop() == 0
                assert first.output().rstrip().endswith("Đã dừng bộ chạy bảng tra cứu.")
                second.wait_for(HOLDING, timeout=20)  # takes over within the lock retry
                assert second.output().index(WAITING) < second.output().index(HOLDING)
                head = record(services, 2, first=50)
                wait_until_caught_up(services, head)
                assert second.stop() == 0
                assert second.output().rstrip().endswith("Đã dừng bộ chạy bảng tra cứu.")
        logs = first.err.read_text(encoding="utf-8") + second.err.read_text(encoding="utf-8")
        assert "Traceback" not in logs
        assert '"event": "projections_locks"' in logs
        assert '"event": "projections_progress"' in logs
        assert services.projections.positions() == dict.fromkeys(VIEW_NAMES, head)
        report = verify(services.movements, services.projections.views)
        assert report.ok
