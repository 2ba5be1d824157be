"""Vaults end to end on a running server: a leader opens a vault and trades it with ccxt
(unmodified) through an API key bound to the vault's account, a depositor mints at NAV, the index
moves, the depositor redeems at NAV with the performance fee crystallised (hand-computed: the
same figures as the core's test of Hyperliquid's example), the public list and history, Backpack
errors, and the ``rucksack vault`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import ccxt
import httpx
import pytest

from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, sandbox_account, serve_gateways

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", name="server")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Behind two gateway processes, as the client suites: the vault reads come from the
    gateways' replicas of the engine."""
    yield from serve_gateways(tmp_path_factory, 2)


def admin(server: Server, path: str, body: dict[str, Any]) -> Any:
    token = (server.data_dir / "admin.token").read_text().strip()
    r = httpx.post(server.url + path, json=body, headers={"X-Admin-Token": token})
    assert r.status_code == 200, r.text
    return r.json()


def ccxt_client(server: Server, creds: Creds) -> ccxt.backpack:
    return ccxt.backpack(
        {
            "urls": {"api": {"public": server.url, "private": server.url}},
            "apiKey": creds.api_key,
            "secret": creds.secret,
        }
    )


def call(client: Signed, method: str, path: str, instruction: str, params: dict[str, Any] | None = None) -> Any:
    r = client.request(method, path, instruction, params)
    assert r.status_code == 200, r.text
    return r.json()


def auth(creds: Creds) -> list[str]:
    return ["--api-key", creds.api_key, "--api-secret", creds.secret]


def cli(server: Server, creds: Creds, *argv: str) -> Any:
    out = subprocess.run(
        [sys.executable, "-m", "rucksack", "vault", *argv, "--url", server.url, *auth(creds)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_a_vault_from_deposit_to_withdrawal_at_nav(server: Server) -> None:
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "150"})
    leader_creds = sandbox_account(server, auto_lend=False, USDC="900")
    alice_creds = sandbox_account(server, auto_lend=False, USDC="100")
    maker_creds = sandbox_account(server, auto_lend=False, USDC="100000")
    leader, alice = Signed(server.url, leader_creds), Signed(server.url, alice_creds)

    vault = call(
        leader, "POST", "/api/v1/vault", "vaultCreate", {"name": "alpha", "quantity": "900", "performanceFee": "0.1"}
    )
    assert (vault["nav"], vault["tokenCirculatingSupply"], vault["vaultEquity"]) == ("1", "900", "900")
    vid = vault["id"]
    # the depositor mints through the command line: 100 USDC at NAV 1 -> 100 tokens
    minted = cli(server, alice_creds, "deposit", "--vault", str(vid), "--quantity", "100")
    assert (minted["vaultTokenQuantity"], minted["nav"]) == ("100", "1")

    # the leader trades the vault with ccxt through a key bound to the vault's account
    key, secret = new_keypair()
    call(
        leader,
        "POST",
        "/api/v1/subaccounts/apiKeys",
        "subaccountApiKeyCreate",
        {"subaccountId": vault["accountId"], "publicKey": key},
    )
    trader = ccxt_client(server, Creds(key, secret, vault["accountId"]))
    maker = ccxt_client(server, maker_creds)
    maker.create_order("SOL/USDC:USDC", "limit", "sell", 100, 150)
    trader.create_order("SOL/USDC:USDC", "market", "buy", 100)  # 7.5 USDC taker fee
    admin(server, "/api/v1/sandbox/price", {"symbol": "SOL_USDC", "price": "160"})
    [listed] = [v for v in httpx.get(server.url + "/api/v1/vaults").json() if v["id"] == vid]
    assert (listed["vaultEquity"], listed["nav"]) == ("1992.5", "1.9925")
    assert Decimal(listed["performance"]) == Decimal("0.9925")  # since the first sample (NAV 1)

    # capital leaves the vault's account only by redemption
    r = Signed(server.url, Creds(key, secret, vault["accountId"])).request(
        "POST",
        "/wapi/v1/capital/withdrawals",
        "withdraw",
        {"blockchain": "Solana", "address": "11111111111111111111111111111111", "symbol": "USDC", "quantity": "1"},
    )
    assert r.status_code == 400

    [pos] = call(alice, "GET", "/api/v1/vault/positions", "vaultPositionQuery")
    assert (pos["value"], pos["redeemValue"], pos["performanceFeeTokens"]) == ("199.25", "189.325", "4.981179")
    redeemed = call(alice, "POST", "/api/v1/vault/redeem", "vaultRedeemRequest", {"vaultId": vid})
    assert (redeemed["status"], redeemed["quantity"], redeemed["vaultTokenQuantity"]) == ("Redeemed", "189.325", "100")
    balances = call(alice, "GET", "/api/v1/capital", "balanceQuery")
    assert balances["USDC"]["available"] == "189.325"
    history = httpx.get(server.url + "/api/v1/vaults/history", params={"vaultId": vid, "interval": "1d"}).json()
    assert [h["nav"] for h in history][:2] == ["1", "1"] and history[-1]["tokenCirculatingSupply"] == "904.981179"

    # the leader's view and the command line's list
    nav = call(leader, "GET", "/api/v1/vault/nav", "vaultNavQuery", {"vaultId": vid})
    assert nav["tokenCirculatingSupply"] == "904.981179"
    assert any(v["id"] == vid for v in cli(server, alice_creds, "list"))


def test_vault_errors_are_backpack_errors(server: Server) -> None:
    creds = sandbox_account(server, auto_lend=False, USDC="100")
    client = Signed(server.url, creds)
    r = client.request("POST", "/api/v1/vault/mint", "vaultMint", {"vaultId": 999, "symbol": "USDC", "quantity": "1"})
    assert (r.status_code, r.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    r = client.request("POST", "/api/v1/vault", "vaultCreate", {"name": "x", "quantity": "1000"})
    assert (r.status_code, r.json()["code"]) == (400, "INSUFFICIENT_FUNDS")
    r = client.request("POST", "/api/v1/vault", "vaultCreate", {"name": "x", "quantity": "10", "performanceFee": "2"})
    assert r.status_code == 400
    vault = call(
        client, "POST", "/api/v1/vault", "vaultCreate", {"name": "lock", "quantity": "10", "lockupMs": 3600000}
    )
    r = client.request("POST", "/api/v1/vault/redeem", "vaultRedeemRequest", {"vaultId": vault["id"]})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_CLIENT_REQUEST") and "lock-up" in r.json()["message"]
    r = client.request("GET", "/api/v1/vault/nav", "vaultNavQuery", {"vaultId": 1})
    assert r.status_code == 403
