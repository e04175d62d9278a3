"""The audit log's signed checkpoints over HTTP: public (``/du-lieu-mo/checkpoints``, the
latest, the public key, the footer of every public page) and for staff
(``/api/v1/audit/checkpoints``, auditors and administrators only), on SQLite and PostgreSQL."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from application.audit.verifier import Checkpoint, key_id, load_public_key
from tests.api.conftest import Staff


def sign(staff: Staff, times: int = 1) -> list[int]:
    """Record a dossier, bring the tree up to date and sign, ``times`` times; the sizes."""
    sizes = []
    for _ in range(times):
        number = len(staff.submitted) + 1
        staff.submit(name=f"Nguyễn Văn Số {number}", identity=f"{number:012d}")
        staff.services.audit.catch_up()
        stored = staff.services.checkpoints.sign()
        assert stored is not None
        sizes.append(stored.checkpoint.size)
    return sizes


def public_key(staff: Staff) -> Ed25519PublicKey:
    response = staff.client.get("/du-lieu-mo/checkpoints/public-key")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-pem-file")
    assert response.text.startswith("-----BEGIN PUBLIC KEY-----")
    return load_public_key(response.text)


def test_no_checkpoint_yet(staff: Staff) -> None:
    response = staff.client.get("/du-lieu-mo/checkpoints/latest")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    listing = staff.client.get("/du-lieu-mo/checkpoints").json()
    assert listing["items"] == []
    assert listing["next_cursor"] is None


def test_the_public_checkpoints_are_signed_newest_first_and_paged(staff: Staff) -> None:
    sizes = sign(staff, 3)
    key = public_key(staff)
    first = staff.client.get("/du-lieu-mo/checkpoints?so_luong=2")
    assert first.status_code == 200
    assert first.headers["access-control-allow-origin"] == "*"
    page = first.json()
    assert [item["size"] for item in page["items"]] == sizes[::-1][:2]
    assert page["key_id"] == key_id(key)
    assert base64.b64decode(page["public_key"]) == base64.b64decode(
        staff.client.get("/du-lieu-mo/checkpoints").json()["public_key"]
    )
    assert page["origin"] == "khenthuong/cao-bang"
    rest = staff.client.get(page["next"]).json()
    assert [item["size"] for item in rest["items"]] == sizes[:1]
    assert rest["next_cursor"] is None
    for item in page["items"] + rest["items"]:
        checkpoint = Checkpoint.from_json(item)
        key.verify(checkpoint.signature, checkpoint.body())
        assert item["signed_text"] == checkpoint.body().decode()


def test_the_latest_checkpoint_is_what_verify_reads(staff: Staff) -> None:
    sizes = sign(staff, 2)
    latest = staff.client.get("/du-lieu-mo/checkpoints/latest")
    assert latest.status_code == 200
    checkpoint = Checkpoint.from_json(latest.json())
    assert checkpoint.size == sizes[-1]
    assert checkpoint.root == staff.services.audit.root(sizes[-1])
    public_key(staff).verify(checkpoint.signature, checkpoint.body())


@pytest.mark.parametrize("query", ["so_luong=0", "so_luong=abc", "trang=xyz", "trang=-1"])
def test_bad_public_paging_is_a_400_problem(staff: Staff, query: str) -> None:
    response = staff.client.get(f"/du-lieu-mo/checkpoints?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_every_public_page_shows_the_latest_checkpoint_in_its_footer(staff: Staff) -> None:
    assert "Nhật ký kiểm toán đã ký" not in staff.client.get("/").text
    sizes = sign(staff)
    root = base64.b64encode(staff.services.audit.root(sizes[-1])).decode()
    for path in ("/", "/cong-khai", "/khen-thuong", "/du-lieu-mo/"):
        page = staff.client.get(path, headers={"Accept": "text/html"}).text
        footer = page[page.index('<footer class="chan-trang">') :]
        assert "Nhật ký kiểm toán đã ký" in footer
        assert f'href="/du-lieu-mo/checkpoints/latest">{sizes[-1]} sự kiện' in footer
        assert root[:12] in footer
        assert f'title="{root}"' in footer


def test_the_open_data_page_documents_the_checkpoints(staff: Staff) -> None:
    page = staff.client.get("/du-lieu-mo/").text
    for address in (
        "/du-lieu-mo/checkpoints",
        "/du-lieu-mo/checkpoints/latest",
        "/du-lieu-mo/checkpoints/public-key",
    ):
        assert f'href="{address}"' in page
    assert "khenthuong audit verify" in page


@pytest.mark.parametrize("who", ["auditor", "admin"])
def test_auditors_and_administrators_list_the_checkpoints(staff: Staff, who: str) -> None:
    sizes = sign(staff, 3)
    first = staff.get(who, "/api/v1/audit/checkpoints?limit=2")
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["size"] for item in page["items"]] == sizes[::-1][:2]
    assert page["limit"] == 2
    assert page["key_id"] == key_id(public_key(staff))
    rest = staff.get(who, f"/api/v1/audit/checkpoints?cursor={page['next_cursor']}").json()
    assert [item["size"] for item in rest["items"]] == sizes[:1]
    assert rest["next_cursor"] is None
    item = page["items"][0]
    assert set(item) == {
        "id",
        "origin",
        "size",
        "root",
        "time",
        "key_id",
        "signature",
        "signed_text",
    }


@pytest.mark.parametrize("who", ["submitter", "appraiser", "secretary", "hd-01", "chairman"])
def test_other_roles_may_not_list_the_checkpoints(staff: Staff, who: str) -> None:
    response = staff.get(who, "/api/v1/audit/checkpoints")
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_staff_listing_needs_a_token_and_a_good_cursor(staff: Staff) -> None:
    assert staff.client.get("/api/v1/audit/checkpoints").status_code == 401
    assert staff.get("auditor", "/api/v1/audit/checkpoints?cursor=abc").status_code == 400


def test_an_earlier_public_key_is_served_by_its_id(staff: Staff) -> None:
    sign(staff)
    key = public_key(staff)
    found = staff.client.get(f"/du-lieu-mo/checkpoints/public-key?key_id={key_id(key)}")
    assert found.status_code == 200
    assert key_id(load_public_key(found.text)) == key_id(key)
    missing = staff.client.get("/du-lieu-mo/checkpoints/public-key?key_id=0000000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
