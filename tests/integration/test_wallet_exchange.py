"""The wallet's exchange link end to end: a devnet (Solana) and a real ``rucksack serve --chain-rpc``.

The wallet talks to the exchange only over HTTP with its own signing; the test itself may look
inside the exchange (custody keys to fund the hot wallet, the admin token to publish a snapshot).
Flow: create a wallet, derive + register its exchange key, deposit SOL with a reviewed send and see
it credited, withdraw back to the wallet and see it land on chain, verify the reserves proof.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import nacl.signing
import pytest

from rucksack.chains.devnet.server import Devnet
from rucksack.cli import main
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.seed import load_or_create
from rucksack.exchange.service import admin_token_path
from rucksack.wallet.exchange_link import ExchangeClient, derive_exchange_seed, signing_key
from rucksack.wallet.keystore import Wallet
from rucksack.wallet.rpc import Endpoints
from tests.api.conftest import Server, start_server
from tests.integration.test_custody import wait_for
from tests.integration.wallet_harness import WalletCli, running_devnet


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet("solana") as net:
        yield net


@pytest.fixture(scope="module")
def server(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("exchange")
    srv = start_server(
        data_dir,
        "--no-makers",
        "--feed",
        "manual",
        "--chain-rpc",
        f"solana={devnet.url('solana')}",
        "--chain-poll",
        "0.1",
        "--sweep-every",
        "0",
    )
    yield srv
    srv.stop()


def test_wallet_exchange_round_trip(
    devnet: Devnet, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = WalletCli(tmp_path, capsys, devnet)
    created = run("create", "--kdf", "test")
    sol = next(a["address"] for a in created["accounts"] if a["family"] == "svm")
    rpc = Endpoints(run.url).rpc("solana")
    rpc.call("requestAirdrop", sol, 5 * 10**9)

    # the exchange key: deterministic in the seed, domain-separated from the chain keys
    key = run("exchange-key")
    assert key["source"] == "derived" and run("exchange-key") == key
    wallet = Wallet(run.keystore)
    wallet.unlock("s3cret pw")
    seed = derive_exchange_seed(wallet.secret())
    assert key["publicKey"] == base64.b64encode(bytes(nacl.signing.SigningKey(seed).verify_key)).decode()
    assert bytes(wallet.signer(wallet.account("svm")).pubkey()) != base64.b64decode(key["publicKey"])

    signed_up = run("exchange-signup", "--exchange", server.url)
    assert signed_up["publicKey"] == key["publicKey"]
    client = ExchangeClient(server.url, signing_key(wallet)[0])
    assert client.balances()["SOL"]["available"] == "500"  # the sandbox grant

    # deposit: the address comes from the signed API; the send is reviewed (declined, then --yes)
    ex = ["--exchange", server.url]
    deposit = ["deposit", "--asset", "SOL", "--amount", "1.5", "--chain", "solana", *ex]
    declined = run(*deposit, stdin="n\n", expect=1)
    assert declined["sent"] is False and "Balance changes" in run.err
    address = declined["depositAddress"]
    sent = run(*deposit, "--yes")
    assert sent["sent"] and sent["depositAddress"] == address
    assert any(c["account"] == address and c["delta"] == "1.5" for c in sent["review"]["changes"])
    wait_for(lambda: client.balances()["SOL"]["available"] == "501.5")

    # withdraw back to the wallet's own address (the hot wallet is funded from the faucet here)
    hot = CustodyKeys(load_or_create(server.data_dir, sandbox=True)).svm_hot.pubkey()
    rpc.call("requestAirdrop", str(hot), 10 * 10**9)
    before = int(rpc.call("getBalance", sol)["value"])
    got = run("withdraw", "--asset", "SOL", "--amount", "2", "--chain", "solana", "--exchange", server.url)
    assert got["withdrawal"]["quantity"] == "2" and got["withdrawal"]["symbol"] == "SOL"
    wait_for(lambda: int(rpc.call("getBalance", sol)["value"]) == before + 2 * 10**9)
    assert client.balances()["SOL"]["available"] == "499.5"

    # reserves: publish a snapshot now (sandbox admin), then verify our own inclusion
    token = admin_token_path(server.data_dir).read_text().strip()
    r = httpx.post(server.url + "/api/v1/sandbox/reserves/snapshot", headers={"X-Admin-Token": token}, timeout=60)
    assert r.status_code == 200, r.text
    # reserves = on-chain balances (signed by their addresses) + the sandbox grants (500 SOL, 100000
    # USDC, ... : ledger money no chain holds), declared as such and reported as a warning
    report = run("reserves", "--exchange", server.url)
    assert report["included"] is True and report["solvent"] is True and "RESULT: VERIFIED" in run.err
    assert report["account"]["account"] == signed_up["accountId"]
    assert report["account"]["equity"]["SOL"] == str(4995 * 10**8)
    assert not [c for c in report["checks"] if c["status"] == "fail"]
    warned = [c["detail"] for c in report["checks"] if c["name"] == "reserves.source"]
    assert any("sandbox grants" in w and "not on-chain" in w for w in warned)
    assert any("on-chain balances" in w for w in warned)
    assert {"proof.root", "proof.account", "snapshot.signature"} <= {c["name"] for c in report["checks"]}
    pinned = report["snapshot"]["public_key"]
    assert run("reserves", "--exchange", server.url, "--public-key", pinned)["included"]
    assert run("reserves", "--exchange", server.url, "--public-key", "00" * 32, expect=1)["included"] is False


def test_imported_exchange_key_is_sealed_in_the_keystore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pw").write_text("pw\n")
    ks = str(tmp_path / "w.json")
    base = ["--keystore", ks, "--password-file", str(tmp_path / "pw")]
    assert main(["wallet", "create", *base, "--kdf", "test"]) == 0
    imported = nacl.signing.SigningKey.generate()
    (tmp_path / "k").write_text(base64.b64encode(bytes(imported)).decode() + "\n")
    capsys.readouterr()
    assert main(["wallet", "exchange-key", *base, "--import-file", str(tmp_path / "k")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"publicKey": base64.b64encode(bytes(imported.verify_key)).decode(), "source": "imported"}
    sealed = (tmp_path / "w.json.exchange-key").read_text()
    assert base64.b64encode(bytes(imported)).decode() not in sealed
    (tmp_path / "pw").write_text("wrong\n")
    assert main(["wallet", "exchange-key", *base]) == 2
