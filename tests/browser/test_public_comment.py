"""A citizen comments on a nomination, in headless Chromium, as a person would.

The site is the real app over the demo data (see ``tests.browser.site``): four state-level
nominations have their comment window open, two have theirs closed. Element ids, field names
and texts are the public pages' contract (``#form-y-kien``, ``noi_dung``, ``#ma-bien-nhan``,
``#loi-y-kien``, ``#so-y-kien-nhan``, the button "Gửi ý kiến").
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING
from uuid import UUID

from domain.dossier import Status
from domain.shared import fold
from tests.browser.site import Site

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails, when CI requires the browser tests)
    expect = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Response

RECEIPT = re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")
MAX_COMMENT = 5000
FORM = "#form-y-kien"


def count(page: Page, element_id: str) -> int:
    text = page.locator(f"#{element_id}").inner_text()
    digits = re.sub(r"\D", "", text)
    assert digits, f"#{element_id} holds no number: {text!r}"
    return int(digits)


def count_after_reload(page: Page, element_id: str, wanted: int, timeout: float = 5.0) -> int:
    """The count on a fresh load of the page, reloading while it is not yet ``wanted`` (the
    views follow the event log; the page should not lag, but a slow machine may)."""
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        seen = count(page, element_id)
        if seen == wanted or time.monotonic() > deadline:
            return seen


def field(page: Page, name: str) -> Locator:
    return page.locator(f"{FORM} [name={name}]")


def choose_kind(page: Page, kind: str) -> None:
    control = field(page, "loai")
    if control.first.evaluate("el => el.tagName") == "SELECT":
        control.select_option(kind)
    else:
        page.locator(f"{FORM} input[name=loai][value={kind}]").check()


def chosen_kind(page: Page) -> str | None:
    control = field(page, "loai")
    if control.first.evaluate("el => el.tagName") == "SELECT":
        return str(control.input_value())
    checked = page.locator(f"{FORM} input[name=loai]:checked")
    return checked.get_attribute("value") if checked.count() else None


def submit(page: Page) -> Response:
    """Press "Gửi ý kiến" and wait for the answer to the POST."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.locator(FORM).get_by_role("button", name="Gửi ý kiến").click()
    response: Response = answer.value
    page.wait_for_load_state()
    return response


def drop_browser_checks(page: Page) -> None:
    """Remove the form's own checks (required, maxlength, ...), as an old browser or a script
    would ignore them: the server must still refuse the comment, with its own message."""
    page.locator(f"{FORM} [name]").evaluate_all(
        """controls => controls.forEach(control => {
            for (const name of ['required', 'maxlength', 'minlength', 'pattern'])
                control.removeAttribute(name);
        })"""
    )
    page.locator(FORM).evaluate("form => form.setAttribute('novalidate', '')")


def nominee_name(site: Site, dossier_id: UUID) -> str:
    return site.dossier(dossier_id).nominee.name


# --- the whole path ---------------------------------------------------------------------------------


def test_a_citizen_finds_a_nomination_without_diacritics_comments_and_sees_the_count_grow(
    site: Site, page: Page
) -> None:
    dossier_id = site.open_for_comment()[0]
    name = nominee_name(site, dossier_id)
    typed = fold(name)
    assert typed != name.lower(), "the search must be tried without the name's diacritics"

    page.goto("/cong-khai")
    expect(page).to_have_title(re.compile(r"\S"))
    search = page.locator("input[name=q]").first
    search.fill(typed)
    search.press("Enter")
    page.wait_for_url(re.compile(r"/cong-khai\?(.*&)?q="))
    link = page.locator(f'a[href="/cong-khai/{dossier_id}"]').first
    expect(link).to_be_visible()

    link.click()
    page.wait_for_url(f"**/cong-khai/{dossier_id}")
    expect(page.locator("h1")).to_contain_text(name)
    received = count(page, "so-y-kien-nhan")

    text = (
        f"Tôi sống cùng tổ dân phố, xác nhận thành tích là đúng. (kiểm thử {uuid.uuid4().hex[:8]})"
    )
    field(page, "noi_dung").fill(text)
    field(page, "ho_ten").fill("Hoàng Văn Thụ")
    field(page, "lien_he").fill("0915 246 810")
    choose_kind(page, "thong_tin")
    answer = submit(page)

    assert answer.status == 303, f"the form's POST answered {answer.status}"
    page.wait_for_url(re.compile(r"/y-kien/[^/]+$"))
    expect(page.locator("body")).to_contain_text("Mã biên nhận")
    code = page.locator("#ma-bien-nhan").inner_text().strip()
    assert RECEIPT.match(code), f"receipt code {code!r} is not XXXX-XXXX-XXXX"
    assert "0915 246 810" not in page.content(), "the receipt shows the commenter's contact"

    page.go_back()
    page.wait_for_url(f"**/cong-khai/{dossier_id}")
    assert count_after_reload(page, "so-y-kien-nhan", received + 1) == received + 1

    page.goto(f"/y-kien?ma={code.replace('-', '').lower()}")
    expect(page.locator("#ma-bien-nhan")).to_have_text(code)


# --- refusals keep what was typed -------------------------------------------------------------------


def test_an_empty_comment_is_refused_with_a_message_and_the_other_fields_kept(
    site: Site, page: Page
) -> None:
    dossier_id = site.open_for_comment()[1]
    page.goto(f"/cong-khai/{dossier_id}")
    received = count(page, "so-y-kien-nhan")
    field(page, "ho_ten").fill("Nguyễn Thị Lan")
    field(page, "lien_he").fill("lan.nguyen@example.org")
    choose_kind(page, "phan_doi")

    # As the page is: the browser's own check or the server's message, never a receipt.
    button = page.locator(FORM).get_by_role("button", name="Gửi ý kiến")
    if field(page, "noi_dung").evaluate("el => !el.checkValidity()"):
        button.click()  # the browser holds the form back and says why
        message = field(page, "noi_dung").evaluate("el => el.validationMessage")
        assert message, "the browser held the empty comment back without a message"
        assert page.url.endswith(f"/cong-khai/{dossier_id}")
    else:
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            button.click()
        assert answer.value.status == 400, f"an empty comment was answered {answer.value.status}"
        expect(page.locator("#loi-y-kien")).to_be_visible()

    # Without the browser's checks the server refuses it and keeps every field.
    page.goto(f"/cong-khai/{dossier_id}")
    field(page, "ho_ten").fill("Nguyễn Thị Lan")
    field(page, "lien_he").fill("lan.nguyen@example.org")
    choose_kind(page, "phan_doi")
    field(page, "noi_dung").fill("   \n  ")
    drop_browser_checks(page)
    refused = submit(page)

    assert refused.status == 400, f"a blank comment was answered {refused.status}"
    alert = page.locator("#loi-y-kien")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    assert alert.inner_text().strip(), "the refusal has no message"
    expect(field(page, "ho_ten")).to_have_value("Nguyễn Thị Lan")
    expect(field(page, "lien_he")).to_have_value("lan.nguyen@example.org")
    assert chosen_kind(page) == "phan_doi"
    assert count(page, "so-y-kien-nhan") == received


def test_an_oversized_comment_is_refused_with_a_message_and_the_text_kept(
    site: Site, page: Page
) -> None:
    dossier_id = site.open_for_comment()[1]
    sentence = "Tôi xin phản ánh chi tiết về quá trình công tác của người được đề nghị. "
    text = (sentence * (MAX_COMMENT // len(sentence) + 1))[: MAX_COMMENT - 20].rstrip()
    typed = text + "." * (MAX_COMMENT + 1 - len(text))  # one over, after any trimming
    page.goto(f"/cong-khai/{dossier_id}")

    # As the page is: the text box takes no more than the limit, or the server refuses.
    field(page, "noi_dung").fill(typed)
    kept = field(page, "noi_dung").input_value()
    assert len(kept) <= MAX_COMMENT or kept == typed

    drop_browser_checks(page)
    field(page, "noi_dung").fill(typed)
    field(page, "ho_ten").fill("Bế Văn Đàn")
    choose_kind(page, "thong_tin")
    answer = submit(page)

    assert answer.status == 400, f"a {len(typed)}-character comment was answered {answer.status}"
    alert = page.locator("#loi-y-kien")
    expect(alert).to_be_visible()
    assert alert.inner_text().strip(), "the refusal has no message"
    assert field(page, "noi_dung").input_value() == typed, "the typed comment was not kept"
    expect(field(page, "ho_ten")).to_have_value("Bế Văn Đàn")
    assert chosen_kind(page) == "thong_tin"


# --- closed windows ------------------------------------------------------------------------------


def test_a_nomination_whose_comment_window_has_closed_shows_no_form(site: Site, page: Page) -> None:
    closed = site.in_status(Status.COMMENT_CLOSED)
    assert closed, "the demo has no nomination whose window has closed"
    for dossier_id in closed:
        response = page.goto(f"/cong-khai/{dossier_id}")
        assert response is not None
        assert response.status == 200, f"/cong-khai/{dossier_id}: {response.status}"
        expect(page.locator("h1")).to_contain_text(nominee_name(site, dossier_id))
        expect(page.locator(FORM)).to_have_count(0)
        expect(page.locator("textarea[name=noi_dung]")).to_have_count(0)
        expect(page.locator("#so-y-kien-nhan")).to_be_visible()


# --- keyboard only ---------------------------------------------------------------------------------


FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    return {
        tag: el.tagName.toLowerCase(), name: el.getAttribute('name') || '',
        type: (el.getAttribute('type') || '').toLowerCase(),
        inForm: !!el.closest('#form-y-kien'), text: (el.innerText || el.value || '').trim(),
        checked: !!el.checked,
        groupChecked: el.name ? !!document.querySelector(
            `#form-y-kien [name="${el.name}"]:checked`) : false,
        outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
        shadow: style.boxShadow !== 'none',
    };
}"""


def test_the_form_can_be_filled_and_sent_with_the_keyboard_alone(site: Site, page: Page) -> None:
    dossier_id = site.open_for_comment()[2]
    page.goto(f"/cong-khai/{dossier_id}")
    text = f"Gửi bằng bàn phím: tôi đồng tình với đề nghị. ({uuid.uuid4().hex[:8]})"
    visited: list[str] = []
    unfocusable_outline: list[str] = []
    sent = False
    for _ in range(120):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if not focused or not focused["inForm"]:
            continue
        visited.append(focused["name"] or focused["tag"])
        if not (focused["outline"] or focused["shadow"]):
            unfocusable_outline.append(focused["name"] or focused["tag"])
        if focused["name"] == "noi_dung":
            page.keyboard.type(text)
        elif focused["name"] == "ho_ten":
            page.keyboard.type("Đàm Thị Mai")
        elif focused["name"] == "loai" and focused["type"] == "radio":
            if not focused["groupChecked"]:
                page.keyboard.press("Space")
        elif focused["tag"] == "button" or focused["type"] == "submit":
            assert "Gửi ý kiến" in focused["text"] or focused["text"] == ""
            with page.expect_response(lambda r: r.request.method == "POST") as answer:
                page.keyboard.press("Enter")
            assert answer.value.status == 303, f"the keyboard's POST got {answer.value.status}"
            sent = True
            break

    assert sent, f"Tab never reached the send button; focus went through {visited}"
    assert "website" not in visited, "the hidden honeypot field takes keyboard focus"
    assert "noi_dung" in visited, f"Tab never reached the comment box; went through {visited}"
    assert not unfocusable_outline, f"no visible focus indicator on {unfocusable_outline}"
    page.wait_for_url(re.compile(r"/y-kien/[^/]+$"))
    assert RECEIPT.match(page.locator("#ma-bien-nhan").inner_text().strip())
