"""A real ``rucksack serve`` on a free loopback port, and helpers to sign requests like a client."""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import httpx
import nacl.signing
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data_dir: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def start_server(data_dir: Path, *extra: str) -> Server:
    """A server on ``data_dir``: one process (``--gateways 0``) unless ``extra`` names a gateway count."""
    port = free_port()
    gateways = [] if any(a.startswith("--gateways") for a in extra) else ["--gateways", "0"]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rucksack",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            *gateways,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
        try:
            if httpx.get(url + "/api/v1/status", timeout=1).status_code == 200:
                return Server(url, data_dir, proc)
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def wait_for_depth(url: str, symbol: str, side: Literal["bids", "asks"], quantity: str, timeout: float = 20.0) -> None:
    """Until the makers quote ``quantity`` on ``side`` within the taker's impact band (5% past the
    best price), so a market order of it fills whole: right after start-up, or just after another
    test's trade, the book can be thin."""
    deadline = time.monotonic() + timeout
    while True:
        book = httpx.get(url + "/api/v1/depth", params={"symbol": symbol}).json()[side]
        levels = [(Decimal(p), Decimal(q)) for p, q in book]
        if levels:
            best = max(p for p, _ in levels) if side == "bids" else min(p for p, _ in levels)
            band = (best * Decimal("0.95"), best) if side == "bids" else (best, best * Decimal("1.05"))
            if sum(q for p, q in levels if band[0] <= p <= band[1]) >= Decimal(quantity):
                return
        assert time.monotonic() < deadline, f"the makers never quoted {quantity} {symbol} {side}"
        time.sleep(0.2)


@dataclass
class Creds:
    api_key: str
    secret: str
    account: int


def sandbox_account(server: Server, auto_lend: bool = True, **fund: str) -> Creds:
    """A funded account from ``rucksack sandbox account`` (``auto_lend``: Backpack's default, on)."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rucksack",
            "sandbox",
            "account",
            "--url",
            server.url,
            "--data-dir",
            str(server.data_dir),
            *[f"--fund={k}={v}" for k, v in fund.items()],
            *([] if auto_lend else ["--no-auto-lend"]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    obj = json.loads(out.stdout)
    return Creds(obj["apiKey"], obj["apiSecret"], obj["accountId"])


class Signed:
    """A minimal Backpack client written from the signing rules (independent of the server's code)."""

    def __init__(self, url: str, creds: Creds) -> None:
        self.url = url
        self.creds = creds
        self.key = nacl.signing.SigningKey(base64.b64decode(creds.secret))

    def headers(
        self,
        instruction: str,
        params: dict[str, Any],
        *,
        ts: int | None = None,
        window: int = 5000,
        sign_as: str | None = None,
    ) -> dict[str, str]:
        ts = int(time.time() * 1000) if ts is None else ts
        body = "&".join(f"{k}={_render(v)}" for k, v in sorted(params.items()) if v is not None)
        message = f"instruction={instruction}" + (f"&{body}" if body else "") + f"&timestamp={ts}&window={window}"
        signature = base64.b64encode(self.key.sign((sign_as or message).encode()).signature).decode()
        return {
            "X-API-Key": self.creds.api_key,
            "X-Signature": signature,
            "X-Timestamp": str(ts),
            "X-Window": str(window),
            "Content-Type": "application/json",
        }

    def request(
        self, method: str, path: str, instruction: str, params: dict[str, Any] | None = None, **kw: Any
    ) -> httpx.Response:
        params = params or {}
        headers = self.headers(instruction, params, **kw)
        if method == "GET":
            return httpx.get(self.url + path, params=params, headers=headers, timeout=30)
        return httpx.request(method, self.url + path, content=json.dumps(params), headers=headers, timeout=30)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("exchange"), "--no-makers", "--feed", "manual")
    yield srv
    srv.stop()


def serve_gateways(tmp_path_factory: pytest.TempPathFactory, gateways: int) -> Iterator[Server]:
    """A server with ``gateways`` gateway processes in front of its sequencer process (for a
    module's ``server`` fixture: the real client suites run against two, and cannot tell)."""
    srv = start_server(
        tmp_path_factory.mktemp("exchange"), "--no-makers", "--feed", "manual", "--gateways", str(gateways)
    )
    yield srv
    srv.stop()
