"""The zero-knowledge tier published by a running sandbox server, checked by the wallet.

The operator cuts a snapshot with ``zk`` through the sandbox route (what ``rucksack sandbox
reserves-snapshot --zk`` posts); the server proves tier (b) in the background (``zkStatus``
``proving`` -> ``done``) while it keeps serving. The wallet's library function
(``wallet.exchange_link.verify_reserves``, what ``rucksack wallet reserves`` runs) then verifies
the account's batch proof against the real server (``zk_verified``), and refuses a tampered zk
inclusion proof and a tampered batch proof served to it. The circuit for the venue's asset count
is built once per machine and cached under ``build/zk``; the server holds only this test's few
accounts (``--no-makers``), so proving takes seconds after that.
"""

from __future__ import annotations

import base64
import copy
import time
from typing import Any

import httpx
import nacl.signing
import pytest

from rucksack.exchange.service import admin_token_path
from rucksack.wallet.exchange_link import ExchangeClient, verify_reserves
from tests.api.conftest import Server, sandbox_account

pytestmark = pytest.mark.slow


def snapshot_zk(server: Server) -> dict[str, Any]:
    token = admin_token_path(server.data_dir).read_text().strip()
    r = httpx.post(
        server.url + "/api/v1/sandbox/reserves/snapshot",
        json={"zk": True},
        headers={"X-Admin-Token": token},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def wait_for_zk(server: Server, seq: int, timeout: float = 600) -> dict[str, Any]:
    """Poll the public snapshot until its zk tier is served; the API answers meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        started = time.monotonic()
        doc: dict[str, Any] = httpx.get(server.url + "/api/v1/reserves/snapshot", timeout=30).json()
        assert time.monotonic() - started < 5, "the API stalled while proving"
        assert doc["seq"] == seq
        if doc["zkStatus"] == "done":
            return doc
        assert doc["zkStatus"] == "proving", doc["zkStatus"]
        assert time.monotonic() < deadline, "the zk tier was not proved in time"
        time.sleep(0.5)


class Tampered(ExchangeClient):
    """The real client, with what the server sent altered on the way (a lying or hijacked server)."""

    def __init__(self, url: str, key: nacl.signing.SigningKey, *, zk_proof: Any = None, zk_doc: Any = None) -> None:
        super().__init__(url, key)
        self.alter_proof, self.alter_doc = zk_proof, zk_doc

    def reserves_snapshot(self) -> Any:
        snap = super().reserves_snapshot()
        if self.alter_doc is not None:
            snap["zk"] = self.alter_doc(copy.deepcopy(snap["zk"]))
        return snap

    def reserves_proof(self) -> Any:
        mine = super().reserves_proof()
        if self.alter_proof is not None:
            mine["zkProof"] = self.alter_proof(copy.deepcopy(mine["zkProof"]))
        return mine


def test_wallet_verifies_the_served_zk_tier_and_refuses_tampering(server: Server) -> None:
    creds = sandbox_account(server, USDC="5000", SOL="3")
    sandbox_account(server, USDC="100")
    key = nacl.signing.SigningKey(base64.b64decode(creds.secret))
    started = snapshot_zk(server)
    assert started["zkStatus"] in ("proving", "done")
    doc = wait_for_zk(server, started["seq"])
    assert doc["zk"] is not None
    pinned = doc["snapshot"]["public_key"]

    client = ExchangeClient(server.url, key)
    own = client.reserves_proof()  # the account's own zk inclusion proof comes with its tier (a) proof
    assert own["zkProof"] is not None and own["account"] == creds.account

    result = verify_reserves(client, pinned)
    report = result["report"]
    assert result["ok"], result["text"]
    assert report["included"] and report["zk_verified"] is True, report

    def bump_balance(proof: Any) -> Any:
        proof["equity"][0] = str(int(proof["equity"][0]) + 1)
        return proof

    def flip_pi_a(document: Any) -> Any:
        for batch in document["batches"]:
            batch["proof"]["pi_a"][0] = str(int(batch["proof"]["pi_a"][0]) + 1)
        return document

    for tampered in (Tampered(server.url, key, zk_proof=bump_balance), Tampered(server.url, key, zk_doc=flip_pi_a)):
        bad = verify_reserves(tampered, pinned)
        assert not bad["ok"] and bad["report"]["zk_verified"] is False, bad["text"]


def test_a_plain_snapshot_has_no_zk_tier_and_a_bad_flag_is_refused(server: Server) -> None:
    token = admin_token_path(server.data_dir).read_text().strip()
    url, headers = server.url + "/api/v1/sandbox/reserves/snapshot", {"X-Admin-Token": token}
    plain = httpx.post(url, json={}, headers=headers, timeout=60)
    assert plain.status_code == 200, plain.text
    assert "zkStatus" not in plain.json()
    doc = httpx.get(server.url + "/api/v1/reserves/snapshot", timeout=30).json()
    assert doc["seq"] == plain.json()["seq"] and doc["zk"] is None and doc["zkStatus"] == "none"
    bad = httpx.post(url, json={"zk": "maybe"}, headers=headers, timeout=60)
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_CLIENT_REQUEST", bad.text
