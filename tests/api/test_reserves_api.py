"""Proof of reserves over HTTP through a real server: the public snapshot, each user's own proof
(verified with rucksack.reserves.verify), isolation between users, and the CLI on the data dir."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rucksack.exchange.service import admin_token_path
from rucksack.reserves.documents import LEDGER_SOURCE
from rucksack.reserves.verify import verify
from tests.api.conftest import Server, Signed, sandbox_account

pytestmark = pytest.mark.slow


def publish_now(server: Server) -> dict[str, Any]:
    token = admin_token_path(server.data_dir).read_text().strip()
    r = httpx.post(server.url + "/api/v1/sandbox/reserves/snapshot", headers={"X-Admin-Token": token}, timeout=60)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def latest(server: Server) -> dict[str, Any]:
    r = httpx.get(server.url + "/api/v1/reserves/snapshot", timeout=30)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_startup_snapshot_exists(server: Server) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(server.url + "/api/v1/reserves/snapshot").status_code != 200:
        assert time.monotonic() < deadline, "no start-up snapshot"
        time.sleep(0.2)
    doc = latest(server)
    assert doc["snapshot"]["version"] == "rucksack-por-v1"
    assert (server.data_dir / "reserves" / str(doc["seq"]) / "snapshot.json").is_file()


def test_own_proof_verifies_and_nobody_gets_another(server: Server) -> None:
    alice_creds = sandbox_account(server, USDC="5000", SOL="3")
    alice = Signed(server.url, alice_creds)
    bob_creds = sandbox_account(server, USDC="100")
    bob = Signed(server.url, bob_creds)
    sub = alice.request("POST", "/api/v1/subaccounts", "subaccountCreate", {"label": "por"}).json()["subaccountId"]
    moved = alice.request(
        "POST", "/api/v1/subaccounts/transfer", "subaccountTransfer", {"toSubaccountId": sub, "symbol": "USDC",
                                                                        "quantity": "1200"}
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    published = publish_now(server)
    doc = latest(server)
    assert doc["seq"] == published["seq"]
    snapshot, reserves = doc["snapshot"], doc["reserves"]
    assert {h["source"] for h in reserves["holdings"]} == {LEDGER_SOURCE}
    assert [a["account"] for a in doc["exchangeAccounts"]["accounts"]] == [1, 2, 3]
    key = snapshot["public_key"]

    got = alice.request("GET", "/api/v1/reserves/proof", "reservesProofQuery")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["account"] == alice_creds.account and body["seq"] == doc["seq"]
    proof = body["proof"]
    assert proof["account"] == alice_creds.account
    symbols = proof["assets"]
    assert proof["equity"][symbols.index("USDC")] == str(3800 * 10**6)
    assert proof["equity"][symbols.index("SOL")] == str(3 * 10**9)
    report = verify(snapshot, proof, reserves, account=alice_creds.account, public_key=key)
    assert report.ok, report.to_dict()
    # a tampered copy fails
    bad = json.loads(json.dumps(proof))
    bad["equity"][symbols.index("USDC")] = str(3801 * 10**6)
    assert not verify(snapshot, bad, reserves, account=alice_creds.account, public_key=key).ok

    # the subaccount's proof, through subaccountId, for its owner only
    sub_body = alice.request("GET", "/api/v1/reserves/proof", "reservesProofQuery", {"subaccountId": sub}).json()
    assert sub_body["account"] == sub and sub_body["proof"]["equity"][symbols.index("USDC")] == str(1200 * 10**6)
    assert verify(snapshot, sub_body["proof"], reserves, account=sub, public_key=key).ok
    assert bob.request("GET", "/api/v1/reserves/proof", "reservesProofQuery", {"subaccountId": sub}).status_code == 404

    # bob gets bob's, whatever he adds to the request
    for params in ({}, {"account": alice_creds.account}, {"accountId": alice_creds.account}):
        r = bob.request("GET", "/api/v1/reserves/proof", "reservesProofQuery", params)
        assert r.status_code == 200, r.text
        assert r.json()["account"] == bob_creds.account and r.json()["proof"]["account"] == bob_creds.account
    assert bob.request("GET", "/api/v1/reserves/proof", "reservesProofQuery", {"subaccountId": alice_creds.account}
                       ).status_code == 404  # fmt: skip
    # unsigned, wrongly signed, or signed for another instruction: refused
    assert httpx.get(server.url + "/api/v1/reserves/proof").status_code == 401
    headers = bob.headers("balanceQuery", {})
    assert httpx.get(server.url + "/api/v1/reserves/proof", headers=headers).status_code == 401

    # an account opened after the snapshot has no proof in it yet, and is told when it will
    late = Signed(server.url, sandbox_account(server, USDC="1"))
    answer = late.request("GET", "/api/v1/reserves/proof", "reservesProofQuery")
    assert answer.status_code == 200, answer.text
    pending = answer.json()
    assert pending["included"] is False and pending["proof"] is None
    snapshot_ms = latest(server)["snapshot"]["ts_us"] // 1000
    assert snapshot_ms < pending["nextSnapshotAt"] <= snapshot_ms + 86_400_000
    assert "next daily snapshot" in pending["message"]


def test_a_snapshot_names_its_checkpoint(server: Server) -> None:
    published = publish_now(server)
    record = published["checkpoint"]
    assert record["seq"] == published["seq"] and record["liabilities_root"] == published["root"]
    served = latest(server)
    assert served["seq"] == published["seq"] and served["checkpoint"] == record
    chain = httpx.get(server.url + "/api/v1/chain", timeout=30).json()
    assert record in chain["records"]


def test_cli_on_the_data_dir(server: Server, tmp_path: Path) -> None:
    creds = sandbox_account(server, USDC="777")
    published = publish_now(server)
    rucksack = [sys.executable, "-m", "rucksack", "reserves"]
    # re-issue from DATA/reserves/<seq>: identical to what the API serves
    out = subprocess.run(
        [*rucksack, "proof", "--data-dir", str(server.data_dir), "--account", str(creds.account)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    served = Signed(server.url, creds).request("GET", "/api/v1/reserves/proof", "reservesProofQuery").json()
    assert served["seq"] == published["seq"]
    assert json.loads(out.stdout) == served["proof"]
    missing = subprocess.run(
        [*rucksack, "proof", "--data-dir", str(server.data_dir), "--account", "999999"],
        capture_output=True,
        timeout=120,
    )
    assert missing.returncode == 1
    # a fresh snapshot from the data dir (recovered read-only), then the standalone verifier
    snap_out = tmp_path / "por"
    made = subprocess.run(
        [*rucksack, "snapshot", "--data-dir", str(server.data_dir), "--out", str(snap_out)],
        capture_output=True,
        timeout=120,
        check=True,
    )
    summary = json.loads(made.stdout)
    assert summary["seq"] >= published["seq"]
    assert (snap_out / "private" / "liabilities.json").is_file() and (snap_out / "exchange-accounts.json").is_file()
    checked = subprocess.run(
        [
            *rucksack,
            "verify",
            "--snapshot", str(snap_out / "snapshot.json"),
            "--proof", str(snap_out / "proofs" / f"{creds.account}.json"),
            "--reserves", str(snap_out / "reserves.json"),
            "--account", str(creds.account),
            "--public-key", summary["public_key"],
            "--json",
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # same long-lived key as the server's snapshots
    assert summary["public_key"] == latest(server)["snapshot"]["public_key"]
