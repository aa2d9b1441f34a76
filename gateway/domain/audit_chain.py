"""The interagency log's hash chain: the canonical encoding, the link, the verification.

Pure: no I/O, so the rule a body checks is the rule the gateway writes, and a test pins
the encoding (tests/unit/test_audit_chain.py): a change here that alters one byte of the
encoding makes every record already sealed unverifiable, so the encoding is versioned
(`v`) and never changed in place.

A record's hash is SHA-256 over ``prev_hash`` (64 hex characters), a newline, and the
record's canonical JSON: keys sorted, no spaces, UTF-8, timestamps as UTC with
microseconds and a ``Z``. The chain order is the order of ``prev_hash`` links, not of the
``seq`` column, so swapping two rows' places is seen as a reordering, not as a change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ENCODING_VERSION = 1
GENESIS = "0" * 64

# The fields a record's hash covers, in the record as stored.
CHAINED_FIELDS = (
    "id",
    "at",
    "actor",
    "action",
    "case_id",
    "task_id",
    "subject",
    "purpose",
    "legal_ground",
    "data",
)


# One encoder for every record: `json.dumps` with options builds a new encoder on each
# call, which was a third of the sealer's time for a record.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def stamp(moment: datetime) -> str:
    """UTC with microseconds and a Z, e.g. 2026-12-03T08:00:00.000000Z (isoformat is the
    same text for the years the store holds, and cheaper than strftime)."""
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(timespec="microseconds") + "Z"


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes a record's hash covers (encoding version 1)."""
    body: dict[str, Any] = {"v": ENCODING_VERSION}
    for name in CHAINED_FIELDS:
        value = record.get(name)
        body[name] = stamp(value) if isinstance(value, datetime) else value
    return _CANONICAL.encode(body).encode("utf-8")


def link(prev_hash: str, record: Mapping[str, Any]) -> str:
    """The record's hash, chained to its predecessor's."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(record)).hexdigest()


def checkpoint_bytes(count: int, head: str, at: datetime) -> bytes:
    """What the gateway signs for a checkpoint: the chain's length, head and the time."""
    return json.dumps(
        {"v": ENCODING_VERSION, "count": count, "head": head, "at": stamp(at)},
        sort_keys=True,
        separators=(",", ":"),
    ).encode("ascii")


@dataclass(frozen=True)
class Break:
    """The first record that does not fit, and how."""

    kind: str  # changed | deleted | inserted | reordered | broken
    seq: int
    record_id: int | None
    detail: str

    def __str__(self) -> str:
        record = f"record id {self.record_id}" if self.record_id is not None else "a record"
        return f"audit log broken at seq {self.seq} ({record}): {self.kind}: {self.detail}"


def first_break(rows: Sequence[Mapping[str, Any]]) -> Break | None:
    """Walk the sealed records in ``seq`` order; None when every one fits.

    Each row has the chained fields plus ``seq``, ``prev_hash`` and ``hash``.
    """
    known = {row["hash"]: row for row in rows}
    expected_prev = GENESIS
    expected_seq = 1
    for index, row in enumerate(rows):
        seq, rid = int(row["seq"]), row.get("id")
        if seq != expected_seq:
            if seq > expected_seq:
                return Break(
                    "deleted",
                    expected_seq,
                    None,
                    f"seq {expected_seq}..{seq - 1} missing before record id {rid}",
                )
            return Break("inserted", seq, rid, f"a second record with seq {seq}")
        if link(str(row["prev_hash"]), row) != row["hash"]:
            return Break("changed", seq, rid, "its content does not match its hash")
        if row["prev_hash"] != expected_prev:
            return _misplaced(rows, index, known, expected_prev)
        expected_prev = str(row["hash"])
        expected_seq += 1
    return None


def _misplaced(
    rows: Sequence[Mapping[str, Any]],
    index: int,
    known: Mapping[str, Mapping[str, Any]],
    expected_prev: str,
) -> Break:
    """Why the record at ``index`` does not chain to the one before it."""
    row = rows[index]
    seq, rid = int(row["seq"]), row.get("id")
    origin = known.get(str(row["prev_hash"]))
    if origin is not None and int(origin["seq"]) > seq:
        return Break(
            "reordered",
            seq,
            rid,
            f"it chains to record id {origin.get('id')} (seq {origin['seq']}), "
            "which comes after it",
        )
    if origin is not None and index > 0:
        before = rows[index - 1]
        return Break(
            "inserted",
            int(before["seq"]),
            before.get("id"),
            f"the next record (id {rid}) chains past it to seq {origin['seq']}",
        )
    following = rows[index + 1] if index + 1 < len(rows) else None
    if following is not None and following["prev_hash"] == expected_prev:
        return Break("inserted", seq, rid, "the next record chains past it")
    return Break(
        "deleted",
        seq,
        rid,
        "it chains to a record no longer in the log (deleted, or changed and rehashed)",
    )


def head_at(rows: Iterable[Mapping[str, Any]], count: int) -> str | None:
    """The chain head after ``count`` records (GENESIS for 0), None if there are fewer."""
    if count == 0:
        return GENESIS
    for row in rows:
        if int(row["seq"]) == count:
            return str(row["hash"])
    return None


@dataclass(frozen=True)
class Proof:
    """What a body needs to check one record against a checkpoint it holds."""

    record: dict[str, Any]
    canonical: str
    links: list[dict[str, Any]]
    """From the record to the checkpoint: each later record's seq, canonical bytes
    (as text) and hash; recomputing ``link(prev, canonical)`` along them ends at the
    checkpoint's head."""


def proof(rows: Sequence[Mapping[str, Any]], seq: int, count: int) -> Proof:
    """The record ``seq`` and the chain from it up to the checkpoint of ``count`` records."""
    by_seq = {int(r["seq"]): r for r in rows}
    if seq not in by_seq or seq > count:
        raise KeyError(seq)
    target = by_seq[seq]
    later = [by_seq[s] for s in range(seq + 1, count + 1)]
    return Proof(
        record=_plain(target),
        canonical=canonical(target).decode("utf-8"),
        links=[
            {"seq": int(r["seq"]), "canonical": canonical(r).decode("utf-8"), "hash": r["hash"]}
            for r in later
        ],
    )


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {name: row.get(name) for name in (*CHAINED_FIELDS, "seq", "prev_hash", "hash")}
    if isinstance(out["at"], datetime):
        out["at"] = stamp(out["at"])
    return out
