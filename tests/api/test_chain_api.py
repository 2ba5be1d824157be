"""The chain of commitments against a running sandbox: ``rucksack verify-exchange`` and ``rucksack
wallet verify-fills`` pass, and fail when the server's stored proofs drop or rewrite a user's fill or
a record of the chain is rewritten (and served after a restart)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from rucksack.cli import main
from rucksack.exchange.api.auth import new_keypair
from rucksack.exchange.checkpoints import SegmentFile
from rucksack.exchange.service import admin_token_path
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow


def publish_now(server: Server) -> dict[str, Any]:
    token = admin_token_path(server.data_dir).read_text().strip()
    r = httpx.post(server.url + "/api/v1/sandbox/reserves/snapshot", headers={"X-Admin-Token": token}, timeout=60)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def verify_exchange(url: str, *extra: str) -> tuple[int, dict[str, Any]]:
    """``rucksack verify-exchange`` as a user runs it (another process, from another folder)."""
    done = subprocess.run(
        [sys.executable, "-m", "rucksack", "verify-exchange", "--url", url, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    return done.returncode, json.loads(done.stdout)


class WalletRun:
    """``rucksack wallet verify-fills`` with a keystore holding the account's imported exchange key."""

    def __init__(self, tmp: Path, creds: Creds, capsys: pytest.CaptureFixture[str]) -> None:
        (tmp / "pw").write_text("pw\n")
        self.base = ["--keystore", str(tmp / "w.json"), "--password-file", str(tmp / "pw")]
        self.capsys = capsys
        assert main(["wallet", "create", *self.base, "--kdf", "test"]) == 0
        (tmp / "k").write_text(base64.b64encode(base64.b64decode(creds.secret)).decode() + "\n")
        assert main(["wallet", "exchange-key", *self.base, "--import-file", str(tmp / "k")]) == 0
        capsys.readouterr()

    def verify_fills(self, url: str, *extra: str) -> tuple[int, dict[str, Any], str]:
        code = main(["wallet", "verify-fills", *self.base, "--exchange", url, *extra])
        out = self.capsys.readouterr()
        return code, json.loads(out.out), out.err


def _trade(server: Server) -> tuple[Creds, Creds]:
    buyer = sandbox_account(server, USDC="10000")
    seller = sandbox_account(server, SOL="50")
    for price in ("101", "102"):
        sell = {"symbol": "SOL_USDC", "side": "Ask", "orderType": "Limit", "quantity": "1", "price": price}
        assert Signed(server.url, seller).request("POST", "/api/v1/order", "orderExecute", sell).status_code == 200
    buy = {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "quantity": "2", "price": "102"}
    got = Signed(server.url, buyer).request("POST", "/api/v1/order", "orderExecute", buy)
    assert got.status_code == 200 and got.json()["status"] == "Filled", got.text
    return buyer, seller


def _edit_segments(data_dir: Path, account: int, edit: Any) -> list[tuple[Path, bytes]]:
    """Apply ``edit`` to the account's stored leaves in every segment file; the originals, to restore."""
    saved = []
    for path in sorted((data_dir / "chain" / "segments").glob("*.msgpack")):
        raw = path.read_bytes()
        seg = msgspec.msgpack.decode(raw, type=SegmentFile)
        users = []
        for index, owner, doc in seg.users:
            leaf = json.loads(doc)
            if owner == account and leaf["kind"] == "fill":
                leaf = edit(leaf)
                if leaf is None:
                    continue
            users.append((index, owner, json.dumps(leaf, sort_keys=True, separators=(",", ":"))))
        saved.append((path, raw))
        path.write_bytes(msgspec.msgpack.encode(SegmentFile(seg.first, seg.last, seg.hashes, users)))
    return saved


def test_verify_exchange_and_verify_fills_against_a_sandbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server = start_server(tmp_path / "d", "--no-makers", "--feed", "manual")
    try:
        buyer, _ = _trade(server)
        published = publish_now(server)  # a reserves snapshot, and the checkpoint it was cut at
        key = published["checkpoint"]["public_key"]
        code, report = verify_exchange(server.url, "--public-key", key)
        assert code == 0 and report["ok"], report
        assert report["reserves"] == {"seq": published["seq"], "root": published["root"], "checkpoint": True}
        assert verify_exchange(server.url, "--public-key", "00" * 32)[0] == 1  # a key not the exchange's

        wallet = WalletRun(tmp_path, buyer, capsys)
        code, report, err = wallet.verify_fills(server.url, "--public-key", key, "--save", str(tmp_path / "kept.json"))
        assert code == 0 and report["ok"], report
        assert report["provenFills"] == report["fillsChecked"] == 2 and report["provenOrders"] == 1
        assert "2 fills match them" in err

        # the exchange rewrites a fill in its stored proofs: the path no longer reaches the signed root
        saved = _edit_segments(server.data_dir, buyer.account, lambda leaf: leaf | {"price": "99"})
        code, report, err = wallet.verify_fills(server.url)
        assert code == 1 and any("does not lead to the record's segment root" in p for p in report["problems"])
        assert "FAIL" in err
        for path, raw in saved:
            path.write_bytes(raw)
        # ... or drops one: the fill the history shows has no proof
        saved = _edit_segments(
            server.data_dir, buyer.account, lambda leaf: None if Decimal(leaf["price"]) == 101 else leaf
        )
        code, report, _ = wallet.verify_fills(server.url)
        assert code == 1 and len(report["dropped"]) == 1
        for path, raw in saved:
            path.write_bytes(raw)
        assert wallet.verify_fills(server.url, "--fills", str(tmp_path / "kept.json"))[0] == 0

        # an account opened after the snapshot: `wallet reserves` says when it will be included
        late = sandbox_account(server, USDC="1")
        (tmp_path / "late").mkdir()
        late_wallet = WalletRun(tmp_path / "late", late, capsys)
        code = main(["wallet", "reserves", *late_wallet.base, "--exchange", server.url])
        out = capsys.readouterr()
        assert code == 0 and json.loads(out.out)["pending"] is True, out
        assert "opened after the newest reserves snapshot" in out.err and "next daily snapshot" in out.err
    finally:
        server.stop()

    # a record rewritten on disk (re-signed or not) is served after a restart: verify-exchange fails
    records = sorted((tmp_path / "d" / "chain" / "records").glob("*.json"))
    record = json.loads(records[0].read_bytes())
    record["state_hash"] = "0" * 64
    records[0].write_text(json.dumps(record))
    server = start_server(tmp_path / "d", "--no-makers", "--feed", "manual")
    try:
        code, report = verify_exchange(server.url)
        assert code == 1 and any("signature does not match" in p for p in report["problems"])
    finally:
        server.stop()
    audited = subprocess.run(
        [sys.executable, "-m", "rucksack", "audit", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert audited.returncode == 1 and "differ from the journal" in audited.stderr


def test_an_operator_cuts_a_snapshot_and_its_checkpoint_on_demand(tmp_path: Path) -> None:
    """``POST /api/v1/operator/reserves/snapshot``: the operator key, role ``operations`` (a ``risk``
    key is refused); the snapshot it cuts names the checkpoint whose record carries its root."""
    admin_public, admin_secret = new_keypair()
    server = start_server(tmp_path / "d", "--no-makers", "--feed", "manual", "--operator-key", admin_public)
    try:
        admin = Signed(server.url, Creds(admin_public, admin_secret, 0))
        keys = {}
        for role in ("operations", "risk"):
            public, secret = new_keypair()
            body = {"publicKey": public, "roles": [role]}
            assert admin.request("POST", "/api/v1/operator/keys", "operatorKeySet", body).status_code == 200
            keys[role] = Signed(server.url, Creds(public, secret, 0))
        _trade(server)
        path, instruction = "/api/v1/operator/reserves/snapshot", "operatorReservesSnapshot"
        assert keys["risk"].request("POST", path, instruction, {}).status_code == 403
        cut = keys["operations"].request("POST", path, instruction, {})
        assert cut.status_code == 200, cut.text
        summary = cut.json()
        record = summary["checkpoint"]
        assert record["seq"] == summary["seq"] and record["liabilities_root"] == summary["root"]
        served = httpx.get(server.url + "/api/v1/reserves/snapshot").json()
        assert served["seq"] == summary["seq"] and served["checkpoint"] == record
        code, report = verify_exchange(server.url, "--public-key", record["public_key"])
        assert code == 0 and report["reserves"]["seq"] == summary["seq"], report
    finally:
        server.stop()
