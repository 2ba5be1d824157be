"""Compliance in the core: sign-up by region, products by region and level, the leverage cap,
daily limits by the command's UTC day, the Travel Rule, withdrawal holds (delay, review, cancel),
rule changes, operator keys and the audit trail -- and replay reproducing every decision."""

from __future__ import annotations

from typing import Any

import pytest

from rucksack.exchange.config import load_spec
from rucksack.exchange.core.commands import (
    BorrowLend,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    SetIndexPrice,
    UpdateAccount,
    Withdraw,
)
from rucksack.exchange.core.compliance.commands import (
    CancelWithdrawal,
    RecordOperatorAction,
    ReleaseWithdrawals,
    ReviewWithdrawal,
    SetIdentity,
    SetLevelLimits,
    SetOperatorKey,
    SetRegionRefused,
    SetRegionRule,
    SetWithdrawalAddress,
    SetWithdrawalDelay,
)
from rucksack.exchange.core.compliance.events import (
    ComplianceRejected,
    WithdrawalCancelled,
    WithdrawalDelaySet,
    WithdrawalHeld,
    WithdrawalReleased,
)
from rucksack.exchange.core.compliance.rules import RegionRule
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import (
    AccountCreated,
    AccountRejected,
    BorrowLendRejected,
    Event,
    OrderAccepted,
    OrderRejected,
    WithdrawalRejected,
    Withdrawn,
)
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.core.state import restore, state_hash, take_snapshot

T0 = 1_780_000_000_000_000  # µs; a UTC day boundary is a multiple of DAY
DAY = 86_400_000_000
HOUR = 3_600_000_000
USD = 1_000_000  # USDC atoms
ADDRESS = "Solana:9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


class Venue:
    """The shipped config's engine, commands applied at times the test chooses."""

    def __init__(self) -> None:
        self.spec = load_spec()[0]
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = T0 - T0 % DAY + HOUR  # 01:00 UTC
        self.log: list[tuple[int, int, Command]] = []
        self.decisions: list[list[Event]] = []

    def __call__(self, command: Command, after_us: int = 1) -> list[Event]:
        self.seq += 1
        self.ts += after_us
        events = self.engine.apply(command, self.seq, self.ts)
        self.log.append((self.seq, self.ts, command))
        self.decisions.append(events)
        assert not check_invariants(self.engine)
        return events

    def account(self, region: str = "", level: str = "") -> int:
        events = self(CreateAccount("t", 0, region, level, auto_lend=False))
        created = [e for e in events if isinstance(e, AccountCreated)]
        assert created, events
        return created[0].account


@pytest.fixture
def venue() -> Venue:
    v = Venue()
    v(SetIndexPrice("SOL_USDC_PERP", 15_000))  # $150
    v(SetIndexPrice("SOL_USDC", 15_000))
    return v


def bid(account: int, market: str, lots: int, price: int, **kw: Any) -> PlaceOrder:
    return PlaceOrder(account, market, "Bid", "Limit", lots=lots, price=price, **kw)


def test_a_refused_region_cannot_sign_up(venue: Venue) -> None:
    for region in ("KP", "IR", "UA-43", "US"):
        events = venue(CreateAccount("x", 0, region, "full"))
        assert [type(e) for e in events] == [AccountRejected] and events[0].reason == "RegionRefused"  # type: ignore[union-attr]
    assert venue(CreateAccount("x", 0, "japan", "full"))[0].reason == "InvalidRegion"  # type: ignore[union-attr]
    assert venue(CreateAccount("x", 0, "JP", "gold"))[0].reason == "InvalidLevel"  # type: ignore[union-attr]
    assert venue.engine.next_account_id == 1000  # nothing was opened
    venue.account("UA")  # the rest of Ukraine is served
    venue.account("UA-30")


def test_a_japanese_resident_is_held_to_2x(venue: Venue) -> None:
    jp, other = venue.account("JP", "full"), venue.account("BR", "full")
    assert venue.engine.ledger.accounts[jp].leverage_limit == 2
    for acct in (jp, other):
        venue(Deposit(acct, "USDC", 1000 * USD, f"d{acct}"))
    refused = venue(UpdateAccount(jp, leverage_limit=3))
    assert isinstance(refused[0], AccountRejected) and refused[0].reason == "LeverageCap"
    # 15 SOL at $140 = $2,100 of perps on $1,000: 2.1x
    over = venue(bid(jp, "SOL_USDC_PERP", 1500, 14_000))
    assert isinstance(over[0], OrderRejected) and over[0].reason == "PositionLimit"  # equity x 2 < notional
    assert isinstance(venue(bid(other, "SOL_USDC_PERP", 1500, 14_000))[0], OrderAccepted)
    assert isinstance(venue(bid(jp, "SOL_USDC_PERP", 1000, 14_000))[0], OrderAccepted)  # 1.4x
    # a subaccount inherits the cap
    sub = next(e for e in venue(CreateAccount("s", jp, auto_lend=False)) if isinstance(e, AccountCreated)).account
    assert venue.engine.ledger.accounts[sub].leverage_limit == 2
    assert venue(UpdateAccount(sub, leverage_limit=5))[0].reason == "LeverageCap"  # type: ignore[union-attr]


def test_products_by_region_and_level(venue: Venue) -> None:
    gb, eu, basic = venue.account("GB", "full"), venue.account("DE", "full"), venue.account("BR", "basic")
    for acct in (gb, eu, basic):
        venue(Deposit(acct, "USDC", 1000 * USD, f"d{acct}"))
    assert venue(bid(gb, "SOL_USDC_PERP", 100, 14_000))[0].reason == "PerpsNotOffered"  # type: ignore[union-attr]
    assert isinstance(venue(bid(gb, "SOL_USDC", 100, 14_000))[0], OrderAccepted)
    spot_margin = venue(bid(gb, "SOL_USDC", 100, 14_000, auto_borrow=True))
    assert spot_margin[0].reason == "MarginNotOffered"  # type: ignore[union-attr]
    assert venue(bid(eu, "SOL_USDC", 100, 14_000))[0].reason == "SpotNotOffered"  # type: ignore[union-attr]
    assert isinstance(venue(bid(eu, "SOL_USDC_PERP", 100, 14_000))[0], OrderAccepted)
    assert venue(bid(basic, "SOL_USDC_PERP", 100, 14_000))[0].reason == "VerificationRequired"  # type: ignore[union-attr]
    lend = venue(BorrowLend(basic, "USDC", "Lend", USD))
    assert isinstance(lend[0], BorrowLendRejected) and lend[0].reason == "VerificationRequired"
    assert venue(UpdateAccount(eu, auto_lend=True))[0].reason == "LendingNotOffered"  # type: ignore[union-attr]
    # the operator verifies the account: perps open
    venue(SetIdentity(basic, "full"))
    assert isinstance(venue(bid(basic, "SOL_USDC_PERP", 100, 14_000))[0], OrderAccepted)
    # a region refused later: no new risk, but a reduce-only order still passes the gate
    venue(SetRegionRefused("BR", True, "test"))
    assert venue(bid(basic, "SOL_USDC", 100, 14_000))[0].reason == "RegionRefused"  # type: ignore[union-attr]
    reduce = venue(PlaceOrder(basic, "SOL_USDC_PERP", "Ask", "Limit", lots=100, price=16_000, reduce_only=True))
    assert not (isinstance(reduce[0], OrderRejected) and reduce[0].reason == "RegionRefused")


def test_level_none_deposits_nothing_and_limits_count_per_utc_day(venue: Venue) -> None:
    none = venue.account("BR", "none")
    assert venue(Deposit(none, "USDC", USD, "n1"))[0].reason == "DepositLimit"  # type: ignore[union-attr]
    basic = venue.account("BR", "basic")  # $50,000 of withdrawals a day
    venue(Deposit(basic, "USDC", 100_000 * USD, "b1"))
    assert isinstance(venue(Withdraw(basic, "USDC", 40_000 * USD, "w1"))[0], Withdrawn)
    over = venue(Withdraw(basic, "USDC", 10_001 * USD, "w2"))
    assert isinstance(over[0], WithdrawalRejected) and over[0].reason == "WithdrawalLimit"
    assert isinstance(venue(Withdraw(basic, "USDC", 10_000 * USD, "w3"))[0], Withdrawn)
    # priced assets count at their index: 10 SOL at $150 = $1,500 > $0 left today
    venue(Deposit(basic, "SOL", 10 * 10**9, "b2"))
    assert venue(Withdraw(basic, "SOL", 10**9, "w4"))[0].reason == "WithdrawalLimit"  # type: ignore[union-attr]
    venue(ReleaseWithdrawals(), after_us=DAY)  # the next UTC day (by the command's stamp): a fresh limit
    assert isinstance(venue(Withdraw(basic, "USDC", 40_000 * USD, "w5"))[0], Withdrawn)
    # the operator changes the rule: journaled, and it binds at once
    venue(SetLevelLimits("global", "basic", -1, 45_000 * USD))
    assert venue(Withdraw(basic, "USDC", 5_001 * USD, "w6"))[0].reason == "WithdrawalLimit"  # type: ignore[union-attr]


def test_travel_rule_needs_the_beneficiary_above_the_threshold(venue: Venue) -> None:
    eu = venue.account("FR", "full")  # EU: no minimum
    venue(Deposit(eu, "USDC", 100 * USD, "e"))
    assert venue(Withdraw(eu, "USDC", USD, "w1", ADDRESS))[0].reason == "RecipientInformationRequired"  # type: ignore[union-attr]
    beneficiary = '{"beneficiaryName":"Ada"}'
    assert isinstance(venue(Withdraw(eu, "USDC", USD, "w2", ADDRESS, beneficiary))[0], Withdrawn)
    world = venue.account("BR", "full")  # global: above AED 3,500 (~$953.03)
    venue(Deposit(world, "USDC", 2000 * USD, "g"))
    assert isinstance(venue(Withdraw(world, "USDC", 953 * USD, "w3", ADDRESS))[0], Withdrawn)
    assert venue(Withdraw(world, "USDC", 954 * USD, "w4", ADDRESS))[0].reason == "RecipientInformationRequired"  # type: ignore[union-attr]


def test_a_withdrawal_in_its_delay_can_be_cancelled_and_is_released_after_it(venue: Venue) -> None:
    a = venue.account("BR", "full")
    venue(Deposit(a, "USDC", 500 * USD, "d"))
    assert isinstance(venue(SetWithdrawalDelay(a, 24, True))[0], WithdrawalDelaySet)
    held = venue(Withdraw(a, "USDC", 100 * USD, "withdrawal:1", ADDRESS))
    assert isinstance(held[1], WithdrawalHeld) and held[1].trigger_at_us == venue.ts + 24 * HOUR
    assert venue.engine.ledger.available(a, 0) == 400 * USD  # debited while it waits
    cancelled = venue(CancelWithdrawal(a, "withdrawal:1"))
    assert isinstance(cancelled[-1], WithdrawalCancelled) and venue.engine.ledger.available(a, 0) == 500 * USD
    assert isinstance(venue(CancelWithdrawal(a, "withdrawal:1"))[0], ComplianceRejected)  # only once
    venue(Withdraw(a, "USDC", 100 * USD, "withdrawal:2", ADDRESS))
    assert venue(ReleaseWithdrawals(), after_us=23 * HOUR) == []
    released = venue(ReleaseWithdrawals(), after_us=HOUR)
    assert [type(e) for e in released] == [WithdrawalReleased]
    assert isinstance(venue(CancelWithdrawal(a, "withdrawal:2"))[0], ComplianceRejected)  # too late
    # lowering the delay waits for the current one; an allow-listed address skips it once effective
    venue(SetWithdrawalDelay(a, 1, False))
    assert venue.engine.compliance.delay(a, venue.ts)[0] == 24
    venue(SetWithdrawalAddress(a, ADDRESS, True))
    assert isinstance(venue(Withdraw(a, "USDC", USD, "withdrawal:3", ADDRESS))[-1], WithdrawalHeld)
    venue(ReleaseWithdrawals(), after_us=24 * HOUR)
    assert venue.engine.compliance.delay(a, venue.ts)[0] == 1
    assert [type(e) for e in venue(Withdraw(a, "USDC", USD, "withdrawal:4", ADDRESS))] == [Withdrawn]
    assert isinstance(venue(SetWithdrawalDelay(a, 5, True))[0], ComplianceRejected)  # exists: 409


def test_large_withdrawals_wait_for_review(venue: Venue) -> None:
    a = venue.account("BR", "full")
    venue(Deposit(a, "USDC", 300_000 * USD, "d"))
    beneficiary = '{"beneficiaryName":"Ada"}'
    held = venue(Withdraw(a, "USDC", 100_000 * USD, "withdrawal:1", ADDRESS, beneficiary))
    assert isinstance(held[1], WithdrawalHeld) and held[1].review
    assert venue(ReleaseWithdrawals(), after_us=DAY) == []  # no delay, but the review holds it
    assert isinstance(venue(ReviewWithdrawal("withdrawal:1", True))[0], WithdrawalReleased)
    venue(Withdraw(a, "USDC", 150_000 * USD, "withdrawal:2", ADDRESS, beneficiary))
    rejected = venue(ReviewWithdrawal("withdrawal:2", False))
    assert isinstance(rejected[-1], WithdrawalCancelled) and rejected[-1].by_operator
    assert venue.engine.ledger.available(a, 0) == 200_000 * USD


def test_rule_changes_bind_accounts_and_replay_reproduces_every_decision(venue: Venue) -> None:
    jp = venue.account("JP", "full")
    venue(Deposit(jp, "USDC", 10_000 * USD, "d"))
    venue(SetRegionRule(RegionRule("japan", ["JP"], "jp", ["spot"], 1, "test")))
    assert venue.engine.ledger.accounts[jp].leverage_limit == 1
    assert venue(bid(jp, "SOL_USDC_PERP", 100, 14_000))[0].reason == "PerpsNotOffered"  # type: ignore[union-attr]
    bad = venue(SetRegionRule(RegionRule("x", ["JP"], "jp", ["spot"], 1)))  # JP named twice
    assert isinstance(bad[0], ComplianceRejected) and bad[0].reason == "InvalidRule"
    venue(SetOperatorKey("A" * 43 + "=", ["compliance"]))
    venue(RecordOperatorAction("A" * 43 + "=", "operatorIdentitySet", "{}", "ok"))
    a = venue.account("BR", "basic")
    venue(Deposit(a, "USDC", 1000 * USD, "e"))
    venue(SetWithdrawalDelay(a, 2, True))
    venue(Withdraw(a, "USDC", 10 * USD, "withdrawal:9", ADDRESS))
    venue(SetWithdrawalAddress(a, ADDRESS, True))
    mid = len(venue.log)
    snap = take_snapshot(venue.engine)
    venue(Withdraw(a, "USDC", 60_000 * USD, "withdrawal:10", ADDRESS))  # over basic's day
    venue(ReleaseWithdrawals(), after_us=3 * HOUR)
    venue(CreateAccount("x", 0, "CU", "full"))
    live = state_hash(venue.engine)
    # from the start: same decisions, same hash
    again = Engine(venue.spec)
    replayed = [again.apply(c, seq, ts) for seq, ts, c in venue.log]
    assert replayed == venue.decisions and state_hash(again) == live
    # from the snapshot and the tail: same hash
    restored = restore(venue.spec, snap)
    tail = [restored.apply(c, seq, ts) for seq, ts, c in venue.log[mid:]]
    assert tail == venue.decisions[mid:] and state_hash(restored) == live
    assert restored.compliance.audit == venue.engine.compliance.audit
