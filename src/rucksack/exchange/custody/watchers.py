"""Deposit watchers: poll a chain's JSON-RPC for transfers to deposit addresses and credit them.

One watcher per chain; ``poll_once`` is one pass (the service loops it). Each credited transfer
becomes a journaled ``Deposit`` whose ``tx_id`` names the chain and the transaction:

- SVM: ``<chain>:<signature>:<n>`` (``n`` = the transfer's position among the transaction's
  decoded transfers). Found with ``getSignaturesForAddress`` on the deposit address and on its USDC
  associated token account, read with ``getTransaction`` (base64), decoded and signature-checked
  with ``chains.svm.transfers.decode_transfers``: System ``transfer`` to the address (SOL) and SPL
  ``transfer_checked`` of the registry mint into its ATA (USDC).
- EVM: ``<chain>:<hash>:native`` for a plain value transfer to the address (successful receipt),
  ``<chain>:<hash>:log<i>`` for an ERC-20 ``Transfer`` log of the registry token to it.

Transfers from the hot wallet (the sweeper's gas top-ups) are never deposits.

Confirmations: a transfer is credited once ``height + confirmations - 1 <= head`` (slot or block).
Amounts go through the dust rule (``chains.units.deposit_credit``): atoms rounded down, the dust is
recorded with the deposit and stays on the address. Never twice: the engine keeps the set of
credited tx ids in its journaled, snapshotted state and refuses a duplicate; the watcher also skips
ids the engine already holds, so rescans (a lost cursor, a restart) submit nothing new.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils.address import to_checksum_address
from solders.pubkey import Pubkey

from rucksack.chains.evm.erc20 import TRANSFER_TOPIC, decode_transfer_log
from rucksack.chains.registry import Chain, get_chain
from rucksack.chains.svm.transfers import associated_token_address, decode_transfers
from rucksack.chains.transfers import NATIVE
from rucksack.chains.units import deposit_credit
from rucksack.exchange.custody.db import CustodyDb
from rucksack.exchange.custody.rpc import JsonRpc

log = logging.getLogger("rucksack.custody")


class Ledger(Protocol):
    """What custody needs from the exchange (``rucksack.exchange.service.ExchangeLedger`` in production)."""

    def credited(self, tx_id: str) -> bool: ...

    def has_asset(self, symbol: str) -> bool: ...

    async def deposit(self, account: int, asset: str, atoms: int, tx_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Seen:
    """One transfer into a deposit address, in chain units."""

    tx_id: str
    account: int
    asset: str
    units: int
    chain_decimals: int
    exchange_decimals: int
    from_address: str | None
    to_address: str
    tx_hash: str
    height: int


class Watcher:
    def __init__(
        self,
        chain: Chain | str,
        rpc: JsonRpc,
        db: CustodyDb,
        ledger: Ledger,
        confirmations: int = 1,
        ignore_from: frozenset[str] = frozenset(),
    ) -> None:
        self.chain = get_chain(chain) if isinstance(chain, str) else chain
        self.ignore_from = ignore_from  # the hot wallet: its gas top-ups to deposit addresses are not deposits
        self.rpc = rpc
        self.db = db
        self.ledger = ledger
        self.confirmations = max(1, confirmations)
        self.credits = 0  # deposits this watcher submitted (tests, logs)

    async def poll_once(self) -> int:
        raise NotImplementedError

    async def _credit(self, s: Seen) -> None:
        if s.from_address in self.ignore_from:
            return
        credit = deposit_credit(s.units, s.chain_decimals, s.exchange_decimals)
        self.db.record_deposit(
            {
                "tx_id": s.tx_id,
                "chain": self.chain.key,
                "account": s.account,
                "asset": s.asset,
                "units": s.units,
                "atoms": credit.atoms,
                "dust": credit.dust,
                "from_address": s.from_address,
                "to_address": s.to_address,
                "tx_hash": s.tx_hash,
                "height": s.height,
            }
        )
        if credit.atoms <= 0 or not self.ledger.has_asset(s.asset) or self.ledger.credited(s.tx_id):
            return
        if await self.ledger.deposit(s.account, s.asset, credit.atoms, s.tx_id):
            self.credits += 1
            log.info("credited %s %s atoms to account %d (%s)", s.asset, credit.atoms, s.account, s.tx_id)


class SvmWatcher(Watcher):
    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._done: set[str] = set()  # signatures fully handled in this process

    async def poll_once(self) -> int:
        before = self.credits
        head = int(await self.rpc.call("getSlot", {"commitment": "finalized"}))
        mint = Pubkey.from_string(self.chain.token.address)
        for address, account in self.db.addresses(self.chain.key).items():
            ata = str(associated_token_address(Pubkey.from_string(address), mint))
            found: dict[str, int] = {}
            for watched in (address, ata):
                for s in await self.rpc.call("getSignaturesForAddress", watched, {"limit": 1000}) or []:
                    if s.get("err") is None and s["signature"] not in self._done:
                        found[s["signature"]] = int(s["slot"])
            for sig, slot in sorted(found.items(), key=lambda kv: (kv[1], kv[0])):
                if slot + self.confirmations - 1 > head:
                    continue
                await self._transaction(sig, slot, address, ata, account)
                self._done.add(sig)
        return self.credits - before

    async def _transaction(self, sig: str, slot: int, address: str, ata: str, account: int) -> None:
        tx = await self.rpc.call("getTransaction", sig, {"encoding": "base64", "maxSupportedTransactionVersion": 0})
        if tx is None or (tx.get("meta") or {}).get("err") is not None:
            return
        decoded = decode_transfers(base64.b64decode(tx["transaction"][0]), self.chain.key)
        c = self.chain
        for n, t in enumerate(decoded.transfers):
            if t.asset == NATIVE and t.recipient == address:
                asset, dec, xdec = c.native_symbol, c.native_decimals, c.native_exchange_decimals
            elif t.asset == c.token.address and t.recipient == ata:
                asset, dec, xdec = c.token.symbol, c.token.decimals, c.token.exchange_decimals
            else:
                continue
            tx_id = f"{c.key}:{sig}:{n}"
            await self._credit(Seen(tx_id, account, asset, t.amount, dec, xdec, t.sender, address, sig, slot))


class EvmWatcher(Watcher):
    BATCH = 500  # blocks per pass

    async def poll_once(self) -> int:
        before = self.credits
        head = int(await self.rpc.call("eth_blockNumber"), 16)
        last = head - self.confirmations + 1
        start = self.db.cursor(self.chain.key, 0)
        if last < start:
            return 0
        last = min(last, start + self.BATCH - 1)
        addrs: dict[str, int] = {to_checksum_address(a): n for a, n in self.db.addresses(self.chain.key).items()}
        if addrs:
            await self._native(start, last, addrs)
            await self._tokens(start, last, addrs)
        self.db.set_cursor(self.chain.key, last + 1)
        return self.credits - before

    async def _native(self, start: int, last: int, addrs: dict[str, int]) -> None:
        c = self.chain
        for n in range(start, last + 1):
            block = await self.rpc.call("eth_getBlockByNumber", hex(n), True)
            for tx in (block or {}).get("transactions", []):
                to = tx.get("to")
                value = int(tx.get("value", "0x0"), 16)
                if not to or value <= 0 or to_checksum_address(to) not in addrs:
                    continue
                receipt = await self.rpc.call("eth_getTransactionReceipt", tx["hash"])
                if receipt is None or int(receipt["status"], 16) != 1:
                    continue
                to_c = to_checksum_address(to)
                await self._credit(
                    Seen(
                        f"{c.key}:{tx['hash']}:native",
                        addrs[to_c],
                        c.native_symbol,
                        value,
                        c.native_decimals,
                        c.native_exchange_decimals,
                        to_checksum_address(tx["from"]),
                        to_c,
                        tx["hash"],
                        n,
                    )
                )

    async def _tokens(self, start: int, last: int, addrs: dict[str, int]) -> None:
        c = self.chain
        flt = {
            "fromBlock": hex(start),
            "toBlock": hex(last),
            "address": c.token.address,
            "topics": ["0x" + TRANSFER_TOPIC.hex()],
        }
        for entry in await self.rpc.call("eth_getLogs", flt) or []:
            topics = [bytes.fromhex(t.removeprefix("0x")) for t in entry["topics"]]
            parsed = decode_transfer_log(topics, bytes.fromhex(entry["data"].removeprefix("0x")))
            if parsed is None or parsed[1] not in addrs or entry.get("removed"):
                continue
            sender, to, amount = parsed
            tx_hash, index = entry["transactionHash"], int(entry["logIndex"], 16)
            await self._credit(
                Seen(
                    f"{c.key}:{tx_hash}:log{index}",
                    addrs[to],
                    c.token.symbol,
                    amount,
                    c.token.decimals,
                    c.token.exchange_decimals,
                    sender,
                    to,
                    tx_hash,
                    int(entry["blockNumber"], 16),
                )
            )


def make_watcher(
    chain: Chain,
    rpc: JsonRpc,
    db: CustodyDb,
    ledger: Ledger,
    confirmations: int = 1,
    ignore_from: frozenset[str] = frozenset(),
) -> Watcher:
    cls = SvmWatcher if chain.is_svm else EvmWatcher
    return cls(chain, rpc, db, ledger, confirmations, ignore_from)
