"""Backpack error bodies ``{"code", "message"}`` and the mapping from core reasons to them."""

from __future__ import annotations

from collections.abc import Mapping

from rucksack.exchange.core.enums import Reason


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def bad_request(message: str, code: str = "INVALID_CLIENT_REQUEST") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str = "Resource not found") -> ApiError:
    return ApiError(404, "RESOURCE_NOT_FOUND", message)


def unauthorized(message: str, code: str = "UNAUTHORIZED") -> ApiError:
    return ApiError(401, code, message)


# core rejection reason -> (HTTP status, Backpack code, message)
REASONS: dict[str, tuple[int, str, str]] = {
    Reason.INSUFFICIENT_FUNDS: (400, "INSUFFICIENT_FUNDS", "Insufficient funds"),
    Reason.INVALID_PRICE: (400, "INVALID_PRICE", "Price is outside the market's price limits"),
    Reason.PRICE_OUT_OF_BOUNDS: (400, "INVALID_PRICE", "Price is too far from the last active price"),
    Reason.INVALID_QUANTITY: (
        400,
        "INVALID_QUANTITY",
        "Quantity is below the minimum, above the maximum, or the order value is below the minimum notional",
    ),
    Reason.UNKNOWN_MARKET: (400, "INVALID_MARKET", "Invalid market symbol"),
    Reason.MARKET_CLOSED: (400, "INVALID_MARKET", "Market is not open for trading"),
    Reason.MARKET_HALTED: (400, "TRADING_PAUSED", "Trading is paused on this market (CancelOnly)"),
    Reason.INVALID_STATUS: (400, "INVALID_CLIENT_REQUEST", "status must be Open, Halted or Delisted"),
    Reason.OPEN_INTEREST: (400, "PRECONDITION_FAILED", "A perp market with open positions cannot be delisted"),
    Reason.INVALID_RESOLUTION: (400, "INVALID_CLIENT_REQUEST", "Invalid alert resolution"),
    Reason.INVALID_CHECKPOINT: (400, "INVALID_CLIENT_REQUEST", "Invalid checkpoint record"),
    Reason.POST_ONLY_TAKER: (400, "INVALID_ORDER", "Order would immediately match and take"),
    Reason.DUPLICATE_CLIENT_ID: (400, "INVALID_ORDER", "An open order already uses this clientId"),
    Reason.INVALID_ORDER: (400, "INVALID_ORDER", "Invalid order"),
    Reason.BATCH_TOO_LARGE: (400, "INVALID_ORDER", "A batch holds at most 50 orders"),
    Reason.ORDER_NOT_FOUND: (404, "RESOURCE_NOT_FOUND", "Order not found"),
    Reason.UNKNOWN_ASSET: (400, "INVALID_ASSET", "Invalid asset"),
    Reason.INVALID_AMOUNT: (400, "INVALID_QUANTITY", "Invalid quantity"),
    Reason.NO_LENDING_MARKET: (400, "INVALID_ASSET", "This asset has no borrow/lend market"),
    Reason.LEND_REQUIRES_BORROW_REPAY: (
        400,
        "LEND_REQUIRES_BORROW_REPAY",
        "A Lend first repays the open borrow; repay it fully before lending",
    ),
    Reason.BORROW_REQUIRES_LEND_REDEEM: (
        400,
        "BORROW_REQUIRES_LEND_REDEEM",
        "A Borrow first redeems the open lend; redeem it fully before borrowing",
    ),
    Reason.BORROW_LIMIT: (400, "BORROW_LIMIT", "Borrow limit reached"),
    Reason.INSUFFICIENT_MARGIN: (400, "INSUFFICIENT_MARGIN", "Insufficient margin: available equity would be negative"),
    Reason.REDUCE_ONLY_NOT_REDUCED: (
        400,
        "INVALID_ORDER",
        "Reduce only order not reduced: a reduce-only order must reduce the position",
    ),
    Reason.POSITION_LIMIT: (
        400,
        "POSITION_LIMIT",
        "Position limit: the order would take the account's futures exposure above its positionLimit "
        "or the market's open interest above its limit",
    ),
    Reason.MAX_POSITION: (400, "POSITION_LIMIT", "The position would exceed the market's maximum position size"),
    Reason.ACCOUNT_LIQUIDATING: (400, "ACCOUNT_LIQUIDATING", "The account is being liquidated"),
    Reason.NO_MARK_PRICE: (400, "INVALID_MARKET", "The market has no mark price yet"),
    Reason.INVALID_SETTING: (400, "INVALID_CLIENT_REQUEST", "Invalid account setting"),
    "VaultHalted": (400, "INVALID_ORDER", "The vault is halted by its risk limits: reduce-only orders only"),
    # pre-markets (core.premarket; docs/premarket.md)
    Reason.ISOLATED_MARGIN_REQUIRED: (
        400,
        "PRECONDITION_FAILED",
        "Pre-markets trade in isolated margin: from a subaccount holding no other position, order or borrow",
    ),
    Reason.ALREADY_LISTED: (400, "PRECONDITION_FAILED", "The pre-market's token is already listed"),
    Reason.NO_INDEX: (400, "INVALID_MARKET", "A pre-market has no index price: its mark comes from its book"),
    # compliance (core/compliance; docs/compliance.md): GET /api/v1/account/compliance says why
    Reason.REGION_REFUSED: (403, "FORBIDDEN", "Residents of this region cannot be served"),
    Reason.INVALID_REGION: (400, "INVALID_CLIENT_REQUEST", "region must be an ISO 3166 code such as JP or UA-43"),
    Reason.INVALID_LEVEL: (400, "INVALID_CLIENT_REQUEST", "level must be none, basic or full"),
    Reason.SPOT_NOT_OFFERED: (403, "FORBIDDEN", "Spot trading is not offered to residents of the account's region"),
    Reason.MARGIN_NOT_OFFERED: (
        403,
        "FORBIDDEN",
        "Margin trading and borrowing are not offered to residents of the account's region",
    ),
    Reason.PERPS_NOT_OFFERED: (
        403,
        "FORBIDDEN",
        "Perpetual futures are not offered to residents of the account's region",
    ),
    Reason.LENDING_NOT_OFFERED: (403, "FORBIDDEN", "Lending is not offered to residents of the account's region"),
    Reason.VERIFICATION_REQUIRED: (
        403,
        "FORBIDDEN",
        "The account's verification level does not open this product; complete verification first",
    ),
    Reason.LEVERAGE_CAP: (
        400,
        "MAX_LEVERAGE_REACHED",
        "Leverage above the maximum allowed for residents of the account's region",
    ),
    Reason.DEPOSIT_LIMIT: (400, "INVALID_QUANTITY", "The deposit would exceed the account's daily deposit limit"),
    Reason.WITHDRAWAL_LIMIT: (
        400,
        "INVALID_QUANTITY",
        "The withdrawal would exceed the account's daily withdrawal limit",
    ),
    Reason.RECIPIENT_INFORMATION_REQUIRED: (
        400,
        "INVALID_CLIENT_REQUEST",
        "recipientInformation (the beneficiary's name, and its exchange when it is one) is required for this "
        "withdrawal (Travel Rule)",
    ),
    Reason.DELAY_EXISTS: (409, "INVALID_CLIENT_REQUEST", "A withdrawal delay already exists; PATCH changes it"),
    Reason.NO_DELAY: (404, "RESOURCE_NOT_FOUND", "No withdrawal delay is set; POST creates one"),
    Reason.INVALID_DELAY: (400, "INVALID_CLIENT_REQUEST", "withdrawalDelayHours is out of range"),
    Reason.WITHDRAWAL_NOT_HELD: (
        400,
        "INVALID_CLIENT_REQUEST",
        "The withdrawal is not held (already released, cancelled or unknown)",
    ),
    Reason.INVALID_RULE: (400, "INVALID_CLIENT_REQUEST", "The compliance rule is invalid"),
    Reason.POOL_LIMIT: (
        400,
        "INSUFFICIENT_SUPPLY",
        "The lending pool's utilization cap: borrowing this would take utilization above the pool's "
        "maximum (or this hour's throttle)",
    ),
    Reason.NOT_DUST: (
        400,
        "INVALID_CLIENT_REQUEST",
        "Not dust: only a balance (lend included, nothing locked or borrowed) below the market's minimum "
        "order quantity converts",
    ),
    Reason.POOL_EMPTY: (
        400,
        "INSUFFICIENT_SUPPLY",
        "The lending pool does not hold this much: not enough of the asset is lent and idle",
    ),
}


def from_reason(reason: str, own: Mapping[str, tuple[int, str, str]] | None = None) -> ApiError:
    """The Backpack-style error for a core rejection reason: a feature's ``own`` table first (RFQ,
    strategies, vaults, growth), then ``REASONS``; an unknown reason is a 400 naming it."""
    known = own.get(reason) if own is not None else None
    status, code, message = known or REASONS.get(reason, (400, "INVALID_CLIENT_REQUEST", reason))
    return ApiError(status, code, message)
