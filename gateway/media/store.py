"""Where work-report photos and videos are kept: by content hash, behind an interface.

A file is named by the SHA-256 of its bytes, so the same photo sent twice (a retried
upload) is stored once, and a reference in a report can be checked against the bytes.
Type and size are checked before anything is written: the type from the file's first
bytes, not from what the client claims, so a renamed executable is not a "photo".

`LocalMediaStore` keeps files under a directory (the default). An S3-compatible store
would implement the same `MediaStore`; it is not written yet (no S3 endpoint in this
deployment), and nothing outside this module would change when it is.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

MediaKind = Literal["photo", "video"]


@dataclass(frozen=True, slots=True)
class StoredMedia:
    sha256: str
    kind: MediaKind
    content_type: str
    size: int
    file_name: str


class MediaRefused(ValueError):
    """A file we will not keep; `status` is 413 (too large) or 422 (wrong type)."""

    def __init__(self, field: str, reason: str, status: int) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


# Magic numbers of the types the Kandas system takes as evidence.
_SIGNATURES: tuple[tuple[bytes, int, str, MediaKind], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "photo"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "photo"),
    (b"ftypheic", 4, "image/heic", "photo"),
    (b"ftypmif1", 4, "image/heic", "photo"),
    (b"ftypqt  ", 4, "video/quicktime", "video"),
    (b"ftypisom", 4, "video/mp4", "video"),
    (b"ftypmp42", 4, "video/mp4", "video"),
    (b"ftypiso2", 4, "video/mp4", "video"),
    (b"ftypavc1", 4, "video/mp4", "video"),
    (b"\x1aE\xdf\xa3", 0, "video/webm", "video"),
)


def sniff(data: bytes) -> tuple[str, MediaKind] | None:
    """The content type and kind the bytes really are, or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "photo"
    for magic, offset, content_type, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return content_type, kind
    return None


@dataclass(frozen=True, slots=True)
class MediaLimits:
    photo_bytes: int
    video_bytes: int
    allowed_types: frozenset[str]


def check(data: bytes, file_name: str, field: str, limits: MediaLimits) -> tuple[str, MediaKind]:
    """The file's type and kind, or `MediaRefused` naming the field and the file."""
    found = sniff(data)
    if found is None or found[0] not in limits.allowed_types:
        allowed = ", ".join(sorted(limits.allowed_types))
        what = found[0] if found else "not a photo or video we recognise"
        raise MediaRefused(field, f"'{file_name}' is {what}; allowed: {allowed}", 422)
    content_type, kind = found
    limit = limits.photo_bytes if kind == "photo" else limits.video_bytes
    if len(data) > limit:
        raise MediaRefused(
            field, f"'{file_name}' is {len(data)} bytes; a {kind} may be {limit} bytes", 413
        )
    if not data:
        raise MediaRefused(field, f"'{file_name}' is empty", 422)
    return content_type, kind


class MediaStore(Protocol):
    async def put(self, data: bytes) -> str:
        """Keep the bytes; returns their SHA-256 (hex). Storing the same bytes is a no-op."""
        ...

    async def get(self, sha256: str) -> bytes | None: ...


class LocalMediaStore:
    """Files under `root/ab/cd/<sha256>`, written to a temporary name and renamed, so a
    crash never leaves a half-written file under a hash that promises its content."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        await asyncio.to_thread(self._write, digest, data)
        return digest

    def _write(self, digest: str, data: bytes) -> None:
        path = self._path(digest)
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{digest}.{os.getpid()}.part")
        temporary.write_bytes(data)
        os.replace(temporary, path)

    async def get(self, sha256: str) -> bytes | None:
        try:
            path = self._path(sha256)
        except ValueError:
            return None
        if not path.exists():
            return None
        return await asyncio.to_thread(path.read_bytes)
