"""``rucksack bench api``: signed orders per second through the real HTTP server, on loopback.

The server runs in its own processes (``rucksack serve --no-makers --gateways G``: with G >= 1 a
sequencer process and G gateway processes; 0 is the single-process server) and the load generator
in this one. Each request is signed just before it is sent (60 s window; a run on a slow host can
outlast a window signed up front) and its latency is timed from its send; each connection is a
raw HTTP/1.1 keep-alive socket driven closed-loop by asyncio. Orders alternate bids and asks at
prices that rest (pure order-entry path: auth, parse, validate, sequencer, journal group commit,
projection, replicas, response), one per ``POST /api/v1/order`` (batch 1) or ``batch`` per
``POST /api/v1/orders`` under one signature.

One run per gateway count, durability (journal fsync on, and ``--unsafe-no-fsync``), batch size and
connection count; the last line printed is
``{"bench": "api", "runs": [{"gateways", "batch", "durable", "connections", "orders_per_s",
"p50_ms", "p99_ms", "server_cpu_us_per_order", "sequencer_cpu_us_per_order",
"gateways_cpu_us_per_order", "client_cpu_us_per_order"}, ...]}``. Latencies are per request (a
batch request's covers its whole batch); the server's CPU is the user+system time of every
process of the server (sequencer and gateways) over the run, per order, and its split between the
sequencer process (the whole server with 0 gateways) and all its gateways; the client's is this
process's (signing and HTTP), on the same cores.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.signing

from rucksack.exchange.api.auth import new_keypair


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_by_process(pid: int) -> dict[int, float]:
    """User+system CPU seconds of ``pid`` and of each of its live descendants, by pid."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return {}
    out = {pid: (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for child in children:
            out.update(_cpu_by_process(int(child)))
    return out


def _order(n: int) -> dict[str, str]:
    side = "Bid" if n % 2 == 0 else "Ask"
    price = f"{99 - (n % 97) / 100:.2f}" if side == "Bid" else f"{101 + (n % 97) / 100:.2f}"
    return {"orderType": "Limit", "price": price, "quantity": "0.1", "side": side, "symbol": "SOL_USDC"}


def _signed_batches(secret: str, api_key: str, requests: int, batch: int, offset: int) -> Iterator[bytes]:
    """``requests`` signed ``POST /api/v1/orders`` requests of ``batch`` orders each (signed as
    they are sent: a slow run must not outlive the signatures' 60 s window)."""
    key = nacl.signing.SigningKey(base64.b64decode(secret))
    for r in range(requests):
        ts = int(time.time() * 1000)
        orders = [_order(offset + r * batch + i) for i in range(batch)]
        text = json.dumps(orders, separators=(",", ":"))
        message = "&".join(
            "instruction=orderExecute&" + "&".join(f"{k}={v}" for k, v in sorted(o.items())) for o in orders
        )
        message += f"&timestamp={ts}&window=60000"
        signature = base64.b64encode(key.sign(message.encode()).signature).decode()
        yield (
            (
                f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"X-API-Key: {api_key}\r\nX-Signature: {signature}\r\nX-Timestamp: {ts}\r\nX-Window: 60000\r\n"
                f"Content-Length: {len(text)}\r\n\r\n{text}"
            ).encode()
        )


def _signed_requests(secret: str, api_key: str, count: int, offset: int) -> Iterator[bytes]:
    """``count`` signed ``POST /api/v1/order`` requests (signed as they are sent, see above)."""
    key = nacl.signing.SigningKey(base64.b64decode(secret))
    for i in range(count):
        ts = int(time.time() * 1000)
        body = _order(offset + i)
        text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        message = "instruction=orderExecute&" + "&".join(f"{k}={v}" for k, v in sorted(body.items()))
        message += f"&timestamp={ts}&window=60000"
        signature = base64.b64encode(key.sign(message.encode()).signature).decode()
        yield (
            f"POST /api/v1/order HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-API-Key: {api_key}\r\nX-Signature: {signature}\r\nX-Timestamp: {ts}\r\nX-Window: 60000\r\n"
            f"Content-Length: {len(text)}\r\n\r\n{text}"
        ).encode()


async def _connection(port: int, requests: Iterator[bytes], latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(1)
    finally:
        writer.close()


async def _run(port: int, batches: list[Iterator[bytes]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, b, latencies, errors) for b in batches))
    return time.perf_counter() - start, latencies, len(errors)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def bench_api(
    orders: int, connections: list[int], gateways: list[int] | None = None, batch: int | None = None
) -> dict[str, Any]:
    """Every run (see the module docstring); ``orders`` per single-order run, 5x that per batch run."""
    runs: list[dict[str, Any]] = []
    for count in gateways if gateways is not None else [0]:
        for durable in (True, False):
            for size in [1] + ([batch] if batch and batch > 1 else []):
                total = orders if size == 1 else orders * 5
                runs += _bench_server(total, connections, fsync=durable, gateways=count, batch=size)
    return {"bench": "api", "runs": runs}


def _start(data: Path, port: int, fsync: bool, gateways: int) -> subprocess.Popen[bytes]:
    extra = [] if fsync else ["--unsafe-no-fsync"]
    command = [sys.executable, "-m", "rucksack", "serve", "--data-dir", str(data), "--port", str(port)]
    command += ["--no-makers", "--feed", "manual", "--gateways", str(gateways), *extra]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (data / "admin.token").exists() or not _up(port):
        if time.monotonic() > deadline or server.poll() is not None:
            raise SystemExit("server did not start")
        time.sleep(0.1)
    time.sleep(1.0 if gateways > 1 else 0.0)  # the last gateway joins a moment after the first
    return server


def _bench_server(
    orders: int, connections: list[int], *, fsync: bool, gateways: int, batch: int
) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = _free_port()
        server = _start(data, port, fsync, gateways)
        try:
            api_key, secret = new_keypair()
            _admin(port, data, {"publicKey": api_key, "fund": {"USDC": "1000000000", "SOL": "10000000"}})
            results = []
            offset = 0
            for conns in connections:
                per = max(1, orders // conns // batch)  # requests per connection
                if batch == 1:
                    work = [_signed_requests(secret, api_key, per, offset + i * per) for i in range(conns)]
                else:
                    work = [
                        _signed_batches(secret, api_key, per, batch, offset + i * per * batch) for i in range(conns)
                    ]
                offset += per * conns * batch
                cpu0, client0 = _cpu_by_process(server.pid), time.process_time()
                seconds, latencies, errors = asyncio.run(_run(port, work))
                cpu1, client = _cpu_by_process(server.pid), time.process_time() - client0
                used = {pid: cpu1[pid] - cpu0.get(pid, 0.0) for pid in cpu1}
                cpu = sum(used.values())
                sequencer = used.get(server.pid, 0.0)
                done = len(latencies) * batch
                sys.stderr.write(
                    f"api bench: gateways={gateways} batch={batch} durable={fsync} connections={conns}: "
                    f"{done} orders in {seconds:.3f} s, {errors} error responses\n"
                )
                results.append(
                    {
                        "gateways": gateways,
                        "batch": batch,
                        "durable": fsync,
                        "connections": conns,
                        "orders_per_s": round(done / seconds),
                        "p50_ms": round(_pct(latencies, 0.5), 3),
                        "p99_ms": round(_pct(latencies, 0.99), 3),
                        "server_cpu_us_per_order": round(cpu / done * 1e6, 1),
                        # the sequencer process (the whole server with 0 gateways) and its gateways
                        "sequencer_cpu_us_per_order": round(sequencer / done * 1e6, 1),
                        "gateways_cpu_us_per_order": round((cpu - sequencer) / done * 1e6, 1),
                        # this load generator (signing, HTTP), on the same cores
                        "client_cpu_us_per_order": round(client / done * 1e6, 1),
                    }
                )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return results


def _up(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _admin(port: int, data: Path, body: dict[str, Any]) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sandbox/accounts",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Admin-Token": (data / "admin.token").read_text().strip()},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
