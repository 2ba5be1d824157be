"""Points and affiliates in the core, against hand-computed cases: a week's points with a wash
pair (one owner), a linked pair and a flagged trade that earn nothing; rank boundaries; a season
reset; an affiliate's payout to the atom; self-referral and rings refused. Invariants
(conservation included) after every command; replay from a snapshot gives the same hash."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from rucksack.exchange.core.commands import BorrowLend, Command, CreateAccount, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import AccountRejected, Event, TradeExecuted
from rucksack.exchange.core.growth.book import Standing
from rucksack.exchange.core.growth.commands import (
    CreateReferralCode,
    DistributePoints,
    FlaggedTrade,
    FlagTrades,
    LinkAccounts,
    PayAffiliates,
    SamplePoints,
    SetAffiliateRate,
    SnapshotPoints,
)
from rucksack.exchange.core.growth.events import AffiliatePaid, GrowthRejected
from rucksack.exchange.core.growth.points import RANKS, rank_for, rank_season
from rucksack.exchange.core.growth.spec import HOUR_US, WEEK_US, GrowthSpec, Season
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import default_spec

SOL = 10**9
USDC = 10**6
LOT = 100  # SOL_USDC lots per SOL (step 0.01)
P150 = 15_000  # ticks (tick 0.01)


def at(day: str, hour: int = 0) -> int:
    d = datetime.fromisoformat(day).replace(tzinfo=UTC)
    return int(d.timestamp()) * 1_000_000 + hour * HOUR_US


S1 = Season("S1", at("2026-10-01"), at("2026-12-31"))
S2 = Season("S2", at("2026-12-31"))
WEEK_END = at("2026-11-12")  # a Thursday: the snapshot of the week from 2026-11-05
FRIDAY = WEEK_END + 26 * HOUR_US


class Venue:
    """An engine driven at explicit times (µs), invariants checked after every command."""

    def __init__(self) -> None:
        base = default_spec()
        self.spec = msgspec.structs.replace(base, growth=GrowthSpec(seasons=[S1, S2]))
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = WEEK_END - WEEK_US
        self.log: list[tuple[int, int, Command]] = []

    def __call__(self, command: Command, ts: int | None = None) -> list[Event]:
        self.seq += 1
        self.ts = max(self.ts + 1, ts or 0)
        events = self.engine.apply(command, self.seq, self.ts)
        self.log.append((self.seq, self.ts, command))
        assert not check_invariants(self.engine)
        return events

    def account(self, parent: int = 0, code: str = "", **funds: int) -> int:
        account = self.engine.next_account_id
        events = self(CreateAccount(parent=parent, auto_lend=False, referral_code=code))
        assert not [e for e in events if isinstance(e, AccountRejected)], events
        for asset, atoms in funds.items():
            self(Deposit(account, asset, atoms, f"d{self.seq}"))
        return account

    def trade(self, seller: int, buyer: int, lots: int, price: int = P150, taker_sells: bool = False) -> TradeExecuted:
        maker, taker = (buyer, seller) if taker_sells else (seller, buyer)
        self(PlaceOrder(maker, "SOL_USDC", "Bid" if taker_sells else "Ask", "Limit", lots=lots, price=price))
        events = self(
            PlaceOrder(taker, "SOL_USDC", "Ask" if taker_sells else "Bid", "Limit", lots=lots, price=price, tif="IOC")
        )
        trades = [e for e in events if isinstance(e, TradeExecuted)]
        assert len(trades) == 1 and trades[0].lots == lots, events
        return trades[0]

    def standing(self, season: int, owner: int) -> Standing | None:
        return self.engine.growth.standings.get(season, {}).get(owner)


@pytest.fixture
def venue() -> Venue:
    return Venue()


def test_a_week_of_points_with_wash_linked_and_flagged_trades(venue: Venue) -> None:
    v = venue
    b = v.account(USDC=10_000 * USDC)
    c = v.account(SOL=10 * SOL, USDC=5_000 * USDC)
    v(BorrowLend(c, "USDC", "Lend", 2_400 * USDC))
    v.trade(c, b, 2 * LOT)  # 300 USDC each side
    flagged = v.trade(c, b, 1 * LOT)  # 150 USDC each side, flagged by surveillance below
    a = v.account(SOL=10 * SOL)
    a2 = v.account(parent=a, USDC=2_000 * USDC)
    v.trade(a, a2, 1 * LOT)  # one owner: a wash pair, earns nothing
    d = v.account(SOL=1 * SOL)
    e = v.account(USDC=200 * USDC)
    v(LinkAccounts([d, e], "alert WASH-x"))
    v.trade(d, e, 1 * LOT)  # linked owners: nothing
    v(FlagTrades("PUMP-1", [FlaggedTrade(flagged.trade_id, b, c, 150 * USDC, flagged.ts_us)]))
    v(FlagTrades("PUMP-1", [FlaggedTrade(flagged.trade_id, b, c, 150 * USDC, flagged.ts_us)]))  # once only
    assert v.engine.growth.week_volume == {b: 300 * USDC, c: 300 * USDC}
    first_hour = (WEEK_END - 12 * HOUR_US) // HOUR_US
    for hour in range(first_hour, first_hour + 12):  # twelve hourly samples
        v(SamplePoints(hour), ts=hour * HOUR_US)
    assert isinstance(v(SamplePoints(first_hour))[0], GrowthRejected)  # an hour is sampled once
    v(SnapshotPoints(WEEK_END), ts=WEEK_END)
    pending = v.engine.growth.pending
    # b: 300 volume points; held 9,550 USDC x 12 h = 114,600 USDC-h / 24,000 = 4 (SOL has no index: 0)
    # c: 300 volume; lent 2,400 x 12 / 2,400 = 12; held 3,049.64 x 12 = 36,595.68 / 24,000 = 1
    # a: 149.88 + 1,850 = 1,999.88 USDC x 12 = 23,998.56 / 24,000 = 0 -> nothing at all
    assert {o: (w.volume, w.lend, w.hold) for o, w in pending.items()} == {b: (300, 0, 4), c: (300, 12, 1)}
    assert isinstance(v(DistributePoints(WEEK_END), ts=FRIDAY - 1)[0], GrowthRejected)  # not before Friday 02:00
    v(DistributePoints(WEEK_END), ts=FRIDAY)
    assert isinstance(v(DistributePoints(WEEK_END))[0], GrowthRejected)  # once only
    assert [(o, st.points, RANKS[st.rank]) for o, st in sorted(v.engine.growth.standings[0].items())] == [
        (b, 304, "Bronze"),
        (c, 313, "Challenger"),
    ]
    assert v.standing(0, a) is None and v.standing(0, d) is None and v.standing(0, e) is None


def test_a_flag_after_the_snapshot_is_taken_from_the_next_week(venue: Venue) -> None:
    v = venue
    b = v.account(USDC=1_000 * USDC)
    c = v.account(SOL=10 * SOL)
    t = v.trade(c, b, 1 * LOT)
    v(SnapshotPoints(WEEK_END), ts=WEEK_END)
    v(DistributePoints(WEEK_END), ts=FRIDAY)
    assert v.standing(0, b) == Standing(150, 5, v.engine.growth.standings[0][b].weeks)
    v(FlagTrades("LATE", [FlaggedTrade(t.trade_id, b, c, 150 * USDC, t.ts_us)]))
    v.trade(c, b, 1 * LOT)  # the next week: 150 earned, 150 deducted
    v(SnapshotPoints(WEEK_END + WEEK_US), ts=WEEK_END + WEEK_US)
    assert v.engine.growth.pending == {}
    v(FlagTrades("LATE2", [FlaggedTrade(t.trade_id + 1, b, c, 150 * USDC, t.ts_us + 1)]))
    assert v.engine.growth.week_volume == {b: -150 * USDC, c: -150 * USDC}  # carried into the week after


def test_rank_boundaries() -> None:
    # n = 1000: top 1 Challenger, next 9 Diamond, then up to 50 Platinum, 150 Gold, 400 Silver
    assert [rank_for(p, 1000) for p in (0, 1, 9, 10, 49, 50, 149, 150, 399, 400, 999)] == [
        5,
        4,
        4,
        3,
        3,
        2,
        2,
        1,
        1,
        0,
        0,
    ]
    # n = 10: p=0 Challenger (0 < 10/1000), p=1 Gold (100 < 150), p=2,3 Silver (300 < 400), the rest Bronze
    assert [RANKS[rank_for(p, 10)] for p in range(10)] == ["Challenger", "Gold", "Silver", "Silver"] + ["Bronze"] * 6
    standings = {i: Standing(points) for i, points in enumerate([50, 40, 40, 30, 20, 10, 10, 5, 1, 0])}
    rank_season(standings)  # 9 owners with points; ties share the rank of the first of them
    assert [RANKS[s.rank] if s.rank >= 0 else "-" for s in standings.values()] == [
        "Challenger", "Gold", "Gold", "Silver", "Bronze", "Bronze", "Bronze", "Bronze", "Bronze", "-",
    ]  # fmt: skip


def test_season_reset(venue: Venue) -> None:
    v = venue
    b = v.account(USDC=1_000 * USDC)
    c = v.account(SOL=10 * SOL)
    last_s1 = at("2026-12-31")  # Season 1's last snapshot: the week before belongs to it
    v.trade(c, b, 1 * LOT)
    v(SnapshotPoints(WEEK_END), ts=WEEK_END)
    v(DistributePoints(WEEK_END), ts=FRIDAY)
    v.ts = last_s1 - HOUR_US
    v.trade(c, b, 2 * LOT)
    v(SnapshotPoints(last_s1), ts=last_s1)
    v(DistributePoints(last_s1), ts=last_s1 + 26 * HOUR_US)  # Friday in Season 2: goes to Season 1
    assert v.standing(0, b) is not None and v.standing(0, b).points == 150 + 300  # type: ignore[union-attr]
    assert v.engine.growth.standings.get(1) is None  # Season 2: nobody ranked yet (the reset)
    v.trade(c, b, 1 * LOT)
    v(SnapshotPoints(last_s1 + WEEK_US), ts=last_s1 + WEEK_US)
    v(DistributePoints(last_s1 + WEEK_US), ts=last_s1 + WEEK_US + 26 * HOUR_US)
    assert v.standing(1, b).points == 150  # type: ignore[union-attr]
    assert v.standing(0, b).points == 450  # type: ignore[union-attr]


def test_affiliate_payout_to_the_atom(venue: Venue) -> None:
    v = venue
    r = v.account()
    assert [type(e) for e in v(CreateReferralCode(r, "ALPHA1"))] != [GrowthRejected]
    x = v.account(code="ALPHA1", USDC=1_000 * USDC, SOL=1 * SOL)
    assert v.engine.growth.referrals[x].referrer == r
    m = v.account(SOL=10 * SOL, USDC=1_000 * USDC)
    sell = v.trade(x, m, 37, price=14_999, taker_sells=True)
    buy = v.trade(m, x, 1 * LOT)
    # x sells 0.37 SOL at 149.99 as taker: 55,496,300 USDC atoms, fee ceil(55,496.3) = 55,497
    # x buys 1 SOL at 150 as taker: fee 0.001 SOL = 1,000,000 SOL atoms, worth 150,000 USDC atoms
    assert (sell.taker_fee, buy.taker_fee) == (55_497, 1_000_000)
    assert v.engine.growth.owed == {r: (55_497 + 150_000) * 100_000}  # 20,549.7 atoms, exactly
    fee_before = v.engine.ledger.available(1, 0)
    assert isinstance(v(PayAffiliates(WEEK_END), ts=FRIDAY - 1)[0], GrowthRejected)
    paid = [e for e in v(PayAffiliates(WEEK_END), ts=FRIDAY) if isinstance(e, AffiliatePaid)]
    assert paid == [AffiliatePaid(r, 20_549, WEEK_END)]  # rounded down: the 0.7 atom stays owed
    assert v.engine.growth.owed == {r: 700_000}
    assert v.engine.ledger.available(r, 0) == 20_549
    assert v.engine.ledger.available(1, 0) == fee_before - 20_549
    assert isinstance(v(PayAffiliates(WEEK_END))[0], GrowthRejected)  # once a week
    # an approved rate of 35%, set by an operator: the next fee at that rate
    v(SetAffiliateRate(r, 350_000))
    sell2 = v.trade(x, m, 10, price=15_000, taker_sells=True)  # 15,000,000 atoms: fee 15,000
    assert sell2.taker_fee == 15_000
    assert v.engine.growth.owed == {r: 700_000 + 15_000 * 350_000}
    assert v.engine.growth.referrals[x].fees == 55_497 + 150_000 + 15_000


def test_self_referral_and_rings_refused(venue: Venue) -> None:
    v = venue
    r = v.account()
    v(CreateReferralCode(r, "RUCK42"))
    bad = [
        (CreateAccount(parent=r, referral_code="RUCK42"), "SelfReferral"),  # own subaccount
        (CreateAccount(referral_code="NOPE99"), "UnknownReferralCode"),
    ]
    y = v.account()
    bad.append((CreateAccount(parent=y, referral_code="RUCK42"), "ReferralSubaccount"))
    for command, reason in bad:
        before = v.engine.next_account_id
        events = v(command)
        assert events == [AccountRejected(0, reason)] and v.engine.next_account_id == before
    v(LinkAccounts([r, y], "same device"))
    assert v(CreateAccount(parent=y, referral_code="RUCK42")) == [AccountRejected(0, "SelfReferral")]
    for code, reason in (("ab", "InvalidReferralCode"), ("RUCK42", "ReferralCodeTaken")):
        assert v(CreateReferralCode(y, code)) == [GrowthRejected("CreateReferralCode", y, reason)]
    assert v(CreateReferralCode(r, "OTHER1")) == [GrowthRejected("CreateReferralCode", r, "ReferralCodeExists")]
    # a referred account later linked to its referrer: a ring of one owner, its fees earn nothing
    x = v.account(code="RUCK42", USDC=1_000 * USDC)
    assert v.engine.growth.referrals[x].referrer == r
    m = v.account(SOL=10 * SOL)
    v(LinkAccounts([x, r], "surveillance"))
    v.trade(m, x, 1 * LOT)
    assert v.engine.growth.owed == {}


def test_replay_from_a_snapshot_gives_the_same_hash(venue: Venue) -> None:
    v = venue
    r = v.account()
    v(CreateReferralCode(r, "ALPHA1"))
    x = v.account(code="ALPHA1", USDC=1_000 * USDC)
    c = v.account(SOL=10 * SOL)
    v.trade(c, x, 1 * LOT)
    snap = decode_snapshot(encode_snapshot(take_snapshot(v.engine)))
    cut = len(v.log)
    v(LinkAccounts([c, r]))
    v(SamplePoints(WEEK_END // HOUR_US - 1), ts=WEEK_END - HOUR_US)
    v(SnapshotPoints(WEEK_END), ts=WEEK_END)
    v(DistributePoints(WEEK_END), ts=FRIDAY)
    v(PayAffiliates(WEEK_END))
    v.trade(c, x, 1 * LOT)
    engine = restore(v.spec, snap)
    for seq, ts, command in v.log[cut:]:
        engine.apply(command, seq, ts)
    assert state_hash(engine) == state_hash(v.engine)
    assert restore(v.spec, take_snapshot(v.engine)).growth.record() == v.engine.growth.record()
