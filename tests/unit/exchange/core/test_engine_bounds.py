"""Representable bounds (issue 13, finding 4): every price, quantity and amount entering the core
is refused above its bound with nothing changed, and a trade at the largest accepted bound is
settled, snapshotted and replayed to the same state hash."""

from __future__ import annotations

import pytest

from rucksack.exchange.core.commands import (
    BorrowLend,
    Command,
    CreateAccount,
    Deposit,
    PlaceOrder,
    SetIndexPrice,
    SettlePnl,
    Transfer,
    Withdraw,
)
from rucksack.exchange.core.events import (
    BorrowLendRejected,
    DepositRejected,
    IndexPriceRejected,
    OrderClosed,
    OrderRejected,
    TradeExecuted,
    TransferRejected,
    WithdrawalRejected,
)
from rucksack.exchange.core.markets import (
    INT64_MAX,
    MAX_AMOUNT_ATOMS,
    MAX_ASSET_ATOMS,
    MAX_NOTIONAL_ATOMS,
    MAX_POSITION_ATOMS,
    SpecError,
    make_market,
)
from rucksack.exchange.core.state import decode_snapshot, encode_snapshot, restore, state_hash, take_snapshot
from tests.conftest import SOL, USDC, Driver, default_spec
from tests.unit.exchange.core.perps.helpers import PerpDriver

BTC_PERP = "BTC_USDC_PERP"


def test_every_market_of_the_shipped_config_is_bounded_to_fit_64_bits() -> None:
    for m in default_spec().markets:
        order = m.max_lots * m.max_price_ticks * m.lot_tick_atoms
        assert 0 < order <= MAX_NOTIONAL_ATOMS and m.max_lots >= m.min_lots
        assert m.max_lots <= m.max_position_lots
        assert m.max_position_lots * m.max_price_ticks * m.lot_tick_atoms <= MAX_POSITION_ATOMS < INT64_MAX >> 3
    btc = next(m for m in default_spec().markets if m.symbol == BTC_PERP)
    # tick 0.1 USDC, step 0.00001 BTC: 10,000,000 USDC, 1,000 BTC per order, 10,000 BTC per position
    assert (btc.max_price_ticks, btc.max_lots, btc.max_position_lots) == (10**8, 10**8, 10**9)


def test_configured_maxima_that_do_not_fit_are_refused() -> None:
    def market(max_price: str | None, max_quantity: str | None) -> object:
        return make_market(
            symbol="X",
            base=SOL,
            quote=USDC,
            market_type="SPOT",
            tick_size="0.01",
            step_size="0.01",
            min_quantity="0.01",
            max_price=max_price,
            max_quantity=max_quantity,
        )

    with pytest.raises(SpecError, match="2\\*\\*56"):
        market("100000000", "100000000")  # 10**10 ticks x 10**10 lots x 100 atoms
    m = market("1000", None)  # the other bound is derived from what is left of the budget
    assert m.max_price_ticks == 100_000 and m.max_lots * 100_000 * 100 <= MAX_NOTIONAL_ATOMS  # type: ignore[attr-defined]


def rejected(events: list[object], kind: type) -> str:
    assert len(events) == 1 and isinstance(events[0], kind), events
    return events[0].reason  # type: ignore[no-any-return,attr-defined]


def test_amounts_above_the_bound_are_refused_and_change_nothing() -> None:
    d = PerpDriver()
    a = d.new_account(USDC=10**12)
    b = d.new_account()
    before = state_hash(d.engine)
    big = MAX_AMOUNT_ATOMS + 1
    cases: list[tuple[Command, type]] = [
        (Deposit(a, "USDC", big, "big"), DepositRejected),
        (Withdraw(a, "USDC", big), WithdrawalRejected),
        (Transfer(a, a, b, "USDC", big), TransferRejected),
        (BorrowLend(a, "USDC", "Lend", big), BorrowLendRejected),
        (BorrowLend(a, "USDC", "Borrow", big), BorrowLendRejected),
    ]
    for command, kind in cases:  # same seq and time: the state hash then shows any change at all
        events = d.engine.apply(command, d.engine.last_seq, d.engine.last_ts_us)
        assert rejected(events, kind) == "InvalidAmount"
        assert state_hash(d.engine) == before
    spot = d.engine.apply(
        PlaceOrder(a, "SOL_USDC", "Bid", "Market", quote_atoms=big), d.engine.last_seq, d.engine.last_ts_us
    )
    assert rejected(spot, OrderRejected) == "InvalidQuantity"
    assert state_hash(d.engine) == before
    # the exchange holds at most MAX_ASSET_ATOMS of an asset: a deposit past it is refused whole
    d(Deposit(b, "USDC", MAX_AMOUNT_ATOMS, "max-1"))  # the largest single amount is fine
    held = d.engine.ledger.deposited[d.engine.asset_index["USDC"]]
    for i in range((MAX_ASSET_ATOMS - held) // MAX_AMOUNT_ATOMS):
        d(Deposit(b, "USDC", MAX_AMOUNT_ATOMS, f"fill-{i}"))
    assert rejected(d(Deposit(b, "USDC", MAX_AMOUNT_ATOMS, "over")), DepositRejected) == "InvalidAmount"


def test_prices_quantities_and_positions_above_the_bound_are_refused() -> None:
    d = PerpDriver()
    m = d.engine.market_by_symbol[BTC_PERP]
    a = d.new_account(USDC=10**16)
    assert rejected(d(SetIndexPrice(BTC_PERP, m.max_price + 1)), IndexPriceRejected) == "InvalidPrice"
    assert rejected(d(SetIndexPrice(BTC_PERP, 10**14)), IndexPriceRejected) == "InvalidPrice"  # 1e13 USDC
    d(SetIndexPrice(BTC_PERP, m.max_price))
    for lots, price, reason in ((1, m.max_price + 1, "InvalidPrice"), (m.max_lots + 1, m.max_price, "InvalidQuantity")):
        events = d(PlaceOrder(a, BTC_PERP, "Ask", "Limit", lots=lots, price=price))
        assert rejected(events, OrderRejected) == reason
    # the position bound is in lots, whatever the price (at 100 USDC the margin is small), and
    # resting orders count towards it: ten full-size orders fill the largest position
    d(SetIndexPrice(BTC_PERP, 1_000))
    for _ in range(m.spec.max_position_lots // m.max_lots):
        placed = d(PlaceOrder(a, BTC_PERP, "Ask", "Limit", lots=m.max_lots, price=1_000))
        assert not isinstance(placed[0], OrderRejected), placed
    assert rejected(d(PlaceOrder(a, BTC_PERP, "Ask", "Limit", lots=10**5, price=1_000)), OrderRejected) == "MaxPosition"
    # an order that lowers the exposure is still accepted
    assert not isinstance(d(PlaceOrder(a, BTC_PERP, "Bid", "Limit", lots=10**5, price=999))[0], OrderRejected)


def test_a_trade_at_the_largest_bound_settles_snapshots_and_replays_identically() -> None:
    d = PerpDriver()
    m = d.engine.market_by_symbol[BTC_PERP]
    seller = d.new_account(USDC=7 * 10**16)  # the margin of 1,000 BTC is 2.5 times its notional
    buyer = d.new_account(USDC=7 * 10**16)
    d(SetIndexPrice(BTC_PERP, m.max_price))
    d(PlaceOrder(seller, BTC_PERP, "Ask", "Limit", lots=m.max_lots, price=m.max_price))
    events = d(PlaceOrder(buyer, BTC_PERP, "Bid", "Limit", lots=m.max_lots, price=m.max_price))
    trade = next(e for e in events if isinstance(e, TradeExecuted))
    assert (trade.lots, trade.price) == (m.max_lots, m.max_price)
    assert any(isinstance(e, OrderClosed) and e.filled_quote_atoms == 10**16 for e in events)
    d(SetIndexPrice(BTC_PERP, m.max_price // 2))  # the mark halves: a loss of 5e9 USDC to settle
    d(SettlePnl())
    snap = take_snapshot(d.engine)
    restored = restore(d.spec, decode_snapshot(encode_snapshot(snap)))
    assert state_hash(restored) == state_hash(d.engine)
    replayed = Driver(d.spec)
    for seq, ts, command in d.log:
        replayed.engine.apply(command, seq, ts)
    assert state_hash(replayed.engine) == state_hash(d.engine)


def test_snapshots_and_hashes_hold_integers_beyond_64_bits() -> None:
    """No bound covers every cumulative total (lifetime deposits grow with every round trip), so
    the snapshot encodes any integer: past MessagePack's range as an extension, the rest unchanged."""
    d = Driver(default_spec())
    d(CreateAccount("a"))
    d(Deposit(1000, "USDC", 10**6, "x"))
    plain = encode_snapshot(take_snapshot(d.engine))
    assert decode_snapshot(plain) == take_snapshot(d.engine)
    d.engine.ledger.deposited[0] += 1 << 70
    d.engine.ledger.withdrawn[0] += 1 << 70  # still conserved, now beyond 64 bits
    d.engine.ledger.accounts[1000].unsettled = -(1 << 80)
    snap = take_snapshot(d.engine)
    data = encode_snapshot(snap)
    assert decode_snapshot(data) == snap
    assert state_hash(restore(d.spec, decode_snapshot(data))) == state_hash(d.engine)


def test_trigger_and_take_profit_prices_and_quantities_are_bounded_too() -> None:
    d = PerpDriver()
    m = d.engine.market_by_symbol[BTC_PERP]
    a = d.new_account(USDC=10**12)
    d(SetIndexPrice(BTC_PERP, 600_000))
    for order, reason in (
        (PlaceOrder(a, BTC_PERP, "Bid", "Market", lots=10, trigger_price=m.max_price + 1), "InvalidPrice"),
        (PlaceOrder(a, BTC_PERP, "Bid", "Market", lots=m.max_lots + 1, trigger_price=610_000), "InvalidQuantity"),
        (
            PlaceOrder(a, BTC_PERP, "Bid", "Limit", lots=10, price=600_000, take_profit_price=m.max_price + 1),
            "InvalidPrice",
        ),
    ):
        assert rejected(d(order), OrderRejected) == reason
    assert not d.engine.triggers and not d.engine.orders
