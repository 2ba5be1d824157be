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
    from rucksack.exchange.core.market_state import MarketState


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
    """Volume to both owners unless they are one (or linked); the fees to their referrers.
    Runs for every book trade: the common case (no links, no referrals) is two dict updates."""
    m = s.market_by_symbol[e.market]
    if m.quote != s.settle_asset:  # only markets quoted in USDC earn points and rebates (docs/points.md)
        return
    taker, maker = s.owner(e.taker_account), s.owner(e.maker_account)
    if s.programme_excluded:  # an exchange-run vault's side earns nothing and pays no rebate
        if e.taker_account in s.programme_excluded:
            taker = -1
        if e.maker_account in s.programme_excluded:
            maker = -1
    book = s.growth
    wash = book.root(taker) == book.root(maker) if book.link_root else taker == maker
    volume = 0 if wash else e.lots * e.price * m.lot_tick_atoms
    if volume:
        week = book.week_volume
        if taker >= 0:  # not a system account
            week[taker] = week.get(taker, 0) + volume
        if maker >= 0:
            week[maker] = week.get(maker, 0) + volume
    if not book.referrals:
        return
    taker_buys = e.taker_side == "Bid"
    if taker >= 0:
        affiliates.on_fee(s, taker, _fee_value(m, e.taker_fee - e.liquidation_fee, taker_buys, e.price), volume)
    if maker >= 0:
        affiliates.on_fee(s, maker, _fee_value(m, e.maker_fee, not taker_buys, e.price), volume)


def _fee_value(m: MarketState, fee: int, buys: bool, price: int) -> int:
    """A fee in settlement atoms: one charged in the base asset (a spot buy) at the trade price, rounded down."""
    if fee > 0 and buys and m.is_spot:
        return fee * price * m.lot_tick_atoms // m.lot_atoms
    return fee
