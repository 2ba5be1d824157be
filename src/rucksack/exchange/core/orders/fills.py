"""R2: settle one match's fills (margin-model.md §7; fees on what each side receives, rounded up).

Spot: base and quote move between the parties' holds and balances, fees to the fee account;
proceeds then repay a borrow of the received asset and/or are lent (autoRepay, autoLend).
Perps: positions move at the fill price, fees (and a liquidation order's penalty, to the
liquidity fund) are charged to unsettled settlement-asset balances, and resting reduce-only
orders are trimmed to what the positions left them.
Every fill's notional (USDC-quoted markets) counts towards both owners' fee-tier volume
(``tiers.volume.count_trade``; docs/api.md "Fee tiers").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rucksack.exchange.core.book.order import Order
from rucksack.exchange.core.enums import BID, SIDE_NAMES
from rucksack.exchange.core.ledger.balances import Account, settle_spot_fill
from rucksack.exchange.core.ledger.operations import after_proceeds
from rucksack.exchange.core.market_state import MarketState
from rucksack.exchange.core.numeric import fee_atoms
from rucksack.exchange.core.orders.resting import order_account, record_fill, trim_reduce_only
from rucksack.exchange.core.tiers.volume import count_trade

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


def settle_spot(
    s: ExchangeState, m: MarketState, taker: Order, taker_acct: Account, fills: list[Order], ts_box: Any
) -> None:
    accounts = s.ledger.accounts
    fee_acct = accounts[s.fee_account]
    base, quote, lot_atoms, lta = m.base, m.quote, m.lot_atoms, m.lot_tick_atoms
    fee_base, fee_quote = fee_acct.assets[base], fee_acct.assets[quote]
    taker_base, taker_quote = taker_acct.assets[base], taker_acct.assets[quote]
    taker_rate = s.spot_taker_ppm[taker_acct.tier]
    maker_rates = s.spot_maker_ppm
    taker_buys = taker.side == BID
    taker_side = SIDE_NAMES[taker.side]
    symbol = m.symbol
    price = 0
    lenders: list[Order] = []  # makers whose proceeds may repay or be lent
    tiers = s.tiers if quote == s.settle_asset else None  # fee-tier volume: USDC-quoted markets only
    for maker in fills:
        n = maker.fill_lots
        price = maker.price
        base_atoms = n * lot_atoms
        quote_atoms = n * price * lta
        maker_acct = order_account(s, maker)
        maker_rate = maker_rates[maker_acct.tier]
        # fees on what each side receives, rounded up (ledger's favour)
        if taker_buys:
            taker_fee = fee_atoms(base_atoms, taker_rate)
            maker_fee = fee_atoms(quote_atoms, maker_rate)
            settle_spot_fill(
                buyer_base=taker_base,
                buyer_quote=taker_quote,
                seller_base=maker_acct.assets[base],
                seller_quote=maker_acct.assets[quote],
                fee_base=fee_base,
                fee_quote=fee_quote,
                base_atoms=base_atoms,
                quote_atoms=quote_atoms,
                buyer_fee=taker_fee,
                seller_fee=maker_fee,
            )
            taker.hold -= quote_atoms
            maker.hold -= base_atoms
        else:
            taker_fee = fee_atoms(quote_atoms, taker_rate)
            maker_fee = fee_atoms(base_atoms, maker_rate)
            settle_spot_fill(
                buyer_base=maker_acct.assets[base],
                buyer_quote=maker_acct.assets[quote],
                seller_base=taker_base,
                seller_quote=taker_quote,
                fee_base=fee_base,
                fee_quote=fee_quote,
                base_atoms=base_atoms,
                quote_atoms=quote_atoms,
                buyer_fee=maker_fee,
                seller_fee=taker_fee,
            )
            taker.hold -= base_atoms
            maker.hold -= quote_atoms
        record_fill(
            s,
            symbol,
            taker,
            maker,
            n=n,
            price=price,
            quote_atoms=quote_atoms,
            taker_side=taker_side,
            taker_fee=taker_fee,
            maker_fee=maker_fee,
            ts_box=ts_box,
        )
        if tiers is not None:
            count_trade(tiers, taker_acct, maker_acct, ts_box, quote_atoms, False, s.programme_excluded)
        if maker.auto_repay or maker_acct.auto_lend:
            lenders.append(maker)
    # spot margin and auto-lend: proceeds repay a borrow of the received asset, then are lent
    if taker.auto_repay or taker_acct.auto_lend:
        after_proceeds(s, taker_acct, base if taker_buys else quote, taker.auto_repay)
    for maker in lenders:
        after_proceeds(s, order_account(s, maker), quote if taker_buys else base, maker.auto_repay)
    m.last_price = price
    if not m.index_price:
        s.margin.epoch += 1  # unpriced debts are valued at the last trade


def settle_perp(
    s: ExchangeState, m: MarketState, taker: Order, taker_acct: Account, fills: list[Order], ts_box: Any
) -> None:
    """Settle perp fills: positions move, fees are charged to unsettled balances (USDC)."""
    accounts = s.ledger.accounts
    fee_acct = accounts[s.fee_account]
    fund = accounts[s.risk.liquidity_fund_account]
    lta = m.lot_tick_atoms
    mi = m.index
    taker_rate = s.futures_taker_ppm[taker_acct.tier]
    extra_ppm = s.liquidation_fee_ppm  # nonzero only while a liquidation order executes
    taker_pos = taker_acct.position(mi)
    sign = 1 if taker.side == BID else -1
    taker_side = SIDE_NAMES[taker.side]
    symbol = m.symbol
    price = 0
    touched: list[Account] = [taker_acct]
    for maker in fills:
        n = maker.fill_lots
        price = maker.price
        notional = n * price * lta
        maker_acct = order_account(s, maker)
        maker_pos = maker_acct.position(mi)
        taker_fee = fee_atoms(notional, taker_rate)
        maker_fee = fee_atoms(notional, s.futures_maker_ppm[maker_acct.tier])
        longs_before = (taker_pos.lots if taker_pos.lots > 0 else 0) + (maker_pos.lots if maker_pos.lots > 0 else 0)
        taker_pos.apply_fill(sign * n, sign * notional)
        maker_pos.apply_fill(-sign * n, -sign * notional)
        longs_after = (taker_pos.lots if taker_pos.lots > 0 else 0) + (maker_pos.lots if maker_pos.lots > 0 else 0)
        if taker_pos is maker_pos:  # a self-trade (STP Allow) changes nothing
            longs_after = longs_before
        m.open_interest += longs_after - longs_before
        maker.hold -= n
        if maker.side == BID:
            maker_pos.open_buys -= n
        else:
            maker_pos.open_sells -= n
        taker_acct.unsettled -= taker_fee
        maker_acct.unsettled -= maker_fee
        fee_acct.unsettled += taker_fee + maker_fee
        taker_pos.fees += taker_fee
        maker_pos.fees += maker_fee
        penalty = 0
        if extra_ppm:
            penalty = fee_atoms(notional, extra_ppm)
            taker_acct.unsettled -= penalty
            taker_pos.fees += penalty
            fund.unsettled += penalty
            taker_fee += penalty
        closed = record_fill(
            s,
            symbol,
            taker,
            maker,
            n=n,
            price=price,
            quote_atoms=notional,
            taker_side=taker_side,
            taker_fee=taker_fee,
            maker_fee=maker_fee,
            ts_box=ts_box,
            liquidation_fee=penalty,
        )
        count_trade(s.tiers, taker_acct, maker_acct, ts_box, notional, True, s.programme_excluded)  # fee-tier volume
        if closed and maker.reduce_only:
            maker_pos.reduce_only.remove(maker.id)
        if maker_pos.reduce_only:
            touched.append(maker_acct)
    m.last_price = price
    if not m.index_price:
        s.margin.epoch += 1  # unpriced debts are valued at the last trade
    for acct in touched:
        pos = acct.positions[mi]
        if pos.reduce_only:
            trim_reduce_only(s, m, pos)
