"""Net equity and margin requirements of one account, as the engine checks them (§14.1-14.2).

For each asset ``a``: net quantity ``N = available + locked + lend claim - debt`` (plus any
hypothetical change being checked); positive ``N`` is collateral ``value(N) * W(value)``
(value and weight rounded down), negative ``N`` a liability ``value(-N)`` (rounded up). Assets
are priced at the index of their market against the settlement asset (the spot market, else the
perp); collateral with no index is worth nothing, a debt with no index is valued at the last
trade.

Fractions and weights are applied in parts per billion (fractions rounded up, weights down from
their WAD values), so products stay machine-sized; requirements round up, collateral down. The
collateral of one asset is ``MarginCalc.collateral`` — the single rounding that the per-asset
collateral rows (``risk.collateral``, GET /api/v1/capital/collateral) use too.

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
from rucksack.exchange.core.lending.pool import Pool
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.markets import ExchangeSpec
from rucksack.exchange.core.numeric import PPB, WAD, ceil_div
from rucksack.exchange.core.risk.haircut import Haircut, weight
from rucksack.exchange.core.risk.margin_fn import MarginFunction, fraction

FULL = MarginFunction(WAD, 0)  # a borrow of an asset without borrow margin needs 100%
LIMIT = 10**40  # above any notional in settlement atoms


def _flat_until(value_at: object, flat: int) -> int:
    """The largest notional (atoms) at which the monotone ``value_at(x)`` still equals ``flat``."""
    f = value_at
    lo, hi = 0, LIMIT
    if f(hi) == flat:  # type: ignore[operator]
        return hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if f(mid) == flat:  # type: ignore[operator]
            lo = mid
        else:
            hi = mid - 1
    return lo


WAD_PER_PPB = WAD // PPB


class Curve:
    """A margin function with its flat region precomputed for the platform's default leverage:
    below ``knee`` atoms of notional the fraction is ``flat`` and no square root is taken.

    ``at`` returns the fraction in parts per billion, rounded up from the WAD value, so that
    ``notional * fraction`` stays within a machine word for realistic notionals (a requirement
    is at most 1e-9 of the notional above the exact formula, never below)."""

    __slots__ = ("decimals", "flat", "fn", "knee")

    def __init__(self, fn: MarginFunction, decimals: int, floor: int) -> None:
        self.fn = fn
        self.decimals = decimals
        flat = fraction(fn, 0, decimals, floor)
        self.knee = _flat_until(lambda x: fraction(fn, x, decimals, floor), flat)
        self.flat = ceil_div(flat, WAD_PER_PPB)

    def at(self, x: int, floor: int, default_floor: int) -> int:
        if x <= self.knee and floor == default_floor:
            return self.flat
        return ceil_div(fraction(self.fn, x, self.decimals, floor), WAD_PER_PPB)


class Weight:
    """A haircut with its flat region precomputed (below ``knee`` atoms the weight is constant);
    ``at`` returns parts per billion, rounded down from the WAD weight."""

    __slots__ = ("decimals", "flat", "haircut", "knee")

    def __init__(self, h: Haircut, decimals: int) -> None:
        self.haircut = h
        self.decimals = decimals
        flat = weight(h, 0, decimals)
        self.knee = _flat_until(lambda x: weight(h, x, decimals), flat)
        self.flat = flat // WAD_PER_PPB

    def at(self, x: int) -> int:
        return self.flat if x <= self.knee else weight(self.haircut, x, self.decimals) // WAD_PER_PPB


class Margin:
    """One evaluation; every amount in settlement atoms."""

    __slots__ = ("collateral", "equity", "exposure", "futures", "im", "liabilities", "mm", "upnl")

    def __init__(self) -> None:
        self.collateral = 0
        self.liabilities = 0
        self.upnl = 0
        self.equity = 0
        self.im = 0
        self.mm = 0
        self.exposure = 0
        self.futures = 0  # the perp part of ``exposure`` (Backpack's netExposureFutures)

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
        d = self.decimals
        self.default_floor = ceil_div(WAD, self.max_leverage)
        floor = self.default_floor
        self.weights: list[Weight | None] = [Weight(a.collateral, d) if a.collateral else None for a in spec.assets]
        self.borrow_imf: list[Curve] = [Curve(a.borrow_imf or FULL, d, floor) for a in spec.assets]
        self.borrow_mmf: list[Curve] = [Curve(a.borrow_mmf or FULL, d, 0) for a in spec.assets]
        self.perp_imf: list[Curve] = [Curve(m.spec.imf or FULL, d, floor) for m in markets]
        self.perp_mmf: list[Curve] = [Curve(m.spec.mmf or FULL, d, 0) for m in markets]
        self.epoch = 0  # bumped whenever an index price or a pool index changes (cache key)
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

    def mark_value(self, acct: Account) -> int:
        """The account's value marked to market, without haircuts (a vault's NAV): every net
        balance (wallet + lend claim - debt) at its index, holdings rounded down and debts up, as
        ``value`` rounds them; perp positions at the mark (``q * mark - cost``, exact); plus the
        unsettled amount. Settlement atoms."""
        total = acct.unsettled
        for i, bal in enumerate(acct.assets):
            net = bal.available + bal.locked
            pool = self.pools[i]
            if pool is not None and (bal.lend_shares or bal.borrow_shares):
                net += pool.claim(bal.lend_shares) - pool.debt(bal.borrow_shares)
            if net > 0:
                total += self.value(i, net, False)
            elif net < 0:
                total -= self.value(i, -net, True)
        for pos in acct.positions.values():
            m = self.markets[pos.market]
            total += pos.lots * m.valuation_price() * m.lot_tick_atoms - pos.cost
        return total

    def position_limit(self, acct: Account, equity: int) -> int:
        """Backpack's account ``positionLimit``: the futures notional (settlement atoms, open
        orders included, at the mark) the account may carry, ``max(equity, 0) x leverage limit``
        (the account's own, else the platform's)."""
        return max(equity, 0) * (acct.leverage_limit or self.max_leverage)

    def collateral(self, asset: int, value: int) -> tuple[int, int]:
        """(weight in parts per billion, collateral value) of a holding of ``asset`` worth
        ``value`` settlement atoms: the WAD weight truncated to 9 decimals, then
        ``value x weight // 10^9``. The one rounding both net equity and the collateral rows
        (``risk.collateral``) use, so the rows add up to the equity exactly."""
        w = self.weights[asset]
        if w is None or value <= 0:
            return 0, 0
        ppb = w.at(value)
        return ppb, value * ppb // PPB

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
        with_mm: bool = True,
        new_debt: int = 0,
    ) -> Margin:
        """The account's margin, optionally with hypothetical extra open orders in ``market`` and
        net-quantity changes ``delta`` of ``asset`` and ``delta2`` of ``asset2``. Pre-trade checks
        pass ``with_mm=False`` (``mm`` is then left at 0)."""
        r = Margin()
        lev = acct.leverage_limit
        floor = ceil_div(WAD, lev) if lev else self.default_floor
        cached = asset < 0 and asset2 < 0 and floor == self.default_floor
        if cached and self._cache_hit(acct):
            c = acct.risk_cache
            n = len(c)
            r.collateral, r.liabilities, r.exposure, r.im = c[n - 5], c[n - 4], c[n - 3], c[n - 2]
            if with_mm:
                r.mm = c[n - 1]
        else:
            self._assets(r, acct, floor, asset, delta, asset2, delta2, new_debt)
            if cached:
                self._fill_cache(acct, r)
        seen_market = False
        for pos in acct.positions.values():
            m = self.markets[pos.market]
            mark = m.valuation_price()
            lta = m.lot_tick_atoms
            r.upnl += pos.lots * mark * lta - pos.cost
            if pos.market == market:
                q = pos.exposure_lots(add_buys, add_sells)
                seen_market = True
            else:
                q = pos.exposure_lots(0, 0)
            if q:
                self._requirement(r, pos.market, q * mark * lta, floor, with_mm)
        if market >= 0 and not seen_market and (add_buys or add_sells):
            m = self.markets[market]
            mark = m.valuation_price()
            q = add_buys if add_buys > add_sells else add_sells
            self._requirement(r, market, q * mark * m.lot_tick_atoms, floor, with_mm)
        r.equity = r.collateral + r.upnl + acct.unsettled - r.liabilities
        return r

    def _assets(
        self, r: Margin, acct: Account, floor: int, asset: int, delta: int, asset2: int, delta2: int, new_debt: int
    ) -> None:
        """Collateral, liabilities and borrow requirements (``im`` and ``mm``) of the balances."""
        pools = self.pools
        default_floor = self.default_floor
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
                debt += new_debt  # to be borrowed: the net is unchanged, the exposure grows
            if i == asset2:
                net += delta2
            if net > 0 and self.weights[i] is not None:
                r.collateral += self.collateral(i, self.value(i, net, False))[1]
            elif net < 0:
                r.liabilities += self.value(i, -net, True)
            gross = debt if debt > -net else -net
            if gross > 0:
                x = self.value(i, gross, True)
                r.exposure += x
                r.im += ceil_div(x * self.borrow_imf[i].at(x, floor, default_floor), PPB)
                r.mm += ceil_div(x * self.borrow_mmf[i].at(x, 0, 0), PPB)

    def _cache_hit(self, acct: Account) -> bool:
        """The balance part of the last evaluation still holds: same price/index epoch and the
        same balances and pool shares (compared field by field, so no write path can stale it)."""
        c = acct.risk_cache
        if not c or c[0] != self.epoch:
            return False
        k = 1
        for bal in acct.assets:
            if c[k] != bal.available + bal.locked or c[k + 1] != bal.lend_shares or c[k + 2] != bal.borrow_shares:
                return False
            k += 3
        return True

    def _fill_cache(self, acct: Account, r: Margin) -> None:
        c = [self.epoch]
        for bal in acct.assets:
            c.append(bal.available + bal.locked)
            c.append(bal.lend_shares)
            c.append(bal.borrow_shares)
        c += [r.collateral, r.liabilities, r.exposure, r.im, r.mm]
        acct.risk_cache = c

    def _requirement(self, r: Margin, market: int, x: int, floor: int, with_mm: bool) -> None:
        r.exposure += x
        r.futures += x
        r.im += ceil_div(x * self.perp_imf[market].at(x, floor, self.default_floor), PPB)
        if with_mm:
            r.mm += ceil_div(x * self.perp_mmf[market].at(x, 0, 0), PPB)
