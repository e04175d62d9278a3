"""Receipt codes: what a citizen keeps to look a public comment up later.

A receipt code is the comment's id (``Dossier.comments`` key), drawn by the application for a
comment sent through the public pages. It has 12 characters from an alphabet without the
characters people confuse when they read or type them (0/O, 1/I/L, U/V), and is shown in
three groups, ``XXXX-XXXX-XXXX``. Looking one up ignores case, dashes and blanks.

30 characters to the power of 12 is about 5 × 10^17 codes: guessing one that exists is
hopeless, so a code is also what lets its holder (and only its holder) see their comment.
"""

from __future__ import annotations

import re
import secrets

__all__ = [
    "RECEIPT_ALPHABET",
    "RECEIPT_LENGTH",
    "format_receipt_code",
    "is_receipt_code",
    "new_receipt_code",
    "normalise_receipt_code",
]

RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Digits 2–9 and the capital letters except I, L, O and U."""
RECEIPT_LENGTH = 12
GROUP = 4
MAX_INPUT = 64
"""Longer input is not a receipt code, however many separators it has."""

_SEPARATORS = re.compile(r"[\s_.\-\u2010-\u2015]+")
"""Blanks, dashes (ASCII and typographic), dots and underscores people put between groups."""


def new_receipt_code() -> str:
    """A fresh code (12 characters, no dashes), from the operating system's randomness."""
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def is_receipt_code(text: str) -> bool:
    """Exactly a stored code: 12 characters of the alphabet, upper case, no separators."""
    return len(text) == RECEIPT_LENGTH and all(ch in RECEIPT_ALPHABET for ch in text)


def format_receipt_code(code: str) -> str:
    """A stored code as people read it: ``ABCD-EFGH-JKMN`` (anything else is left as it is)."""
    if not is_receipt_code(code):
        return code
    return "-".join(code[at : at + GROUP] for at in range(0, RECEIPT_LENGTH, GROUP))


def normalise_receipt_code(text: str | None) -> str | None:
    """The stored code a person typed (any case, with or without dashes or blanks), or None
    when the text cannot be a receipt code."""
    if not isinstance(text, str) or len(text) > MAX_INPUT:
        return None
    code = _SEPARATORS.sub("", text).upper()
    return code if is_receipt_code(code) else None
