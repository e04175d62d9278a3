"""Every public page at phone (390x844) and desktop (1366x900) widths, in headless Chromium.

* Each loads under its own Content-Security-Policy with no violation reported (no inline script
  or style), declares ``lang="vi"``, fits the phone's width, and is saved as a screenshot in
  ``test-artifacts/screenshots/<page>-<width>.png``.
* axe-core (from the npm registry, injected with ``page.add_script_tag``) finds no serious or
  critical violation. Injecting a script needs the page's CSP bypassed, so axe runs in a
  context of its own (``bypass_csp``); the CSP itself is checked by the first test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from domain.dossier import Status
from domain.shared import fold
from tests.browser.conftest import WIDTHS, new_context, watch
from tests.browser.site import TODAY, Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

BLOCKING_IMPACTS = ("serious", "critical")


@dataclass(frozen=True)
class PublicPage:
    slug: str
    path: Callable[[Site, str], str]
    """The page's path, given the site and a receipt code."""
    prepare: Callable[[Page], None] | None = None
    """What a person does on the page before it is checked (e.g. sends a bad comment)."""


def _send_blank_comment(page: Page) -> None:
    page.locator("#form-y-kien [name=noi_dung]").fill("   ")
    page.locator("#form-y-kien [name]").evaluate_all(
        "els => els.forEach(el => el.removeAttribute('required'))"
    )
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.locator("#form-y-kien").get_by_role("button", name="Gửi ý kiến").click()
    page.wait_for_load_state()


PAGES = (
    PublicPage("trang-chu", lambda site, code: "/"),
    PublicPage("cong-khai", lambda site, code: "/cong-khai"),
    PublicPage(
        "cong-khai-tai-ngay",
        lambda site, code: f"/cong-khai?ngay={TODAY - timedelta(days=14)}&tinh_trang=tat_ca",
    ),
    PublicPage(
        "cong-khai-tim-kiem",
        lambda site, code: (
            "/cong-khai?q="
            + fold(site.dossier(site.open_for_comment()[0]).nominee.name).split()[-1]
        ),
    ),
    PublicPage(
        "cong-khai-dang-lay-y-kien", lambda site, code: f"/cong-khai/{site.open_for_comment()[0]}"
    ),
    PublicPage(
        "cong-khai-loi-y-kien",
        lambda site, code: f"/cong-khai/{site.open_for_comment()[0]}",
        _send_blank_comment,
    ),
    PublicPage(
        "cong-khai-het-han",
        lambda site, code: f"/cong-khai/{site.in_status(Status.COMMENT_CLOSED)[0]}",
    ),
    PublicPage(
        "cong-khai-da-khen-thuong",
        lambda site, code: f"/cong-khai/{site.in_status(Status.CONFERRED)[0]}",
    ),
    PublicPage("y-kien-bien-nhan", lambda site, code: f"/y-kien/{code}"),
    PublicPage("y-kien-tra-cuu", lambda site, code: "/y-kien"),
    PublicPage("khen-thuong", lambda site, code: "/khen-thuong"),
    PublicPage("phong-trao", lambda site, code: "/phong-trao"),
    PublicPage("du-lieu-mo", lambda site, code: "/du-lieu-mo/"),
)
CASES = [
    pytest.param(public, width, id=f"{public.slug}-{width}") for public in PAGES for width in WIDTHS
]


def open_page(page: Page, public: PublicPage, site: Site, code: str) -> None:
    path = public.path(site, code)
    response = page.goto(path)
    assert response is not None, path
    assert response.status == 200, f"{path} answered {response.status}"
    if public.prepare is not None:
        public.prepare(page)


@pytest.mark.parametrize(("public", "width"), CASES)
def test_each_public_page_loads_under_its_csp_in_vietnamese_and_fits_the_screen(
    browser: Browser,
    site: Site,
    receipt_code: str,
    screenshots: Path,
    public: PublicPage,
    width: str,
) -> None:
    context = new_context(browser, site, width)
    try:
        page = context.new_page()
        watcher = watch(page)
        open_page(page, public, site, receipt_code)
        page.screenshot(path=str(screenshots / f"{public.slug}-{width}.png"), full_page=True)

        assert page.evaluate("document.documentElement.lang") == "vi"
        assert not watcher.csp_violations(), "\n".join(watcher.csp_violations())
        assert not watcher.dialogs, watcher.dialogs
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page is {overflow}px wider than the {width} screen"
    finally:
        context.close()


def describe(violations: list[dict[str, Any]]) -> str:
    """axe's violations, one rule a paragraph, with the first elements and what is wrong."""
    lines: list[str] = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} [{violation['impact']}]: {violation['help']} "
            f"({violation['helpUrl']})"
        )
        for node in violation["nodes"][:5]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary[:300]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    ... and {len(violation['nodes']) - 5} more elements")
    return "\n".join(lines)


@pytest.mark.parametrize(("public", "width"), CASES)
def test_axe_finds_no_serious_or_critical_violation(
    axe_core: Path,
    browser: Browser,
    site: Site,
    receipt_code: str,
    public: PublicPage,
    width: str,
) -> None:
    context = new_context(browser, site, width, bypass_csp=True)
    try:
        page = context.new_page()
        open_page(page, public, site, receipt_code)
        page.add_script_tag(path=str(axe_core))
        results = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
        path = public.path(site, receipt_code)
        assert not blocking, (
            f"axe-core {results['testEngine']['version']} on {path} ({width}):\n"
            + describe(blocking)
        )
    finally:
        context.close()
