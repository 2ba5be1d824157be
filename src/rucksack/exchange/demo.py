"""``rucksack serve`` for the core stage: the sequencer on a data directory, with demo traders.

Demo market makers quote a ladder around a seeded random-walk price on every spot market and
demo takers trade against them, all as ordinary commands through the sequencer, so the journal,
snapshots and replay are exercised for real. A status line goes to stdout each second; SIGINT
or SIGTERM flushes the journal and writes a snapshot before exiting. The Backpack HTTP and
WebSocket API replaces the status line in the API issue.
"""

from __future__ import annotations

import json
import random
import signal
import sys
import time
from pathlib import Path

from rucksack.exchange.config import default_config_text
from rucksack.exchange.core.commands import CancelAllOrders, Deposit, PlaceOrder
from rucksack.exchange.sequencer.datadir import Exchange, init_data_dir

MAKERS = (1000, 1001)
TAKERS = (1002, 1003)
START_MID = {"SOL_USDC": 15_000, "BTC_USDC": 600_000, "ETH_USDC": 300_000}
LOT_SCALE = {"SOL_USDC": 1, "BTC_USDC": 10, "ETH_USDC": 10}
FUND = {"USDC": 100_000_000, "SOL": 500_000, "BTC": 10_000, "ETH": 200_000}


def wall_clock_us() -> int:
    return time.time_ns() // 1000


def serve_core(data_dir: Path, seed: int = 7, duration: float = 0.0) -> int:
    init_data_dir(
        data_dir,
        default_config_text()
        if not (data_dir / "config.toml").exists()
        else (data_dir / "config.toml").read_text(encoding="utf-8"),
    )
    exchange = Exchange(data_dir, wall_clock_us)
    rec = exchange.recovered
    sys.stderr.write(
        f"rucksack: recovered seq {exchange.engine.last_seq} (snapshot {rec.snapshot_seq}, "
        f"{rec.replayed} replayed, {rec.torn_bytes} torn bytes truncated)\n"
    )
    seq = exchange.sequencer
    decimals = {a.symbol: a.decimals for a in exchange.spec.assets}
    for account in MAKERS + TAKERS:
        for asset, units in FUND.items():
            seq.submit(Deposit(account, asset, units * 10 ** decimals[asset], f"demo-{account}-{asset}"))
    rng = random.Random(seed + exchange.engine.last_seq)
    mids = {s: (exchange.engine.market_by_symbol[s].last_price or m) for s, m in START_MID.items()}
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    next_status = started + 1.0
    try:
        while not stop and (duration <= 0 or time.monotonic() - started < duration):
            for symbol, mid in mids.items():
                mid = max(100, mid + rng.choice((-2, -1, 0, 0, 1, 2)) * max(1, mid // 10_000))
                mids[symbol] = mid
                scale = LOT_SCALE[symbol]
                for maker in MAKERS:
                    seq.submit(CancelAllOrders(maker, symbol))
                    for level in range(1, 6):
                        offset = level * max(1, mid // 5_000) + (maker - MAKERS[0])
                        size = rng.randint(5, 50) * scale
                        seq.submit(PlaceOrder(maker, symbol, "Bid", "Limit", lots=size, price=mid - offset))
                        seq.submit(PlaceOrder(maker, symbol, "Ask", "Limit", lots=size, price=mid + offset))
                taker = TAKERS[rng.randrange(len(TAKERS))]
                side = "Bid" if rng.random() < 0.5 else "Ask"
                seq.submit(PlaceOrder(taker, symbol, side, "Market", lots=rng.randint(1, 20) * scale, tif="IOC"))
            seq.flush()
            now = time.monotonic()
            if now >= next_status:
                next_status = now + 1.0
                books = {
                    m.symbol: [m.bids.best_price(), m.asks.best_price()] for m in exchange.engine.markets if m.is_spot
                }
                sys.stdout.write(
                    json.dumps(
                        {
                            "seq": seq.seq,
                            "trades": exchange.engine.next_trade_id - 1,
                            "open_orders": len(exchange.engine.orders),
                            "best": books,
                        }
                    )
                    + "\n"
                )
                sys.stdout.flush()
            time.sleep(0.1)
    finally:
        snap_seq, digest = exchange.snapshot()
        exchange.close()
        sys.stderr.write(f"rucksack: snapshot at seq {snap_seq}, state hash {digest}\n")
    return 0
