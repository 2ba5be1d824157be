"""The OpenAPI 3.1 document served at ``/openapi.json``.

Built from a compact table per operation (parameters, body, statuses). ``tests/api/test_openapi``
checks that it covers every route in ``app`` and runs schemathesis against a live server: no
input it generates may produce a 5xx, an undocumented status or a wrong content type.
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.openapi_compliance import COMPLIANCE_OPERATIONS, NO_CONTENT
from rucksack.exchange.api.openapi_compliance import EMPTY_OK as COMPLIANCE_EMPTY_OK
from rucksack.exchange.api.openapi_growth import GROWTH_OPERATIONS
from rucksack.exchange.store.fill_types import FILL_TYPE_QUERIES

DECIMAL = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "description": "decimal string"}
SYMBOL = {"type": "string", "description": "market symbol, e.g. SOL_USDC"}
BLOCKCHAIN = {
    "type": "string",
    "enum": ["Solana", "Eclipse", "Ethereum", "Base", "Arbitrum", "Optimism", "Polygon"],
    "description": "Backpack Blockchain enum (the chains Rucksack custodies)",
}
SIDE = {"type": "string", "enum": ["Bid", "Ask"]}
ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
ANY_JSON: dict[str, Any] = {}

ORDER_PAYLOAD = {
    "type": "object",
    "required": ["symbol", "side", "orderType"],
    "properties": {
        "symbol": SYMBOL,
        "side": SIDE,
        "orderType": {"type": "string", "enum": ["Limit", "Market"]},
        "price": DECIMAL,
        "quantity": DECIMAL,
        "quoteQuantity": DECIMAL,
        "timeInForce": {"type": "string", "enum": ["GTC", "IOC", "FOK"]},
        "postOnly": {"type": "boolean"},
        "selfTradePrevention": {"type": "string", "enum": ["RejectTaker", "RejectMaker", "RejectBoth"]},
        "clientId": {"type": "integer", "minimum": 0, "maximum": 4294967295},
        "reduceOnly": {"type": "boolean", "description": "perpetual markets only"},
    },
}
SUBACCOUNT = {"type": "integer", "minimum": 0, "maximum": 281474976710655, "description": "own subaccount id"}
SUBACCOUNT_KEY = {
    "type": "object",
    "required": ["subaccountId", "publicKey"],
    "properties": {
        "subaccountId": SUBACCOUNT,
        "publicKey": {"type": "string", "description": "base64 ED25519 public key (32 bytes)"},
    },
}


def q(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


PAGE = [
    q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
    q("offset", {"type": "integer", "minimum": 0}),
    q("sortDirection", {"type": "string", "enum": ["Asc", "Desc"]}),
]

# (method, path) -> (summary, query parameters, JSON body schema or None, extra statuses)
OPERATIONS: dict[tuple[str, str], tuple[str, list[dict[str, Any]], dict[str, Any] | None, list[int]]] = {
    ("GET", "/api/v1/assets"): ("Assets", [], None, []),
    ("GET", "/api/v1/markets"): ("Markets", [], None, []),
    ("GET", "/api/v1/market"): ("One market", [q("symbol", SYMBOL, True)], None, [400]),
    ("GET", "/api/v1/ticker"): (
        "24h ticker",
        [q("symbol", SYMBOL, True), q("interval", {"type": "string", "enum": ["1d", "1w"]})],
        None,
        [400],
    ),
    ("GET", "/api/v1/tickers"): ("All tickers", [q("interval", {"type": "string", "enum": ["1d", "1w"]})], None, [400]),
    ("GET", "/api/v1/depth"): (
        "Order book",
        [
            q("symbol", SYMBOL, True),
            q("limit", {"type": "string", "enum": ["5", "10", "20", "50", "100", "500", "1000"]}),
        ],
        None,
        [400],
    ),
    ("GET", "/api/v1/trades"): ("Recent trades", [q("symbol", SYMBOL, True), PAGE[0]], None, [400]),
    ("GET", "/api/v1/trades/history"): ("Trade history", [q("symbol", SYMBOL, True), *PAGE[:2]], None, [400]),
    ("GET", "/api/v1/klines"): (
        "Candles",
        [
            q("symbol", SYMBOL, True),
            q(
                "interval",
                {
                    "type": "string",
                    "enum": [
                        "1m",
                        "3m",
                        "5m",
                        "15m",
                        "30m",
                        "1h",
                        "2h",
                        "4h",
                        "6h",
                        "8h",
                        "12h",
                        "1d",
                        "3d",
                        "1w",
                        "1month",
                    ],
                },
                True,
            ),
            q("startTime", {"type": "integer", "minimum": 0}, True),
            q("endTime", {"type": "integer", "minimum": 0}),
            q("priceType", {"type": "string", "enum": ["Last", "Index", "Mark"]}),
        ],
        None,
        [400],
    ),
    ("GET", "/api/v1/status"): ("System status", [], None, []),
    ("GET", "/api/v1/ping"): ("Ping (text pong)", [], None, []),
    ("GET", "/api/v1/time"): ("Server time in ms (bare integer)", [], None, []),
    ("GET", "/api/v1/wallets"): ("Exchange wallets", [], None, []),
    ("GET", "/api/v1/account"): ("Account settings (accountQuery)", [q("subaccountId", SUBACCOUNT)], None, [404]),
    ("GET", "/api/v1/capital"): ("Balances (balanceQuery)", [q("subaccountId", SUBACCOUNT)], None, [404]),
    ("POST", "/api/v1/order"): ("Execute order (orderExecute)", [], ORDER_PAYLOAD, [400, 404]),
    ("GET", "/api/v1/order"): (
        "Open order (orderQuery)",
        [q("symbol", SYMBOL, True), q("orderId", {"type": "string"}), q("clientId", {"type": "integer"})],
        None,
        [400, 404],
    ),
    ("DELETE", "/api/v1/order"): (
        "Cancel order (orderCancel)",
        [],
        {
            "type": "object",
            "required": ["symbol"],
            "properties": {"symbol": SYMBOL, "orderId": {"type": "string"}, "clientId": {"type": "integer"}},
        },
        [400, 404],
    ),
    ("POST", "/api/v1/orders"): (
        "Batch execute (orderExecute, batch signing)",
        [],
        {"type": "array", "items": ORDER_PAYLOAD, "minItems": 1, "maxItems": 50},
        [400],
    ),
    ("GET", "/api/v1/orders"): (
        "Open orders (orderQueryAll)",
        [q("symbol", SYMBOL), q("marketType", {"type": "string", "enum": ["SPOT", "PERP"]})],
        None,
        [400],
    ),
    ("DELETE", "/api/v1/orders"): (
        "Cancel all (orderCancelAll)",
        [],
        {
            "type": "object",
            "required": ["symbol"],
            "properties": {
                "symbol": SYMBOL,
                "orderType": {"type": "string", "enum": ["RestingLimitOrder", "ConditionalOrder"]},
            },
        },
        [400],
    ),
    ("GET", "/wapi/v1/history/orders"): (
        "Order history (orderHistoryQueryAll)",
        [q("symbol", SYMBOL), q("orderId", {"type": "string"}), q("strategyId", {"type": "string"}), *PAGE],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/history/fills"): (
        "Fill history (fillHistoryQueryAll)",
        [
            q("symbol", SYMBOL),
            q("orderId", {"type": "string"}),
            q("strategyId", {"type": "string"}),
            q("fillType", {"type": "string", "enum": list(FILL_TYPE_QUERIES)}),
            q("from", {"type": "integer"}),
            q("to", {"type": "integer"}),
            *PAGE,
        ],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/capital/deposits"): (
        "Deposits (depositQueryAll)",
        [q("from", {"type": "integer"}), q("to", {"type": "integer"}), *PAGE[:2]],
        None,
        [400],
    ),
    ("GET", "/wapi/v1/capital/withdrawals"): (
        "Withdrawals (withdrawalQueryAll)",
        [q("from", {"type": "integer"}), q("to", {"type": "integer"}), *PAGE[:2]],
        None,
        [400],
    ),
    ("POST", "/wapi/v1/capital/withdrawals"): (
        "Withdraw to an address on a chain (withdraw): funds held, signed by the hot wallet, broadcast",
        [],
        {
            "type": "object",
            "required": ["address", "blockchain", "quantity", "symbol"],
            "properties": {
                "address": {"type": "string"},
                "blockchain": BLOCKCHAIN,
                "quantity": DECIMAL,
                "symbol": {"type": "string", "description": "asset, e.g. USDC"},
                "clientId": {"type": "string", "maxLength": 255},
                "twoFactorToken": {"type": "string"},
                "autoBorrow": {"type": "boolean"},
                "autoLendRedeem": {"type": "boolean"},
            },
        },
        [400, 503],
    ),
    ("GET", "/wapi/v1/capital/deposit/address"): (
        "Deposit address of the account on a chain (depositAddressQuery)",
        [q("blockchain", BLOCKCHAIN, True)],
        None,
        [400, 503],
    ),
    ("GET", "/api/v1/borrowLend/markets"): ("Borrow/lend markets", [], None, []),
    ("GET", "/api/v1/borrowLend/apy"): ("Each pool's current lend and borrow APY", [], None, []),
    ("GET", "/api/v1/prediction"): (
        "Prediction markets (none are listed: an empty list)",
        [q("symbol", {"type": "string"})],
        None,
        [],
    ),
    ("GET", "/api/v1/prediction/tags"): ("Prediction market tags (none: an empty list)", [], None, []),
    ("GET", "/api/v1/collateral"): ("Collateral haircut functions per asset", [], None, []),
    ("GET", "/api/v1/account/limits/order"): (
        "Max order quantity (maxOrderQuantity)",
        [
            q("symbol", SYMBOL, True),
            q("side", SIDE, True),
            q("price", DECIMAL),
            q("reduceOnly", {"type": "boolean"}),
            q("autoBorrow", {"type": "boolean"}),
            q("autoBorrowRepay", {"type": "boolean"}),
            q("autoLendRedeem", {"type": "boolean"}),
            q("subaccountId", SUBACCOUNT),
        ],
        None,
        [400, 404],
    ),
    ("GET", "/api/v1/account/limits/withdrawal"): (
        "Max withdrawal quantity (maxWithdrawalQuantity)",
        [
            q("symbol", {"type": "string"}, True),
            q("autoBorrow", {"type": "boolean"}),
            q("autoLendRedeem", {"type": "boolean"}),
            q("subaccountId", SUBACCOUNT),
        ],
        None,
        [400, 404],
    ),
    ("GET", "/api/v1/account/limits/borrow"): (
        "Max borrow quantity (maxBorrowQuantity)",
        [q("symbol", {"type": "string"}, True), q("subaccountId", SUBACCOUNT)],
        None,
        [400, 404],
    ),
    ("GET", "/api/v1/capital/collateral"): (
        "Margin account summary (collateralQuery)",
        [q("subaccountId", SUBACCOUNT)],
        None,
        [400, 404],
    ),
    ("PATCH", "/api/v1/account"): (
        "Update account settings (accountUpdate); 200 with an empty body",
        [],
        {
            "type": "object",
            "properties": {
                "autoBorrowSettlements": {"type": "boolean"},
                "autoLend": {"type": "boolean"},
                "autoRealizePnl": {"type": "boolean"},
                "autoRepayBorrows": {"type": "boolean"},
                "leverageLimit": {"type": "string", "pattern": r"^[0-9]+(\.0+)?$"},
                "subaccountId": SUBACCOUNT,
            },
        },
        [400, 404],
    ),
    ("GET", "/api/v1/position"): (
        "Open perpetual positions (positionQuery)",
        [
            q("symbol", SYMBOL),
            q("marketType", {"type": "string", "enum": ["PERP", "SPOT"]}),
            q("subaccountId", SUBACCOUNT),
        ],
        None,
        [400, 404],
    ),
    ("GET", "/api/v1/openInterest"): ("Open interest of perpetuals", [q("symbol", SYMBOL)], None, [400]),
    ("GET", "/api/v1/fundingRates"): (
        "Funding rates paid (history)",
        [
            q("symbol", SYMBOL, True),
            q("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
            q("offset", {"type": "integer", "minimum": 0}),
        ],
        None,
        [400],
    ),
    ("GET", "/wapi/v1/history/funding"): (
        "Funding payments (fundingHistoryQueryAll)",
        [q("symbol", SYMBOL), q("subaccountId", SUBACCOUNT), *PAGE],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/history/settlement"): (
        "Settlements (settlementHistoryQueryAll)",
        [q("source", {"type": "string"}), q("subaccountId", SUBACCOUNT), *PAGE],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/history/position"): (
        "Position history (positionHistoryQueryAll)",
        [
            q("symbol", SYMBOL),
            q("state", {"type": "string", "enum": ["Open", "Closed"]}),
            q("marketType", {"type": "string", "enum": ["PERP", "SPOT"]}),
            q("subaccountId", SUBACCOUNT),
            *PAGE,
        ],
        None,
        [400, 404],
    ),
    ("POST", "/api/v1/subaccounts"): (
        "Rucksack extension: create a subaccount (subaccountCreate)",
        [],
        {
            "type": "object",
            "properties": {"label": {"type": "string", "maxLength": 64}, "referralCode": {"type": "string"}},
        },
        [400],
    ),
    ("GET", "/api/v1/subaccounts"): ("Rucksack extension: list subaccounts (subaccountQueryAll)", [], None, []),
    ("POST", "/api/v1/subaccounts/transfer"): (
        "Rucksack extension: move funds between own subaccounts (subaccountTransfer)",
        [],
        {
            "type": "object",
            "required": ["symbol", "quantity"],
            "properties": {
                "fromSubaccountId": SUBACCOUNT,
                "toSubaccountId": SUBACCOUNT,
                "symbol": {"type": "string", "description": "asset, e.g. USDC"},
                "quantity": DECIMAL,
            },
        },
        [400, 404],
    ),
    ("POST", "/api/v1/subaccounts/apiKeys"): (
        "Rucksack extension: bind an API key to one of your subaccounts (subaccountApiKeyCreate)",
        [],
        SUBACCOUNT_KEY,
        [400, 404],
    ),
    ("DELETE", "/api/v1/subaccounts/apiKeys"): (
        "Rucksack extension: unbind a subaccount's API key (subaccountApiKeyDelete)",
        [],
        SUBACCOUNT_KEY,
        [400, 404],
    ),
    ("GET", "/api/v1/reserves/snapshot"): (
        "Rucksack extension: the latest proof-of-reserves snapshot (snapshot.json, reserves.json, zk.json, zkStatus)",
        [],
        None,
        [404],
    ),
    ("GET", "/api/v1/reserves/proof"): (
        "Rucksack extension: your own inclusion proof in the latest snapshot (reservesProofQuery)",
        [q("subaccountId", SUBACCOUNT)],
        None,
        [404],
    ),
    ("GET", "/api/v1/chain"): (
        "Rucksack extension: the public chain of signed state commitments, oldest first",
        [q("from", {"type": "integer", "minimum": 0}), q("limit", {"type": "integer", "minimum": 0, "maximum": 1000})],
        None,
        [400],
    ),
    ("GET", "/api/v1/chain/proofs"): (
        "Rucksack extension: inclusion proofs of your own orders and fills in the chain (chainProofQuery)",
        [
            q("subaccountId", SUBACCOUNT),
            q("from", {"type": "integer", "minimum": 0}),
            q("limit", {"type": "integer", "minimum": 0, "maximum": 1000}),
        ],
        None,
        [400, 404],
    ),
    ("POST", "/api/v1/sandbox/reserves/snapshot"): (
        "Sandbox: publish a proof-of-reserves snapshot now; zk: prove its zk tier in the background (X-Admin-Token)",
        [],
        {"type": "object", "properties": {"zk": {"type": "boolean", "description": "also prove the zk tier"}}},
        [400, 403],
    ),
    ("POST", "/api/v1/sandbox/premarket/list"): (
        "Sandbox: list a pre-market's token now; positions settle at its spot TWAP over the window (X-Admin-Token)",
        [],
        {
            "type": "object",
            "required": ["symbol"],
            "properties": {"symbol": SYMBOL, "windowSeconds": {"type": "integer", "minimum": 0, "maximum": 604800}},
        },
        [400, 403],
    ),
    ("POST", "/api/v1/sandbox/tick"): (
        "Sandbox: run one funding, settlement, liquidation, interest or strategies tick now (X-Admin-Token)",
        [],
        {
            "type": "object",
            "required": ["tick"],
            "properties": {
                "tick": {
                    "type": "string",
                    "enum": ["funding", "settlement", "liquidation", "interest", "strategies", "vaults"],
                },
                "advanceMs": {"type": "integer", "minimum": 0, "maximum": 86400000},
            },
        },
        [400, 403],
    ),
    ("POST", "/api/v1/sandbox/clock"): (
        "Sandbox: advance the exchange's clock (schedules come due, journaled at once; X-Admin-Token)",
        [],
        {
            "type": "object",
            "properties": {"advanceMs": {"type": "integer", "minimum": 0, "maximum": 34560000000}},
        },
        [400, 403],
    ),
    ("POST", "/api/v1/sandbox/backstop"): (
        "Sandbox: make an account a backstop liquidity provider (X-Admin-Token)",
        [],
        {
            "type": "object",
            "required": ["accountId"],
            "properties": {"accountId": {"type": "integer", "minimum": 1}, "enabled": {"type": "boolean"}},
        },
        [400, 403],
    ),
    ("GET", "/api/v1/markPrices"): (
        "Index and mark prices, funding estimate (perps)",
        [q("symbol", SYMBOL)],
        None,
        [400],
    ),
    ("POST", "/api/v1/borrowLend"): (
        "Borrow or lend, netted per asset (borrowLendExecute)",
        [],
        {
            "type": "object",
            "required": ["quantity", "side", "symbol"],
            "properties": {
                "quantity": DECIMAL,
                "side": {"type": "string", "enum": ["Borrow", "Lend"]},
                "symbol": {"type": "string", "description": "asset, e.g. USDC"},
            },
        },
        [400],
    ),
    ("GET", "/api/v1/borrowLend/positions"): (
        "Borrow/lend positions (borrowLendPositionQuery)",
        [q("subaccountId", SUBACCOUNT)],
        None,
        [404],
    ),
    ("POST", "/api/v1/sandbox/accounts"): (
        "Sandbox: create a funded account (X-Admin-Token)",
        [],
        {
            "type": "object",
            "required": ["publicKey"],
            "properties": {
                "publicKey": {"type": "string", "description": "base64 ED25519 public key"},
                "fund": {"type": "object", "additionalProperties": DECIMAL},
                "label": {"type": "string"},
                "region": {"type": "string", "description": "residence, ISO 3166 (docs/compliance.md)"},
                "level": {"type": "string", "enum": ["none", "basic", "full"]},
                "referralCode": {"type": "string", "description": "sign up with a referral code (docs/points.md)"},
                "autoLend": {"type": "boolean", "description": "default true, as on Backpack"},
            },
        },
        [400, 403],
    ),
    ("POST", "/api/v1/sandbox/signup"): (
        "Sandbox: a funded account for a browser-made key, fixed grant, no admin token",
        [],
        {
            "type": "object",
            "required": ["publicKey"],
            "properties": {
                "publicKey": {"type": "string", "description": "base64 ED25519 public key"},
                "label": {"type": "string"},
                "region": {"type": "string", "description": "residence, ISO 3166 (docs/compliance.md)"},
                "level": {"type": "string", "enum": ["none", "basic", "full"]},
                "referralCode": {"type": "string", "description": "sign up with a referral code (docs/points.md)"},
            },
        },
        [400, 403],
    ),
    ("POST", "/api/v1/sandbox/price"): (
        "Sandbox: set the demo makers' reference price (X-Admin-Token)",
        [],
        {"type": "object", "required": ["symbol", "price"], "properties": {"symbol": SYMBOL, "price": DECIMAL}},
        [400, 403],
    ),
    # operator actions: signed with the operator key (``serve --operator-key``), docs/api.md
    ("POST", "/api/v1/operator/price"): (
        "Operator: set a feed symbol's index price now (instruction operatorIndexPrice)",
        [],
        {"type": "object", "required": ["symbol", "price"], "properties": {"symbol": SYMBOL, "price": DECIMAL}},
        [400, 401, 403],
    ),
    ("POST", "/api/v1/operator/accounts"): (
        "Operator: open an account for a customer's public key, unfunded (instruction operatorAccountCreate)",
        [],
        {
            "type": "object",
            "required": ["publicKey"],
            "properties": {
                "publicKey": {"type": "string"},
                "label": {"type": "string"},
                "region": {"type": "string"},
                "level": {"type": "string"},
                "referralCode": {"type": "string", "description": "tied to the code's account for good"},
            },
        },
        [400, 401, 403],
    ),
    ("POST", "/api/v1/operator/backstop"): (
        "Operator: make an account a backstop liquidity provider (instruction operatorBackstop)",
        [],
        {
            "type": "object",
            "required": ["accountId"],
            "properties": {"accountId": {"type": "integer"}, "enabled": {"type": "boolean"}},
        },
        [400, 401, 403],
    ),
    ("POST", "/api/v1/operator/premarket/list"): (
        "Operator: list a pre-market's token; positions settle at its spot TWAP (instruction operatorPreMarketList)",
        [],
        {
            "type": "object",
            "required": ["symbol"],
            "properties": {"symbol": SYMBOL, "windowSeconds": {"type": "integer", "minimum": 0, "maximum": 604800}},
        },
        [400, 401, 403],
    ),
    ("POST", "/api/v1/operator/reserves/snapshot"): (
        "Operator: publish a proof-of-reserves snapshot now; zk: prove its zk tier too (operatorReservesSnapshot)",
        [],
        {"type": "object", "properties": {"zk": {"type": "boolean", "description": "also prove the zk tier"}}},
        [400, 401, 403],
    ),
    # the operator console (routes/console.py; docs/api.md "Operator console", docs/surveillance.md)
    ("GET", "/api/v1/operator/markets"): (
        "Operator: every market's status, prices, open orders and circuit breaker (operatorMarketQueryAll)",
        [],
        None,
        [401, 403],
    ),
    ("POST", "/api/v1/operator/market/status"): (
        "Operator: list/resume (Open), halt or delist a market (operatorMarketStatus; journaled SetMarketStatus)",
        [],
        {
            "type": "object",
            "required": ["symbol", "status"],
            "properties": {
                "symbol": SYMBOL,
                "status": {"type": "string", "enum": ["Open", "Halted", "Delisted"]},
                "cancelOrders": {"type": "boolean"},
                "reason": {"type": "string", "maxLength": 200},
            },
        },
        [400, 401, 403],
    ),
    ("GET", "/api/v1/operator/alerts"): (
        "Operator: surveillance alerts, newest first, with evidence (operatorAlertQueryAll)",
        [
            q("status", {"type": "string", "enum": ["Open", "Dismissed", "Reported", "Actioned"]}),
            q("typology", {"type": "string"}),
        ],
        None,
        [401, 403, 503],
    ),
    ("GET", "/api/v1/operator/alert"): (
        "Operator: one surveillance alert with its evidence (operatorAlertQuery)",
        [q("id", {"type": "string"}, True)],
        None,
        [401, 403, 404, 503],
    ),
    ("POST", "/api/v1/operator/alert/resolve"): (
        "Operator: resolve an alert (operatorAlertResolve; journaled ResolveAlert)",
        [],
        {
            "type": "object",
            "required": ["id", "resolution"],
            "properties": {
                "id": {"type": "string"},
                "resolution": {"type": "string", "enum": ["Dismissed", "Reported", "Actioned"]},
                "note": {"type": "string", "maxLength": 1000},
            },
        },
        [400, 401, 403, 404, 503],
    ),
    ("GET", "/api/v1/operator/insuranceFund"): (
        "Operator: the liquidity (insurance) fund's balances (operatorInsuranceFundQuery)",
        [],
        None,
        [401, 403],
    ),
    ("GET", "/api/v1/operator/feeTiers"): ("Operator: the fee tiers (operatorFeeTierQueryAll)", [], None, [401, 403]),
    ("POST", "/api/v1/operator/feeTier"): (
        "Operator: put an account on a fee tier (operatorFeeTierSet; journaled SetFeeTier)",
        [],
        {
            "type": "object",
            "required": ["accountId", "tier"],
            "properties": {"accountId": {"type": "integer", "minimum": 0}, "tier": {"type": "integer", "minimum": 0}},
        },
        [400, 401, 403, 404],
    ),
    ("POST", "/api/v1/operator/vipLevel"): (
        "Operator: an account owner's VIP level, the lowest tier it pays (operatorVipLevelSet; journaled SetFeeTier)",
        [],
        {
            "type": "object",
            "required": ["accountId", "vipLevel"],
            "properties": {
                "accountId": {"type": "integer", "minimum": 0},
                "vipLevel": {"type": "integer", "minimum": 0},
            },
        },
        [400, 401, 403, 404],
    ),
}


OPERATIONS.update(COMPLIANCE_OPERATIONS)  # core/compliance's routes (api/openapi_compliance.py)
OPERATIONS.update(GROWTH_OPERATIONS)  # points and affiliates (api/openapi_growth.py)
# RFQ and tokenized equities (api/routes/rfq.py, api/routes/equities.py); RFQ symbols are not
# book markets, so they are plain strings here
RFQ_SYMBOL = {"type": "string", "description": "RFQ market, e.g. NVDA.US_USDC_RFQ or SOL_USDC"}
ID = {"type": "string", "pattern": "^[0-9]{1,19}$"}
AUTO = {k: {"type": "boolean"} for k in ("autoBorrow", "autoBorrowRepay", "autoLend", "autoLendRedeem")}
RFQ_OPERATIONS: dict[tuple[str, str], tuple[str, list[dict[str, Any]], dict[str, Any] | None, list[int]]] = {
    ("GET", "/api/v1/securities"): ("Tokenized securities and their session quantity limits", [], None, []),
    ("GET", "/api/v1/stockSessions"): ("Stock trading sessions", [], None, []),
    ("GET", "/api/v1/stockHolidays"): ("Stock market holidays", [], None, []),
    ("GET", "/api/v1/market-sessions"): ("Market sessions (as stockSessions)", [], None, []),
    ("GET", "/api/v1/market-holidays"): ("Market holidays (as stockHolidays)", [], None, []),
    ("GET", "/api/v1/stockIndicativeQuote"): (
        "Indicative stock quote",
        [q("symbol", {"type": "string"}, True), q("side", SIDE, True), q("quantity", DECIMAL)],
        None,
        [400],
    ),
    ("POST", "/api/v1/rfq"): (
        "Submit RFQ (rfqSubmit)",
        [],
        {
            "type": "object",
            "required": ["symbol", "side"],
            "properties": {
                "symbol": RFQ_SYMBOL,
                "side": SIDE,
                "quantity": DECIMAL,
                "quoteQuantity": DECIMAL,
                "price": DECIMAL,
                "clientId": {"type": "integer", "minimum": 0, "maximum": 4294967295},
                "executionMode": {"type": "string", "enum": ["AwaitAccept", "Immediate"]},
                **AUTO,
            },
        },
        [400],
    ),
    ("POST", "/api/v1/rfq/quote"): (
        "Submit quote (quoteSubmit)",
        [],
        {
            "type": "object",
            "required": ["rfqId", "bidPrice", "askPrice"],
            "properties": {
                "rfqId": ID,
                "bidPrice": DECIMAL,
                "askPrice": DECIMAL,
                "clientId": {"type": "integer", "minimum": 0, "maximum": 4294967295},
                **AUTO,
            },
        },
        [400, 404],
    ),
    ("POST", "/api/v1/rfq/accept"): (
        "Accept quote (quoteAccept)",
        [],
        {
            "type": "object",
            "required": ["quoteId"],
            "properties": {"quoteId": ID, "rfqId": ID, "clientId": {"type": "integer", "minimum": 0}},
        },
        [400, 404],
    ),
    ("POST", "/api/v1/rfq/refresh"): (
        "Refresh RFQ (rfqRefresh)",
        [],
        {"type": "object", "required": ["rfqId"], "properties": {"rfqId": ID}},
        [400, 404],
    ),
    ("POST", "/api/v1/rfq/cancel"): (
        "Cancel RFQ (rfqCancel)",
        [],
        {"type": "object", "properties": {"rfqId": ID, "clientId": {"type": "integer", "minimum": 0}}},
        [400, 404],
    ),
    ("GET", "/api/v1/rfqs"): (
        "Open RFQs with their quotes (rfqQuery)",
        [q("symbol", RFQ_SYMBOL), q("rfqId", ID)],
        None,
        [400],
    ),
    ("GET", "/wapi/v1/history/rfq"): (
        "RFQ history (rfqHistoryQueryAll)",
        [
            q("rfqId", ID),
            q("symbol", RFQ_SYMBOL),
            q("status", {"type": "string"}),
            q("side", SIDE),
            q("subaccountId", SUBACCOUNT),
            *PAGE,
        ],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/history/quote"): (
        "Quote history (quoteHistoryQueryAll)",
        [
            q("quoteId", ID),
            q("symbol", RFQ_SYMBOL),
            q("status", {"type": "string"}),
            q("subaccountId", SUBACCOUNT),
            *PAGE,
        ],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/history/rfq/fill"): (
        "RFQ fills as requester (rfqFillHistoryQueryAll)",
        [
            q("quoteId", ID),
            q("symbol", RFQ_SYMBOL),
            q("side", SIDE),
            q("fillType", {"type": "string"}),
            q("subaccountId", SUBACCOUNT),
            *PAGE,
        ],
        None,
        [400, 404],
    ),
    ("GET", "/wapi/v1/history/quote/fill"): (
        "RFQ fills as quoter (quoteFillHistoryQueryAll)",
        [q("quoteId", ID), q("symbol", RFQ_SYMBOL), q("side", SIDE), q("subaccountId", SUBACCOUNT), *PAGE],
        None,
        [400, 404],
    ),
}
OPERATIONS.update(RFQ_OPERATIONS)

# Scheduled strategies (api/routes/strategies.py)
STRATEGY_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}
CLIENT_STRATEGY_ID = {"type": "integer", "minimum": 0, "maximum": 4294967295}
STRATEGY_TYPE = {"type": "string", "enum": ["Scheduled"]}
MARKET_TYPE = {"type": "string", "enum": ["SPOT", "PERP", "IPERP", "DATED", "PREDICTION", "RFQ"]}
STRATEGY_TARGET = {
    "type": "object",
    "required": ["symbol"],
    "properties": {"symbol": SYMBOL, "strategyId": STRATEGY_ID, "clientStrategyId": CLIENT_STRATEGY_ID},
}
OPERATIONS.update(
    {
        ("POST", "/api/v1/strategy"): (
            "Create a Scheduled (TWAP) strategy (strategyCreate); duration and interval in ms",
            [],
            {
                "type": "object",
                "required": ["symbol", "side", "strategyType", "quantity"],
                "properties": {
                    "symbol": SYMBOL,
                    "side": SIDE,
                    "strategyType": STRATEGY_TYPE,
                    "quantity": DECIMAL,
                    "price": DECIMAL,
                    "postOnly": {"type": "boolean", "enum": [False]},
                    "reduceOnly": {"type": "boolean"},
                    "selfTradePrevention": {"type": "string", "enum": ["RejectTaker", "RejectMaker", "RejectBoth"]},
                    "timeInForce": {"type": "string", "enum": ["IOC", "FOK"]},
                    "duration": {"type": "integer", "minimum": 1, "maximum": 1 << 39},
                    "interval": {"type": "integer", "minimum": 1, "maximum": 1 << 39},
                    "randomizedIntervalQuantity": {"type": "boolean"},
                    "clientStrategyId": CLIENT_STRATEGY_ID,
                    "slippageTolerance": DECIMAL,
                    "slippageToleranceType": {"type": "string", "enum": ["TickSize", "Percent"]},
                    "brokerId": {"type": "integer", "minimum": 0, "maximum": 65535},
                    **AUTO,
                },
            },
            [400],
        ),
        ("GET", "/api/v1/strategy"): (
            "A running strategy (strategyQuery)",
            [
                q("symbol", SYMBOL, True),
                q("strategyId", STRATEGY_ID),
                q("clientStrategyId", CLIENT_STRATEGY_ID),
                q("subaccountId", SUBACCOUNT),
            ],
            None,
            [400, 404],
        ),
        ("DELETE", "/api/v1/strategy"): ("Cancel a running strategy (strategyCancel)", [], STRATEGY_TARGET, [400, 404]),
        ("GET", "/api/v1/strategies"): (
            "Running strategies (strategyQueryAll)",
            [
                q("symbol", SYMBOL),
                q("marketType", MARKET_TYPE),
                q("strategyType", STRATEGY_TYPE),
                q("subaccountId", SUBACCOUNT),
            ],
            None,
            [400, 404],
        ),
        ("DELETE", "/api/v1/strategies"): (
            "Cancel every running strategy of a market (strategyCancelAll)",
            [],
            {"type": "object", "required": ["symbol"], "properties": {"symbol": SYMBOL, "strategyType": STRATEGY_TYPE}},
            [400],
        ),
        ("GET", "/wapi/v1/history/strategies"): (
            "Strategy history (strategyHistoryQueryAll)",
            [
                q("strategyId", STRATEGY_ID),
                q("symbol", SYMBOL),
                q("marketType", MARKET_TYPE),
                q("subaccountId", SUBACCOUNT),
                *PAGE,
            ],
            None,
            [400, 404],
        ),
    }
)

# vaults (api/routes/vaults.py; docs/vaults.md)
VAULT_ID = {"type": "integer", "minimum": 0, "maximum": 4294967295}
FRACTION = {"type": "string", "pattern": r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$", "description": "fraction of one"}
VAULT_ONLY = {"type": "object", "required": ["vaultId"], "properties": {"vaultId": VAULT_ID}}
OPERATIONS.update(
    {
        ("GET", "/api/v1/vaults"): ("Vaults with NAV, performance and drawdown (public)", [], None, []),
        ("GET", "/api/v1/vaults/history"): (
            "A vault's NAV samples over an interval (public)",
            [q("vaultId", VAULT_ID, True), q("interval", {"type": "string", "enum": ["1d", "1w", "1month", "1year"]})],
            None,
            [400, 404],
        ),
        ("POST", "/api/v1/vault"): (
            "Rucksack extension: open a vault you lead with a first deposit of the settlement asset (vaultCreate)",
            [],
            {
                "type": "object",
                "required": ["name", "quantity"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "quantity": DECIMAL,
                    "managementFee": FRACTION,
                    "performanceFee": FRACTION,
                    "leaderMinShare": FRACTION,
                    "lockupMs": {"type": "integer", "minimum": 0, "maximum": 31536000000},
                    "redeemDelayMs": {"type": "integer", "minimum": 0, "maximum": 31536000000},
                    "depositCap": DECIMAL,
                },
            },
            [400],
        ),
        ("POST", "/api/v1/vault/mint"): (
            "Deposit into a vault for vault tokens at NAV (vaultMint)",
            [],
            {
                "type": "object",
                "required": ["vaultId", "symbol", "quantity"],
                "properties": {"vaultId": VAULT_ID, "symbol": {"type": "string"}, "quantity": DECIMAL},
            },
            [400, 404],
        ),
        ("POST", "/api/v1/vault/redeem"): (
            "Request a redemption at NAV; all tokens when no quantity (vaultRedeemRequest)",
            [],
            {
                "type": "object",
                "required": ["vaultId"],
                "properties": {"vaultId": VAULT_ID, "vaultTokenQuantity": DECIMAL},
            },
            [400, 404],
        ),
        ("DELETE", "/api/v1/vault/redeem"): (
            "Cancel the pending redemption (vaultRedeemCancel)",
            [],
            VAULT_ONLY,
            [400, 404],
        ),
        ("GET", "/api/v1/vault/redeems/pending"): (
            "A vault's redemption queue: the vault's account or its leader (vaultPendingRedeemsQuery)",
            [q("vaultId", VAULT_ID, True)],
            None,
            [400, 403, 404],
        ),
        ("GET", "/api/v1/vault/nav"): (
            "A vault's NAV: the vault's account or its leader (vaultNavQuery)",
            [q("vaultId", VAULT_ID, True)],
            None,
            [400, 403, 404],
        ),
        ("GET", "/api/v1/vault/positions"): (
            "Rucksack extension: your shares in every vault, valued now (vaultPositionQuery)",
            [],
            None,
            [],
        ),
    }
)

OPERATIONS_JSON = {f"{m} {p}": v for (m, p), v in OPERATIONS.items()}
# operations that answer success with 200 and an empty body, as Backpack does
ASSET = {"type": "string", "description": "asset, e.g. USDC"}
POSITION_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}
# borrow/lend histories and conversions (api/routes/lending_history.py, conversion.py)
OPERATIONS.update(
    {
        ("GET", "/api/v1/borrowLend/markets/history"): (
            "Each pool's rates and totals by hour over an interval",
            [
                q("interval", {"type": "string", "enum": ["1d", "1w", "1month", "1year"]}, True),
                q("symbol", ASSET),
            ],
            None,
            [400],
        ),
        ("GET", "/api/v1/borrowLend/position/liquidationPrice"): (
            "Liquidation price after a hypothetical borrow (borrowLendPositionLiquidationPrice)",
            [
                q("borrow", {"type": "string", "description": "base64 of {quantity, side, symbol}"}, True),
                q("subaccountId", SUBACCOUNT),
            ],
            None,
            [404],
        ),
        ("GET", "/wapi/v1/history/borrowLend"): (
            "Borrow/lend movements (borrowHistoryQueryAll)",
            [
                q("type", {"type": "string", "enum": ["Borrow", "BorrowRepay", "Lend", "LendRedeem"]}),
                q("sources", {"type": "string", "description": "comma list of BorrowLendSource"}),
                q("positionId", POSITION_ID),
                q("symbol", ASSET),
                q("subaccountId", SUBACCOUNT),
                *PAGE,
            ],
            None,
            [404],
        ),
        ("GET", "/wapi/v1/history/interest"): (
            "Interest payments: every hourly accrual and entry fee (interestHistoryQueryAll)",
            [
                q("asset", ASSET),
                q("symbol", ASSET),
                q("positionId", POSITION_ID),
                q("source", {"type": "string", "enum": ["UnrealizedPnl", "BorrowLend"]}),
                q("subaccountId", SUBACCOUNT),
                *PAGE,
            ],
            None,
            [404],
        ),
        ("GET", "/wapi/v1/history/borrowLend/positions"): (
            "Borrow/lend positions open and closed (borrowPositionHistoryQueryAll)",
            [
                q("symbol", ASSET),
                q("side", {"type": "string", "enum": ["Borrow", "Lend"]}),
                q("state", {"type": "string", "enum": ["Open", "Closed"]}),
                q("subaccountId", SUBACCOUNT),
                *PAGE,
            ],
            None,
            [404],
        ),
        ("POST", "/api/v1/account/convertDust"): (
            "Convert dust (one asset, or all) to USDC (convertDust)",
            [],
            {"type": "object", "properties": {"symbol": ASSET}},
            [404],
        ),
        ("GET", "/wapi/v1/history/dust"): (
            "Dust conversions (dustHistoryQueryAll)",
            [
                q("id", {"type": "string", "pattern": "^[0-9]{1,18}$"}),
                q("symbol", ASSET),
                q("subaccountId", SUBACCOUNT),
                *PAGE,
            ],
            None,
            [404],
        ),
        ("POST", "/api/v1/account/convertCollateral"): (
            "Rucksack extension: swap one collateral asset for another at the book (collateralConvert)",
            [],
            {
                "type": "object",
                "required": ["fromSymbol", "toSymbol", "quantity"],
                "properties": {"fromSymbol": ASSET, "toSymbol": ASSET, "quantity": DECIMAL},
            },
            [404],
        ),
        ("GET", "/api/v1/account/nftVip/challenge"): (
            "Rucksack extension: the text the NFT-holding address signs (nftVipChallenge; NFT VIP perk)",
            [q("address", {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"}, True)],
            None,
            [400, 404],
        ),
        ("POST", "/api/v1/account/nftVip"): (
            "Rucksack extension: prove the NFT with the signed challenge; journaled GrantNftVip (nftVipProve)",
            [],
            {
                "type": "object",
                "required": ["address", "tokenId", "message", "signature"],
                "properties": {
                    "address": {"type": "string", "pattern": "^0x[0-9a-fA-F]{40}$"},
                    "tokenId": {"type": "integer", "minimum": 0, "maximum": 9223372036854775807},
                    "message": {"type": "string", "maxLength": 1000},
                    "signature": {"type": "string", "pattern": "^0x[0-9a-fA-F]{130}$"},
                },
            },
            [400, 404],
        ),
    }
)

OPERATIONS_JSON = {f"{m} {p}": v for (m, p), v in OPERATIONS.items()}
# operations that answer success with 200 and an empty body, as Backpack does
EMPTY_OK = {
    ("PATCH", "/api/v1/account"),
    ("POST", "/api/v1/borrowLend"),
    ("POST", "/api/v1/subaccounts/transfer"),
    ("POST", "/api/v1/account/convertDust"),
} | COMPLIANCE_EMPTY_OK


def build(
    private: set[tuple[str, str]],
    admin: set[tuple[str, str]],
    symbols: list[str],
    hidden: set[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """The document; ``symbols`` (the configured markets) become the enum of every symbol field;
    ``hidden`` operations (the sandbox's, in production) are left out."""
    import json

    text = json.dumps(OPERATIONS_JSON).replace(json.dumps(SYMBOL), json.dumps({**SYMBOL, "enum": symbols}))
    operations = {tuple(k.split(" ", 1)): v for k, v in json.loads(text).items()}
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), (summary, params, body, statuses) in operations.items():
        if hidden and (method, path) in hidden:
            continue
        responses: dict[str, Any] = {
            "200": {"description": "OK", "content": {"application/json": {"schema": ANY_JSON}}}
        }
        if path in ("/api/v1/ping",):
            responses["200"] = {"description": "pong", "content": {"text/plain": {"schema": {"type": "string"}}}}
        if (method, path) in EMPTY_OK:
            responses["200"] = {"description": "OK (empty body)"}
        if (method, path) in NO_CONTENT:
            responses["204"] = {"description": "No Content"}
        codes = set(statuses) | {400}
        if (method, path) in private:
            codes |= {401}
        if (method, path) in admin:
            codes |= {401, 403}
        if body is not None:
            codes |= {413}
        for code in sorted(codes):
            responses[str(code)] = {
                "description": "Backpack error body",
                "content": {"application/json": {"schema": ERROR}},
            }
        op: dict[str, Any] = {
            "summary": summary,
            "parameters": params,
            "responses": responses,
            "operationId": f"{method.lower()}{path.replace('/', '_')}",
        }
        if body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if (method, path) in private:
            op["security"] = [{"backpackSignature": []}]
        if (method, path) in admin:
            op["security"] = [{"adminToken": []}]
        paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rucksack — Backpack-compatible exchange API",
            "version": "0.1.0",
            "description": "Backpack's REST API (see docs/api.md). Private operations need ED25519 "
            "signatures in X-API-Key / X-Signature / X-Timestamp / X-Window.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "backpackSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-API-Key",
                    "description": "plus X-Signature, X-Timestamp, X-Window (Backpack signing)",
                },
                "adminToken": {"type": "apiKey", "in": "header", "name": "X-Admin-Token"},
            }
        },
    }
