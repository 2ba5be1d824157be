"""Vaults in the core, against hand-computed cases: shares at NAV, a trade's profit and the
performance fee crystallised at withdrawal (Hyperliquid's worked example), a leader's loss shared
pro rata, the management fee accrued exactly, the leader's minimum share, lock-up and the
redemption queue, unwinding, a vault liquidated like any account, conservation after every
command and replay from a snapshot plus the journal."""

from __future__ import annotations

import pytest

from rucksack.exchange.core.commands import (
    CancelAllOrders,
    Command,
    CreateAccount,
    Deposit,
    LiquidationSweep,
    PlaceOrder,
    SetIndexPrice,
    Transfer,
    Withdraw,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.events import (
    Event,
    LiquidationStarted,
    TradeExecuted,
    TransferRejected,
    WithdrawalRejected,
)
from rucksack.exchange.core.invariants import check_invariants, conservation_report
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from rucksack.exchange.core.vaults.book import FEE_DENOMINATOR, YEAR_SECONDS, YEAR_US
from rucksack.exchange.core.vaults.commands import (
    CancelVaultRedeem,
    CrankVaults,
    CreateVault,
    VaultDeposit,
    VaultRedeem,
)
from rucksack.exchange.core.vaults.events import (
    VaultFeeAccrued,
    VaultMinted,
    VaultRedeemCancelled,
    VaultRedeemed,
    VaultRejected,
    VaultUnwinding,
)
from rucksack.exchange.core.vaults.handlers import nav
from tests.conftest import default_spec

T0 = 1_765_000_000_000_000
SEC = 1_000_000
SOL = 10**9
USDC = 10**6
PERP = "SOL_USDC_PERP"
TAKER_PPM = 500  # tier 0 futures taker fee (config/default.toml)


class Venue:
    def __init__(self) -> None:
        self.spec = default_spec()
        self.engine = Engine(self.spec)
        self.seq = 0
        self.ts = T0
        self.log: list[tuple[int, int, Command]] = []
        self.snapshot = encode_snapshot(take_snapshot(self.engine))

    def __call__(self, command: Command, dt_us: int = 1000) -> list[Event]:
        self.seq += 1
        self.ts += dt_us
        events = self.engine.apply(command, self.seq, self.ts)
        self.log.append((self.seq, self.ts, command))
        assert not check_invariants(self.engine)
        assert all(not r["imbalance"] for r in conservation_report(self.engine).values())
        return events

    def account(self, **funds: int) -> int:
        account = self.engine.next_account_id
        self(CreateAccount(auto_lend=False))
        for asset, atoms in funds.items():
            self(Deposit(account, asset, atoms, f"d{self.seq}"))
        return account

    def usdc(self, account: int) -> int:
        return self.engine.ledger.accounts[account].assets[0].available

    def replayed_hash(self) -> str:
        engine = restore(self.spec, decode_snapshot(self.snapshot))
        for seq, ts, command in self.log:
            engine.apply(command, seq, ts)
        return state_hash(engine)


def only(events: list[Event], kind: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def venue() -> Venue:
    v = Venue()
    v(SetIndexPrice(PERP, 15_000))  # 150.00
    return v


def make_vault(venue: Venue, leader_usdc: int, **kw: object) -> tuple[int, int, int]:
    """(vault id, vault account, leader)."""
    leader = venue.account(USDC=leader_usdc)
    events = venue(CreateVault(leader, "alpha", leader_usdc, **kw))  # type: ignore[arg-type]
    [minted] = only(events, VaultMinted)
    v = venue.engine.vaults.vaults[minted.vault_id]
    return v.id, v.account, leader


def vault_buys(venue: Venue, vault_account: int, lots: int, price: int) -> int:
    """The vault (its leader trading it) takes ``lots`` perp lots from a maker at ``price``;
    the maker's rest is cancelled so the mark is the index again. Returns the taker fee."""
    maker = venue.account(USDC=100_000 * USDC)
    venue(PlaceOrder(maker, PERP, "Ask", "Limit", lots=lots, price=price))
    events = venue(PlaceOrder(vault_account, PERP, "Bid", "Market", lots=lots))
    fee = sum(t.taker_fee for t in only(events, TradeExecuted))
    venue(CancelAllOrders(maker, PERP))
    return int(fee)


def test_hyperliquid_example_profit_and_performance_fee(venue: Venue) -> None:
    # vaults-growth.md §1.2: deposit 100 into 900 (10%), the vault doubles, 10% profit share
    vid, vacct, leader = make_vault(venue, 900 * USDC, performance_fee_ppm=100_000)
    alice = venue.account(USDC=100 * USDC)
    [m] = only(venue(VaultDeposit(alice, vid, "USDC", 100 * USDC)), VaultMinted)
    assert (m.value, m.nav, m.total_shares, m.shares) == (100 * USDC, 900 * USDC, 900 * 10**6, 100 * 10**6)
    # 100 SOL at 150.00, then the index 160.00: +1000 USDC less the taker fee
    fee = vault_buys(venue, vacct, 10_000, 15_000)
    assert fee == 15_000 * USDC * TAKER_PPM // 10**6 == 7_500_000
    venue(SetIndexPrice(PERP, 16_000))
    v = venue.engine.vaults.vaults[vid]
    assert nav(venue.engine, v) == 2_000 * USDC - fee == 1_992_500_000
    [r] = only(venue(VaultRedeem(alice, vid)), VaultRedeemed)
    # gross = floor(100e6 x 1992.5e6 / 1000e6) = 199.25e6; gain over the 100e6 basis = 99.25e6
    # fee = floor(99.25e6 x 10%) = 9.925e6 -> floor(9.925e6 x 1000e6 / 1992.5e6) = 4_981_179 shares
    # paid = floor((100e6 - 4_981_179) x 1992.5e6 / 1000e6) = 189_325_000
    assert (r.shares, r.fee_shares, r.amount) == (100 * 10**6, 4_981_179, 189_325_000)
    assert venue.usdc(alice) == 189_325_000  # Hyperliquid: 200 - 10 = 190 without the fee
    assert v.depositors[leader].shares == 900 * 10**6 + 4_981_179 == v.shares
    assert alice not in v.depositors
    assert venue.replayed_hash() == state_hash(venue.engine)


def test_a_leaders_loss_is_shared_pro_rata(venue: Venue) -> None:
    vid, vacct, _ = make_vault(venue, 1_000 * USDC, performance_fee_ppm=200_000)
    alice, bob = venue.account(USDC=3_000 * USDC), venue.account(USDC=6_000 * USDC)
    venue(VaultDeposit(alice, vid, "USDC", 3_000 * USDC))
    venue(VaultDeposit(bob, vid, "USDC", 6_000 * USDC))
    fee = vault_buys(venue, vacct, 10_000, 15_000)  # 100 SOL
    venue(SetIndexPrice(PERP, 14_000))  # -1000 USDC
    v = venue.engine.vaults.vaults[vid]
    value = 10_000 * USDC - 1_000 * USDC - fee
    assert nav(venue.engine, v) == value
    [ra] = only(venue(VaultRedeem(alice, vid)), VaultRedeemed)
    # alice holds 3/10 of the shares: floor(3000e6 x NAV / 10000e6), no performance fee on a loss
    assert (ra.fee_shares, ra.amount) == (0, 3_000 * 10**6 * value // (10_000 * 10**6))
    [rb] = only(venue(VaultRedeem(bob, vid)), VaultRedeemed)
    after = value - ra.amount
    assert rb.amount == 6_000 * 10**6 * after // (7_000 * 10**6)
    assert rb.amount == 2 * ra.amount  # twice the shares, twice the loss (to the atom here)
    assert venue.usdc(alice) == 2_697_750_000  # 3000 - 30% of (1000 + 7.5 fee)


def test_management_fee_accrues_exactly_with_the_fraction_carried(venue: Venue) -> None:
    vid, _, leader = make_vault(venue, 100 * USDC, management_fee_ppm=20_000, leader_min_ppm=0)
    alice = venue.account(USDC=900 * USDC)
    venue(VaultDeposit(alice, vid, "USDC", 900 * USDC))
    v = venue.engine.vaults.vaults[vid]
    start, base = v.fee_clock_us, 900 * 10**6
    minted = 0
    for k in range(1, 1001):  # a thousand uneven cranks over one year
        at = start + YEAR_US * k * k // 1_000_000
        minted += sum(e.shares for e in only(venue(CrankVaults(at), dt_us=0), VaultFeeAccrued))
    # the depositors' shares x 2% x one year, in one division: the cranks lose nothing
    assert minted == base * 20_000 * YEAR_SECONDS // FEE_DENOMINATOR == 18 * 10**6
    assert v.fee_remainder == 0 and v.depositors[leader].shares == 100 * 10**6 + minted
    assert venue.replayed_hash() == state_hash(venue.engine)


def test_the_leader_keeps_a_minimum_share(venue: Venue) -> None:
    vid, _, leader = make_vault(venue, 100 * USDC)  # 5% minimum
    alice = venue.account(USDC=3_000 * USDC)
    [rej] = only(venue(VaultDeposit(alice, vid, "USDC", 1_901 * USDC)), VaultRejected)
    assert rej.reason == "VaultLeaderMinimumShare"
    assert only(venue(VaultDeposit(alice, vid, "USDC", 1_900 * USDC)), VaultMinted)  # exactly 5%
    [rej] = only(venue(VaultRedeem(leader, vid, 1)), VaultRejected)
    assert rej.reason == "VaultLeaderMinimumShare"


def test_lockup_then_a_queued_redemption_paid_by_the_crank(venue: Venue) -> None:
    vid, _, _ = make_vault(venue, 100 * USDC, lockup_us=60 * SEC, redeem_delay_us=10 * SEC)
    alice = venue.account(USDC=50 * USDC)
    venue(VaultDeposit(alice, vid, "USDC", 50 * USDC))
    assert only(venue(VaultRedeem(alice, vid)), VaultRejected)[0].reason == "VaultLocked"
    venue(CrankVaults(venue.ts), dt_us=60 * SEC)
    assert not only(venue(VaultRedeem(alice, vid, 20 * 10**6)), VaultRejected)
    assert only(venue(VaultRedeem(alice, vid)), VaultRejected)[0].reason == "VaultRedeemPending"
    assert only(venue(CancelVaultRedeem(alice, vid)), VaultRedeemCancelled)
    venue(VaultRedeem(alice, vid, 20 * 10**6))
    assert not only(venue(CrankVaults(venue.ts + 5 * SEC), dt_us=0), VaultRedeemed)  # not yet due
    [r] = only(venue(CrankVaults(venue.ts + 11 * SEC), dt_us=0), VaultRedeemed)
    assert (r.amount, venue.usdc(alice)) == (20 * USDC, 20 * USDC)


def test_a_vault_short_of_cash_unwinds_its_positions(venue: Venue) -> None:
    vid, vacct, _ = make_vault(venue, 1_000 * USDC, leader_min_ppm=0)
    alice = venue.account(USDC=1_000 * USDC)
    venue(VaultDeposit(alice, vid, "USDC", 1_000 * USDC))
    vault_buys(venue, vacct, 20_000, 15_000)  # 200 SOL = 30k notional on 2k: ~15x
    buyer = venue.account(USDC=100_000 * USDC)
    venue(PlaceOrder(buyer, PERP, "Bid", "Limit", lots=20_000, price=14_990))  # a bid to unwind into
    events = venue(VaultRedeem(alice, vid))
    assert only(events, VaultUnwinding) and only(events, TradeExecuted)
    pos = venue.engine.ledger.accounts[vacct].positions[venue.engine.market_by_symbol[PERP].index]
    assert pos.lots == 20_000 - 4_000  # a fifth closed
    paid: list[VaultRedeemed] = only(events, VaultRedeemed)
    cranks = 0
    while not paid and cranks < 5:  # each crank closes another fifth until the margin allows
        cranks += 1
        paid = only(venue(CrankVaults(venue.ts), dt_us=SEC), VaultRedeemed)
    [r] = paid
    assert cranks >= 1 and pos.lots < 16_000
    assert r.amount > 0 and venue.usdc(alice) == r.amount


def test_a_vault_is_liquidated_like_any_account(venue: Venue) -> None:
    vid, vacct, _ = make_vault(venue, 1_000 * USDC, leader_min_ppm=0)
    vault_buys(venue, vacct, 10_000, 15_000)  # 100 SOL on 1000 USDC: 15x
    venue(SetIndexPrice(PERP, 14_200))  # -800 USDC: below maintenance
    events = venue(LiquidationSweep())
    assert any(e.account == vacct for e in only(events, LiquidationStarted))
    v = venue.engine.vaults.vaults[vid]
    assert nav(venue.engine, v) < 200 * USDC


def test_a_vault_account_moves_capital_only_through_the_vault(venue: Venue) -> None:
    _, vacct, leader = make_vault(venue, 100 * USDC)
    assert only(venue(Withdraw(vacct, "USDC", USDC)), WithdrawalRejected)[0].reason == "VaultAccount"
    [rej] = only(venue(Transfer(leader, vacct, leader, "USDC", USDC)), TransferRejected)
    assert rej.reason == "VaultAccount"


def test_a_deposit_of_other_collateral_buys_tokens_at_its_index(venue: Venue) -> None:
    venue(SetIndexPrice("SOL_USDC", 15_000))  # SOL at 150.00: the vault values SOL at its index
    vid, _, _ = make_vault(venue, 1_000 * USDC, leader_min_ppm=0)
    alice = venue.account(SOL=2 * SOL)
    [m] = only(venue(VaultDeposit(alice, vid, "SOL", 2 * SOL)), VaultMinted)
    # 2 SOL x 150 = 300 USDC of value: 300 tokens at NAV 1, and the NAV holds the SOL at its index
    assert (m.asset, m.amount, m.value, m.shares) == ("SOL", 2 * SOL, 300 * USDC, 300 * 10**6)
    v = venue.engine.vaults.vaults[vid]
    assert nav(venue.engine, v) == 1_300 * USDC
    venue(SetIndexPrice("SOL_USDC", 16_000))  # +20 USDC, all of it alice's SOL's, shared pro rata
    assert nav(venue.engine, v) == 1_320 * USDC
    [r] = only(venue(VaultRedeem(alice, vid)), VaultRedeemed)
    assert r.amount == 300 * 10**6 * 1_320 * USDC // (1_300 * 10**6)  # paid in USDC at NAV
    assert venue.replayed_hash() == state_hash(venue.engine)


def test_an_exchange_run_vault_earns_no_tier_volume_points_or_rebates(venue: Venue) -> None:
    # vaults-growth.md §4: the protocol vault's account is outside VIP tiers, points and referrals
    _, vacct, leader = make_vault(venue, 10_000 * USDC, protocol=True)
    assert venue.engine.programme_excluded == {vacct}
    maker = venue.account(USDC=100_000 * USDC)
    venue(PlaceOrder(maker, PERP, "Ask", "Limit", lots=1_000, price=15_000))
    venue(PlaceOrder(vacct, PERP, "Bid", "Market", lots=1_000))
    accounts = venue.engine.ledger.accounts
    assert accounts[vacct].vol_futures == 0 and accounts[maker].vol_futures == 1_500 * USDC
    week = venue.engine.growth.week_volume
    assert leader not in week and vacct not in week and week[maker] == 1_500 * USDC
    restored = restore(venue.spec, decode_snapshot(encode_snapshot(take_snapshot(venue.engine))))
    assert restored.programme_excluded == {vacct}  # derived again from the vault book
    assert venue.replayed_hash() == state_hash(venue.engine)
