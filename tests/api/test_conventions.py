"""The conventions every endpoint follows (docs/api.md, "Conventions"), through the real app on
SQLite and PostgreSQL: ETag and If-Match, concurrent writers, Idempotency-Key, authentication
and roles, problem details, body limits and strict input, request ids and the access log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.idempotency import derived_id
from application.accounts import SYSTEM
from domain.rulebook import Subject
from domain.shared import DocumentRef, Role
from domain.values import Nominee, PersonalDetails
from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.api.conftest import Staff, sha, submission
from tests.api.drive import SUBMITTER, Driver

PROBLEM = "application/problem+json"
MIB = 1024 * 1024


def dossier_path(dossier_id: UUID, action: str = "") -> str:
    return f"/api/v1/dossiers/{dossier_id}" + (f"/{action}" if action else "")


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with the stable type, Vietnamese title and detail, no echo."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{code}", problem
    assert problem["status"] == status
    assert any(ord(char) > 127 for char in problem["title"]), problem["title"]
    assert any(ord(char) > 127 for char in problem["detail"]), problem["detail"]
    return problem


def history(staff: Staff, dossier_id: UUID) -> list[dict[str, Any]]:
    response = staff.get("auditor", dossier_path(dossier_id, "history"))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def appraisal() -> dict[str, Any]:
    return {"qualified": True, "opinion": "Hồ sơ đủ thành phần."}


# --- ETag and If-Match ----------------------------------------------------------------------------


def test_reads_answer_the_version_as_etag(staff: Staff) -> None:
    dossier_id = staff.submit()
    staff.move("appraiser", dossier_id, "hold", {"kind": "complaint", "reason": "Có đơn."})
    now = staff.get("auditor", dossier_path(dossier_id))
    assert now.headers["etag"] == '"2"'
    assert now.json()["version"] == 2
    then = staff.get("auditor", dossier_path(dossier_id), version=1)
    assert then.headers["etag"] == '"1"'
    assert then.json()["status"] == "submitted"
    movement = staff.get("auditor", f"/api/v1/movements/{staff.movement_id}")
    assert movement.headers["etag"] == f'"{movement.json()["version"]}"'


@pytest.mark.parametrize("if_match", ['"1"', 'W/"1"', "1", ' "1" '])
def test_each_accepted_form_of_if_match_acts_on_that_version(staff: Staff, if_match: str) -> None:
    dossier_id = staff.submit()
    response = staff.post(
        "appraiser", dossier_path(dossier_id, "appraisal"), appraisal(), version=if_match
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    assert set(response.json()) == {"id", "version", "position"}


def test_a_move_without_if_match_is_428_and_writes_nothing(staff: Staff) -> None:
    dossier_id = staff.submit()
    for if_match in (None, "", "  "):
        headers: dict[str, str] = {} if if_match is None else {"If-Match": if_match}
        response = staff.post(
            "appraiser", dossier_path(dossier_id, "appraisal"), appraisal(), headers=headers
        )
        assert_problem(response, 428, "precondition-required")
    assert len(history(staff, dossier_id)) == 1


@pytest.mark.parametrize("if_match", ["*", '"1", "2"', "abc", '"x1"', 'W/"-1"', "1234567890"])
def test_a_malformed_if_match_is_400(staff: Staff, if_match: str) -> None:
    dossier_id = staff.submit()
    response = staff.post(
        "appraiser", dossier_path(dossier_id, "appraisal"), appraisal(), version=if_match
    )
    assert_problem(response, 400, "invalid-if-match")
    assert staff.version(dossier_id) == 1


def test_a_stale_if_match_is_412_with_the_current_version_on_dossiers_and_movements(
    staff: Staff,
) -> None:
    dossier_id = staff.submit()
    staff.move("appraiser", dossier_id, "hold", {"kind": "complaint", "reason": "Có đơn."})
    response = staff.post(
        "chairman", dossier_path(dossier_id, "hold/lift"), {"outcome": "Đã rõ."}, version=1
    )
    problem = assert_problem(response, 412, "version-conflict")
    assert problem["current_version"] == 2
    assert response.headers["etag"] == '"2"'
    assert staff.version(dossier_id) == 2

    path = f"/api/v1/movements/{staff.movement_id}"
    stale = staff.client.patch(
        path,
        json={"title": "Tên mới", "reason": "Điều chỉnh."},
        headers=staff.headers("admin", If_Match='"7"'),
    )
    assert assert_problem(stale, 412, "version-conflict")["current_version"] == 1
    missing = staff.client.patch(
        path, json={"title": "Tên mới", "reason": "Điều chỉnh."}, headers=staff.headers("admin")
    )
    assert_problem(missing, 428, "precondition-required")


def test_two_writers_with_the_same_if_match_never_both_win(staff: Staff) -> None:
    """Both load version 1 and pass the check before either saves (held at the clock): the
    store refuses the second save, so one gets 200 and the other 412, never last-write-wins."""
    dossier_id = staff.submit()
    barrier = threading.Barrier(2, timeout=10)

    def both_loaded() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    staff.clock.hook = both_loaded
    calls: list[Callable[[], Response]] = [
        lambda: staff.post(
            "appraiser",
            dossier_path(dossier_id, "return-for-supplement"),
            {"missing": ["Biên bản họp xét"]},
            version=1,
        ),
        lambda: staff.post(
            "chairman",
            dossier_path(dossier_id, "hold"),
            {"kind": "inspection", "reason": "Đang thanh tra."},
            version=1,
        ),
    ]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(lambda call: call(), calls))
    finally:
        staff.clock.hook = None
    assert not barrier.broken, "the two writers did not overlap"
    assert sorted(response.status_code for response in responses) == [200, 412], [
        response.text for response in responses
    ]
    loser = next(response for response in responses if response.status_code == 412)
    assert assert_problem(loser, 412, "version-conflict")["current_version"] == 2
    events = history(staff, dossier_id)
    assert len(events) == 2
    assert events[1]["event"] in {"ReturnedForSupplement", "Held"}


# --- Idempotency-Key ------------------------------------------------------------------------------


def test_a_replayed_move_returns_the_first_answer_and_writes_nothing(staff: Staff) -> None:
    dossier_id = staff.submit()
    path = dossier_path(dossier_id, "appraisal")
    first = staff.post("appraiser", path, appraisal(), version=1, key="tham-dinh-1")
    assert first.status_code == 200, first.text
    position = staff.services.dossiers.max_position()
    # If-Match is now stale, yet the retry gets the first answer: it is the same request.
    again = staff.post("appraiser", path, appraisal(), version=1, key="tham-dinh-1")
    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert staff.services.dossiers.max_position() == position
    assert len(history(staff, dossier_id)) == 2


def test_the_same_key_with_another_body_path_or_method_is_422(staff: Staff) -> None:
    dossier_id = staff.submit()
    path = dossier_path(dossier_id, "hold")
    body = {"kind": "complaint", "reason": "Có đơn khiếu nại."}
    assert staff.post("appraiser", path, body, version=1, key="k-1").status_code == 200
    position = staff.services.dossiers.max_position()
    other_body = staff.post(
        "appraiser", path, {**body, "reason": "Lý do khác."}, version=2, key="k-1"
    )
    assert_problem(other_body, 422, "idempotency-key-reused")
    other_path = staff.post(
        "appraiser", dossier_path(dossier_id, "hold/lift"), {"outcome": "Xong."}, key="k-1"
    )
    assert_problem(other_path, 422, "idempotency-key-reused")
    assert staff.services.dossiers.max_position() == position


def test_keys_are_per_user(staff: Staff) -> None:
    first = staff.submit()
    second = staff.submit(name="Trần Thị Bình", identity="001190054321")
    body = {"kind": "complaint", "reason": "Có đơn khiếu nại."}
    by_appraiser = staff.post("appraiser", dossier_path(first, "hold"), body, version=1, key="k")
    by_chairman = staff.post("chairman", dossier_path(second, "hold"), body, version=1, key="k")
    assert by_appraiser.status_code == by_chairman.status_code == 200
    assert "idempotent-replayed" not in by_chairman.headers
    assert by_chairman.json()["id"] == str(second)
    assert staff.state(second)["status"] == "held"


def test_only_successes_are_remembered(staff: Staff) -> None:
    dossier_id = staff.submit()
    path = dossier_path(dossier_id, "appraisal")
    stale = staff.post("appraiser", path, appraisal(), version=5, key="retry-me")
    assert_problem(stale, 412, "version-conflict")
    fixed = staff.post("appraiser", path, appraisal(), version=1, key="retry-me")
    assert fixed.status_code == 200, fixed.text
    assert "idempotent-replayed" not in fixed.headers


@pytest.mark.parametrize("key", ["", "có dấu", "with space", "x" * 201])
def test_a_malformed_idempotency_key_is_400(staff: Staff, key: str) -> None:
    response = staff.client.post(
        "/api/v1/dossiers",
        json=submission(staff.movement_id),
        headers={**staff.headers("submitter"), "Idempotency-Key": key.encode()},
    )
    assert_problem(response, 400, "invalid-idempotency-key")
    head = staff.services.movements.max_position()
    assert staff.get("auditor", "/api/v1/dossiers", after=head).json()["items"] == []


def test_keys_are_kept_in_the_store_across_app_instances(staff: Staff, settings: Settings) -> None:
    body = submission(staff.movement_id)
    first = staff.post("submitter", "/api/v1/dossiers", body, key="nop-1")
    assert first.status_code == 201, first.text
    with (
        bootstrap(settings, clock=staff.clock) as services,
        TestClient(create_app(settings, services=services)) as other,
    ):
        again = other.post(
            "/api/v1/dossiers",
            json=body,
            headers={**staff.headers("submitter"), "Idempotency-Key": "nop-1"},
        )
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
        listed = other.get(
            "/api/v1/dossiers",
            params={"after": first.json()["position"]},
            headers=staff.headers("auditor"),
        )
        assert len(listed.json()["items"]) == 1


def test_a_submission_retried_after_a_lost_answer_cannot_create_a_second_dossier(
    staff: Staff,
) -> None:
    """The write happened but the answer was never remembered (a crash in between): the key
    names the same dossier id, so the retry is refused instead of submitting twice."""
    dossier_id = derived_id("sgd.trinh", "nop-2")
    staff.services.dossiers.submit(
        movement_id=staff.movement_id,
        award_code="bang_khen_chu_tich_tinh",
        submitting_unit=SUBMITTER.unit or "",
        nominee=Nominee(Subject.INDIVIDUAL, "Nguyễn Văn An", "Giáo viên"),
        personal=PersonalDetails(identity_number="001085012345"),
        achievements="Hoàn thành xuất sắc nhiệm vụ.",
        documents=[DocumentRef("to-trinh.pdf", sha("x"), 10)],
        by=SUBMITTER,
        dossier_id=dossier_id,
    )
    retry = staff.post("submitter", "/api/v1/dossiers", submission(staff.movement_id), key="nop-2")
    assert_problem(retry, 409, "already-exists")
    head = staff.services.movements.max_position()
    assert len(staff.get("auditor", "/api/v1/dossiers", after=head).json()["items"]) == 1


def test_a_replayed_answer_never_carries_a_token(staff: Staff) -> None:
    body = {"name": "moi.nguoi", "display_name": "Người mới", "roles": ["auditor"]}
    created = staff.post("admin", "/api/v1/users", body, key="tao-1")
    assert created.status_code == 201, created.text
    assert created.json()["token"]["token"].startswith("kt_")
    replayed = staff.post("admin", "/api/v1/users", body, key="tao-1")
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json()["token"] == {**created.json()["token"], "token": None}
    assert replayed.json()["account"] == created.json()["account"]

    issued = staff.post("auditor", "/api/v1/users/tt.kiemtra/tokens", key="ma-1")
    assert issued.status_code == 201, issued.text
    again = staff.post("auditor", "/api/v1/users/tt.kiemtra/tokens", key="ma-1")
    assert again.json() == {"token_id": issued.json()["token_id"], "token": None}
    assert len(staff.get("auditor", "/api/v1/me").json()["token_ids"]) == 2


# --- who is calling -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer kt_not-a-token", "Basic dXNlcjpwYXNz", "kt_abc"],
)
def test_without_a_valid_token_every_endpoint_is_401_with_a_bearer_challenge(
    staff: Staff, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    dossier_id = uuid4()
    for method, path in [
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/dossiers"),
        ("GET", dossier_path(dossier_id)),
        ("POST", dossier_path(dossier_id, "withdrawal")),
        ("GET", "/api/v1/council/agenda"),
        ("DELETE", "/api/v1/users/qt.admin/roles/admin"),
    ]:
        response = staff.client.request(method, path, headers=headers)
        assert_problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"


def test_a_revoked_token_or_a_disabled_account_is_401(staff: Staff) -> None:
    token = staff.tokens["auditor"]
    token_id = staff.get("auditor", "/api/v1/me").json()["token_ids"][0]
    revoked = staff.client.delete(
        f"/api/v1/users/tt.kiemtra/tokens/{token_id}", headers=staff.headers("auditor")
    )
    assert revoked.status_code == 200, revoked.text
    after = staff.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert_problem(after, 401, "unauthenticated")

    disabled = staff.post("admin", "/api/v1/users/ubnd.chutich/disable", {"reason": "Nghỉ hưu."})
    assert disabled.status_code == 200, disabled.text
    assert_problem(staff.get("chairman", "/api/v1/me"), 401, "unauthenticated")


def test_an_account_with_several_roles_chooses_one_per_request(staff: Staff) -> None:
    _, issued = staff.services.accounts.create_account(
        name="snv.kiemnhiem",
        display_name="Chuyên viên kiêm nhiệm",
        roles=[Role.APPRAISER, Role.AUDITOR],
        by=SYSTEM,
    )
    assert issued is not None
    bearer = {"Authorization": f"Bearer {issued.token}"}
    dossier_id = staff.submit()

    me = staff.client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200
    assert me.json()["acting_role"] is None
    assert me.json()["roles"] == ["appraiser", "auditor"]
    assert (
        staff.client.get("/api/v1/me", headers={**bearer, "X-Role": "auditor"}).json()[
            "acting_role"
        ]
        == "auditor"
    )

    unchosen = staff.client.get("/api/v1/dossiers", headers=bearer)
    assert_problem(unchosen, 400, "role-choice-needed")
    for role in ("chairman", "public", "no-such-role"):
        wrong = staff.client.get("/api/v1/dossiers", headers={**bearer, "X-Role": role})
        assert_problem(wrong, 403, "role-not-available")

    move = dossier_path(dossier_id, "appraisal")
    as_auditor = staff.client.post(
        move, json=appraisal(), headers={**bearer, "X-Role": "auditor", "If-Match": '"1"'}
    )
    assert_problem(as_auditor, 403, "permission-denied")
    as_appraiser = staff.client.post(
        move, json=appraisal(), headers={**bearer, "X-Role": "appraiser", "If-Match": '"1"'}
    )
    assert as_appraiser.status_code == 200, as_appraiser.text
    actor = history(staff, dossier_id)[-1]["actor"]
    assert actor == {"user_id": "snv.kiemnhiem", "role": "appraiser", "unit": None}


# --- not found, method not allowed ----------------------------------------------------------------


def test_an_unknown_dossier_or_another_units_is_404(staff: Staff) -> None:
    dossier_id = staff.submit()
    for who, target in [("auditor", uuid4()), ("other_submitter", dossier_id)]:
        for suffix in ("", "history", "ballots"):
            assert_problem(staff.get(who, dossier_path(target, suffix)), 404, "not-found")
    foreign_move = staff.post(
        "other_submitter", dossier_path(dossier_id, "withdrawal"), {"reason": "Rút."}, version=1
    )
    assert_problem(foreign_move, 404, "not-found")
    assert_problem(staff.get("auditor", f"/api/v1/movements/{uuid4()}"), 404, "not-found")
    assert_problem(staff.get("admin", "/api/v1/users/khong.co"), 404, "not-found")
    assert_problem(staff.get("auditor", "/api/v1/khong-co"), 404, "not-found")
    assert_problem(staff.get(None, "/khong-co"), 404, "not-found")
    assert staff.state(dossier_id)["status"] == "submitted"


def test_a_method_not_served_on_a_path_is_405_naming_the_allowed_ones(staff: Staff) -> None:
    for method, path, allowed in [
        ("PUT", "/api/v1/dossiers", "GET, POST"),
        ("DELETE", "/api/v1/me", "GET"),
        ("DELETE", dossier_path(uuid4(), "ballots"), "GET, POST"),
        ("GET", "/api/v1/users/qt.admin/disable", "POST"),
        ("POST", "/healthz", "GET"),
    ]:
        response = staff.client.request(method, path, headers=staff.headers("admin"))
        assert_problem(response, 405, "method-not-allowed")
        assert response.headers["allow"] == allowed


# --- bodies ---------------------------------------------------------------------------------------


def test_a_body_over_one_mebibyte_is_413_by_content_length_and_while_reading(
    staff: Staff,
) -> None:
    headers = {**staff.headers("submitter"), "Content-Type": "application/json"}
    too_big = b'{"achievements": "' + b"x" * MIB + b'"}'
    by_length = staff.client.post("/api/v1/dossiers", content=too_big, headers=headers)
    assert_problem(by_length, 413, "payload-too-large")

    def chunked() -> Any:
        for start in range(0, len(too_big), 64 * 1024):
            yield too_big[start : start + 64 * 1024]

    streamed = staff.client.post("/api/v1/dossiers", content=chunked(), headers=headers)
    assert "content-length" not in streamed.request.headers
    assert streamed.request.headers["transfer-encoding"] == "chunked"
    assert_problem(streamed, 413, "payload-too-large")

    exactly = b'{"x": "' + b"y" * (MIB - 10) + b'"}'
    assert len(exactly) == MIB - 1
    at_limit = staff.client.post("/api/v1/dossiers", content=exactly, headers=headers)
    assert_problem(at_limit, 422, "validation-error")
    head = staff.services.movements.max_position()
    assert staff.get("auditor", "/api/v1/dossiers", after=head).json()["items"] == []


@pytest.mark.parametrize("length", [b"\xb2", b"\xd9\xa3", b"-1", b"1_0", b"2, 2", b"abc"])
def test_a_malformed_content_length_is_400_not_a_server_error(staff: Staff, length: bytes) -> None:
    """Sent straight to the app (an HTTP client would not send these): "²" and "٣" are
    digits to ``str.isdigit`` but not to ``int``."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/dossiers",
        "raw_path": b"/api/v1/dossiers",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-length", length), (b"content-type", b"application/json")],
        "server": ("testserver", 80),
        "client": ("testclient", 50000),
    }
    asyncio.run(staff.client.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    problem = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert problem["type"] == "/problems/bad-request"


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_a_command_body_that_is_not_json_is_415(staff: Staff, content_type: str | None) -> None:
    headers = staff.headers("submitter")
    if content_type:
        headers["Content-Type"] = content_type
    body = json.dumps(submission(staff.movement_id)).encode()
    response = staff.client.post("/api/v1/dossiers", content=body, headers=headers)
    assert_problem(response, 415, "unsupported-media-type")


def test_json_with_a_charset_or_a_json_suffix_is_accepted(staff: Staff) -> None:
    for index, content_type in enumerate(
        ["application/json; charset=utf-8", "application/merge-patch+json"]
    ):
        body = submission(staff.movement_id, name=f"Lê Văn Số {index}", identity=f"00{index}" * 4)
        response = staff.client.post(
            "/api/v1/dossiers",
            content=json.dumps(body).encode(),
            headers={**staff.headers("submitter"), "Content-Type": content_type},
        )
        assert response.status_code == 201, response.text


def test_malformed_json_is_400(staff: Staff) -> None:
    response = staff.client.post(
        "/api/v1/dossiers",
        content=b'{"movement_id": ',
        headers={**staff.headers("submitter"), "Content-Type": "application/json"},
    )
    assert_problem(response, 400, "malformed-json")


def fields(response: Response) -> dict[str, str]:
    problem = assert_problem(response, 422, "validation-error")
    assert all(error["location"] == "body" for error in problem["errors"]), problem
    return {error["field"]: error["message"] for error in problem["errors"]}


def test_unknown_fields_and_overlong_strings_are_422_and_never_echoed(staff: Staff) -> None:
    body = submission(staff.movement_id)
    body["secret_field"] = "giá-trị-bí-mật"
    body["nominee"]["nickname"] = "x"
    body["achievements"] = "thành tích " * 2001
    body["nominee"]["name"] = "N" * 201
    response = staff.post("submitter", "/api/v1/dossiers", body)
    found = fields(response)
    assert "không được hỗ trợ" in found["secret_field"]
    assert "không được hỗ trợ" in found["nominee.nickname"]
    assert found["achievements"] == "dài quá 20000 ký tự"
    assert found["nominee.name"] == "dài quá 200 ký tự"
    assert "giá-trị-bí-mật" not in response.text
    assert "001085012345" not in response.text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-02-30", "không phải ngày có thật (YYYY-MM-DD)"),
        ("05/03/2026", "phải là ngày dạng YYYY-MM-DD"),
        ("2026-3-5", "phải là ngày dạng YYYY-MM-DD"),
        ("1899-12-31", "phải trong khoảng 1900-01-01 đến 2100-12-31"),
        ("2026-03-05T09:00:00", "phải là ngày dạng YYYY-MM-DD"),
        (20260305, "phải là ngày dạng YYYY-MM-DD"),
    ],
)
def test_a_bad_date_is_422(staff: Staff, value: Any, message: str) -> None:
    dossier_id = staff.submit()
    staff.appraise(dossier_id)
    response = staff.post(
        "chairman",
        dossier_path(dossier_id, "approval"),
        {"decision_number": "123/QĐ-UBND", "decision_date": value},
        version=2,
    )
    assert fields(response) == {"decision_date": message}


@pytest.mark.parametrize(
    "number",
    ["123/QĐ-XYZ", "123/QĐ-TTg", "0/QĐ-UBND", "123 /QĐ-UBND", "QĐ-UBND", "1234567/QĐ-UBND"],
)
def test_a_bad_decision_number_is_422(staff: Staff, number: str) -> None:
    dossier_id = staff.submit()
    staff.appraise(dossier_id)
    response = staff.post(
        "chairman",
        dossier_path(dossier_id, "approval"),
        {"decision_number": number, "decision_date": staff.today().isoformat()},
        version=2,
    )
    found = fields(response)
    assert list(found) == ["decision_number"]
    assert "123/QĐ-UBND" in found["decision_number"]
    assert staff.state(dossier_id)["status"] == "awaiting_decision"


def test_the_domain_checks_the_exact_issuer_of_a_central_decision(staff: Staff) -> None:
    """The model accepts any of QĐ-UBND, QĐ-TTg, QĐ-CTN; the award decides which one."""
    driver = Driver(staff)
    driver.open_windows("bang_khen_thu_tuong", 1)
    driver.let_windows_elapse()
    dossier_id = driver.forwarded()
    response = staff.post(
        "appraiser",
        dossier_path(dossier_id, "central-decision"),
        {
            "outcome": "conferred",
            "decision_number": "88/QĐ-CTN",
            "decision_date": staff.today().isoformat(),
        },
        version=driver.version(dossier_id),
    )
    assert_problem(response, 422, "invalid-document-number")


def test_values_are_not_coerced_from_strings(staff: Staff) -> None:
    dossier_id = staff.submit()
    response = staff.post(
        "appraiser",
        dossier_path(dossier_id, "appraisal"),
        {"qualified": "true", "opinion": "Đủ."},
        version=1,
    )
    assert fields(response) == {"qualified": "phải là true hoặc false"}


def test_text_with_control_characters_is_422(staff: Staff) -> None:
    dossier_id = staff.submit()
    response = staff.post(
        "appraiser",
        dossier_path(dossier_id, "appraisal"),
        {"qualified": True, "opinion": "Đủ\x00 điều kiện"},
        version=1,
    )
    assert list(fields(response)) == ["opinion"]


def test_text_is_normalised_to_nfc(staff: Staff) -> None:
    name = "Nguyễn Thị Ánh Tuyết"
    decomposed = unicodedata.normalize("NFD", name)
    assert decomposed != name
    body = submission(staff.movement_id, name=decomposed)
    body["achievements"] = unicodedata.normalize("NFD", "  Sáng kiến cấp tỉnh.  ")
    created = staff.post("submitter", "/api/v1/dossiers", body)
    assert created.status_code == 201, created.text
    state = staff.state(UUID(created.json()["id"]))
    assert state["nominee"]["name"] == name
    assert state["achievements"] == "Sáng kiến cấp tỉnh."
    after = created.json()["position"]
    listed = staff.get("auditor", "/api/v1/dossiers", after=after).json()["items"]
    assert [item["nominee_name"] for item in listed] == [name]
    # The same person written composed is the same nominee: one open nomination only.
    again = staff.post("submitter", "/api/v1/dossiers", submission(staff.movement_id, name=name))
    assert_problem(again, 409, "duplicate-nomination")


def test_query_parameters_are_checked_too(staff: Staff) -> None:
    dossier_id = staff.submit()
    cases = [
        ("/api/v1/dossiers", {"unknown": "1"}, "unknown"),
        ("/api/v1/dossiers", {"limit": "0"}, "limit"),
        ("/api/v1/dossiers", {"limit": "201"}, "limit"),
        ("/api/v1/dossiers", {"status": "nope"}, "status[0]"),
        (dossier_path(dossier_id), {"version": "0"}, "version"),
        (dossier_path(dossier_id), {"at": "2026-03-02T09:00:00"}, "at"),
        (dossier_path(dossier_id), {"at": "hôm qua"}, "at"),
    ]
    for path, params, field in cases:
        response = staff.client.get(path, params=params, headers=staff.headers("auditor"))
        problem = assert_problem(response, 422, "validation-error")
        assert [(e["field"], e["location"]) for e in problem["errors"]] == [(field, "query")]
    both = staff.get("auditor", dossier_path(dossier_id), version=1, at="2026-03-02T09:00:00+07:00")
    assert_problem(both, 422, "invalid-moment")
    beyond = staff.get("auditor", dossier_path(dossier_id), version=9)
    assert_problem(beyond, 422, "invalid-moment")
    before = staff.get("auditor", dossier_path(dossier_id), at="2020-01-01T00:00:00+07:00")
    assert_problem(before, 422, "invalid-moment")


def test_an_unknown_query_parameter_is_a_documented_422_on_every_read(staff: Staff) -> None:
    dossier_id = staff.submit()
    values = {
        "dossier_id": str(dossier_id),
        "movement_id": str(staff.movement_id),
        "name": "tt.kiemtra",
    }
    document = staff.client.get("/openapi.json").json()
    reads = [
        (path, op) for path, ops in document["paths"].items() for m, op in ops.items() if m == "get"
    ]
    assert len(reads) == 23  # 20, the audit checkpoints, and the inclusion and consistency proofs
    for template, operation in reads:
        response = staff.client.get(
            template.format(**values), params={"khong_co": "1"}, headers=staff.headers("admin")
        )
        problem = assert_problem(response, 422, "validation-error")
        assert problem["errors"] == [
            {"field": "khong_co", "location": "query", "message": problem["errors"][0]["message"]}
        ]
        assert "422" in operation["responses"], template


def test_an_illegal_move_is_409_naming_the_status(staff: Staff) -> None:
    dossier_id = staff.submit()
    for who, action, body in [
        ("submitter", "supplement", {"note": "Bổ sung."}),
        ("chairman", "hold/lift", {"outcome": "Xong."}),
        ("secretary", "council-review", {"meeting_on": staff.today().isoformat()}),
    ]:
        response = staff.post(who, dossier_path(dossier_id, action), body, version=1)
        problem = assert_problem(response, 409, "illegal-transition")
        assert problem["dossier_status"] == "submitted"
        assert problem["dossier_status_label"] == "Đã tiếp nhận, chờ thẩm định"
        assert "«Đã tiếp nhận, chờ thẩm định»" in problem["detail"]
        assert problem["instance"] == dossier_path(dossier_id, action)


def test_each_error_has_one_stable_type(staff: Staff) -> None:
    """The same mistake twice gives the same type (clients branch on it), as problem+json."""
    dossier_id = staff.submit()
    requests: list[tuple[Callable[[], Response], int, str]] = [
        (lambda: staff.get(None, "/api/v1/me"), 401, "unauthenticated"),
        (lambda: staff.get("submitter", "/api/v1/users"), 403, "permission-denied"),
        (lambda: staff.get("auditor", dossier_path(uuid4())), 404, "not-found"),
        (
            lambda: staff.post(
                "chairman",
                dossier_path(dossier_id, "approval"),
                {"decision_number": "1/QĐ-UBND", "decision_date": staff.today().isoformat()},
                version=1,
            ),
            409,
            "illegal-transition",
        ),
        (
            lambda: staff.post("appraiser", dossier_path(dossier_id, "appraisal"), {}, version=9),
            422,
            "validation-error",
        ),
        (
            lambda: staff.post(
                "appraiser", dossier_path(dossier_id, "appraisal"), appraisal(), version=9
            ),
            412,
            "version-conflict",
        ),
        (
            lambda: staff.post("appraiser", dossier_path(dossier_id, "appraisal"), appraisal()),
            428,
            "precondition-required",
        ),
    ]
    for send, status, code in requests:
        first, second = send(), send()
        assert assert_problem(first, status, code)["type"] == second.json()["type"]
        assert first.json()["instance"] == first.request.url.path


# --- request ids, headers and the access log ------------------------------------------------------


def test_the_request_id_is_echoed_or_generated(staff: Staff) -> None:
    kept = staff.client.get(
        "/api/v1/me", headers={**staff.headers("auditor"), "X-Request-ID": "abc-123_x.y"}
    )
    assert kept.headers["x-request-id"] == "abc-123_x.y"
    for bad in ("có dấu", "x" * 65, "a b", "", "abc\n", "abc\r\nX-Evil: 1"):
        replaced = staff.client.get(
            "/api/v1/me",
            headers={**staff.headers("auditor"), "X-Request-ID": bad.encode()},
        )
        assert replaced.headers["x-request-id"] not in (bad, "")
        assert len(replaced.headers["x-request-id"]) == 32
    failed = staff.client.get("/api/v1/me", headers={"X-Request-ID": "loi-401"})
    assert failed.headers["x-request-id"] == "loi-401"
    for response in (kept, failed):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"


def server_lines(logged: str) -> list[dict[str, Any]]:
    """What the server logged (the test client's own httpx lines left out)."""
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") != "httpx"]


def access_lines(logged: str) -> list[dict[str, Any]]:
    return [line for line in server_lines(logged) if line.get("logger") == "khenthuong.access"]


def test_each_request_is_logged_once_without_tokens_or_personal_fields(
    staff: Staff, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    body = submission(staff.movement_id)
    created = staff.client.post(
        "/api/v1/dossiers?trace=secret-query",
        json=body,
        headers={**staff.headers("submitter"), "X-Request-ID": "nop-ho-so-42"},
    )
    assert created.status_code == 422  # the unknown query parameter
    created = staff.client.post(
        "/api/v1/dossiers",
        json=body,
        headers={**staff.headers("submitter"), "X-Request-ID": "nop-ho-so-43"},
    )
    assert created.status_code == 201, created.text
    dossier_id = created.json()["id"]
    read = staff.get("appraiser", f"/api/v1/dossiers/{dossier_id}")
    assert read.json()["personal"]["phone"] == "0912 345 678"
    denied = staff.client.get("/api/v1/users", headers=staff.headers("chairman"))
    assert denied.status_code == 403
    logged = json.dumps(server_lines(capsys.readouterr().err), ensure_ascii=False)

    for secret in [
        *staff.tokens.values(),
        "001085012345",
        "0912 345 678",
        "an.nguyen@example.vn",
        "12 Lê Duẩn",
        "1985-04-12",
        "secret-query",
        "Bearer",
    ]:
        assert secret not in logged, secret
    lines = [line for line in json.loads(logged) if line.get("logger") == "khenthuong.access"]
    assert len(lines) == 4
    for line in lines:
        assert {"request_id", "user_id", "role", "method", "route", "status", "duration_ms"} <= set(
            line
        )
        assert isinstance(line["duration_ms"], float)
    rejected, submitted, got, refused = lines
    assert (rejected["request_id"], rejected["status"]) == ("nop-ho-so-42", 422)
    assert submitted["request_id"] == "nop-ho-so-43"
    assert (submitted["user_id"], submitted["role"]) == ("sgd.trinh", "submitter")
    assert (submitted["method"], submitted["route"], submitted["status"]) == (
        "POST",
        "/api/v1/dossiers",
        201,
    )
    assert (got["route"], got["user_id"], got["role"]) == (
        "/api/v1/dossiers/{dossier_id}",
        "snv.thamdinh",
        "appraiser",
    )
    assert dossier_id not in got["route"]
    assert (refused["status"], refused["user_id"], refused["role"]) == (
        403,
        "ubnd.chutich",
        "chairman",
    )


def test_an_anonymous_request_is_logged_without_a_user(
    staff: Staff, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    staff.client.get("/api/v1/dossiers", headers={"Authorization": "Bearer kt_bad"})
    staff.client.get("/khong-co")
    lines = access_lines(capsys.readouterr().err)
    assert [(line["user_id"], line["role"], line["status"]) for line in lines] == [
        (None, None, 401),
        (None, None, 404),
    ]
    assert lines[0]["route"] == "/api/v1/dossiers"
    assert "kt_bad" not in json.dumps(lines)
