"""``khenthuong serve``: arguments, the store prepared once, the demo first, then uvicorn."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import api.cli
from api.cli import APP_FACTORY, build_parser, main
from application.accounts import Unauthenticated
from application.demo import DEMO_ACCOUNTS, demo_dossier_ids
from domain.shared import Role
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = re.compile(r"kt_[0-9a-f]{32}_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Started:
    """What the fake ``uvicorn.run`` saw when it was called."""

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    create_tables: str | None = None
    accounts: list[str] = field(default_factory=list)
    dossiers: int = 0
    printed: str = ""
    raise_exit: int | None = None


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KHENTHUONG_LOG_FORMAT", "json")
    # serve sets it for the server's processes: monkeypatch restores it after each test
    monkeypatch.setenv("KHENTHUONG_CREATE_TABLES", "true")
    return data_dir


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Started:
    """uvicorn.run replaced: it records its arguments and what the store holds at that moment."""
    import uvicorn

    seen = Started()

    def fake_run(*args: Any, **kwargs: Any) -> None:
        seen.calls.append((args, kwargs))
        seen.create_tables = os.environ.get("KHENTHUONG_CREATE_TABLES")
        seen.printed = capsys.readouterr().out
        with bootstrap(Settings()) as services:  # KHENTHUONG_CREATE_TABLES=false by now
            seen.accounts = [view.name for view in services.accounts.list_accounts()]
            seen.dossiers = _count(services)
        if seen.raise_exit is not None:
            raise SystemExit(seen.raise_exit)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(api.cli, "_check_web_app", lambda: None)  # the app is tested on its own
    return seen


def _count(services: Any) -> int:
    found = 0
    for dossier_id in demo_dossier_ids():
        if any(True for _ in services.dossiers.stored_events(dossier_id)):
            found += 1
    return found


# --- arguments ----------------------------------------------------------------------------------


def test_the_defaults() -> None:
    args = build_parser().parse_args(["serve"])

    assert (args.host, args.port, args.workers, args.demo) == ("127.0.0.1", 8000, 1, False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "--port phải là số nguyên từ 1 đến 65535"),
        (["--port", "65536"], "--port phải là số nguyên từ 1 đến 65535"),
        (["--port", "-1"], "--port"),
        (["--port", "tám nghìn"], "--port phải là số nguyên từ 1 đến 65535"),
        (["--port"], "--port cần một giá trị"),
        (["--workers", "0"], "--workers phải là số nguyên từ 1 đến 32"),
        (["--workers", "33"], "--workers phải là số nguyên từ 1 đến 32"),
        (["--host", " "], "không phải địa chỉ máy hợp lệ"),
        (["--host", "10.255.255.1"], "không thuộc máy này"),
        (["--reload"], "không hiểu tham số: --reload"),
    ],
)
def test_bad_arguments_are_usage_errors_and_start_nothing(
    started: Started, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["serve", *argv])

    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert "Lỗi:" in err
    assert "Traceback" not in err
    assert started.calls == []


def test_a_port_in_use_is_reported_before_anything_is_prepared(
    started: Started, capsys: pytest.CaptureFixture[str], environment: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        code = main(["serve", "--port", str(port)])

    err = capsys.readouterr().err
    assert code == 1
    assert f"Cổng {port} trên 127.0.0.1 đang được một chương trình khác sử dụng" in err
    assert started.calls == []
    assert not environment.exists()


def test_a_missing_or_broken_web_app_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(api.cli, "APP_FACTORY", "api.khong_co:app_from_environment")

    code = main(["serve", "--port", str(free_port())])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("Lỗi: Không nạp được ứng dụng web (api.khong_co)")
    assert "Traceback" not in err

    monkeypatch.setattr(api.cli, "APP_FACTORY", "api.cli:khong_co")
    assert main(["serve", "--port", str(free_port())]) == 1
    assert "thiếu hàm api.cli:khong_co" in capsys.readouterr().err


def test_invalid_settings_exit_3(
    started: Started, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KHENTHUONG_STORE", "postgres")

    assert main(["serve", "--port", str(free_port())]) == 3
    assert "KHENTHUONG_POSTGRES_URL" in capsys.readouterr().err
    assert started.calls == []


# --- starting -------------------------------------------------------------------------------


def test_serve_prepares_the_store_then_hands_the_factory_to_uvicorn(
    started: Started, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHENTHUONG_CREATE_TABLES", "false")  # the store is still prepared once
    port = free_port()

    code = main(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "3"])

    assert code == 0
    ((args, kwargs),) = started.calls
    assert args == (APP_FACTORY,)
    assert APP_FACTORY == "api.app:app_from_environment"
    assert kwargs["factory"] is True
    assert (kwargs["host"], kwargs["port"], kwargs["workers"]) == ("127.0.0.1", port, 3)
    assert kwargs["log_config"] is None
    assert kwargs["access_log"] is False
    assert started.create_tables == "false"  # the workers do not create tables again
    assert started.accounts == []
    assert started.dossiers == 0
    assert "Chưa có tài khoản nào" in started.printed
    assert f"http://127.0.0.1:{port}/docs" in started.printed


def test_serve_demo_loads_the_demo_and_prints_the_tokens_before_starting(
    started: Started, environment: Path
) -> None:
    code = main(["serve", "--demo", "--port", str(free_port())])

    assert code == 0
    assert len(started.calls) == 1
    assert started.dossiers == len(demo_dossier_ids())
    assert {demo.name for demo in DEMO_ACCOUNTS} <= set(started.accounts)
    tokens = {
        line.split()[-2]: line.split()[-1]
        for line in started.printed.splitlines()
        if TOKEN.search(line)
    }
    assert list(tokens) == [demo.name for demo in DEMO_ACCOUNTS]
    assert "MỘT LẦN" in started.printed
    with bootstrap(Settings(data_dir=environment)) as services:
        for demo in DEMO_ACCOUNTS:
            assert services.accounts.authenticate(tokens[demo.name]).actor.role is demo.role

    # again: the demo adds nothing, the tokens are new and the old ones stop working
    assert main(["serve", "--demo", "--port", str(free_port())]) == 0
    assert started.dossiers == len(demo_dossier_ids())
    with bootstrap(Settings(data_dir=environment)) as services:
        for token in tokens.values():
            with pytest.raises(Unauthenticated):
                services.accounts.authenticate(token)


def test_a_server_that_fails_to_start_exits_1(
    started: Started, capsys: pytest.CaptureFixture[str]
) -> None:
    started.raise_exit = 3  # what uvicorn does when the app cannot be loaded or bound

    code = main(["serve", "--port", str(free_port())])

    assert code == 1
    assert "Máy chủ web không khởi động được" in capsys.readouterr().err


# --- the real thing ---------------------------------------------------------------------------


def _get(url: str, token: str | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _command() -> list[str]:
    script = Path(sys.executable).parent / "khenthuong"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "api.cli"]


def test_serve_demo_end_to_end(tmp_path: Path) -> None:
    """``khenthuong serve --demo`` in its own process: healthy, and a printed token works."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("KHENTHUONG_")}
    env.update(KHENTHUONG_DATA_DIR=str(tmp_path / "data"), KHENTHUONG_LOG_FORMAT="json")
    out_path, err_path = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    base = f"http://127.0.0.1:{port}"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        server = subprocess.Popen(
            [*_command(), "serve", "--demo", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if server.poll() is not None:
                    pytest.fail(
                        f"the server exited with {server.returncode}:\n"
                        + err_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                    )
                try:
                    if _get(f"{base}/healthz")[0] == 200:
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(
                        "the server did not answer /healthz within 30 s:\n"
                        + err_path.read_text(encoding="utf-8", errors="replace")[-3000:]
                    )
                time.sleep(0.2)

            printed = out_path.read_text(encoding="utf-8")
            tokens = {
                line.split()[-2]: line.split()[-1]
                for line in printed.splitlines()
                if TOKEN.search(line)
            }
            submitter = next(demo for demo in DEMO_ACCOUNTS if demo.role is Role.SUBMITTER)

            status, me = _get(f"{base}/api/v1/me", tokens[submitter.name])
            assert status == 200, me
            assert me["name"] == submitter.name
            assert me["unit"] == submitter.unit
            assert me["roles"] == ["submitter"]
            status, problem = _get(f"{base}/api/v1/me", "kt_khong_hop_le")
            assert status == 401, problem
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGINT)  # what Ctrl-C does
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
    logs = err_path.read_text(encoding="utf-8", errors="replace")
    assert server.returncode == 0, logs[-3000:]  # stopped on request, after a clean shutdown
    assert "Application shutdown complete." in logs
    assert out_path.read_text(encoding="utf-8").rstrip().endswith("Đã dừng máy chủ.")
    assert "Traceback" not in logs
    assert '"logger": "uvicorn.access"' not in logs  # the app logs each request itself
    assert '"route": "/api/v1/me"' in logs


def test_serve_creates_the_signing_key_on_first_start_readable_by_its_owner_only(
    started: Started, environment: Path
) -> None:
    key = environment / "audit-ed25519.pem"
    assert not key.exists()

    assert main(["serve", "--port", str(free_port())]) == 0

    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_serve_refuses_a_signing_key_others_can_read(
    started: Started, environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", str(free_port())]) == 0
    (environment / "audit-ed25519.pem").chmod(0o644)
    capsys.readouterr()

    assert main(["serve", "--port", str(free_port())]) == 3
    assert "chmod 600" in capsys.readouterr().err
    assert len(started.calls) == 1
