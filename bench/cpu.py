"""CPU time of the measured processes, read from /proc (Linux), without psutil.

The bench has to say what the gateway costs a task, apart from what the mock bodies
cost: both run on the same machine and a figure that mixes them would blame the gateway
for the mocks (or the other way round). The processes are found by their command line
and by the AMQP prefix in their environment, so another developer's gateway on the same
machine is not counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessGroup:
    """A named set of processes: those whose command line has `program` then `command`.

    `program` is a module run with `-m` or a console script of that name (`gateway
    serve` is started both ways: by `gateway up`, and by hand for a second worker).
    """

    name: str
    program: str
    command: str | None = None


GATEWAY = ProcessGroup("gateway", "gateway", "serve")
BODIES = ProcessGroup("bodies", "mocks.agencies")


def parse_stat_cpu_ticks(stat_line: str) -> int:
    """utime + stime (clock ticks) from a /proc/PID/stat line.

    The command name (field 2) is in parentheses and may hold spaces or parentheses of
    its own, so the fields are counted from the last ')'.
    """
    rest = stat_line[stat_line.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(rest[11]) + int(rest[12])


def parse_environ(raw: bytes) -> dict[str, str]:
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}


def matches(argv: list[str], environ: Mapping[str, str], group: ProcessGroup, prefix: str) -> bool:
    """Is this process one of `group` serving the deployment with AMQP `prefix`?

    A process without GATEWAY_AMQP_PREFIX in its environment runs on the default
    prefix `gw`, the same default as the gateway's settings.
    """
    if not runs(argv, group):
        return False
    return environ.get("GATEWAY_AMQP_PREFIX", "gw") == prefix


def runs(argv: list[str], group: ProcessGroup) -> bool:
    for i, arg in enumerate(argv[1:], start=1):
        is_module = arg == group.program and argv[i - 1] == "-m"
        is_script = Path(arg).name == group.program and i == 1
        if is_module or is_script:
            following = argv[i + 1 : i + 2]
            return group.command is None or following == [group.command]
    return False


def find_pids(group: ProcessGroup, prefix: str, proc: Path = PROC) -> list[int]:
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
            environ = parse_environ((entry / "environ").read_bytes())
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if argv and "python" in Path(argv[0]).name and matches(argv, environ, group, prefix):
            pids.append(int(entry.name))
    return sorted(pids)


def cpu_seconds(pids: Iterable[int], proc: Path = PROC) -> dict[int, float]:
    """CPU seconds used so far by each pid still alive (a dead one is left out)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            out[pid] = parse_stat_cpu_ticks((proc / str(pid) / "stat").read_text()) / tick
        except (OSError, ValueError, IndexError):
            continue
    return out


def used_between(before: Mapping[int, float], after: Mapping[int, float]) -> float:
    """CPU seconds spent between two samples by the processes alive at both."""
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def ms_per_task(seconds: float | None, tasks: int) -> float | None:
    if seconds is None or tasks <= 0:
        return None
    return round(seconds * 1000.0 / tasks, 3)


class CpuMeter:
    """Samples a group's CPU at the start and at the end of the measured window."""

    def __init__(self, group: ProcessGroup, prefix: str) -> None:
        self.group = group
        self.pids = find_pids(group, prefix)
        self._before: dict[int, float] = {}

    def start(self) -> None:
        self._before = cpu_seconds(self.pids)

    def stop(self) -> float | None:
        """Seconds used since start; None when no such process was found."""
        if not self.pids:
            return None
        return round(used_between(self._before, cpu_seconds(self.pids)), 3)
