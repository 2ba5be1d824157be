"""The scenario's accounts, funded and positioned through ordinary commands.

Account ids, from the first user id: the makers, the backstop providers, the lender, then the
traders. The insurance fund is the exchange's liquidity-fund system account, funded by a deposit.

Opening positions (all through the sequencer, like any client's orders):

1. every trader deposits its collateral: ``equity_usd`` (a seeded draw) in one asset, chosen by
   the ``collateral`` shares (a non-USDC asset at its start index);
2. each trader wants ``equity x leverage`` of notional in one perp (chosen by the ``markets``
   weights), long with probability ``long_share``; the lots are capped by what the pre-trade
   rules accept for it now (``queries.max_order_lots``);
3. the first maker rests the sum of the wanted lots at the index (asks for the longs, bids for
   the shorts), each trader sends an IOC limit at the index, then the maker cancels what is left.
   So every trader opens at the start index and the makers hold the other side.

Rounding: USD amounts become atoms with ``int()`` (down); lots are whole (down).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

from rucksack.exchange.core import queries
from rucksack.exchange.core.commands import (
    AccrueInterest,
    ApplyFunding,
    BorrowLend,
    CancelAllOrders,
    CreateAccount,
    Deposit,
    PlaceOrder,
    SetBackstopProvider,
    SetIndexPrice,
)
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import AccountCreated, TradeExecuted
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT
from rucksack.lab.scenario import Distribution, Scenario, ScenarioError
from rucksack.lab.venue import Venue

HOUR_US = 3_600_000_000


@dataclass
class Cast:
    """Who is who in a run."""

    makers: list[int]
    backstop: list[int]
    lender: int
    traders: list[int]
    perps: list[str]
    spot_of: dict[str, str]  # perp -> its spot market (same base), when there is one
    opened: dict[int, tuple[str, int]] = field(default_factory=dict)  # trader -> (perp, signed lots)
    rejected_opens: int = 0


def draw(d: Distribution, rng: random.Random) -> float:
    if d.dist == "fixed":
        return d.median
    if d.dist == "uniform":
        return rng.uniform(d.min, d.max)
    return min(d.max, max(d.min, d.median * rng.lognormvariate(0.0, d.sigma)))


def usd_atoms(venue: Venue, usd: float) -> int:
    settle = queries.settle_asset(venue.engine)
    decimals = queries.spec(venue.engine).assets[settle].decimals
    return int(Decimal(repr(usd)) * 10**decimals)


def weighted(rng: random.Random, weights: dict[str, float]) -> str:
    names = sorted(weights)
    return rng.choices(names, [weights[n] for n in names])[0]


def cast_of(s: Scenario, venue: Venue) -> Cast:
    symbols = {m.symbol: m for m in queries.markets(venue.engine)}
    perps = sorted(s.population.markets)
    for p in perps:
        if p not in symbols or not symbols[p].is_perp:
            raise ScenarioError(f"population.markets: {p} is not a perp market of the exchange")
    spot_of = {p: p.removesuffix("_PERP") for p in perps if p.removesuffix("_PERP") in symbols}
    first = FIRST_USER_ACCOUNT
    makers = list(range(first, first + s.makers.accounts))
    first += s.makers.accounts
    backstop = list(range(first, first + s.fund.backstop_providers))
    first += s.fund.backstop_providers
    lender = first
    traders = list(range(first + 1, first + 1 + s.population.accounts))
    return Cast(makers, backstop, lender, traders, perps, spot_of)


def set_index(venue: Venue, cast: Cast, perp: str, ticks: int) -> None:
    venue.submit(SetIndexPrice(perp, ticks))
    spot = cast.spot_of.get(perp)
    if spot is not None:
        venue.submit(SetIndexPrice(spot, ticks))


def populate(s: Scenario, venue: Venue, start: dict[str, int]) -> Cast:
    """Fund everyone and open the traders' positions at the start index (module docstring)."""
    rng = random.Random(s.scenario.seed)
    cast = cast_of(s, venue)
    engine = venue.engine
    _create_accounts(venue, cast)
    usdc = queries.spec(engine).assets[queries.settle_asset(engine)].symbol
    for perp in cast.perps:
        set_index(venue, cast, perp, start[perp])
    hour = venue.now_us // HOUR_US
    venue.submit(ApplyFunding(hour))
    venue.submit(AccrueInterest(hour))
    fund = queries.insurance_fund_account(engine)
    _deposit(venue, fund, usdc, usd_atoms(venue, s.fund.insurance_usd), "fund")
    for a in cast.makers:
        _deposit(venue, a, usdc, usd_atoms(venue, s.makers.capital_usd), f"maker-{a}")
    for a in cast.backstop:
        _deposit(venue, a, usdc, usd_atoms(venue, s.fund.backstop_capital_usd), f"backstop-{a}")
        venue.submit(SetBackstopProvider(a, True))
    if s.fund.lend_usd > 0:
        _deposit(venue, cast.lender, usdc, usd_atoms(venue, s.fund.lend_usd), "lender")
        venue.submit(BorrowLend(cast.lender, usdc, "Lend", usd_atoms(venue, s.fund.lend_usd)))
    wants: list[tuple[int, str, Side, float]] = []
    for a in cast.traders:
        equity_usd = draw(s.population.equity_usd, rng)
        asset = weighted(rng, s.population.collateral)
        _deposit_usd(venue, cast, a, asset, equity_usd, start)
        perp = weighted(rng, s.population.markets)
        side: Side = "Bid" if rng.random() < s.population.long_share else "Ask"
        wants.append((a, perp, side, equity_usd * draw(s.population.leverage, rng)))
    _open(venue, cast, wants, start)
    return cast


def _create_accounts(venue: Venue, cast: Cast) -> None:
    """Open every account with ``CreateAccount`` (ids are the engine's, in order: checked)."""
    everyone = [*cast.makers, *cast.backstop, cast.lender, *cast.traders]
    for expected in everyone:
        created = [
            ev.account
            for ev in venue.submit(CreateAccount(label="lab", auto_lend=False))
            if isinstance(ev, AccountCreated)
        ]
        if created != [expected]:
            raise ScenarioError(f"the exchange already has accounts: expected to create {expected}, got {created}")


def _deposit(venue: Venue, account: int, asset: str, atoms: int, tag: str) -> None:
    if atoms > 0:
        venue.submit(Deposit(account, asset, atoms, f"lab-{tag}-{account}-{asset}"))


def _deposit_usd(venue: Venue, cast: Cast, account: int, asset: str, usd: float, start: dict[str, int]) -> None:
    engine = venue.engine
    spec = queries.spec(engine)
    index = queries.asset_index(engine, asset) if asset in {a.symbol for a in spec.assets} else -1
    if index < 0:
        raise ScenarioError(f"population.collateral: unknown asset {asset}")
    if index == queries.settle_asset(engine):
        _deposit(venue, account, asset, usd_atoms(venue, usd), "trader")
        return
    pricer = next((p for p in cast.perps if queries.market(engine, p).spec.base == asset), None)
    if pricer is None:
        raise ScenarioError(f"population.collateral: {asset} needs a perp of the population to price it")
    price = Decimal(start[pricer]) * Decimal(queries.market(engine, pricer).spec.tick_size)
    atoms = int(Decimal(repr(usd)) / price * 10 ** spec.assets[index].decimals)
    _deposit(venue, account, asset, atoms, "trader")


def _open(venue: Venue, cast: Cast, wants: list[tuple[int, str, Side, float]], start: dict[str, int]) -> None:
    engine = venue.engine
    orders: list[PlaceOrder] = []
    demand: dict[tuple[str, Side], int] = {}
    for account, perp, side, notional_usd in wants:
        m = queries.market(engine, perp)
        price = start[perp]
        lots = usd_atoms(venue, notional_usd) // (price * m.lot_tick_atoms)
        acct = queries.account_or_empty(engine, account)
        lots = min(lots, queries.max_order_lots(engine, acct, m, is_buy=side == "Bid", price=price))
        if lots < m.min_lots:
            cast.rejected_opens += 1
            continue
        orders.append(PlaceOrder(account, perp, side, "Limit", lots=lots, price=price, tif="IOC"))
        demand[perp, side] = demand.get((perp, side), 0) + lots
    maker = cast.makers[0]
    for side in ("Bid", "Ask"):  # one side at a time: the maker's bids and asks at one price would cross
        for perp in cast.perps:
            m = queries.market(engine, perp)
            lots = demand.get((perp, side), 0)
            while lots > 0:
                chunk = min(lots, m.max_lots)
                other: Side = "Ask" if side == "Bid" else "Bid"
                venue.submit(PlaceOrder(maker, perp, other, "Limit", lots=chunk, price=start[perp], post_only=True))
                lots -= chunk
        for order in orders:
            if order.side == side:
                _take(venue, cast, order)
        for perp in cast.perps:
            venue.submit(CancelAllOrders(maker, perp))


def _take(venue: Venue, cast: Cast, order: PlaceOrder) -> None:
    filled = 0
    for ev in venue.submit(order):
        if isinstance(ev, TradeExecuted):
            filled += ev.lots
    if filled:
        cast.opened[order.account] = (order.market, filled if order.side == "Bid" else -filled)
    else:
        cast.rejected_opens += 1
