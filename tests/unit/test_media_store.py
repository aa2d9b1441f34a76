"""Work-report evidence: type from the bytes, size per kind, stored once by hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.media.store import LocalMediaStore, MediaLimits, MediaRefused, check, sniff

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100
LIMITS = MediaLimits(
    photo_bytes=200, video_bytes=400, allowed_types=frozenset({"image/jpeg", "video/mp4"})
)


def test_the_type_comes_from_the_bytes() -> None:
    assert sniff(JPEG) == ("image/jpeg", "photo")
    assert sniff(MP4) == ("video/mp4", "video")
    assert sniff(b"MZ\x90\x00 not a photo") is None


def test_a_renamed_file_or_an_oversized_one_is_refused_naming_it() -> None:
    with pytest.raises(MediaRefused) as wrong:
        check(b"%PDF-1.7 ...", "photo.jpg", "media[1]", LIMITS)
    assert (wrong.value.status, wrong.value.field) == (422, "media[1]")
    assert "'photo.jpg'" in wrong.value.reason
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 10
    with pytest.raises(MediaRefused, match="image/png"):
        check(png, "a.png", "media[0]", LIMITS)  # a real type, but not allowed here
    with pytest.raises(MediaRefused) as big:
        check(JPEG + b"\x00" * 200, "big.jpg", "media[0]", LIMITS)
    assert big.value.status == 413 and "'big.jpg'" in big.value.reason
    assert check(MP4 + b"\x00" * 250, "v.mp4", "media[0]", LIMITS) == ("video/mp4", "video")


async def test_stored_by_content_hash_once(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path)
    digest = await store.put(JPEG)
    assert digest == hashlib.sha256(JPEG).hexdigest()
    assert await store.put(JPEG) == digest
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1
    assert await store.get(digest) == JPEG
    assert await store.get("0" * 64) is None
    assert await store.get("../../etc/passwd") is None
