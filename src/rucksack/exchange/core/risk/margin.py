"""Net equity and margin requirements of one account, as the engine checks them (§14.1-14.2).

For each asset ``a``: net quantity ``N = available + locked + lend claim - debt`` (plus any
hypothetical change being checked); positive ``N`` is collateral ``value(N) * W(value)``
(value and weight rounded down), negative ``N`` a liability ``value(-N)`` (rounded up). Assets
are priced at the index of their market against the settlement asset (the spot market, else the
perp); collateral with no index is worth nothing, a debt with no index is valued at the last
trade.

Requirements (all rounded up):
- each perp position ``m``: exposure ``X_m = max(|q + open buys|, |q - open sells|) * mark``,
  ``IM += X_m * IMF_m(X_m)``, ``MM += X_m * MMF_m(X_m)``; unrealized PnL ``q * mark - cost``
  counts in full;
- each borrowed asset: exposure ``X_a = value(debt)`` — the gross debt, not the net, so that a
  borrow needs margin the moment it is opened (Backpack: "borrow up to ~10x available equity in
  USDC"; the reference model's net rule would let an account borrow without limit while it
  holds the cash). ``IM += X_a * IMF_a``, ``MM += X_a * MMF_a``;
- every IMF is at least ``1 / leverage limit`` (the subaccount's, else the platform's).

``net equity = collateral + unrealized PnL + unsettled - liabilities``;
``available = net equity - IM``.
"""

from __future__ import annotations

from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.lending.curve import WAD
from rucksack.exchange.core.lending.pool import Pool
from rucksack.exchange.core.market_state import MarketState, mark_price
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.numeric import ceil_div
from rucksack.exchange.core.risk.haircut import Haircut, weight
from rucksack.exchange.core.risk.margin_fn import MarginFunction, fraction

FULL = MarginFunction(WAD, 0)  # a borrow of an asset without borrow margin needs 100%


class Margin:
    """One evaluation; every amount in settlement atoms."""

    __slots__ = ("collateral", "equity", "exposure", "im", "liabilities", "mm", "upnl")

    def __init__(self) -> None:
        self.collateral = 0
        self.liabilities = 0
        self.upnl = 0
        self.equity = 0
        self.im = 0
        self.mm = 0
        self.exposure = 0

    @property
    def available(self) -> int:
        return self.equity - self.im


class MarginCalc:
    def __init__(self, spec: ExchangeSpec, markets: list[MarketState], pools: list[Pool | None]) -> None:
        self.markets = markets
        self.pools = pools
        self.settle = spec.asset_index(spec.settlement_asset)
        self.decimals = spec.assets[self.settle].decimals
        self.max_leverage = spec.risk.max_leverage
        self.haircuts: list[Haircut | None] = [a.collateral for a in spec.assets]
        self.borrow_imf: list[MarginFunction] = [a.borrow_imf or FULL for a in spec.assets]
        self.borrow_mmf: list[MarginFunction] = [a.borrow_mmf or FULL for a in spec.assets]
        self.pricers: list[MarketState | None] = []
        for i, asset in enumerate(spec.assets):
            found: MarketState | None = None
            if i != self.settle:
                for kind in ("SPOT", "PERP"):
                    for m in markets:
                        if (
                            found is None
                            and m.spec.market_type == kind
                            and m.spec.base == asset.symbol
                            and m.spec.quote == spec.settlement_asset
                        ):
                            found = m
            self.pricers.append(found)

    def value(self, asset: int, atoms: int, round_up: bool) -> int:
        """Settlement atoms for ``atoms`` of ``asset`` at its index (debts: else its last trade)."""
        if asset == self.settle:
            return atoms
        m = self.pricers[asset]
        if m is None:
            return 0
        price = m.index_price
        if not price and round_up:
            price = m.last_price
        num = atoms * price * m.lot_tick_atoms
        return ceil_div(num, m.lot_atoms) if round_up else num // m.lot_atoms

    def compute(
        self,
        acct: Account,
        market: int = -1,
        add_buys: int = 0,
        add_sells: int = 0,
        asset: int = -1,
        delta: int = 0,
        asset2: int = -1,
        delta2: int = 0,
    ) -> Margin:
        """The account's margin, optionally with hypothetical extra open orders in ``market`` and
        net-quantity changes ``delta`` of ``asset`` and ``delta2`` of ``asset2``."""
        r = Margin()
        lev = acct.leverage_limit or self.max_leverage
        floor = ceil_div(WAD, lev)
        decimals = self.decimals
        pools = self.pools
        for i, bal in enumerate(acct.assets):
            net = bal.available + bal.locked
            debt = 0
            if bal.lend_shares or bal.borrow_shares:
                pool = pools[i]
                if pool is not None:
                    net += pool.claim(bal.lend_shares)
                    debt = pool.debt(bal.borrow_shares)
                    net -= debt
            if i == asset:
                net += delta
            if i == asset2:
                net += delta2
            if net > 0:
                h = self.haircuts[i]
                if h is not None:
                    v = self.value(i, net, False)
                    r.collateral += v * weight(h, v, decimals) // WAD
            elif net < 0:
                r.liabilities += self.value(i, -net, True)
            gross = debt if debt > -net else -net
            if gross > 0:
                x = self.value(i, gross, True)
                r.exposure += x
                r.im += ceil_div(x * fraction(self.borrow_imf[i], x, decimals, floor), WAD)
                r.mm += ceil_div(x * fraction(self.borrow_mmf[i], x, decimals, 0), WAD)
        seen_market = False
        for pos in acct.positions.values():
            m = self.markets[pos.market]
            mark = mark_price(m) or m.last_price
            lta = m.lot_tick_atoms
            r.upnl += pos.lots * mark * lta - pos.cost
            if pos.market == market:
                q = pos.exposure_lots(add_buys, add_sells)
                seen_market = True
            else:
                q = pos.exposure_lots(0, 0)
            if q:
                self._requirement(r, m, q * mark * lta, floor)
        if market >= 0 and not seen_market and (add_buys or add_sells):
            m = self.markets[market]
            mark = mark_price(m) or m.last_price
            q = add_buys if add_buys > add_sells else add_sells
            self._requirement(r, m, q * mark * m.lot_tick_atoms, floor)
        r.equity = r.collateral + r.upnl + acct.unsettled - r.liabilities
        return r

    def _requirement(self, r: Margin, m: MarketState, x: int, floor: int) -> None:
        spec = m.spec
        imf = spec.imf or FULL
        mmf = spec.mmf or FULL
        r.exposure += x
        r.im += ceil_div(x * fraction(imf, x, self.decimals, floor), WAD)
        r.mm += ceil_div(x * fraction(mmf, x, self.decimals, 0), WAD)
