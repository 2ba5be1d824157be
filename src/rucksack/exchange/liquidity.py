"""The liquidity vault: an exchange-run vault that quotes every market and backstops liquidations
(docs/vaults.md "The liquidity vault"; vaults-growth.md §1.3, §4).

**Where it runs, and why.** The vault itself is core state (``core.vaults``: a protocol vault, no
fees, no leader minimum; anyone mints and redeems at NAV), and the core asks it first when a
liquidation reaches the backstop stage (``VaultBook.backstop_order``). Its quoting strategy runs
here, outside the core, as a bot that trades the vault's account with ordinary journaled
commands (``PlaceOrders`` post-only ladders, ``CancelAllOrders``), exactly like the demo makers
(``makers.py``). So the core's own checks (margin, position limits, the liquidation sweep) apply
to it as to any account; replay reproduces every order it sent without re-running its decisions;
a change of strategy or parameters never changes the core or the meaning of an old journal; and
it costs the sequencer nothing between its periods (a market is re-quoted only when its index,
the vault's inventory in it or its resting orders changed). Its halt is journaled
(``HaltVault``): durable, public (``halted`` in ``GET /api/v1/vaults``) and enforced by the core
(a halted vault's account places reduce-only orders only).

**Quotes.** Around each market's index ``I`` (ticks), ``levels`` post-only levels a side:
level ``k`` at ``I x (1 -/+ (h + k x step - skew) / 10^4)`` (bids rounded down, asks up), where
the half spread ``h = half_spread_bps + vol_multiplier x vol`` widens with the market's recent
volatility (an EWMA of absolute index moves, in bp) and ``skew = skew_bps x r`` shifts both sides
against the inventory ratio ``r = inventory / cap`` (in [-1, 1]), ``cap = max_inventory x NAV``
per market. A level is worth ``level_notional`` USDC, scaled by ``1 - r`` on the side that adds
to the inventory (nothing at the cap) and in full on the side that reduces it; spot asks sell
only what the vault holds.

**Risk limits.** Inventory: the cap above, per market. Loss per day: when the NAV per vault token
falls ``max_daily_loss`` below its value at the first look of the UTC day, the bot cancels every
quote and journals ``HaltVault(reason="DailyLossLimit")``; the next UTC day it resumes. The
vault's PnL (spread, fees, backstop discounts, losses) reaches depositors through its NAV.

Every amount is an integer: bp, parts per million and atoms; the config's decimals are parsed
exactly. Sandbox only for now: the exchange's first deposit into the vault is a sandbox grant.
"""

from __future__ import annotations

import asyncio
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    CancelAllOrders,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    PlaceOrders,
    SetBackstopProvider,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import AccountCreated, Event
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.numeric import PPM
from rucksack.exchange.core.vaults.book import Vault
from rucksack.exchange.core.vaults.commands import CreateVault, HaltVault

__all__ = ["LiquidityConfig", "Quoter", "ensure_vault", "load_config", "run_liquidity"]

log = logging.getLogger("rucksack.liquidity")
BP = 10_000
DAY_US = 86_400_000_000
NAME = "Liquidity vault"
DAILY_LOSS = "DailyLossLimit"


@dataclass(frozen=True)
class LiquidityConfig:
    """The ``[liquidity]`` table (docs/vaults.md lists each key). Fractions are parts per
    million, spreads basis points, amounts settlement-asset units."""

    enabled: bool = True
    seed: int = 250_000  # USDC the exchange deposits when it opens the vault (sandbox grant)
    period_ms: int = 2_000
    levels: int = 3
    half_spread_bps: int = 8
    level_step_bps: int = 10
    vol_multiplier: int = 2  # bp of half spread per bp of the volatility EWMA
    vol_samples: int = 20  # the EWMA's span, in periods
    level_notional: int = 2_000  # USDC a level
    skew_bps: int = 25  # at the inventory cap
    max_inventory_ppm: int = 100_000  # per market, of NAV (10%)
    max_daily_loss_ppm: int = 50_000  # of NAV per token (5%)
    lockup_ms: int = 0
    redeem_delay_ms: int = 0


PPM_KEYS = {"max_inventory": "max_inventory_ppm", "max_daily_loss": "max_daily_loss_ppm"}


def load_config(text: str) -> LiquidityConfig:
    """The ``[liquidity]`` table of a configuration; fractions as decimal strings ("0.1")."""
    raw: dict[str, Any] = tomllib.loads(text).get("liquidity", {})
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = PPM_KEYS.get(key, key)
        if name not in LiquidityConfig.__dataclass_fields__:
            raise ValueError(f"liquidity: unknown key {key!r}")
        if key in PPM_KEYS:
            ppm = Decimal(str(value)) * PPM
            if ppm != int(ppm) or not 0 <= ppm <= PPM:
                raise ValueError(f"liquidity: {key} must be a fraction with at most 6 decimals")
            value = int(ppm)
        elif name != "enabled" and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValueError(f"liquidity: {key} must be a non-negative integer")
        values[name] = value
    cfg = LiquidityConfig(**values)
    if cfg.levels < 1 or cfg.period_ms < 100 or cfg.vol_samples < 1:
        raise ValueError("liquidity: levels and vol_samples must be at least 1, period_ms at least 100")
    return cfg


class Venue(Protocol):
    """What the liquidity vault needs from the exchange (the running service is one)."""

    @property
    def spec(self) -> ExchangeSpec: ...

    @property
    def engine(self) -> Engine: ...

    async def submit(self, command: Command) -> list[Event]: ...


def liquidity_vault(engine: Engine) -> Vault | None:
    """The exchange-run vault (the first protocol vault), if it was opened."""
    book = queries.vault_book(engine)
    return next((book.vaults[i] for i in sorted(book.vaults) if book.vaults[i].protocol), None)


async def ensure_vault(venue: Venue, cfg: LiquidityConfig) -> Vault:
    """The liquidity vault, opened (leader account, its seed deposit, the vault, the backstop
    registration) on first start; each step is a journaled command."""
    vault = liquidity_vault(venue.engine)
    if vault is None:
        events = await venue.submit(CreateAccount("liquidity-vault-leader", auto_lend=False))
        leader = next(e.account for e in events if isinstance(e, AccountCreated))
        settle = venue.spec.assets[queries.settle_asset(venue.engine)]
        amount = cfg.seed * 10**settle.decimals
        await venue.submit(Deposit(leader, settle.symbol, amount, f"sandbox:liquidity:{leader}"))
        await venue.submit(
            CreateVault(
                leader,
                NAME,
                amount,
                lockup_us=cfg.lockup_ms * 1000,
                redeem_delay_us=cfg.redeem_delay_ms * 1000,
                protocol=True,
            )
        )
        vault = liquidity_vault(venue.engine)
        assert vault is not None, "the exchange's own vault opens from its own deposit"
    if vault.account not in queries.backstop_providers(venue.engine):
        await venue.submit(SetBackstopProvider(vault.account, True))
    return vault


@dataclass
class Quoter:
    """The strategy's memory between periods (volatility, what was last quoted, the day's start
    NAV per token); ``plan`` turns the engine's state into the commands to send now."""

    cfg: LiquidityConfig
    vol: dict[str, int] = field(default_factory=dict)  # bp x 1000, per market
    last_index: dict[str, int] = field(default_factory=dict)
    quoted: dict[str, tuple[int, ...]] = field(default_factory=dict)
    day: int = -1
    day_start: tuple[int, int] = (0, 0)  # (NAV, shares) at the day's first look
    halted_day: int = -1  # the UTC day the loss limit halted the vault

    def plan(self, engine: Engine, vault: Vault, now_us: int) -> list[Command]:
        nav = queries.vault_nav(engine, vault)
        if self._loss_limit(nav, vault, now_us):
            return [*self._cancel_all(engine, vault), HaltVault(vault.leader, vault.id, DAILY_LOSS)]
        if vault.halted:
            if vault.halted == DAILY_LOSS and now_us // DAY_US != self.halted_day:
                return [HaltVault(vault.leader, vault.id, "")]  # a new day: resume
            return []
        out: list[Command] = []
        for m in queries.markets(engine):
            # a pre-market trades only from an isolated subaccount (core.premarket): not the vault's
            premarket = queries.premarket(engine, m.spec.symbol) is not None
            if m.spec.trading and m.spec.market_type in ("SPOT", "PERP") and m.index_price and not premarket:
                self._observe(m)
                out.extend(self._quote(engine, vault, m, nav))
        return out

    def _loss_limit(self, nav: int, vault: Vault, now_us: int) -> bool:
        day = now_us // DAY_US
        if day != self.day:
            self.day, self.day_start = day, (nav, vault.shares)
            return False
        start_nav, start_shares = self.day_start
        if vault.halted or not start_shares or not vault.shares or start_nav <= 0:
            return False
        # NAV per token now / at the day's start < 1 - limit, cross-multiplied (exact)
        if nav * start_shares * PPM < start_nav * vault.shares * (PPM - self.cfg.max_daily_loss_ppm):
            self.halted_day = day
            log.warning("liquidity vault halted: NAV per token down %s ppm or more today", self.cfg.max_daily_loss_ppm)
            return True
        return False

    def _cancel_all(self, engine: Engine, vault: Vault) -> list[Command]:
        self.quoted.clear()
        return [CancelAllOrders(vault.account, m.spec.symbol) for m in queries.markets(engine) if m.spec.trading]

    def _observe(self, m: MarketState) -> None:
        """Fold the index's move since the last period into the volatility EWMA (bp x 1000)."""
        symbol, index = m.spec.symbol, m.index_price
        before = self.last_index.get(symbol)
        self.last_index[symbol] = index
        if before:
            move = abs(index - before) * BP * 1000 // before
            n = self.cfg.vol_samples
            self.vol[symbol] = (self.vol.get(symbol, 0) * (n - 1) + move) // n

    def inventory(self, engine: Engine, vault: Vault, m: MarketState) -> tuple[int, int]:
        """(signed inventory in settlement atoms, base lots the vault can sell on a spot book)."""
        acct = queries.account_or_empty(engine, vault.account)
        if m.spec.market_type == "PERP":
            pos = acct.positions.get(m.index)
            lots = pos.lots if pos is not None else 0
            return lots * m.valuation_price() * m.lot_tick_atoms, 0
        bal = acct.assets[m.base]
        held = bal.available + bal.locked
        return queries.asset_value(engine, m.base, held, round_up=False), held // m.lot_atoms

    def _quote(self, engine: Engine, vault: Vault, m: MarketState, nav: int) -> list[Command]:
        cfg = self.cfg
        inv, sellable = self.inventory(engine, vault, m)
        cap = nav * cfg.max_inventory_ppm // PPM
        ratio = max(-PPM, min(PPM, inv * PPM // cap)) if cap > 0 else (PPM if inv > 0 else -PPM if inv < 0 else 0)
        resting = sum(1 for side in (m.bids, m.asks) for o in side.orders() if o.account == vault.account)
        half = cfg.half_spread_bps + cfg.vol_multiplier * self.vol.get(m.spec.symbol, 0) // 1000
        key = (m.index_price, ratio, half, sellable)  # what the quotes depend on
        if self.quoted.get(m.spec.symbol) == (*key, resting):  # (a fill changes the resting count)
            return []  # nothing moved: leave the quotes resting
        skew = cfg.skew_bps * ratio // PPM
        settle_decimals = queries.spec(engine).assets[queries.settle_asset(engine)].decimals
        level = cfg.level_notional * 10**settle_decimals
        bid_value = level * (PPM - max(ratio, 0)) // PPM
        ask_value = level * (PPM + min(ratio, 0)) // PPM
        orders: list[PlaceOrder] = []
        for k in range(cfg.levels):
            off = half + k * cfg.level_step_bps
            bid = m.index_price * (BP - off - skew) // BP
            ask = -(-m.index_price * (BP + off - skew) // BP)
            if bid <= 0 or ask <= bid:
                continue
            bid_lots = bid_value // (bid * m.lot_tick_atoms)
            ask_lots = ask_value // (ask * m.lot_tick_atoms)
            if m.spec.market_type == "SPOT":
                ask_lots = min(ask_lots, sellable)
                sellable -= ask_lots
            sides: tuple[tuple[Side, int, int], ...] = (("Bid", bid, bid_lots), ("Ask", ask, ask_lots))
            for side, price, lots in sides:
                if lots >= max(1, m.min_lots) and lots * price * m.lot_tick_atoms >= m.min_notional:
                    orders.append(
                        PlaceOrder(vault.account, m.spec.symbol, side, "Limit", lots=lots, price=price, post_only=True)
                    )
        self.quoted[m.spec.symbol] = (*key, len(orders))
        out: list[Command] = [CancelAllOrders(vault.account, m.spec.symbol)]
        if orders:
            out.append(PlaceOrders(orders))
        return out


async def run_liquidity(venue: Venue, cfg: LiquidityConfig, clock: Callable[[], int]) -> None:
    """Open the liquidity vault if needed, then quote every ``period_ms`` (``clock``: µs)."""
    await ensure_vault(venue, cfg)
    quoter = Quoter(cfg)
    while True:
        vault = liquidity_vault(venue.engine)  # read afresh each period: the core's own record
        if vault is not None:
            for command in quoter.plan(venue.engine, vault, clock()):
                await venue.submit(command)
        await asyncio.sleep(cfg.period_ms / 1000)


def config_from_data_dir(data_dir: Path) -> LiquidityConfig:
    path = data_dir / "config.toml"
    return load_config(path.read_text(encoding="utf-8")) if path.exists() else LiquidityConfig()
