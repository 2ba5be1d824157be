"""The seeded spot workload: funded accounts trading the spot markets.

Per command, with a seeded ``random.Random``: about 70% limit placements near the mid (an
exponential distance of mean 6 ticks on the passive side, 3% crossing by 1-3 ticks, 1-100 lots
times a per-market multiplier), 20% cancels of truly resting orders (chosen uniformly), and 10%
marketable orders (market by quantity, market by quote quantity, or IOC limits through the
book). The mid follows the last trade with a small random walk.

Generation drives a private engine so every cancel names an order that is resting at that
point; the commands are then replayed on a fresh engine for timing. Command ``i`` depends only
on commands before it, so a workload of N commands is a prefix of one of N + k commands.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from rucksack.exchange.core.commands import CancelOrder, Command, Deposit, PlaceOrder
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import Event, OrderAccepted, OrderClosed
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT, ExchangeSpec

# market -> (starting mid in ticks, lot multiplier so notional clears the minimum)
SPOT_MARKETS = {"SOL_USDC": (15_000, 1), "BTC_USDC": (600_000, 10), "ETH_USDC": (300_000, 10)}
FUNDING = {"USDC": 10_000_000, "SOL": 50_000, "BTC": 1_000, "ETH": 20_000}  # whole units per account


class RestingOrders:
    """The generator's view of which orders rest, so every cancel names a live one: O(1) add,
    remove (swap with the last) and uniform pick."""

    def __init__(self) -> None:
        self.items: list[tuple[int, int, str]] = []  # (order id, account, market)
        self.where: dict[int, int] = {}  # order id -> index in items

    def __len__(self) -> int:
        return len(self.items)

    def pick(self, rng: random.Random) -> tuple[int, int, str]:
        return self.items[rng.randrange(len(self.items))]

    def track(self, engine: Engine, events: list[Event]) -> None:
        """Follow one command's events: accepted orders still in the book rest, closed ones go."""
        for ev in events:
            if isinstance(ev, OrderAccepted):
                if ev.order_id in engine.orders:
                    self.where[ev.order_id] = len(self.items)
                    self.items.append((ev.order_id, ev.account, ev.market))
            elif isinstance(ev, OrderClosed):
                self.forget(ev.order_id)

    def forget(self, order_id: int) -> None:
        idx = self.where.pop(order_id, None)
        if idx is None:
            return
        last = self.items.pop()
        if idx < len(self.items):
            self.items[idx] = last
            self.where[last[0]] = idx


@dataclass
class Workload:
    setup: list[Command]
    commands: list[Command]
    stats: dict[str, int] = field(default_factory=dict)  # what the generator's own run saw


def funding_commands(spec: ExchangeSpec, accounts: int) -> list[Command]:
    decimals = {a.symbol: a.decimals for a in spec.assets}
    return [
        Deposit(FIRST_USER_ACCOUNT + i, asset, units * 10 ** decimals[asset], f"bench-{i}-{asset}")
        for i in range(accounts)
        for asset, units in FUNDING.items()
    ]


def spot_workload(spec: ExchangeSpec, commands: int, seed: int, accounts: int = 1000) -> Workload:
    rng = random.Random(seed)
    engine = Engine(spec)
    setup = funding_commands(spec, accounts)
    seq = 0
    for setup_cmd in setup:
        seq += 1
        engine.apply(setup_cmd, seq, seq)
    symbols = list(SPOT_MARKETS)
    mids = {s: SPOT_MARKETS[s][0] for s in symbols}
    resting = RestingOrders()
    out: list[Command] = []

    for _ in range(commands):
        symbol = symbols[rng.randrange(3)]
        market = engine.market_by_symbol[symbol]
        mid = mids[symbol]
        if market.last_price:
            mid = (mid + market.last_price) // 2
        mid = max(10, mid + rng.choice((-1, 0, 0, 1)))
        mids[symbol] = mid
        mult = SPOT_MARKETS[symbol][1]
        account = FIRST_USER_ACCOUNT + rng.randrange(accounts)
        r = rng.random()
        cmd: Command
        side: Side
        if r < 0.20 and resting:
            order_id, owner, osym = resting.pick(rng)
            cmd = CancelOrder(owner, osym, order_id=order_id)
        elif r < 0.30:
            side = "Bid" if rng.random() < 0.5 else "Ask"
            kind = rng.random()
            if kind < 0.6:
                cmd = PlaceOrder(account, symbol, side, "Market", lots=rng.randint(1, 400) * mult, tif="IOC")
            elif kind < 0.8:
                quote = rng.randint(20, 2_000) * 1_000_000
                cmd = PlaceOrder(account, symbol, side, "Market", quote_atoms=quote, tif="IOC")
            else:
                through = rng.randint(1, 20)
                price = mid + through if side == "Bid" else mid - through
                cmd = PlaceOrder(
                    account, symbol, side, "Limit", lots=rng.randint(1, 200) * mult, price=price, tif="IOC"
                )
        else:
            side = "Bid" if rng.random() < 0.5 else "Ask"
            dist = int(rng.expovariate(1 / 6))
            if rng.random() < 0.03:
                dist = -rng.randint(1, 3)
            price = mid - 1 - dist if side == "Bid" else mid + 1 + dist
            cmd = PlaceOrder(
                account,
                symbol,
                side,
                "Limit",
                lots=rng.randint(1, 100) * mult,
                price=max(1, price),
                client_id=rng.randrange(1 << 31) if rng.random() < 0.1 else -1,
            )
        seq += 1
        resting.track(engine, engine.apply(cmd, seq, seq))
        out.append(cmd)
    return Workload(setup, out)
