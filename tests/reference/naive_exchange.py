"""A deliberately naive reference for order handling, used as an oracle in property tests.

Written from the rules in docs/exchange-core.md, not from the engine's code: resting orders are
a plain list re-sorted by (price priority, order id) for every taker, and there are no holds or
balances (tests that compare with it give every account effectively unlimited funds).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rucksack.exchange.core.commands import CancelAllOrders, CancelOrder, PlaceOrder
from rucksack.exchange.core.markets import ExchangeSpec, MarketSpec

PPM = 1_000_000


@dataclass
class Resting:
    id: int
    account: int
    market: str
    side: str
    price: int
    lots: int
    client_id: int
    filled_lots: int = 0
    filled_quote: int = 0


@dataclass
class Outcome:
    """What one command did, in comparable form."""

    accepted: int | None = None  # order id
    rejected: str | None = None  # reason
    fills: list[tuple[int, int, int, int]] = field(default_factory=list)  # (taker id, maker id, price, lots)
    closes: list[tuple[int, str, str, int, int]] = field(default_factory=list)  # (id, status, reason, lots, quote)


class NaiveExchange:
    def __init__(self, spec: ExchangeSpec) -> None:
        self.markets: dict[str, MarketSpec] = {m.symbol: m for m in spec.markets}
        self.resting: list[Resting] = []
        self.last_price: dict[str, int] = {m.symbol: 0 for m in spec.markets}
        self.next_id = 1

    # -------------------------------------------------------------- helpers
    def _opposite(self, market: str, side: str) -> list[Resting]:
        other = "Ask" if side == "Bid" else "Bid"
        orders = [o for o in self.resting if o.market == market and o.side == other]
        if other == "Ask":
            return sorted(orders, key=lambda o: (o.price, o.id))
        return sorted(orders, key=lambda o: (-o.price, o.id))

    def _client_taken(self, account: int, client_id: int) -> bool:
        return any(o.account == account and o.client_id == client_id for o in self.resting)

    # -------------------------------------------------------------- commands
    def cancel(self, c: CancelOrder) -> Outcome:
        out = Outcome()
        for o in self.resting:
            by_id = c.order_id >= 0 and o.id == c.order_id
            by_client = c.order_id < 0 and c.client_id >= 0 and o.client_id == c.client_id
            if (by_id or by_client) and o.account == c.account and o.market == c.market:
                self.resting.remove(o)
                out.closes.append((o.id, "Cancelled", "UserCancelled", o.filled_lots, o.filled_quote))
                return out
        out.rejected = "OrderNotFound"
        return out

    def cancel_all(self, c: CancelAllOrders) -> Outcome:
        out = Outcome()
        if c.market not in self.markets:
            out.rejected = "UnknownMarket"
            return out
        mine = sorted((o for o in self.resting if o.account == c.account and o.market == c.market), key=lambda o: o.id)
        for o in mine:
            self.resting.remove(o)
            out.closes.append((o.id, "Cancelled", "UserCancelled", o.filled_lots, o.filled_quote))
        return out

    def place(self, c: PlaceOrder) -> Outcome:
        out = Outcome()
        reason = self._validate(c)
        if reason:
            out.rejected = reason
            return out
        m = self.markets[c.market]
        order_id = self.next_id
        self.next_id += 1
        out.accepted = order_id
        buying = c.side == "Bid"
        if c.order_type == "Limit":
            limit = c.price
        else:
            limit = 1 << 62 if buying else 0
        want = c.lots if c.lots else 1 << 62
        budget = c.quote_atoms if c.quote_atoms else None
        book = self._opposite(c.market, c.side)
        best = book[0].price if book else 0  # the impact band is around the best opposite price
        if best:
            impact = best * m.impact_max_ppm // PPM if buying else -(-best * m.impact_min_ppm // PPM)
        else:
            impact = 1 << 62 if buying else 0
        if c.tif == "FOK":
            got, _, _ = self._walk(list(book), c, limit, impact, want, budget, dry=True, out=out)
            if got < c.lots:
                out.closes.append((order_id, "Expired", "FillOrKill", 0, 0))
                return out
        got, quote, stop = self._walk(book, c, limit, impact, want, budget, dry=False, out=out)
        taker_closes = []
        if c.lots and got == c.lots:
            taker_closes.append((order_id, "Filled", ""))
        elif stop == "stp":
            taker_closes.append((order_id, "Expired", "SelfTradePrevention"))
        elif stop == "impact":
            taker_closes.append((order_id, "Expired", "PriceImpact"))
        elif c.order_type == "Market":
            if c.quote_atoms and stop in ("budget", "filled"):
                taker_closes.append((order_id, "Filled", ""))
            elif stop == "budget":
                taker_closes.append((order_id, "Expired", "InsufficientFunds"))
            else:
                taker_closes.append((order_id, "Expired", "InsufficientLiquidity"))
        elif c.tif != "GTC":
            taker_closes.append((order_id, "Expired", "ImmediateOrCancel"))
        else:
            self.resting.append(
                Resting(order_id, c.account, c.market, c.side, c.price, c.lots - got, c.client_id, got, quote)
            )
        for oid, status, why in taker_closes:
            out.closes.append((oid, status, why, got, quote))
        return out

    def _validate(self, c: PlaceOrder) -> str | None:
        m = self.markets.get(c.market)
        if m is None:
            return "UnknownMarket"
        if m.market_type != "SPOT" or not m.trading:
            return "MarketClosed"
        if c.order_type == "Limit":
            if c.quote_atoms:
                return "InvalidQuantity"
            if c.price < m.min_price_ticks or (m.max_price_ticks and c.price > m.max_price_ticks):
                return "InvalidPrice"
        else:
            if c.post_only or c.price:
                return "InvalidOrder"
            if (c.lots > 0) == (c.quote_atoms > 0) or c.lots < 0 or c.quote_atoms < 0:
                return "InvalidQuantity"
            if c.quote_atoms and c.tif == "FOK":
                return "InvalidOrder"
            if c.quote_atoms and c.quote_atoms < m.min_notional_atoms:
                return "InvalidQuantity"
        if c.order_type == "Limit" or c.lots:
            if c.lots < m.min_lots or (m.max_lots and c.lots > m.max_lots):
                return "InvalidQuantity"
            if c.order_type == "Limit" and c.lots * c.price * m.lot_tick_atoms < m.min_notional_atoms:
                return "InvalidQuantity"
        last = self.last_price[c.market]
        if (
            c.order_type == "Limit"
            and last
            and (c.price * PPM > last * m.price_band_max_ppm or c.price * PPM < last * m.price_band_min_ppm)
        ):
            return "PriceOutOfBounds"
        if c.client_id != -1:
            if not 0 <= c.client_id < 1 << 32:
                return "InvalidOrder"
            if self._client_taken(c.account, c.client_id):
                return "DuplicateClientId"
        if c.post_only:
            book = self._opposite(c.market, c.side)
            if book:
                best = book[0].price
                if (c.side == "Bid" and best <= c.price) or (c.side == "Ask" and best >= c.price):
                    return "PostOnlyTaker"
        return None

    def _walk(
        self,
        book: list[Resting],
        c: PlaceOrder,
        limit: int,
        impact: int,
        want: int,
        budget: int | None,
        *,
        dry: bool,
        out: Outcome,
    ) -> tuple[int, int, str]:
        m = self.markets[c.market]
        buying = c.side == "Bid"
        got = quote = 0
        stp_expired: list[Resting] = []
        stop = "empty"
        i = 0
        while i < len(book):
            maker = book[i]
            if got == want:
                break
            price = maker.price
            if (buying and price > limit) or (not buying and price < limit):
                stop = "limit"
                break
            if (buying and price > impact) or (not buying and price < impact):
                stop = "impact"
                break
            if maker.account == c.account and c.stp != "Allow":
                if c.stp == "RejectTaker":
                    stop = "stp"
                    break
                stp_expired.append(maker)
                if c.stp == "RejectBoth":
                    stop = "stp"
                    break
                i += 1
                continue
            n = min(maker.lots, want - got)
            cost = price * m.lot_tick_atoms
            if budget is not None:
                n = min(n, budget // cost)
                if n == 0:
                    stop = "budget"
                    break
                budget -= n * cost
            got += n
            quote += n * cost
            if dry:
                if n == maker.lots:
                    i += 1
                else:  # a partly taken maker stays first in line
                    book[i] = Resting(
                        maker.id, maker.account, maker.market, maker.side, maker.price, maker.lots - n, maker.client_id
                    )
            else:
                maker.lots -= n
                maker.filled_lots += n
                maker.filled_quote += n * cost
                out.fills.append((out.accepted or 0, maker.id, price, n))
                self.last_price[c.market] = price
                if maker.lots == 0:
                    self.resting.remove(maker)
                    out.closes.append((maker.id, "Filled", "", maker.filled_lots, maker.filled_quote))
                    i += 1
        if got == want:
            stop = "filled"
        if not dry:
            for maker in stp_expired:
                self.resting.remove(maker)
                out.closes.append((maker.id, "Expired", "SelfTradePrevention", maker.filled_lots, maker.filled_quote))
        return got, quote, stop
