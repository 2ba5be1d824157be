"""Compliance through the public interfaces of a real ``rucksack serve`` (sandbox mode, an operator
key, Solana custody pointed at a node that never answers, so withdrawals are created and held but
never broadcast): sign-up by region, the 2x cap for Japan, daily limits, the Travel Rule, the
withdrawal delay (Backpack's endpoints) and cancelling within it, operator roles and the audit
trail, and every operator route refusing a non-operator key."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rucksack.exchange.api import app
from rucksack.exchange.api.auth import new_keypair
from tests.api.conftest import Creds, Server, Signed, free_port, start_server

ADDRESS = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"


def keypair() -> Creds:
    public, secret = new_keypair()
    return Creds(public, secret, 0)


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Signed]]:
    admin = keypair()
    server = start_server(
        tmp_path_factory.mktemp("compliance"),
        "--no-makers",
        "--feed",
        "manual",
        "--operator-key",
        admin.api_key,
        "--chain-rpc",
        f"solana=http://127.0.0.1:{free_port()}",  # nothing listens: custody holds, never sends
    )
    yield server, Signed(server.url, admin)
    server.stop()


def rucksack(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rucksack", *args], capture_output=True, text=True, timeout=120)


def resident(server: Server, region: str, level: str = "full", **fund: str) -> Signed:
    done = rucksack(
        "sandbox",
        "account",
        "--url",
        server.url,
        "--data-dir",
        str(server.data_dir),
        "--region",
        region,
        "--level",
        level,
        *[f"--fund={k}={v}" for k, v in fund.items()],
    )
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert obj["region"] == region and obj["level"] == level
    return Signed(server.url, Creds(obj["apiKey"], obj["apiSecret"], obj["accountId"]))


def compliance(client: Signed) -> dict[str, Any]:
    response = client.request("GET", "/api/v1/account/compliance", "accountComplianceQuery")
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_restricted_region_is_refused_at_sign_up(venue: tuple[Server, Signed]) -> None:
    server, _ = venue
    for region in ("KP", "UA-43", "US"):
        response = httpx.post(
            server.url + "/api/v1/sandbox/signup", json={"publicKey": new_keypair()[0], "region": region}
        )
        assert response.status_code == 403 and response.json() == {
            "code": "FORBIDDEN",
            "message": "Residents of this region cannot be served",
        }
    done = rucksack("sandbox", "account", "--url", server.url, "--data-dir", str(server.data_dir), "--region", "IR")
    assert done.returncode != 0 and "FORBIDDEN" in done.stderr
    bad = httpx.post(server.url + "/api/v1/sandbox/signup", json={"publicKey": new_keypair()[0], "region": "Japan"})
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CLIENT_REQUEST"
    ok = httpx.post(server.url + "/api/v1/sandbox/signup", json={"publicKey": new_keypair()[0], "region": "BR"})
    assert ok.status_code == 200 and ok.json()["region"] == "BR"


def test_a_japanese_resident_is_refused_above_2x(venue: tuple[Server, Signed]) -> None:
    server, _ = venue
    done = rucksack(
        "sandbox",
        "price",
        "--url",
        server.url,
        "--data-dir",
        str(server.data_dir),
        "--symbol",
        "SOL_USDC",
        "--price",
        "150",
    )
    assert done.returncode == 0, done.stderr
    jp = resident(server, "JP", USDC="1000")
    profile = compliance(jp)
    assert profile["region"] == "JP" and profile["entity"]["id"] == "jp" and profile["maxLeverage"] == "2"
    perps = next(p for p in profile["products"] if p["product"] == "perps")
    assert perps["open"] and "residents of JP" in perps["why"]
    refused = jp.request("PATCH", "/api/v1/account", "accountUpdate", {"leverageLimit": "3"})
    assert refused.status_code == 400 and refused.json()["code"] == "MAX_LEVERAGE_REACHED"
    assert jp.request("GET", "/api/v1/account", "accountQuery").json()["leverageLimit"] == "2"
    order = {"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Limit", "price": "140"}
    over = jp.request("POST", "/api/v1/order", "orderExecute", {**order, "quantity": "15"})  # $2,100 on $1,000
    assert over.status_code == 400 and over.json()["code"] == "POSITION_LIMIT", over.text
    assert jp.request("POST", "/api/v1/order", "orderExecute", {**order, "quantity": "10"}).status_code == 200
    # the same order from a resident of a region without a cap is accepted
    br = resident(server, "BR", USDC="1000")
    assert br.request("POST", "/api/v1/order", "orderExecute", {**order, "quantity": "15"}).status_code == 200
    # UK: spot only, and the profile says why
    gb = resident(server, "GB", USDC="1000")
    why = next(p for p in compliance(gb)["products"] if p["product"] == "perps")
    assert not why["open"] and "FCA" in why["why"]
    closed = gb.request("POST", "/api/v1/order", "orderExecute", {**order, "quantity": "1"})
    assert closed.status_code == 403 and closed.json()["code"] == "FORBIDDEN"


def withdraw(client: Signed, quantity: str, **extra: Any) -> httpx.Response:
    body = {"address": ADDRESS, "blockchain": "Solana", "quantity": quantity, "symbol": "USDC", **extra}
    return client.request("POST", "/wapi/v1/capital/withdrawals", "withdraw", body)


def test_withdrawal_delay_daily_limit_and_cancel(venue: tuple[Server, Signed]) -> None:
    server, _ = venue
    user = resident(server, "BR", "basic", USDC="100000")  # basic: $50,000 of withdrawals a day
    delay = "/wapi/v1/capital/withdrawals/delay"
    assert user.request("GET", delay, "withdrawalDelayQuery").status_code == 204
    assert user.request("POST", delay, "withdrawalDelayCreate", {"withdrawalDelayHours": 24}).status_code == 400
    created = user.request("POST", delay, "withdrawalDelayCreate", {"withdrawalDelayHours": 24, "twoFactorToken": "0"})
    assert created.status_code == 200 and created.content == b""
    again = user.request("POST", delay, "withdrawalDelayCreate", {"withdrawalDelayHours": 48, "twoFactorToken": "0"})
    assert again.status_code == 409
    assert user.request("GET", delay, "withdrawalDelayQuery").json() == {
        "currentWithdrawalDelayHours": 24,
        "pendingWithdrawalDelayHours": None,
        "pendingWithdrawalDelayHoursEnabledAt": None,
    }
    # Travel Rule: above ~$953 the beneficiary is needed
    travel = withdraw(user, "40000")
    assert travel.status_code == 400 and "recipientInformation" in travel.json()["message"]
    recipient = {"beneficiaryName": "Ada Lovelace", "beneficiaryVasp": "Example Exchange", "walletType": "hosted"}
    held = withdraw(user, "40000", recipientInformation=recipient)
    assert held.status_code == 200, held.text
    w = held.json()
    assert w["status"] == "pending" and w["triggerAt"] is not None
    assert user.request("GET", "/api/v1/capital", "balanceQuery").json()["USDC"]["available"] == "60000"
    over = withdraw(user, "10001", recipientInformation=recipient)
    assert over.status_code == 400 and over.json()["code"] == "INVALID_QUANTITY"
    assert "daily withdrawal limit" in over.json()["message"]
    cancelled = user.request("DELETE", "/wapi/v1/capital/withdrawals", "withdrawalCancel", {"id": w["id"]})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    assert user.request("GET", "/api/v1/capital", "balanceQuery").json()["USDC"]["available"] == "100000"
    twice = user.request("DELETE", "/wapi/v1/capital/withdrawals", "withdrawalCancel", {"id": w["id"]})
    assert twice.status_code == 400
    listed = user.request("GET", "/wapi/v1/capital/withdrawals", "withdrawalQueryAll").json()
    assert [x["status"] for x in listed if x["id"] == w["id"]] == ["cancelled"]
    assert compliance(user)["limits"]["withdrawnToday"] == "0"  # a cancelled withdrawal is given back
    lowered = user.request("PATCH", delay, "withdrawalDelayUpdate", {"withdrawalDelayHours": 1, "twoFactorToken": "0"})
    assert lowered.status_code == 200 and lowered.json()["currentWithdrawalDelayHours"] == 24
    assert lowered.json()["pendingWithdrawalDelayHours"] == 1  # only after the current delay
    added = user.request(
        "POST",
        "/wapi/v1/capital/withdrawals/addresses",
        "withdrawalAddressCreate",
        {"blockchain": "Solana", "address": ADDRESS},
    )
    assert added.status_code == 200 and added.json()[0]["address"] == ADDRESS


def test_a_non_operator_key_is_refused_on_every_operator_route(venue: tuple[Server, Signed]) -> None:
    server, _ = venue
    user = resident(server, "BR", USDC="1")
    assert app.OPERATOR
    for (method, path), (instruction, _, roles) in app.OPERATOR.items():
        assert isinstance(roles, frozenset) and roles
        signed = user.request(method, path, instruction, {})
        assert signed.status_code == 401 and signed.json()["code"] == "UNAUTHORIZED", (path, signed.text)
        bare = httpx.request(method, server.url + path)
        assert bare.status_code == 401, path


def test_operator_roles_and_the_audit_trail(venue: tuple[Server, Signed]) -> None:
    server, admin = venue
    officer, ops = keypair(), keypair()
    for who, roles in ((officer, ["compliance"]), (ops, ["operations"])):
        done = admin.request(
            "POST", "/api/v1/operator/keys", "operatorKeySet", {"publicKey": who.api_key, "roles": roles}
        )
        assert done.status_code == 200, done.text
    officer_c, ops_c = Signed(server.url, officer), Signed(server.url, ops)
    user = resident(server, "BR", "basic", USDC="10")
    body = {"accountId": user.creds.account, "level": "full"}
    denied = ops_c.request("POST", "/api/v1/operator/identity", "operatorIdentitySet", body)
    assert denied.status_code == 403 and "compliance" in denied.json()["message"]
    assert (
        ops_c.request(
            "POST", "/api/v1/operator/keys", "operatorKeySet", {"publicKey": ops.api_key, "roles": ["compliance"]}
        ).status_code
        == 403
    )
    done = officer_c.request("POST", "/api/v1/operator/identity", "operatorIdentitySet", body)
    assert done.status_code == 200 and done.json()["level"] == "full"
    assert compliance(user)["level"] == "full"
    review = ops_c.request(
        "GET",
        "/api/v1/operator/compliance/accounts",
        "operatorComplianceAccountQuery",
        {"accountId": user.creds.account},
    )
    assert review.status_code == 200 and review.json()["accountId"] == user.creds.account
    rule = {"entity": "global", "level": "basic", "depositPerDay": "unlimited", "withdrawalPerDay": "40000"}
    assert (
        officer_c.request("POST", "/api/v1/operator/compliance/limits", "operatorComplianceLimitsSet", rule).status_code
        == 200
    )
    trail = officer_c.request("GET", "/api/v1/operator/audit", "operatorAuditQuery", {"limit": 10}).json()
    seen = [(r["operatorKey"], r["instruction"], r["outcome"]) for r in trail]
    assert (ops.api_key, "operatorIdentitySet", "denied") in seen
    assert (officer.api_key, "operatorIdentitySet", "ok") in seen
    assert (admin.creds.api_key, "operatorKeySet", "ok") in seen
    assert (officer.api_key, "operatorComplianceLimitsSet", "ok") in seen
    exported = officer_c.request("GET", "/api/v1/operator/audit/export", "operatorAuditExport").json()
    prev = "0" * 64
    for rec in exported["records"]:  # the chain verifies from the first record to the head
        fields = {k: v for k, v in rec.items() if k != "hash"}
        prev = hashlib.sha256((prev + json.dumps(fields, sort_keys=True, separators=(",", ":"))).encode()).hexdigest()
        assert rec["hash"] == prev
    assert exported["head"] == prev and len(exported["records"]) >= 4
    # the CLI exports it too (admin key: every role)
    secret_file = server.data_dir.parent / "admin.key"
    secret_file.write_text(admin.creds.secret)
    done_cli = rucksack("operator", "audit", "--url", server.url, "--key-file", str(secret_file))
    assert done_cli.returncode == 0 and json.loads(done_cli.stdout)["head"] == prev, done_cli.stderr


def test_replay_reproduces_every_compliance_decision(venue: tuple[Server, Signed]) -> None:
    """Last: the server stops (its shutdown snapshot holds the rules, identities, holds, operator
    keys and audit trail); replaying the whole journal from nothing gives the same state hash."""
    server, _ = venue
    server.stop()
    snapshotted = json.loads(rucksack("replay", "--data-dir", str(server.data_dir)).stdout)
    assert snapshotted["snapshot_seq"] == snapshotted["seq"] and snapshotted["invariants"] == "ok"
    shutil.rmtree(server.data_dir / "snapshots")
    full = json.loads(rucksack("replay", "--data-dir", str(server.data_dir)).stdout)
    assert full["snapshot_seq"] == 0 and full["state_hash"] == snapshotted["state_hash"]
