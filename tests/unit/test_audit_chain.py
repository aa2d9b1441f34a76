"""The audit log's canonical encoding is pinned, and each kind of tampering is named."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.domain.audit_chain import (
    GENESIS,
    canonical,
    checkpoint_bytes,
    first_break,
    head_at,
    link,
    proof,
)

AT = datetime(2026, 12, 2, 4, 5, 6, 789000, tzinfo=UTC)
REPORT: dict[str, Any] = dict(
    id=7,
    at=AT,
    actor="agency:health",
    action="report_received",
    case_id="p-1",
    task_id="t-1",
    subject=None,
    purpose=None,
    legal_ground=None,
    data={"to_state": "done", "from_state": "in_progress"},
)


def test_the_encoding_and_hash_are_pinned() -> None:
    """Changing these bytes makes every record already sealed unverifiable: never do it in
    place; add an encoding version instead."""
    assert canonical(REPORT) == (
        b'{"action":"report_received","actor":"agency:health","at":"2026-12-02T04:05:06.789000Z",'
        b'"case_id":"p-1","data":{"from_state":"in_progress","to_state":"done"},"id":7,'
        b'"legal_ground":null,"purpose":null,"subject":null,"task_id":"t-1","v":1}'
    )
    assert link(GENESIS, REPORT) == (
        "4e2dbf4cad5e4ec22cf1772d7073c785b9b61b7c8e7b285923ec8707b6669ab0"
    )
    lookup = dict(
        REPORT,
        id=8,
        actor="centre:демо",
        action="registry_family",
        subject="ab" * 32,
        purpose="ipr_monitoring",
        legal_ground="Приказ № 192",
        data={},
    )
    assert "Приказ № 192".encode() in canonical(lookup)  # UTF-8, not \\u escapes
    assert link(link(GENESIS, REPORT), lookup) == (
        "722ef41d23b384fdf3b006313be86d41aa66887ce3273ca8585570e107bc326d"
    )
    # The link is plain SHA-256 over prev, a newline and the canonical bytes.
    expected = hashlib.sha256(GENESIS.encode() + b"\n" + canonical(REPORT)).hexdigest()
    assert link(GENESIS, REPORT) == expected


def _chain(n: int) -> list[dict[str, Any]]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        row = dict(REPORT, id=100 + i, action=f"event_{i}", seq=i, prev_hash=prev)
        row["hash"] = link(prev, row)
        prev = row["hash"]
        rows.append(row)
    return rows


def test_an_intact_chain_has_no_break() -> None:
    rows = _chain(6)
    assert first_break(rows) is None
    assert head_at(rows, 6) == rows[-1]["hash"]
    assert head_at(rows, 0) == GENESIS


def test_a_changed_field_is_named() -> None:
    rows = _chain(6)
    rows[2]["actor"] = "agency:police"
    broken = first_break(rows)
    assert broken is not None and (broken.kind, broken.record_id) == ("changed", 103)


def test_a_deleted_record_is_named_by_its_seq() -> None:
    rows = _chain(6)
    del rows[3]
    broken = first_break(rows)
    assert broken is not None and (broken.kind, broken.seq) == ("deleted", 4)
    # Deleted and renumbered: the next record chains to a hash no longer in the log.
    rows = _chain(6)
    del rows[3]
    for row in rows[3:]:
        row["seq"] -= 1
    broken = first_break(rows)
    assert broken is not None and (broken.kind, broken.record_id) == ("deleted", 105)


def test_an_inserted_record_is_named() -> None:
    rows = _chain(6)
    forged = dict(REPORT, id=999, action="forged", prev_hash=rows[2]["hash"])
    forged["hash"] = link(forged["prev_hash"], forged)
    for row in rows[3:]:
        row["seq"] += 1
    forged["seq"] = 4
    rows.insert(3, forged)
    broken = first_break(rows)
    assert broken is not None and (broken.kind, broken.record_id) == ("inserted", 999)


def test_two_swapped_records_are_a_reordering() -> None:
    for a, b in ((1, 2), (1, 4)):
        rows = _chain(6)
        rows[a]["seq"], rows[b]["seq"] = rows[b]["seq"], rows[a]["seq"]
        rows.sort(key=lambda r: r["seq"])
        broken = first_break(rows)
        assert broken is not None and broken.kind == "reordered", (a, b, broken)
        assert broken.seq == a + 1


def test_a_proof_leads_from_the_record_to_the_checkpoint_head() -> None:
    rows = _chain(6)
    key = Ed25519PrivateKey.generate()
    signature = key.sign(checkpoint_bytes(6, rows[-1]["hash"], AT))
    made = proof(rows, 3, 6)
    h = hashlib.sha256(rows[2]["prev_hash"].encode() + b"\n" + made.canonical.encode())
    digest = h.hexdigest()
    assert digest == made.record["hash"]
    for step in made.links:
        digest = hashlib.sha256(digest.encode() + b"\n" + step["canonical"].encode()).hexdigest()
        assert digest == step["hash"]
    assert digest == rows[-1]["hash"]
    key.public_key().verify(signature, checkpoint_bytes(6, digest, AT))
