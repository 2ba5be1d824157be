"""``rucksack serve --production``: no sandbox, no makers, no grants, a real index source, and
operator actions signed with the operator key and journaled."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rucksack.exchange.api import app
from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, start_server

pytestmark = pytest.mark.slow


def rucksack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rucksack", *args], capture_output=True, text=True, timeout=120)


def operator(server: Server, key_file: Path, *args: str) -> dict[str, Any]:
    done = rucksack("operator", *args, "--url", server.url, "--key-file", str(key_file))
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def marks(server: Server) -> dict[str, str]:
    """The index prices of the feed-driven markets (a pre-market's index is its own banded mark,
    from its first configured price: docs/premarket.md)."""
    premarkets = {m["symbol"] for m in httpx.get(server.url + "/api/v1/markets").json() if m.get("preMarket")}
    rows = httpx.get(server.url + "/api/v1/markPrices").json()
    return {m["symbol"]: m["indexPrice"] for m in rows if m["symbol"] not in premarkets}


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("production")
    key_file = root / "operator.key"
    made = rucksack("operator", "keygen", "--out", str(key_file))
    assert made.returncode == 0, made.stderr
    public = json.loads(made.stdout)["operatorKey"]
    (root / "operator.pub").write_text(public + "\n")
    server = start_server(root / "d", "--production", "--operator-key", str(root / "operator.pub"))
    yield server, key_file
    server.stop()


def test_sandbox_endpoints_do_not_exist_and_nothing_is_granted(venue: Any) -> None:
    server, _ = venue
    for method, path in app.ADMIN:
        response = httpx.request(method, server.url + path, json={"publicKey": new_keypair()[0]})
        assert response.status_code == 404 and response.json()["code"] == "RESOURCE_NOT_FOUND", path
        assert httpx.get(server.url + path).status_code == 404  # not even a 405 gives them away
    assert not (server.data_dir / "admin.token").exists()
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert not [p for p in paths if "/sandbox/" in p] and "/api/v1/operator/price" in paths
    time.sleep(1.5)  # makers would have quoted and traded by now; the index has no made-up price either
    assert httpx.get(server.url + "/api/v1/depth", params={"symbol": "SOL_USDC"}).json()["bids"] == []
    assert httpx.get(server.url + "/api/v1/trades", params={"symbol": "SOL_USDC"}).json() == []
    assert marks(server) == {}


def test_operator_actions_are_signed_with_the_operator_key_and_journaled(venue: Any, tmp_path: Path) -> None:
    server, key_file = venue
    assert operator(server, key_file, "price", "--symbol", "SOL_USDC", "--price", "142.5") == {
        "symbol": "SOL_USDC",
        "price": "142.50",
    }
    assert marks(server)["SOL_USDC_PERP"] == "142.50"
    public, secret = new_keypair()
    opened = operator(server, key_file, "account", "--public-key", public, "--label", "kyc-ok")
    customer = Signed(server.url, Creds(public, secret, opened["accountId"]))
    assert customer.request("GET", "/api/v1/capital", "balanceQuery").json() == {}  # no grant
    # anyone else's key, or a forged signature, is refused with nothing changed
    stranger = tmp_path / "stranger.key"
    assert rucksack("operator", "keygen", "--out", str(stranger)).returncode == 0
    refused = rucksack("operator", "price", "--url", server.url, "--key-file", str(stranger), "--symbol", "SOL_USDC")
    assert refused.returncode == 2  # argparse: --price missing
    refused = rucksack(
        *("operator", "price", "--url", server.url, "--key-file", str(stranger)),
        *("--symbol", "SOL_USDC", "--price", "1"),
    )
    assert refused.returncode == 1 and "401" in refused.stderr and "Not an operator key" in refused.stderr
    operator_public = (key_file.parent / "operator.pub").read_text().strip()
    forged = httpx.post(
        server.url + "/api/v1/operator/price",
        json={"symbol": "SOL_USDC", "price": "1"},
        headers={
            "X-API-Key": operator_public,
            "X-Signature": "A" * 86 + "==",
            "X-Timestamp": str(int(time.time() * 1000)),
        },
    )
    assert forged.status_code == 401 and forged.json()["code"] == "INVALID_SIGNATURE"
    assert marks(server)["SOL_USDC_PERP"] == "142.50"
    # journaled: a restart from the journal alone (snapshots removed) has the price and the account
    server.stop()  # (the module's last use of it)
    shutil.rmtree(server.data_dir / "snapshots")
    again = start_server(server.data_dir, "--production", "--operator-key", operator_public)
    try:
        assert marks(again)["SOL_USDC_PERP"] == "142.50"
        assert Signed(again.url, customer.creds).request("GET", "/api/v1/capital", "balanceQuery").status_code == 200
    finally:
        again.stop()


def test_production_refuses_the_simulated_feed_and_takes_a_csv(tmp_path: Path) -> None:
    refused = rucksack("serve", "--production", "--feed", "sim", "--data-dir", str(tmp_path / "a"))
    assert refused.returncode == 2 and "--production takes its index from a real source" in refused.stderr
    prices = tmp_path / "prices.csv"
    prices.write_text("symbol,price\nSOL_USDC,151.25\n")
    server = start_server(tmp_path / "b", "--production", "--feed", f"csv:{prices}")
    try:
        deadline = time.monotonic() + 10
        while "SOL_USDC_PERP" not in marks(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert marks(server) == {"SOL_USDC_PERP": "151.25"}  # BTC and ETH: no price until the source gives one
        response = httpx.post(server.url + "/api/v1/operator/price", json={"symbol": "SOL_USDC", "price": "1"})
        assert response.status_code == 403 and "no --operator-key" in response.json()["message"]
    finally:
        server.stop()


def test_the_sandbox_default_is_unchanged(tmp_path: Path) -> None:
    server = start_server(tmp_path / "d", "--no-makers")
    try:
        assert (server.data_dir / "admin.token").exists()
        deadline = time.monotonic() + 10
        while "SOL_USDC_PERP" not in marks(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {"SOL_USDC_PERP", "BTC_USDC_PERP"} <= set(marks(server))  # the simulated walk, every market
    finally:
        server.stop()
