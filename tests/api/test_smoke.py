"""Smoke tests of the staff API through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from api.routes.common import include_routes
from tests.api.conftest import Staff, submission


def test_the_process_is_live_and_the_store_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.headers["cache-control"] == "no-store"


def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(staff: Staff) -> None:
    for headers in ({}, {"Authorization": "Bearer kt_not-a-token"}):
        response = staff.client.get("/api/v1/dossiers", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/unauthenticated"


def test_me_names_the_account_its_unit_and_the_role_acted_in(staff: Staff) -> None:
    response = staff.get("submitter", "/api/v1/me")
    assert response.status_code == 200
    me = response.json()
    assert me["name"] == "sgd.trinh"
    assert me["unit"] == "Sở Giáo dục và Đào tạo"
    assert me["roles"] == ["submitter"]
    assert me["acting_role"] == "submitter"
    assert len(me["token_ids"]) == 1
    assert response.headers["x-request-id"]


def test_a_dossier_goes_from_submission_to_approval(staff: Staff) -> None:
    created = staff.post("submitter", "/api/v1/dossiers", submission(staff.movement_id))
    assert created.status_code == 201, created.text
    dossier_id = created.json()["id"]
    assert created.headers["location"] == f"/api/v1/dossiers/{dossier_id}"
    assert created.headers["etag"] == '"1"'

    read = staff.get("appraiser", f"/api/v1/dossiers/{dossier_id}")
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    assert read.json()["personal"]["identity_number"] == "001085012345"

    appraised = staff.post(
        "appraiser",
        f"/api/v1/dossiers/{dossier_id}/appraisal",
        {"qualified": True, "opinion": "Hồ sơ đủ thành phần, thành tích đúng tiêu chuẩn."},
        version=read.headers["etag"],
    )
    assert appraised.status_code == 200, appraised.text
    assert appraised.json()["version"] == 2
    assert appraised.headers["etag"] == '"2"'

    approved = staff.post(
        "chairman",
        f"/api/v1/dossiers/{dossier_id}/approval",
        {"decision_number": "123/QĐ-UBND", "decision_date": staff.today().isoformat()},
        version=2,
    )
    assert approved.status_code == 200, approved.text
    state = staff.state(dossier_id, who="auditor")
    assert state["status"] == "approved"
    assert state["decision"]["number"] == "123/QĐ-UBND"
    history = staff.get("auditor", f"/api/v1/dossiers/{dossier_id}/history").json()
    assert [entry["event"] for entry in history["items"]] == ["Submitted", "Appraised", "Approved"]


def test_a_move_without_if_match_is_refused_with_428(staff: Staff) -> None:
    dossier_id = staff.submit()
    response = staff.post(
        "appraiser",
        f"/api/v1/dossiers/{dossier_id}/appraisal",
        {"qualified": True, "opinion": "Đủ điều kiện."},
    )
    assert response.status_code == 428
    assert response.json()["type"] == "/problems/precondition-required"
    assert staff.version(dossier_id) == 1


def test_a_stale_if_match_is_412_with_the_current_version(staff: Staff) -> None:
    dossier_id = staff.submit()
    staff.move(
        "appraiser",
        dossier_id,
        "return-for-supplement",
        {"missing": ["Biên bản họp xét"], "note": "Bổ sung biên bản."},
    )
    response = staff.post(
        "appraiser",
        f"/api/v1/dossiers/{dossier_id}/appraisal",
        {"qualified": True, "opinion": "Đủ điều kiện."},
        version='W/"1"',
    )
    assert response.status_code == 412
    assert response.json()["current_version"] == 2
    assert response.headers["etag"] == '"2"'


def test_a_retried_submission_returns_the_first_answer_and_writes_nothing(staff: Staff) -> None:
    body = submission(staff.movement_id)
    first = staff.post("submitter", "/api/v1/dossiers", body, key="nop-ho-so-001")
    assert first.status_code == 201, first.text
    # The same body with other whitespace and key order is the same request.
    again = staff.client.post(
        "/api/v1/dossiers",
        content=json.dumps(dict(reversed(body.items())), indent=2, ensure_ascii=False),
        headers={
            **staff.headers("submitter"),
            "Idempotency-Key": "nop-ho-so-001",
            "Content-Type": "application/json",
        },
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    listed = staff.get("submitter", "/api/v1/dossiers", after=first.json()["position"]).json()
    assert len(listed["items"]) == 1

    other = staff.post(
        "submitter",
        "/api/v1/dossiers",
        submission(staff.movement_id, name="Trần Thị Bình", identity="001190054321"),
        key="nop-ho-so-001",
    )
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"


def test_a_body_over_one_mebibyte_is_refused_with_413(staff: Staff) -> None:
    body = submission(staff.movement_id)
    body["achievements"] = "x" * (1024 * 1024 + 1)
    response = staff.post("submitter", "/api/v1/dossiers", body)
    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"


def test_a_command_body_that_is_not_json_is_refused_with_415(staff: Staff) -> None:
    response = staff.client.post(
        "/api/v1/dossiers",
        content=b"movement_id=1",
        headers={**staff.headers("submitter"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert response.json()["type"] == "/problems/unsupported-media-type"


def test_an_illegal_move_is_409_and_names_the_status(staff: Staff) -> None:
    dossier_id = staff.submit()
    response = staff.post(
        "chairman",
        f"/api/v1/dossiers/{dossier_id}/approval",
        {"decision_number": "123/QĐ-UBND", "decision_date": staff.today().isoformat()},
        version=1,
    )
    assert response.status_code == 409
    problem = response.json()
    assert problem["type"] == "/problems/illegal-transition"
    assert problem["dossier_status"] == "submitted"
    assert "Đã tiếp nhận" in problem["detail"]


def test_invalid_input_is_422_with_vietnamese_messages_per_field(staff: Staff) -> None:
    body = submission(staff.movement_id)
    body["unexpected"] = True
    body["documents"][0]["size"] = "12"
    response = staff.post("submitter", "/api/v1/dossiers", body)
    assert response.status_code == 422
    fields = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert "không được hỗ trợ" in fields["unexpected"]
    assert fields["documents[0].size"] == "phải là số nguyên"


def test_a_submitter_does_not_see_another_units_dossier(staff: Staff) -> None:
    dossier_id = staff.submit()
    assert staff.get("other_submitter", f"/api/v1/dossiers/{dossier_id}").status_code == 404
    head = staff.services.movements.max_position()
    assert staff.get("other_submitter", "/api/v1/dossiers", after=head).json()["items"] == []


def test_the_openapi_document_and_the_docs_load(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/dossiers/{dossier_id}/approval" in schema["paths"]
    assert "bearer" in schema["components"]["securitySchemes"]
    assert "Problem" in schema["components"]["schemas"]
    assert client.get("/docs").status_code == 200


def test_every_route_is_matched_from_the_apps_own_list(client: TestClient) -> None:
    """No included-router node for each request to walk (FastAPI 0.137+ ``include_router``):
    every route and mount sits in the app's list, each API route with its prefix and tags,
    and a router holding anything else is refused."""
    app = client.app
    assert isinstance(app, FastAPI)
    routes = app.routes
    assert all(isinstance(route, APIRoute | Route | Mount) for route in routes)
    paths = {route.path for route in routes if isinstance(route, APIRoute)}
    assert {"/api/v1/audit/proofs/inclusion", "/healthz", "/cong-khai"} <= paths
    proof = next(r for r in routes if getattr(r, "path", "") == "/api/v1/audit/proofs/inclusion")
    assert isinstance(proof, APIRoute)
    assert proof.tags == ["Nhật ký kiểm toán (audit)"]
    nested = APIRouter()
    nested.include_router(APIRouter())
    with pytest.raises(TypeError):
        include_routes(FastAPI(), nested)


def test_each_request_is_logged_once_without_its_token(
    staff: Staff, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = staff.client.get(
        "/api/v1/me", headers={**staff.headers("submitter"), "X-Request-ID": "smoke-42"}
    )
    assert response.headers["x-request-id"] == "smoke-42"
    logged = capsys.readouterr().err
    assert staff.tokens["submitter"] not in logged
    lines = [json.loads(line) for line in logged.splitlines() if '"khenthuong.access"' in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "smoke-42"
    assert (line["user_id"], line["role"], line["method"]) == ("sgd.trinh", "submitter", "GET")
    assert (line["route"], line["status"]) == ("/api/v1/me", 200)
    assert isinstance(line["duration_ms"], float)
