"""The HTTP application: Backpack's paths under /api/v1 and /wapi/v1, plus our sandbox paths.

One dispatcher looks requests up in ``ROUTES`` (method, path) -> (instruction or None, handler),
so every answer — unknown paths and malformed input included — is a Backpack error body with a
4xx status; an unexpected exception is logged and answered with a 500 ``SERVER_ERROR`` body,
and since handlers only submit whole commands, nothing is ever half applied.

Order entry (``ORDER_ENTRY``: placing one order or a batch, cancelling one) is the hot path: the
app ``create_app`` returns answers it straight from the ASGI scope, ahead of Starlette's middleware
and routing, with the same functions the dispatcher uses for every private route (body reading,
parsing, authentication, the handler, the error mapping and the response), so its answers are the
same bytes; everything else goes through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.datastructures import Headers, QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from rucksack.exchange import metrics
from rucksack.exchange.api import openapi
from rucksack.exchange.api.errors import ApiError, bad_request, unauthorized
from rucksack.exchange.api.payload import parse_json
from rucksack.exchange.api.routes import (
    account,
    compliance,
    console,
    conversion,
    equities,
    growth,
    history,
    lending,
    lending_history,
    market,
    nft_vip,
    operator,
    operator_compliance,
    positions,
    prediction,
    premarket,
    reserves,
    rfq,
    sandbox,
    sandbox_margin,
    strategies,
    subaccounts,
    trading,
    vaults,
)
from rucksack.exchange.api.ws import Hub
from rucksack.exchange.core import queries
from rucksack.exchange.core.compliance.commands import RecordOperatorAction
from rucksack.exchange.sequencer.sequencer import NotWriter, SequencerHalted, UnencodableCommand
from rucksack.exchange.service import ExchangeService

log = logging.getLogger("rucksack.api")
JSON = "application/json; charset=utf-8"
MAX_BODY = 256 * 1024

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Handler = Callable[[ExchangeService, int, Any], Awaitable[Any]]
PublicHandler = Callable[[ExchangeService, dict[str, str]], Awaitable[Any]]

PUBLIC: dict[tuple[str, str], PublicHandler] = {
    ("GET", "/api/v1/assets"): market.assets,
    ("GET", "/api/v1/markets"): market.markets,
    ("GET", "/api/v1/market"): market.market,
    ("GET", "/api/v1/ticker"): market.ticker,
    ("GET", "/api/v1/tickers"): market.tickers,
    ("GET", "/api/v1/depth"): market.depth,
    ("GET", "/api/v1/trades"): market.trades,
    ("GET", "/api/v1/trades/history"): market.trades_history,
    ("GET", "/api/v1/klines"): market.klines,
    ("GET", "/api/v1/status"): market.status,
    ("GET", "/api/v1/wallets"): market.wallets,
    ("GET", "/api/v1/borrowLend/markets"): lending.borrow_lend_markets,
    ("GET", "/api/v1/borrowLend/markets/history"): lending_history.markets_history,
    ("GET", "/api/v1/borrowLend/apy"): lending.borrow_lend_apy,
    ("GET", "/api/v1/markPrices"): market.mark_prices,
    ("GET", "/api/v1/collateral"): market.collateral_functions,
    ("GET", "/api/v1/openInterest"): market.open_interest,
    ("GET", "/api/v1/fundingRates"): market.funding_rates,
    # Rucksack extension: proof of reserves (docs/reserves.md)
    ("GET", "/api/v1/reserves/snapshot"): reserves.reserves_snapshot,
    # Rucksack extension: the public chain of commitments (docs/reserves.md)
    ("GET", "/api/v1/chain"): reserves.chain,
    # Rucksack extension: the regions the compliance rules name (docs/compliance.md; the sign-up form)
    ("GET", "/api/v1/compliance/regions"): compliance.regions,
}

PUBLIC.update(equities.PUBLIC)  # securities, stock sessions/holidays, indicative quotes
PUBLIC.update(prediction.PUBLIC)  # prediction markets: none listed, an empty list (docs/api.md)
PUBLIC.update(growth.PUBLIC)  # Rucksack extension: points seasons and the leaderboard (docs/points.md)
PUBLIC.update(vaults.PUBLIC)  # vaults: the list and NAV history (docs/vaults.md)

# the one private route whose body is a JSON array (Backpack's batch order execute)
BATCH = {("POST", "/api/v1/orders")}
PRIVATE: dict[tuple[str, str], tuple[str, Handler]] = {
    ("GET", "/api/v1/account"): ("accountQuery", account.account),
    # Rucksack extension: the NFT VIP perk's proof (routes/nft_vip.py; exchange.nft_perk)
    ("GET", "/api/v1/account/nftVip/challenge"): ("nftVipChallenge", nft_vip.challenge),
    ("POST", "/api/v1/account/nftVip"): ("nftVipProve", nft_vip.prove),
    ("GET", "/api/v1/capital"): ("balanceQuery", account.capital),
    ("POST", "/api/v1/order"): ("orderExecute", trading.order_execute),
    ("GET", "/api/v1/order"): ("orderQuery", trading.order_query),
    ("DELETE", "/api/v1/order"): ("orderCancel", trading.order_cancel),
    ("POST", "/api/v1/orders"): ("orderExecute", trading.orders_execute),
    ("GET", "/api/v1/orders"): ("orderQueryAll", trading.orders_query),
    ("DELETE", "/api/v1/orders"): ("orderCancelAll", trading.orders_cancel),
    ("GET", "/wapi/v1/history/orders"): ("orderHistoryQueryAll", trading.order_history),
    ("GET", "/wapi/v1/history/fills"): ("fillHistoryQueryAll", trading.fill_history),
    ("GET", "/wapi/v1/capital/deposits"): ("depositQueryAll", account.deposits),
    ("GET", "/wapi/v1/capital/withdrawals"): ("withdrawalQueryAll", account.withdrawals),
    ("POST", "/wapi/v1/capital/withdrawals"): ("withdraw", account.withdraw),
    ("GET", "/wapi/v1/capital/deposit/address"): ("depositAddressQuery", account.deposit_address),
    ("POST", "/api/v1/borrowLend"): ("borrowLendExecute", lending.borrow_lend_execute),
    ("GET", "/api/v1/borrowLend/positions"): ("borrowLendPositionQuery", lending.borrow_lend_positions),
    ("GET", "/api/v1/capital/collateral"): ("collateralQuery", positions.capital_collateral),
    ("GET", "/api/v1/account/limits/order"): ("maxOrderQuantity", account.max_order_quantity),
    ("GET", "/api/v1/account/limits/withdrawal"): ("maxWithdrawalQuantity", account.max_withdrawal_quantity),
    ("GET", "/api/v1/account/limits/borrow"): ("maxBorrowQuantity", account.max_borrow_quantity),
    ("PATCH", "/api/v1/account"): ("accountUpdate", account.account_update),
    ("GET", "/api/v1/position"): ("positionQuery", positions.positions),
    ("GET", "/wapi/v1/history/funding"): ("fundingHistoryQueryAll", history.funding_history),
    ("GET", "/wapi/v1/history/settlement"): ("settlementHistoryQueryAll", history.settlement_history),
    ("GET", "/wapi/v1/history/position"): ("positionHistoryQueryAll", history.position_history),
    ("GET", "/wapi/v1/history/borrowLend"): ("borrowHistoryQueryAll", lending_history.borrow_lend_history),
    ("GET", "/wapi/v1/history/interest"): ("interestHistoryQueryAll", lending_history.interest_history),
    ("GET", "/wapi/v1/history/borrowLend/positions"): (
        "borrowPositionHistoryQueryAll",
        lending_history.borrow_lend_position_history,
    ),
    ("GET", "/api/v1/borrowLend/position/liquidationPrice"): (
        "borrowLendPositionLiquidationPrice",
        lending_history.liquidation_price,
    ),
    ("POST", "/api/v1/account/convertDust"): ("convertDust", conversion.convert_dust),
    ("GET", "/wapi/v1/history/dust"): ("dustHistoryQueryAll", conversion.dust_history),
    # Rucksack extension: collateral conversion at the book (Backpack converts through RFQ; docs/api.md)
    ("POST", "/api/v1/account/convertCollateral"): ("collateralConvert", conversion.convert_collateral),
    # Rucksack extension: subaccounts (Backpack publishes no endpoint; docs/api.md)
    ("POST", "/api/v1/subaccounts"): ("subaccountCreate", subaccounts.create_subaccount),
    ("GET", "/api/v1/subaccounts"): ("subaccountQueryAll", subaccounts.list_subaccounts),
    ("POST", "/api/v1/subaccounts/transfer"): ("subaccountTransfer", subaccounts.transfer),
    ("POST", "/api/v1/subaccounts/apiKeys"): ("subaccountApiKeyCreate", subaccounts.add_api_key),
    ("DELETE", "/api/v1/subaccounts/apiKeys"): ("subaccountApiKeyDelete", subaccounts.remove_api_key),
    # Rucksack extension: the caller's own proof-of-reserves inclusion proof (docs/reserves.md)
    ("GET", "/api/v1/reserves/proof"): ("reservesProofQuery", reserves.reserves_proof),
    # Rucksack extension: inclusion proofs of the caller's own orders and fills (docs/reserves.md)
    ("GET", "/api/v1/chain/proofs"): ("chainProofQuery", reserves.chain_proofs),
    # withdrawal protection (Backpack's delay; the allow-list and cancel are Rucksack extensions)
    ("GET", "/wapi/v1/capital/withdrawals/delay"): ("withdrawalDelayQuery", compliance.delay_query),
    ("POST", "/wapi/v1/capital/withdrawals/delay"): ("withdrawalDelayCreate", compliance.delay_create),
    ("PATCH", "/wapi/v1/capital/withdrawals/delay"): ("withdrawalDelayUpdate", compliance.delay_update),
    ("DELETE", "/wapi/v1/capital/withdrawals"): ("withdrawalCancel", compliance.withdrawal_cancel),
    ("GET", "/wapi/v1/capital/withdrawals/addresses"): ("withdrawalAddressQueryAll", compliance.addresses),
    ("POST", "/wapi/v1/capital/withdrawals/addresses"): ("withdrawalAddressCreate", compliance.address_add),
    ("DELETE", "/wapi/v1/capital/withdrawals/addresses"): ("withdrawalAddressDelete", compliance.address_remove),
    # Rucksack extension: which products are open to the account and why (docs/compliance.md)
    ("GET", "/api/v1/account/compliance"): ("accountComplianceQuery", compliance.account_compliance),
}

PRIVATE.update(rfq.PRIVATE)  # RFQ: request, quote, accept, refresh, cancel, open RFQs, histories
PRIVATE.update(strategies.PRIVATE)  # Scheduled strategies: create, query, cancel, cancel all, history
PRIVATE.update(growth.PRIVATE)  # Rucksack extension: own points, referral code and dashboard (docs/points.md)
PRIVATE.update(vaults.PRIVATE)  # vaults: create, mint, redeem, cancel, pending, NAV, positions (docs/vaults.md)

ADMIN: dict[tuple[str, str], Callable[[ExchangeService, Any], Awaitable[Any]]] = {
    ("POST", "/api/v1/sandbox/accounts"): sandbox.sandbox_create_account,
    ("POST", "/api/v1/sandbox/price"): sandbox.sandbox_set_price,
    ("POST", "/api/v1/sandbox/signup"): sandbox.sandbox_signup,
    ("POST", "/api/v1/sandbox/tick"): sandbox_margin.sandbox_tick,
    ("POST", "/api/v1/sandbox/clock"): sandbox_margin.sandbox_clock,
    ("POST", "/api/v1/sandbox/backstop"): sandbox_margin.sandbox_backstop,
    ("POST", "/api/v1/sandbox/reserves/snapshot"): reserves.sandbox_reserves_snapshot,
    ("POST", "/api/v1/sandbox/premarket/list"): premarket.list_premarket,  # list a pre-market's token now
}
# operator actions, signed with an operator key like Backpack's API signing (routes/operator.py,
# routes/operator_compliance.py, routes/console.py):
# (instruction, handler, roles) -- a key may act when it holds one of the roles (the admin key given
# with --operator-key holds them all); every request that changes something is journaled in the audit
# trail (RecordOperatorAction; docs/compliance.md)
OperatorHandler = Callable[[ExchangeService, Any], Awaitable[Any]]
ADMIN_ONLY = frozenset({"admin"})
COMPLIANCE = frozenset({"compliance"})
RISK = frozenset({"risk"})
OPERATIONS = frozenset({"operations"})
RISK_OPS = RISK | OPERATIONS
OPERATOR: dict[tuple[str, str], tuple[str, OperatorHandler, frozenset[str]]] = {
    ("POST", "/api/v1/operator/price"): ("operatorIndexPrice", operator.set_index_price, RISK),
    ("POST", "/api/v1/operator/accounts"): ("operatorAccountCreate", operator.create_account, COMPLIANCE | OPERATIONS),
    ("POST", "/api/v1/operator/backstop"): ("operatorBackstop", operator.backstop, RISK),
    # pre-markets (routes/premarket.py; docs/premarket.md): list the real token, settle at its TWAP
    ("POST", "/api/v1/operator/premarket/list"): ("operatorPreMarketList", premarket.list_premarket, RISK_OPS),
    ("POST", "/api/v1/operator/reserves/snapshot"): (
        "operatorReservesSnapshot",
        operator.reserves_snapshot,
        OPERATIONS,
    ),
    # the operator console (docs/api.md, "Operator console"; docs/surveillance.md)
    ("GET", "/api/v1/operator/markets"): ("operatorMarketQueryAll", console.markets, RISK_OPS),
    ("POST", "/api/v1/operator/market/status"): ("operatorMarketStatus", console.set_market_status, RISK_OPS),
    ("GET", "/api/v1/operator/alerts"): ("operatorAlertQueryAll", console.alerts, COMPLIANCE),
    ("GET", "/api/v1/operator/alert"): ("operatorAlertQuery", console.alert, COMPLIANCE),
    ("POST", "/api/v1/operator/alert/resolve"): ("operatorAlertResolve", console.resolve_alert, COMPLIANCE),
    ("GET", "/api/v1/operator/insuranceFund"): ("operatorInsuranceFundQuery", console.insurance_fund, RISK_OPS),
    ("GET", "/api/v1/operator/feeTiers"): ("operatorFeeTierQueryAll", console.fee_tiers, OPERATIONS),
    ("POST", "/api/v1/operator/feeTier"): ("operatorFeeTierSet", console.set_fee_tier, OPERATIONS),
    ("POST", "/api/v1/operator/vipLevel"): ("operatorVipLevelSet", console.set_vip_level, OPERATIONS),
    ("POST", "/api/v1/operator/keys"): ("operatorKeySet", operator_compliance.keys_set, ADMIN_ONLY),
    ("GET", "/api/v1/operator/keys"): ("operatorKeyQueryAll", operator_compliance.keys_list, ADMIN_ONLY),
    ("POST", "/api/v1/operator/identity"): ("operatorIdentitySet", operator_compliance.identity_set, COMPLIANCE),
    ("GET", "/api/v1/operator/compliance/accounts"): (
        "operatorComplianceAccountQuery",
        operator_compliance.accounts_review,
        COMPLIANCE | OPERATIONS,
    ),
    ("GET", "/api/v1/operator/compliance/rules"): (
        "operatorComplianceRulesQuery",
        operator_compliance.rules_get,
        COMPLIANCE | RISK | OPERATIONS,
    ),
    ("POST", "/api/v1/operator/compliance/rules"): (
        "operatorComplianceRuleSet",
        operator_compliance.rule_set,
        COMPLIANCE,
    ),
    ("POST", "/api/v1/operator/compliance/refused"): (
        "operatorComplianceRefusedSet",
        operator_compliance.refused_set,
        COMPLIANCE,
    ),
    ("POST", "/api/v1/operator/compliance/limits"): (
        "operatorComplianceLimitsSet",
        operator_compliance.limits_set,
        COMPLIANCE,
    ),
    ("GET", "/api/v1/operator/withdrawals"): (
        "operatorWithdrawalQueryAll",
        operator_compliance.withdrawals_held,
        COMPLIANCE | OPERATIONS,
    ),
    ("POST", "/api/v1/operator/withdrawals/review"): (
        "operatorWithdrawalReview",
        operator_compliance.withdrawal_review,
        OPERATIONS,
    ),
    ("GET", "/api/v1/operator/audit"): ("operatorAuditQuery", operator_compliance.audit_query, COMPLIANCE),
    ("GET", "/api/v1/operator/audit/export"): ("operatorAuditExport", operator_compliance.audit_export, COMPLIANCE),
    # points and affiliates (docs/points.md): an approved affiliate rate; surveillance's links between owners
    ("POST", "/api/v1/operator/affiliate/rate"): ("operatorAffiliateRateSet", growth.set_rate, OPERATIONS),
    ("POST", "/api/v1/operator/points/link"): ("operatorPointsLink", growth.link, COMPLIANCE),
}
# private routes answered ahead of Starlette (the module docstring): the order-entry hot path
ORDER_ENTRY = frozenset({("POST", "/api/v1/order"), ("POST", "/api/v1/orders"), ("DELETE", "/api/v1/order")})
# sandbox paths that need sandbox mode but no admin token (the web front end's "start trading")
SANDBOX_OPEN = {("POST", "/api/v1/sandbox/signup")}
# behind gateways the public port is theirs: the sequencer process's own metrics are answered here
# (the gateway forwards this path to it unchanged, gateway.process.PROXIED); with no gateways, too
SEQUENCER_METRICS = "/metrics/sequencer"
# every path we answer (the metrics label a request's route by it)
KNOWN_PATHS = {p for _, p in (*PUBLIC, *PRIVATE, *ADMIN, *OPERATOR)} | {"/api/v1/ping", "/api/v1/time", "/openapi.json"}
KNOWN_PATHS |= {"/metrics", SEQUENCER_METRICS}
# the static web front end (docs/web.md); RUCKSACK_WEB_DIR points elsewhere, a missing folder serves none
WEB_DIR = Path(os.environ.get("RUCKSACK_WEB_DIR", Path(__file__).resolve().parents[4] / "web"))


def error_response(err: ApiError) -> Response:
    return Response(
        msgspec.json.encode({"code": err.code, "message": err.message}), status_code=err.status, media_type=JSON
    )


def json_response(payload: Any) -> Response:
    if isinstance(payload, Response):  # a handler's own answer (204 No Content)
        return payload
    if payload is None:
        return Response(b"", status_code=200)
    return Response(msgspec.json.encode(payload), media_type=JSON)


class Api:
    """The HTTP/WebSocket app: ``ORDER_ENTRY`` requests answered here, the rest by ``starlette``
    (lifespan included)."""

    def __init__(self, service: ExchangeService, starlette: Starlette) -> None:
        self.service = service
        self.starlette = starlette

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (key := (scope["method"], scope["path"])) in ORDER_ENTRY:
            started = time.perf_counter()
            work = _private(self.service, key, Headers(scope=scope), scope["query_string"], receive)
            response = await _answer(key, work)
            metrics.request_done(key[0], key[1], response.status_code, time.perf_counter() - started)
            await response(scope, receive, send)
        else:
            await self.starlette(scope, receive, send)


def create_app(
    service: ExchangeService, background: list[Callable[[], Awaitable[None]]] | None = None, *, websockets: bool = True
) -> Api:
    """The ASGI app; ``background`` coroutines (demo makers, feeds) run while it serves. Without
    ``websockets`` (the sequencer process behind gateways, whose gateways run the streams) there is
    no hub and no /ws."""

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        service.start()
        tasks = [asyncio.ensure_future(job()) for job in jobs]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            service.close()

    async def dispatch(request: Request) -> Response:
        started = time.perf_counter()
        path = request.url.path
        response = await _answer((request.method, path), _dispatch(service, request))
        elapsed = time.perf_counter() - started
        metrics.request_done(request.method, route_label(path), response.status_code, elapsed)
        return response

    # production (no admin token) serves no sandbox path, so its document lists none
    hidden = set() if service.admin_token is not None else set(ADMIN)
    service.openapi = msgspec.json.encode(
        openapi.build(set(PRIVATE) | set(OPERATOR), set(ADMIN) - SANDBOX_OPEN, list(service.wire.markets), hidden)
    )

    jobs = [*(background or [])]
    routes: list[BaseRoute] = []
    if websockets:
        hub = Hub(service)

        async def websocket(socket: WebSocket) -> None:
            await hub.serve(socket)

        jobs += [hub.tick, hub.depth_tick]
        routes += [WebSocketRoute("/ws", websocket), WebSocketRoute("/", websocket)]
    if (WEB_DIR / "index.html").is_file():

        async def index(request: Request) -> Response:
            return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

        routes.append(Route("/", index, methods=["GET", "HEAD"]))
        for name in ("assets", "vendor"):
            routes.append(Mount(f"/{name}", StaticFiles(directory=WEB_DIR / name, check_dir=False), name=name))
    routes.append(Route("/{path:path}", dispatch, methods=["GET", "POST", "DELETE", "PATCH", "PUT"]))
    return Api(service, Starlette(routes=routes, lifespan=lifespan))


async def _answer(key: tuple[str, str], work: Awaitable[Response]) -> Response:
    """``work``'s response, or the Backpack error its exception maps to (``key``: method and path)."""
    try:
        return await work
    except ApiError as err:
        return error_response(err)
    except UnencodableCommand as exc:
        return error_response(ApiError(400, "INVALID_CLIENT_REQUEST", str(exc)))
    except NotWriter:  # a hot standby's gateways before it takes over: try the writer (or again soon);
        # Backpack's code for "no trading here now": clients retry it (ccxt: ExchangeNotAvailable)
        return error_response(ApiError(503, "TRADING_PAUSED", "This server is a standby; it is not the writer"))
    except SequencerHalted:  # an engine or read-model failure stopped writes (logged when it happened)
        return error_response(ApiError(503, "SERVICE_UNAVAILABLE", "The exchange is halted for maintenance"))
    except ClientDisconnect:  # the client left before its body arrived: nothing was submitted, nobody to answer
        log.debug("client disconnected during %s %s", *key)
        return Response(status_code=499)
    except Exception:  # a bug: answer in Backpack's shape and keep serving
        log.exception("unhandled error on %s %s", *key)
        return error_response(ApiError(500, "SERVER_ERROR", "Internal server error"))


def route_label(path: str) -> str:
    """The metrics label of a request's route: its path when it is one of ours, else ``other``."""
    return path if path in KNOWN_PATHS else "other"


async def _dispatch(service: ExchangeService, request: Request) -> Response:
    method, path = request.method, request.url.path
    key = (method, path)
    if path == "/api/v1/ping" and method == "GET":
        return PlainTextResponse("pong")
    if path == "/api/v1/time" and method == "GET":
        return Response(str(service.now_ms()), media_type=JSON)
    if path == "/openapi.json" and method == "GET":
        return Response(service.openapi, media_type=JSON)
    if path in ("/metrics", SEQUENCER_METRICS) and method == "GET":  # this process's (docs/operations.md)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)
    public = PUBLIC.get(key)
    if public is not None:
        return json_response(await public(service, dict(request.query_params)))
    if key in PRIVATE:
        return await _private(service, key, request.headers, request.scope["query_string"], request.receive)
    operator_action = OPERATOR.get(key)
    if operator_action is not None:
        instruction, act, roles = operator_action
        from_query = method == "GET"
        body = await read_body(request.headers, request.receive)
        if from_query:
            pairs = list(request.query_params.multi_items())
            params, signed = dict(pairs), pairs
        else:
            params = parse_json(body) if body.strip() else {}
            if not isinstance(params, dict):
                raise bad_request("request body must be a JSON object")
            signed = list(params.items())
        operator_key = await _authenticate_operator(service, request, instruction, signed, roles, from_query)
        if from_query:  # reads change nothing: not in the audit trail
            return json_response(await act(service, params))
        try:
            result = await act(service, params)
        except ApiError as err:
            await _audit(service, operator_key, instruction, params, f"refused {err.status} {err.code}")
            raise
        await _audit(service, operator_key, instruction, params, "ok")
        return json_response(result)
    admin = ADMIN.get(key)
    if admin is not None and service.admin_token is not None:  # production: no such endpoint (below)
        token = request.headers.get("x-admin-token", "")
        if key not in SANDBOX_OPEN and not _consteq(token, service.admin_token):
            raise unauthorized("invalid admin token")
        body = await read_body(request.headers, request.receive)
        return json_response(await admin(service, parse_json(body) if body.strip() else {}))
    sandbox = ADMIN if service.admin_token is not None else {}
    if any(p == path for _, p in (*PUBLIC, *PRIVATE, *OPERATOR, *sandbox)):
        raise ApiError(405, "INVALID_CLIENT_REQUEST", f"{method} is not allowed on {path}")
    raise ApiError(404, "RESOURCE_NOT_FOUND", f"no such endpoint: {method} {path}")


async def _private(
    service: ExchangeService, key: tuple[str, str], headers: Headers, query_string: bytes, receive: Receive
) -> Response:
    """A ``PRIVATE`` route: its parameters (JSON body, or the query string of a GET or an empty
    body), the account the signature authenticates, then its handler's answer."""
    instruction, handler = PRIVATE[key]
    from_query = key[0] == "GET"
    body = await read_body(headers, receive)
    if from_query or not body.strip():
        pairs = QueryParams(query_string).multi_items()
        signed: Any = pairs
        params: Any = dict(pairs)
    else:
        params = parse_json(body)
        if isinstance(params, dict):
            signed = list(params.items())
        elif key in BATCH and isinstance(params, list) and params and all(isinstance(p, dict) for p in params):
            signed = params
        elif key in BATCH:
            raise bad_request("request body must be a non-empty JSON array of orders")
        else:  # every other handler reads an object (and need not check it again)
            raise bad_request("request body must be a JSON object")
    account_id = _authenticate(service, headers, key[1], instruction, signed, from_query)
    return json_response(await handler(service, account_id, params))


async def read_body(headers: Headers, receive: Receive) -> bytes:
    """The request's body, at most ``MAX_BODY`` bytes (else a 413, as soon as that is known)."""
    length = headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise ApiError(413, "INVALID_CLIENT_REQUEST", "request body too large")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "INVALID_CLIENT_REQUEST", "request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _authenticate(
    service: ExchangeService, headers: Headers, path: str, instruction: str, signed: Any, from_query: bool
) -> int:
    api_key = headers.get("x-api-key")
    signature = headers.get("x-signature")
    timestamp = headers.get("x-timestamp")
    if not api_key or not signature or not timestamp:
        raise unauthorized("Missing X-API-Key, X-Signature or X-Timestamp header")
    account_id = queries.account_for_key(service.engine, api_key)
    if account_id is None:
        raise unauthorized("Unknown API key")
    try:
        service.verifier.check(
            api_key,
            signature,
            timestamp,
            headers.get("x-window"),
            service.now_ms(),
            instruction,
            signed,
            from_query=from_query,
        )
    except ApiError as err:  # who was refused and why; never the key, signature or payload
        extra = {"account": account_id, "route": path, "status": err.status, "code": err.code}
        log.debug("signed request refused: %s", err.message, extra=extra)
        raise
    return account_id


async def _audit(service: ExchangeService, operator_key: str, instruction: str, params: Any, outcome: str) -> None:
    """One journaled audit record of an operator request (``RecordOperatorAction``)."""
    await service.submit(RecordOperatorAction(operator_key, instruction, operator_compliance.detail(params), outcome))


async def _authenticate_operator(
    service: ExchangeService,
    request: Request,
    instruction: str,
    signed: Any,
    roles: frozenset[str],
    from_query: bool,
) -> str:
    """The signature of an operator key over the operator instruction (Backpack's signing rules),
    and one of ``roles`` held by it: the admin key (``--operator-key``) holds every role, a
    registered key its own (``POST /api/v1/operator/keys``). Returns the key. A registered key
    refused for its roles is recorded in the audit trail as ``denied``."""
    if service.operator_key is None:
        raise ApiError(403, "FORBIDDEN", "operator endpoints are disabled: no --operator-key was given at start")
    headers = request.headers
    api_key = headers.get("x-api-key")
    signature = headers.get("x-signature")
    timestamp = headers.get("x-timestamp")
    if not api_key or not signature or not timestamp:
        raise unauthorized("Missing X-API-Key, X-Signature or X-Timestamp header")
    admin = _consteq(api_key, service.operator_key)
    held = None if admin else queries.operator_roles(service.engine, api_key)
    if not admin and held is None:
        raise unauthorized("Not an operator key")
    window = headers.get("x-window")
    try:
        service.verifier.check(
            api_key, signature, timestamp, window, service.now_ms(), instruction, signed, from_query=from_query
        )
    except ApiError as err:
        log.warning("operator request refused: %s", err.message, extra={"route": request.url.path, "code": err.code})
        raise
    if held is not None and not roles & set(held):
        if not from_query:
            await _audit(service, api_key, instruction, dict(signed), "denied")
        need = " or ".join(sorted(roles))
        raise ApiError(403, "FORBIDDEN", f"{instruction} needs the {need} role; this operator key has {held}")
    log.info("operator action %s", instruction, extra={"route": request.url.path})
    return api_key


def _consteq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
