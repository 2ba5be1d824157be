"""ccxt's own packaged test suite for backpack (``ccxt/test``, public, private and WebSocket) against
the sandbox, as a client's CI would run it against the real venue (``make run``'s set-up: demo
makers, chains attached).

The suite is run as ccxt ships it. It only refuses to test an installed (site-packages) copy of
the library and reads ``keys.local.json`` and ``skip-tests.json`` from the folder three levels
above its own, so it runs from a scratch tree that links every file of the installed ccxt and
copies only ``ccxt/test``. ``keys.local.json`` points the REST and WebSocket URLs at the server.
``tests/api/clients/ccxt-skip-tests.json`` skips only what is a client-side bug or a harness call
that cannot be answered on any venue; each entry gives its reason. While the WebSocket pass runs,
the account places and cancels orders and trades a little, so the private streams have something
to say (the suite waits for frames; it never trades itself).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import ccxt
import httpx
import pytest

from rucksack.chains.devnet.server import Devnet
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow
SKIPS = Path(__file__).parent / "clients" / "ccxt-skip-tests.json"
RUN_TIMEOUT_S = 420


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """As ``make run`` serves: demo makers (live books and trades) and chains attached (a devnet of
    two, so USDC, SOL and ETH are deposit- and withdraw-enabled there)."""
    net = Devnet("127.0.0.1", 0, chains=["solana", "base"]).start()
    chains = [f"--chain-rpc={key}={net.url(key)}" for key in ("solana", "base")]
    srv = start_server(tmp_path_factory.mktemp("ccxt-suite"), *chains)
    yield srv
    srv.stop()
    net.stop()


def suite_root(root: Path, server: Server, creds: Creds) -> Path:
    """A tree ccxt's runner accepts: ``root/python/ccxt`` links the installed package's files, with
    its own copy of ``test``; the keys and skips beside ``python``. Returns the runner's path."""
    installed = Path(ccxt.__file__).parent
    package = root / "python" / "ccxt"
    package.mkdir(parents=True)
    for entry in installed.iterdir():
        if entry.name != "test":
            (package / entry.name).symlink_to(entry)
    shutil.copytree(installed / "test", package / "test", ignore=shutil.ignore_patterns("__pycache__"))
    ws = server.url.replace("http://", "ws://") + "/ws"
    urls = {"public": server.url, "private": server.url, "ws": {"public": ws, "private": ws}}
    keys = {"backpack": {"apiKey": creds.api_key, "secret": creds.secret, "urls": {"api": urls}}}
    (root / "keys.local.json").write_text(json.dumps(keys))
    shutil.copy(SKIPS, root / "skip-tests.json")
    return package / "test" / "tests_init.py"


def run_suite(runner: Path, *flags: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(runner.parents[2]), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, str(runner), "backpack", "--info", "--private", *flags],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        cwd=runner.parents[3],
    )
    return done.stdout + done.stderr


def failures(output: str) -> list[str]:
    """The runner's failure lines, each with the assertion that explains it."""
    lines = output.splitlines()
    if not any("[TEST_FAILURE]" in line for line in lines):
        return []
    return [line[:600] for line in lines if "[TEST_FAILURE]" in line or line.startswith("AssertionError")]


def methods_done(output: str) -> set[str]:
    return {line.split()[-1] for line in output.splitlines() if "TESTING DONE" in line}


# the markets whose order stream the suite may watch: it picks the busiest by 24 h volume, which the
# demo makers make the SOL, BTC and ETH books (docs/markets.md); (symbol, bid quantity)
WATCHED = (
    ("SOL_USDC", "0.1"),
    ("ETH_USDC", "0.01"),
    ("BTC_USDC", "0.001"),
    ("SOL_USDC_PERP", "0.1"),
    ("ETH_USDC_PERP", "0.01"),
    ("BTC_USDC_PERP", "0.001"),
)


class Activity:
    """The account's own trading while the private streams are watched: a resting bid placed and
    cancelled every second on each market the suite may pick for ``watchOrders``, and a small spot
    and perp trade every few seconds."""

    def __init__(self, server: Server, creds: Creds) -> None:
        self.client = Signed(server.url, creds)
        self.server = server
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        ticks = {
            m["symbol"]: m["filters"]["price"]["tickSize"] for m in httpx.get(server.url + "/api/v1/markets").json()
        }
        self.ticks = {symbol: Decimal(ticks[symbol]) for symbol, _ in WATCHED}

    def __enter__(self) -> Activity:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _order(self, **params: str) -> httpx.Response:
        return self.client.request("POST", "/api/v1/order", "orderExecute", params)

    def _rest_and_cancel(self, symbol: str, quantity: str) -> None:
        """A bid 3% under the best, cancelled at once: an order update on ``symbol``'s stream."""
        [bid] = httpx.get(self.server.url + "/api/v1/depth", params={"symbol": symbol}).json()["bids"][-1:] or [None]
        if bid is None:
            return
        tick = self.ticks[symbol]
        price = (Decimal(bid[0]) * Decimal("0.97") / tick).to_integral_value(ROUND_DOWN) * tick
        placed = self._order(symbol=symbol, side="Bid", orderType="Limit", quantity=quantity, price=str(price))
        if placed.status_code == 200:
            cancel = {"symbol": symbol, "orderId": placed.json()["id"]}
            self.client.request("DELETE", "/api/v1/order", "orderCancel", cancel)

    def _run(self) -> None:
        i = 0
        while not self.stop.wait(1.0):
            i += 1
            for symbol, quantity in WATCHED:
                self._rest_and_cancel(symbol, quantity)
            if i % 3 == 0:
                side = "Bid" if i % 6 == 0 else "Ask"
                self._order(symbol="SOL_USDC", side=side, orderType="Market", quantity="0.05")
                self._order(symbol="SOL_USDC_PERP", side=side, orderType="Market", quantity="0.05")


def test_ccxt_packaged_suite_public_private_and_websocket(venue: Server, tmp_path: Path) -> None:
    creds = sandbox_account(venue, USDC="100000", SOL="100", BTC="1", ETH="10")
    runner = suite_root(tmp_path, venue, creds)
    deadline = time.monotonic() + 90  # every book market has quotes and a last trade, as a live venue's have
    while any(t["lastPrice"] == "0" for t in httpx.get(venue.url + "/api/v1/tickers").json()):
        assert time.monotonic() < deadline, "the demo makers never traded every market"
        time.sleep(0.5)
    rest = run_suite(runner, "--sync")
    assert not failures(rest), "\n".join(failures(rest)) + "\n" + rest[-3000:]
    assert "END PRIVATE_TESTS backpack" in rest, rest[-3000:]
    assert {"fetchCurrencies", "fetchOrderBook", "fetchOHLCV", "fetchBalance", "fetchMyTrades"} <= methods_done(rest)
    with Activity(venue, creds):
        ws = run_suite(runner, "--ws")
    assert not failures(ws), "\n".join(failures(ws)) + "\n" + ws[-3000:]
    assert "END PRIVATE_TESTS backpack" in ws, ws[-3000:]
    assert {
        "watchOrderBook",
        "watchTrades",
        "watchTicker",
        "watchOHLCV",
        "watchOrders",
        "watchBalance",
    } <= methods_done(ws)
