"""Fee tiers from 30-day volume, operator VIP levels and the NFT perk, against hand-computed cases
(the shipped tier table; core.tiers). Every command is applied at an explicit time and the
invariants (conservation included) are checked after each one.

SOL_USDC: a lot is 0.01 SOL (10**7 atoms), a tick 0.01 USDC, a lot at a tick 100 USDC atoms; 150 USDC
= 15_000 ticks. 700 SOL = 70_000 lots at 150 = 105_000 USDC of notional (>= Tier 2's $100K spot).
"""

from __future__ import annotations

from rucksack.exchange.config import load_spec
from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import Command, CreateAccount, Deposit, PlaceOrder, SetFeeTier, SetIndexPrice
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import Event, TradeExecuted
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from rucksack.exchange.core.tiers.commands import GrantNftVip, LapseNftVip, RecomputeFeeTiers
from rucksack.exchange.core.tiers.events import AccountTierChanged, FeeTiersRecomputed, NftVipGranted, NftVipLapsed

DAY_US = 86_400_000_000
D = 20_000  # a UTC day (days since the epoch)
USDC = 10**6
SOL = 10**9


class Venue:
    """The engine with explicit command times, invariants checked after every command."""

    def __init__(self) -> None:
        self.spec = load_spec()[0]
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = D * DAY_US + 3_600_000_000  # 01:00 UTC on day D

    def __call__(self, command: Command, at: int | None = None) -> list[Event]:
        self.seq += 1
        if at is not None:
            assert at >= self.ts
            self.ts = at
        events = self.engine.apply(command, self.seq, self.ts)
        problems = check_invariants(self.engine)
        assert not problems, problems
        return events

    def account(self, parent: int = 0, **fund: int) -> int:
        account = next(e for e in self(CreateAccount(parent=parent)) if type(e).__name__ == "AccountCreated").account
        for asset, atoms in fund.items():
            self(Deposit(account, asset, atoms, f"fund-{account}-{asset}"))
        return account

    def tier(self, account: int) -> int:
        return queries.account_or_empty(self.engine, account).tier


def spot_trade(v: Venue, maker: int, taker: int, lots: int, price: int = 15_000) -> TradeExecuted:
    v(PlaceOrder(maker, "SOL_USDC", "Ask", "Limit", lots=lots, price=price))
    events = v(PlaceOrder(taker, "SOL_USDC", "Bid", "Limit", lots=lots, price=price, tif="IOC"))
    return next(e for e in events if isinstance(e, TradeExecuted))


def funded(v: Venue) -> tuple[int, int]:
    return v.account(USDC=200_000 * USDC, SOL=1_000 * SOL), v.account(USDC=200_000 * USDC, SOL=1_000 * SOL)


def test_crossing_tier_2_at_the_day_boundary_changes_the_next_fills_fees() -> None:
    v = Venue()
    alice, bob = funded(v)
    desk = v.account(parent=alice)
    v(RecomputeFeeTiers(D))
    big = spot_trade(v, alice, bob, 70_000)  # 105_000 USDC each side, on day D
    # Tier 1 fees: the taker pays 0.10% of 700 SOL received, the maker 0.08% of 105_000 USDC
    assert (big.taker_fee, big.maker_fee) == (7 * SOL // 10, 84 * USDC)
    st = queries.fee_tier_status(v.engine, alice, D)
    assert (st.tier, st.spot_volume, st.futures_volume) == (0, 105_000 * USDC, 0)
    assert v(RecomputeFeeTiers(D), at=D * DAY_US + 7_200_000_000) == []  # idempotent by day
    events = v(RecomputeFeeTiers(D + 1), at=(D + 1) * DAY_US)
    # Tier 2 for both owners, and alice's subaccount pays its owner's tier
    assert [(e.account, e.tier) for e in events if isinstance(e, AccountTierChanged)] == [
        (alice, 1),
        (bob, 1),
        (desk, 1),
    ]
    assert events[-1] == FeeTiersRecomputed(D + 1, 3)
    small = spot_trade(v, alice, bob, 1_000)  # 10 SOL for 1_500 USDC
    # Tier 2: the taker 0.09% of 10 SOL = 0.009 SOL, the maker 0.07% of 1_500 USDC = 1.05 USDC
    assert (small.taker_fee, small.maker_fee) == (9_000_000, 1_050_000)
    # the window is the 30 days before the boundary: day D still counts at D+30, not at D+31
    v(RecomputeFeeTiers(D + 30), at=(D + 30) * DAY_US)
    assert v.tier(alice) == 1
    v(RecomputeFeeTiers(D + 31), at=(D + 31) * DAY_US)  # left: day D+1's 1_500 USDC only
    assert (v.tier(alice), v.tier(desk), v.tier(bob)) == (0, 0, 0)
    v(RecomputeFeeTiers(D + 32), at=(D + 32) * DAY_US)
    assert queries.fee_tier_status(v.engine, alice, D + 32).spot_volume == 0  # old buckets dropped


def test_one_dollar_short_of_the_threshold_stays_in_tier_1() -> None:
    v = Venue()
    alice, bob = funded(v)
    # 666.66 SOL at 150: 66_666 lots x 15_000 ticks x 100 atoms = 99_999 USDC, one dollar short
    spot_trade(v, alice, bob, 66_666)
    st = queries.fee_tier_status(v.engine, bob, D)
    assert st.spot_volume == 99_999 * USDC
    v(RecomputeFeeTiers(D + 1), at=(D + 1) * DAY_US)
    assert v.tier(bob) == 0
    spot_trade(v, alice, bob, 1)  # + 1.50 USDC on day D+1: 100_000.50 over the window ending D+2
    v(RecomputeFeeTiers(D + 2), at=(D + 2) * DAY_US)
    assert v.tier(bob) == 1


def test_trades_between_one_owners_accounts_earn_no_volume() -> None:
    v = Venue()
    alice, _ = funded(v)
    desk = v.account(parent=alice, USDC=200_000 * USDC, SOL=1_000 * SOL)
    v(PlaceOrder(desk, "SOL_USDC", "Ask", "Limit", lots=70_000, price=15_000))
    v(PlaceOrder(alice, "SOL_USDC", "Bid", "Limit", lots=70_000, price=15_000, tif="IOC", stp="Allow"))
    assert queries.fee_tier_status(v.engine, alice, D).spot_volume == 0
    v(RecomputeFeeTiers(D + 1), at=(D + 1) * DAY_US)
    assert v.tier(alice) == 0


def test_perp_volume_reaches_a_tier_by_its_own_threshold() -> None:
    v = Venue()
    alice, bob = v.account(USDC=200_000 * USDC), v.account(USDC=200_000 * USDC)
    v(SetIndexPrice("SOL_USDC_PERP", 15_000))
    # 3_400 SOL at 150 = 510_000 USDC of futures notional (>= Tier 2's $500K futures)
    v(PlaceOrder(alice, "SOL_USDC_PERP", "Ask", "Limit", lots=340_000, price=15_000))
    fills = v(PlaceOrder(bob, "SOL_USDC_PERP", "Bid", "Limit", lots=340_000, price=15_000, tif="IOC"))
    trade = next(e for e in fills if isinstance(e, TradeExecuted))
    assert trade.taker_fee == 255 * USDC  # 0.05% of 510_000 (Tier 1 futures taker)
    st = queries.fee_tier_status(v.engine, bob, D)
    assert (st.spot_volume, st.futures_volume) == (0, 510_000 * USDC)
    v(RecomputeFeeTiers(D + 1), at=(D + 1) * DAY_US)
    assert (v.tier(alice), v.tier(bob)) == (1, 1)


def test_operator_vip_level_is_a_floor_over_the_volume_tier() -> None:
    v = Venue()
    alice, bob = funded(v)
    desk = v.account(parent=alice)
    v(SetFeeTier(desk, 3))  # on a subaccount: its owner's level, every account of the owner
    assert (v.tier(alice), v.tier(desk), v.tier(bob)) == (3, 3, 0)
    trade = spot_trade(v, alice, bob, 70_000)
    assert trade.maker_fee == 105_000 * USDC * 420 // 1_000_000  # Tier 4 maker: 0.042% = 44.1 USDC
    v(RecomputeFeeTiers(D + 1), at=(D + 1) * DAY_US)
    assert (v.tier(alice), v.tier(bob)) == (3, 1)  # VIP 3 stays above the volume tier 1
    v(SetFeeTier(alice, 0))
    assert (v.tier(alice), v.tier(desk)) == (1, 1)  # back to the volume tier
    assert queries.fee_tier_status(v.engine, alice, D + 1).vip == 0


def test_nft_perk_is_granted_and_lapses_only_for_the_proof_in_force() -> None:
    v = Venue()
    alice, _ = funded(v)
    address = "0x" + "ab" * 20
    events = v(GrantNftVip(alice, address, 7))
    assert events[0] == NftVipGranted(alice, address, 7, 1)
    assert v.tier(alice) == 1
    assert v(LapseNftVip(alice, address, 8)) == []  # not the token that earned it: stale
    events = v(LapseNftVip(alice, address, 7))
    assert events[0] == NftVipLapsed(alice, address, 7)
    assert v.tier(alice) == 0
    assert v(GrantNftVip(999_999, address, 7))[0].reason == "UnknownAccount"  # type: ignore[union-attr]
    # one token, one owner: the token moved to bob's address and bob proved it; alice's perk lapses
    bob = v.account()
    v(GrantNftVip(alice, address, 9))
    events = v(GrantNftVip(bob, "0x" + "ef" * 20, 9))
    assert events[0] == NftVipLapsed(alice, address, 9)
    assert (v.tier(alice), v.tier(bob)) == (0, 1)


def test_snapshot_and_replay_cover_the_tier_state() -> None:
    v = Venue()
    alice, bob = funded(v)
    spot_trade(v, alice, bob, 70_000)
    v(SetFeeTier(bob, 2))
    v(GrantNftVip(alice, "0x" + "cd" * 20, 1))
    v(RecomputeFeeTiers(D + 1), at=(D + 1) * DAY_US)
    restored = restore(v.spec, decode_snapshot(encode_snapshot(take_snapshot(v.engine))))
    assert state_hash(restored) == state_hash(v.engine)
    assert queries.fee_tier_status(restored, alice, D + 1) == queries.fee_tier_status(v.engine, alice, D + 1)
    # a restored engine continues identically, and a change of the tier state changes the hash
    nxt = PlaceOrder(bob, "SOL_USDC", "Bid", "Limit", lots=100, price=15_000)
    assert restored.apply(nxt, 999, v.ts) == v.engine.apply(nxt, 999, v.ts)
    before = state_hash(v.engine)
    v(LapseNftVip(alice, "0x" + "cd" * 20, 1))
    assert state_hash(v.engine) != before
