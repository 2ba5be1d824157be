"""Hypothesis strategies for random command streams on the tight test market."""

from __future__ import annotations

from hypothesis import strategies as st

from rucksack.exchange.core.commands import (
    AccrueInterest,
    BorrowLend,
    CancelAllOrders,
    CancelOrder,
    Command,
    Deposit,
    PlaceOrder,
    Withdraw,
)

ACCOUNTS = (1000, 1001, 1002)
MID = 15_000

sides = st.sampled_from(("Bid", "Ask"))
stps = st.sampled_from(("RejectTaker", "RejectMaker", "RejectBoth", "Allow"))
tifs = st.sampled_from(("GTC", "GTC", "GTC", "IOC", "FOK"))
accounts = st.sampled_from(ACCOUNTS)
client_ids = st.one_of(st.just(-1), st.just(-1), st.integers(0, 4))


@st.composite
def limit_orders(draw: st.DrawFn, market: str = "SOL_USDC") -> PlaceOrder:
    return PlaceOrder(
        account=draw(accounts),
        market=market,
        side=draw(sides),
        order_type="Limit",
        lots=draw(st.one_of(st.integers(1, 30), st.integers(1, 30), st.integers(-1, 1))),
        price=draw(st.integers(MID - 25, MID + 25)),
        tif=draw(tifs),
        post_only=draw(st.booleans()) and draw(st.booleans()),
        stp=draw(stps),
        client_id=draw(client_ids),
    )


@st.composite
def market_orders(draw: st.DrawFn) -> PlaceOrder:
    by_quote = draw(st.booleans())
    return PlaceOrder(
        account=draw(accounts),
        market="SOL_USDC",
        side=draw(sides),
        order_type="Market",
        lots=0 if by_quote else draw(st.integers(1, 60)),
        quote_atoms=draw(st.one_of(st.integers(500_000, 20_000_000), st.integers(1_000_000, 3_000_000)))
        if by_quote
        else 0,
        tif="FOK" if not by_quote and draw(st.integers(0, 3)) == 0 else "IOC",
        stp=draw(stps),
    )


@st.composite
def cancels(draw: st.DrawFn) -> Command:
    if draw(st.integers(0, 9)) == 0:
        return CancelAllOrders(draw(accounts), "SOL_USDC")
    if draw(st.booleans()):
        return CancelOrder(draw(accounts), "SOL_USDC", order_id=draw(st.integers(1, 60)))
    return CancelOrder(draw(accounts), "SOL_USDC", client_id=draw(st.integers(0, 4)))


order_commands = st.one_of(limit_orders(), limit_orders(), limit_orders(), market_orders(), cancels())


@st.composite
def capital(draw: st.DrawFn) -> Command:
    asset = draw(st.sampled_from(("USDC", "SOL")))
    amount = draw(st.integers(0, 5_000_000_000))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return Deposit(draw(accounts), asset, amount, f"tx-{draw(st.integers(0, 30))}")
    if kind == 1:
        return Withdraw(draw(accounts), asset, amount)
    if kind == 2:
        return AccrueInterest(draw(st.integers(0, 5)))
    return BorrowLend(draw(accounts), asset, draw(st.sampled_from(("Borrow", "Lend"))), amount)


any_commands = st.one_of(
    order_commands,
    order_commands,
    order_commands,
    capital(),
    st.builds(lambda o: o, limit_orders(market="SOL_USDC_PERP")),
)
