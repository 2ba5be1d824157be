"""Events: immutable, past-tense facts emitted by the engine for each command.

Amounts are integers in the unit their names say. A rejected command produces a ``*Rejected``
event with a :class:`~rucksack.exchange.core.enums.Reason` string and changes nothing else.

Order lifecycle for one placement: ``OrderAccepted`` -> zero or more ``TradeExecuted`` ->
``OrderClosed`` (Filled, Expired) unless the remainder rests on the book; a resting order later
ends with ``OrderClosed`` (Filled, Cancelled, Expired), and a resting reduce-only order whose
position shrank under it may first be cut (``OrderModified``). ``lots``/``quote_atoms`` on
``OrderClosed`` are the totals executed.
"""

from __future__ import annotations

import msgspec

from rucksack.exchange.core.commands import PlaceOrder
from rucksack.exchange.core.compliance.events import ComplianceEvent
from rucksack.exchange.core.growth.events import GrowthEvent
from rucksack.exchange.core.premarket.events import PreMarketEvent
from rucksack.exchange.core.rfq.events import (
    QuoteClosed,
    QuoteSubmitted,
    RfqClosed,
    RfqFilled,
    RfqRefreshed,
    RfqRejected,
    RfqSubmitted,
)
from rucksack.exchange.core.strategies.events import StrategyEvent
from rucksack.exchange.core.tiers.events import TierEvent
from rucksack.exchange.core.vaults.events import VaultEvent


class OrderAccepted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """An order passed validation and its funds are held; ``order`` is the command as placed."""

    order_id: int
    ts_us: int
    order: PlaceOrder

    @property
    def account(self) -> int:
        return self.order.account

    @property
    def market(self) -> str:
        return self.order.market


class OrderRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    market: str
    client_id: int
    reason: str


class TradeExecuted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """One fill. Fees are charged in the asset each side receives (buyer: base, seller: quote);
    on perps both are in the settlement asset. ``liquidation_fee`` is the part of ``taker_fee``
    that is the liquidation penalty (paid to the liquidity fund) when the taker is an account
    being liquidated, else 0; read models take it from here instead of re-deriving it."""

    trade_id: int
    market: str
    price: int
    lots: int
    taker_order_id: int
    maker_order_id: int
    taker_account: int
    maker_account: int
    taker_side: str
    taker_fee: int
    maker_fee: int
    ts_us: int
    liquidation_fee: int = 0


class OrderClosed(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    order_id: int
    account: int
    market: str
    status: str
    reason: str
    filled_lots: int
    filled_quote_atoms: int


class OrderModified(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A resting reduce-only order cut to what its shrunken position leaves room for (Backpack's
    ``orderModified``): ``lots`` is its new quantity (what it had filled plus what still rests)."""

    order_id: int
    account: int
    market: str
    lots: int


class CancelRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    market: str
    order_id: int
    client_id: int
    reason: str


class Deposited(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    asset: str
    amount: int
    tx_id: str


class DepositRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    asset: str
    amount: int
    tx_id: str
    reason: str


class Withdrawn(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    asset: str
    amount: int
    request_id: str


class WithdrawalRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    asset: str
    amount: int
    request_id: str
    reason: str


class FeeTierSet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    tier: int


class FeeTierRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    tier: int
    reason: str


class AccountCreated(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    label: str
    parent: int = 0


class AccountRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A CreateAccount (unknown parent) or UpdateAccount (bad setting) that changed nothing."""

    account: int
    reason: str


class AccountUpdated(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    auto_lend: bool
    auto_realize_pnl: bool
    auto_borrow_settlements: bool
    auto_repay_borrows: bool
    leverage_limit: int


class Transferred(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    source: int
    target: int
    asset: str
    amount: int


class TransferRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    source: int
    target: int
    asset: str
    amount: int
    reason: str


class BackstopProviderSet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    enabled: bool


class PnlSettled(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """An account's settlement: ``realized`` PnL moved into unsettled, then ``paid`` atoms of
    unsettled settled against the wallet (negative: the account paid), ``borrowed`` of it
    borrowed from the pool; ``unsettled`` is what remains."""

    account: int
    realized: int
    paid: int
    borrowed: int
    unsettled: int


class FundingPaid(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """One market's funding for one hour: ``rate_wad`` (positive: longs pay shorts), the mark
    used, atoms paid by payers and received by receivers (the rounding dust goes to the
    liquidity fund)."""

    market: str
    hour: int
    rate_wad: int
    mark_price: int
    paid: int
    received: int


class LiquidationStarted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    net_equity: int
    maintenance: int
    exposure: int


class LiquidationEnded(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    net_equity: int
    maintenance: int


class PositionTransferred(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Liquidation stage 2 (``Backstop``) or 3 (``Adl``): ``lots`` (signed, from the liquidated
    account's side) move to ``counterparty``; the liquidated account fills at ``price``, the
    counterparty at ``counterparty_price``; the difference goes to the liquidity fund."""

    kind: str
    market: str
    account: int
    counterparty: int
    lots: int
    price: int
    counterparty_price: int


class BadDebt(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A liquidated account's negative net equity (``deficit``, settlement atoms) resolved by the
    loss waterfall: ``covered`` came from the liquidity fund, ``socialized`` was charged to the
    opposing winners (one ``LossSocialized`` per winner, just before this event) and
    ``residual`` stays on the account as negative unsettled balance. Never lenders' money."""

    account: int
    deficit: int
    covered: int
    socialized: int
    residual: int


class LossSocialized(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Part of a bankrupt ``account``'s deficit the liquidity fund could not cover, charged to
    ``counterparty`` (a position opposing the account's in ``market``, in profit) pro rata to its
    profit: ``amount`` atoms moved from the counterparty's unsettled balance to the account's."""

    market: str
    account: int
    counterparty: int
    amount: int


class ApiKeyAdded(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    public_key: str


class ApiKeyRemoved(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    public_key: str


class ApiKeyRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    public_key: str
    reason: str


class BorrowLendExecuted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``kind``: Lend, LendRedeem, Borrow or BorrowRepay (Backpack's BorrowLendEventType);
    ``source`` Backpack's BorrowLendSource (Manual, AutoLend, AutoBorrowRepay, SpotMargin,
    Withdrawal, Liquidation, DustConversion, ...); ``net`` the account's net position in the asset
    once it moved (lend claim minus debt, atoms: > 0 a lend, < 0 a borrow, 0 closed)."""

    account: int
    asset: str
    kind: str
    amount: int
    shares: int
    source: str = "Manual"
    net: int = 0


class InterestPaid(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Interest on one account's borrow/lend position in ``asset``: every hourly accrual
    (``payment_type`` Lend or Borrow) and a new borrow's entry fee (EntryFee). ``quantity`` is
    signed atoms (> 0 earned by a lender, < 0 paid by a borrower), ``rate_wad`` the APR applied."""

    account: int
    asset: str
    hour: int
    payment_type: str
    rate_wad: int
    quantity: int


class BorrowLendRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    asset: str
    side: str
    amount: int
    reason: str


class InterestAccrued(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """One pool, one hour: new indices, interest to lenders, lend shares minted to the fee account."""

    hour: int
    asset: str
    borrow_index: int
    lend_index: int
    to_lenders: int
    fee_shares: int
    # the pool as the hour closed (for the rate history): totals in atoms, APRs and utilization in WAD
    borrowed: int = 0
    lent: int = 0
    borrow_apr: int = 0
    lend_apr: int = 0
    utilization: int = 0


class DustConverted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """``quantity`` atoms of ``asset`` (a balance too small to trade) sold to the exchange for
    ``usdc`` atoms of the settlement asset (``ConvertDust``)."""

    account: int
    asset: str
    quantity: int
    usdc: int


class ConvertDustRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    asset: str
    reason: str


class IndexPriceSet(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A market's index and mark: after ``SetIndexPrice``, and when a risk or funding tick turns a
    perp's mark back to its index (its book lost its mid)."""

    market: str
    index_price: int
    mark_price: int


class IndexPriceRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    market: str
    price: int
    reason: str


class TriggerAccepted(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A trigger order is pending (Backpack's ``TriggerPending``): a standalone trigger order
    (``parent_id`` -1, ``order`` the command as placed) or a take-profit/stop-loss created for
    ``order.lots`` filled of order ``parent_id``. When it fires, ``TriggerFired`` is followed by
    the placement's usual events under the same ``order_id``; a placement the engine refuses
    closes it with status ``TriggerFailed``."""

    order_id: int
    ts_us: int
    order: PlaceOrder
    parent_id: int = -1

    @property
    def account(self) -> int:
        return self.order.account

    @property
    def market(self) -> str:
        return self.order.market


class TriggerFired(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A pending trigger's reference price reached its trigger price (``price``, ticks)."""

    order_id: int
    account: int
    market: str
    price: int
    ts_us: int


class MarketStatusChanged(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A market opened, halted or was delisted (core.halts); ``cancelled`` orders and
    triggers went with it. A circuit breaker's halt carries the index ``price`` that tripped it
    and the window's ``reference`` price (both 0 otherwise)."""

    market: str
    status: str
    reason: str
    cancelled: int
    ts_us: int
    price: int = 0
    reference: int = 0


class MarketStatusRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    market: str
    status: str
    reason: str


class AlertResolved(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """An operator resolved a surveillance alert: the journal is its audit trail (the core keeps
    no alert state; exchange.surveillance applies these when it reads the events)."""

    alert_id: str
    resolution: str
    note: str
    ts_us: int


class AlertResolutionRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    alert_id: str
    reason: str


class CheckpointPublished(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A record of the public chain of commitments entered the journal (core.checkpoints)."""

    seq: int
    record: str


class CheckpointRejected(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    seq: int
    reason: str


Event = (
    OrderAccepted
    | OrderRejected
    | TradeExecuted
    | OrderClosed
    | OrderModified
    | CancelRejected
    | Deposited
    | DepositRejected
    | Withdrawn
    | WithdrawalRejected
    | FeeTierSet
    | FeeTierRejected
    | AccountCreated
    | ApiKeyAdded
    | ApiKeyRejected
    | ApiKeyRemoved
    | BorrowLendExecuted
    | BorrowLendRejected
    | InterestAccrued
    | InterestPaid
    | DustConverted
    | ConvertDustRejected
    | IndexPriceSet
    | IndexPriceRejected
    | AccountRejected
    | AccountUpdated
    | Transferred
    | TransferRejected
    | BackstopProviderSet
    | PnlSettled
    | FundingPaid
    | LiquidationStarted
    | LiquidationEnded
    | PositionTransferred
    | BadDebt
    | LossSocialized
    | TriggerAccepted
    | TriggerFired
    | MarketStatusChanged
    | MarketStatusRejected
    | AlertResolved
    | AlertResolutionRejected
    | ComplianceEvent
    | RfqSubmitted
    | RfqRejected
    | QuoteSubmitted
    | RfqRefreshed
    | RfqFilled
    | RfqClosed
    | QuoteClosed
    | StrategyEvent
    | TierEvent
    | GrowthEvent
    | VaultEvent
    | PreMarketEvent
    | CheckpointPublished
    | CheckpointRejected
)
