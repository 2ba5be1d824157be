"""The liquidity vault (exchange/liquidity.py) against a real engine: it opens itself from the
exchange's deposit, quotes every market around the index with inventory- and volatility-aware
spreads and sizes, is the first backstop for a liquidated position, pays a depositor its PnL
through NAV, and halts at its daily loss limit (journaled; the core then lets it only reduce).
Conservation and the core's invariants hold after every command."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from rucksack.exchange.config import default_config_text
from rucksack.exchange.core.commands import (
    Command,
    CreateAccount,
    Deposit,
    LiquidationSweep,
    PlaceOrder,
    SetBackstopProvider,
    SetIndexPrice,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event, OrderAccepted, OrderRejected, PositionTransferred
from rucksack.exchange.core.invariants import check_invariants, conservation_report
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from rucksack.exchange.core.vaults.book import Vault
from rucksack.exchange.core.vaults.commands import HaltVault, VaultDeposit, VaultRedeem
from rucksack.exchange.core.vaults.events import VaultRedeemed
from rucksack.exchange.core.vaults.handlers import nav
from rucksack.exchange.feeds.index import make_feed, publish_index_prices
from rucksack.exchange.liquidity import (
    LiquidityConfig,
    Quoter,
    ensure_vault,
    liquidity_vault,
    load_config,
    run_liquidity,
)
from rucksack.exchange.makers import run_makers
from rucksack.exchange.sequencer.datadir import read_spec, recover
from rucksack.exchange.service import ExchangeService
from rucksack.exchange.surveillance import replay, thresholds_from_toml
from tests.conftest import default_spec

T0 = 1_765_000_000_000_000
USDC = 10**6
PERP = "SOL_USDC_PERP"
CFG = LiquidityConfig(seed=100_000, levels=2, half_spread_bps=10, level_step_bps=10, level_notional=1_000)


class Venue:
    """The exchange as the liquidity vault sees it: commands applied to an engine in order."""

    def __init__(self) -> None:
        self.spec: ExchangeSpec = default_spec()
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = T0

    def apply(self, command: Command, dt_us: int = 1000) -> list[Event]:
        self.seq += 1
        self.ts += dt_us
        events = self.engine.apply(command, self.seq, self.ts)
        assert not check_invariants(self.engine)
        assert all(not r["imbalance"] for r in conservation_report(self.engine).values())
        return events

    async def submit(self, command: Command) -> list[Event]:
        return self.apply(command)

    def account(self, usdc: int) -> int:
        account = self.engine.next_account_id
        self.apply(CreateAccount(auto_lend=False))
        self.apply(Deposit(account, "USDC", usdc * USDC, f"d{self.seq}"))
        return account

    def run(self, quoter: Quoter, vault: Vault) -> list[Command]:
        commands = quoter.plan(self.engine, vault, self.ts)
        for c in commands:
            self.apply(c)
        return commands


def only(items: list[Any], kind: type) -> list[Any]:
    return [e for e in items if isinstance(e, kind)]


@pytest.fixture
def venue() -> Venue:
    v = Venue()
    v.apply(SetIndexPrice(PERP, 15_000))  # 150.00 (the other markets have no index: not quoted)
    return v


def vault_orders(venue: Venue, vault: Vault, symbol: str = PERP) -> dict[str, list[tuple[int, int]]]:
    m = venue.engine.market_by_symbol[symbol]
    return {
        name: sorted(((o.price, o.lots) for o in side.orders() if o.account == vault.account), reverse=name == "bids")
        for name, side in (("bids", m.bids), ("asks", m.asks))
    }


def test_the_config_table_parses_exactly() -> None:
    cfg = load_config('[liquidity]\nmax_inventory = "0.25"\nlevels = 4\n')
    assert (cfg.max_inventory_ppm, cfg.levels, cfg.max_daily_loss_ppm) == (250_000, 4, 50_000)
    with pytest.raises(ValueError):
        load_config('[liquidity]\nmax_inventory = "0.1234567"\n')
    with pytest.raises(ValueError):
        load_config("[liquidity]\nspread = 3\n")


def test_quotes_around_the_index_then_skews_with_inventory(venue: Venue) -> None:
    vault = asyncio.run(ensure_vault(venue, CFG))
    assert vault.protocol and vault.management_fee_ppm == vault.performance_fee_ppm == 0
    assert vault.account in venue.engine.backstop
    quoter = Quoter(CFG)
    venue.run(quoter, vault)
    # level k at 150 x (1 -/+ (10 + 10k) bp): 149.85 / 150.15, 149.70 / 150.30; 1000 USDC a level
    assert vault_orders(venue, vault) == {
        "bids": [(14_985, 1_000 * USDC // (14_985 * 100)), (14_970, 1_000 * USDC // (14_970 * 100))],
        "asks": [(15_015, 1_000 * USDC // (15_015 * 100)), (15_030, 1_000 * USDC // (15_030 * 100))],
    }
    assert venue.run(quoter, vault) == []  # nothing moved: the quotes rest

    # a taker sells 6.67 SOL into the bids: the vault is long ~1000 USDC of a 10,000 cap (10%)
    taker = venue.account(100_000)
    venue.apply(PlaceOrder(taker, PERP, "Ask", "Market", lots=667))
    venue.run(quoter, vault)
    orders = vault_orders(venue, vault)
    top_bid, top_ask = orders["bids"][0], orders["asks"][0]
    assert top_bid[0] < 14_985 and top_ask[0] < 15_015  # both sides shifted down: it wants to sell
    assert top_bid[1] < 1_000 * USDC // (top_bid[0] * 100)  # and buys less
    assert top_ask[1] == 1_000 * USDC // (top_ask[0] * 100)  # but sells in full


def test_spreads_widen_with_volatility(venue: Venue) -> None:
    vault = asyncio.run(ensure_vault(venue, CFG))
    quoter = Quoter(CFG)
    venue.run(quoter, vault)
    calm = vault_orders(venue, vault)
    spread = calm["asks"][0][0] - calm["bids"][0][0]
    for price in (15_150, 14_900, 15_200):  # moves of ~1-2%: the EWMA of |moves| rises
        venue.apply(SetIndexPrice(PERP, price))
        venue.run(quoter, vault)
    moved = vault_orders(venue, vault)
    assert (moved["asks"][0][0] - moved["bids"][0][0]) * 15_000 > spread * 15_200 * 2


def test_first_backstop_for_a_liquidated_position_and_pnl_to_depositors(venue: Venue) -> None:
    other = venue.account(1_000_000)
    venue.apply(SetBackstopProvider(other, True))  # a lower id than the vault's account
    vault = asyncio.run(ensure_vault(venue, CFG))
    alice = venue.account(10_000)
    venue.apply(VaultDeposit(alice, vault.id, "USDC", 10_000 * USDC))
    # a trader 7.5x long 50 SOL; the maker on the other side
    maker = venue.account(100_000)
    trader = venue.account(1_000)
    venue.apply(PlaceOrder(maker, PERP, "Ask", "Limit", lots=5_000, price=15_000))
    venue.apply(PlaceOrder(trader, PERP, "Bid", "Market", lots=5_000))
    venue.apply(SetIndexPrice(PERP, 13_060))  # -970 of 1000 equity: MF 0.46% < ACMF, stage 2
    events = venue.apply(LiquidationSweep())
    [moved] = [e for e in only(events, PositionTransferred) if e.kind == "Backstop"][:1]
    assert moved.counterparty == vault.account  # the vault first, before the lower id
    vault_pos = venue.engine.ledger.accounts[vault.account].positions[venue.engine.market_by_symbol[PERP].index]
    assert vault_pos.lots > 0
    # it took the position below the mark: the discount is depositors' PnL, through NAV
    [r] = only(venue.apply(VaultRedeem(alice, vault.id)), VaultRedeemed)
    assert r.amount > 10_000 * USDC


def test_halts_at_its_daily_loss_limit(venue: Venue) -> None:
    cfg = LiquidityConfig(seed=10_000, levels=2, level_notional=2_000)
    vault = asyncio.run(ensure_vault(venue, cfg))
    quoter = Quoter(cfg)
    venue.run(quoter, vault)  # the day's first look: NAV per token 1
    taker = venue.account(1_000_000)
    venue.apply(PlaceOrder(taker, PERP, "Ask", "Market", lots=2_600))  # fills the vault's bids
    pos = venue.engine.ledger.accounts[vault.account].positions[venue.engine.market_by_symbol[PERP].index]
    assert pos.lots >= 2_600  # 26 SOL long: 4000 USDC, more than its 10% cap
    assert venue.run(quoter, vault) and not vault_orders(venue, vault)["bids"]  # at the cap: no bids
    # the index falls 150 -> 128: the long loses ~570 USDC, more than 5% of 10,000
    venue.apply(SetIndexPrice(PERP, 12_800))
    assert nav(venue.engine, vault) * 100 < 10_000 * USDC * 95
    commands = venue.run(quoter, vault)
    assert only(commands, HaltVault) and vault.halted == "DailyLossLimit"
    assert vault_orders(venue, vault) == {"bids": [], "asks": []}
    assert venue.run(quoter, vault) == []  # halted: no quotes
    # the core enforces the halt: the vault's account may only reduce
    refused = venue.apply(PlaceOrder(vault.account, PERP, "Bid", "Limit", lots=10, price=10_000))
    assert only(refused, OrderRejected)[0].reason == "VaultHalted"
    done = venue.apply(PlaceOrder(vault.account, PERP, "Ask", "Limit", lots=10, price=12_900, reduce_only=True))
    assert only(done, OrderAccepted)
    # the halt is state: a snapshot restores it (same hash, same refusal)
    restored = restore(venue.spec, decode_snapshot(encode_snapshot(take_snapshot(venue.engine))))
    assert state_hash(restored) == state_hash(venue.engine) and restored.halted_vaults == {vault.account}
    # the next UTC day it resumes
    venue.ts += 86_400_000_000
    assert only(venue.run(quoter, vault), HaltVault) and vault.halted == ""


def test_quoting_beside_the_demo_makers_raises_no_surveillance_alert(tmp_path: Path) -> None:
    """The liquidity vault cancels and re-quotes as the index moves: normal activity that the
    spoofing/layering detectors must not flag. Makers, the seeded feed and the vault run for real
    through an ``ExchangeService`` on a fast fake clock; the journal is replayed through every
    detector."""
    from tests.unit.exchange.surveillance.test_makers_silent import FakeClock

    clock = FakeClock()

    async def run() -> None:
        service = ExchangeService(tmp_path, clock=clock, fsync=False)
        service.start()
        feed = make_feed(service, "sim", 7)
        service.feed = feed
        cfg = LiquidityConfig(period_ms=100)
        tasks = [
            asyncio.ensure_future(run_makers(service, feed, seed=7, period=0.0)),
            asyncio.ensure_future(publish_index_prices(service, feed, period=0.02)),
            asyncio.ensure_future(run_liquidity(service, cfg, service.clock)),
        ]
        await asyncio.sleep(6.0)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        service.close()

    asyncio.run(run())
    engine = recover(tmp_path).engine
    vault = liquidity_vault(engine)
    assert vault is not None
    quoted = {
        m.spec.symbol
        for m in engine.markets
        for side in (m.bids, m.asks)
        for o in side.orders()
        if o.account == vault.account
    }
    assert len(quoted) >= 4  # it quotes the spot and perp books
    monitor, seq = replay(tmp_path, read_spec(tmp_path), thresholds_from_toml(default_config_text()))
    assert seq > 1000
    assert monitor.alert_list() == [], monitor.alert_list()
