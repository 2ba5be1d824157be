"""Pre-market perps in the core (core.premarket; docs/premarket.md), through commands only: the
banded mark, isolated margin, settlement at listing to hand-computed PnL, conservation after
every command and replay (journal and snapshot) to the same state hash."""

from __future__ import annotations

import random

import msgspec

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    BorrowLend,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    SetIndexPrice,
    Transfer,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import (
    AccountCreated,
    BadDebt,
    BorrowLendRejected,
    Event,
    IndexPriceRejected,
    IndexPriceSet,
    LossSocialized,
    MarketStatusChanged,
    OrderRejected,
)
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.premarket.commands import CrankPreMarkets, ListPreMarket
from rucksack.exchange.core.premarket.events import (
    PreMarketListed,
    PreMarketPositionSettled,
    PreMarketRejected,
    PreMarketSettled,
)
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import default_spec

PRE, SPOT = "RUCK_USDC_PERP", "RUCK_USDC"
PRE_INDEX = [m.symbol for m in default_spec().markets].index(PRE)
SECOND = 1_000_000
MINUTE = 60 * SECOND
T0 = 1_700_000_000_000_000
USDC = 10**6  # atoms per USDC; RUCK_USDC_PERP: 1 lot = 1 RUCK, 1 tick = 0.0001 USDC, lot x tick = 100 atoms


class Clock:
    """Applies commands at chosen times, checks every invariant (conservation included) after
    each one and keeps the journal for replay."""

    def __init__(self, spec: ExchangeSpec) -> None:
        self.spec = spec
        self.engine = Engine(spec)
        self.seq = 0
        self.now = T0
        self.log: list[tuple[int, int, Command]] = []

    def __call__(self, command: Command, after_us: int = 1) -> list[Event]:
        self.seq += 1
        self.now += after_us
        events = self.engine.apply(command, self.seq, self.now)
        self.log.append((self.seq, self.now, command))
        problems = check_invariants(self.engine)
        assert not problems, problems
        return events

    def account(self, parent: int = 0, **funds: int) -> int:
        created = self(CreateAccount(f"a{self.seq}", parent=parent, auto_lend=False))[0]
        assert isinstance(created, AccountCreated)
        for asset, atoms in funds.items():
            self(Deposit(created.account, asset, atoms, f"d{self.seq}"))
        return created.account

    def isolated(self, usdc: int) -> tuple[int, int]:
        """A main account and its pre-market subaccount holding ``usdc`` atoms."""
        main = self.account(USDC=10 * usdc)
        sub = self.account(parent=main)
        self(Transfer(main, main, sub, "USDC", usdc))
        return main, sub

    def usdc(self, account: int) -> int:
        return self.engine.ledger.available(account, self.engine.asset_index["USDC"])

    def mark(self) -> int:
        return self.engine.market_by_symbol[PRE].mark


def band_spec(lo: str, hi: str) -> ExchangeSpec:
    """The default spec with the pre-market's band narrowed to ``[lo, hi]`` x the initial price (ppm)."""
    spec = default_spec()
    markets = []
    for m in spec.markets:
        if m.premarket is not None:
            m = msgspec.structs.replace(
                m, premarket=msgspec.structs.replace(m.premarket, band_min_ppm=int(lo), band_max_ppm=int(hi))
            )
        markets.append(m)
    return msgspec.structs.replace(spec, markets=markets)


def test_the_mark_follows_the_book_one_step_at_a_time_and_stops_at_the_band() -> None:
    c = Clock(band_spec("900000", "1100000"))  # band [0.90, 1.10]
    assert c.mark() == 10_000  # the initial price, before any trade
    assert c(SetIndexPrice(PRE, 12_000)) == [IndexPriceRejected(PRE, 12_000, "PreMarketHasNoIndex")]
    _, maker = c.isolated(100_000 * USDC)
    c(PlaceOrder(maker, PRE, "Bid", "Limit", lots=10, price=11_900))
    c(PlaceOrder(maker, PRE, "Ask", "Limit", lots=10, price=12_100))  # mid 1.2000
    marks = []
    for _ in range(12):
        for ev in c(CrankPreMarkets(), SECOND):
            assert isinstance(ev, IndexPriceSet) and ev.index_price == ev.mark_price
        marks.append(c.mark())
    # +1% of the previous mark each second (floor), then the band's 1.10 cap
    assert marks == [10_100, 10_201, 10_303, 10_406, 10_510, 10_615, 10_721, 10_828, 10_936, 11_000, 11_000, 11_000]
    assert c(CrankPreMarkets(), SECOND) == []  # no change, no event


def test_the_mark_falls_to_the_floor_when_only_the_last_trade_is_left() -> None:
    c = Clock(band_spec("950000", "4000000"))  # floor 0.95
    _, a = c.isolated(100_000 * USDC)
    _, b = c.isolated(100_000 * USDC)
    c(PlaceOrder(a, PRE, "Bid", "Limit", lots=10, price=8_000))
    c(PlaceOrder(b, PRE, "Ask", "Market", lots=10))  # trades at 0.8000, the book is empty after
    for _ in range(8):
        c(CrankPreMarkets(), SECOND)
    assert c.mark() == 9_500  # 10_000 -> 9_900 -> 9_801 -> 9_702 -> 9_604 -> 9_507 -> floor 9_500


def test_a_pre_market_trades_only_from_an_isolated_subaccount() -> None:
    c = Clock(default_spec())
    main, sub = c.isolated(10_000 * USDC)
    _, other = c.isolated(10_000 * USDC)
    refused = c(PlaceOrder(main, PRE, "Bid", "Limit", lots=100, price=10_000))
    assert refused == [OrderRejected(main, PRE, -1, "IsolatedMarginRequired")]  # a main account
    c(SetIndexPrice("SOL_USDC_PERP", 15_000))
    c(PlaceOrder(other, "SOL_USDC_PERP", "Bid", "Limit", lots=10, price=14_000))  # other risk
    assert c(PlaceOrder(other, PRE, "Bid", "Limit", lots=100, price=10_000))[0].reason == "IsolatedMarginRequired"  # type: ignore[union-attr]
    c(PlaceOrder(sub, PRE, "Bid", "Limit", lots=100, price=10_000))  # accepted: rests
    assert (
        c(PlaceOrder(sub, "SOL_USDC_PERP", "Bid", "Limit", lots=1, price=14_000))[0].reason == "IsolatedMarginRequired"
    )  # type: ignore[union-attr]
    assert c(BorrowLend(sub, "USDC", "Borrow", USDC)) == [
        BorrowLendRejected(sub, "USDC", "Borrow", USDC, "IsolatedMarginRequired")
    ]
    # the lower leverage cap: 2x (initial margin 50%) -- 10,000 USDC carries 20,000 RUCK at 1.00 at most
    big = c(PlaceOrder(sub, PRE, "Bid", "Limit", lots=19_950, price=10_000))
    assert big[0].reason == "InsufficientMargin"  # type: ignore[union-attr]


def test_positions_settle_at_the_listing_twap_to_hand_computed_pnl_and_the_market_closes() -> None:
    c = Clock(default_spec())
    _, alice = c.isolated(1_000 * USDC)
    _, bob = c.isolated(1_000 * USDC)
    spot_bid = c.account(USDC=100_000 * USDC)
    spot_ask = c.account(RUCK=100_000 * USDC)  # RUCK has 6 decimals too
    assert c(PlaceOrder(spot_bid, SPOT, "Bid", "Limit", lots=1, price=9_000))[0].reason == "MarketClosed"  # type: ignore[union-attr]
    c(PlaceOrder(bob, PRE, "Ask", "Limit", lots=1_000, price=10_500))  # maker: 0.02% fee
    c(PlaceOrder(alice, PRE, "Bid", "Limit", lots=1_000, price=10_500))  # taker: 0.05% fee
    notional = 1_000 * 10_500 * 100  # 1,050 USDC
    maker_fee, taker_fee = notional * 200 // 10**6, notional * 500 // 10**6  # 0.21 and 0.525 USDC
    unsettled = c.engine.ledger.accounts[alice].unsettled, c.engine.ledger.accounts[bob].unsettled
    assert unsettled == (-taker_fee, -maker_fee)  # perp fees are owed until the PnL settlement
    # the operator lists RUCK: the spot market opens, the one-hour window starts
    listed = c(ListPreMarket(PRE), MINUTE)
    start = c.now
    assert isinstance(listed[0], MarketStatusChanged) and listed[0].market == SPOT and listed[0].status == "Open"
    assert listed[-1] == PreMarketListed(PRE, SPOT, start, start + 60 * MINUTE)
    assert c(ListPreMarket(PRE)) == [PreMarketRejected(PRE, "AlreadyListed")]
    assert c(ListPreMarket("SOL_USDC_PERP")) == [PreMarketRejected("SOL_USDC_PERP", "UnknownMarket")]
    # spot quoted around 1.2000 for the first half hour, around 1.3000 for the second
    c(PlaceOrder(spot_bid, SPOT, "Bid", "Limit", lots=10, price=11_900))
    c(PlaceOrder(spot_ask, SPOT, "Ask", "Limit", lots=10, price=12_100))
    c.now = start + 30 * MINUTE - 1
    c(CrankPreMarkets())  # 30 minutes at 1.2000
    c(PlaceOrder(spot_bid, SPOT, "Bid", "Limit", lots=10, price=12_900))  # takes the 1.21 ask whole
    c(PlaceOrder(spot_ask, SPOT, "Ask", "Limit", lots=10, price=13_100))
    c(PlaceOrder(spot_bid, SPOT, "Bid", "Limit", lots=10, price=12_900))  # rests: mid (1.29 + 1.31) / 2
    c(PlaceOrder(bob, PRE, "Ask", "Limit", lots=5, price=12_000))  # an order the settlement cancels
    c.now = start + 60 * MINUTE - 1
    events = c(CrankPreMarkets(), 5 * SECOND)  # past the window: 30 more minutes at 1.3000
    price = 12_500  # (1.2000 x 30 min + 1.3000 x 30 min) / 60 min
    settled = [e for e in events if isinstance(e, PreMarketPositionSettled)]
    pnl = 1_000 * (price - 10_500) * 100  # +200 USDC to the long, -200 to the short
    assert settled == [
        PreMarketPositionSettled(alice, PRE, 1_000, price, pnl),
        PreMarketPositionSettled(bob, PRE, -1_000, price, -pnl),
    ]
    assert PreMarketSettled(PRE, price, 2, 60 * MINUTE) in events
    assert (c.usdc(alice), c.usdc(bob)) == (1_200 * USDC - taker_fee, 800 * USDC - maker_fee)
    assert not c.engine.ledger.accounts[alice].positions and not c.engine.ledger.accounts[bob].positions
    closed = [e for e in events if isinstance(e, MarketStatusChanged)]
    assert [(e.market, e.status, e.reason) for e in closed] == [(PRE, "Delisted", "PreMarketSettled")]
    assert c(PlaceOrder(alice, PRE, "Bid", "Limit", lots=1, price=12_500))[0].reason == "MarketClosed"  # type: ignore[union-attr]
    assert c(CrankPreMarkets(), SECOND) == []  # settled: nothing more to do
    # replay: the journal on a fresh engine, and a snapshot restored, give the same state hash
    fresh = Engine(c.spec)
    for seq, ts, command in c.log:
        fresh.apply(command, seq, ts)
    assert state_hash(fresh) == state_hash(c.engine)
    again = restore(c.spec, decode_snapshot(encode_snapshot(take_snapshot(c.engine))))
    assert state_hash(again) == state_hash(c.engine)


def test_a_loss_beyond_the_subaccount_never_reaches_the_owners_other_money() -> None:
    c = Clock(default_spec())
    alice_main, alice = c.isolated(600 * USDC)
    _, bob = c.isolated(10_000 * USDC)
    seller = c.account(RUCK=1_000 * USDC)
    buyer = c.account(USDC=10_000 * USDC)
    before = c.usdc(alice_main)
    c(PlaceOrder(bob, PRE, "Ask", "Limit", lots=1_000, price=10_000))
    c(PlaceOrder(alice, PRE, "Bid", "Limit", lots=1_000, price=10_000))  # 1,000 USDC long on 600 USDC: 1.67x
    c(ListPreMarket(PRE))
    c(PlaceOrder(buyer, SPOT, "Bid", "Limit", lots=10, price=1_000))  # RUCK lists at 0.10
    c(PlaceOrder(seller, SPOT, "Ask", "Limit", lots=10, price=1_000))  # one trade; the last price stays 0.1000
    c.now += 61 * MINUTE
    events = c(CrankPreMarkets())
    assert PreMarketPositionSettled(alice, PRE, 1_000, 1_000, -900 * USDC) in events
    # bankrupt at 0.10: 600 - 0.5 (taker fee) - 900 = -300.5 USDC; the liquidity fund is empty, so
    # the opposing winner (bob) absorbs it (liquidation's waterfall); her main account pays nothing
    deficit = 300 * USDC + USDC // 2
    assert BadDebt(alice, deficit, 0, deficit, 0) in events
    assert LossSocialized(PRE, alice, bob, deficit) in events
    assert (c.usdc(alice), c.engine.ledger.accounts[alice].unsettled) == (0, 0)
    assert c.usdc(alice_main) == before
    assert c.usdc(bob) == 10_000 * USDC + 600 * USDC - USDC // 2 - USDC // 5  # alice's margin less both fees


def test_random_trading_listing_and_settlement_conserve_and_replay() -> None:
    """Seeded random streams (orders from isolated subaccounts around the mark, marks cranked, a
    listing at a random moment, spot trades, the settlement): invariants after every command, the
    settlement zero-sum, the journal replayed to the same hash."""
    for seed in range(6):
        rng = random.Random(seed)
        c = Clock(default_spec())
        subs = [c.isolated(rng.randint(200, 2_000) * USDC)[1] for _ in range(4)]
        spot = [c.account(USDC=10_000 * USDC), c.account(RUCK=10_000 * USDC)]
        listed_at = rng.randint(20, 60)
        for step in range(120):
            if step == listed_at:
                c(ListPreMarket(PRE, rng.randint(5, 30) * SECOND))
            kind = rng.random()
            if kind < 0.55:
                side = "Bid" if rng.random() < 0.5 else "Ask"
                price = max(1, c.mark() + rng.randint(-600, 600))
                order_type = "Market" if rng.random() < 0.3 else "Limit"
                c(
                    PlaceOrder(
                        rng.choice(subs),
                        PRE,
                        side,
                        order_type,
                        lots=rng.randint(1, 800),
                        price=0 if order_type == "Market" else price,
                    )
                )
            elif kind < 0.75 and step > listed_at:
                who = rng.choice((0, 1))
                price = 10_000 + rng.randint(-3_000, 3_000)
                c(
                    PlaceOrder(
                        spot[who], SPOT, "Bid" if who == 0 else "Ask", "Limit", lots=rng.randint(1, 50), price=price
                    )
                )
            else:
                events = c(CrankPreMarkets(), rng.randint(1, 4) * SECOND)
                settled = [e for e in events if isinstance(e, PreMarketPositionSettled)]
                if settled:
                    assert sum(e.lots for e in settled) == 0 and sum(e.pnl for e in settled) == 0
        c(CrankPreMarkets(), 60 * SECOND)  # past any window: settled now at the latest
        assert queries.premarket(c.engine, PRE).phase == "Settled", seed  # type: ignore[union-attr]
        assert not any(PRE_INDEX in acct.positions for acct in c.engine.ledger.accounts.values())
        fresh = Engine(c.spec)
        for seq, ts, command in c.log:
            fresh.apply(command, seq, ts)
        assert state_hash(fresh) == state_hash(c.engine), seed
