"""Fixtures for the browser tests: the real public site and headless Chromium.

One site (``tests.browser.site.running_site``: uvicorn on a free port, the demo data, a clock
that starts on a fixed working Monday) and one browser serve the whole session; each test gets
a fresh browser context (its own cookies) and page.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``KHENTHUONG_CHROMIUM``), driven
by Playwright for Python through ``executable_path``; Playwright never downloads a browser.
axe-core comes from the npm registry (``scripts/test`` and ``.ci/run`` install it into
``.cache/axe``; ``KHENTHUONG_AXE_CORE`` may name another copy of ``axe.min.js``). When either is
missing the tests that need it are skipped with a message, or fail when
``KHENTHUONG_REQUIRE_BROWSER=1`` (as ``.ci/run`` sets it).

Screenshots go to ``test-artifacts/screenshots/`` (gitignored).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from tests.browser.site import PlantedPayloads, PublicForm, Site, plant_payloads, running_site

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Dialog,
        Page,
        Playwright,
    )

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("KHENTHUONG_CHROMIUM") or "/usr/bin/chromium")
AXE_CORE = Path(
    os.environ.get("KHENTHUONG_AXE_CORE")
    or ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
)
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1366, "height": 900}}
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}
TIMEOUT_MS = 10_000


def unavailable(message: str) -> NoReturn:
    """Skip with the reason (the README's test command passes without a browser), or fail
    when the run requires the browser tests (``KHENTHUONG_REQUIRE_BROWSER=1``, set by CI)."""
    text = f"browser tests: {message}"
    if os.environ.get("KHENTHUONG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"KHENTHUONG_REQUIRE_BROWSER=1 but {text}", pytrace=False)
    pytest.skip(text)


# --- the site ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with running_site(tmp_path_factory.mktemp("public-site")) as running:
        yield running


@pytest.fixture(scope="session")
def receipt_code(site: Site) -> str:
    """The receipt of one comment sent through the form (over HTTP) to an open nomination."""
    with site.client() as client:
        code = PublicForm(client).comment(
            site.open_for_comment()[3],
            "Tôi là giáo viên về hưu ở phường Hợp Giang, xin đồng tình với đề nghị khen thưởng.",
            ho_ten="Lương Thị Hoa",
            loai="ung_ho",
        )
    site.wait_for_views()
    return code


@pytest.fixture(scope="session")
def payloads(site: Site) -> PlantedPayloads:
    return plant_payloads(site)


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        unavailable(
            f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set "
            "KHENTHUONG_CHROMIUM)"
        )
    driver = sync_playwright().start()
    try:
        yield driver
    finally:
        driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    launched = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
    )
    try:
        yield launched
    finally:
        launched.close()


@pytest.fixture(scope="session", autouse=True)
def _browser_first(browser: Browser) -> None:
    """Every test here needs the browser: find out first (skip or fail) before the site starts."""


@pytest.fixture(scope="session")
def axe_core() -> Path:
    if not AXE_CORE.is_file():
        unavailable(
            f"axe-core not found at {AXE_CORE} (bash scripts/test installs it with npm, or "
            "npm install --prefix .cache/axe axe-core@VERSION; see scripts/_browser.sh)"
        )
    return AXE_CORE


@dataclass
class Watch:
    """What a page did that a person would not want: dialogs (an injected script ran) and
    console errors (Content-Security-Policy violations among them)."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return [text for text in self.console_errors if "Content Security Policy" in text]


def new_context(
    browser: Browser, site: Site, width: str = "desktop", **options: Any
) -> BrowserContext:
    context = browser.new_context(
        base_url=site.url,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
        **WIDTHS[width],
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    return context


def watch(page: Page) -> Watch:
    watcher = Watch()
    page.on("dialog", watcher.on_dialog)
    page.on("console", watcher.on_console)
    return watcher


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    opened = new_context(browser, site)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def page_watch(context: BrowserContext) -> tuple[Page, Watch]:
    page = context.new_page()
    return page, watch(page)


@pytest.fixture
def page(page_watch: tuple[Page, Watch]) -> Iterator[Page]:
    """A desktop page; any dialog it opens fails the test (no script of ours opens one)."""
    opened, watcher = page_watch
    yield opened
    assert not watcher.dialogs, f"the page opened dialogs: {watcher.dialogs}"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
