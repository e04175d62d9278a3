"""Property-based API test: schemathesis against the app's own /openapi.json.

For each staff role, every operation of the document gets generated requests (valid ones, and
a share of invalid ones), sent through the real app over a SQLite store holding the demo data
set (movements, 68 dossiers in every status, one account per role and a council), with that
role's bearer token. Generated path ids are often swapped for real ones, and a stale
``If-Match`` for the current version, so requests reach the domain rules and not only the 404
and 412 answers. Every answer must:

* not be a server error (no input ever causes a 5xx);
* have a status the operation documents (its problems are documented, 409/412/422/428 too);
* have a documented content type (``application/problem+json`` for errors);
* match the documented schema of that status.

Each role gets its own copy of the store, so what one role changes (an admin disabling an
account, a chairman deciding) does not steer the others. ``KHENTHUONG_FUZZ_EXAMPLES`` raises
the number of examples per operation for a longer hunt.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from application.demo import (
    COUNCIL,
    DEMO_ACCOUNTS,
    demo_dossier_ids,
    ensure_demo_accounts,
    load_demo,
)
from domain.shared import Actor, Role
from infrastructure.bootstrap import Services, bootstrap
from tests.api.conftest import make_settings
from tests.application.support import ManualClock

TODAY = date(2026, 3, 2)
POSITIVE_EXAMPLES = int(os.environ.get("KHENTHUONG_FUZZ_EXAMPLES", "15"))
NEGATIVE_EXAMPLES = max(3, POSITIVE_EXAMPLES // 3)


def status_is_listed(ctx: Any, response: Any, case: Any) -> bool | None:
    """Stricter than ``status_code_conformance``, which any status passes once an operation
    has a ``default`` answer (ours all do, for 500/503): a 4xx must be listed by number."""
    listed = {str(code) for code in case.operation.responses.status_codes}
    if 400 <= response.status_code < 500 and str(response.status_code) not in listed:
        raise AssertionError(
            f"{case.operation.label} answered {response.status_code}, which it does not "
            f"document ({', '.join(sorted(listed))})"
        )
    return None


def not_a_server_error_but_a_wait(ctx: Any, response: Any, case: Any) -> bool | None:
    """No 5xx, except the documented 503 of a read asked to wait (``?after=``) for a log
    position the views have not reached (a generated position is mostly beyond the log)."""
    if response.status_code == 503 and "after" in (case.query or {}):
        assert response.headers.get("retry-after") in ("1", ["1"])
        assert response.json()["type"] == "/problems/views-not-caught-up"
        return None
    return not_a_server_error(ctx, response, case)  # type: ignore[no-any-return]


CHECKS = [
    not_a_server_error_but_a_wait,
    status_code_conformance,
    status_is_listed,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = [role.value for role in Role if role is not Role.PUBLIC]
AUDITOR = Actor("fuzz.reader", Role.AUDITOR)


@dataclass(frozen=True)
class Demo:
    data_dir: Path
    tokens: dict[str, str]
    """role → the token of the demo account acting in that role."""
    movement_ids: list[str]
    account_names: list[str]
    names: dict[str, str]
    """role → the name of the demo account acting in that role."""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo data set loaded once; each role's test works on its own copy of the file."""
    data_dir = tmp_path_factory.mktemp("fuzz-demo") / "data"
    with bootstrap(make_settings("sqlite", data_dir), clock=start()) as services:
        summary = load_demo(services.movements, services.dossiers, today=TODAY, log=ignore)
        issued = {token.account: token.token for token in ensure_demo_accounts(services.accounts)}
    tokens = {account.role.value: issued[account.name] for account in DEMO_ACCOUNTS}
    assert sorted(tokens) == sorted(ROLES)
    names = [account.name for account in DEMO_ACCOUNTS] + [member.user_id for member in COUNCIL]
    return Demo(
        data_dir,
        tokens,
        [str(each) for each in summary.movements.values()],
        names,
        {account.role.value: account.name for account in DEMO_ACCOUNTS},
    )


def start() -> ManualClock:
    return ManualClock(datetime(TODAY.year, TODAY.month, TODAY.day, 2, 0, tzinfo=UTC))


def ignore(_line: str) -> None:
    pass


@pytest.fixture
def services(demo: Demo, tmp_path: Path) -> Iterator[Services]:
    data_dir = tmp_path / "data"
    shutil.copytree(demo.data_dir, data_dir)
    quiet = make_settings("sqlite", data_dir).model_copy(update={"log_level": "WARNING"})
    with bootstrap(quiet, clock=start()) as ready:
        yield ready


def current_version(services: Services, case: Any) -> int | None:
    """The version of what the case acts on, so an If-Match can be fresh."""
    parameters = case.path_parameters or {}
    try:
        if "dossier_id" in parameters:
            return services.dossiers.get(
                UUID(str(parameters["dossier_id"])), viewer=AUDITOR
            ).version
        if "movement_id" in parameters:
            movement_id = UUID(str(parameters["movement_id"]))
            return services.movements.get_movement(movement_id, viewer=AUDITOR).version
    except Exception:  # an id that names nothing: leave the generated header
        return None
    return None


@pytest.mark.parametrize("role", ROLES)
def test_no_generated_request_breaks_the_contract(
    role: str, demo: Demo, services: Services
) -> None:
    app = create_app(services.settings, services=services)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    auth = {"Authorization": f"Bearer {demo.tokens[role]}"}
    dossier_ids = [str(each) for each in demo_dossier_ids()]
    real: dict[str, list[str]] = {
        "dossier_id": dossier_ids,
        "movement_id": demo.movement_ids,
        # not the caller's own account: an admin disabling itself would end its own run
        "name": [name for name in demo.account_names if name != demo.names[role]],
    }
    failures: list[str] = []
    calls = 0

    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):

            @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                print_blob=True,
            )
            def check(case: Any, data: st.DataObject) -> None:
                nonlocal calls
                calls += 1
                for name, values in real.items():
                    if name in (case.path_parameters or {}) and data.draw(st.booleans()):
                        case.path_parameters[name] = data.draw(st.sampled_from(values))
                headers = case.headers if case.headers is not None else {}
                if "X-Role" in headers and data.draw(st.booleans()):
                    headers["X-Role"] = role
                if "If-Match" in headers and data.draw(st.booleans()):
                    version = current_version(services, case)
                    if version is not None:
                        headers["If-Match"] = f'"{version}"'
                response = case.call(headers=auth)
                case.validate_response(response, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
            except Exception as error:  # report every operation, not only the first
                failures.append(f"{operation.label} ({mode.value}):\n{error}")

    assert calls > 0
    assert not failures, f"{len(failures)} operation(s) broke the contract as {role}:\n\n" + (
        "\n\n".join(failures)
    )
