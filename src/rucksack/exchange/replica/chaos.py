"""``rucksack chaos failover``: kill the writer under load and prove nothing acknowledged is lost.

Setup: a 3-node JetStream cluster (:mod:`.cluster`), a primary ``rucksack serve --journal
--gateways 0 --link 127.0.0.1:0`` (the sequencer alone, its link published in the writer lease)
and, per trial, a fresh hot standby started the same way with ``--standby`` (its own empty data
dir: it starts from the latest snapshot in the object store -- every 500 commands here -- and
follows the stream); in front of them ``GATEWAYS`` independent gateways (``rucksack gateway``),
started once, sharing one public port (``SO_REUSEPORT``) and finding the writer through the lease
(:mod:`rucksack.exchange.gateway.discovery`). Four sandbox accounts trade SOL_USDC against each
other through signed ``POST /api/v1/order`` requests from four client threads (crossing limit
orders, so there are fills), all to the gateways' one port: clients never switch addresses. A
client counts an order **acknowledged** when it got a 200 with an order id; on an error, a 503
(``TRADING_PAUSED`` while the gateways find the new writer) or a 1 s timeout it tries again.

Trials (one JSON line each, then a summary line):

- ``kill`` (``--trials`` of them): SIGKILL the writer at a random moment of the load; the standby
  takes over; the gateways relink to it. ``takeover_s`` is the outage as clients saw it: from the
  last order acknowledged before the kill to the first acknowledged after it (the longest gap
  between acknowledgements around the kill); ``lease_s`` from the kill to the new writer's
  marker; ``relink_s`` from the kill until both gateways were linked to the new writer;
- ``nats_node``: SIGKILL one NATS node (one that leads neither the journal nor the lease stream)
  under load; the writer keeps acknowledging on 2 of 3 nodes; the node is restarted;
- ``pause``: SIGSTOP the writer past its lease; the standby takes over; SIGCONT: the old writer
  must find itself fenced and exit (status 75) without appending anything.

The gateways must live through every trial (``gateways_kept``).

Checks after each trial: every acknowledged order is in a from-scratch replay of the stream
(accepted, with at least the lots the client saw filled); the new writer's state (its data dir
recovered read-only) has the same state hash as the stream replayed to the same seq; command
sequence numbers in the stream are contiguous with none written twice.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nacl.signing

from rucksack.exchange.api.auth import new_keypair
from rucksack.exchange.config import default_config_text, load_spec_text
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import OrderAccepted, TradeExecuted
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import state_hash
from rucksack.exchange.replica.cluster import Cluster, free_port
from rucksack.exchange.replica.link import LEASE_BUCKET, STREAM, NatsLink
from rucksack.exchange.replica.node import read_stream
from rucksack.exchange.sequencer.datadir import recover

SYMBOL = "SOL_USDC"
LOTS = 1  # 0.01 SOL per order
TAKEOVER_TARGET_S = 3.0
SNAPSHOT_EVERY = 500
GATEWAYS = 2  # independent gateways in front of the writer and its standby, on one port
CLIENT_TIMEOUT_S = 1.0  # a client gives up on an unanswered request after this and tries again


@dataclass
class Proc:
    name: str
    data_dir: Path
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def serving(self) -> bool:
        """Its port answers ``GET /api/v1/status`` with ``Ok`` (linked to a writer that writes)."""
        try:
            r = httpx.get(self.url + "/api/v1/status", timeout=0.5)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and r.json().get("status") == "Ok"

    def says(self, text: str) -> bool:
        return text in self.log.read_text(errors="replace")


@dataclass
class Acked:
    order_id: int
    executed_lots: int


@dataclass
class Load:
    """Signed-order clients, all on the gateways' one address."""

    accounts: list[tuple[str, nacl.signing.SigningKey]]
    url: str
    acked: list[Acked] = field(default_factory=list)
    acked_at: list[float] = field(default_factory=list)  # time of each ack
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(len(self.accounts))]
        for t in threads:
            t.start()
        return threads

    def _client(self, i: int) -> None:
        api_key, key = self.accounts[i]
        side = "Bid" if i % 2 == 0 else "Ask"
        with httpx.Client(timeout=CLIENT_TIMEOUT_S) as http:
            while not self.stop.is_set():
                params = {"symbol": SYMBOL, "side": side, "orderType": "Limit", "price": "100", "quantity": "0.01"}
                try:
                    r = http.post(
                        self.url + "/api/v1/order", content=json.dumps(params), headers=_sign(api_key, key, params)
                    )
                except httpx.HTTPError:
                    time.sleep(0.02)
                    continue
                if r.status_code != 200:  # 503 TRADING_PAUSED while the gateways find the new writer
                    time.sleep(0.02)
                    continue
                body = r.json()
                lots = round(float(body.get("executedQuantity", "0")) * 100)
                with self._lock:
                    self.acked.append(Acked(int(body["id"]), lots))
                    self.acked_at.append(time.monotonic())

    def snapshot(self) -> list[Acked]:
        with self._lock:
            return list(self.acked)

    def first_ack_after(self, t: float) -> float | None:
        with self._lock:
            times = [at for at in self.acked_at if at > t]
        return min(times) if times else None

    def outage(self, t: float, until: float) -> float:
        """The longest gap between acknowledgements from the last one before ``t`` up to ``until``:
        the outage as the clients saw it (last ack before the kill to first ack after it)."""
        with self._lock:
            times = sorted(at for at in self.acked_at if at <= until)
        before = [at for at in times if at <= t]
        after = [at for at in times if at > t]
        if not before or not after:
            return float("inf")
        window = [before[-1], *after]
        return max(b - a for a, b in itertools.pairwise(window))

    def count_after(self, t: float) -> int:
        with self._lock:
            return sum(1 for at in self.acked_at if at > t)


def _sign(api_key: str, key: nacl.signing.SigningKey, params: dict[str, str]) -> dict[str, str]:
    ts, window = int(time.time() * 1000), 5000
    body = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    message = f"instruction=orderExecute&{body}&timestamp={ts}&window={window}"
    signature = base64.b64encode(key.sign(message.encode()).signature).decode()
    return {
        "X-API-Key": api_key,
        "X-Signature": signature,
        "X-Timestamp": str(ts),
        "X-Window": str(window),
        "Content-Type": "application/json",
    }


class Venue:
    """The cluster, the writer and its standby, the independent gateways, in one work directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.cluster = Cluster(workdir / "nats").start()
        self.spec: ExchangeSpec = load_spec_text(default_config_text())
        self.count = 0
        self.writer = self.start_server(standby=False)
        self.wait_linked(self.writer, 60.0)
        self.standby: Proc | None = None
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.gateways = [self.start_gateway(i, port) for i in range(GATEWAYS)]
        for gateway in self.gateways:
            self.wait_serving(gateway, 60.0)

    def start_server(self, standby: bool) -> Proc:
        self.count += 1
        name = f"s{self.count}"
        data_dir, log = self.workdir / name, self.workdir / f"{name}.log"
        cmd = [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(data_dir), "--no-makers"]
        cmd += ["--feed", "manual", "--journal", self.cluster.url, "--gateways", "0", "--link", "127.0.0.1:0"]
        cmd += ["--snapshot-every", str(SNAPSHOT_EVERY)]  # later standbys start from the object store
        cmd += ["--standby"] if standby else []
        return Proc(name, data_dir, "", _spawn(cmd, log), log)

    def start_gateway(self, index: int, port: int) -> Proc:
        log = self.workdir / f"g{index}.log"
        cmd = [sys.executable, "-m", "rucksack", "gateway", "--journal", self.cluster.url, "--port", str(port)]
        return Proc(f"g{index}", self.workdir, f"http://127.0.0.1:{port}", _spawn(cmd, log), log)

    def wait_linked(self, p: Proc, timeout: float) -> None:
        """Until a server follows the stream and serves its link (its log says both)."""
        deadline = time.monotonic() + timeout
        while not (p.says("caught up") and p.says("sequencer process")):
            if p.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{p.name} did not start: {p.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def wait_serving(self, p: Proc, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not p.serving():
            if p.proc.poll() is not None:
                raise RuntimeError(f"{p.name} exited: {p.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{p.name} not serving after {timeout} s")
            time.sleep(0.02)

    def start_standby(self) -> Proc:
        """A fresh standby, once it follows the stream (caught up) and its link listens."""
        p = self.start_server(standby=True)
        self.wait_linked(p, 60.0)
        self.standby = p
        return p

    def gateways_alive(self) -> bool:
        return all(g.proc.poll() is None for g in self.gateways)

    def accounts(self, n: int) -> list[tuple[str, nacl.signing.SigningKey]]:
        token = (self.writer.data_dir / "admin.token").read_text().strip()
        out = []
        for _ in range(n):
            api_key, secret = new_keypair()
            body = {"publicKey": api_key, "fund": {"USDC": "10000000", "SOL": "100000"}, "label": "chaos"}
            r = httpx.post(
                self.url + "/api/v1/sandbox/accounts", json=body, headers={"X-Admin-Token": token}, timeout=30
            )
            r.raise_for_status()
            out.append((api_key, nacl.signing.SigningKey(base64.b64decode(secret))))
        return out

    def stop(self) -> None:
        for p in (*self.gateways, self.writer, self.standby):
            if p is not None and p.proc.poll() is None:
                p.proc.kill()
                p.proc.wait()
        self.cluster.stop()


def _spawn(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def stream_replay(url: str, spec: ExchangeSpec, at_seq: int) -> tuple[dict[int, int], str, list[str]]:
    """Replay the whole stream from scratch: accepted order ids -> filled lots, the state hash at
    command ``at_seq``, and problems (a seq missing or written twice)."""
    engine = Engine(spec)
    filled: dict[int, int] = {}
    problems: list[str] = []
    hash_at = state_hash(engine) if at_seq == 0 else ""
    for stream_seq, _, entries in read_stream(url):
        for entry in entries:
            if entry.seq != engine.last_seq + 1:
                problems.append(f"stream message {stream_seq}: seq {entry.seq} after {engine.last_seq}")
                continue
            for event in engine.apply(entry.command, entry.seq, entry.ts_us):
                if isinstance(event, OrderAccepted):
                    filled.setdefault(event.order_id, 0)
                elif isinstance(event, TradeExecuted):
                    for oid in (event.taker_order_id, event.maker_order_id):
                        filled[oid] = filled.get(oid, 0) + event.lots
            if entry.seq == at_seq:
                hash_at = state_hash(engine)
    return filled, hash_at, problems


def check(venue: Venue, load: Load, writer: Proc) -> dict[str, Any]:
    """Acked orders in the stream, the writer's hash equal to the stream's, no seq twice."""
    acked = load.snapshot()  # before reading the stream: every one of these must be in it
    rec = recover(writer.data_dir)  # read-only: the writer keeps running; the stream has at least this
    filled, hash_at, problems = stream_replay(venue.cluster.url, venue.spec, rec.engine.last_seq)
    lost = [a.order_id for a in acked if a.order_id not in filled or filled[a.order_id] < a.executed_lots]
    return {
        "acked": len(acked),
        "acked_lost": len(lost),
        "hash_equal": state_hash(rec.engine) == hash_at,
        "seq_twice": len(problems),
        "seq": rec.engine.last_seq,
    }


def kill_trial(venue: Venue, load: Load, rng: random.Random, pause: bool = False) -> dict[str, Any]:
    old = venue.writer
    standby = venue.start_standby()
    time.sleep(rng.uniform(0.3, 1.5))  # a random moment of the load
    killed, killed_wall = time.monotonic(), time.time()
    old.proc.send_signal(signal.SIGSTOP if pause else signal.SIGKILL)
    venue.writer, venue.standby = standby, None
    deadline = time.monotonic() + 15
    while load.first_ack_after(killed + 0.2) is None and time.monotonic() < deadline:
        time.sleep(0.01)  # (acks within 0.2 s of the kill may be the old writer's, in flight)
    time.sleep(0.1)
    takeover = load.outage(killed, time.monotonic())
    result: dict[str, Any] = {"trial": "pause" if pause else "kill", "takeover_s": round(takeover, 3)}
    took = logged_at(standby.log, "took over")
    if took is not None:  # the lease part of it: from the kill to the new writer's marker
        result["lease_s"] = round(took - killed_wall, 3)
    linked = [logged_at(g.log, "linked to writer", after=killed_wall) for g in venue.gateways]
    if all(t is not None for t in linked):
        result["relink_s"] = round(max(t for t in linked if t is not None) - killed_wall, 3)
    if pause:
        time.sleep(0.5)
        old.proc.send_signal(signal.SIGCONT)
        try:
            status = old.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            status = None
        result["old_writer_exit"] = status
        result["old_writer_fenced"] = status == 75 and old.says("fenced")
    else:
        old.proc.wait()
    time.sleep(0.3)
    result["gateways_kept"] = venue.gateways_alive()
    return result | check(venue, load, venue.writer)


def logged_at(log: Path, text: str, after: float = 0.0) -> float | None:
    """Wall-clock time of the first JSON log record holding ``text`` (its ``ts``) after ``after``."""
    for line in log.read_text(errors="replace").splitlines():
        if text in line and line.startswith("{"):
            try:
                at = datetime.fromisoformat(json.loads(line)["ts"]).timestamp()
            except (ValueError, KeyError):
                continue
            if at > after:
                return at
    return None


def node_trial(venue: Venue, load: Load) -> dict[str, Any]:
    """Kill a NATS node that leads neither the journal nor the lease; the writer keeps going."""
    link = NatsLink(venue.cluster.url, name="rucksack-chaos")
    try:
        infos = [link.call(link.js.stream_info(name), 5.0) for name in (STREAM, f"KV_{LEASE_BUCKET}")]
        leaders = {info.cluster.leader for info in infos if info.cluster is not None}
    finally:
        link.close()
    node = next(n for n in venue.cluster.nodes if n.name not in leaders)
    writer = venue.writer
    time.sleep(0.5)
    killed = time.monotonic()
    venue.cluster.stop_node(node)
    time.sleep(2.0)
    after = load.count_after(killed + 0.5)
    venue.cluster.start_node(node)
    venue.cluster.wait_ready()
    result = {"trial": "nats_node", "node": node.name, "acked_after_kill": after}
    result["writer_kept"] = writer.proc.poll() is None and venue.writer is writer
    result["gateways_kept"] = venue.gateways_alive()
    return result | check(venue, load, writer)


def run_failover(
    trials: int,
    *,
    seed: int = 1,
    workdir: Path | None = None,
    out: Callable[[dict[str, Any]], None],
    takeover_target: float = TAKEOVER_TARGET_S,
) -> dict[str, Any]:
    rng = random.Random(seed)
    own = workdir is None
    base = Path(tempfile.mkdtemp(prefix="rucksack-chaos-")) if workdir is None else workdir
    base.mkdir(parents=True, exist_ok=True)
    venue = Venue(base)
    results: list[dict[str, Any]] = []
    load = Load(venue.accounts(4), venue.url)
    threads = load.run()
    try:
        plan = ["kill"] * trials + ["nats_node", "pause"]
        for n, kind in enumerate(plan, 1):
            if kind == "nats_node":
                result = node_trial(venue, load)
            else:
                result = kill_trial(venue, load, rng, pause=kind == "pause")
            result = {"n": n, **result}
            results.append(result)
            out(result)
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=10)
        venue.stop()
        if own:
            shutil.rmtree(base, ignore_errors=True)
    summary = summarize(trials, results, takeover_target)
    out(summary)
    return summary


def summarize(trials: int, results: list[dict[str, Any]], takeover_target: float = TAKEOVER_TARGET_S) -> dict[str, Any]:
    takeovers = [r["takeover_s"] for r in results if "takeover_s" in r]
    last = results[-1] if results else {}
    ok_trial = [
        r["acked_lost"] == 0
        and r["hash_equal"]
        and r["seq_twice"] == 0
        and r.get("takeover_s", 0) <= takeover_target
        and r.get("writer_kept", True)
        and r.get("gateways_kept", True)
        and r.get("old_writer_fenced", True)
        for r in results
    ]
    return {
        "summary": "failover",
        "trials": trials,
        "trials_ok": sum(ok_trial[:trials]),
        "nats_node_ok": len(ok_trial) > trials and ok_trial[trials],
        "pause_ok": len(ok_trial) > trials + 1 and ok_trial[trials + 1],
        "acked": last.get("acked", 0),
        "acked_lost": max((r["acked_lost"] for r in results), default=0),
        "hash_equal": all(r["hash_equal"] for r in results),
        "seq_twice": sum(r["seq_twice"] for r in results),
        "takeover_s_max": max(takeovers, default=0.0),
        "ok": bool(results) and all(ok_trial) and len(results) == trials + 2,
    }


__all__ = ["run_failover", "summarize"]
