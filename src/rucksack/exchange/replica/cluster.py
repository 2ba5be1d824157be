"""A 3-node NATS JetStream cluster on loopback, started and stopped by the project itself.

``Cluster(base_dir).start()`` writes one config per node into ``base_dir/n<i>/nats.conf`` (client
port, cluster route port, JetStream store dir ``base_dir/n<i>/js``), starts Debian's
``nats-server`` for each and waits until JetStream has a meta leader (the cluster can create
streams). Ports are chosen free on 127.0.0.1 unless given. ``stop_node``/``start_node`` kill and
restart one node (the chaos command's node failure); ``stop`` ends them all. ``rucksack cluster``
(``make cluster``) runs one in the foreground for demos.

Nothing here talks to anything but 127.0.0.1; the binary is ``$RUCKSACK_NATS_SERVER``, else
``nats-server`` on PATH, else ``/usr/sbin/nats-server`` (Debian's package, installed by
``make nats-server``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

CLUSTER_NAME = "rucksack"
NODES = 3


def nats_server_binary() -> str:
    """Where ``nats-server`` is, or FileNotFoundError naming how to install it."""
    found = os.environ.get("RUCKSACK_NATS_SERVER") or shutil.which("nats-server")
    if found:
        return found
    if Path("/usr/sbin/nats-server").exists():
        return "/usr/sbin/nats-server"
    raise FileNotFoundError("nats-server not found: `make nats-server` (apt-get install nats-server)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: every socket stays bound until all are chosen (one at a time, the
    kernel may hand the same port out twice, and a node's monitor then lands on another's client port)."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


@dataclass
class Node:
    name: str
    client_port: int
    route_port: int
    monitor_port: int
    directory: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


@dataclass
class Cluster:
    """Three ``nats-server`` processes forming one JetStream cluster on loopback."""

    base_dir: Path
    base_port: int = 0  # 0: free ports; else client ports base..base+2, routes +100, monitor +200
    nodes: list[Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        free = free_ports(3 * NODES) if not self.base_port else []
        for i in range(NODES):
            if self.base_port:
                client, route, monitor = (self.base_port + i, self.base_port + 100 + i, self.base_port + 200 + i)
            else:
                client, route, monitor = free[3 * i : 3 * i + 3]
            self.nodes.append(Node(f"n{i + 1}", client, route, monitor, self.base_dir / f"n{i + 1}"))

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        """The comma-separated server list a client connects to (any node serves)."""
        return ",".join(self.urls)

    def config_text(self, node: Node) -> str:
        routes = ", ".join(f"nats-route://127.0.0.1:{n.route_port}" for n in self.nodes if n is not node)
        store = json.dumps(str(node.directory / "js"))
        return (
            f"server_name: {node.name}\n"
            f"listen: 127.0.0.1:{node.client_port}\n"
            f"http: 127.0.0.1:{node.monitor_port}\n"
            f"jetstream {{ store_dir: {store}, max_memory_store: 64MB, max_file_store: 1GB }}\n"
            f"cluster {{ name: {CLUSTER_NAME}, listen: 127.0.0.1:{node.route_port}, routes: [{routes}] }}\n"
        )

    def start(self, timeout: float = 30.0) -> Cluster:
        for node in self.nodes:
            self.start_node(node)
        self.wait_ready(timeout)
        return self

    def start_node(self, node: Node) -> None:
        node.directory.mkdir(parents=True, exist_ok=True)
        conf = node.directory / "nats.conf"
        conf.write_text(self.config_text(node), encoding="utf-8")
        log = open(node.directory / "nats.log", "ab")  # noqa: SIM115 (the child keeps it)
        node.proc = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def stop_node(self, node: Node, sig: int = signal.SIGKILL) -> None:
        if node.proc is not None and node.proc.poll() is None:
            node.proc.send_signal(sig)
            node.proc.wait(timeout=30)
        node.proc = None

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Until every running node reports a JetStream meta leader."""
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            if node.proc is None:
                continue
            while not _has_meta_leader(node):
                if node.proc.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited; see {node.directory / 'nats.log'}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"nats cluster not ready after {timeout} s")
                time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            self.stop_node(node, signal.SIGTERM)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _has_meta_leader(node: Node) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.monitor_port}/jsz", timeout=1) as resp:
            info = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    meta = info.get("meta_cluster") or {}
    return bool(meta.get("leader"))


__all__ = ["Cluster", "Node", "free_port", "nats_server_binary"]
