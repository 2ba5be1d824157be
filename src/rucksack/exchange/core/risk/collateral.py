"""Collateral value and net equity of an account, at index prices (reference model §14.1).

Per asset ``a``: net quantity ``N = available + locked + lend claim - debt``; an asset's price is
the index of its spot market against the settlement asset (USDC = 1); one base atom is worth
``index * lot_tick_atoms / lot_atoms`` settlement atoms.

- collateral value ``CV = value(max(N, 0)) * W(value)`` — value and weight rounded down;
- borrow liability ``L = value(max(-N, 0))`` — rounded up;
- net equity ``= sum CV - sum L`` (plus unrealized PnL and unsettled balances once perps exist).

An asset whose market has no index price yet is worth nothing as collateral (conservative) and,
should it be owed, is valued at its last trade price.
"""

from __future__ import annotations

from dataclasses import dataclass

from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.lending.curve import WAD
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import ceil_div
from rucksack.exchange.core.risk.haircut import weight


@dataclass(frozen=True)
class AssetRisk:
    symbol: str
    price_market: str | None  # the market whose index prices the asset; None for the settlement asset
    price_ticks: int  # 0: unknown
    total: int  # atoms: available + locked + lent
    available: int
    locked: int
    lent: int
    borrowed: int
    notional: int  # settlement atoms, of the net holding (negative when owed)
    weight: int  # WAD
    collateral_value: int  # settlement atoms


@dataclass(frozen=True)
class AccountRisk:
    assets: list[AssetRisk]
    assets_value: int  # sum of positive notionals
    liabilities_value: int  # sum of borrow liabilities
    collateral_value: int
    net_equity: int


def price_market(engine: Engine, asset: int) -> MarketState | None:
    """The spot market pricing ``asset`` against the settlement asset, if any."""
    symbol = engine.spec.assets[asset].symbol
    for m in engine.markets:
        if m.is_spot and m.spec.base == symbol and m.spec.quote == engine.spec.settlement_asset:
            return m
    return None


def account_risk(engine: Engine, account: int) -> AccountRisk:
    settle = engine.asset_index[engine.spec.settlement_asset]
    settle_decimals = engine.spec.assets[settle].decimals
    acct = engine.ledger.accounts.get(account)
    rows: list[AssetRisk] = []
    assets_value = liabilities = collateral = 0
    for i, spec in enumerate(engine.spec.assets):
        bal = acct.assets[i] if acct is not None else None
        pool = engine.pools[i]
        available = bal.available if bal else 0
        locked = bal.locked if bal else 0
        lent = pool.claim(bal.lend_shares) if bal and pool else 0
        borrowed = pool.debt(bal.borrow_shares) if bal and pool else 0
        net = available + locked + lent - borrowed
        market = None if i == settle else price_market(engine, i)
        price = 1 if i == settle else (market.index_price if market is not None else 0)
        # collateral at the index (unknown: worth nothing); debts at the index, else the last trade
        owed_price = price if price or market is None else market.last_price
        if net >= 0:
            notional = _value(market, price, net, round_up=False) if i != settle else net
            w = weight(spec.collateral, notional, settle_decimals) if spec.collateral else 0
            cv = notional * w // WAD
            assets_value += notional
            collateral += cv
        else:
            notional = -(_value(market, owed_price, -net, round_up=True) if i != settle else -net)
            w = 0
            cv = 0
            liabilities += -notional
        if available or locked or lent or borrowed:
            rows.append(
                AssetRisk(
                    spec.symbol,
                    market.symbol if market else None,
                    price,
                    available + locked + lent,
                    available,
                    locked,
                    lent,
                    borrowed,
                    notional,
                    w,
                    cv,
                )
            )
    return AccountRisk(rows, assets_value, liabilities, collateral, collateral - liabilities)


def _value(market: MarketState | None, price: int, quantity: int, *, round_up: bool) -> int:
    """Settlement atoms for ``quantity`` base atoms at ``price`` ticks of ``market``."""
    if market is None or not price:
        return 0
    num = quantity * price * market.lot_tick_atoms
    return ceil_div(num, market.lot_atoms) if round_up else num // market.lot_atoms
