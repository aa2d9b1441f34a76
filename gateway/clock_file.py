"""A clock a drill can move: the system time plus an offset kept in a file.

The legal terms run in working days; a chaos drill cannot wait two of them for the
deadline watcher to record a breach. With `GATEWAY_CLOCK_FILE` set, every gateway
process reads the same offset, so the API, the relay, the collector and the watcher
agree on what time it is; writing a larger number into the file makes time jump
forward for all of them at once. Production never sets it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

log = logging.getLogger("gateway.clock")

RECHECK_SECONDS = 0.2


class FileOffsetClock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0.0
        self._mtime: float | None = None
        self._checked = 0.0
        self._read()
        log.warning("clock runs %.0f s ahead of the system clock (from %s)", self._offset, path)

    @property
    def offset_seconds(self) -> float:
        self._maybe_reread()
        return self._offset

    def now(self) -> datetime:
        self._maybe_reread()
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def _maybe_reread(self) -> None:
        now = time.monotonic()
        if now - self._checked < RECHECK_SECONDS:
            return
        self._checked = now
        try:
            mtime = self._path.stat().st_mtime
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._read()

    def _read(self) -> None:
        try:
            stat = self._path.stat()
            text = self._path.read_text().strip()
        except FileNotFoundError:
            self._mtime, self._offset = None, 0.0
            return
        self._mtime = stat.st_mtime
        try:
            offset = float(text or 0)
        except ValueError:
            log.error(
                "%s: '%s' is not a number of seconds; keeping %.0f",
                self._path,
                text[:40],
                self._offset,
            )
            return
        if offset != self._offset:
            log.info("clock offset now %.0f s (%s)", offset, self._path)
        self._offset = offset


def write_offset(path: Path, seconds: float) -> None:
    """Set the offset for every process reading `path` (atomically: write, then rename)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(f"{seconds}\n")
    tmp.replace(path)
