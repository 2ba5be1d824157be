"""Points and affiliates through the API of a real server: a referral code, a sign-up with it
(the web's self-service sign-up path), the referred account's trade on the referrer's dashboard
to the atom, refusals as Backpack errors (unknown code, self-referral, a code taken), the
operator's approved rate (audited), links, and the points endpoints. The weekly schedule itself
runs on explicit times in tests/unit/exchange/core/growth and tests/unit/exchange/test_scheduler.py."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import nacl.signing
import pytest

from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Signed]]:
    data_dir = tmp_path_factory.mktemp("points") / "d"
    data_dir.mkdir(mode=0o700)
    public, secret = new_keypair()
    server = start_server(data_dir, "--no-makers", "--feed", "manual", "--operator-key", public)
    yield server, Signed(server.url, Creds(public, secret, 0))
    server.stop()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def signup(server: Server, **extra: str) -> tuple[httpx.Response, Signed | None]:
    key = nacl.signing.SigningKey.generate()
    public = base64.b64encode(bytes(key.verify_key)).decode()
    r = httpx.post(server.url + "/api/v1/sandbox/signup", json={"publicKey": public, **extra}, timeout=30)
    if r.status_code != 200:
        return r, None
    secret = base64.b64encode(bytes(key)).decode()
    return r, Signed(server.url, Creds(public, secret, r.json()["accountId"]))


def test_referral_signup_dashboard_and_refusals(venue: tuple[Server, Signed]) -> None:
    server, op = venue
    referrer = Signed(server.url, sandbox_account(server))
    made = ok(referrer.request("POST", "/api/v1/referral/code", "referralCodeCreate", {"code": "alpha1"}))
    assert made == {"code": "ALPHA1", "accountId": referrer.creds.account}
    again = referrer.request("POST", "/api/v1/referral/code", "referralCodeCreate", {"code": "BETA22"})
    assert again.status_code == 400 and again.json()["message"] == "This account already has a referral code"

    unknown, _ = signup(server, referralCode="NOPE99")
    assert unknown.status_code == 400 and unknown.json() == {
        "code": "INVALID_CLIENT_REQUEST",
        "message": "Unknown referral code",
    }
    own = referrer.request(
        "POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "alt", "referralCode": "ALPHA1"}
    )
    assert own.status_code == 400 and own.json()["message"] == "Self-referral is not allowed"

    r, referred = signup(server, referralCode="alpha1")
    assert referred is not None, r.text
    dash = ok(referred.request("GET", "/api/v1/referral", "referralQuery"))
    assert dash["referredBy"] == referrer.creds.account and dash["code"] is None

    maker = Signed(server.url, sandbox_account(server, SOL="10"))
    ask = {"orderType": "Limit", "price": "150", "quantity": "1", "side": "Ask", "symbol": "SOL_USDC"}
    ok(maker.request("POST", "/api/v1/order", "orderExecute", ask))
    bid = {**ask, "side": "Bid", "timeInForce": "IOC"}
    assert ok(referred.request("POST", "/api/v1/order", "orderExecute", bid))["executedQuantity"] == "1.00"

    # 1 SOL bought at 150 as taker: fee 0.001 SOL, worth 0.15 USDC; 10% of it is 0.015 USDC
    dash = ok(referrer.request("GET", "/api/v1/referral", "referralQuery"))
    assert dash["code"] == "ALPHA1" and dash["rate"] == "0.1" and not dash["approvedRate"]
    assert dash["referred"] == [
        {
            "accountId": referred.creds.account,
            "since": dash["referred"][0]["since"],
            "volume": "150",
            "fees": "0.15",
            "earnings": "0.015",
        }
    ]
    assert (dash["owed"], dash["paid"]) == ("0.015", "0")

    # the operator approves 35% (an audited operator action); a customer key may not
    body = {"accountId": referrer.creds.account, "rate": "0.35"}
    assert (
        referrer.request("POST", "/api/v1/operator/affiliate/rate", "operatorAffiliateRateSet", body).status_code == 401
    )
    assert ok(op.request("POST", "/api/v1/operator/affiliate/rate", "operatorAffiliateRateSet", body))["rate"] == "0.35"
    too_high = op.request(
        "POST", "/api/v1/operator/affiliate/rate", "operatorAffiliateRateSet", {**body, "rate": "0.9"}
    )
    assert too_high.status_code == 400
    trail = ok(op.request("GET", "/api/v1/operator/audit", "operatorAuditQuery", {"limit": 10}))
    seen = [(e["instruction"], e["outcome"]) for e in trail]
    assert ("operatorAffiliateRateSet", "ok") in seen and (
        "operatorAffiliateRateSet",
        "refused 400 INVALID_CLIENT_REQUEST",
    ) in seen
    dash = ok(referrer.request("GET", "/api/v1/referral", "referralQuery"))
    assert dash["rate"] == "0.35" and dash["approvedRate"]

    # the command line's sign-up takes a code too (rucksack sandbox account --referral-code)
    cli = [sys.executable, "-m", "rucksack", "sandbox", "account", "--url", server.url]
    cli += ["--data-dir", str(server.data_dir), "--referral-code", "alpha1"]
    out = subprocess.run(cli, capture_output=True, text=True, timeout=60, check=True)
    third = json.loads(out.stdout)["accountId"]
    # and the production sign-up, an operator's (an unknown code refused there too)
    public = base64.b64encode(bytes(nacl.signing.SigningKey.generate().verify_key)).decode()
    body = {"publicKey": public, "referralCode": "ZZZZ99"}
    assert op.request("POST", "/api/v1/operator/accounts", "operatorAccountCreate", body).status_code == 400
    fourth = ok(
        op.request("POST", "/api/v1/operator/accounts", "operatorAccountCreate", {**body, "referralCode": "ALPHA1"})
    )
    dash = ok(referrer.request("GET", "/api/v1/referral", "referralQuery"))
    assert [r["accountId"] for r in dash["referred"]] == [referred.creds.account, third, fourth["accountId"]]


def test_points_endpoints_and_links(venue: tuple[Server, Signed]) -> None:
    server, op = venue
    seasons = httpx.get(server.url + "/api/v1/points/seasons").json()
    assert [s["name"] for s in seasons["seasons"]] == ["Season 1", "Season 2"]
    assert seasons["ranks"] == ["Bronze", "Silver", "Gold", "Platinum", "Diamond", "Challenger"]
    assert seasons["nextSnapshot"] % (7 * 86_400_000) == 0  # Thursday 00:00 UTC
    assert (seasons["nextDistribution"] - 26 * 3_600_000) % (7 * 86_400_000) == 0  # Friday 02:00 UTC
    board = httpx.get(server.url + "/api/v1/points/leaderboard", params={"season": "Season 1"}).json()
    assert board["season"] == "Season 1" and isinstance(board["entries"], list)
    assert httpx.get(server.url + "/api/v1/points/leaderboard", params={"season": "S9"}).status_code == 400

    a = Signed(server.url, sandbox_account(server, SOL="10"))
    b = Signed(server.url, sandbox_account(server, USDC="1000"))
    ok(
        op.request(
            "POST",
            "/api/v1/operator/points/link",
            "operatorPointsLink",
            {"accountIds": [str(a.creds.account), str(b.creds.account)], "reason": "one device"},
        )
    )
    ask = {"orderType": "Limit", "price": "150", "quantity": "1", "side": "Ask", "symbol": "SOL_USDC"}
    ok(a.request("POST", "/api/v1/order", "orderExecute", ask))
    ok(b.request("POST", "/api/v1/order", "orderExecute", {**ask, "side": "Bid", "timeInForce": "IOC"}))
    mine = ok(b.request("GET", "/api/v1/points", "pointsQuery"))
    assert mine["accountId"] == b.creds.account and mine["openWeek"]["volume"] == "0"  # linked: nothing
    c = Signed(server.url, sandbox_account(server, USDC="1000"))
    ok(a.request("POST", "/api/v1/order", "orderExecute", ask))
    ok(c.request("POST", "/api/v1/order", "orderExecute", {**ask, "side": "Bid", "timeInForce": "IOC"}))
    assert ok(c.request("GET", "/api/v1/points", "pointsQuery"))["openWeek"]["volume"] == "150"
    bad = op.request(
        "POST", "/api/v1/operator/points/link", "operatorPointsLink", {"accountIds": [str(a.creds.account)]}
    )
    assert bad.status_code == 400
