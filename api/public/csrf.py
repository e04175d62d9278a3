"""CSRF tokens for the public forms: signed, tied to a cookie, expiring.

The browser holds a random value in an HttpOnly cookie (``kt_csrf``); the form carries
``<issued>.<signature>``, an HMAC-SHA256 over the cookie's value and the moment the token was
made, under the service's key (``infrastructure.keys``). A post is accepted only if its token
was made for the cookie it comes with, by this service, within ``max_age`` seconds: another
site can make a browser post the form, but it can neither read the cookie nor sign a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from enum import Enum

__all__ = ["COOKIE_NAME", "CsrfCheck", "CsrfSigner"]

COOKIE_NAME = "kt_csrf"
MAX_AGE_SECONDS = 12 * 3600
_COOKIE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_TOKEN = re.compile(r"^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$")


class CsrfCheck(Enum):
    VALID = "valid"
    MISSING = "missing"
    """No cookie, or no token: cookies are off, or the form did not come from this site."""
    EXPIRED = "expired"
    INVALID = "invalid"


class CsrfSigner:
    def __init__(self, key: bytes, *, max_age: int = MAX_AGE_SECONDS) -> None:
        self._key = key
        self.max_age = max_age

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    @staticmethod
    def usable_cookie(value: str | None) -> str | None:
        """The cookie's value if it has the form this service gives, else None."""
        return value if value is not None and _COOKIE.match(value) else None

    def _signature(self, cookie: str, issued: int) -> str:
        digest = hmac.new(self._key, f"{cookie}.{issued}".encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def token(self, cookie: str, now: float) -> str:
        issued = int(now)
        return f"{issued}.{self._signature(cookie, issued)}"

    def check(self, cookie: str | None, token: str | None, now: float) -> CsrfCheck:
        cookie = self.usable_cookie(cookie)
        if cookie is None or not token:
            return CsrfCheck.MISSING
        match = _TOKEN.match(token)
        if match is None:
            return CsrfCheck.INVALID
        issued = int(match.group(1))
        if not hmac.compare_digest(match.group(2), self._signature(cookie, issued)):
            return CsrfCheck.INVALID
        if not -60 <= now - issued <= self.max_age:
            return CsrfCheck.EXPIRED
        return CsrfCheck.VALID
