"""Fixtures for the HTTP tests: the real app over SQLite (tmp_path) and PostgreSQL.

``staff`` is the usual entry point: a ``TestClient`` through ``create_app`` with services
bootstrapped on the store, a manual clock (Monday 2 March 2026, 09:00 in Vietnam), one
account and token per role, a launched movement, and helpers to submit and walk dossiers.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from application.accounts import SYSTEM
from domain.shared import Actor, Role, local_date
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings
from tests.application.support import ManualClock
from tests.conftest import PostgresDatabase

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

UNIT = "Sở Giáo dục và Đào tạo"
OTHER_UNIT = "Công an tỉnh"
MEMBER_NAMES = [f"hd-{index:02d}" for index in range(1, 6)]

ACCOUNTS: dict[str, tuple[str, str, Role, str | None]] = {
    # who: (account name, display name, role, unit)
    "admin": ("qt.admin", "Quản trị hệ thống", Role.ADMIN, None),
    "submitter": ("sgd.trinh", "Văn thư Sở Giáo dục và Đào tạo", Role.SUBMITTER, UNIT),
    "other_submitter": ("ca.trinh", "Văn thư Công an tỉnh", Role.SUBMITTER, OTHER_UNIT),
    "appraiser": ("snv.thamdinh", "Chuyên viên Sở Nội vụ", Role.APPRAISER, None),
    "secretary": ("hd.thuky", "Thư ký Hội đồng", Role.COUNCIL_SECRETARY, None),
    "chairman": ("ubnd.chutich", "Chủ tịch UBND tỉnh", Role.CHAIRMAN, None),
    "auditor": ("tt.kiemtra", "Thanh tra tỉnh", Role.AUDITOR, None),
    **{
        name: (name, f"Thành viên Hội đồng {name}", Role.COUNCIL_MEMBER, None)
        for name in MEMBER_NAMES
    },
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def submission(
    movement_id: UUID,
    award_code: str = "bang_khen_chu_tich_tinh",
    *,
    name: str = "Nguyễn Văn An",
    identity: str = "001085012345",
    kind: str = "individual",
    prior_titles: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A complete submission body, as a client would send it."""
    body: dict[str, Any] = {
        "movement_id": str(movement_id),
        "award_code": award_code,
        "nominee": {
            "kind": kind,
            "name": name,
            "position": "Giáo viên Trường THPT Chu Văn An" if kind == "individual" else "Tập thể",
        },
        "achievements": "Hoàn thành xuất sắc nhiệm vụ năm học; sáng kiến cấp tỉnh.",
        "documents": [
            {"name": "to-trinh.pdf", "sha256": sha(f"to-trinh:{name}"), "size": 12_345},
            {"name": "bao-cao-thanh-tich.pdf", "sha256": sha(f"bao-cao:{name}"), "size": 54_321},
        ],
        "prior_titles": prior_titles or [],
    }
    if kind == "individual":
        body["personal"] = {
            "identity_number": identity,
            "date_of_birth": "1985-04-12",
            "phone": "0912 345 678",
            "email": "an.nguyen@example.vn",
            "address": "12 Lê Duẩn, Gia Nghĩa",
        }
    return body


def base_titles(
    code: str = "chien_si_thi_dua_co_so", years: range = range(2023, 2026)
) -> list[dict[str, Any]]:
    return [
        {"title_code": code, "year": year, "decision_number": f"{year - 2000}/QĐ-SGDĐT"}
        for year in years
    ]


@dataclass
class Staff:
    """A client with a token per role and helpers that speak HTTP like a real client."""

    client: TestClient
    services: Services
    clock: ManualClock
    tokens: dict[str, str]
    movement_id: UUID
    submitted: list[UUID] = field(default_factory=list)

    # --- plumbing -----------------------------------------------------------------------------

    def headers(self, who: str | None, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        headers.update({key.replace("_", "-"): value for key, value in extra.items()})
        return headers

    def get(self, who: str | None, path: str, **params: Any) -> Response:
        return self.client.get(path, headers=self.headers(who), params=params or None)

    def post(
        self,
        who: str | None,
        path: str,
        body: Any = None,
        *,
        version: int | str | None = None,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        sent = self.headers(who)
        if version is not None:
            sent["If-Match"] = f'"{version}"' if isinstance(version, int) else version
        if key is not None:
            sent["Idempotency-Key"] = key
        sent.update(headers or {})
        return self.client.post(path, json=body, headers=sent)

    def today(self) -> date:
        return local_date(self.clock())

    # --- dossiers -----------------------------------------------------------------------------

    def submit(self, who: str = "submitter", **overrides: Any) -> UUID:
        """Submit a dossier (bang_khen_chu_tich_tinh by default); its id."""
        response = self.post(who, "/api/v1/dossiers", submission(self.movement_id, **overrides))
        assert response.status_code == 201, response.text
        dossier_id = UUID(response.json()["id"])
        self.submitted.append(dossier_id)
        return dossier_id

    def state(self, dossier_id: UUID, who: str = "appraiser") -> dict[str, Any]:
        response = self.get(who, f"/api/v1/dossiers/{dossier_id}")
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        return state

    def version(self, dossier_id: UUID) -> int:
        return int(self.state(dossier_id)["version"])

    def move(
        self, who: str, dossier_id: UUID, action: str, body: Any = None, *, expect: int = 200
    ) -> Response:
        """A move with the current version as If-Match; asserts the expected status."""
        response = self.post(
            who,
            f"/api/v1/dossiers/{dossier_id}/{action}",
            body if body is not None else {},
            version=self.version(dossier_id),
        )
        assert response.status_code == expect, response.text
        return response

    def appraise(self, dossier_id: UUID, qualified: bool = True) -> Response:
        state = self.state(dossier_id)
        answers = {
            comment["comment_id"]: {"disposition": "noted", "reason": "Tiếp thu ý kiến."}
            for comment in state["public_comment"]["comments"]
        }
        return self.move(
            "appraiser",
            dossier_id,
            "appraisal",
            {"qualified": qualified, "opinion": "Hồ sơ đủ thành phần.", "answers": answers},
        )

    def run_council(self, dossier_id: UUID, yes: int = len(MEMBER_NAMES)) -> Response:
        """Open the review with every member account, let them vote, conclude with all present."""
        meeting_on = (self.today() + timedelta(days=2)).isoformat()
        self.move("secretary", dossier_id, "council-review", {"meeting_on": meeting_on})
        for index, member in enumerate(MEMBER_NAMES):
            vote = "yes" if index < yes else "no"
            self.move(member, dossier_id, "ballots", {"vote": vote})
        return self.move(
            "secretary", dossier_id, "council-review/conclusion", {"present": MEMBER_NAMES}
        )

    def approve(self, dossier_id: UUID, number: str = "123/QĐ-UBND") -> Response:
        return self.move(
            "chairman",
            dossier_id,
            "approval",
            {"decision_number": number, "decision_date": self.today().isoformat()},
        )

    def run_public_comment(self, dossier_id: UUID) -> Response:
        """Open the window for its minimum, take one comment, let it run out, close it."""
        calendar = self.services.calendar
        closes_on = calendar.add_working_days(self.today(), 10)
        self.move(
            "appraiser", dossier_id, "public-comment/open", {"closes_on": closes_on.isoformat()}
        )
        self.move(
            "appraiser",
            dossier_id,
            "comments",
            {"kind": "support", "text": "Tôi đồng ý đề nghị.", "author_name": "Lê Thị Hoa"},
        )
        self.clock.set_local(closes_on + timedelta(days=1))
        while not calendar.is_working_day(self.today()):
            self.clock.advance(days=1)
        return self.move("appraiser", dossier_id, "public-comment/close")


# --- building blocks (also for module-scoped worlds) -------------------------------------------


def make_settings(
    store: str, data_dir: Path, postgres_env: dict[str, str] | None = None
) -> Settings:
    """Settings for SQLite in ``data_dir`` or for the PostgreSQL schema of ``postgres_env``."""
    if store == "sqlite":
        return Settings(store="sqlite", data_dir=data_dir, log_format="json")
    assert postgres_env is not None
    env = postgres_env
    auth = env["POSTGRES_USER"]
    if env.get("POSTGRES_PASSWORD"):
        auth += f":{env['POSTGRES_PASSWORD']}"
    url = f"postgresql://{auth}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
    return Settings(
        store="postgres",
        postgres_url=url,
        postgres_schema=env["POSTGRES_SCHEMA"],
        postgres_pool_size=4,
        log_format="json",
        data_dir=data_dir,  # key files (CSRF, audit signing) go here, not into the checkout
    )


def start_clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # Monday 09:00 in Vietnam


def create_accounts(services: Services) -> dict[str, str]:
    """One account per role (and five council members), each with a token: who → token."""
    issued: dict[str, str] = {}
    for who, (name, display_name, role, unit) in ACCOUNTS.items():
        _, token = services.accounts.create_account(
            name=name, display_name=display_name, roles=[role], unit=unit, by=SYSTEM
        )
        assert token is not None
        issued[who] = token.token
    return issued


def launch_movement(services: Services) -> UUID:
    receipt = services.movements.launch(
        plan_number="461/KH-UBND",
        title="Phong trào thi đua cao điểm chào mừng 20 năm thành lập tỉnh",
        issuing_body="Ủy ban nhân dân tỉnh Đắk Nông",
        issued_on=date(2022, 8, 11),
        starts_on=date(2022, 8, 11),
        ends_on=date(2026, 10, 31),
        by=Actor("qt.admin", Role.ADMIN),
    )
    return receipt.id


@contextmanager
def open_staff(settings: Settings, clock: ManualClock | None = None) -> Iterator[Staff]:
    """A whole world outside the function-scoped fixtures (for module-scoped setups): services
    on ``settings``, the app, a client, the accounts and the movement; closed on exit."""
    ticking = clock or start_clock()
    with bootstrap(settings, clock=ticking) as ready:
        tokens = create_accounts(ready)
        movement = launch_movement(ready)
        with TestClient(create_app(settings, services=ready)) as test_client:
            yield Staff(test_client, ready, ticking, tokens, movement)


@pytest.fixture(scope="module")
def module_postgres_schema(postgres_database: PostgresDatabase) -> Iterator[dict[str, str]]:
    """Like ``postgres_schema``, for a whole module: the eventsourcing env of a fresh schema."""
    import psycopg
    from psycopg import sql

    schema = f"m_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_database.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield postgres_database.env(schema)
    finally:
        with psycopg.connect(postgres_database.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(params=STORES)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings("sqlite", tmp_path / "data")
    return make_settings("postgres", tmp_path, request.getfixturevalue("postgres_schema"))


@pytest.fixture
def clock() -> ManualClock:
    return start_clock()


@pytest.fixture
def services(settings: Settings, clock: ManualClock) -> Iterator[Services]:
    with bootstrap(settings, clock=clock) as ready:
        yield ready


@pytest.fixture
def app(settings: Settings, services: Services) -> FastAPI:
    return create_app(settings, services=services)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    """One account per role (and five council members), each with a token: who → token."""
    return create_accounts(services)


@pytest.fixture
def movement_id(services: Services) -> UUID:
    return launch_movement(services)


@pytest.fixture
def staff(
    client: TestClient,
    services: Services,
    clock: ManualClock,
    tokens: dict[str, str],
    movement_id: UUID,
) -> Staff:
    return Staff(client, services, clock, tokens, movement_id)
