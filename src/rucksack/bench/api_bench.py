"""``rucksack bench api``: signed orders per second through the real HTTP server, on loopback.

The server runs in its own process (``rucksack serve --no-makers``, journal fsync on) and the
load generator in this one, so each has a core. Requests are signed before timing (ED25519
signing is the client's cost, not the server's) with a 60 s window; each connection is a raw
HTTP/1.1 keep-alive socket driven closed-loop by asyncio. Orders alternate bids and asks at
prices that rest (pure order-entry path: auth, parse, sequencer, journal group commit, response).
Reported: orders/s, p50/p99 latency, and the server's CPU seconds per order.
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
from pathlib import Path
from typing import Any

import nacl.signing

from rucksack.exchange.api.auth import new_keypair


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _signed_requests(secret: str, api_key: str, count: int, offset: int) -> list[bytes]:
    key = nacl.signing.SigningKey(base64.b64decode(secret))
    out = []
    ts = int(time.time() * 1000)
    for i in range(count):
        n = offset + i
        side = "Bid" if n % 2 == 0 else "Ask"
        price = f"{99 - (n % 97) / 100:.2f}" if side == "Bid" else f"{101 + (n % 97) / 100:.2f}"
        body = {"orderType": "Limit", "price": price, "quantity": "0.1", "side": side, "symbol": "SOL_USDC"}
        text = json.dumps(body, separators=(",", ":"), sort_keys=True)
        message = "instruction=orderExecute&" + "&".join(f"{k}={v}" for k, v in sorted(body.items()))
        message += f"&timestamp={ts}&window=60000"
        signature = base64.b64encode(key.sign(message.encode()).signature).decode()
        out.append(
            (
                f"POST /api/v1/order HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"X-API-Key: {api_key}\r\nX-Signature: {signature}\r\nX-Timestamp: {ts}\r\nX-Window: 60000\r\n"
                f"Content-Length: {len(text)}\r\n\r\n{text}"
            ).encode()
        )
    return out


async def _connection(port: int, requests: list[bytes], latencies: list[float], errors: list[int]) -> None:
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


async def _run(port: int, batches: list[list[bytes]]) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    await asyncio.gather(*(_connection(port, b, latencies, errors) for b in batches))
    return time.perf_counter() - start, latencies, len(errors)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def bench_api(orders: int, connections: list[int]) -> dict[str, Any]:
    durable = _bench_server(orders, connections, fsync=True)
    cpu_only = _bench_server(orders, connections, fsync=False)
    best = max(durable, key=lambda r: r["orders_per_s"])
    return {
        "bench": "api",
        "orders_per_s": best["orders_per_s"],
        "p50_ms": durable[0]["p50_ms"],
        "p99_ms": durable[0]["p99_ms"],
        "durable": durable,
        "no_fsync": cpu_only,
    }


def _bench_server(orders: int, connections: list[int], *, fsync: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        port = _free_port()
        extra = [] if fsync else ["--unsafe-no-fsync"]
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rucksack",
                "serve",
                "--data-dir",
                str(data),
                "--port",
                str(port),
                "--no-makers",
                "--feed",
                "manual",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while not (data / "admin.token").exists() or not _up(port):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("server did not start")
                time.sleep(0.1)
            api_key, secret = new_keypair()
            _admin(port, data, {"publicKey": api_key, "fund": {"USDC": "100000000", "SOL": "1000000"}})
            results = []
            offset = 0
            for conns in connections:
                per = max(1, orders // conns)
                batches = [_signed_requests(secret, api_key, per, offset + i * per) for i in range(conns)]
                offset += per * conns
                cpu0 = _cpu_seconds(server.pid)
                seconds, latencies, errors = asyncio.run(_run(port, batches))
                cpu = _cpu_seconds(server.pid) - cpu0
                done = len(latencies)
                results.append(
                    {
                        "connections": conns,
                        "orders": done,
                        "seconds": round(seconds, 3),
                        "orders_per_s": round(done / seconds),
                        "p50_ms": round(_pct(latencies, 0.5), 3),
                        "p99_ms": round(_pct(latencies, 0.99), 3),
                        "errors": errors,
                        "server_cpu_us_per_order": round(cpu / done * 1e6, 1),
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
