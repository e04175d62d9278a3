"""Accounts and tokens: hashed tokens, roles, and the short authentication cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.accounts import Accounts, Unauthenticated
from domain.shared import Role


def accounts(path: Path, ttl: float) -> Accounts:
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path / "events.sqlite3"),
    }
    return Accounts(env, auth_cache_seconds=ttl)


def test_a_token_is_stored_only_as_a_hash(tmp_path: Path) -> None:
    app = accounts(tmp_path, ttl=0)
    _, issued = app.create_account(
        name="snv.thamdinh01", display_name="Trần Thị Dung", roles=[Role.APPRAISER]
    )
    assert issued is not None
    # The secret is the token's last 43 characters: base64url, so it may itself hold "_" (cutting
    # at the last "_" made this test fail now and then, on a one-letter "secret").
    secret = issued.token[-43:]
    stored = b"".join(
        event.state for event in app.recorder.select_events(app.get_account("snv.thamdinh01").id)
    )
    assert secret.encode() not in stored
    assert app.authenticate(issued.token).actor.role is Role.APPRAISER


def test_a_revoked_token_stops_at_once_in_the_process_that_revoked_it(tmp_path: Path) -> None:
    app = accounts(tmp_path, ttl=30)
    _, issued = app.create_account(
        name="ubnd.chutich", display_name="Chủ tịch", roles=[Role.CHAIRMAN]
    )
    assert issued is not None
    app.authenticate(issued.token)  # now cached
    app.revoke_token("ubnd.chutich", issued.token_id)
    with pytest.raises(Unauthenticated):
        app.authenticate(issued.token)


def test_another_process_honours_a_revocation_once_its_cache_expires(tmp_path: Path) -> None:
    admin = accounts(tmp_path, ttl=0)
    _, issued = admin.create_account(
        name="m01", display_name="Thành viên", roles=[Role.COUNCIL_MEMBER]
    )
    assert issued is not None
    caching = accounts(tmp_path, ttl=30)
    uncached = accounts(tmp_path, ttl=0)
    caching.authenticate(issued.token)
    admin.revoke_token("m01", issued.token_id)
    caching.authenticate(issued.token)  # still within its cache lifetime, as documented
    with pytest.raises(Unauthenticated):
        uncached.authenticate(issued.token)
    caching._auth_ttl = 0  # expiry, without sleeping
    with pytest.raises(Unauthenticated):
        caching.authenticate(issued.token)


def test_a_wrong_secret_for_a_real_token_id_is_refused(tmp_path: Path) -> None:
    app = accounts(tmp_path, ttl=30)
    _, issued = app.create_account(
        name="demo.kiemtra", display_name="Kiểm tra", roles=[Role.AUDITOR]
    )
    assert issued is not None
    forged = issued.token[:-4] + ("AAAA" if not issued.token.endswith("AAAA") else "BBBB")
    with pytest.raises(Unauthenticated):
        app.authenticate(forged)
