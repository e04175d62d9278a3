"""The role matrix: every /api/v1 endpoint × every staff role, through the real app.

A role the API reference (docs/api.md) does not name for an endpoint gets 403 as
application/problem+json; a role it names succeeds (2xx). Each allowed call is made against its
own dossier, movement or account, driven beforehand to the stage the call needs, so the only
thing that can refuse it is the role. The forbidden calls share one target in that same stage:
a refusal there is the role's, not the state's.

The table must cover every route the app serves under /api/v1 (a new endpoint without a row
fails ``test_the_matrix_covers_every_endpoint``), and the dossier and movement rows must agree
with the application's role policy.

The world is built once per store (module scope): the full matrix runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from httpx import Response

from application.policy import STAFF_ROLES, allowed_roles
from tests.api.conftest import ACCOUNTS, STORES, Staff, make_settings, open_staff, submission
from tests.api.drive import MEMBERS, STATE, STATE_WITH_PARTY, Driver

ROLES = (
    "submitter",
    "appraiser",
    "council_secretary",
    "council_member",
    "chairman",
    "auditor",
    "admin",
)
WHO = {
    # role → the account (in tests.api.conftest.ACCOUNTS) that holds only that role
    "submitter": "submitter",
    "appraiser": "appraiser",
    "council_secretary": "secretary",
    "council_member": "hd-01",
    "chairman": "chairman",
    "auditor": "auditor",
    "admin": "admin",
}
EVERYONE = frozenset(ROLES)
FORBIDDEN_TYPES = {
    f"/problems/{code}"
    for code in (
        "permission-denied",
        "wrong-role",
        "foreign-unit",
        "separation-of-duties",
        "not-a-council-member",
        "role-not-available",
    )
}

Prepare = Callable[[Driver, str], Any]
Call = Callable[[Driver, str, Any], Response]


@dataclass(frozen=True)
class Row:
    """One endpoint (or one variant of it) and the roles that may call it."""

    method: str
    path: str
    allowed: frozenset[str]
    prepare: Prepare
    call: Call
    variant: str = ""
    use_case: str | None = None
    mutates: bool = True
    windows: tuple[str, ...] = field(default=())
    """Awards of the elapsed comment windows one target of this row consumes."""

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.variant})" if self.variant else "")

    @property
    def targets(self) -> int:
        if not self.mutates:
            return 1
        return len(self.allowed) + (1 if self.allowed != EVERYONE else 0)


# --- requests -------------------------------------------------------------------------------------


def get(path: str) -> Call:
    def call(driver: Driver, who: str, ctx: Any) -> Response:
        return driver.staff.get(who, path.format(**ctx))

    return call


def move(action: str, body: Callable[[Driver, Any], Any]) -> Call:
    """A POST on a dossier with its current version as If-Match."""

    def call(driver: Driver, who: str, ctx: Any) -> Response:
        dossier_id = ctx["dossier_id"]
        return driver.staff.post(
            who,
            f"/api/v1/dossiers/{dossier_id}/{action.format(**ctx)}",
            body(driver, ctx),
            version=driver.version(dossier_id),
        )

    return call


def post(path: str, body: Callable[[Driver, Any], Any] | None = None) -> Call:
    def call(driver: Driver, who: str, ctx: Any) -> Response:
        return driver.staff.post(who, path.format(**ctx), body(driver, ctx) if body else None)

    return call


def delete(path: str) -> Call:
    def call(driver: Driver, who: str, ctx: Any) -> Response:
        response: Response = driver.staff.client.delete(
            path.format(**ctx), headers=driver.staff.headers(who)
        )
        return response

    return call


def on_movement(method: str, suffix: str, body: dict[str, Any]) -> Call:
    def call(driver: Driver, who: str, ctx: Any) -> Response:
        movement_id = ctx["movement_id"]
        response: Response = driver.staff.client.request(
            method,
            f"/api/v1/movements/{movement_id}{suffix}",
            json=body,
            headers=driver.staff.headers(who, If_Match=f'"{driver.movement_version(movement_id)}"'),
        )
        return response

    return call


# --- targets --------------------------------------------------------------------------------------


def nothing(_driver: Driver, _role: str) -> dict[str, Any]:
    return {}


def dossier(stage: str, *arguments: str) -> Prepare:
    def prepare(driver: Driver, _role: str) -> dict[str, Any]:
        return {"dossier_id": getattr(driver, stage)(*arguments)}

    return prepare


def a_movement(driver: Driver, _role: str) -> dict[str, Any]:
    return {"movement_id": driver.movement()}


def the_movement(driver: Driver, _role: str) -> dict[str, Any]:
    return {"movement_id": driver.staff.movement_id}


def an_account(driver: Driver, _role: str) -> dict[str, Any]:
    name = driver.account()
    return {"name": name, "token_id": driver.extra_token(name)}


def own_account(driver: Driver, role: str) -> dict[str, Any]:
    name = ACCOUNTS[WHO[role]][0]
    return {"name": name, "token_id": driver.extra_token(name)}


def a_comment(driver: Driver, _role: str) -> dict[str, Any]:
    """A dossier open for comment and the receipt code of the one comment it received."""
    dossier_id, code = driver.comment_received()
    return {"dossier_id": dossier_id, "comment_id": code}


def readable(driver: Driver, _role: str) -> dict[str, Any]:
    """A dossier of the submitter's unit in council voting, with one ballot cast."""
    dossier_id = driver.council_voting()
    driver.do("cast_ballot", dossier_id, MEMBERS[2], vote="yes")
    return {"dossier_id": dossier_id, "name": ACCOUNTS["auditor"][0]}


def audited(driver: Driver, role: str) -> dict[str, Any]:
    """A readable dossier whose events the audit log has taken."""
    context = readable(driver, role)
    services = driver.staff.services
    assert services.audit.wait_for(services.movements.max_position(), timeout=10)
    return context


# --- bodies ---------------------------------------------------------------------------------------


def fixed(body: Any) -> Callable[[Driver, Any], Any]:
    return lambda _driver, _ctx: body


def dated(**fields: Any) -> Callable[[Driver, Any], Any]:
    """A body whose fields named ``today`` get today's date."""

    def body(driver: Driver, _ctx: Any) -> dict[str, Any]:
        today = driver.today().isoformat()
        return {key: (today if value == "today" else value) for key, value in fields.items()}

    return body


def new_dossier(driver: Driver, _ctx: Any) -> dict[str, Any]:
    n = driver.number()
    return submission(driver.staff.movement_id, name=f"Trần Thị Mới {n}", identity=f"0020{n:08d}")


def new_movement(driver: Driver, _ctx: Any) -> dict[str, Any]:
    n = driver.number()
    return {
        "plan_number": f"{n}/KH-UBND",
        "title": "Phong trào thi đua mới",
        "issuing_body": "Ủy ban nhân dân tỉnh",
        "issued_on": "2026-01-05",
        "starts_on": "2026-01-05",
        "ends_on": "2026-12-31",
    }


def new_user(driver: Driver, _ctx: Any) -> dict[str, Any]:
    return {"name": f"moi.{driver.number()}", "display_name": "Người mới", "roles": ["auditor"]}


def comment_opening(driver: Driver, _ctx: Any) -> dict[str, Any]:
    closes_on = driver.services.calendar.add_working_days(driver.today(), 10)
    return {"closes_on": closes_on.isoformat()}


def council_opening(driver: Driver, _ctx: Any) -> dict[str, Any]:
    return {"meeting_on": driver.today().isoformat()}


# --- the table ------------------------------------------------------------------------------------

DOSSIER = "/api/v1/dossiers/{dossier_id}"
APPRAISER = frozenset({"appraiser"})
CHAIRMAN = frozenset({"chairman"})
ADMIN = frozenset({"admin"})
SUBMITTER = frozenset({"submitter"})
SECRETARY = frozenset({"council_secretary"})
MEMBER = frozenset({"council_member"})
DECIDERS = frozenset({"appraiser", "chairman"})
MANAGERS = frozenset({"admin", "appraiser"})

ROWS: tuple[Row, ...] = (
    # current user and accounts
    Row("GET", "/api/v1/me", EVERYONE, nothing, get("/api/v1/me"), mutates=False),
    Row("GET", "/api/v1/users", ADMIN, nothing, get("/api/v1/users"), mutates=False),
    Row("POST", "/api/v1/users", ADMIN, nothing, post("/api/v1/users", new_user)),
    Row("GET", "/api/v1/users/{name}", ADMIN, readable, get("/api/v1/users/{name}"), mutates=False),
    Row(
        "POST",
        "/api/v1/users/{name}/roles",
        ADMIN,
        an_account,
        post("/api/v1/users/{name}/roles", fixed({"role": "chairman"})),
    ),
    Row(
        "DELETE",
        "/api/v1/users/{name}/roles/{role}",
        ADMIN,
        an_account,
        delete("/api/v1/users/{name}/roles/auditor"),
    ),
    Row(
        "POST",
        "/api/v1/users/{name}/tokens",
        ADMIN,
        an_account,
        post("/api/v1/users/{name}/tokens"),
        variant="another account",
    ),
    Row(
        "POST",
        "/api/v1/users/{name}/tokens",
        EVERYONE,
        own_account,
        post("/api/v1/users/{name}/tokens"),
        variant="own account",
    ),
    Row(
        "DELETE",
        "/api/v1/users/{name}/tokens/{token_id}",
        ADMIN,
        an_account,
        delete("/api/v1/users/{name}/tokens/{token_id}"),
        variant="another account",
    ),
    Row(
        "DELETE",
        "/api/v1/users/{name}/tokens/{token_id}",
        EVERYONE,
        own_account,
        delete("/api/v1/users/{name}/tokens/{token_id}"),
        variant="own account",
    ),
    Row(
        "POST",
        "/api/v1/users/{name}/disable",
        ADMIN,
        an_account,
        post("/api/v1/users/{name}/disable", fixed({"reason": "Chuyển công tác."})),
    ),
    # movements
    Row(
        "GET",
        "/api/v1/movements",
        EVERYONE,
        nothing,
        get("/api/v1/movements"),
        use_case="movement.read",
        mutates=False,
    ),
    Row(
        "POST",
        "/api/v1/movements",
        MANAGERS,
        nothing,
        post("/api/v1/movements", new_movement),
        use_case="movement.launch",
    ),
    Row(
        "GET",
        "/api/v1/movements/{movement_id}",
        EVERYONE,
        the_movement,
        get("/api/v1/movements/{movement_id}"),
        use_case="movement.read",
        mutates=False,
    ),
    Row(
        "PATCH",
        "/api/v1/movements/{movement_id}",
        MANAGERS,
        a_movement,
        on_movement("PATCH", "", {"title": "Tên mới", "reason": "Điều chỉnh tên gọi."}),
        use_case="movement.amend",
    ),
    Row(
        "POST",
        "/api/v1/movements/{movement_id}/close",
        MANAGERS,
        a_movement,
        on_movement("POST", "/close", {"reason": "Kết thúc phong trào."}),
        use_case="movement.close",
    ),
    # dossiers: reading and submitting
    Row(
        "GET",
        "/api/v1/dossiers",
        EVERYONE,
        nothing,
        get("/api/v1/dossiers"),
        use_case="dossier.read",
        mutates=False,
    ),
    Row(
        "POST",
        "/api/v1/dossiers",
        SUBMITTER,
        nothing,
        post("/api/v1/dossiers", new_dossier),
        use_case="dossier.submit",
    ),
    Row(
        "GET",
        DOSSIER,
        EVERYONE,
        readable,
        get(DOSSIER),
        use_case="dossier.read",
        mutates=False,
    ),
    Row(
        "GET",
        DOSSIER + "/history",
        EVERYONE,
        readable,
        get(DOSSIER + "/history"),
        use_case="dossier.history",
        mutates=False,
    ),
    Row(
        "GET",
        DOSSIER + "/ballots",
        EVERYONE,
        readable,
        get(DOSSIER + "/ballots"),
        use_case="dossier.read",
        mutates=False,
    ),
    # dossiers: the moves of the flow
    Row(
        "POST",
        DOSSIER + "/return-for-supplement",
        APPRAISER,
        dossier("submitted"),
        move("return-for-supplement", fixed({"missing": ["Biên bản họp"], "note": ""})),
        use_case="dossier.return_for_supplement",
    ),
    Row(
        "POST",
        DOSSIER + "/supplement",
        SUBMITTER,
        dossier("returned"),
        move("supplement", fixed({"note": "Đã bổ sung biên bản họp."})),
        use_case="dossier.supplement",
    ),
    Row(
        "POST",
        DOSSIER + "/public-comment/open",
        APPRAISER,
        dossier("state_submitted"),
        move("public-comment/open", comment_opening),
        use_case="dossier.open_public_comment",
    ),
    Row(
        "POST",
        DOSSIER + "/comments",
        APPRAISER,
        dossier("comment_open"),
        move("comments", fixed({"kind": "support", "text": "Đồng ý.", "contact": "0912000001"})),
        use_case="dossier.receive_comment",
    ),
    Row(
        "GET",
        DOSSIER + "/comments",
        frozenset({"appraiser", "auditor"}),
        readable,
        get(DOSSIER + "/comments"),
        use_case="dossier.comments",
        mutates=False,
    ),
    Row(
        "POST",
        DOSSIER + "/comments/{comment_id}/moderation",
        APPRAISER,
        a_comment,
        move(
            "comments/{comment_id}/moderation",
            fixed({"decision": "withheld", "reason": "Nội dung xúc phạm cá nhân."}),
        ),
        use_case="dossier.moderate_comment",
    ),
    Row(
        "POST",
        DOSSIER + "/public-comment/close",
        APPRAISER,
        dossier("comment_elapsed"),
        move("public-comment/close", fixed({})),
        use_case="dossier.close_public_comment",
        windows=(STATE,),
    ),
    Row(
        "POST",
        DOSSIER + "/hold",
        DECIDERS,
        dossier("submitted"),
        move("hold", fixed({"kind": "inspection", "reason": "Đang thanh tra."})),
        use_case="dossier.hold",
    ),
    Row(
        "POST",
        DOSSIER + "/hold/lift",
        DECIDERS,
        dossier("held"),
        move("hold/lift", fixed({"outcome": "Không có vi phạm."})),
        use_case="dossier.lift_hold",
    ),
    Row(
        "POST",
        DOSSIER + "/appraisal",
        APPRAISER,
        dossier("submitted"),
        move("appraisal", fixed({"qualified": True, "opinion": "Đủ điều kiện."})),
        use_case="dossier.appraise",
    ),
    Row(
        "POST",
        DOSSIER + "/council-review",
        SECRETARY,
        dossier("awaiting_council"),
        move("council-review", council_opening),
        use_case="dossier.open_council_review",
    ),
    Row(
        "POST",
        DOSSIER + "/conflicts-of-interest",
        MEMBER,
        dossier("council_voting"),
        move("conflicts-of-interest", fixed({"reason": "Người thân của người được đề nghị."})),
        use_case="dossier.declare_conflict_of_interest",
    ),
    Row(
        "POST",
        DOSSIER + "/ballots",
        MEMBER,
        dossier("council_voting"),
        move("ballots", fixed({"vote": "yes"})),
        use_case="dossier.cast_ballot",
    ),
    Row(
        "POST",
        DOSSIER + "/council-review/conclusion",
        SECRETARY,
        dossier("council_voting"),
        move(
            "council-review/conclusion",
            fixed({"present": ["hd-01", "hd-02", "hd-03", "hd-04", "hd-05"]}),
        ),
        use_case="dossier.conclude_council_review",
    ),
    Row(
        "POST",
        DOSSIER + "/party-opinion",
        APPRAISER,
        dossier("party_awaiting_decision"),
        move(
            "party-opinion",
            dated(
                document_number="215-CV/TU",
                document_date="today",
                favourable=True,
                summary="Ban Thường vụ đồng ý.",
            ),
        ),
        use_case="dossier.record_party_opinion",
        windows=(STATE_WITH_PARTY,),
    ),
    Row(
        "POST",
        DOSSIER + "/approval",
        CHAIRMAN,
        dossier("awaiting_decision"),
        move("approval", dated(decision_number="124/QĐ-UBND", decision_date="today")),
        use_case="dossier.approve",
    ),
    Row(
        "POST",
        DOSSIER + "/rejection",
        CHAIRMAN,
        dossier("awaiting_decision"),
        move(
            "rejection",
            dated(reason="Chưa tiêu biểu.", notice_number="12/TB-UBND", notice_date="today"),
        ),
        use_case="dossier.reject",
    ),
    Row(
        "POST",
        DOSSIER + "/forwarding",
        CHAIRMAN,
        dossier("state_awaiting_decision"),
        move("forwarding", dated(submission_number="46/TTr-UBND", submission_date="today")),
        use_case="dossier.forward_upward",
        windows=(STATE,),
    ),
    Row(
        "POST",
        DOSSIER + "/central-decision",
        DECIDERS,
        dossier("forwarded"),
        move(
            "central-decision",
            dated(outcome="conferred", decision_number="1521/QĐ-TTg", decision_date="today"),
        ),
        use_case="dossier.record_central_decision",
        windows=(STATE,),
    ),
    Row(
        "POST",
        DOSSIER + "/withdrawal",
        SUBMITTER,
        dossier("submitted"),
        move("withdrawal", fixed({"reason": "Đơn vị xin rút."})),
        use_case="dossier.withdraw",
    ),
    Row(
        "POST",
        DOSSIER + "/revocation",
        CHAIRMAN,
        dossier("approved"),
        move(
            "revocation",
            dated(
                grounds="false_documents",
                explanation="Hồ sơ khai không đúng.",
                decision_number="200/QĐ-UBND",
                decision_date="today",
            ),
        ),
        variant="provincial award: the chairman signs",
    ),
    Row(
        "POST",
        DOSSIER + "/revocation",
        DECIDERS,
        dossier("conferred"),
        move(
            "revocation",
            dated(
                grounds="fraud",
                explanation="Gian dối trong kê khai thành tích.",
                decision_number="1600/QĐ-TTg",
                decision_date="today",
            ),
        ),
        variant="state award: recorded by appraiser or chairman",
        use_case="dossier.revoke",
        windows=(STATE,),
    ),
    # council
    Row(
        "GET",
        "/api/v1/council/agenda",
        EVERYONE - SUBMITTER,
        nothing,
        get("/api/v1/council/agenda"),
        mutates=False,
    ),
    # lists and figures read from the view tables (a submitter: its own unit's dossiers)
    *[
        Row("GET", path, EVERYONE, nothing, get(path), mutates=False)
        for path in (
            "/api/v1/dossiers/export.csv",
            "/api/v1/dossiers/export.xlsx",
            "/api/v1/awards",
            "/api/v1/awards/export.csv",
            "/api/v1/awards/export.xlsx",
        )
    ],
    *[
        Row("GET", path, EVERYONE - SUBMITTER, nothing, get(path), mutates=False)
        for path in ("/api/v1/consultations", "/api/v1/statistics")
    ],
    # the audit log's signed checkpoints (public too, at /du-lieu-mo/checkpoints)
    Row(
        "GET",
        "/api/v1/audit/checkpoints",
        frozenset({"auditor", "admin"}),
        nothing,
        get("/api/v1/audit/checkpoints"),
        use_case="audit.checkpoints",
        mutates=False,
    ),
    # proofs from the audit log
    Row(
        "GET",
        "/api/v1/audit/proofs/inclusion",
        frozenset({"auditor", "admin"}),
        audited,
        get("/api/v1/audit/proofs/inclusion?dossier={dossier_id}"),
        use_case="audit.proofs",
        mutates=False,
    ),
    Row(
        "GET",
        "/api/v1/audit/proofs/consistency",
        frozenset({"auditor", "admin"}),
        nothing,
        get("/api/v1/audit/proofs/consistency?from=0"),
        use_case="audit.proofs",
        mutates=False,
    ),
)

BY_NAME = {row.name: row for row in ROWS}
CASES = [pytest.param(row.name, role, id=f"{row.name} as {role}") for row in ROWS for role in ROLES]


# --- the world ------------------------------------------------------------------------------------


@dataclass
class World:
    driver: Driver
    targets: dict[tuple[str, str], Any]


def build_world(staff: Staff) -> World:
    driver = Driver(staff)
    needed: Counter[str] = Counter()
    for row in ROWS:
        for award in row.windows:
            needed[award] += row.targets
    for award, count in needed.items():
        driver.open_windows(award, count)
    driver.let_windows_elapse()
    targets: dict[tuple[str, str], Any] = {}
    for row in ROWS:
        if not row.mutates:
            shared = row.prepare(driver, "auditor")
            targets.update({(row.name, role): shared for role in ROLES})
            continue
        forbidden = [role for role in ROLES if role not in row.allowed]
        shared = row.prepare(driver, forbidden[0]) if forbidden else None
        for role in ROLES:
            targets[row.name, role] = row.prepare(driver, role) if role in row.allowed else shared
    assert not any(driver.windows.values()), "more comment windows opened than used"
    return World(driver, targets)


@pytest.fixture(scope="module", params=STORES)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if request.param == "sqlite":
        settings = make_settings("sqlite", tmp_path_factory.mktemp("matrix") / "data")
    else:
        env = request.getfixturevalue("module_postgres_schema")
        settings = make_settings("postgres", tmp_path_factory.mktemp("matrix") / "data", env)
    with open_staff(settings) as staff:
        yield build_world(staff)


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("row_name", "role"), CASES)
def test_each_role_may_call_exactly_what_the_reference_says(
    world: World, row_name: str, role: str
) -> None:
    row = BY_NAME[row_name]
    response = row.call(world.driver, WHO[role], world.targets[row_name, role])
    if role in row.allowed:
        assert 200 <= response.status_code < 300, f"{role} refused: {response.text}"
        return
    assert response.status_code == 403, (
        f"{role} not refused: {response.status_code} {response.text}"
    )
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] in FORBIDDEN_TYPES, problem
    assert problem["status"] == 403
    assert problem["title"]
    assert problem["detail"]


def served_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The app's routes with their full paths (newer FastAPI nests an included router)."""
    for route in routes:
        nested = getattr(route, "effective_route_contexts", None)
        yield from nested() if callable(nested) else [route]


def test_the_matrix_covers_every_endpoint(world: World) -> None:
    client = world.driver.staff.client
    served = {
        (method, route.path_format)
        for route in served_routes(client.app.routes)  # type: ignore[attr-defined]
        if route.path_format.startswith("/api/v1")
        for method in route.methods
    }
    documented = {
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }
    covered = {(row.method, row.path) for row in ROWS}
    assert served
    assert served == documented
    assert covered == served, {
        "without a row": sorted(served - covered),
        "rows for nothing": sorted(covered - served),
    }


def test_the_matrix_has_every_staff_role() -> None:
    assert set(ROLES) == {role.value for role in STAFF_ROLES}
    for role, who in WHO.items():
        assert ACCOUNTS[who][2].value == role


@pytest.mark.parametrize("row_name", [row.name for row in ROWS if row.use_case])
def test_the_table_agrees_with_the_role_policy(row_name: str) -> None:
    row = BY_NAME[row_name]
    assert row.use_case is not None
    policy = {role.value for role in allowed_roles(row.use_case) & STAFF_ROLES}
    assert row.allowed == policy
