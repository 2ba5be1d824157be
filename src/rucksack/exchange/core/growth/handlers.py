"""The growth commands' dispatch, and ``observe``: what a command's trades add to points and
affiliate rebates (the engine calls it after every command while ``GrowthBook.active``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.events import Event, TradeExecuted
from rucksack.exchange.core.growth import affiliates, points
from rucksack.exchange.core.growth.commands import (
    CreateReferralCode,
    DistributePoints,
    FlagTrades,
    GrowthCommand,
    LinkAccounts,
    PayAffiliates,
    SamplePoints,
    SetAffiliateRate,
    SnapshotPoints,
)

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def apply(s: ExchangeState, command: GrowthCommand) -> None:
    if isinstance(command, CreateReferralCode):
        affiliates.create_code(s, command)
    elif isinstance(command, SetAffiliateRate):
        affiliates.set_rate(s, command)
    elif isinstance(command, FlagTrades):
        points.flag(s, command)
    elif isinstance(command, LinkAccounts):
        points.link(s, command)
    elif isinstance(command, SamplePoints):
        points.sample(s, command)
    elif isinstance(command, SnapshotPoints):
        points.snapshot(s, command)
    elif isinstance(command, DistributePoints):
        points.distribute(s, command)
    elif isinstance(command, PayAffiliates):
        affiliates.pay(s, command)


def observe(s: ExchangeState, events: list[Event]) -> None:
    """Credit each book trade in ``events`` to points volume and referral rebates."""
    for e in events:
        if type(e) is TradeExecuted:
            _trade(s, e)


def _trade(s: ExchangeState, e: TradeExecuted) -> None:
    m = s.market_by_symbol[e.market]
    if m.quote != s.settle_asset:  # only markets quoted in USDC earn points and rebates (docs/points.md)
        return
    taker, maker = s.owner(e.taker_account), s.owner(e.maker_account)
    book = s.growth
    notional = e.lots * e.price * m.lot_tick_atoms
    wash = book.root(taker) == book.root(maker)  # one owner (or linked owners): earns nothing
    volume = 0 if wash else notional
    taker_buys = e.taker_side == "Bid"
    sides = (
        (taker, e.taker_fee - e.liquidation_fee, taker_buys),
        (maker, e.maker_fee, not taker_buys),
    )
    for owner, fee, buys in sides:
        if owner < 0:  # a system account
            continue
        if volume:
            points.add_volume(s, owner, volume)
        value = fee
        if fee > 0 and buys and m.is_spot:  # charged in the base asset: valued at the trade price
            value = fee * e.price * m.lot_tick_atoms // m.lot_atoms
        affiliates.on_fee(s, owner, value, volume)
