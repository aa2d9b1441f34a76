"""Identifiers that sort by creation time (UUID version 7 layout).

Time-ordered keys keep the B-tree indexes of plans, tasks and messages append-mostly,
which matters once PostgreSQL holds millions of rows.
"""

from __future__ import annotations

import os
import time
import uuid


def new_uuid() -> uuid.UUID:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 68) & 0xFFF) << 64
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def new_id() -> str:
    return str(new_uuid())
