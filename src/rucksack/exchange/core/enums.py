"""Enumerations, spelled like Backpack's wire values so the API mapping is mechanical.

Commands and events carry the wire strings (``"Bid"``, ``"GTC"``, ``"Cancelled"``...). Inside the
book and ledger hot paths sides, time-in-force and self-trade-prevention modes are small ints;
the tables below convert between the two and are the only place the mapping lives.
"""

from __future__ import annotations

from typing import Final, Literal

Side = Literal["Bid", "Ask"]
OrderType = Literal["Limit", "Market"]
TimeInForce = Literal["GTC", "IOC", "FOK"]
SelfTradePrevention = Literal["RejectTaker", "RejectMaker", "RejectBoth", "Allow"]
MarketType = Literal["SPOT", "PERP", "RFQ"]

BID: Final = 0
ASK: Final = 1
SIDE_NAMES: Final = ("Bid", "Ask")

GTC: Final = 0
IOC: Final = 1
FOK: Final = 2
TIF_NAMES: Final = ("GTC", "IOC", "FOK")

STP_REJECT_TAKER: Final = 0
STP_REJECT_MAKER: Final = 1
STP_REJECT_BOTH: Final = 2
STP_ALLOW: Final = 3
STP_NAMES: Final = ("RejectTaker", "RejectMaker", "RejectBoth", "Allow")


class OrderStatus:
    """An order's status, in Backpack's ``OrderStatus`` spellings (plain strings, so events stay
    wire-ready). ``TRANSITIONS`` lists where each status may go; the terminal ones go nowhere.

    - ``TriggerPending``: a trigger order waiting for its price; it becomes ``New`` when it fires
      (or ``TriggerFailed`` when the placement it fires is refused).
    - ``New`` / ``PartiallyFilled``: accepted, resting or matching.
    - ``Filled``, ``Cancelled``, ``Expired``, ``TriggerFailed``: closed (``OrderClosed``).
    """

    NEW: Final = "New"
    PARTIALLY_FILLED: Final = "PartiallyFilled"
    FILLED: Final = "Filled"
    CANCELLED: Final = "Cancelled"
    EXPIRED: Final = "Expired"
    TRIGGER_PENDING: Final = "TriggerPending"
    TRIGGER_FAILED: Final = "TriggerFailed"


_OPEN_NEXT: Final = frozenset(
    (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED)
)
ORDER_TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    OrderStatus.TRIGGER_PENDING: frozenset(
        (OrderStatus.NEW, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.TRIGGER_FAILED)
    ),
    OrderStatus.NEW: _OPEN_NEXT,
    OrderStatus.PARTIALLY_FILLED: _OPEN_NEXT,
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
    OrderStatus.TRIGGER_FAILED: frozenset(),
}
"""Allowed status transitions (nautilus-style order status table)."""


def may_transition(old: str, new: str) -> bool:
    """Whether an order in status ``old`` may move to ``new``."""
    return new in ORDER_TRANSITIONS.get(old, frozenset())


def is_closed(status: str) -> bool:
    """Whether ``status`` is terminal (what an ``OrderClosed`` event carries)."""
    return status in ORDER_TRANSITIONS and not ORDER_TRANSITIONS[status]


class Reason:
    """Rejection and expiry reasons.

    Order reasons use Backpack's ``OrderExpiryReason`` spellings; the rest name what went wrong
    with a non-order command. All are plain strings so events stay wire-ready.
    """

    # Backpack OrderExpiryReason values
    FILL_OR_KILL: Final = "FillOrKill"
    IMMEDIATE_OR_CANCEL: Final = "ImmediateOrCancel"
    INSUFFICIENT_FUNDS: Final = "InsufficientFunds"
    INSUFFICIENT_LIQUIDITY: Final = "InsufficientLiquidity"
    INVALID_PRICE: Final = "InvalidPrice"
    INVALID_QUANTITY: Final = "InvalidQuantity"
    POST_ONLY_TAKER: Final = "PostOnlyTaker"
    PRICE_OUT_OF_BOUNDS: Final = "PriceOutOfBounds"
    PRICE_IMPACT: Final = "PriceImpact"
    SELF_TRADE_PREVENTION: Final = "SelfTradePrevention"
    # our own, for commands that are not order expiries
    UNKNOWN_MARKET: Final = "UnknownMarket"
    UNKNOWN_ASSET: Final = "UnknownAsset"
    MARKET_CLOSED: Final = "MarketClosed"
    MARKET_HALTED: Final = "MarketHalted"  # core.market_status: Halted (CancelOnly)
    INVALID_STATUS: Final = "InvalidStatus"
    OPEN_INTEREST: Final = "OpenInterest"  # a perp with open positions cannot be delisted
    INVALID_RESOLUTION: Final = "InvalidResolution"
    INVALID_CHECKPOINT: Final = "InvalidCheckpoint"  # core.checkpoints
    INVALID_ORDER: Final = "InvalidOrder"
    DUPLICATE_CLIENT_ID: Final = "DuplicateClientId"
    ORDER_NOT_FOUND: Final = "OrderNotFound"
    DUPLICATE_DEPOSIT: Final = "DuplicateDeposit"
    INVALID_AMOUNT: Final = "InvalidAmount"
    UNKNOWN_FEE_TIER: Final = "UnknownFeeTier"
    USER_CANCELLED: Final = "UserCancelled"
    BATCH_TOO_LARGE: Final = "BatchTooLarge"
    UNKNOWN_ACCOUNT: Final = "UnknownAccount"
    INVALID_KEY: Final = "InvalidKey"
    DUPLICATE_KEY: Final = "DuplicateKey"
    UNKNOWN_KEY: Final = "UnknownKey"
    NO_LENDING_MARKET: Final = "NoLendingMarket"
    LEND_REQUIRES_BORROW_REPAY: Final = "LendRequiresBorrowRepay"
    BORROW_REQUIRES_LEND_REDEEM: Final = "BorrowRequiresLendRedeem"
    BORROW_LIMIT: Final = "BorrowLimit"
    POOL_LIMIT: Final = "PoolLimit"  # the utilization cap (or its hourly throttle) would be passed
    NOT_DUST: Final = "NotDust"  # ConvertDust: the balance is tradable (or empty, locked or borrowed)
    POOL_EMPTY: Final = "PoolEmpty"  # the pool's idle cash is smaller than the amount (nothing lent)
    # margin (Backpack spellings where it has them)
    INSUFFICIENT_MARGIN: Final = "InsufficientMargin"
    REDUCE_ONLY_NOT_REDUCED: Final = "ReduceOnlyNotReduced"
    POSITION_LIMIT: Final = "PositionLimit"
    MAX_POSITION: Final = "MaxPosition"  # the market's largest position (markets.max_position_lots)
    LIQUIDATION: Final = "Liquidation"
    ACCOUNT_LIQUIDATING: Final = "AccountLiquidating"
    NO_MARK_PRICE: Final = "NoMarkPrice"
    INVALID_SETTING: Final = "InvalidSetting"
    # pre-markets (core.premarket)
    ISOLATED_MARGIN_REQUIRED: Final = "IsolatedMarginRequired"  # a pre-market trades from its own subaccount
    ALREADY_LISTED: Final = "AlreadyListed"
    NO_INDEX: Final = "PreMarketHasNoIndex"  # SetIndexPrice on a pre-market: its mark is its own
    # compliance (core/compliance): regions, products, levels, limits, withdrawal protection
    REGION_REFUSED: Final = "RegionRefused"
    INVALID_REGION: Final = "InvalidRegion"
    INVALID_LEVEL: Final = "InvalidLevel"
    SPOT_NOT_OFFERED: Final = "SpotNotOffered"
    MARGIN_NOT_OFFERED: Final = "MarginNotOffered"
    PERPS_NOT_OFFERED: Final = "PerpsNotOffered"
    LENDING_NOT_OFFERED: Final = "LendingNotOffered"
    VERIFICATION_REQUIRED: Final = "VerificationRequired"
    LEVERAGE_CAP: Final = "LeverageCap"
    DEPOSIT_LIMIT: Final = "DepositLimit"
    WITHDRAWAL_LIMIT: Final = "WithdrawalLimit"
    RECIPIENT_INFORMATION_REQUIRED: Final = "RecipientInformationRequired"
    DELAY_EXISTS: Final = "WithdrawalDelayExists"
    NO_DELAY: Final = "NoWithdrawalDelay"
    INVALID_DELAY: Final = "InvalidWithdrawalDelay"
    WITHDRAWAL_NOT_HELD: Final = "WithdrawalNotHeld"
    INVALID_RULE: Final = "InvalidRule"
