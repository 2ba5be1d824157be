"""The newcomer's path, one `rucksack wallet` command per step, against what `make run` starts:
a devnet and `rucksack serve --chain-rpc` with its demo market makers and price feed.

create -> faucet -> exchange-signup -> deposit -> trade -> withdraw -> reserves. The test looks
inside the exchange only to publish a reserves snapshot now instead of waiting a day.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from rucksack.chains.devnet.server import Devnet
from rucksack.cli import main
from rucksack.wallet.faucet import NotADevnet, require_devnet
from rucksack.wallet.rpc import Endpoints
from tests.api.conftest import Server, start_server, wait_for_depth
from tests.integration.test_custody import wait_for
from tests.integration.wallet_harness import WalletCli, running_devnet


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet("solana") as net:
        yield net


@pytest.fixture(scope="module")
def server(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("exchange"), "--chain-rpc", f"solana={devnet.url('solana')}", "--chain-poll", "0.1"
    )
    yield srv
    srv.stop()


def test_newcomer_path(devnet: Devnet, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ex = ["--exchange", server.url]
    run = WalletCli(tmp_path, capsys, devnet)

    created = run("create", "--kdf", "test")
    sol = next(a["address"] for a in created["accounts"] if a["family"] == "svm")
    run("faucet", "--chain", "solana", "--asset", "SOL", "--amount", "10")
    run("faucet", "--chain", "solana", "--asset", "USDC", "--amount", "250")
    held = {b["asset"]: b["amount"] for b in run("balance", "--chain", "solana")["solana"]["balances"]}
    assert held == {"SOL": "10", "USDC": "250"}

    run("exchange-signup", *ex)
    start = run("exchange-balance", *ex)["balances"]
    sol_start = Decimal(start["SOL"]["available"])
    run("deposit", "--chain", "solana", "--asset", "SOL", "--amount", "4", "--yes", *ex)
    wait_for(lambda: Decimal(run("exchange-balance", *ex)["balances"]["SOL"]["available"]) == sol_start + 4)

    # the demo makers quote SOL_USDC (on a loaded machine their first ladders may still be coming):
    # a market sell of 1 SOL fills at once
    wait_for_depth(server.url, "SOL_USDC", "bids", "1")
    order = run("trade", "--symbol", "SOL_USDC", "--side", "sell", "--quantity", "1", *ex)["order"]
    assert order["status"] == "Filled" and Decimal(order["executedQuantity"]) == 1
    after = run("exchange-balance", *ex)["balances"]
    assert Decimal(after["SOL"]["available"]) == sol_start + 3
    assert Decimal(after["USDC"]["available"]) > Decimal(start["USDC"]["available"])
    # a limit buy 10% under that fill rests on the book
    below = (Decimal(order["executedQuoteQuantity"]) * Decimal("0.9")).quantize(Decimal("0.01"))
    rest = run("trade", "--symbol", "SOL_USDC", "--side", "buy", "--quantity", "1", "--price", str(below), *ex)["order"]
    assert rest["status"] == "New"
    refused = run("trade", "--symbol", "NOPE_USDC", "--side", "buy", "--quantity", "1", *ex, expect=2)
    assert refused == {}

    # straight after the deposit: the hot wallet may not hold it yet; the withdrawal waits for the
    # sweep it asks for instead of being refunded
    rpc = Endpoints(f"http://127.0.0.1:{devnet.port}").rpc("solana")
    before = int(rpc.call("getBalance", sol)["value"])
    got = run("withdraw", "--chain", "solana", "--asset", "SOL", "--amount", "2", *ex)["withdrawal"]
    assert got["quantity"] == "2"
    wait_for(lambda: int(rpc.call("getBalance", sol)["value"]) == before + 2 * 10**9, timeout=30)

    # the server snapshots at start and daily; the sandbox publishes one now (the operator's command)
    assert main(["sandbox", "reserves-snapshot", "--url", server.url, "--data-dir", str(server.data_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["seq"] > 0
    # our balances are in the signed snapshot; reserves are on-chain balances plus the sandbox's
    # declared grants (ledger money no chain holds: a warning, not hidden)
    report = run("reserves", *ex)
    assert report["included"] is True and report["solvent"] is True
    assert report["account"]["equity"]["SOL"] == str((sol_start + 4 - 1 - 2) * 10**9)


def test_faucet_refuses_anything_but_the_local_devnet(devnet: Devnet) -> None:
    from rucksack.chains.registry import get_chain

    with pytest.raises(NotADevnet, match="loopback"):
        require_devnet("https://api.mainnet-beta.solana.com", Endpoints().rpc("solana"), get_chain("solana"))
    # a loopback node that is not the devnet (here: the devnet's Solana node asked as if it were EVM)
    url = devnet.url("solana")
    with pytest.raises(NotADevnet, match="does not answer as a Rucksack evm devnet"):
        require_devnet(url, Endpoints(overrides={"base": url}).rpc("base"), get_chain("base"))
