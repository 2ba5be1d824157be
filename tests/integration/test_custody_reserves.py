"""Custody's limits and reserves on a real devnet and ``rucksack serve --chain-rpc``: per-asset
withdrawal minimums, the ``tokens`` of ``/api/v1/assets``, and the published reserves statement
taken from on-chain balances with address-control signatures, checked by the standalone verifier."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from solders.keypair import Keypair

from rucksack.chains.devnet.server import Devnet
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.seed import load_or_create
from rucksack.exchange.service import admin_token_path
from rucksack.reserves import evm_control
from rucksack.reserves.build import load_signing_key
from rucksack.reserves.documents import SANDBOX_SOURCE
from rucksack.reserves.signing import sign_document
from rucksack.reserves.verify import verify
from tests.integration.test_custody import World, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    net = Devnet("127.0.0.1", 0, chains=["solana", "base", "ethereum"]).start()
    data_dir: Path = tmp_path_factory.mktemp("custody-reserves")
    (data_dir / "custody.toml").write_text('[min_withdrawal]\nUSDC = "2"\n')  # overrides the default 1 USDC
    w = World(net, data_dir)
    keys = CustodyKeys(load_or_create(data_dir, sandbox=True))
    w.hot_svm = keys.svm_hot.pubkey()  # type: ignore[attr-defined]
    w.svm_send(str(keys.svm_hot.pubkey()), lamports=5 * 10**9)  # fund the hot wallet from the faucets
    w.svm_send(str(keys.svm_hot.pubkey()), usdc=50_000_000)
    w.evm_send(keys.evm_hot.address, wei=10**18)
    yield w
    w.server.stop()
    net.stop()


def test_assets_list_tokens_per_connected_chain(world: World) -> None:
    assets = {a["symbol"]: a for a in httpx.get(world.server.url + "/api/v1/assets", timeout=10).json()}
    usdc = {t["blockchain"]: t for t in assets["USDC"]["tokens"]}
    assert {"Solana", "Base", "Ethereum", "Polygon"} <= set(usdc)  # every chain that carries it
    enabled = {b for b, t in usdc.items() if t["depositEnabled"] and t["withdrawEnabled"]}
    assert enabled == {"Solana", "Base", "Ethereum"}  # only the chains the server is connected to
    assert not usdc["Polygon"]["depositEnabled"] and not usdc["Polygon"]["withdrawEnabled"]
    assert usdc["Solana"]["contractAddress"] and usdc["Base"]["contractAddress"].startswith("0x")
    assert usdc["Base"]["minimumWithdrawal"] == "2" and usdc["Base"]["withdrawalFee"] == "0"
    assert usdc["Base"]["maximumWithdrawal"] is None and usdc["Base"]["minimumDeposit"] == "0.000001"
    sol = assets["SOL"]["tokens"]
    assert [(t["blockchain"], t["contractAddress"], t["minimumWithdrawal"]) for t in sol] == [("Solana", None, "0.01")]
    eth = {t["blockchain"]: t for t in assets["ETH"]["tokens"]}
    assert {b for b, t in eth.items() if t["depositEnabled"]} == {"Base", "Ethereum"}
    assert eth["Base"]["minimumWithdrawal"] == "0.001"
    assert assets["BTC"]["tokens"] == [] and assets["DOGE"]["tokens"] == []  # no chain of the registry carries them
    [pol] = assets["POL"]["tokens"]  # Polygon's native coin, listed; off where the server is not connected
    assert (pol["blockchain"], pol["contractAddress"], pol["depositEnabled"]) == ("Polygon", None, False)


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


# -- on-chain reserves in the published statement ------------------------------------------------


def _publish(world: World) -> Path:
    token = admin_token_path(world.data_dir).read_text().strip()
    r = httpx.post(world.server.url + "/api/v1/sandbox/reserves/snapshot", headers={"X-Admin-Token": token}, timeout=60)
    assert r.status_code == 200, r.text
    return Path(r.json()["dir"])


def _resign(doc: dict[str, Any], world: World) -> dict[str, Any]:
    """The exchange re-signing an altered statement with its own key (what it could do to lie)."""
    key = load_signing_key(world.data_dir / "reserves" / "private" / "signing.key")
    return sign_document("reserves", doc, key)


def test_snapshot_publishes_signed_onchain_reserves_that_verify(world: World) -> None:
    sol, base = world.address("Solana"), world.address("Base")
    world.svm_send(sol, usdc=7_000_000)
    world.evm_send(base, wei=5 * 10**16)
    wait_for(lambda: world.balances().get("ETH") == "0.05" and world.balances().get("USDC") == "8")
    out = _publish(world)
    snapshot = json.loads((out / "snapshot.json").read_text())
    reserves = json.loads((out / "reserves.json").read_text())
    # on-chain rows, plus the sandbox's own grants declared apart (ledger money no chain holds)
    granted = {r["asset"]: int(r["balance"]) for r in reserves["holdings"] if r["source"] == SANDBOX_SOURCE}
    assert all(not r["chain"] and not r["signature"] for r in reserves["holdings"] if r["source"] == SANDBOX_SOURCE)
    rows = [r for r in reserves["holdings"] if r["source"] != SANDBOX_SOURCE]
    assert rows and {r["source"] for r in rows} == {"on-chain"}
    assert {r["chain"] for r in rows} >= {"solana", "base"}
    assert all(r["signature"] and r["height"] >= 0 and int(r["balance"]) > 0 for r in rows)
    by = {(r["chain"], r["address"], r["asset"]): int(r["balance"]) for r in rows}
    assert by[("solana", sol, "USDC")] == world.svm_balance(sol, token=True) == 7_000_000  # no sweeps here
    assert by[("base", base, "ETH")] == 5_000_000  # 0.05 ETH in 8-decimal atoms
    assert ("solana", str(world.hot_svm), "USDC") in by  # the hot wallet is in it too

    report = verify(snapshot, None, reserves, evm_check=evm_control.check)
    assert report.ok, report.to_dict()
    checks = {c.name: c for c in report.checks}
    assert checks["reserves.control"].status == "ok"
    assert "reserves.control_evm" not in checks
    solvency = {s.asset: s for s in report.solvency}
    for asset in ("SOL", "USDC", "ETH"):
        s = solvency[asset]
        assert s.ok and s.reserves == sum(v for (_, _, a), v in by.items() if a == asset) + granted.get(asset, 0)
        assert s.reserves >= s.net_liability > 0
    # the stdlib + PyNaCl core checks the ed25519 ones and says the EVM ones are not checked
    core = {c.name: c for c in verify(snapshot, None, reserves).checks}
    assert core["reserves.control"].status == "ok" and core["reserves.control_evm"].status == "warn"
    # the command line (rucksack reserves verify) checks both
    cli = subprocess.run(
        [sys.executable, "-m", "rucksack.cli", "reserves", "verify", "--snapshot", str(out / "snapshot.json"),
         "--reserves", str(out / "reserves.json"), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stdout + cli.stderr
    names = {c["name"]: c["status"] for c in json.loads(cli.stdout)["checks"]}
    assert names["reserves.control"] == "ok" and "reserves.control_evm" not in names


def test_tampered_onchain_reserves_fail(world: World) -> None:
    out = _latest(world)
    snapshot = json.loads((out / "snapshot.json").read_text())
    reserves = json.loads((out / "reserves.json").read_text())

    def failed(doc: dict[str, Any]) -> set[str]:
        report = verify(snapshot, None, doc, evm_check=evm_control.check)
        return {c.name for c in report.checks if c.status == "fail"}

    svm_i = next(i for i, r in enumerate(reserves["holdings"]) if r["chain"] == "solana")
    evm_i = next(i for i, r in enumerate(reserves["holdings"]) if r["chain"] == "base")

    inflated = copy.deepcopy(reserves)  # a balance raised after signing
    inflated["holdings"][svm_i]["balance"] = str(int(inflated["holdings"][svm_i]["balance"]) + 10**12)
    assert "reserves.signature" in failed(inflated)

    for i in (svm_i, evm_i):  # an address the exchange does not control: its signature cannot match
        other = next(r for r in reserves["holdings"] if r["chain"] == reserves["holdings"][i]["chain"]
                     and r["address"] != reserves["holdings"][i]["address"])  # fmt: skip
        forged = copy.deepcopy(reserves)
        forged["holdings"][i]["signature"] = other["signature"]
        assert failed(_resign(forged, world)) == {"reserves.control"}, i

    doubled = copy.deepcopy(reserves)  # one balance listed twice, re-signed by the exchange
    doubled["holdings"].append(copy.deepcopy(doubled["holdings"][svm_i]))
    assert failed(_resign(doubled, world)) == {"reserves.format"}

    unsigned = copy.deepcopy(reserves)
    unsigned["holdings"][svm_i]["signature"] = ""
    assert failed(_resign(unsigned, world)) == {"reserves.control"}


def _latest(world: World) -> Path:
    dirs = [p for p in (world.data_dir / "reserves").iterdir() if p.name.isdigit()]
    return max(dirs, key=lambda p: int(p.name))
