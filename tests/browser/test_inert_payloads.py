"""Markup typed into names, comments and plans stays text in the browser: no dialog opens, no
element is injected, and the text reads as it was typed. (The HTTP-level checks of the same
records are in tests/public/test_escaping.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import new_context, watch
from tests.browser.site import PAYLOADS, PlantedPayloads, Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser

INJECTED = """() => ({
    inlineScripts: [...document.scripts].filter(s => !s.src).map(s => s.textContent.slice(0, 80)),
    images: [...document.images].map(i => i.getAttribute('src')).filter(s => s === 'x'),
    svgs: document.querySelectorAll('svg[onload]').length,
    handlers: [...document.querySelectorAll('*')].flatMap(
        el => [...el.attributes].filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name)),
    bold: [...document.querySelectorAll('b')].filter(b => b.textContent === 'đậm').length,
    javascriptLinks: [...document.querySelectorAll('a[href]')].filter(
        a => a.getAttribute('href').trim().toLowerCase().startsWith('javascript:')).length,
    text: document.body.innerText,
})"""


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_payloads_typed_by_people_stay_inert_text_in_the_browser(
    browser: Browser, site: Site, payloads: PlantedPayloads, width: str
) -> None:
    pages = {
        f"/cong-khai/{payloads.nomination_id}": list(PAYLOADS),
        "/cong-khai": [payloads.nominee_name],
        "/": [],
        "/khen-thuong": [payloads.nominee_name],
        "/phong-trao": [PAYLOADS[0]],
        **{f"/y-kien/{code}": [] for code in payloads.receipts},
    }
    context = new_context(browser, site, width)
    try:
        page = context.new_page()
        watcher = watch(page)
        for path, shown in pages.items():
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, f"{path}: {response.status}"
            found = page.evaluate(INJECTED)
            assert not found["inlineScripts"], f"{path}: inline scripts {found['inlineScripts']}"
            assert not found["images"], f"{path}: an <img src=x> was injected"
            assert not found["svgs"], f"{path}: an <svg onload> was injected"
            assert not found["handlers"], f"{path}: event handler attributes {found['handlers']}"
            assert not found["bold"], f"{path}: <b> typed in a field became markup"
            assert not found["javascriptLinks"], f"{path}: a javascript: link"
            for text in shown:
                assert text in found["text"], f"{path} does not show {text!r} as text"
        assert not watcher.dialogs, f"a payload ran: {watcher.dialogs}"
        assert not watcher.csp_violations(), watcher.csp_violations()
    finally:
        context.close()
