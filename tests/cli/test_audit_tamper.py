"""``khenthuong audit checkpoint | verify | export | verify-export`` against tampering done by
SQL straight on the tables, on SQLite and PostgreSQL.

Each history is recorded through the applications, signed twice (``audit checkpoint``), then
damaged the way someone with the database's password could: one byte of an event's state
changed, an event deleted, two events' order swapped, a forged event inserted in the middle, or
an event changed and the tree rewritten to match. ``audit verify`` must exit 1 and name the
first bad position and the dossier there: for a rewritten tree through the leaf signatures the
attacker cannot make (only a tree rebuilt with every leaf's signature gone is placed between
two checkpoints, the most the signed roots tell).
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.cli import main
from application.audit import merkle
from domain.rulebook import Subject
from domain.shared import Actor, DocumentRef, Role
from domain.values import Nominee, PersonalDetails
from infrastructure.audit.checkpoints import load_signing_key
from infrastructure.audit.log import TRACKING_NAME, AuditLog
from infrastructure.bootstrap import Services, bootstrap
from infrastructure.settings import Settings
from tests.api.conftest import make_settings, start_clock

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
UNIT = "Sở Giáo dục và Đào tạo"
SUBMITTER = Actor("sgd.trinh", Role.SUBMITTER, UNIT)
APPRAISER = Actor("snv.thamdinh", Role.APPRAISER)
ADMIN = Actor("qt.admin", Role.ADMIN)


@dataclass
class Store:
    settings: Settings
    kind: str


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Store:
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)
    data = tmp_path / "data"
    env = {"KHENTHUONG_LOG_FORMAT": "json", "KHENTHUONG_DATA_DIR": str(data)}
    if request.param == "sqlite":
        settings = make_settings("sqlite", data)
    else:
        settings = make_settings("postgres", tmp_path, request.getfixturevalue("postgres_schema"))
        settings = settings.model_copy(update={"data_dir": data})
        assert settings.postgres_url is not None
        env["KHENTHUONG_STORE"] = "postgres"
        env["KHENTHUONG_POSTGRES_URL"] = settings.postgres_url.get_secret_value()
        env["KHENTHUONG_POSTGRES_SCHEMA"] = str(settings.postgres_schema)
        env["KHENTHUONG_POSTGRES_POOL_SIZE"] = "4"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Store(settings, request.param)


@contextmanager
def opened(store: Store) -> Iterator[Services]:
    settings = store.settings.model_copy(update={"run_projections": False})
    with bootstrap(settings, clock=start_clock()) as services:
        yield services


def record(services: Services, dossiers: int, *, first: int) -> list[UUID]:
    """A movement and ``dossiers`` dossiers under it, every other one returned for supplement
    (a second event), so most dossiers have more than one event."""
    movement_id = services.movements.launch(
        plan_number=f"{900 + first}/KH-UBND",
        title=f"Phong trào thi đua số {first}",
        issuing_body="Ủy ban nhân dân tỉnh Đắk Nông",
        issued_on=date(2025, 1, 2),
        starts_on=date(2025, 1, 2),
        ends_on=date(2026, 12, 31),
        by=ADMIN,
    ).id
    made = []
    for number in range(first, first + dossiers):
        receipt = services.dossiers.submit(
            movement_id=movement_id,
            award_code="bang_khen_chu_tich_tinh",
            submitting_unit=UNIT,
            nominee=Nominee(Subject.INDIVIDUAL, f"Nguyễn Văn Số {number}", "Giáo viên"),
            personal=PersonalDetails(identity_number=f"{number:012d}"),
            achievements="Hoàn thành xuất sắc nhiệm vụ năm học.",
            documents=[DocumentRef("to-trinh.pdf", f"{number:064x}", 1_024)],
            by=SUBMITTER,
        )
        made.append(receipt.id)
    for dossier_id in made[::2]:
        services.dossiers.return_for_supplement(
            dossier_id,
            missing=["Báo cáo thành tích có xác nhận"],
            note="Thiếu xác nhận của thủ trưởng đơn vị.",
            by=APPRAISER,
            expected_version=1,
        )
    return made


def checkpoint(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = main(["audit", "checkpoint"])
    out, err = capsys.readouterr()
    assert code == 0, err
    signed: dict[str, Any] = json.loads(out)
    return signed


@dataclass
class History:
    """A store signed at two sizes, with more events after the second checkpoint."""

    store: Store
    first: dict[str, Any]
    second: dict[str, Any]
    dossiers: list[UUID]


@pytest.fixture
def history(store: Store, capsys: pytest.CaptureFixture[str]) -> History:
    with opened(store) as services:
        dossiers = record(services, 6, first=1)
    first = checkpoint(capsys)
    with opened(store) as services:
        dossiers += record(services, 5, first=20)
    second = checkpoint(capsys)
    with opened(store) as services:
        record(services, 1, first=40)  # after the last checkpoint: not signed yet
    return History(store, first, second, dossiers)


# --- SQL straight on the tables -------------------------------------------------------------


class Tables:
    """The events and audit tables, reached with a plain driver connection."""

    def __init__(self, services: Services) -> None:
        self.audit = services.audit
        self.database = services.audit.database
        self.dialect = self.database.dialect
        recorder: Any = services.movements.recorder
        self.events = self.database.qualified(recorder.events_table_name)
        self.id = "notification_id" if self.dialect == "postgres" else "rowid"

    def run(self, *statements: tuple[str, tuple[Any, ...]]) -> None:
        with self.database.datastore.transaction(commit=True) as cursor:
            for statement, params in statements:
                cursor.execute(self.database.sql(statement), params)

    def rows(self) -> list[dict[str, Any]]:
        """Every event: notification id, originator (UUID), version, topic, state."""
        with self.database.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT {self.id} AS nid, originator_id, originator_version, topic, state "
                f"FROM {self.events} ORDER BY {self.id}"
            )
            found = []
            for row in cursor.fetchall():
                originator = row["originator_id"]
                found.append(
                    {
                        "nid": int(row["nid"]),
                        "originator_id": originator
                        if isinstance(originator, UUID)
                        else UUID(originator),
                        "version": int(row["originator_version"]),
                        "topic": row["topic"],
                        "state": bytes(row["state"]),
                    }
                )
            return found

    def originator_value(self, originator_id: UUID) -> Any:
        return originator_id if self.dialect == "postgres" else originator_id.hex

    def renumber(self, nid: int, to: int) -> tuple[str, tuple[Any, ...]]:
        return (f"UPDATE {self.events} SET {self.id} = %s WHERE {self.id} = %s", (to, nid))


def dossier_event(tables: Tables, signed: dict[str, Any], *, after: int = 0) -> dict[str, Any]:
    """A dossier's second event (so the dossier still has another), signed in ``signed``
    and after position ``after``."""
    rows = tables.rows()
    for position, row in enumerate(rows[: signed["size"]]):
        if position >= after and row["topic"].startswith("domain.dossier:") and row["version"] == 2:
            return {**row, "position": position}
    raise AssertionError("no dossier event to tamper with")


def rewrite_tree_for(
    tables: Tables, target: dict[str, Any], state: bytes, *, drop_signature: bool = False
) -> None:
    """Change ``target``'s state and rewrite the tree to match, as an attacker with the
    database but not the key would: the leaf's hash at its position, and every stored node
    recomputed from the leaves. The leaf keeps its old signature, or loses it."""
    leaves = tables.database.qualified("audit_leaves")
    nodes = tables.database.qualified("audit_nodes")
    leaf = merkle.event_leaf_hash(
        target["originator_id"], target["version"], target["topic"], state
    )
    tables.run(
        (f"UPDATE {tables.events} SET state = %s WHERE {tables.id} = %s", (state, target["nid"])),
        (
            f"UPDATE {leaves} SET leaf_hash = %s"
            + (", signature = NULL" if drop_signature else "")
            + " WHERE position = %s",
            (leaf, target["position"]),
        ),
    )
    with tables.database.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT leaf_hash FROM {leaves} ORDER BY position")
        hashes = [bytes(row["leaf_hash"]) for row in cursor.fetchall()]
    builder = merkle.TreeBuilder()
    recomputed: list[tuple[int, int, bytes]] = []
    for value in hashes:
        recomputed.extend(builder.append(value))
    tables.run(
        (f"DELETE FROM {nodes}", ()),
        *(
            (f"INSERT INTO {nodes} (level, idx, hash) VALUES (%s, %s, %s)", node)
            for node in recomputed
        ),
    )
    assert tables.audit.root(len(hashes)) == builder.root()  # the stored tree is consistent


def verify(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    code = main(["audit", "verify", *arguments])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out + err


def assert_found_at(text: str, position: int, dossier: UUID) -> None:
    assert f"Vị trí hỏng đầu tiên: {position}, hồ sơ {dossier}" in text, text


# --- an untouched store -----------------------------------------------------------------------


def test_an_untouched_store_verifies(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = verify(capsys)
    assert code == 0, text
    assert "Toàn vẹn: 2 điểm kiểm tra" in text
    assert history.second["size"] > history.first["size"] > 0


def test_a_checkpoint_kept_elsewhere_verifies(
    history: History, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    kept = tmp_path / "latest.json"
    kept.write_text(json.dumps(history.first), encoding="utf-8")
    code, text = verify(capsys, "--checkpoint", str(kept))
    assert code == 0, text
    assert "Toàn vẹn: 1 điểm kiểm tra" in text


# --- tampering --------------------------------------------------------------------------------


def test_a_changed_byte_is_found_at_its_position(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.first)
        state = bytearray(target["state"])
        at = state.index(b"Thi\xe1\xba\xbfu")  # "Thiếu" → "Thiêu": one byte
        state[at + 4] ^= 0x01
        tables.run(
            (
                f"UPDATE {tables.events} SET state = %s WHERE {tables.id} = %s",
                (bytes(state), target["nid"]),
            )
        )
    code, text = verify(capsys)
    assert code == 1
    assert_found_at(text, target["position"], target["originator_id"])
    assert "đã bị sửa" in text


def test_a_deleted_event_is_found_and_its_dossier_named(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.first)
        tables.run((f"DELETE FROM {tables.events} WHERE {tables.id} = %s", (target["nid"],)))
    code, text = verify(capsys)
    assert code == 1
    assert_found_at(text, target["position"], target["originator_id"])
    assert "đã bị xóa" in text


def test_swapped_events_are_found(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    with opened(history.store) as services:
        tables = Tables(services)
        rows = tables.rows()
        target = dossier_event(tables, history.first)
        other = rows[history.second["size"] - 2]
        tables.run(
            tables.renumber(target["nid"], -5),
            tables.renumber(other["nid"], target["nid"]),
            tables.renumber(-5, other["nid"]),
        )
    code, text = verify(capsys)
    assert code == 1
    # the first bad position now holds the other event
    assert f"Vị trí hỏng đầu tiên: {target['position']}, " in text, text
    assert "đã bị tráo" in text
    assert str(target["originator_id"]) in text
    assert str(other["originator_id"]) in text


def test_a_forged_event_inserted_in_the_middle_is_found(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = uuid.uuid4()
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.first)
        nid, shift = target["nid"], 1_000_000
        state = target["state"].replace(b"Thi\xe1\xba\xbfu", b"\xc4\x90\xe1\xbb\xa7")  # "Đủ"
        tables.run(
            # make room before the target, then put a forged event there
            (
                f"UPDATE {tables.events} SET {tables.id} = {tables.id} + {shift} WHERE {tables.id} >= %s",
                (nid,),
            ),
            (
                f"UPDATE {tables.events} SET {tables.id} = {tables.id} - {shift - 1} WHERE {tables.id} >= %s",
                (shift,),
            ),
            (
                f"INSERT INTO {tables.events} ({tables.id}, originator_id, originator_version, "
                "topic, state) VALUES (%s, %s, %s, %s, %s)",
                (nid, tables.originator_value(forged), 1, "domain.dossier:Dossier.Approved", state),
            ),
        )
    code, text = verify(capsys)
    assert code == 1
    assert f"Vị trí hỏng đầu tiên: {target['position']}, " in text, text
    assert str(forged) in text
    assert "chèn thêm" in text


@pytest.mark.parametrize("signature", ["kept", "removed"])
def test_a_tree_rewritten_to_match_a_changed_event_is_found_at_its_position(
    history: History, capsys: pytest.CaptureFixture[str], signature: str
) -> None:
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.second, after=history.first["size"] + 1)
        state = target["state"].replace(b"Thi\xe1\xba\xbfu", b"Kh\xc3\xb4ng thi\xe1\xba\xbfu")
        rewrite_tree_for(tables, target, state, drop_signature=signature == "removed")
    code, text = verify(capsys)
    assert code == 1, text
    assert_found_at(text, target["position"], target["originator_id"])
    assert "dựng lại" in text if signature == "kept" else "chữ ký đã bị xóa" in text
    assert "trong khoảng" not in text


def test_a_tree_rewritten_after_the_last_checkpoint_is_found_at_its_position(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    """No signed root covers these events yet: their leaves' signatures do."""
    with opened(history.store) as services:
        services.audit.catch_up()  # the events recorded after the second checkpoint
        tables = Tables(services)
        rows = tables.rows()
        position, row = next(
            (p, r)
            for p, r in enumerate(rows)
            if p >= history.second["size"] and r["topic"].startswith("domain.dossier:")
        )
        target = {**row, "position": position}
        state = target["state"].replace(
            b"Gi\xc3\xa1o vi\xc3\xaan", b"Hi\xe1\xbb\x87u tr\xc6\xb0\xe1\xbb\x9fng"
        )
        assert state != target["state"]
        rewrite_tree_for(tables, target, state)
    code, text = verify(capsys)
    assert code == 1, text
    assert_found_at(text, target["position"], target["originator_id"])
    assert "dựng lại" in text


def test_the_writer_signs_every_leaf_with_the_checkpoints_key(
    history: History,
) -> None:
    with opened(history.store) as services:
        key = services.checkpoints.key()
        leaves = list(services.audit.iter_leaves())
    assert len(leaves) == history.second["size"]
    for leaf in leaves:
        assert leaf.signature is not None
        key.public.verify(leaf.signature, merkle.leaf_receipt_body(leaf.position, leaf.leaf_hash))


def test_a_tree_rebuilt_without_the_key_is_placed_between_checkpoints(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every leaf's signature gone: only the signed roots are left to contradict the tree."""
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.second, after=history.first["size"])
        state = target["state"].replace(b"Thi\xe1\xba\xbfu", b"Kh\xc3\xb4ng thi\xe1\xba\xbfu")
        tables.run(
            (
                f"UPDATE {tables.events} SET state = %s WHERE {tables.id} = %s",
                (state, target["nid"]),
            ),
            # the tree, recomputed from the changed events by the writer itself
            (f"DELETE FROM {tables.database.qualified('audit_leaves')}", ()),
            (f"DELETE FROM {tables.database.qualified('audit_nodes')}", ()),
            (
                f"DELETE FROM {tables.database.tracking_table} WHERE application_name = %s",
                (TRACKING_NAME,),
            ),
        )
        AuditLog(services.movements).catch_up()
    code, text = verify(capsys)
    assert code == 1
    first, last = history.first["size"], history.second["size"] - 1
    assert f"Vị trí hỏng đầu tiên: trong khoảng {first}–{last}" in text, text
    named = text.split("Các hồ sơ có sự kiện trong khoảng này")[1].splitlines()[0]
    assert str(target["originator_id"]) in named
    assert str(history.dossiers[0]) not in named  # signed whole in the first checkpoint
    assert "dựng lại" in text
    assert "không có chữ ký" in text


def test_a_changed_event_fails_against_a_checkpoint_kept_elsewhere(
    history: History, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    kept = tmp_path / "latest.json"
    kept.write_text(json.dumps(history.first), encoding="utf-8")
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.first)
        tables.run((f"DELETE FROM {tables.events} WHERE {tables.id} = %s", (target["nid"],)))
    code, text = verify(capsys, "--checkpoint", str(kept))
    assert code == 1
    assert_found_at(text, target["position"], target["originator_id"])


def test_a_checkpoint_refuses_to_sign_a_rewritten_tree(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    with opened(history.store) as services:
        tables = Tables(services)
        target = dossier_event(tables, history.first)
        tables.run((f"DELETE FROM {tables.events} WHERE {tables.id} = %s", (target["nid"],)))
        tables.run(
            (f"DELETE FROM {tables.database.qualified('audit_leaves')}", ()),
            (f"DELETE FROM {tables.database.qualified('audit_nodes')}", ()),
            (
                f"DELETE FROM {tables.database.tracking_table} WHERE application_name = %s",
                (TRACKING_NAME,),
            ),
        )
    code = main(["audit", "checkpoint"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert "không nối tiếp" in err
    with opened(history.store) as services:
        assert len(services.checkpoints.table.all()) == 2  # nothing signed


# --- exports ----------------------------------------------------------------------------------


def public_key_file(store: Store, tmp_path: Path) -> Path:
    path = tmp_path / "khoa-cong-khai.pem"
    path.write_text(load_signing_key(store.settings.audit_key_path).public_pem(), encoding="utf-8")
    return path


def nowhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings that point at no database at all (and would not even validate)."""
    for name in list(os.environ):
        if name.startswith("KHENTHUONG_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KHENTHUONG_STORE", "postgres")  # without a URL: invalid
    monkeypatch.setenv("KHENTHUONG_DATA_DIR", "/nonexistent/khenthuong")


def export(capsys: pytest.CaptureFixture[str], path: Path, *arguments: str) -> None:
    code = main(["audit", "export", *arguments])
    out, err = capsys.readouterr()
    assert code == 0, err
    path.write_text(out, encoding="utf-8")


def test_an_export_verifies_with_no_database(
    history: History,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole, one = tmp_path / "tat-ca.jsonl", tmp_path / "ho-so.jsonl"
    export(capsys, whole)
    dossier = history.dossiers[0]
    export(capsys, one, "--dossier", str(dossier))
    key = public_key_file(history.store, tmp_path)
    lines = whole.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["checkpoint"]["size"] == history.second["size"]
    assert len(lines) == history.second["size"] + 2
    assert [json.loads(line)["originator_id"] for line in one.read_text().splitlines()[1:-1]] == [
        str(dossier),
        str(dossier),
    ]
    nowhere(monkeypatch)
    for path in (whole, one):
        assert main(["audit", "verify-export", str(path), "--public-key", str(key)]) == 0
        out = capsys.readouterr().out
        assert "Hợp lệ" in out


def test_an_export_read_in_chunks_of_proofs_verifies(
    history: History,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import api.cli

    monkeypatch.setattr(api.cli, "EXPORT_PROOFS_AT_ONCE", 4)  # the proofs of 4 events a read
    path = tmp_path / "tat-ca.jsonl"
    export(capsys, path)
    assert len(path.read_text(encoding="utf-8").splitlines()) == history.second["size"] + 2
    key = public_key_file(history.store, tmp_path)
    assert main(["audit", "verify-export", str(path), "--public-key", str(key)]) == 0
    assert "Hợp lệ" in capsys.readouterr().out


def test_a_tampered_export_line_fails(
    history: History,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "ho-so.jsonl"
    export(capsys, path, "--dossier", str(history.dossiers[2]))
    key = public_key_file(history.store, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    event = json.loads(lines[2])
    event["topic"] = "domain.dossier:Dossier.Approved"
    lines[2] = json.dumps(event)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    nowhere(monkeypatch)
    assert main(["audit", "verify-export", str(path), "--public-key", str(key)]) == 1
    out, err = capsys.readouterr()
    assert f"vị trí {event['position']}" in out
    assert "KHÔNG hợp lệ" in err


def test_an_export_against_another_key_fails(
    history: History,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "tat-ca.jsonl"
    export(capsys, path)
    other = load_signing_key(tmp_path / "khac.pem")
    key = tmp_path / "khac-cong-khai.pem"
    key.write_text(other.public_pem(), encoding="utf-8")
    nowhere(monkeypatch)
    assert main(["audit", "verify-export", str(path), "--public-key", str(key)]) == 1
    assert "Chữ ký" in capsys.readouterr().out


# --- the key ----------------------------------------------------------------------------------


def test_the_first_checkpoint_creates_the_key_readable_by_its_owner_only(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store.settings.audit_key_path
    assert not path.exists()
    signed = checkpoint(capsys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = load_signing_key(path)
    assert signed["key_id"] == key.key_id
    assert len(key.key_id) == 16


def test_a_key_file_others_can_read_is_refused(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path = store.settings.audit_key_path
    load_signing_key(path)
    path.chmod(0o644)
    code = main(["audit", "checkpoint"])
    err = capsys.readouterr().err
    assert code == 3
    assert f"chmod 600 {path}" in err
    assert "Traceback" not in err
