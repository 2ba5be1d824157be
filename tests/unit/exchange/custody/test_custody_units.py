"""Custody pieces without a chain: the sealed seed, key paths, URL parsing, and the broadcaster's
and EVM watcher's decisions against a scripted JSON-RPC node."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from rucksack.chains.evm.erc20 import TRANSFER_TOPIC
from rucksack.chains.registry import get_chain
from rucksack.exchange.custody import seed as seed_mod
from rucksack.exchange.custody.db import WIRE_STATUS, CustodyDb
from rucksack.exchange.custody.keys import BLOCKCHAIN_OF, CustodyKeys, chain_for_blockchain
from rucksack.exchange.custody.rpc import RpcError
from rucksack.exchange.custody.service import chain_urls
from rucksack.exchange.custody.watchers import EvmWatcher
from rucksack.exchange.custody.withdrawals import Broadcaster

SEED = bytes(range(64))


def test_seed_round_trip_and_refusals(tmp_path: Path) -> None:
    doc = seed_mod.seal(SEED, "pw")
    assert seed_mod.unseal(doc, "pw") == SEED
    assert SEED.hex() not in json.dumps(doc)
    with pytest.raises(seed_mod.CustodySeedError, match="wrong password"):
        seed_mod.unseal(doc, "other")
    with pytest.raises(seed_mod.CustodySeedError, match="wrong password"):  # header is authenticated
        seed_mod.unseal({**doc, "kdf": {**doc["kdf"], "opslimit": doc["kdf"]["opslimit"] + 1}}, "pw")


def test_sandbox_key_file_and_production_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(seed_mod.PASSWORD_ENV, raising=False)
    first = seed_mod.load_or_create(tmp_path, sandbox=True)
    assert seed_mod.load_or_create(tmp_path, sandbox=True) == first and len(first) == 64
    assert stat.S_IMODE((tmp_path / seed_mod.KEY_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / seed_mod.SEED_NAME).stat().st_mode) == 0o600
    prod = tmp_path / "prod"
    prod.mkdir()
    with pytest.raises(seed_mod.CustodySeedError, match=seed_mod.PASSWORD_ENV):
        seed_mod.load_or_create(prod, sandbox=False)
    monkeypatch.setenv(seed_mod.PASSWORD_ENV, "correct horse")
    made = seed_mod.load_or_create(prod, sandbox=False)
    assert seed_mod.load_or_create(prod, sandbox=False) == made
    assert not (prod / seed_mod.KEY_NAME).exists()
    monkeypatch.setenv(seed_mod.PASSWORD_ENV, "wrong")
    with pytest.raises(seed_mod.CustodySeedError):
        seed_mod.load_or_create(prod, sandbox=False)


def test_deposit_addresses_are_per_account_and_apart_from_the_hot_wallet() -> None:
    keys = CustodyKeys(SEED)
    sol, base = get_chain("solana"), get_chain("base")
    a, b = keys.deposit_address(sol, 1000), keys.deposit_address(sol, 1001)
    assert a != b and a == CustodyKeys(SEED).deposit_address(sol, 1000)
    assert keys.deposit_address(base, 1000) == keys.deposit_address(get_chain("polygon"), 1000)
    assert keys.hot_address(sol) not in {keys.deposit_address(sol, n) for n in range(3)}
    assert keys.hot_address(base) not in {keys.deposit_address(base, n) for n in range(3)}
    with pytest.raises(ValueError):
        keys.deposit_address(sol, 2**31)
    assert chain_for_blockchain("Base") == base and chain_for_blockchain("base") is None
    assert set(BLOCKCHAIN_OF.values()) == {"Solana", "Eclipse", "Ethereum", "Base", "Arbitrum", "Optimism", "Polygon"}


def test_chain_urls() -> None:
    urls = chain_urls(["http://127.0.0.1:8899/", "base=http://node:8545"])
    assert urls["solana"] == "http://127.0.0.1:8899/solana" and urls["base"] == "http://node:8545"
    assert len(urls) == 7
    assert chain_urls(["solana=http://x"]) == {"solana": "http://x"}


class FakeLedger:
    def __init__(self) -> None:
        self.ids: dict[str, tuple[int, str, int]] = {}

    def credited(self, tx_id: str) -> bool:
        return tx_id in self.ids

    def has_asset(self, symbol: str) -> bool:
        return symbol in ("ETH", "USDC", "SOL")

    async def deposit(self, account: int, asset: str, atoms: int, tx_id: str) -> bool:
        if tx_id in self.ids:
            return False
        self.ids[tx_id] = (account, asset, atoms)
        return True


class FakeRpc:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def call(self, method: str, *params: Any) -> Any:
        self.calls.append(method)
        answer = self.answers[method]
        if isinstance(answer, BaseException):
            raise answer
        return answer(*params) if callable(answer) else answer


def _evm_rpc(**over: Any) -> FakeRpc:
    answers: dict[str, Any] = {
        "eth_getTransactionCount": "0x0",
        "eth_getBalance": hex(10**20),  # the hot wallet holds enough unless a test says otherwise
        "eth_getBlockByNumber": {"baseFeePerGas": "0x7", "transactions": []},
        "eth_maxPriorityFeePerGas": "0x1",
        "eth_getTransactionReceipt": None,
        "eth_blockNumber": "0x10",
        "eth_sendRawTransaction": RpcError(-32000, "insufficient funds for gas * price + value"),
    }
    answers.update(over)
    return FakeRpc(answers)


def _withdrawal(db: CustodyDb) -> int:
    wid = db.new_withdrawal(7, "base", "ETH", 10**7, 10**17, "0x" + "ab" * 20, None, 1)
    db.update_withdrawal(wid, status="pending")
    return wid


def test_refused_broadcast_refunds_once_even_across_restarts(tmp_path: Path) -> None:
    db, ledger = CustodyDb(tmp_path / "c.sqlite"), FakeLedger()
    wid = _withdrawal(db)
    b = Broadcaster(CustodyKeys(SEED), db, {"base": _evm_rpc()}, ledger)  # type: ignore[dict-item]
    asyncio.run(b.process_once())
    row = db.withdrawal(wid)
    assert row is not None and row["status"] == "refunded" and "insufficient funds" in row["error"]
    assert ledger.ids == {f"withdrawal-refund:{wid}": (7, "ETH", 10**7)}
    db.update_withdrawal(wid, status="refunding")  # as if the process died before the last update
    asyncio.run(Broadcaster(CustodyKeys(SEED), db, {"base": _evm_rpc()}, ledger).process_once())  # type: ignore[dict-item]
    assert len(ledger.ids) == 1 and db.withdrawal(wid)["status"] == "refunded"  # type: ignore[index]


class StatusCheckingDb(CustodyDb):
    """Records every status a withdrawal row takes; the history endpoint may read it at any of them."""

    seen: list[str]

    def update_withdrawal(self, wid: int, **fields: Any) -> None:
        if "status" in fields:
            self.seen.append(fields["status"])
        super().update_withdrawal(wid, **fields)


def test_every_status_a_row_takes_has_a_wire_status(tmp_path: Path) -> None:
    """A refund passes through ``refunding`` while its Deposit is journaled (an await): a history read
    then answered 500 (no wire status for it), which failed a CI run."""
    db, ledger = StatusCheckingDb(tmp_path / "c.sqlite"), FakeLedger()
    db.seen = []
    _withdrawal(db)
    asyncio.run(Broadcaster(CustodyKeys(SEED), db, {"base": _evm_rpc()}, ledger).process_once())  # type: ignore[dict-item]
    assert db.seen[-2:] == ["refunding", "refunded"]
    assert set(db.seen) | {"requested", "signed", "confirmed", "declined"} <= set(WIRE_STATUS)
    assert WIRE_STATUS["refunding"] == "pending"  # the money is not back yet


def test_unreachable_node_changes_nothing_and_signed_bytes_are_reused(tmp_path: Path) -> None:
    db, ledger = CustodyDb(tmp_path / "c.sqlite"), FakeLedger()
    wid = _withdrawal(db)
    down = _evm_rpc(eth_sendRawTransaction=httpx.ConnectError("refused"))
    asyncio.run(Broadcaster(CustodyKeys(SEED), db, {"base": down}, ledger).process_once())  # type: ignore[dict-item]
    row = db.withdrawal(wid)
    assert row is not None and row["status"] == "signed" and not ledger.ids
    assert down.calls.count("eth_getTransactionCount") == 1  # built once: funds checked, then signed
    sent: list[str] = []
    mined = {"status": "0x1", "blockNumber": "0x10"}
    up = _evm_rpc(
        eth_sendRawTransaction=lambda raw: sent.append(raw) or row["tx_hash"],
        eth_getTransactionReceipt=lambda h: mined if sent else None,
    )
    asyncio.run(Broadcaster(CustodyKeys(SEED), db, {"base": up}, ledger).process_once())  # type: ignore[dict-item]
    assert sent == ["0x" + bytes(row["raw"]).hex()]  # the stored bytes, not a new signature
    assert db.withdrawal(wid)["status"] == "confirmed" and not ledger.ids  # type: ignore[index]


def test_a_short_hot_wallet_waits_then_refunds(tmp_path: Path) -> None:
    """0 wei in the hot wallet: pending (asking for a sweep) for ``wait_passes`` passes, then refunded;
    nothing is signed or sent meanwhile."""
    db, ledger = CustodyDb(tmp_path / "c.sqlite"), FakeLedger()
    wid = _withdrawal(db)
    rpc = _evm_rpc(eth_getBalance="0x0")
    b = Broadcaster(CustodyKeys(SEED), db, {"base": rpc}, ledger, wait_passes=2)  # type: ignore[dict-item]
    for _ in range(2):
        asyncio.run(b.process_once())
        assert db.withdrawal(wid)["status"] == "pending" and b.short and not ledger.ids  # type: ignore[index]
        b.short = False
    asyncio.run(b.process_once())
    row = db.withdrawal(wid)
    assert row is not None and row["status"] == "refunded" and not b.short
    assert row["error"].startswith("the hot wallet cannot pay it: 0 wei, needs ")
    assert ledger.ids == {f"withdrawal-refund:{wid}": (7, "ETH", 10**7)}
    assert "eth_sendRawTransaction" not in rpc.calls


def test_a_node_refusing_to_build_refunds_and_the_next_withdrawal_goes_on(tmp_path: Path) -> None:
    """A JSON-RPC error while building an EVM withdrawal (here: no fee estimate) refunds it with the
    node's words, and does not stop the pass: the withdrawal after it is signed."""
    db, ledger = CustodyDb(tmp_path / "c.sqlite"), FakeLedger()
    bad = _withdrawal(db)
    good = db.new_withdrawal(8, "optimism", "ETH", 10**7, 10**17, "0x" + "cd" * 20, None, 1)
    db.update_withdrawal(good, status="pending")
    refusing = _evm_rpc(eth_maxPriorityFeePerGas=RpcError(-32601, "method not found"))
    rpcs = {"base": refusing, "optimism": _evm_rpc(eth_sendRawTransaction=httpx.ConnectError("down"))}
    asyncio.run(Broadcaster(CustodyKeys(SEED), db, rpcs, ledger).process_once())  # type: ignore[arg-type]
    row = db.withdrawal(bad)
    assert row is not None and row["status"] == "refunded"
    assert row["error"] == "cannot build the transaction: method not found"
    assert ledger.ids == {f"withdrawal-refund:{bad}": (7, "ETH", 10**7)}
    assert db.withdrawal(good)["status"] == "signed"  # type: ignore[index]


def test_evm_watcher_credits_token_logs_once_with_confirmations(tmp_path: Path) -> None:
    db, ledger = CustodyDb(tmp_path / "c.sqlite"), FakeLedger()
    base = get_chain("base")
    to = CustodyKeys(SEED).deposit_address(base, 5)
    db.remember_address("base", 5, to)
    log_entry = {
        "topics": ["0x" + TRANSFER_TOPIC.hex(), "0x" + "00" * 12 + "11" * 20, "0x" + "00" * 12 + to[2:].lower()],
        "data": "0x" + (2_500_000).to_bytes(32, "big").hex(),
        "transactionHash": "0x" + "aa" * 32,
        "logIndex": "0x3",
        "blockNumber": "0x5",
    }
    head = {"n": 5}
    rpc = FakeRpc(
        {
            "eth_blockNumber": lambda: hex(head["n"]),
            "eth_getBlockByNumber": lambda n, full: {"transactions": []},
            "eth_getLogs": lambda flt: [log_entry] if int(flt["fromBlock"], 16) <= 5 <= int(flt["toBlock"], 16) else [],
        }
    )
    w = EvmWatcher(base, rpc, db, ledger, confirmations=3)  # type: ignore[arg-type]
    asyncio.run(w.poll_once())
    assert not ledger.ids  # block 5 has 1 confirmation of 3
    head["n"] = 7
    asyncio.run(w.poll_once())
    tx_id = f"base:0x{'aa' * 32}:log3"
    assert ledger.ids == {tx_id: (5, "USDC", 2_500_000)}
    db.set_cursor("base", 0)  # a rescan from genesis
    asyncio.run(EvmWatcher(base, rpc, db, ledger, confirmations=3).poll_once())  # type: ignore[arg-type]
    assert len(ledger.ids) == 1
    rec = db.deposit(tx_id)
    assert rec is not None and rec["to_address"] == to and rec["dust"] == 0
