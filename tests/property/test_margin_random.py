"""Random margin streams with moving prices (default spec: spot + perps + lending).

After every command: every invariant (conservation of every asset across accounts, pools, the
fee account, the liquidity fund and the settlement pot; perp lots balance; PnL, fees and funding
zero-sum; locked == holds). For every accepted order, withdrawal, new borrow or transfer, the
acting account's available equity is >= 0 afterwards, unless the change did not raise its
exposure (reducing is never blocked). Replay from a snapshot gives the same state hash.
"""

from __future__ import annotations

from typing import NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rucksack.exchange.core.commands import (
    ApplyFunding,
    BorrowLend,
    Command,
    LiquidationSweep,
    PlaceOrder,
    SetBackstopProvider,
    SetIndexPrice,
    SettlePnl,
    Transfer,
    UpdateAccount,
    Withdraw,
)
from rucksack.exchange.core.events import BorrowLendExecuted, OrderAccepted, Transferred, Withdrawn
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.unit.exchange.core.perps.helpers import BTC, SOL, USDC, PerpDriver

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TRADERS = (1000, 1001, 1002, 1003, 1004)  # 1004 is a subaccount of 1000
MAKER = 1007  # a well-funded quoter
MARKETS = ("SOL_USDC_PERP", "BTC_USDC_PERP", "SOL_USDC")
CENTER = {"SOL_USDC_PERP": 15_000, "BTC_USDC_PERP": 600_000, "SOL_USDC": 15_000}
LOTS = {"SOL_USDC_PERP": (100, 40_000), "BTC_USDC_PERP": (100, 100_000), "SOL_USDC": (100, 3_000)}


class Relative(NamedTuple):
    """An order priced relative to the market's index when it is applied (so books cross)."""

    account: int
    market: str
    side: str
    kind: str
    lots: int
    offset_bp: int
    tif: str
    reduce_only: bool
    spot_margin: bool = False
    trigger: int = 0  # 0 none, 1 a standalone trigger order, 2 take-profit/stop-loss attached
    trigger_bp: int = 0  # the trigger's distance from the index (basis points)
    trigger_by: str = ""

    def resolve(self, d: PerpDriver) -> PlaceOrder:
        m = d.engine.market_by_symbol[self.market]
        index = m.index_price or CENTER[self.market]
        price = max(1, index + index * self.offset_bp // 10_000) if self.kind == "Limit" else 0
        lots = self.lots
        if self.account != MAKER and m.is_perp:
            # size traders' perp orders at up to ~12x their available equity (lots = percent)
            r = d.engine.margin.compute(d.acct(self.account))
            lots = max(1, (r.equity - r.im) * 12 * self.lots // 100 // (index * m.lot_tick_atoms))
        return PlaceOrder(
            self.account,
            self.market,
            self.side,  # type: ignore[arg-type]
            self.kind,  # type: ignore[arg-type]
            lots=lots,
            price=price,
            tif=self.tif,  # type: ignore[arg-type]
            reduce_only=self.reduce_only,
            auto_borrow=self.spot_margin and not m.is_perp,
            auto_borrow_repay=self.spot_margin and not m.is_perp,
            auto_lend_redeem=self.spot_margin and not m.is_perp,
            **self._triggers(index, price),
        )

    def _triggers(self, index: int, price: int) -> dict[str, int | str]:
        if self.trigger == 1:
            return {"trigger_price": max(1, index + index * self.trigger_bp // 10_000), "trigger_by": self.trigger_by}
        if self.trigger == 2 and self.market != "SOL_USDC":
            ref = price or index
            gap = ref * abs(self.trigger_bp) // 10_000 + 1
            up, down = ref + gap, max(1, ref - gap)
            tp, sl = (up, down) if self.side == "Bid" else (down, up)
            return {"take_profit_price": tp, "stop_loss_price": sl, "stop_loss_by": self.trigger_by}
        return {}


@st.composite
def orders(draw: st.DrawFn) -> Relative:
    market = draw(st.sampled_from(MARKETS))
    lo, hi = LOTS[market]
    kind = draw(st.sampled_from(("Limit", "Limit", "Market")))
    side = draw(st.sampled_from(("Bid", "Ask")))
    maker = draw(st.integers(0, 2)) == 0
    offset = draw(st.integers(5, 100)) * (-1 if side == "Bid" else 1) if maker else draw(st.integers(-100, 100))
    return Relative(
        MAKER if maker else draw(st.sampled_from(TRADERS)),
        market,
        side,
        "Limit" if maker else kind,
        draw(st.integers(lo, hi)) * 5 if maker else draw(st.integers(1, 100)),
        offset,
        "GTC" if maker else draw(st.sampled_from(("GTC", "IOC"))),
        (not maker) and draw(st.integers(0, 4)) == 0 and market != "SOL_USDC",
        (not maker) and draw(st.booleans()),
        0 if maker else draw(st.sampled_from((0, 0, 1, 2))),
        draw(st.integers(-300, 300)),
        draw(st.sampled_from(("", "MarkPrice", "LastPrice", "IndexPrice"))),
    )


class Shock(NamedTuple):
    """Move a base asset's index by ``percent`` from where it is when applied."""

    market: str
    percent: int

    def resolve(self, d: PerpDriver) -> SetIndexPrice:
        index = d.engine.market_by_symbol[self.market].index_price
        return SetIndexPrice(self.market, max(1, index + index * self.percent // 100))


prices = st.builds(Shock, st.sampled_from(("SOL_USDC", "BTC_USDC")), st.integers(-30, 30))


@st.composite
def capital(draw: st.DrawFn) -> Command:
    account = draw(st.sampled_from(TRADERS))
    asset = draw(st.sampled_from(("USDC", "SOL")))
    amount = draw(st.integers(1, 5_000)) * (USDC if asset == "USDC" else SOL // 100)
    kind = draw(st.integers(0, 4))
    if kind == 4:
        return UpdateAccount(account, auto_lend=draw(st.booleans()))
    if kind == 0:
        return Withdraw(account, asset, amount)
    if kind == 1:
        return Transfer(1000, draw(st.sampled_from((1000, 1004))), draw(st.sampled_from((1000, 1004))), asset, amount)
    return BorrowLend(account, asset, draw(st.sampled_from(("Borrow", "Lend"))), amount)


ticks = st.sampled_from((SettlePnl(), LiquidationSweep(), LiquidationSweep()))
commands = st.one_of(
    orders(), orders(), orders(), orders(), prices, capital(), ticks, st.builds(ApplyFunding, st.integers(0, 6))
)


def setup() -> PerpDriver:
    d = PerpDriver()
    for _ in range(4):
        d.new_account(USDC=5_000 * USDC, SOL=10 * SOL, BTC=BTC // 20)
    from rucksack.exchange.core.commands import CreateAccount

    d(CreateAccount("sub", parent=1000))
    lender = d.new_account(USDC=500_000 * USDC, SOL=2_000 * SOL)
    d(BorrowLend(lender, "USDC", "Lend", 400_000 * USDC))
    d(BorrowLend(lender, "SOL", "Lend", 1_000 * SOL))
    provider = d.new_account(USDC=1_000_000 * USDC)
    d(SetBackstopProvider(provider, True))
    assert d.new_account(USDC=10_000_000 * USDC, SOL=20_000 * SOL, BTC=100 * BTC) == MAKER
    d.index("SOL", "150")
    d.index("BTC", "60000")
    return d


def acting_account(command: Command) -> int:
    if isinstance(command, Transfer):
        return command.source
    return command.account  # type: ignore[union-attr]


@SETTINGS
@given(st.lists(commands, min_size=30, max_size=120))
def test_margin_streams_keep_every_invariant(stream: list[Command | Relative | Shock]) -> None:
    d = setup()
    margin = d.engine.margin
    for item in stream:
        command = item.resolve(d) if isinstance(item, (Relative, Shock)) else item
        checked = isinstance(command, (PlaceOrder, Withdraw, BorrowLend, Transfer))
        if isinstance(command, SetIndexPrice):
            # move the perp of the same base with its spot market
            events = d(command) + d(SetIndexPrice(command.market + "_PERP", command.price))
            continue
        before = margin.compute(d.acct(acting_account(command))) if checked else None
        events = d(command)  # the driver checks every invariant after each command
        if before is None:
            continue
        accepted = (
            any(isinstance(e, (Withdrawn, Transferred)) for e in events)
            or any(isinstance(e, OrderAccepted) and e.order == command for e in events)
            or any(isinstance(e, BorrowLendExecuted) and e.kind == "Borrow" for e in events)
        )
        if not accepted or (isinstance(command, PlaceOrder) and command.reduce_only):
            continue
        after = margin.compute(d.acct(acting_account(command)))
        assert after.equity - after.im >= 0 or after.exposure <= before.exposure, (command, events)
    restored = restore(d.spec, decode_snapshot(encode_snapshot(take_snapshot(d.engine))))
    assert state_hash(restored) == state_hash(d.engine)
    replay = PerpDriver()
    for seq, ts, command in d.log:
        replay.engine.apply(command, seq, ts)
    assert state_hash(replay.engine) == state_hash(d.engine)
