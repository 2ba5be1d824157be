"""Fee tiers through the API of a real server (core.tiers; docs/api.md "Fee tiers"): an account
crosses Tier 2 at the UTC day boundary reached by advancing the sandbox clock, and the fee rate on
its next fill changes; an operator sets a VIP level (audited); the journal stays one forward
history, conservation holds after every journaled command, and the advance survives a restart.

Hand-computed: 700 SOL at 150 = 105_000 USDC of spot volume on each side (Tier 2 needs 100_000).
Tier 1 fees: the taker 0.10% of what it receives, the maker 0.08%; Tier 2: 0.09% and 0.07%. The
next fill, 10 SOL at 150: the buyer (taker) pays 0.009 SOL, the seller (maker) 1.05 USDC.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from rucksack.exchange.api.auth import new_keypair
from rucksack.exchange.core.engine import Engine
from rucksack.exchange.core.invariants import check_invariants
from rucksack.exchange.sequencer.datadir import read_spec
from rucksack.exchange.sequencer.journal import read_journal
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

pytestmark = pytest.mark.slow

DAY_MS = 86_400_000


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json() if response.content else None


def admin(server: Server, path: str, body: dict[str, Any]) -> httpx.Response:
    token = (server.data_dir / "admin.token").read_text().strip()
    return httpx.post(server.url + path, json=body, headers={"X-Admin-Token": token}, timeout=30)


def order(client: Signed, side: str, quantity: str, price: str = "150") -> Any:
    body = {"orderType": "Limit", "price": price, "quantity": quantity, "side": side, "symbol": "SOL_USDC"}
    if side == "Bid":
        body["timeInForce"] = "IOC"
    return ok(client.request("POST", "/api/v1/order", "orderExecute", body))


def account(client: Signed) -> Any:
    return ok(client.request("GET", "/api/v1/account", "accountQuery"))


def fill_fee(client: Signed, order_id: str) -> tuple[str, str]:
    fills = ok(client.request("GET", "/wapi/v1/history/fills", "fillHistoryQueryAll", {"orderId": order_id}))
    assert len(fills) == 1, fills
    return fills[0]["fee"], fills[0]["feeSymbol"]


def cli(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "rucksack", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def replay_checked(data_dir: Path) -> int:
    """Apply the whole journal to a fresh engine, checking every invariant (conservation
    included) after each command and that time never goes back; the last command's time."""
    engine = Engine(read_spec(data_dir))
    last = 0
    for entry in read_journal(data_dir / "journal.log"):
        assert entry.ts_us >= last, f"time went back at {entry.seq}"
        last = entry.ts_us
        engine.apply(entry.command, entry.seq, entry.ts_us)
        problems = check_invariants(engine)
        assert not problems, (entry.seq, problems)
    return last


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data_dir = tmp_path_factory.mktemp("tiers") / "d"
    data_dir.mkdir(mode=0o700)
    public, secret = new_keypair()
    server = start_server(data_dir, "--no-makers", "--feed", "manual", "--operator-key", public)
    yield server, Signed(server.url, Creds(public, secret, 0)), public
    server.stop()


def test_crossing_tier_2_at_the_day_change_moves_the_next_fills_fee(venue: Any) -> None:
    server, _, _ = venue
    alice = Signed(server.url, sandbox_account(server, USDC="200000", SOL="1000"))
    bob = Signed(server.url, sandbox_account(server, USDC="200000", SOL="1000"))
    before = account(alice)
    assert (before["feeTier"], before["spotMakerFee"], before["spotTakerFee"]) == ("Tier 1", "8", "10")
    assert before["nextFeeTier"]["feeTier"] == "Tier 2"
    assert (before["nextFeeTier"]["spotVolumeNeeded"], before["nextFeeTier"]["futuresVolumeNeeded"]) == (
        "100000",
        "500000",
    )
    order(alice, "Ask", "700")
    assert order(bob, "Bid", "700")["status"] == "Filled"
    traded = account(alice)
    assert (traded["feeTier"], traded["spotVolume30d"], traded["nextFeeTier"]["spotVolumeNeeded"]) == (
        "Tier 1",
        "105000",
        "0",
    )
    # advance the exchange's clock just past the next 00:00 UTC (the README's command line)
    now = ok(admin(server, "/api/v1/sandbox/clock", {"advanceMs": 0}))["now"]
    moved = cli("sandbox", "clock", "--next-day", "--url", server.url, "--data-dir", str(server.data_dir))
    assert moved["now"] // DAY_MS == now // DAY_MS + 1 and moved["now"] % DAY_MS >= 1000
    after = account(alice)
    assert (after["feeTier"], after["feeTierIndex"], after["volumeTier"]) == ("Tier 2", 1, 1)
    assert (after["spotMakerFee"], after["spotTakerFee"]) == ("7", "9")
    assert after["feeTierRecomputedAt"] == moved["now"] // DAY_MS * DAY_MS
    assert account(bob)["feeTier"] == "Tier 2"
    ask = order(alice, "Ask", "10")
    bid = order(bob, "Bid", "10")
    assert fill_fee(bob, bid["id"]) == ("0.009", "SOL")  # 0.09% of 10 SOL (was 0.10%)
    assert fill_fee(alice, ask["id"]) == ("1.05", "USDC")  # 0.07% of 1_500 USDC (was 0.08%)
    # the journal is one forward history through the advance, conservation after every command
    assert replay_checked(server.data_dir) // 1000 >= moved["now"] - 1000


def test_sandbox_clock_refuses_bad_input_and_never_goes_back(venue: Any) -> None:
    server, _, _ = venue
    for body in ({"advanceMs": -1}, {"advanceMs": "1.5"}, {"advanceMs": 400 * DAY_MS + 1}, []):
        r = admin(server, "/api/v1/sandbox/clock", body)  # type: ignore[arg-type]
        assert r.status_code == 400 and r.json()["code"] == "INVALID_CLIENT_REQUEST", r.text
    r = httpx.post(server.url + "/api/v1/sandbox/clock", json={"advanceMs": 1}, headers={"X-Admin-Token": "x"})
    assert r.status_code in (401, 403)


def test_operator_sets_a_vip_level_audited(venue: Any, tmp_path: Path) -> None:
    server, op, public = venue
    carol_creds = sandbox_account(server, USDC="1000")
    carol = Signed(server.url, carol_creds)
    set_vip = {"accountId": carol_creds.account, "vipLevel": 3}
    # an account's own key is not an operator key
    refused = carol.request("POST", "/api/v1/operator/vipLevel", "operatorVipLevelSet", set_vip)
    assert refused.status_code in (401, 403)
    done = ok(op.request("POST", "/api/v1/operator/vipLevel", "operatorVipLevelSet", set_vip))
    assert done == {"accountId": carol_creds.account, "vipLevel": 3, "feeTierIndex": 3}
    shown = account(carol)
    assert (shown["feeTier"], shown["vipLevel"], shown["spotMakerFee"], shown["spotTakerFee"]) == (
        "Tier 4",
        3,
        "4.2",
        "5.4",
    )
    bad = op.request("POST", "/api/v1/operator/vipLevel", "operatorVipLevelSet", {**set_vip, "vipLevel": 99})
    assert bad.status_code == 400, bad.text
    key_file = tmp_path / "operator.key"
    key_file.write_text(op.creds.secret + "\n")
    reset = cli(
        "operator",
        "vip",
        "--account",
        str(carol_creds.account),
        "--level",
        "0",
        "--url",
        server.url,
        "--key-file",
        str(key_file),
    )
    assert reset == {"accountId": carol_creds.account, "vipLevel": 0, "feeTierIndex": 0}
    assert account(carol)["feeTier"] == "Tier 1"
    trail = ok(op.request("GET", "/api/v1/operator/audit", "operatorAuditQuery"))
    assert [(r["operatorKey"], r["outcome"]) for r in reversed(trail) if r["instruction"] == "operatorVipLevelSet"] == [
        (public, "ok"),
        (public, "refused 400 INVALID_CLIENT_REQUEST"),
        (public, "ok"),
    ]


def test_the_clock_advance_survives_a_restart(venue: Any) -> None:
    server, _, _ = venue
    ahead = ok(admin(server, "/api/v1/sandbox/clock", {"advanceMs": 0}))
    assert ahead["offsetMs"] > 0
    server.stop()
    again = start_server(server.data_dir, "--no-makers", "--feed", "manual")
    try:
        later = ok(admin(again, "/api/v1/sandbox/clock", {"advanceMs": 0}))
        assert later["now"] >= ahead["now"]  # continues from the journal, not the wall clock
        replay_checked(again.data_dir)
    finally:
        again.stop()
        server.proc = again.proc  # the fixture's stop() finds it already stopped
