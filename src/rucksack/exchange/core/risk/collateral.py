"""Collateral value and net equity of an account, at index prices (reference model §14.1): the
per-asset rows of the margin summary.

Per asset ``a``: net quantity ``N = available + locked + lend claim - debt``; an asset is priced
by the index of its market against the settlement asset (the spot market, else the perp — the
engine's ``MarginCalc.pricers``); one base atom is worth ``index * lot_tick_atoms / lot_atoms``
settlement atoms.

- collateral value ``CV = value(max(N, 0)) * W`` with the value rounded down and the weight ``W``
  truncated to 9 decimals (parts per billion), the product rounded down — exactly the engine's
  ``MarginCalc.collateral``, so ``sum CV - sum L`` is the engine's figure to the atom;
- borrow liability ``L = value(max(-N, 0))`` — rounded up;
- net equity ``= sum CV - sum L`` (the engine adds unrealized PnL and unsettled balances).

An asset whose market has no index price yet is worth nothing as collateral (conservative) and,
should it be owed, is valued at its last trade price.
"""

from __future__ import annotations

from dataclasses import dataclass

from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import PPB, WAD


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
    weight: int  # WAD, truncated to 9 decimals (the engine applies it in parts per billion)
    collateral_value: int  # settlement atoms


@dataclass(frozen=True)
class AccountRisk:
    assets: list[AssetRisk]
    assets_value: int  # sum of positive notionals
    liabilities_value: int  # sum of borrow liabilities
    collateral_value: int
    net_equity: int


def price_market(engine: Engine, asset: int) -> MarketState | None:
    """The market pricing ``asset`` against the settlement asset (spot, else perp), if any."""
    return None if asset == engine.margin.settle else engine.margin.pricers[asset]


def account_risk(engine: Engine, account: int) -> AccountRisk:
    calc = engine.margin
    settle = calc.settle
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
        market = price_market(engine, i)
        price = 1 if i == settle else (market.index_price if market is not None else 0)
        if net >= 0:
            notional = calc.value(i, net, False)
            ppb, cv = calc.collateral(i, notional) if spec.collateral else (0, 0)
            w = ppb * (WAD // PPB)
            assets_value += notional
            collateral += cv
        else:
            notional = -calc.value(i, -net, True)  # a debt: at the index, else the last trade
            w = 0
            cv = 0
            liabilities += -notional
        if available or locked or lent or borrowed:
            rows.append(
                AssetRisk(
                    symbol=spec.symbol,
                    price_market=market.symbol if market else None,
                    price_ticks=price,
                    total=available + locked + lent,
                    available=available,
                    locked=locked,
                    lent=lent,
                    borrowed=borrowed,
                    notional=notional,
                    weight=w,
                    collateral_value=cv,
                )
            )
    return AccountRisk(rows, assets_value, liabilities, collateral, collateral - liabilities)
