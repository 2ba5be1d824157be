"""The seeded perp workload: ~10,000 cross-margined accounts on the perp and spot markets.

Per command, with a seeded ``random.Random``:

- a few well-funded liquidity accounts keep quoting around the index (limit orders 1-40 ticks
  from it) — 60% of commands;
- traders (USDC, and some SOL or BTC collateral) send marketable orders of 1-10x their equity
  at the mark (IOC limits through the book or market orders) — 12%; cancels of resting orders
  — 18%; spot limit and market orders — 10%;
- scheduler ticks interleaved at fixed command counts: an index update per market every 300
  commands (a random walk with a 4-8% shock one time in 20, so leveraged traders really are
  liquidated), a liquidation sweep every 20,000, PnL settlement every 20,000 (offset by 10,000),
  funding and interest every 200,000.

Generation drives a private engine so cancels name resting orders and trader sizes follow
their equity; the commands are then replayed on a fresh engine for timing. Command ``i``
depends only on the commands before it.
"""

from __future__ import annotations

import random

from rucksack.bench.spot_workload import RestingOrders, Workload
from rucksack.exchange.core.commands import (
    AccrueInterest,
    ApplyFunding,
    BorrowLend,
    CancelOrder,
    Command,
    Deposit,
    LiquidationSweep,
    PlaceOrder,
    SetBackstopProvider,
    SetIndexPrice,
    SettlePnl,
)
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.enums import Side
from rucksack.exchange.core.events import (
    BadDebt,
    LiquidationStarted,
    PositionTransferred,
    TradeExecuted,
)
from rucksack.exchange.core.markets import FIRST_USER_ACCOUNT, ExchangeSpec

PERPS = {"SOL_USDC_PERP": 15_000, "BTC_USDC_PERP": 600_000, "ETH_USDC_PERP": 300_000}
SPOTS = {"SOL_USDC": 15_000, "BTC_USDC": 600_000, "ETH_USDC": 300_000}
LIQUIDITY = 20  # accounts quoting the books
INDEX_EVERY = 300
SWEEP_EVERY = 20_000
SETTLE_EVERY = 20_000
HOURLY_EVERY = 200_000


def perp_workload(spec: ExchangeSpec, commands: int, seed: int, accounts: int = 10_000) -> Workload:
    rng = random.Random(seed)
    engine = Engine(spec)
    decimals = {a.symbol: a.decimals for a in spec.assets}
    setup: list[Command] = []
    lp = [FIRST_USER_ACCOUNT + i for i in range(LIQUIDITY)]
    traders = [FIRST_USER_ACCOUNT + LIQUIDITY + i for i in range(accounts)]
    for a in lp:
        for asset, units in (("USDC", 50_000_000), ("SOL", 100_000), ("BTC", 1_000), ("ETH", 20_000)):
            setup.append(Deposit(a, asset, units * 10 ** decimals[asset], f"lp-{a}-{asset}"))
    lender = lp[0]
    setup.append(BorrowLend(lender, "USDC", "Lend", 20_000_000 * 10**6))
    setup.append(SetBackstopProvider(lp[1], True))
    for i, a in enumerate(traders):
        setup.append(Deposit(a, "USDC", rng.randint(500, 20_000) * 10**6, f"t-{a}"))
        if i % 3 == 0:
            setup.append(Deposit(a, "SOL", rng.randint(1, 50) * 10**9, f"ts-{a}"))
        elif i % 3 == 1:
            setup.append(Deposit(a, "BTC", rng.randint(1, 20) * 10**6, f"tb-{a}"))
    index = {**PERPS}
    spot_of = {"SOL_USDC_PERP": "SOL_USDC", "BTC_USDC_PERP": "BTC_USDC", "ETH_USDC_PERP": "ETH_USDC"}
    for perp, price in PERPS.items():
        setup.append(SetIndexPrice(perp, price))
        setup.append(SetIndexPrice(spot_of[perp], price))
    setup.append(ApplyFunding(0))
    setup.append(AccrueInterest(0))
    seq = 0
    for setup_cmd in setup:
        seq += 1
        engine.apply(setup_cmd, seq, seq * 1000)
    resting = RestingOrders()

    perps = list(PERPS)
    out: list[Command] = []
    stats = {"liquidations": 0, "backstop_or_adl": 0, "bad_debt": 0, "perp_fills": 0}
    hour = 0
    for n in range(1, commands + 1):
        cmd: Command
        side: Side
        if n % INDEX_EVERY == 0:
            perp = perps[(n // INDEX_EVERY) % 3]
            step = rng.choice((-1, 1)) * (rng.randint(40, 80) if rng.random() < 0.05 else rng.randint(0, 6))
            index[perp] = max(100, index[perp] + index[perp] * step // 1000)
            cmd = SetIndexPrice(perp, index[perp])
            out.append(cmd)
            seq += 1
            engine.apply(cmd, seq, seq * 1000)
            cmd = SetIndexPrice(spot_of[perp], index[perp])
        elif n % SWEEP_EVERY == 0:
            cmd = LiquidationSweep()
        elif n % SETTLE_EVERY == SETTLE_EVERY // 2:
            cmd = SettlePnl()
        elif n % HOURLY_EVERY == HOURLY_EVERY // 4:
            hour += 1
            cmd = ApplyFunding(hour)
        elif n % HOURLY_EVERY == HOURLY_EVERY // 2:
            cmd = AccrueInterest(hour)
        else:
            r = rng.random()
            perp = perps[rng.randrange(3)]
            m = engine.market_by_symbol[perp]
            mid = index[perp]
            if r < 0.60:
                side = "Bid" if rng.random() < 0.5 else "Ask"
                dist = rng.randint(1, 40) * max(1, mid // 15_000)
                price = mid - dist if side == "Bid" else mid + dist
                lots = rng.randint(10, 400) * (1 if perp == "SOL_USDC_PERP" else 10)
                cmd = PlaceOrder(lp[rng.randrange(LIQUIDITY)], perp, side, "Limit", lots=lots, price=max(1, price))
            elif r < 0.78 and resting:
                order_id, owner, osym = resting.pick(rng)
                cmd = CancelOrder(owner, osym, order_id=order_id)
            elif r < 0.90:
                trader = traders[rng.randrange(accounts)]
                acct = engine.ledger.accounts[trader]
                side = "Bid" if rng.random() < 0.5 else "Ask"
                pos = acct.positions.get(m.index)
                if pos is not None and pos.lots and rng.random() < 0.3:
                    side = "Ask" if pos.lots > 0 else "Bid"  # take profit / cut loss
                    cmd = PlaceOrder(trader, perp, side, "Market", lots=abs(pos.lots), reduce_only=True)
                else:
                    equity = engine.margin.compute(acct).equity
                    notional = max(0, equity) * rng.randint(1, 10)
                    lots = max(m.min_lots, notional // (mid * m.lot_tick_atoms))
                    if rng.random() < 0.5:
                        cmd = PlaceOrder(trader, perp, side, "Market", lots=lots)
                    else:
                        through = mid + 30 if side == "Bid" else mid - 30
                        cmd = PlaceOrder(trader, perp, side, "Limit", lots=lots, price=through, tif="IOC")
            else:
                spot = spot_of[perp]
                side = "Bid" if rng.random() < 0.5 else "Ask"
                mult = 1 if spot == "SOL_USDC" else 10
                if rng.random() < 0.6:
                    dist = rng.randint(1, 30)
                    price = mid - dist if side == "Bid" else mid + dist
                    who = lp[rng.randrange(LIQUIDITY)]
                    cmd = PlaceOrder(who, spot, side, "Limit", lots=rng.randint(1, 100) * mult, price=max(1, price))
                else:
                    who = traders[rng.randrange(accounts)]
                    cmd = PlaceOrder(who, spot, side, "Market", lots=rng.randint(1, 20) * mult)
        seq += 1
        events = engine.apply(cmd, seq, seq * 1000)
        resting.track(engine, events)
        for ev in events:
            if isinstance(ev, TradeExecuted):
                stats["perp_fills"] += ev.market.endswith("_PERP")
            elif isinstance(ev, LiquidationStarted):
                stats["liquidations"] += 1
            elif isinstance(ev, PositionTransferred):
                stats["backstop_or_adl"] += 1
            elif isinstance(ev, BadDebt):
                stats["bad_debt"] += 1
        out.append(cmd)
    return Workload(setup, out, stats)
