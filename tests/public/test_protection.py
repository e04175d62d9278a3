"""The comment form's protections on their own: CSRF tokens, the sliding-window rate limits, the
duplicate fingerprints, the CSRF key and the public settings."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.public.csrf import CsrfCheck, CsrfSigner
from api.public.protection import RateLimiter, RecentTexts, text_fingerprint
from infrastructure.keys import CSRF_KEY_FILE, KeyFileError, csrf_key
from infrastructure.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_valid_only_for_its_cookie_and_its_time() -> None:
    signer = CsrfSigner(b"k" * 32, max_age=3600)
    cookie = signer.new_cookie()
    token = signer.token(cookie, 1_000.0)
    assert signer.check(cookie, token, 1_000.0) is CsrfCheck.VALID
    assert signer.check(cookie, token, 4_599.0) is CsrfCheck.VALID
    assert signer.check(cookie, token, 4_700.0) is CsrfCheck.EXPIRED
    assert signer.check(signer.new_cookie(), token, 1_000.0) is CsrfCheck.INVALID
    assert CsrfSigner(b"o" * 32).check(cookie, token, 1_000.0) is CsrfCheck.INVALID
    issued, signature = token.split(".")
    assert signer.check(cookie, f"{int(issued) + 1}.{signature}", 1_000.0) is CsrfCheck.INVALID
    for bad in (None, "", "abc", "1.x", token + "x"):
        assert signer.check(cookie, bad, 1_000.0) in (CsrfCheck.MISSING, CsrfCheck.INVALID)
    for cookie_value in (None, "", "short", "có dấu" * 10):
        assert signer.check(cookie_value, token, 1_000.0) is CsrfCheck.MISSING


def test_the_rate_limit_slides_with_time_and_forgets_old_keys() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 60, clock, max_keys=3)
    assert limiter.retry_after("a") == 0
    limiter.record("a")
    clock.now += 10
    limiter.record("a")
    assert limiter.retry_after("a") == 50
    clock.now += 50
    assert limiter.retry_after("a") == 0  # the first has left the window
    for key in ("b", "c", "d"):
        limiter.record(key)
        limiter.record(key)
    assert limiter.retry_after("d") > 0
    assert limiter.retry_after("a") == 0  # forgotten: at most three keys are kept


def test_duplicates_are_the_same_folded_words_per_dossier() -> None:
    assert text_fingerprint("Tôi  ủng hộ.\n") == text_fingerprint("TOI UNG HO.")
    assert text_fingerprint("Tôi ủng hộ.") != text_fingerprint("Tôi phản đối.")
    clock = Clock()
    recent = RecentTexts(100, clock)
    recent.add("d1", text_fingerprint("x"))
    assert recent.seen("d1", text_fingerprint("x"))
    assert not recent.seen("d2", text_fingerprint("x"))
    clock.now += 101
    assert not recent.seen("d1", text_fingerprint("x"))


def test_the_csrf_key_comes_from_the_secret_a_file_or_the_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shared = csrf_key(Settings(data_dir=data))
    path = data / CSRF_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert csrf_key(Settings(data_dir=data)) == shared  # another process, the same key
    secret = "s" * 40
    from_secret = csrf_key(Settings(data_dir=data, csrf_secret=secret))
    assert from_secret != shared
    secret_file = tmp_path / "csrf.txt"
    secret_file.write_text(secret + "\n")
    assert csrf_key(Settings(data_dir=data, csrf_secret_file=secret_file)) == from_secret
    secret_file.write_text("short")
    with pytest.raises(KeyFileError):
        csrf_key(Settings(data_dir=data, csrf_secret_file=secret_file))


def test_public_settings_are_checked() -> None:
    assert Settings(province_name="tỉnh Bắc Kạn").province_name == "Bắc Kạn"
    for bad in (
        {"csrf_secret": "too short"},
        {"province_name": ""},
        {"public_comments_per_address": 0},
        {"public_page_size": 500},
    ):
        with pytest.raises(ValidationError):
            Settings(**bad)  # type: ignore[arg-type]
    assert Settings(csrf_secret="  ").csrf_secret is None
