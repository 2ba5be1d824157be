"""Settlement of an accepted quote: the same ledger path, fees and margin rule as a book trade.

The requester is the taker (the spot taker fee of its tier), the quoter the maker. Each side's
payment (the buyer's ``lots * price * lot_tick_atoms`` quote atoms, the seller's ``lots *
lot_atoms`` base atoms) is checked first -- a shortfall covered by redeeming lent funds and then
borrowing when the side's flags allow (``ledger.operations.cover_shortfall``, dry run), then the
pre-trade margin rule (``risk.checks.margin_allows``) -- and only when both pass does anything
move: the covers, the two holds, ``ledger.balances.settle_spot_fill`` (fees on what each side
receives, rounded up by ``numeric.fee_atoms``, to the fee account), then each side's proceeds
repay a borrow and/or are lent (``ledger.operations.after_proceeds``). A refusal changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rucksack.exchange.core.enums import Reason
from rucksack.exchange.core.ledger.balances import Account, apply_hold, settle_spot_fill
from rucksack.exchange.core.ledger.operations import after_proceeds, auto_lend, cover_shortfall
from rucksack.exchange.core.markets import MarketSpec
from rucksack.exchange.core.numeric import fee_atoms
from rucksack.exchange.core.rfq.book import AutoFlags
from rucksack.exchange.core.risk.checks import has_exposure, margin_allows
from rucksack.exchange.core.tiers.volume import count_trade

if TYPE_CHECKING:
    from rucksack.exchange.core.exchange_state import ExchangeState


class Leg:
    """One side of the trade: who pays what, and the cover its payment needs."""

    __slots__ = ("acct", "auto", "borrow", "got", "got_amount", "paid", "paid_amount", "redeem")

    def __init__(self, acct: Account, auto: AutoFlags, paid: int, paid_amount: int, got: int, got_amount: int) -> None:
        self.acct = acct
        self.auto = auto
        self.paid, self.paid_amount = paid, paid_amount
        self.got, self.got_amount = got, got_amount
        self.redeem = self.borrow = 0


def check_leg(s: ExchangeState, leg: Leg) -> str:
    """Why ``leg`` cannot pay ("" when it can); sets the redeem/borrow its payment needs."""
    acct = leg.acct
    if acct.liquidating:
        return Reason.ACCOUNT_LIQUIDATING
    bal = acct.assets[leg.paid]
    short = leg.paid_amount - bal.available
    if short > 0:
        may_redeem = leg.auto.lend_redeem or acct.auto_lend
        redeem, borrow = cover_shortfall(s, acct, bal, leg.paid, short, may_redeem, leg.auto.borrow)
        if redeem < 0:
            return Reason.POOL_LIMIT if leg.auto.borrow else Reason.INSUFFICIENT_FUNDS
        leg.redeem, leg.borrow = redeem, borrow
    if (leg.borrow or has_exposure(s, acct)) and not margin_allows(
        s, acct, asset=leg.paid, delta=-leg.paid_amount, asset2=leg.got, delta2=leg.got_amount, new_debt=leg.borrow
    ):
        return Reason.INSUFFICIENT_MARGIN
    return ""


def settle(
    s: ExchangeState, m: MarketSpec, buyer: Leg, seller: Leg, buyer_fee_ppm: int, seller_fee_ppm: int
) -> tuple[int, int]:
    """Move the funds of two legs ``check_leg`` passed (on this same state); returns the fees
    (buyer's in base atoms, seller's in quote atoms)."""
    for leg in (buyer, seller):
        short = leg.paid_amount - leg.acct.assets[leg.paid].available
        if short > 0:
            may_redeem = leg.auto.lend_redeem or leg.acct.auto_lend
            done = cover_shortfall(
                s, leg.acct, leg.acct.assets[leg.paid], leg.paid, short, may_redeem, leg.auto.borrow, apply=True
            )
            assert done == (leg.redeem, leg.borrow)  # the dry run's path on the same state
        apply_hold(leg.acct.assets[leg.paid], leg.paid_amount)
    base, quote = buyer.got, buyer.paid
    base_atoms, quote_atoms = buyer.got_amount, buyer.paid_amount
    buyer_fee = fee_atoms(base_atoms, buyer_fee_ppm)
    seller_fee = fee_atoms(quote_atoms, seller_fee_ppm)
    fee_acct = s.ledger.accounts[s.fee_account]
    settle_spot_fill(
        buyer_base=buyer.acct.assets[base],
        buyer_quote=buyer.acct.assets[quote],
        seller_base=seller.acct.assets[base],
        seller_quote=seller.acct.assets[quote],
        fee_base=fee_acct.assets[base],
        fee_quote=fee_acct.assets[quote],
        base_atoms=base_atoms,
        quote_atoms=quote_atoms,
        buyer_fee=buyer_fee,
        seller_fee=seller_fee,
    )
    if quote == s.settle_asset:  # fee-tier volume, as a book trade's (core.tiers)
        count_trade(s.tiers, buyer.acct, seller.acct, s.last_ts_us, quote_atoms, False, s.programme_excluded)
    for leg in (buyer, seller):
        after_proceeds(s, leg.acct, leg.got, leg.auto.borrow_repay or leg.acct.auto_repay_borrows)
        if leg.auto.lend and not leg.acct.auto_lend:  # this RFQ's autoLend: lend the proceeds
            auto_lend(s, leg.acct, leg.got)
    return buyer_fee, seller_fee
