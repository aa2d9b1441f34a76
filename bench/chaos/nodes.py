"""Throwaway RabbitMQ nodes, and a 3-node cluster, from the distribution's package.

Restarting or killing the machine's one broker would disturb everything else using it
(other test runs, a developer's `gateway up`), so drills and tests start nodes of their
own: each with its own node name, AMQP and distribution ports, data and log directories
under one temporary directory, its own Erlang cookie (through HOME) and no plugins. They
share the machine's epmd, which is only a name directory.

`python -m bench.chaos.nodes cluster start --dir D` (what `scripts/rabbitmq-cluster`
runs) starts three nodes and joins them; `stop` takes them all down again.

A node remembers which process started it (`owner.pid`); a node whose owner has died
(a test run killed half-way) is stopped by the next start in the same base directory,
so abandoned nodes do not pile up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

DEFAULT_BASE = Path(os.environ.get("TMPDIR", "/tmp")) / "gateway-rabbitmq"
LIB_BIN = Path("/usr/lib/rabbitmq/bin")
"""Debian's real scripts; /usr/sbin/rabbitmq-server would switch to the rabbitmq user."""


class NodeError(RuntimeError):
    pass


def _tool(name: str) -> str:
    candidate = LIB_BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise NodeError(
            f"{name} not found: install RabbitMQ (Debian/Ubuntu: apt-get install rabbitmq-server)"
        )
    return found


def available() -> bool:
    """Whether throwaway nodes can be started here (the package is installed)."""
    try:
        _tool("rabbitmq-server")
        _tool("rabbitmqctl")
    except NodeError:
        return False
    return True


def free_port() -> int:
    """A free port below the kernel's ephemeral range.

    A port that `bind(0)` hands out comes from the range outgoing connections use too, so
    between this call and the child's own bind, any connection the machine opens (the
    gateway's to RabbitMQ, say) may take it, and the child dies with "address already in
    use" (seen in CI). Ports below the range are never taken that way.
    """
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randrange(20000, min(low, 32768))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Node:
    """One RabbitMQ node in `root`; `url` is its AMQP URL (guest over loopback)."""

    name: str
    port: int
    dist_port: int
    root: Path
    cookie: str
    pid: int | None = None
    owner: int = field(default_factory=os.getpid)

    @property
    def nodename(self) -> str:
        return f"{self.name}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def home(self) -> Path:
        return self.root / "home"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        env.update(
            HOME=str(self.home),
            RABBITMQ_NODENAME=self.nodename,
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_MNESIA_BASE=str(self.root / "mnesia"),
            RABBITMQ_LOG_BASE=str(self.root / "log"),
            RABBITMQ_CONFIG_FILE=str(self.root / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(self.root / "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE=str(self.root / "rabbitmq-env.conf"),
            RABBITMQ_PID_FILE=str(self.root / "rabbitmq.pid"),
            ERL_EPMD_ADDRESS="127.0.0.1",
        )
        return env

    def _prepare(self) -> None:
        for sub in ("home", "mnesia", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        (self.root / "enabled_plugins").write_text("[].\n")  # no management plugin, no port
        (self.root / "rabbitmq-env.conf").write_text("")  # not /etc/rabbitmq's NODENAME
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            "disk_free_limit.absolute = 50MB\n"
            "log.console = false\n"
        )

    def _save(self) -> None:
        (self.root / "node.json").write_text(json.dumps(asdict(self), default=str))

    def start(self, timeout: float = 90.0) -> float:
        """Start the node and wait until it accepts AMQP; the seconds that took."""
        self._prepare()
        started = time.monotonic()
        log = open(self.root / "server.out", "ab")  # the child keeps it open
        proc = subprocess.Popen(
            [_tool("rabbitmq-server")],
            env=self.env(),
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.pid = proc.pid
        self._save()
        while not port_open(self.port):
            if proc.poll() is not None:
                raise NodeError(f"{self.nodename} exited at start; see {self.root}/log")
            if time.monotonic() - started > timeout:
                self.kill()
                raise NodeError(f"{self.nodename} did not open port {self.port} in {timeout} s")
            time.sleep(0.1)
        return time.monotonic() - started

    def ctl(self, *args: str, timeout: float = 120.0, check: bool = True) -> str:
        result = subprocess.run(
            [_tool("rabbitmqctl"), "-n", self.nodename, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise NodeError(
                f"rabbitmqctl {' '.join(args)} on {self.nodename} failed "
                f"({result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
            )
        return result.stdout

    def stop_app(self) -> None:
        """Stop RabbitMQ on the node (connections are closed; the Erlang VM stays)."""
        self.ctl("stop_app")

    def start_app(self, timeout: float = 90.0) -> None:
        self.ctl("start_app")
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if time.monotonic() > deadline:
                raise NodeError(f"{self.nodename} did not listen again within {timeout} s")
            time.sleep(0.1)

    def restart(self, down_seconds: float = 0.0) -> float:
        """stop_app, stay down `down_seconds`, start_app: what an operator's restart
        does. Returns how long clients could not connect."""
        began = time.monotonic()
        self.stop_app()
        if down_seconds > 0:
            time.sleep(down_seconds)
        self.start_app()
        return time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL the node's process group: a crash, not a shutdown."""
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        _reap(self.pid)
        deadline = time.monotonic() + 10
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the node and its VM; a node that does not stop in time is killed."""
        if self.pid is None or not alive(self.pid):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGTERM)  # the script turns it into a clean stop
        deadline = time.monotonic() + timeout
        while alive(self.pid) and time.monotonic() < deadline:
            _reap(self.pid)
            time.sleep(0.1)
        if alive(self.pid):
            self.kill()
        _reap(self.pid)

    def restart_node(self, timeout: float = 90.0) -> float:
        """Start the node again after `kill()` or `stop()`, on its same data."""
        return self.start(timeout)

    def join(self, other: Node) -> None:
        self.ctl("stop_app")
        self.ctl("join_cluster", other.nodename)
        self.start_app()


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def reap_abandoned(base: Path = DEFAULT_BASE) -> list[str]:
    """Stop nodes under `base` whose owner process is gone; their names."""
    stopped: list[str] = []
    if not base.exists():
        return stopped
    for record in base.glob("*/*/node.json"):
        try:
            node = Node(**{**json.loads(record.read_text()), "root": record.parent})
        except (ValueError, TypeError):
            continue
        if alive(node.owner) or (node.pid is not None and node.pid == os.getpid()):
            continue
        node.stop(timeout=20)
        shutil.rmtree(record.parent.parent, ignore_errors=True)
        stopped.append(node.nodename)
    return stopped


@dataclass
class Nodes:
    """A group of nodes under one directory (one node, or a cluster)."""

    root: Path
    nodes: list[Node]

    @property
    def url(self) -> str:
        """All nodes as one GATEWAY_AMQP_URL: the first URL, then host:port of the rest."""
        first, *rest = self.nodes
        return ",".join([first.url, *(f"127.0.0.1:{n.port}" for n in rest)])

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _new_nodes(count: int, base: Path, label: str) -> Nodes:
    base.mkdir(parents=True, exist_ok=True)
    reap_abandoned(base)
    tag = secrets.token_hex(3)
    root = base / f"{label}-{tag}"
    cookie = "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))
    nodes = [
        Node(
            name=f"gw{label}{tag}n{i + 1}",
            port=free_port(),
            dist_port=free_port(),
            root=root / f"n{i + 1}",
            cookie=cookie,
        )
        for i in range(count)
    ]
    return Nodes(root, nodes)


def start_node(base: Path = DEFAULT_BASE) -> tuple[Nodes, float]:
    """One throwaway node, started; with the seconds its start took."""
    group = _new_nodes(1, base, "single")
    try:
        seconds = group.nodes[0].start()
    except BaseException:
        group.remove()
        raise
    return group, seconds


def start_cluster(size: int = 3, base: Path = DEFAULT_BASE) -> tuple[Nodes, float]:
    """`size` nodes started at once, the others joined to the first; the seconds taken.

    Quorum queues declared afterwards get a member on every node (their default initial
    group size is the cluster's size), so losing one node of three loses nothing.
    """
    group = _new_nodes(size, base, "cluster")
    began = time.monotonic()
    try:
        with _parallel(group.nodes) as starts:
            for node, start in zip(group.nodes, starts, strict=True):
                start.join()
                if start.error is not None:
                    raise NodeError(f"{node.nodename}: {start.error}")
        for node in group.nodes[1:]:
            node.join(group.nodes[0])
        status = group.nodes[0].ctl("cluster_status", "--formatter", "json")
        running = set(json.loads(status).get("running_nodes", []))
        expected = {n.nodename for n in group.nodes}
        if running != expected:
            raise NodeError(f"cluster formed with {sorted(running)}, expected {sorted(expected)}")
    except BaseException:
        group.remove()
        raise
    return group, time.monotonic() - began


class _Start:
    def __init__(self, node: Node) -> None:
        import threading

        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(node,), daemon=True)
        self._thread.start()

    def _run(self, node: Node) -> None:
        try:
            node.start()
        except BaseException as error:  # reported by the caller
            self.error = error

    def join(self) -> None:
        self._thread.join()


@contextlib.contextmanager
def _parallel(nodes: Sequence[Node]) -> Iterator[list[_Start]]:
    starts = [_Start(node) for node in nodes]
    try:
        yield starts
    finally:
        for start in starts:
            start.join()


# -- command line (scripts/rabbitmq-cluster) -----------------------------------------------


def _state_file(directory: Path) -> Path:
    return directory / "cluster.json"


def _load(directory: Path) -> Nodes:
    data = json.loads(_state_file(directory).read_text())
    nodes = [Node(**{**n, "root": Path(n["root"])}) for n in data["nodes"]]
    return Nodes(Path(data["root"]), nodes)


def _save_group(directory: Path, group: Nodes) -> None:
    data = {"root": str(group.root), "nodes": [asdict(n) for n in group.nodes]}
    _state_file(directory).write_text(json.dumps(data, default=str, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/rabbitmq-cluster", description="A RabbitMQ cluster on this machine."
    )
    parser.add_argument("command", choices=["start", "stop", "status", "kill", "revive", "url"])
    parser.add_argument("--dir", type=Path, default=Path(".gateway") / "rabbitmq-cluster")
    parser.add_argument("--size", type=int, default=3)
    parser.add_argument("--node", type=int, default=1, help="for kill/revive: 1..size")
    args = parser.parse_args(argv)
    directory: Path = args.dir.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if args.command == "start":
        if _state_file(directory).exists():
            print(f"a cluster is already recorded in {directory}; stop it first", file=sys.stderr)
            return 1
        group, seconds = start_cluster(args.size, base=directory / "nodes")
        for node in group.nodes:
            node.owner = 1  # belongs to no process: only `stop` takes it down
            node._save()
        _save_group(directory, group)
        print(f"cluster of {args.size} started in {seconds:.1f} s:", file=sys.stderr)
        for node in group.nodes:
            line = f"  {node.nodename}  amqp 127.0.0.1:{node.port}  data {node.root}"
            print(line, file=sys.stderr)
        print(f"export GATEWAY_AMQP_URL='{group.url}'")
        return 0
    if not _state_file(directory).exists():
        print(f"no cluster recorded in {directory}", file=sys.stderr)
        return 1
    group = _load(directory)
    if args.command == "stop":
        group.remove()
        _state_file(directory).unlink()
        return 0
    if args.command == "url":
        print(group.url)
        return 0
    if args.command in ("kill", "revive"):
        node = group.nodes[args.node - 1]
        if args.command == "kill":
            node.kill()
        else:
            node.start()
            node.owner = 1
            _save_group(directory, group)
        return 0
    print(group.nodes[0].ctl("cluster_status"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
