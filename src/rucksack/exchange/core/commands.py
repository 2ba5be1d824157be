"""Commands: immutable requests to change state, applied in sequence order by the engine.

Every field is an integer in the unit its name says (``lots``, ``price`` in ticks, ``*_atoms``)
or a Backpack wire string. Commands are msgspec structs tagged by class name; the journal stores
them as MessagePack arrays. The sequencer wraps each in a :class:`Stamped` entry carrying the
sequence number and timestamp, which is the only source of time the core ever sees.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from rucksack.exchange.core.compliance.commands import ComplianceCommand
from rucksack.exchange.core.enums import OrderType, SelfTradePrevention, Side, TimeInForce
from rucksack.exchange.core.growth.commands import GrowthCommand
from rucksack.exchange.core.premarket.commands import PreMarketCommand
from rucksack.exchange.core.rfq.commands import (
    AcceptQuote,
    CancelRfq,
    ExpireRfqs,
    RefreshRfq,
    SubmitQuote,
    SubmitRfq,
)
from rucksack.exchange.core.strategies.commands import StrategyCommand
from rucksack.exchange.core.tiers.commands import TierCommand
from rucksack.exchange.core.vaults.commands import VaultCommand


class PlaceOrder(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Place a limit or market order.

    Limit: ``price`` (ticks) and ``lots`` required. Market: exactly one of ``lots`` or
    ``quote_atoms`` (Backpack's ``quoteQuantity``). ``client_id`` < 0 means none.
    """

    account: int
    market: str
    side: Side
    order_type: OrderType
    lots: int = 0
    price: int = 0
    quote_atoms: int = 0
    tif: TimeInForce = "GTC"
    post_only: bool = False
    stp: SelfTradePrevention = "RejectTaker"
    client_id: int = -1
    reduce_only: bool = False
    auto_borrow: bool = False  # spot margin: borrow what the hold lacks
    auto_borrow_repay: bool = False  # proceeds repay a borrow of the received asset
    auto_lend_redeem: bool = False  # redeem lent funds the hold needs
    # trigger orders (orders.triggers): a standalone trigger waits until ``trigger_by`` reaches
    # ``trigger_price``; take-profit/stop-loss (``*_limit`` 0: market) attach to the filled part
    trigger_price: int = 0
    trigger_by: str = ""  # MarkPrice | LastPrice | IndexPrice; "" the market's default
    take_profit_price: int = 0
    take_profit_limit: int = 0
    take_profit_by: str = ""
    stop_loss_price: int = 0
    stop_loss_limit: int = 0
    stop_loss_by: str = ""


class PlaceOrders(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A batch of orders applied in order, each with its own result (at most 50)."""

    orders: list[PlaceOrder]


class CancelOrder(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Cancel one resting order by ``order_id`` or, when it is < 0, by ``client_id``."""

    account: int
    market: str
    order_id: int = -1
    client_id: int = -1


class CancelAllOrders(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    account: int
    market: str


class Deposit(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Credit ``amount`` atoms; idempotent by ``tx_id`` (a second one is rejected)."""

    account: int
    asset: str
    amount: int
    tx_id: str


class Withdraw(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Debit ``amount`` atoms from available balance."""

    account: int
    asset: str
    amount: int
    request_id: str = ""
    address: str = ""  # "<blockchain>:<address>" of a chain withdrawal ("" internal): allow-list, delay
    beneficiary: str = ""  # Travel Rule beneficiary details (JSON text), required above the entity's threshold


class SetFeeTier(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The operator's VIP level (a tier index) for ``account``'s owner: its accounts' tier is never
    below it (core.tiers; 0 removes it). The name predates volume tiers; the journal keeps it."""

    account: int
    tier: int


class CreateAccount(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Open a new user account, or a subaccount of ``parent``; the engine assigns the next id."""

    label: str = ""
    parent: int = 0
    region: str = ""  # residence (ISO 3166); refused regions fail here (core/compliance)
    level: str = ""  # verification level ("" the rules' level for new accounts: none)
    auto_lend: bool = True  # Backpack's default for a new account (False: the wallet stays idle)
    referral_code: str = ""  # signed up with this code: tied to its referrer for good (core.growth)


class Transfer(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Move ``amount`` atoms of available balance between two wallets owned by ``account``
    (itself or its subaccounts); checked against the source's margin."""

    account: int
    source: int
    target: int
    asset: str
    amount: int


class UpdateAccount(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Backpack's account settings (PATCH /api/v1/account); ``None`` leaves a setting unchanged."""

    account: int
    auto_lend: bool | None = None
    auto_realize_pnl: bool | None = None
    auto_borrow_settlements: bool | None = None
    auto_repay_borrows: bool | None = None
    leverage_limit: int | None = None


class SetBackstopProvider(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Admin: make ``account`` a backstop liquidity provider (stage 2 of liquidation) or not."""

    account: int
    enabled: bool


class SettlePnl(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick (every 10 s): realize unrealized PnL into unsettled for accounts with
    ``autoRealizePnl`` and settle unsettled balances through the USDC waterfall (§14.6)."""


class ApplyFunding(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick: pay funding for every whole hour up to ``hour`` not paid yet (§14.4)."""

    hour: int


class LiquidationSweep(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick (every second): check every account with exposure and run liquidations."""


class AddApiKey(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Bind an ED25519 public key (standard base64, 44 characters) to an existing account."""

    account: int
    public_key: str


class RemoveApiKey(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Unbind ``public_key`` from ``account`` (refused unless the key is bound to exactly that account)."""

    account: int
    public_key: str


class BorrowLend(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Backpack's netted borrow/lend: ``Lend`` repays an open borrow first, else lends from
    available balance; ``Borrow`` redeems an open lend first, else borrows (risk engine: later)."""

    account: int
    asset: str
    side: Literal["Borrow", "Lend"]
    amount: int


class SetIndexPrice(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """The index price of a market (ticks), from the price feed or the sandbox admin."""

    market: str
    price: int


class AccrueInterest(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Scheduler tick: accrue every pool once for each whole hour up to ``hour`` (hours since the
    Unix epoch) not accrued yet. Idempotent: an hour is never accrued twice."""

    hour: int


class SetMarketStatus(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: open (list, resume), halt or delist a market (core.halts). A halt keeps
    open orders unless ``cancel_orders``; a delisting always cancels them."""

    market: str
    status: str  # Open | Halted | Delisted
    cancel_orders: bool = False
    reason: str = ""


class ResolveAlert(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Operator: resolve a surveillance alert (journaled as the audit trail; no core state)."""

    alert_id: str
    resolution: str  # Dismissed | Reported | Actioned
    note: str = ""


class ConvertDust(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """Sell the account's dust of ``asset`` ("" every asset) to the exchange for the settlement
    asset (``core.conversion``)."""

    account: int
    asset: str = ""


class PublishCheckpoint(msgspec.Struct, frozen=True, tag=True, array_like=True, gc=False):
    """A signed record of the public chain of commitments (``exchange.checkpoints``) for the state at
    ``seq``: journaled so the chain travels with the journal (restart, replicas, failover). No core state."""

    seq: int
    record: str  # canonical JSON of the signed record (rucksack.reserves.chain)


Command = (
    PlaceOrder
    | PlaceOrders
    | CancelOrder
    | CancelAllOrders
    | Deposit
    | Withdraw
    | SetFeeTier
    | CreateAccount
    | AddApiKey
    | BorrowLend
    | AccrueInterest
    | SetIndexPrice
    | Transfer
    | UpdateAccount
    | SetBackstopProvider
    | SettlePnl
    | ApplyFunding
    | LiquidationSweep
    | RemoveApiKey
    | SetMarketStatus
    | ResolveAlert
    | ComplianceCommand
    | SubmitRfq
    | SubmitQuote
    | AcceptQuote
    | RefreshRfq
    | CancelRfq
    | ExpireRfqs
    | ConvertDust
    | StrategyCommand
    | TierCommand
    | GrowthCommand  # points and affiliates (core.growth)
    | VaultCommand
    | PreMarketCommand
    | PublishCheckpoint
)


class Stamped(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """A command with the sequence number and timestamp (microseconds) the sequencer gave it."""

    seq: int
    ts_us: int
    command: Command
