"""Markup typed by anyone comes back as inert text; every response carries the security headers.

Through the real app over HTTP (``tests.browser.site``): a movement whose plan title, and two
dossiers whose nominee name, position and achievements carry script and markup payloads (staff
API); comments whose text and name carry them (public form and staff API), published by an
appraiser through the moderation endpoint; one of the dossiers awarded (the register). Then the
public pages must show the payloads as text (escaped in the HTML, parsed back equal), never as
elements or attributes; open data carries them as data; and every response (pages, data files,
redirects, refusals, static files, the staff API) has a Content-Security-Policy without
``'unsafe-inline'`` and the other standard headers. The same records in a real browser, where
no dialog may open: tests/browser/test_inert_payloads.py.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from domain.shared import Role
from tests.browser.site import (
    PAYLOADS,
    PlantedPayloads,
    PublicForm,
    Site,
    StaffApi,
    parse_page,
    plant_payloads,
    running_site,
)

MARKUP = [payload for payload in PAYLOADS if "<" in payload]
OPEN_DATA = tuple(
    f"/du-lieu-mo/{name}.{ext}"
    for name in ("cong-khai", "khen-thuong", "phong-trao")
    for ext in ("json", "csv")
)


@dataclass
class Recorder:
    """Every response the module's clients received."""

    responses: list[httpx.Response] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        self.responses.append(response)


@dataclass
class World:
    site: Site
    planted: PlantedPayloads
    client: httpx.Client
    recorded: Recorder


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    recorder = Recorder()
    with running_site(tmp_path_factory.mktemp("escaping-site")) as site:
        planted = plant_payloads(site)
        with httpx.Client(
            base_url=site.url, timeout=30, event_hooks={"response": [recorder]}
        ) as client:
            yield World(site, planted, client, recorder)


def get(world: World, path: str, **params: str) -> httpx.Response:
    response = world.client.get(path, params=params or None)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return response


def injected(body: str) -> list[str]:
    """Elements and attributes a payload could have created, as found in the markup."""
    found: list[str] = []
    for tag, attrs in parse_page(body).tags:
        if tag == "script" and not attrs.get("src"):
            found.append("an inline <script>")
        if tag == "img" and attrs.get("src") == "x":
            found.append("an <img src=x>")
        found += [f"<{tag} {name}=…>" for name in attrs if name.startswith("on")]
        if attrs.get("href", "").strip().lower().startswith("javascript:"):
            found.append(f"<{tag} href=javascript:…>")
    return found


def assert_inert(path: str, body: str, shown: list[str]) -> None:
    raw = [payload for payload in MARKUP if payload in body]
    assert not raw, f"{path} sends markup unescaped: {raw}"
    made = injected(body)
    assert not made, f"{path}: payloads became markup: {made}"
    text = parse_page(body).text
    missing = [payload for payload in shown if payload not in text]
    assert not missing, f"{path} does not show {missing} as text"


def test_markup_in_nominations_comments_and_plans_is_shown_as_text(world: World) -> None:
    planted = world.planted
    pages = {
        f"/cong-khai/{planted.nomination_id}": list(PAYLOADS),
        "/": [],
        "/cong-khai": [planted.nominee_name],
        "/khen-thuong": [planted.nominee_name],
        "/phong-trao": [PAYLOADS[0]],
        "/du-lieu-mo/": [],
        **{f"/y-kien/{code}": [] for code in planted.receipts},
    }
    for path, shown in pages.items():
        assert_inert(path, get(world, path).text, shown)


def test_markup_typed_into_the_search_boxes_is_shown_as_text(world: World) -> None:
    for path in ("/cong-khai", "/khen-thuong"):
        for payload in MARKUP:
            response = world.client.get(path, params={"q": payload})
            assert response.status_code in (200, 400), f"{path}?q=…: {response.status_code}"
            assert_inert(f"{path}?q={payload}", response.text, [])
    lookup = world.client.get("/y-kien", params={"ma": PAYLOADS[1]})
    assert lookup.status_code in (200, 400, 404)
    assert_inert("/y-kien?ma=…", lookup.text, [])


def test_a_refused_comment_gives_back_the_typed_markup_as_field_values_only(
    world: World,
) -> None:
    form = PublicForm(world.client)
    nomination = world.planted.nomination_id
    refused = form.send(nomination, noi_dung="  ", ho_ten=PAYLOADS[1][:200], lien_he=PAYLOADS[3])
    assert refused.status_code == 400, refused.status_code
    assert_inert(f"POST /cong-khai/{nomination}/y-kien", refused.text, [])
    kept = parse_page(refused.text).form("form-y-kien")
    assert kept is not None
    assert kept.values.get("ho_ten") == PAYLOADS[1]
    assert kept.values.get("lien_he") == PAYLOADS[3]

    too_long = form.send(nomination, noi_dung=PAYLOADS[3] * 200, ho_ten="Lục Văn Hải")
    assert too_long.status_code == 400, too_long.status_code
    kept = parse_page(too_long.text).form("form-y-kien")
    assert kept is not None
    assert kept.values.get("noi_dung") == PAYLOADS[3] * 200


def test_open_data_carries_the_typed_markup_as_data(world: World) -> None:
    planted = world.planted
    for path in OPEN_DATA:
        response = get(world, path)
        kind = response.headers["content-type"]
        if path.endswith(".json"):
            assert kind.startswith("application/json"), f"{path}: {kind}"
            values = json.dumps(response.json(), ensure_ascii=False)
        else:
            assert kind.startswith("text/csv"), f"{path}: {kind}"
            rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
            values = json.dumps(rows, ensure_ascii=False)
        assert response.headers.get("x-content-type-options") == "nosniff", path
        if "cong-khai" in path or "khen-thuong" in path:
            assert json.dumps(planted.nominee_name, ensure_ascii=False)[1:-1] in values, path
        if "phong-trao" in path:
            assert PAYLOADS[0] in values, path


def test_staff_api_returns_the_typed_markup_as_json(world: World) -> None:
    staff = StaffApi(world.client, world.site.tokens)
    response = staff.get(Role.APPRAISER, f"/api/v1/dossiers/{world.planted.nomination_id}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["nominee"]["name"] == world.planted.nominee_name
    missing = staff.get(Role.APPRAISER, "/api/v1/dossiers/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404


def csp_problems(response: httpx.Response) -> list[str]:
    headers = response.headers
    problems: list[str] = []
    policy = headers.get("content-security-policy", "")
    directives = {
        part.strip().split()[0].lower(): part.strip().split()[1:]
        for part in policy.split(";")
        if part.strip()
    }
    if not policy:
        problems.append("no Content-Security-Policy")
    elif "'unsafe-inline'" in policy.lower() or "'unsafe-eval'" in policy.lower():
        problems.append(f"CSP allows unsafe sources: {policy}")
    elif "default-src" not in directives and "script-src" not in directives:
        problems.append(f"CSP restricts no scripts: {policy}")
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if not headers.get("referrer-policy"):
        problems.append("no Referrer-Policy")
    framing = headers.get("x-frame-options", "").upper() == "DENY" or directives.get(
        "frame-ancestors"
    ) == ["'none'"]
    if not framing:
        problems.append("framing allowed (no X-Frame-Options DENY / frame-ancestors 'none')")
    if not headers.get("permissions-policy"):
        problems.append("no Permissions-Policy")
    return problems


def test_every_response_has_a_csp_without_unsafe_inline_and_the_security_headers(
    world: World,
) -> None:
    client = world.client
    home = get(world, "/")
    styles = [
        attrs["href"]
        for tag, attrs in parse_page(home.text).tags
        if tag == "link" and attrs.get("href", "").startswith("/static/")
    ]
    assert styles, "the home page links no stylesheet under /static/"
    for path in styles:
        get(world, path)
    client.get("/cong-khai/00000000-0000-0000-0000-000000000000")
    client.get("/y-kien/KHONG-CO-MA-NAY")
    client.get("/khong-co-trang-nay")
    form = PublicForm(client)
    form.comment(world.planted.nomination_id, "Ý kiến kiểm tra tiêu đề bảo mật.")
    client.post(f"/cong-khai/{world.planted.nomination_id}/y-kien", data={"noi_dung": "x"})
    client.get("/api/v1/dossiers")
    for path in OPEN_DATA:
        client.get(path)

    statuses = {response.status_code for response in world.recorded.responses}
    assert {200, 303, 404} <= statuses, statuses
    problems = [
        f"{response.request.method} {response.request.url.raw_path.decode()} "
        f"({response.status_code}): {', '.join(found)}"
        for response in world.recorded.responses
        if (found := csp_problems(response))
    ]
    assert not problems, "\n".join(problems)
