"""The audit log's Merkle tree against RFC 9162 / RFC 6962 and its reference test vectors.

The vectors are the well-known eight-leaf test tree of the Go and Trillian implementations
(transparency-dev/merkle, proof/verify_test.go and rfc6962/rfc6962_test.go). Beyond them, every
inclusion proof for (index, size) and every consistency proof for (m, n) up to 20 is checked
against a direct transcription of the RFC's recursive definitions, verified, and refused once
tampered with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.audit import merkle
from application.audit.merkle import (
    EMPTY_ROOT,
    TreeBuilder,
    canonical_event_bytes,
    checkpoint_body,
    consistency_proof,
    event_timestamp,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_of_leaves,
    parse_checkpoint_body,
    range_nodes,
    root_from_inclusion_proof,
    root_hash,
    subtree_nodes,
    verify_consistency,
    verify_inclusion,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def h(text: str) -> bytes:
    return bytes.fromhex(text)


LEAVES = [
    h(""),
    h("00"),
    h("10"),
    h("2021"),
    h("3031"),
    h("40414243"),
    h("5051525354555657"),
    h("606162636465666768696a6b6c6d6e6f"),
]
ROOTS = [
    h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
    h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
    h("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
    h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
    h("4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
    h("76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
    h("ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
    h("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
]
# (leaf index, tree size, audit path): the vectors' one-based leaf numbers made zero-based
INCLUSION_VECTORS = [
    (
        0,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        5,
        8,
        [
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (2, 3, [h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (
        1,
        5,
        [
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (0, 1, []),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
        ],
    ),
    (
        6,
        8,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
    (
        2,
        5,
        [
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ],
    ),
    (
        6,
        7,
        [
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ],
    ),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")

# --- the RFC's definitions, transcribed literally (over the data, not over stored nodes) ------


def mth(data: Sequence[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hash(data[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(data[:k]), mth(data[k:]))


def path(m: int, data: Sequence[bytes]) -> list[bytes]:
    n = len(data)
    if n <= 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*path(m, data[:k]), mth(data[k:])]
    return [*path(m - k, data[k:]), mth(data[:k])]


def subproof(m: int, data: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if complete else [mth(data)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*subproof(m, data[:k], complete), mth(data[k:])]
    return [*subproof(m - k, data[k:], False), mth(data[:k])]


def data_of(size: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(size)]


def tampered_inclusion(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """Go's corruptInclusionProof: each probe must be refused."""
    probes = [
        ("index - 1", index - 1, size, proof, root, leaf),
        ("index + 1", index + 1, size, proof, root, leaf),
        ("index ^ 2", index ^ 2, size, proof, root, leaf),
        ("size * 2", index, size * 2, proof, root, leaf),
        ("size // 2", index, size // 2, proof, root, leaf),
        ("wrong leaf", index, size, proof, root, leaf_hash(b"WrongLeaf")),
        ("empty root", index, size, proof, EMPTY_ROOT, leaf),
        ("random root", index, size, proof, SOME_HASH, leaf),
        ("trailing garbage", index, size, [*proof, b""], root, leaf),
        ("trailing root", index, size, [*proof, root], root, leaf),
        ("preceding garbage", index, size, [b"", *proof], root, leaf),
        ("preceding root", index, size, [root, *proof], root, leaf),
    ]
    for at in range(len(proof)):
        wrong = list(proof)
        wrong[at] = bytes([wrong[at][0] ^ 8]) + wrong[at][1:]
        probes.append((f"modified proof[{at}]", index, size, wrong, root, leaf))
    if proof:
        probes.append(("removed component", index, size, proof[:-1], root, leaf))
    if len(proof) > 1:
        probes.append(
            ("inserted component", index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf)
        )
    return probes


def tampered_consistency(
    m: int, n: int, root_m: bytes, root_n: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """Go's corruptConsistencyProof."""
    probes = [
        ("m - 1", m - 1, n, root_m, root_n, proof),
        ("m + 1", m + 1, n, root_m, root_n, proof),
        ("m ^ 2", m ^ 2, n, root_m, root_n, proof),
        ("n * 2", m, n * 2, root_m, root_n, proof),
        ("n // 2", m, n // 2, root_m, root_n, proof),
        ("wrong root_m", m, n, leaf_hash(b"WrongRoot"), root_n, proof),
        ("wrong root_n", m, n, root_m, leaf_hash(b"WrongRoot"), proof),
        ("swapped roots", m, n, root_n, root_m, proof),
        ("empty proof", m, n, root_m, root_n, []),
        ("trailing garbage", m, n, root_m, root_n, [*proof, b""]),
        ("trailing root_m", m, n, root_m, root_n, [*proof, root_m]),
        ("trailing root_n", m, n, root_m, root_n, [*proof, root_n]),
        ("preceding garbage", m, n, root_m, root_n, [b"", *proof]),
        ("preceding root_m", m, n, root_m, root_n, [root_m, *proof]),
        ("preceding root_n", m, n, root_m, root_n, [root_n, *proof]),
        ("preceding proof[0]", m, n, root_m, root_n, [proof[0], *proof]),
        ("truncated", m, n, root_m, root_n, proof[:-1]),
    ]
    for at in range(len(proof)):
        wrong = list(proof)
        wrong[at] = bytes([wrong[at][0] ^ 16]) + wrong[at][1:]
        probes.append((f"modified proof[{at}]", m, n, root_m, root_n, wrong))
    return probes


# --- hashing --------------------------------------------------------------------------------------


def test_hashes_are_rfc_6962s() -> None:
    assert h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == EMPTY_ROOT
    assert leaf_hash(b"") == h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_the_roots_of_the_reference_tree_match_for_every_size() -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    assert root_hash([]) == EMPTY_ROOT
    for size in range(1, 9):
        assert root_hash(hashes[:size]) == ROOTS[size - 1], size
        assert mth(LEAVES[:size]) == ROOTS[size - 1], size


def test_a_tree_built_leaf_by_leaf_has_every_intermediate_root() -> None:
    builder = TreeBuilder()
    assert builder.root() == EMPTY_ROOT
    for size, leaf in enumerate(LEAVES, start=1):
        builder.append(leaf_hash(leaf))
        assert builder.size == size
        assert builder.root() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_reference_vectors(
    index: int, size: int, expected: list[bytes]
) -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    proof = inclusion_proof(index, size, nodes_of_leaves(hashes))
    assert proof == expected
    assert verify_inclusion(hashes[index], index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize(("m", "n", "expected"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_reference_vectors(
    m: int, n: int, expected: list[bytes]
) -> None:
    hashes = [leaf_hash(leaf) for leaf in LEAVES]
    proof = consistency_proof(m, n, nodes_of_leaves(hashes))
    assert proof == expected
    assert verify_consistency(m, n, ROOTS[m - 1], ROOTS[n - 1], proof)


# --- every proof up to 20 leaves ------------------------------------------------------------------

SIZES = range(1, 21)


class CountingNodes:
    """``get_nodes`` over stored complete nodes, as the writer keeps them: it never computes a
    hash, and counts what it is asked."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        builder = TreeBuilder()
        for position, leaf in enumerate(leaves):
            self.nodes[0, position] = leaf
            for level, index, value in builder.append(leaf):
                self.nodes[level, index] = value
        self.asked: list[int] = []

    def __call__(self, wanted: Sequence[tuple[int, int]]) -> list[bytes]:
        self.asked.append(len(wanted))
        return [self.nodes[node] for node in wanted]


def test_every_inclusion_proof_up_to_20_leaves_is_the_rfcs_and_verifies() -> None:
    data = data_of(20)
    hashes = [leaf_hash(d) for d in data]
    stored = CountingNodes(hashes)
    for size in SIZES:
        root = mth(data[:size])
        assert root_hash(hashes[:size]) == root
        for index in range(size):
            proof = inclusion_proof(index, size, stored)
            assert proof == path(index, data[:size]), (index, size)
            assert verify_inclusion(hashes[index], index, size, proof, root)
            assert root_from_inclusion_proof(hashes[index], index, size, proof) == root
    assert max(stored.asked) <= 2 * 5  # O(log n) nodes, in one call per proof


def test_every_tampered_inclusion_proof_up_to_20_leaves_is_refused() -> None:
    data = data_of(20)
    hashes = [leaf_hash(d) for d in data]
    stored = CountingNodes(hashes)
    for size in SIZES:
        root = root_hash(hashes[:size])
        for index in range(size):
            proof = inclusion_proof(index, size, stored)
            for name, i, n, wrong, r, leaf in tampered_inclusion(
                index, size, proof, root, hashes[index]
            ):
                genuine = (
                    0 <= i < n <= 20
                    and leaf == hashes[i]
                    and r == root_hash(hashes[:n])
                    and wrong == inclusion_proof(i, n, stored)
                )  # a probe that happens to be another true statement (never so far)
                assert genuine or not verify_inclusion(leaf, i, n, wrong, r), (name, index, size)


def test_every_consistency_proof_up_to_20_leaves_is_the_rfcs_and_verifies() -> None:
    data = data_of(20)
    hashes = [leaf_hash(d) for d in data]
    stored = CountingNodes(hashes)
    for n in SIZES:
        root_n = mth(data[:n])
        for m in range(0, n + 1):
            proof = consistency_proof(m, n, stored)
            expected = [] if m in (0, n) else subproof(m, data[:n], True)
            assert proof == expected, (m, n)
            assert verify_consistency(m, n, mth(data[:m]), root_n, proof), (m, n)


def test_every_tampered_consistency_proof_up_to_20_leaves_is_refused() -> None:
    data = data_of(20)
    hashes = [leaf_hash(d) for d in data]
    stored = CountingNodes(hashes)
    for n in SIZES:
        root_n = root_hash(hashes[:n])
        for m in range(1, n):
            root_m = root_hash(hashes[:m])
            proof = consistency_proof(m, n, stored)
            for name, mm, nn, rm, rn, wrong in tampered_consistency(m, n, root_m, root_n, proof):
                genuine = (
                    0 <= mm <= nn <= 20
                    and rm == root_hash(hashes[:mm])
                    and rn == root_hash(hashes[:nn])
                    and wrong == consistency_proof(mm, nn, stored)
                )
                assert genuine or not verify_consistency(mm, nn, rm, rn, wrong), (name, m, n)


def test_a_proof_from_an_older_tree_does_not_fit_a_rewritten_history() -> None:
    data = data_of(13)
    hashes = [leaf_hash(d) for d in data]
    old_root = root_hash(hashes[:9])
    rewritten = list(hashes)
    rewritten[4] = leaf_hash(b"changed")
    stored = CountingNodes(rewritten)
    proof = consistency_proof(9, 13, stored)
    assert not verify_consistency(9, 13, old_root, root_hash(rewritten), proof)
    assert verify_consistency(9, 13, root_hash(rewritten[:9]), root_hash(rewritten), proof)


def test_trivial_and_impossible_consistency_cases() -> None:
    root = leaf_hash(b"x")
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert verify_consistency(3, 3, root, root, [])
    assert not verify_consistency(3, 3, root, SOME_HASH, [])
    assert not verify_consistency(3, 3, root, root, [EMPTY_ROOT])
    assert not verify_consistency(0, 1, EMPTY_ROOT, root, [EMPTY_ROOT])
    assert not verify_consistency(2, 1, root, root, [])
    assert not verify_consistency(1, 2, root, root, [])
    with pytest.raises(ValueError, match="consistency"):
        consistency_proof(5, 3, CountingNodes([root] * 5))


def test_impossible_inclusion_cases() -> None:
    leaf = leaf_hash(b"data")
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 1, [], b"")
    assert not verify_inclusion(b"", 0, 1, [], leaf)
    for index, size in ((0, 0), (1, 0), (2, 1), (-1, 3)):
        assert not verify_inclusion(SOME_HASH, index, size, [], EMPTY_ROOT)
        assert root_from_inclusion_proof(SOME_HASH, index, size, []) is None
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(3, 3, CountingNodes([leaf] * 3))


def test_complete_nodes_cover_any_size() -> None:
    assert subtree_nodes(0) == []
    assert subtree_nodes(1) == [(0, 0)]
    assert subtree_nodes(13) == [(3, 0), (2, 2), (0, 12)]
    assert range_nodes(8, 13) == [(2, 2), (0, 12)]
    with pytest.raises(ValueError, match="not a range"):
        range_nodes(1, 4)  # [1, 2) then [2, 4): sizes growing, not a subtree of the recursion


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_any_proof_verifies_and_a_resumed_builder_agrees(size: int, draw: st.DataObject) -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    stored = CountingNodes(hashes)
    root = root_hash(hashes)
    index = draw.draw(st.integers(min_value=0, max_value=size - 1))
    proof = inclusion_proof(index, size, stored)
    assert len(proof) <= size.bit_length()
    assert verify_inclusion(hashes[index], index, size, proof, root)
    m = draw.draw(st.integers(min_value=0, max_value=size))
    old_root = root_hash(hashes[:m])
    assert verify_consistency(m, size, old_root, root, consistency_proof(m, size, stored))
    # A writer resumes from the stored complete subtrees of its size alone.
    resumed = TreeBuilder(m, stored([*subtree_nodes(m)]) if m else [])
    for value in hashes[m:]:
        resumed.append(value)
    assert resumed.root() == root
    assert resumed.subtrees() == stored(subtree_nodes(size))


def test_a_builder_refuses_a_wrong_number_of_subtrees() -> None:
    with pytest.raises(ValueError, match="subtree"):
        TreeBuilder(3, [EMPTY_ROOT])


# --- canonical event bytes ------------------------------------------------------------------------


def _documented_example() -> tuple[dict[str, str], str, str]:
    """The worked example in docs/audit.md: its inputs, its bytes (hex), its leaf hash."""
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- canonical-example -->", 2)[1]
    fields = dict(re.findall(r"^- (\w+): `(.*)`$", block, re.MULTILINE))
    hex_block = re.search(r"```text\n(.*?)```", block, re.DOTALL)
    assert hex_block is not None
    lines = [line.split("#", 1)[0] for line in hex_block.group(1).splitlines()]
    hex_text = "".join("".join(lines).split())
    leaf = re.search(r"leaf hash: `([0-9a-f]{64})`", block)
    assert leaf is not None
    return fields, hex_text, leaf.group(1)


def test_the_documented_worked_example_is_what_the_code_computes() -> None:
    fields, hex_text, leaf = _documented_example()
    encoded = canonical_event_bytes(
        UUID(fields["originator_id"]),
        int(fields["originator_version"]),
        fields["topic"],
        fields["state"].encode("utf-8"),
    )
    assert encoded.hex() == hex_text
    assert leaf_hash(encoded).hex() == leaf


def test_canonical_bytes_lay_out_each_field_with_its_length() -> None:
    state = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T02:00:00+00:00"},"a":1}'
    oid = UUID("82f9a579-a907-56f7-81c3-a165db146cb8")
    encoded = canonical_event_bytes(oid, 7, "t:É", state)
    stamp = b"2026-03-02T02:00:00+00:00"
    assert encoded == (
        b"KT1"
        + oid.bytes
        + (7).to_bytes(8, "big")
        + (4).to_bytes(4, "big")
        + "t:É".encode()
        + len(stamp).to_bytes(4, "big")
        + stamp
        + len(state).to_bytes(4, "big")
        + state
    )
    # The same event named by its id's bytes or text.
    assert canonical_event_bytes(oid.bytes, 7, "t:É", state) == encoded
    assert canonical_event_bytes(oid.hex, 7, "t:É", state) == encoded
    assert canonical_event_bytes(str(oid), 7, "t:É", state) == encoded
    # Every field counts.
    assert canonical_event_bytes(oid, 8, "t:É", state) != encoded
    assert canonical_event_bytes(oid, 7, "t:E", state) != encoded
    assert canonical_event_bytes(oid, 7, "t:É", state.replace(b"1}", b"2}")) != encoded


def test_the_timestamp_is_read_by_the_documented_rule() -> None:
    fast = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T02:00:00+00:00"},"x":1}'
    assert event_timestamp(fast) == "2026-03-02T02:00:00+00:00"
    later = b'{"x":1,"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T02:00:00+00:00"}}'
    assert event_timestamp(later) == "2026-03-02T02:00:00+00:00"
    escaped = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026\\u002d03"}}'
    assert event_timestamp(escaped) == "2026-03"
    assert event_timestamp(b'{"x":1}') == ""
    assert event_timestamp(b"\x00encrypted") == ""
    assert event_timestamp(b'{"timestamp":{"_data_":5}}') == ""
    assert event_timestamp(b'{"timestamp":"2026"}') == ""
    assert event_timestamp(b"[1]") == ""


STAMP_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=80),
        st.binary(max_size=40).map(lambda tail: STAMP_PREFIX + tail),
        st.text(max_size=30).map(
            lambda text: STAMP_PREFIX + text.encode("utf-8", "surrogatepass") + b'"},"x":1}'
        ),
        st.text(max_size=30).map(
            lambda text: b'{"timestamp":{"_data_":' + json.dumps(text).encode() + b"}}"
        ),
    ),
    st.uuids(),
    st.integers(min_value=0, max_value=2**63),
    st.text(max_size=20),
)
def test_the_stream_hasher_agrees_with_the_canonical_bytes_on_any_state(
    state: bytes, originator: UUID, version: int, topic: str
) -> None:
    from application.audit.merkle import EventHasher

    expected = leaf_hash(canonical_event_bytes(originator, version, topic, state))
    assert EventHasher().leaf(originator.bytes, version, topic, state) == expected
    assert EventHasher()(originator, version, topic, state) == expected


def test_a_stream_hasher_gives_the_same_leaves() -> None:
    from application.audit.merkle import EventHasher, event_leaf_hash

    hasher = EventHasher()
    state = b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T02:00:00+00:00"}}'
    oid = UUID("82f9a579-a907-56f7-81c3-a165db146cb8")
    expected = event_leaf_hash(oid, 2, "a:B", state)
    for form in (oid, oid.bytes, oid.hex, str(oid)):
        assert hasher(form, 2, "a:B", state) == expected
        assert hasher(form, 2, "a:B", state) == expected  # the topic now cached
    assert hasher(oid, 2, "a:C", state) != expected


def test_the_timestamp_rule_agrees_with_the_stores_own_encoding() -> None:
    from eventsourcing.persistence import DatetimeAsISO, UUIDAsHex

    from application.transcodings import FastJSONTranscoder

    transcoder = FastJSONTranscoder()
    transcoder.register(DatetimeAsISO())
    transcoder.register(UUIDAsHex())
    moment = datetime(2026, 3, 2, 2, 0, 0, 123456, tzinfo=UTC)
    state = transcoder.encode({"timestamp": moment, "originator_topic": "x", "a": "é"})
    assert state.startswith(b'{"timestamp":{"_type_":"datetime_iso","_data_":"')
    assert event_timestamp(state) == moment.isoformat()


# --- checkpoints ----------------------------------------------------------------------------------


def test_a_checkpoint_body_is_four_lines_and_reads_back() -> None:
    root = ROOTS[7]
    moment = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    body = checkpoint_body("khenthuong.example.vn/audit", 8, root, moment)
    assert body == (
        b"khenthuong.example.vn/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
        b"2026-03-02T02:30:00.000000Z\n"
    )
    assert parse_checkpoint_body(body) == (
        "khenthuong.example.vn/audit",
        8,
        root,
        datetime(2026, 3, 2, 2, 30, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    "body",
    [
        b"origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n2026-03-02T02:30:00.000000Z",
        b"origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n2026-03-02T02:30:00.000000Z\n",
        b"origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ=\n2026-03-02T02:30:00.000000Z\n",
        b"origin\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n2026-03-02T02:30:00Z\n",
        b"origin\n-1\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n2026-03-02T02:30:00.000000Z\n",
        b"\xff\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n2026-03-02T02:30:00.000000Z\n",
    ],
)
def test_a_malformed_checkpoint_body_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match="checkpoint"):
        parse_checkpoint_body(body)


def test_a_checkpoint_needs_an_aware_time_a_one_line_origin_and_a_hash() -> None:
    with pytest.raises(ValueError, match="time zone"):
        checkpoint_body("o", 1, ROOTS[0], datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="origin"):
        checkpoint_body("a\nb", 1, ROOTS[0], datetime(2026, 3, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="32-byte"):
        checkpoint_body("o", 1, b"short", datetime(2026, 3, 2, tzinfo=UTC))


def test_the_module_needs_only_the_standard_library() -> None:
    source = Path(merkle.__file__).read_text(encoding="utf-8")
    imports = re.findall(r"^(?:from|import) ([\w.]+)", source, re.MULTILINE)
    assert set(imports) <= {
        "__future__",
        "base64",
        "binascii",
        "hashlib",
        "json",
        "struct",
        "collections.abc",
        "datetime",
        "uuid",
    }


def test_a_leaf_receipt_binds_the_leaf_hash_to_its_position() -> None:
    leaf = merkle.leaf_hash(b"event")
    body = merkle.leaf_receipt_body(5, leaf)
    assert body == b"KT1-leaf\n" + (5).to_bytes(8, "big") + leaf
    assert body != merkle.leaf_receipt_body(6, leaf)
    with pytest.raises(ValueError, match="not negative"):
        merkle.leaf_receipt_body(-1, leaf)
    with pytest.raises(ValueError, match="32-byte"):
        merkle.leaf_receipt_body(0, leaf[:31])
