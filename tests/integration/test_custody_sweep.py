"""The whole round trip with sweeps on, as ``make run`` does it: a user deposits on Solana and Base,
the deposits are credited once and swept into the (initially empty) hot wallet, and the user
withdraws them back to outside addresses."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from solders.keypair import Keypair
from web3 import Web3

from rucksack.chains.devnet.server import Devnet
from rucksack.exchange.custody.db import DB_NAME, CustodyDb
from tests.integration.test_custody import World, settled, wait_for


class SweepWorld(World):
    serve_args = ("--sweep-every", "1")


def _running(kind: type[World], tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    net = Devnet("127.0.0.1", 0, chains=["solana", "base"]).start()
    w = kind(net, tmp_path_factory.mktemp(kind.__name__))
    yield w
    w.server.stop()
    net.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from _running(SweepWorld, tmp_path_factory)


def test_deposit_sweep_and_withdraw_back(world: World) -> None:
    sol, base = world.address("Solana"), world.address("Base")
    world.svm_send(sol, lamports=2 * 10**9)
    world.svm_send(sol, usdc=20_000_000)
    world.evm_send(base, wei=5 * 10**17)
    world.evm_send(base, usdc=30_000_000)
    wait_for(lambda: world.balances() == {"SOL": "2", "USDC": "51", "ETH": "0.5"})
    # swept: the deposit addresses are emptied into the hot wallet (EVM keeps < one transfer's max fee)
    wait_for(lambda: world.svm_balance(sol) == 0 and world.svm_balance(sol, token=True) == 0)
    wait_for(lambda: world.evm_usdc(base) == 0 and world.w3.eth.get_balance(base) < 10**15)  # type: ignore[arg-type]
    sol_to, eth_to = str(Keypair().pubkey()), Web3.to_checksum_address("0x" + "12" * 20)
    ids = [
        world.withdraw(address=sol_to, blockchain="Solana", quantity="1", symbol="SOL").json()["id"],
        world.withdraw(address=sol_to, blockchain="Solana", quantity="20", symbol="USDC").json()["id"],
        world.withdraw(address=eth_to, blockchain="Base", quantity="0.2", symbol="ETH").json()["id"],
        world.withdraw(address=eth_to, blockchain="Base", quantity="30", symbol="USDC").json()["id"],
    ]
    assert [settled(world, i)["status"] for i in ids] == ["confirmed"] * 4
    assert world.svm_balance(sol_to) == 10**9 and world.svm_balance(sol_to, token=True) == 20_000_000
    assert world.w3.eth.get_balance(eth_to) == 2 * 10**17 and world.evm_usdc(eth_to) == 30_000_000
    assert world.balances() == {"SOL": "1", "USDC": "1", "ETH": "0.3"}
    chain_deposits = [
        d for d in world.get("/wapi/v1/capital/deposits", "depositQueryAll") if d["source"] != "administrator"
    ]
    assert len(chain_deposits) == 4  # sweeps and gas top-ups are not deposits


def test_withdrawal_the_hot_wallet_cannot_pay_waits_then_is_refunded(world: World) -> None:
    """1 USDC (the sign-up grant: ledger money) on Solana, where the hot wallet holds none: it waits
    three sweeps for funds that never come, then the amount goes back to the account."""
    before = world.balances()
    to = str(Keypair().pubkey())
    wid = world.withdraw(address=to, blockchain="Solana", quantity="1", symbol="USDC").json()["id"]
    assert settled(world, wid)["status"] == "refunded"
    wait_for(lambda: world.balances() == before)
    row = next(w for w in CustodyDb(world.data_dir / DB_NAME).withdrawals() if w["id"] == wid)
    assert row["error"].startswith("the hot wallet cannot pay it: 0 token units, needs 1000000")
    listed = next(w for w in world.get("/wapi/v1/capital/withdrawals", "withdrawalQueryAll") if w["id"] == wid)
    assert listed["refundReason"] == row["error"]  # the history says why (Rucksack extension)


class LazySweepWorld(World):
    serve_args = ("--sweep-every", "1000")  # no scheduled sweep comes during the test


@pytest.fixture(scope="module")
def lazy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from _running(LazySweepWorld, tmp_path_factory)


def test_withdrawal_right_after_a_deposit_waits_for_the_sweep_it_asks_for(lazy: World) -> None:
    """The hot wallet is empty and the deposit still sits on the deposit address: the withdrawal
    stays pending, asks for a sweep at once, and lands -- it is not refunded."""
    sol = lazy.address("Solana")
    lazy.svm_send(sol, lamports=3 * 10**9)
    wait_for(lambda: lazy.balances().get("SOL") == "3")
    assert lazy.svm_balance(sol) == 3 * 10**9  # not swept
    to = str(Keypair().pubkey())
    wid = lazy.withdraw(address=to, blockchain="Solana", quantity="2", symbol="SOL").json()["id"]
    assert settled(lazy, wid)["status"] == "confirmed"
    assert lazy.svm_balance(to) == 2 * 10**9
    assert lazy.svm_balance(sol) == 0  # the sweep the waiting withdrawal asked for


class GaslessWorld(World):
    serve_args = ("--sweep-every", "1")


@pytest.fixture(scope="module")
def gasless(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    net = Devnet("127.0.0.1", 0, chains=["base"]).start()
    w = GaslessWorld(net, tmp_path_factory.mktemp("gasless"))
    yield w
    w.server.stop()
    net.stop()


def test_the_sandbox_funds_gas_for_a_token_only_deposit_and_its_withdrawal(gasless: World) -> None:
    """Only USDC arrives on Base: nobody gave the exchange ETH for gas. The sandbox's devnet faucet
    keeps a small gas float in the hot wallet, so the deposit is swept and withdrawn back on chain
    instead of being refunded for want of gas."""
    base = gasless.address("Base")
    gasless.evm_send(base, usdc=12_000_000)
    wait_for(lambda: gasless.balances().get("USDC") == "13")  # + the 1 USDC sign-up grant
    wait_for(lambda: gasless.evm_usdc(base) == 0)  # swept with gas the hot wallet sent it
    to = Web3.to_checksum_address("0x" + "34" * 20)
    wid = gasless.withdraw(address=to, blockchain="Base", quantity="12", symbol="USDC").json()["id"]
    assert settled(gasless, wid)["status"] == "confirmed"
    assert gasless.evm_usdc(to) == 12_000_000
    hot = next(w for w in gasless.get("/wapi/v1/capital/withdrawals", "withdrawalQueryAll") if w["id"] == wid)
    assert hot["refundReason"] is None and hot["transactionHash"]
