"""The four detectors (docs/surveillance.md). Each reads the tape after every command and raises
``Alert``s through ``raise_alert``; none reads a clock (time is the commands' ``ts_us``), so a
replay of the same journal raises the same alerts with the same ids.

- ``WashTrading``: a trade whose buyer and seller have the same owner (one account and its
  subaccounts). Alerts once ``wash_min_trades`` such trades of one owner in one market fall within
  ``wash_window_seconds``; later ones in the window join the same alert.
- ``Spoofing``: a resting limit order that is *large* when placed — at least ``spoof_size_multiple``
  x the size at its side's best price (others' orders), within the best ``spoof_levels`` prices
  of its side, while its owner rests less than 1/multiple of it on the other side (one-sided
  pressure: a two-sided quoter is not spoofing) — cancelled with nothing filled within
  ``spoof_max_lifetime_seconds``, while its owner trades the other side within
  ``spoof_opposite_seconds`` of its life. Several of one owner's on one side within that time join
  one alert, which becomes ``Layering`` once ``layering_min_orders`` of them sit at different prices.
- ``MarkingTheClose``: in the last ``close_window_seconds`` before a whole hour (the funding time
  of perps, the hourly close), one owner's aggressive (taker) trades, at least
  ``close_min_trades``, at least ``close_min_direction`` of their lots one way, with the market's
  last price at the close moved at least ``close_min_move`` that way from the last price before
  the window.
- ``PumpAndDump``: a ``pump_window_seconds`` bucket (aligned to the epoch) whose last price rose at
  least ``pump_min_rise`` over the bucket's opening price, with traded notional at least
  ``pump_volume_multiple`` x the mean of the ``pump_baseline_windows`` buckets before it (which
  must have traded). Evidence: the net buyers by owner over this bucket and the previous one.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from decimal import Decimal

from rucksack.exchange.surveillance.config import Thresholds
from rucksack.exchange.surveillance.tape import Alert, Fill, Rest, Tape

US = 1_000_000
HOUR_US = 3600 * US
Raise = Callable[[Alert], None]


class WashTrading:
    def __init__(self, t: Thresholds, tape: Tape, raise_alert: Raise) -> None:
        self.window_us = t.wash_window_seconds * US
        self.min_trades = t.wash_min_trades
        self.tape, self.raise_alert = tape, raise_alert
        self.pending: dict[tuple[int, str], list[Fill]] = {}
        self.open: dict[tuple[int, str], Alert] = {}

    def on_fill(self, fill: Fill) -> None:
        owner = self.tape.owner(fill.buyer)
        if owner != self.tape.owner(fill.seller):
            return
        key = (owner, fill.market)
        alert = self.open.get(key)
        if alert is not None and fill.ts_us - alert.trades[0].ts_us <= self.window_us:
            alert.add_trade(fill)
            for account in (fill.buyer, fill.seller):
                if account not in alert.accounts:
                    alert.accounts.append(account)
            return
        fills = [f for f in self.pending.get(key, []) if fill.ts_us - f.ts_us <= self.window_us] + [fill]
        if len(fills) < self.min_trades:
            self.pending[key] = fills
            return
        self.pending.pop(key, None)
        first = fills[0]
        alert = Alert(
            f"WASH-{fill.market}-T{first.trade_id}",
            "WashTrading",
            fill.market,
            owner,
            sorted({a for f in fills for a in (f.buyer, f.seller)}),
            fill.ts_us,
            first.seq,
            f"owner {owner} traded with itself ({len(fills)} trade(s); buyer and seller share an owner)",
        )
        for f in fills:
            alert.add_trade(f)
        self.open[key] = alert
        self.raise_alert(alert)


class Spoofing:
    def __init__(self, t: Thresholds, tape: Tape, raise_alert: Raise) -> None:
        self.multiple = t.spoof_size_multiple
        self.levels = t.spoof_levels
        self.lifetime_us = int(t.spoof_max_lifetime_seconds * US)
        self.opposite_us = t.spoof_opposite_seconds * US
        self.layering = t.layering_min_orders
        self.tape, self.raise_alert = tape, raise_alert
        self.fills: dict[tuple[int, str], deque[tuple[Fill, str]]] = {}  # owner's fills and the side they took
        # cancelled large orders waiting for their owner's opposite trade, by (owner, market)
        self.waiting: dict[tuple[int, str], list[Rest]] = {}
        self.expiry: deque[Rest] = deque()  # the same orders by cancel time, to drop them when late
        self.episodes: dict[tuple[int, str, str], Alert] = {}

    def after_command(self, ts_us: int) -> None:
        for rest in self.tape.placed:
            if rest.order_id in self.tape.resting.get(rest.market, {}):
                rest.large = self._is_large(rest)
        for rest in self.tape.closed.values():
            short = rest.closed_us - rest.placed_us <= self.lifetime_us
            if rest.large and rest.status == "Cancelled" and rest.remaining == rest.lots and short:
                if self._opposite_trade(rest) is not None:  # it already traded the other side
                    self._episode(rest)
                else:  # it may yet, within opposite_us of the cancel
                    self.waiting.setdefault((rest.owner, rest.market), []).append(rest)
                    self.expiry.append(rest)
        while self.expiry and ts_us - self.expiry[0].closed_us > self.opposite_us:
            late = self.expiry.popleft()
            mine = self.waiting.get((late.owner, late.market), [])
            if late in mine:
                mine.remove(late)

    def on_fill(self, fill: Fill) -> None:
        for account, side in ((fill.buyer, "Bid"), (fill.seller, "Ask")):
            key = (self.tape.owner(account), fill.market)
            tape = self.fills.setdefault(key, deque())
            tape.append((fill, side))
            while tape and fill.ts_us - tape[0][0].ts_us > 2 * self.opposite_us + self.lifetime_us:
                tape.popleft()
            waiting = self.waiting.get(key)
            if waiting:  # a cancelled large order of this owner on the other side: an episode now
                for rest in [r for r in waiting if r.side != side and fill.ts_us - r.closed_us <= self.opposite_us]:
                    waiting.remove(rest)
                    self._episode(rest)

    def _is_large(self, rest: Rest) -> bool:
        """Within its side's best ``levels`` prices, >= multiple x the best price's size (both of
        others' orders), and >= multiple x what its owner rests on the other side."""
        depth, bid = self.tape.depth, rest.side == "Bid"
        best = 0
        for better, (price, lots) in enumerate(depth.others(rest.market, rest.side, rest.owner)):
            best = best or lots
            if (price <= rest.price) if bid else (price >= rest.price):
                break
            if better + 1 >= self.levels:  # this many of others' prices are better than its own
                return False
        if not best or rest.lots < self.multiple * best:
            return False
        opposite = depth.owner_total.get((rest.owner, rest.market, "Ask" if bid else "Bid"), 0)
        return opposite * self.multiple <= rest.lots

    def _opposite_trade(self, rest: Rest) -> Fill | None:
        opposite = "Ask" if rest.side == "Bid" else "Bid"
        start, end = rest.placed_us - self.opposite_us, rest.closed_us + self.opposite_us
        for fill, side in self.fills.get((rest.owner, rest.market), ()):
            if side == opposite and start <= fill.ts_us <= end:
                return fill
        return None

    def _episode(self, rest: Rest) -> None:
        key = (rest.owner, rest.market, rest.side)
        trade = self._opposite_trade(rest)
        alert = self.episodes.get(key)
        if alert is None or rest.placed_us - alert.orders[-1].closed_us > self.opposite_us:
            alert = Alert(
                f"SPOOF-{rest.market}-O{rest.order_id}",
                "Spoofing",
                rest.market,
                rest.owner,
                [rest.account],
                rest.closed_us,
                rest.seq,
                f"owner {rest.owner}: large {rest.side} cancelled unfilled after "
                f"{(rest.closed_us - rest.placed_us) // 1000} ms while trading the other side",
            )
            self.episodes[key] = alert
            alert.add_order(rest)
            if trade is not None:
                alert.add_trade(trade)
            self.raise_alert(alert)
            return
        alert.add_order(rest)
        if trade is not None and all(t.trade_id != trade.trade_id for t in alert.trades):
            alert.add_trade(trade)
        if rest.account not in alert.accounts:
            alert.accounts.append(rest.account)
        if len({o.price for o in alert.orders}) >= self.layering:
            alert.typology = "Layering"
            alert.summary = f"owner {rest.owner}: {len(alert.orders)} large {rest.side} orders over several prices "
            alert.summary += "cancelled unfilled while trading the other side"


class MarkingTheClose:
    def __init__(self, t: Thresholds, tape: Tape, raise_alert: Raise) -> None:
        self.window_us = t.close_window_seconds * US
        self.min_move = t.close_min_move
        self.min_trades = t.close_min_trades
        self.min_direction = t.close_min_direction
        self.tape, self.raise_alert = tape, raise_alert
        self.last: dict[str, int] = {}  # market -> last trade price
        self.before: dict[str, int] = {}  # market -> last price before the current close window
        self.window: dict[str, list[Fill]] = {}  # market -> trades in the close window
        self.close_us = 0  # the whole hour the window closes at (0: none yet)

    def on_time(self, ts_us: int) -> None:
        if self.close_us and ts_us >= self.close_us:
            for market in sorted(self.window):
                self._judge(market)
            self.window = {}
            self.close_us = 0

    def on_fill(self, fill: Fill) -> None:
        close = (fill.ts_us // HOUR_US + 1) * HOUR_US
        if close - fill.ts_us <= self.window_us:
            if fill.market not in self.window:
                self.before[fill.market] = self.last.get(fill.market, 0)
            self.close_us = close
            self.window.setdefault(fill.market, []).append(fill)
        self.last[fill.market] = fill.price

    def _judge(self, market: str) -> None:
        fills = self.window[market]
        reference = self.before.pop(market, 0) or fills[0].price
        close = fills[-1].price
        by_owner: dict[int, list[Fill]] = {}
        for f in fills:
            taker = f.buyer if f.taker_side == "Bid" else f.seller
            by_owner.setdefault(self.tape.owner(taker), []).append(f)
        for owner, mine in sorted(by_owner.items()):
            bought = sum(f.lots for f in mine if f.taker_side == "Bid")
            sold = sum(f.lots for f in mine if f.taker_side == "Ask")
            gross, up = bought + sold, bought >= sold
            moved = Decimal(close - reference) / Decimal(reference) if reference else Decimal(0)
            if len(mine) < self.min_trades or abs(bought - sold) < self.min_direction * gross:
                continue
            if (moved if up else -moved) < self.min_move:
                continue
            accounts = sorted({f.buyer if f.taker_side == "Bid" else f.seller for f in mine})
            alert = Alert(
                f"CLOSE-{market}-T{mine[0].trade_id}",
                "MarkingTheClose",
                market,
                owner,
                accounts,
                self.close_us,
                mine[0].seq,
                f"owner {owner}: {len(mine)} aggressive {'buys' if up else 'sells'} in the last "
                f"{self.window_us // US} s before the close moved the price {moved:.2%}",
                figures={"referencePriceTicks": str(reference), "closePriceTicks": str(close), "move": f"{moved:.6f}"},
            )
            for f in mine:
                alert.add_trade(f)
            self.raise_alert(alert)


class PumpAndDump:
    def __init__(self, t: Thresholds, tape: Tape, raise_alert: Raise) -> None:
        self.window_us = t.pump_window_seconds * US
        self.min_rise = t.pump_min_rise
        self.multiple = t.pump_volume_multiple
        self.baseline = t.pump_baseline_windows
        self.tape, self.raise_alert = tape, raise_alert
        self.bucket = -1
        self.fills: dict[str, list[Fill]] = {}  # this bucket's trades per market
        self.previous: dict[str, list[Fill]] = {}
        self.volumes: dict[str, deque[int]] = {}  # notional (lots x ticks) of the buckets before
        self.last: dict[str, int] = {}

    def on_time(self, ts_us: int) -> None:
        bucket = ts_us // self.window_us
        if self.bucket < 0:
            self.bucket = bucket
        while self.bucket < bucket:  # close every bucket that ended (empty ones count as 0 volume)
            self._close_bucket()
            self.bucket += 1

    def on_fill(self, fill: Fill) -> None:
        self.fills.setdefault(fill.market, []).append(fill)

    def _close_bucket(self) -> None:
        markets = sorted(set(self.fills) | set(self.volumes))
        for market in markets:
            fills = self.fills.get(market, [])
            volume = sum(f.lots * f.price for f in fills)
            history = self.volumes.setdefault(market, deque(maxlen=self.baseline))
            opening = self.last.get(market, 0) or (fills[0].price if fills else 0)
            if fills and opening and len(history) == self.baseline and min(history) > 0:
                rise = Decimal(fills[-1].price - opening) / Decimal(opening)
                mean = Decimal(sum(history)) / len(history)
                if rise >= self.min_rise and volume >= self.multiple * mean:
                    self._alert(market, fills, rise, volume, mean)
            history.append(volume)
            if fills:
                self.last[market] = fills[-1].price
        self.previous = self.fills
        self.fills = {}

    def _alert(self, market: str, fills: list[Fill], rise: Decimal, volume: int, mean: Decimal) -> None:
        net: dict[int, int] = {}
        for f in self.previous.get(market, []) + fills:
            net[self.tape.owner(f.buyer)] = net.get(self.tape.owner(f.buyer), 0) + f.lots
            net[self.tape.owner(f.seller)] = net.get(self.tape.owner(f.seller), 0) - f.lots
        buyers = sorted(((lots, owner) for owner, lots in net.items() if lots > 0), reverse=True)[:10]
        top = buyers[0][1] if buyers else 0
        end_us = (self.bucket + 1) * self.window_us
        alert = Alert(
            f"PUMP-{market}-T{fills[0].trade_id}",
            "PumpAndDump",
            market,
            top,
            [owner for _, owner in buyers],
            end_us,
            fills[0].seq,
            f"price rose {rise:.2%} in {self.window_us // US} s on {volume / mean:.1f}x the usual volume; "
            f"net buyers: {', '.join(str(o) for _, o in buyers) or 'none'}",
            figures={
                "rise": f"{rise:.6f}",
                "volumeMultiple": f"{volume / mean:.2f}",
                "netBuyerLots": ",".join(f"{owner}:{lots}" for lots, owner in buyers),
            },
        )
        for f in sorted(fills, key=lambda f: -f.lots)[:20]:
            alert.add_trade(f)
        alert.count = len(fills)
        self.raise_alert(alert)
