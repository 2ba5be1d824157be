"""RFQ and tokenized equities end to end: ccxt, backpack-exchange-sdk and bpx-py (unmodified),
raw signed calls where no client has a method, and the ``account.rfqUpdate`` stream through the
SDK's WebSocket client. The demo makers run (they answer every RFQ); the server's config opens
the regular session all day every day (so the tests do not depend on the hour they run at),
lists TSLA.US only in a session that never opens, and keeps RFQs open 8 s."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import ccxt
import httpx
import pytest
from backpack_exchange_sdk._base.errors import BackpackInvalidRequestError
from backpack_exchange_sdk.authenticated import AuthenticationClient

from rucksack.exchange.config import default_config_text
from rucksack.exchange.sequencer.datadir import CONFIG_NAME
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server
from tests.api.test_bpx_and_sdk import BPX_PYTHON, ROOT, LocalWebSocketClient

pytestmark = pytest.mark.slow


def test_config() -> str:
    text = default_config_text()
    text = text.replace("ttl_seconds = 30", "ttl_seconds = 8")
    regular = 'name = "US_EQUITIES_REGULAR"\nstart = "09:30"\nend = "16:00"'
    assert regular in text
    text = text.replace(regular, 'name = "US_EQUITIES_REGULAR"\nstart = "00:00"\nend = "24:00"\nend_weekday = 7')
    pre = 'name = "US_EQUITIES_PRE_MARKET"\nstart = "04:00"\nend = "09:30"'
    text = text.replace(pre, 'name = "US_EQUITIES_PRE_MARKET"\nstart = "00:00"\nend = "00:00"')  # never open
    tsla = '{ name = "US_EQUITIES_REGULAR", min_quantity = "0.001", max_quantity = "5000" }'
    text = text.replace(tsla, tsla.replace("REGULAR", "PRE_MARKET"))
    return text[: text.index("[[calendar.holidays]]")]  # no holiday closes the test day


test_config.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("exchange")
    (data / CONFIG_NAME).write_text(test_config(), encoding="utf-8")
    srv = start_server(data, "--feed", "manual")  # with the demo makers
    yield srv
    srv.stop()


def ccxt_client(server: Server, creds: Creds | None = None) -> ccxt.backpack:
    config: dict[str, object] = {"urls": {"api": {"public": server.url, "private": server.url}}}
    if creds is not None:
        config.update(apiKey=creds.api_key, secret=creds.secret)
    return ccxt.backpack(config)


def sdk(server: Server, creds: Creds) -> AuthenticationClient:
    return AuthenticationClient(creds.api_key, creds.secret, base_url=server.url + "/")


def until(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_load_markets_lists_the_stock_rfq_markets(server: Server) -> None:
    ex = ccxt_client(server)
    markets = ex.load_markets()
    assert {"NVDA.US.RFQ/USDC", "AAPL.US.RFQ/USDC", "TSLA.US.RFQ/USDC"} <= set(markets)
    nvda = markets["NVDA.US.RFQ/USDC"]
    assert nvda["id"] == "NVDA.US_USDC_RFQ" and nvda["stock"] and nvda["executionModel"] == "rfq"
    assert nvda["precision"]["amount"] == 0.001 and nvda["limits"]["amount"]["min"] == 0.001
    assert ex.currencies["NVDA.US"]["type"] == "stock"
    securities = httpx.get(server.url + "/api/v1/securities").json()
    assert securities[0] == {
        "asset": "NVDA.US",
        "name": "NVIDIA Corporation",
        "cusip": "67066G104",
        "sessions": [
            {"name": "US_EQUITIES_PRE_MARKET", "minQuantity": "0.001", "maxQuantity": "1000.000", "stepSize": "0.001"},
            {"name": "US_EQUITIES_REGULAR", "minQuantity": "0.001", "maxQuantity": "10000.000", "stepSize": "0.001"},
            {"name": "US_EQUITIES_POST_MARKET", "minQuantity": "0.001", "maxQuantity": "1000.000", "stepSize": "0.001"},
        ],
    }
    sessions = ex.publicGetApiV1StockSessions()
    assert sessions[1] == {
        "name": "US_EQUITIES_REGULAR",
        "startTime": "00:00:00",
        "endTime": "24:00:00",
        "startWeekday": 1,
        "endWeekday": 7,
        "timezone": "America/New_York",
    }
    assert httpx.get(server.url + "/api/v1/market-sessions").json() == sessions
    assert ex.publicGetApiV1StockHolidays() == httpx.get(server.url + "/api/v1/market-holidays").json() == []
    quote = ex.fetch_stock_indicative_quote("NVDA.US.RFQ/USDC", "buy", 2)
    assert quote["available"] is True and quote["session"] == "US_EQUITIES_REGULAR"
    assert quote["price"] == "180.18" and quote["quoteQuantity"] == "360.36"  # reference 180.00 + 10 bp
    closed = httpx.get(server.url + "/api/v1/stockIndicativeQuote", params={"symbol": "TSLA.US", "side": "Ask"}).json()
    assert closed["available"] is False and closed["reason"] == "sessionClosed"


def test_ccxt_buys_a_stock_by_immediate_rfq_and_the_demo_makers_fill_it(server: Server) -> None:
    creds = sandbox_account(server, USDC="1000")
    ex = ccxt_client(server, creds)
    ex.load_markets()
    order = ex.create_order("NVDA.US.RFQ/USDC", "market", "buy", 1.5)
    assert order["status"] == "open" and order["price"] == 180.18 and order["amount"] == 1.5
    filled = until(lambda: [t for t in ex.fetch_my_trades("NVDA.US.RFQ/USDC") if t["order"] == order["id"]])
    assert filled[0]["price"] == 180.18 and filled[0]["amount"] == 1.5 and filled[0]["side"] == "buy"
    assert ex.fetch_order(order["id"], "NVDA.US.RFQ/USDC")["status"] == "closed"
    balance = ex.fetch_balance()
    fee = float(filled[0]["fee"]["cost"])
    assert balance["NVDA.US"]["free"] == pytest.approx(1.5 - fee) and balance["USDC"]["free"] == pytest.approx(
        1000 - 270.27
    )


def test_rfq_await_accept_with_the_sdk_bpx_and_the_rfq_stream(server: Server) -> None:
    requester = sandbox_account(server, USDC="5000")
    maker = sandbox_account(server, USDC="5000", **{"AAPL.US": "100"})
    got: dict[str, list[dict[str, Any]]] = {"maker": [], "requester": []}
    active = threading.Event()
    sockets = []
    for who, creds in (("maker", maker), ("requester", requester)):
        LocalWebSocketClient.url = server.url.replace("http://", "ws://") + "/ws"
        ws = LocalWebSocketClient(creds.api_key, creds.secret)
        sockets.append(ws)

        def on_update(message: dict[str, Any], who: str = who) -> None:
            got[who].append(message)
            if who == "maker" and message.get("e") == "rfqActive":
                active.set()

        ws.subscribe(["account.rfqUpdate"], on_update, is_private=True)
    try:
        time.sleep(0.5)
        client = sdk(server, requester)
        rfq = client.submit_rfq("AAPL.US_USDC_RFQ", "Bid", quantity="2", clientId="17")
        assert rfq["status"] == "New" and rfq["executionMode"] == "AwaitAccept" and rfq["quantity"] == "2.000"
        assert rfq["clientId"] == 17 and rfq["expiryTime"] - rfq["submissionTime"] == 8000
        assert active.wait(5)
        seen = next(m for m in got["maker"] if m["e"] == "rfqActive")
        assert seen["R"] == rfq["rfqId"] and seen["s"] == "AAPL.US_USDC_RFQ" and seen["S"] == "Bid"
        assert seen["q"] == "2.000" and "C" not in seen and seen["W"] == rfq["expiryTime"]
        # the maker answers with bpx-py (unmodified)
        out = subprocess.run(
            [
                str(BPX_PYTHON),
                str(ROOT / "tests/api/clients/bpx_quote.py"),
                *(server.url, maker.api_key, maker.secret, rfq["rfqId"], "229.50", "229.90"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        quote = json.loads(out.stdout)
        assert quote["status"] == "New" and quote["bidPrice"] == "229.50" and quote["clientId"] == 42
        until(lambda: any(m["e"] == "rfqCandidate" and m.get("u") == quote["quoteId"] for m in got["requester"]))
        signed = Signed(server.url, requester)
        open_rfqs = signed.request("GET", "/api/v1/rfqs", "rfqQuery").json()
        assert open_rfqs[0]["rfq"]["rfqId"] == rfq["rfqId"]
        assert quote["quoteId"] in [q["quoteId"] for q in open_rfqs[0]["quotes"]]  # the demo makers' too
        accepted = client.accept_quote(quote["quoteId"], rfqId=rfq["rfqId"])
        assert accepted["status"] == "Filled" and accepted["executedQuoteQuantity"] == "459.8"
        until(lambda: any(m["e"] == "quoteAccepted" for m in got["maker"]))
        [filled] = until(lambda: [m for m in got["requester"] if m["e"] == "rfqFilled"])
        assert filled["X"] == "Filled" and filled["p"] == "229.90" and filled["C"] == "17"
        assert client.get_balances()["AAPL.US"]["available"] == "1.998"  # less the taker fee (0.1%)
        history = signed.request("GET", "/wapi/v1/history/rfq", "rfqHistoryQueryAll", {"rfqId": rfq["rfqId"]}).json()
        assert history[0]["status"] == "Filled" and history[0]["userId"] == requester.account
        assert isinstance(history[0]["createdAt"], str)
        fills = signed.request("GET", "/wapi/v1/history/rfq/fill", "rfqFillHistoryQueryAll").json()
        assert fills[0]["fillPrice"] == "229.90" and fills[0]["feeSymbol"] == "AAPL.US" and fills[0]["side"] == "Bid"
        maker_signed = Signed(server.url, maker)
        quotes = maker_signed.request("GET", "/wapi/v1/history/quote", "quoteHistoryQueryAll").json()
        assert quotes[0]["quoteId"] == quote["quoteId"] and quotes[0]["status"] == "Filled"
        maker_fills = maker_signed.request("GET", "/wapi/v1/history/quote/fill", "quoteFillHistoryQueryAll").json()
        assert maker_fills[0]["side"] == "Ask" and maker_fills[0]["feeSymbol"] == "USDC"
    finally:
        for ws in sockets:
            ws.close()


def test_refresh_cancel_expiry_and_errors(server: Server) -> None:
    creds = sandbox_account(server, USDC="5000")
    client = sdk(server, creds)
    rfq = client.submit_rfq("SOL_USDC_RFQ", "Bid", quantity="1")  # no feed price: nobody quotes it
    refreshed = client.refresh_rfq(rfq["rfqId"])
    assert refreshed["status"] == "New" and refreshed["expiryTime"] >= rfq["expiryTime"]
    cancelled = client.cancel_rfq(rfqId=rfq["rfqId"])
    assert cancelled["status"] == "Cancelled"
    with pytest.raises(BackpackInvalidRequestError, match="Market is closed"):
        client.submit_rfq("TSLA.US_USDC_RFQ", "Bid", quantity="1")
    with pytest.raises(BackpackInvalidRequestError, match="Invalid market"):
        client.execute_order("Limit", "Bid", "NVDA.US_USDC_RFQ", price="100", quantity="1")  # no book: RFQ only
    ex = ccxt_client(server, creds)
    with pytest.raises(ccxt.InvalidOrder, match="sessionClosed"):
        ex.create_order("TSLA.US.RFQ/USDC", "market", "buy", 1)
    with pytest.raises(ccxt.InvalidOrder, match="Immediate"):  # a price bound on an AwaitAccept RFQ
        ex.privatePostApiV1Rfq({"symbol": "NVDA.US_USDC_RFQ", "side": "Bid", "quantity": "1", "price": "1"})
    signed = Signed(server.url, creds)
    missing = signed.request("POST", "/api/v1/rfq/accept", "quoteAccept", {"quoteId": "999999"})
    assert missing.status_code == 404 and missing.json()["code"] == "RESOURCE_NOT_FOUND"
    foreign = signed.request("GET", "/wapi/v1/history/rfq", "rfqHistoryQueryAll", {"subaccountId": "999999"})
    assert foreign.status_code == 404  # another owner's (or no) subaccount: not found
    short = client.submit_rfq("SOL_USDC_RFQ", "Ask", quantity="1")
    time.sleep(9.5)  # the scheduler journals ExpireRfqs once the 8 s are up
    rows = signed.request("GET", "/wapi/v1/history/rfq", "rfqHistoryQueryAll", {"rfqId": short["rfqId"]}).json()
    assert rows[0]["status"] == "Expired"
