"""The public pages and open data over HTTP, through the real app, on SQLite and PostgreSQL:
every page renders in Vietnamese with the province's name, search works without diacritics,
filters and cursor pages cover every row once, a closed window shows no form, the register and
the movements show their numbers, open data pages and streams, and every response carries the
security headers (a Content-Security-Policy without ``unsafe-inline``)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

from infrastructure.bootstrap import bootstrap
from infrastructure.settings import Settings
from tests.api.conftest import (
    OTHER_UNIT,
    STORES,
    make_settings,
    module_postgres_schema,  # noqa: F401 (a fixture)
    open_staff,
)
from tests.public.pages_support import (
    AWARDED_NOMINEE,
    CLOSED_NOMINEE,
    DECISION_NUMBER,
    OPEN_NOMINEES,
    SECURITY_HEADERS,
    STATE_AWARD,
    World,
    build_world,
    read,
)

PAGES = ("/", "/cong-khai", "/khen-thuong", "/phong-trao", "/y-kien", "/du-lieu-mo/")
DATA = tuple(
    f"/du-lieu-mo/{name}.{ext}"
    for name in ("cong-khai", "khen-thuong", "phong-trao")
    for ext in ("json", "csv")
)


@pytest.fixture(scope="module", params=STORES)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if request.param == "sqlite":
        settings = make_settings("sqlite", tmp_path_factory.mktemp("public") / "data")
    else:
        schema = request.getfixturevalue("module_postgres_schema")
        settings = make_settings("postgres", tmp_path_factory.mktemp("public"), schema)
    settings = settings.model_copy(update={"public_page_size": 5})
    with open_staff(settings) as staff:
        yield build_world(staff)


def names_on(html: str) -> set[str]:
    everyone = [name for name, _ in OPEN_NOMINEES] + [CLOSED_NOMINEE, AWARDED_NOMINEE]
    return {name for name in everyone if name in html}


def all_pages(world: World, path: str) -> list[str]:
    """Every page of a list, following «Trang sau» from the first."""
    pages: list[str] = []
    next_path: str | None = path
    while next_path is not None:
        response = world.client.get(next_path)
        assert response.status_code == 200, response.text
        pages.append(response.text)
        found = re.search(r'<a href="([^"]+)" rel="next">', response.text)
        next_path = found.group(1).replace("&amp;", "&") if found else None
        assert len(pages) < 20
    return pages


# --- pages -------------------------------------------------------------------------------------


def test_every_page_renders_in_vietnamese_with_the_province_and_one_h1(world: World) -> None:
    nomination = f"/cong-khai/{world.open_ids['Nguyễn Văn An']}"
    for path in (*PAGES, nomination):
        response = world.client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert '<html lang="vi">' in response.text
        assert "UBND tỉnh Cao Bằng" in response.text
        page = read(response)
        levels = [level for level, _ in page.headings]
        assert levels.count(1) == 1, path
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), (path, levels)
        assert 'href="#noi-dung"' in response.text
        assert 'id="noi-dung"' in response.text


def test_the_home_page_shows_open_consultations_recent_awards_and_movements(world: World) -> None:
    html = world.client.get("/").text
    assert "Nguyễn Văn An" in html  # closes first
    assert AWARDED_NOMINEE in html
    assert DECISION_NUMBER in html
    assert "Phong trào thi đua cao điểm" in html
    assert f"Có <strong>{len(OPEN_NOMINEES)}</strong> hồ sơ đang nhận ý kiến" in html


def test_search_without_diacritics_finds_the_nominee(world: World) -> None:
    for query in ("tran thi binh", "TRẦN thị", "binh"):
        html = world.client.get("/cong-khai", params={"q": query}).text
        assert names_on(html) == {"Trần Thị Bình"}, query
    assert names_on(world.client.get("/cong-khai", params={"q": "dang thu ha"}).text) == {
        "Đặng Thu Hà"
    }
    nothing = world.client.get("/cong-khai", params={"q": "khong co ai"})
    assert nothing.status_code == 200
    assert "Không có hồ sơ nào phù hợp" in nothing.text


def test_filters_by_unit_without_diacritics_award_and_state(world: World) -> None:
    police = {name for name, who in OPEN_NOMINEES if who == "other_submitter"}
    for unit in (OTHER_UNIT, "cong an tinh", "CÔNG AN TỈNH"):
        response = world.client.get("/cong-khai", params={"don_vi": unit})
        assert names_on(response.text) == police, unit
        assert f'<option value="{OTHER_UNIT}" selected>' in response.text
    by_award = world.client.get("/cong-khai", params={"hinh_thuc": STATE_AWARD})
    assert len(names_on("".join(all_pages(world, by_award.url.raw_path.decode())))) == 6
    assert names_on(world.client.get("/cong-khai", params={"hinh_thuc": "khong_co"}).text) == set()
    ended = world.client.get("/cong-khai", params={"tinh_trang": "da_ket_thuc"}).text
    assert names_on(ended) == {CLOSED_NOMINEE}
    everything = "".join(all_pages(world, "/cong-khai?tinh_trang=tat_ca"))
    assert names_on(everything) == {name for name, _ in OPEN_NOMINEES} | {CLOSED_NOMINEE}


def test_cursor_pages_cover_every_open_nomination_once_soonest_deadline_first(
    world: World,
) -> None:
    pages = all_pages(world, "/cong-khai")
    assert len(pages) == 2  # 6 rows, 5 a page
    order = [
        name
        for page in pages
        for name in re.findall(r'<a href="/cong-khai/[0-9a-f-]+">([^<]+)</a>', page)
    ]
    assert order == [name for name, _ in OPEN_NOMINEES]
    assert "Về trang đầu" in pages[1]
    filtered = all_pages(world, "/cong-khai?don_vi=So+Giao+duc+va+Dao+tao")
    assert len(filtered) == 1  # four rows: one page, the filter kept in the links


def test_a_cursor_that_is_not_ours_is_a_400_page_with_a_way_back(world: World) -> None:
    for path in ("/cong-khai", "/khen-thuong", "/phong-trao"):
        response = world.client.get(path, params={"trang": "abc<script>"})
        assert response.status_code == 400, path
        assert "text/html" in response.headers["content-type"]
        assert "Liên kết trang không hợp lệ" in response.text
        assert "<script>" not in response.text
    first = all_pages(world, "/cong-khai")[0]
    cursor = re.search(r'trang=([A-Za-z0-9_-]+)" rel="next"', first)
    assert cursor is not None
    other_order = world.client.get(
        "/cong-khai", params={"tinh_trang": "tat_ca", "trang": cursor.group(1)}
    )
    assert other_order.status_code == 400


def test_a_nomination_page_shows_its_counts_milestones_and_open_form(world: World) -> None:
    world.client.cookies.clear()
    response = world.client.get(f"/cong-khai/{world.open_ids['Lê Đức Cường']}")
    page = read(response)
    assert (page.ids["so-y-kien-nhan"], page.ids["so-y-kien-cong-bo"]) == ("0", "0")
    assert page.ids["so-y-kien-khong-cong-bo"] == "0"
    assert "form-y-kien" in page.forms
    assert "Công khai lấy ý kiến Nhân dân" in response.text
    assert "Huân chương Lao động hạng Nhất" in response.text
    assert "Tóm tắt thành tích" in response.text
    assert "Hoàn thành xuất sắc nhiệm vụ năm học; sáng kiến cấp tỉnh." in response.text
    assert response.headers["cache-control"] == "no-store"
    assert "kt_csrf=" in response.headers["set-cookie"]
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()


def test_a_closed_window_shows_no_form_but_its_comments_and_counts(world: World) -> None:
    response = world.client.get(f"/cong-khai/{world.closed_id}")
    page = read(response)
    assert response.status_code == 200
    assert "form-y-kien" not in page.forms
    assert "Đã hết thời hạn nhận ý kiến" in response.text
    assert page.ids["so-y-kien-nhan"] == "1"
    assert "set-cookie" not in response.headers


def test_unknown_nominations_and_addresses_are_404_pages_but_the_api_keeps_problems(
    world: World,
) -> None:
    for path in (
        f"/cong-khai/{UUID(int=7)}",
        "/cong-khai/khong-phai-ma",
        f"/cong-khai/{world.awarded_id}",
    ):
        response = world.client.get(path)
        assert response.status_code == 404, path
        assert "text/html" in response.headers["content-type"]
    browser = world.client.get("/khong-co-trang-nay", headers={"Accept": "text/html"})
    assert browser.status_code == 404
    assert "Không tìm thấy trang" in browser.text
    api = world.client.get("/api/v1/khong-co", headers={"Accept": "text/html"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_the_register_shows_awards_with_decision_numbers_and_finds_them(world: World) -> None:
    html = world.client.get("/khen-thuong").text
    assert AWARDED_NOMINEE in html
    assert DECISION_NUMBER in html
    assert CLOSED_NOMINEE not in html
    for query in ("pham thi en", "125/QĐ", "125/qd-ubnd"):
        assert AWARDED_NOMINEE in world.client.get("/khen-thuong", params={"q": query}).text
    assert AWARDED_NOMINEE not in world.client.get("/khen-thuong", params={"q": "khong"}).text


def test_the_movements_page_shows_the_plan_period_and_counts(world: World) -> None:
    page = world.client.get("/phong-trao").text
    assert "461/KH-UBND" in page
    assert "Phong trào thi đua cao điểm" in page
    assert "11/08/2022" in page
    assert "31/10/2026" in page
    numbers = re.findall(
        r"<dt>(Hồ sơ đề nghị khen thưởng|Đang xét|Đã được khen thưởng)</dt><dd>(\d+)</dd>", page
    )
    assert numbers == [
        ("Hồ sơ đề nghị khen thưởng", str(len(OPEN_NOMINEES) + 2)),
        ("Đang xét", str(len(OPEN_NOMINEES) + 1)),
        ("Đã được khen thưởng", "1"),
    ]


def test_the_province_comes_from_settings(tmp_path: Path) -> None:
    settings = Settings(
        store="sqlite", data_dir=tmp_path / "data", province_name=" Tỉnh  Đắk Nông "
    )
    with bootstrap(settings) as services:
        assert services.settings.province_name == "Đắk Nông"
    with open_staff(settings) as staff:
        html = staff.client.get("/").text
        assert "UBND tỉnh Đắk Nông" in html
        assert "Cao Bằng" not in html


# --- open data --------------------------------------------------------------------------------


def test_open_data_json_is_paged_by_cursor_and_documents_itself(world: World) -> None:
    seen: list[str] = []
    path: str | None = "/du-lieu-mo/cong-khai.json?so_luong=2"
    while path is not None:
        response = world.client.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == "*"
        body = response.json()
        seen += [item["nominee_name"] for item in body["items"]]
        assert set(body) == {"items", "next_cursor", "next"}
        path = body["next"]
    assert sorted(seen) == sorted([name for name, _ in OPEN_NOMINEES] + [CLOSED_NOMINEE])
    first = world.client.get("/du-lieu-mo/cong-khai.json", params={"tinh_trang": "dang_mo"})
    item = first.json()["items"][0]
    assert item["nominee_name"] == "Nguyễn Văn An"
    assert item["open_for_comment"] is True
    assert item["url"] == f"/cong-khai/{item['id']}"
    assert {"identity_number", "personal", "contact", "search", "version"}.isdisjoint(item)
    awards = world.client.get("/du-lieu-mo/khen-thuong.json").json()["items"]
    assert [(a["nominee_name"], a["decision_number"]) for a in awards] == [
        (AWARDED_NOMINEE, DECISION_NUMBER)
    ]
    movements = world.client.get("/du-lieu-mo/phong-trao.json").json()["items"]
    assert movements[0]["plan_number"] == "461/KH-UBND"
    assert movements[0]["dossiers"] == len(OPEN_NOMINEES) + 2
    docs = world.client.get("/du-lieu-mo/").text
    for file in DATA:
        assert f'href="{file}"' in docs


def test_open_data_csv_streams_every_row_for_a_spreadsheet(world: World) -> None:
    response = world.client.get("/du-lieu-mo/cong-khai.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="cong-khai-')
    assert response.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["Mã hồ sơ", "Người/tập thể được đề nghị"]
    assert len(rows) == 1 + len(OPEN_NOMINEES) + 1
    awards = list(csv.reader(io.StringIO(world.client.get("/du-lieu-mo/khen-thuong.csv").text)))
    assert any(DECISION_NUMBER in row for row in awards)
    movements = world.client.get("/du-lieu-mo/phong-trao.csv").text
    assert "461/KH-UBND" in movements


def test_bad_open_data_parameters_are_400_problems(world: World) -> None:
    for path, params in (
        ("/du-lieu-mo/cong-khai.json", {"so_luong": "0"}),
        ("/du-lieu-mo/cong-khai.json", {"so_luong": "1001"}),
        ("/du-lieu-mo/khen-thuong.json", {"so_luong": "mười"}),
        ("/du-lieu-mo/phong-trao.json", {"trang": "x"}),
        ("/du-lieu-mo/cong-khai.json", {"tinh_trang": "mo"}),
        ("/du-lieu-mo/cong-khai.csv", {"tinh_trang": "mo"}),
    ):
        response = world.client.get(path, params=params)
        assert response.status_code == 400, (path, params)
        assert response.headers["content-type"] == "application/problem+json"


# --- headers and markup -------------------------------------------------------------------------


def assert_secure(response: object, path: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, (path, name)
    policy = headers["content-security-policy"]
    assert "unsafe-inline" not in policy, path
    assert "unsafe-eval" not in policy, path
    assert "frame-ancestors 'none'" in policy, path
    assert "camera=()" in headers["permissions-policy"], path


def test_every_response_carries_the_security_headers(world: World) -> None:
    nomination = f"/cong-khai/{world.open_ids['Nguyễn Văn An']}"
    paths = (*PAGES, *DATA, nomination, "/static/site.css", "/healthz", "/openapi.json", "/nope")
    for path in paths:
        assert_secure(world.client.get(path), path)
    assert_secure(world.client.get("/api/v1/me"), "/api/v1/me")
    default = world.client.get("/").headers["content-security-policy"]
    assert "default-src 'none'" in default
    assert "script-src 'self'" in default
    assert "style-src 'self'" in default
    assert "form-action 'self'" in default


def test_the_swagger_page_allows_its_one_inline_script_by_hash(world: World) -> None:
    response = world.client.get("/docs")
    assert response.status_code == 200
    assert_secure(response, "/docs")
    policy = response.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy
    assert "https://cdn.jsdelivr.net" in policy


def test_pages_hold_no_inline_script_or_style_and_the_css_is_cached(world: World) -> None:
    nomination = f"/cong-khai/{world.open_ids['Nguyễn Văn An']}"
    for path in (*PAGES, nomination):
        html = world.client.get(path).text
        assert "<script" not in html, path
        assert "<style" not in html, path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
    sheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', world.client.get("/").text)
    assert sheet is not None
    assert sheet.group(1).startswith("/static/site.css?v=")
    css = world.client.get(sheet.group(1))
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=86400"
    assert ":focus-visible" in css.text
    assert "@media (min-width" in css.text


def test_the_public_pages_are_not_in_the_staff_openapi_document(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    assert all(path.startswith(("/api/", "/healthz", "/readyz", "/metrics")) for path in paths)
