"""Custody beside the running exchange: keys, the custody db, watchers and the broadcaster.

``rucksack serve --chain-rpc URL`` (``URL`` = a devnet root, chain ``k`` at ``URL/k``; or
``k=URL`` per chain, repeatable) starts one watcher per chain and the withdrawal broadcaster,
polling every ``--chain-poll`` seconds, and sweeps deposit addresses into the hot wallet every
``--sweep-every`` passes (0: never). Without ``--chain-rpc`` deposit addresses are still
handed out (the seed is the data directory's), but nothing is watched and withdrawals are refused.

Custody sees the exchange only through :class:`Exchange` (declared here, implemented by
``rucksack.exchange.service.ExchangeLedger``): the data directory, the mode, the listed assets,
whether a deposit or a withdrawal is already on the books, and journaled deposits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import httpx

from rucksack.chains.registry import CHAINS, Chain, get_chain
from rucksack.exchange.custody.db import DB_NAME, CustodyDb
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.limits import WithdrawalLimits
from rucksack.exchange.custody.reserves import OnchainHolding, onchain_holdings
from rucksack.exchange.custody.rpc import JsonRpc
from rucksack.exchange.custody.sandbox_gas import SandboxGas
from rucksack.exchange.custody.seed import load_or_create
from rucksack.exchange.custody.sweeps import Sweeper
from rucksack.exchange.custody.watchers import Ledger, Watcher, make_watcher
from rucksack.exchange.custody.withdrawals import Broadcaster

log = logging.getLogger("rucksack.custody")
logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per poll request is noise


def chain_urls(specs: Iterable[str]) -> dict[str, str]:
    """``["http://127.0.0.1:8899"]`` -> every chain at ``/<key>``; ``"base=URL"`` sets one chain."""
    out: dict[str, str] = {}
    for spec in specs:
        key, sep, url = spec.partition("=")
        if sep and key in {c.key for c in CHAINS}:
            out[key] = url
        else:
            out.update({c.key: f"{spec.rstrip('/')}/{c.key}" for c in CHAINS})
    return out


class Exchange(Ledger, Protocol):
    """What custody needs from the running exchange, beyond the watchers' :class:`Ledger`."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def sandbox(self) -> bool: ...

    def asset_decimals(self) -> dict[str, int]:
        """Every listed asset's symbol and decimals."""
        ...

    def withdrawal_debited(self, ref: str) -> bool:
        """Whether the journal holds the Withdraw with this reference (the read store, caught up
        with the journal at start, answers)."""
        ...

    def withdrawal_held(self, ref: str) -> bool:
        """Whether the engine holds this withdrawal (in its security delay or in review)."""
        ...


class Custody:
    def __init__(
        self,
        exchange: Exchange,
        urls: dict[str, str] | None = None,
        *,
        confirmations: int = 1,
        poll: float = 1.0,
        sweep_every: int = 10,
    ) -> None:
        self.ledger = exchange
        self.keys = CustodyKeys(load_or_create(exchange.data_dir, sandbox=exchange.sandbox))
        self.db = CustodyDb(exchange.data_dir / DB_NAME)
        self.limits = WithdrawalLimits.from_data_dir(exchange.data_dir)  # DATA/custody.toml
        self.limits.check(exchange.asset_decimals())
        self.poll = poll
        self.rpcs = {k: JsonRpc(u) for k, u in (urls or {}).items()}
        self.watchers: list[Watcher] = [
            make_watcher(
                get_chain(k), rpc, self.db, self.ledger, confirmations, frozenset({self.keys.hot_address(get_chain(k))})
            )
            for k, rpc in self.rpcs.items()
        ]
        self.sweeper = Sweeper(self.keys, self.db, self.rpcs)
        # sandbox only: the devnet faucet keeps the hot wallets in gas (nobody else would)
        self.gas = SandboxGas(self.keys, self.rpcs, urls or {}) if exchange.sandbox else None
        self.sweep_every = sweep_every  # passes between sweeps; 0: never
        self._passes = 0
        # a withdrawal the hot wallet cannot pay waits up to three sweeps (none when sweeps are off)
        wait = 3 * sweep_every if sweep_every else 0
        self.broadcaster = Broadcaster(self.keys, self.db, self.rpcs, self.ledger, confirmations, wait)
        self._wake = asyncio.Event()
        self._down: set[str] = set()
        self._reconcile()

    def _reconcile(self) -> None:
        """Rows left ``requested`` by a crash: the journal decides whether the Withdraw happened."""
        for w in self.db.withdrawals(statuses=("requested",)):
            debited = self.ledger.withdrawal_debited(f"withdrawal:{w['id']}")
            held = debited and self.ledger.withdrawal_held(f"withdrawal:{w['id']}")
            self.db.update_withdrawal(w["id"], status="delayed" if held else "pending" if debited else "declined")
        self.release_held()

    def release_held(self) -> None:
        """``delayed`` rows the engine no longer holds: cancelled (its refund ``cancelled:<ref>`` is
        credited) or released (sent on)."""
        for w in self.db.withdrawals(statuses=("delayed",)):
            ref = f"withdrawal:{w['id']}"
            if self.ledger.credited(f"cancelled:{ref}"):
                self.db.update_withdrawal(w["id"], status="cancelled")
            elif not self.ledger.withdrawal_held(ref):
                self.db.update_withdrawal(w["id"], status="pending")

    def deposit_address(self, chain: Chain, account: int) -> str:
        address = self.keys.deposit_address(chain, account)
        for c in CHAINS:  # chains of a family share the address: watch it on each of them
            if c.family is chain.family:
                self.db.remember_address(c.key, account, self.keys.deposit_address(c, account))
        return address

    async def reserves_holdings(self) -> list[OnchainHolding]:
        """On-chain balances of the hot wallet and every deposit address, per chain and asset."""
        return await onchain_holdings(self.keys, self.db, self.rpcs, listed=self.ledger.asset_decimals())

    def enabled(self, chain: Chain) -> bool:
        return chain.key in self.rpcs

    def wake(self) -> None:
        self._wake.set()

    async def poll_once(self) -> None:
        for w in self.watchers:
            try:
                await w.poll_once()
                self._down.discard(w.chain.key)
            except (httpx.HTTPError, OSError) as exc:
                if w.chain.key not in self._down:  # once until it answers again
                    log.warning("%s watcher: node unreachable (%s); retrying", w.chain.key, exc)
                self._down.add(w.chain.key)
        if self.gas is not None:
            await self.gas.keep_up()
        self.release_held()
        await self.broadcaster.process_once()
        if self.gas is not None and self.broadcaster.short:  # a withdrawal waits for the hot wallet
            await self.gas.keep_up(now=True)
        self._passes += 1
        if self.sweep_every and (self._passes % self.sweep_every == 0 or self.broadcaster.short):
            self.broadcaster.short = False  # a waiting withdrawal asks for a sweep now
            await self.sweeper.sweep_once()

    async def run(self) -> None:
        last_error = ""
        while True:
            try:
                await self.poll_once()
                last_error = ""
            except Exception as exc:  # keep watching: one bad answer must not stop deposits for good
                if repr(exc) != last_error:  # once per distinct failure, not once per poll
                    log.exception("custody pass failed")
                last_error = repr(exc)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)
