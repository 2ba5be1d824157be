"""schemathesis hooks that sign every request like a Backpack client, so fuzzing reaches past auth,
and that mix well-formed trading requests into the generated ones, so it reaches past validation.

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS=tests.api.signing_hooks`` (tests/api/test_openapi.py).
The environment names the credentials: ``RUCKSACK_FUZZ_API_KEY`` / ``RUCKSACK_FUZZ_SECRET`` (an ED25519
key of a funded sandbox account, whose id is ``RUCKSACK_FUZZ_ACCOUNT``) and ``RUCKSACK_FUZZ_ADMIN_TOKEN``
(the server's admin token). With ``RUCKSACK_FUZZ_LOG`` every answer's method, path and status is
appended to that file.

Private operations (security ``backpackSignature``) get X-API-Key, X-Signature, X-Timestamp and
X-Window over ``instruction=<instr>&<sorted params>&timestamp=<ms>&window=<ms>``, the parameters
being what is actually sent: the query for GET (and for a request without a body), else the JSON
body's top-level pairs (a batch: each order's pairs, joined with ``&``). Admin operations get
X-Admin-Token. The instruction of each route comes from the server's route table.

The schema alone rarely yields a price on the tick grid near the market, so for the routes that
move money (orders, batches, cancels, borrow/lend, subaccount transfers, sandbox prices) bodies are
drawn from the schema's strategy or from one of plausible requests built from the configured markets.
"""

from __future__ import annotations

import base64
import json
import os
import time
from decimal import Decimal
from typing import Any

import nacl.signing
import schemathesis
from hypothesis import strategies as st
from schemathesis.core import NotSet

from rucksack.exchange.api.app import PRIVATE
from rucksack.exchange.config import load_spec
from rucksack.exchange.feeds.index import START_PRICE

WINDOW_MS = 60_000


def _render(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)  # the token text the JSON body carries
    return json.dumps(value, separators=(",", ":"))


def _query_pairs(query: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in (query or {}).items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:  # requests leaves None out of the query string
                pairs.append((str(key), "true" if item is True else "false" if item is False else str(item)))
    return pairs


def _body_pairs(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, r) for k, v in body.items() if (r := _render(v)) is not None]


def _join(instruction: str, pairs: list[tuple[str, str]]) -> str:
    return "&".join([f"instruction={instruction}", *(f"{k}={v}" for k, v in sorted(pairs))])


def signing_string(instruction: str, method: str, query: Any, body: Any, has_body: bool) -> str:
    """The signed message without its timestamp/window suffix."""
    if method == "GET" or not has_body:
        return _join(instruction, _query_pairs(query))
    if isinstance(body, list) and body and all(isinstance(order, dict) for order in body):
        return "&".join(_join(instruction, _body_pairs(order)) for order in body)
    if isinstance(body, dict):
        return _join(instruction, _body_pairs(body))
    return f"instruction={instruction}"  # not an object: refused before the signature is looked at


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    method, path = case.method.upper(), case.path
    headers = dict(case.headers or {})
    if (method, path) in PRIVATE:
        instruction = PRIVATE[(method, path)][0]
        body = case.body
        has_body = not isinstance(body, NotSet)  # None is sent as the body "null"
        ts = int(time.time() * 1000)
        message = (
            signing_string(instruction, method, case.query, body, has_body) + f"&timestamp={ts}&window={WINDOW_MS}"
        )
        seed = base64.b64decode(os.environ["RUCKSACK_FUZZ_SECRET"])
        signature = nacl.signing.SigningKey(seed).sign(message.encode()).signature
        headers.update(
            {
                "X-API-Key": os.environ["RUCKSACK_FUZZ_API_KEY"],
                "X-Signature": base64.b64encode(signature).decode(),
                "X-Timestamp": str(ts),
                "X-Window": str(WINDOW_MS),
            }
        )
    elif path.startswith("/api/v1/sandbox/"):
        headers["X-Admin-Token"] = os.environ["RUCKSACK_FUZZ_ADMIN_TOKEN"]
    case.headers = headers


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """With ``RUCKSACK_FUZZ_LOG``: one ``METHOD PATH STATUS`` line per answer, for the test to read."""
    log = os.environ.get("RUCKSACK_FUZZ_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.method.upper()} {case.path} {response.status_code}\n")
    debug = os.environ.get("RUCKSACK_FUZZ_DEBUG")  # for looking into a run: what was sent, what came back
    if debug:
        row = [case.method.upper(), case.path, response.status_code, repr(case.query), repr(case.body)]
        with open(debug, "a", encoding="utf-8") as out:
            out.write(json.dumps([*row, response.text[:200]]) + "\n")


SPEC = load_spec()[0]
MARKETS = [m for m in SPEC.markets if m.trading]
ASSETS = [a.symbol for a in SPEC.assets]
FIRST_ACCOUNT = int(os.environ.get("RUCKSACK_FUZZ_ACCOUNT", "1000"))  # the sign-up account; its subaccounts follow


def _multiple(units: int, size: str) -> str:
    return str(units * Decimal(size))


def _order(market: Any) -> st.SearchStrategy[dict[str, Any]]:
    start = Decimal(START_PRICE.get(market.symbol.removesuffix("_PERP"), "100"))
    ticks = int(start / Decimal(market.tick_size))
    price = st.integers(ticks * 8 // 10, ticks * 12 // 10).map(lambda t: _multiple(t, market.tick_size))
    quantity = st.integers(1, 200).map(lambda n: _multiple(n * market.min_lots, market.step_size))
    required = {"symbol": st.just(market.symbol), "side": st.sampled_from(["Bid", "Ask"]), "quantity": quantity}
    optional = {
        "timeInForce": st.sampled_from(["GTC", "IOC", "FOK"]),
        "postOnly": st.booleans(),
        "selfTradePrevention": st.sampled_from(["RejectTaker", "RejectMaker", "RejectBoth"]),
        "clientId": st.integers(0, 20),
        "autoLend": st.booleans(),
        "autoBorrow": st.booleans(),
        "autoLendRedeem": st.booleans(),
        "autoBorrowRepay": st.booleans(),
    }
    if market.market_type == "PERP":
        optional["reduceOnly"] = st.booleans()
    limit = st.fixed_dictionaries({**required, "orderType": st.just("Limit"), "price": price}, optional=optional)
    market_order = st.fixed_dictionaries({**required, "orderType": st.just("Market")}, optional=optional)
    return limit | market_order


ORDER = st.one_of([_order(m) for m in MARKETS])
AMOUNT = st.sampled_from(["0.001", "0.5", "1", "10", "250", "100000"])
SUBACCOUNT = st.integers(FIRST_ACCOUNT, FIRST_ACCOUNT + 4)
PLAUSIBLE: dict[tuple[str, str], st.SearchStrategy[Any]] = {
    ("POST", "/api/v1/order"): ORDER,
    ("POST", "/api/v1/orders"): st.lists(ORDER, min_size=1, max_size=4),
    ("DELETE", "/api/v1/order"): st.fixed_dictionaries(
        {"symbol": st.sampled_from([m.symbol for m in MARKETS]), "orderId": st.integers(1, 40).map(str)}
    ),
    ("POST", "/api/v1/borrowLend"): st.fixed_dictionaries(
        {"symbol": st.sampled_from(ASSETS), "side": st.sampled_from(["Borrow", "Lend"]), "quantity": AMOUNT}
    ),
    ("POST", "/api/v1/subaccounts/transfer"): st.fixed_dictionaries(
        {
            "fromSubaccountId": SUBACCOUNT,
            "toSubaccountId": SUBACCOUNT,
            "symbol": st.sampled_from(ASSETS),
            "quantity": AMOUNT,
        }
    ),
    ("POST", "/api/v1/sandbox/price"): st.sampled_from([m for m in MARKETS if m.market_type == "SPOT"]).flatmap(
        lambda m: _order(m).filter(lambda o: "price" in o).map(lambda o: {"symbol": o["symbol"], "price": o["price"]})
    ),
}


@schemathesis.hook
def before_generate_body(context: Any, strategy: Any) -> Any:
    operation = context.operation
    plausible = PLAUSIBLE.get((operation.method.upper(), operation.path)) if operation is not None else None
    return strategy if plausible is None else st.one_of(strategy, plausible)
