"""The Reserves page: totals vs reserves from the published snapshot, and the signed-in user's own
inclusion proof fetched and verified in the browser (WebCrypto SHA-256/HMAC + noble ED25519)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from rucksack.exchange.service import admin_token_path
from tests.web.conftest import Web, browser_client, start_trading


def publish_snapshot(web: Web, data_dir: object) -> int:
    token = admin_token_path(data_dir).read_text().strip()  # type: ignore[arg-type]
    r = httpx.post(web.url + "/api/v1/sandbox/reserves/snapshot", headers={"X-Admin-Token": token}, timeout=60)
    assert r.status_code == 200, r.text
    return int(r.json()["seq"])


def test_reserves_page_checks_my_proof_in_the_browser(web: Web, server) -> None:  # type: ignore[no-untyped-def]
    page = start_trading(web)
    account = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session')).accountId")
    assert account
    seq = publish_snapshot(web, server.data_dir)  # a snapshot that includes the new account

    page.click("#nav button[data-page='reserves']")
    expect(page.locator("#page-reserves")).to_be_visible()
    assets = httpx.get(web.url + "/api/v1/assets").json()  # every listed asset, tokenized equities too
    expect(page.locator("#reserves-table tbody tr")).to_have_count(len(assets))
    shown_seq = int(page.locator("#por-seq").inner_text())
    assert shown_seq >= seq
    usdc = page.locator("#reserves-table tr[data-asset='USDC']")
    expect(usdc).to_have_attribute("data-covered", "true")
    expect(usdc.locator("td.coverage")).to_contain_text("%")
    expect(page.locator("#por-source")).to_contain_text("exchange-ledger (not on-chain)")
    expect(page.locator("#por-root")).to_have_text(re.compile("^[0-9a-f]{64}$"))
    web.shot("20-reserves-snapshot")

    # the chain of commitments, every signature and link checked in the browser; the snapshot names its record
    chain = httpx.get(web.url + "/api/v1/chain").json()["records"]
    expect(page.locator("#chain-table")).to_have_attribute("data-verdict", "pass")
    expect(page.locator("#chain-msg")).to_contain_text("verified in your browser")
    assert int(page.locator("#chain-table").get_attribute("data-records") or 0) >= len(chain) >= 1
    expect(page.locator("#por-checkpoint")).to_have_text(
        f"The snapshot above was cut at checkpoint seq {shown_seq}, whose record carries its Merkle-sum root."
    )
    expect(page.locator(f"#chain-table tr[data-seq='{shown_seq}'] td.liabilities")).not_to_have_text("–")
    broken = page.evaluate(
        """async (records) => {
          const { verifyChain } = await import('/assets/reserves.js');
          const out = { ok: (await verifyChain(records)).ok };
          const t = JSON.parse(JSON.stringify(records)); t[t.length - 1].state_hash = '0'.repeat(64);
          out.tampered = (await verifyChain(t)).ok;
          out.dropped = records.length > 2 ? (await verifyChain([records[0], ...records.slice(2)])).ok : false;
          return out;
        }""",
        chain,
    )
    assert broken == {"ok": True, "tampered": False, "dropped": False}, broken
    web.shot("20b-reserves-chain")

    page.click("#check-proof")
    expect(page.locator("#proof-msg")).to_contain_text("Verified in your browser", timeout=20_000)
    expect(page.locator("#proof-result")).to_have_attribute("data-verdict", "pass")
    for check in ("snapshot.signature", "proof.snapshot", "proof.account", "proof.root", "proof.totals"):
        expect(page.locator(f"#proof-checks li.pass[data-check='{check}']")).to_have_count(1)
    expect(page.locator("#proof-checks li.fail")).to_have_count(0)
    expect(page.locator("#proof-balances tr[data-asset='USDC'] td.equity")).to_have_text("100,000")
    web.shot("21-reserves-proof-verified")

    # the same in-browser verifier refuses tampered inputs (so the pass above means something)
    proof = browser_client(web).request("GET", "/api/v1/reserves/proof", "reservesProofQuery").json()["proof"]
    tampered = page.evaluate(
        """async ([account, proof]) => {
          const { verifyProof } = await import('/assets/reserves.js');
          const { snapshot } = await (await fetch('/api/v1/reserves/snapshot')).json();
          const clone = () => JSON.parse(JSON.stringify(proof));
          const out = {};
          out.ok = (await verifyProof(snapshot, proof, account)).ok;
          const a = clone(); a.equity[0] = String(BigInt(a.equity[0]) + 1n);
          out.balance = (await verifyProof(snapshot, a, account)).ok;
          const b = clone(); b.index = b.index ^ 1;
          out.moved = (await verifyProof(snapshot, b, account)).ok;
          const c = clone(); c.path[0].equity[0] = String(BigInt(c.path[0].equity[0]) + 1n);
          out.sibling = (await verifyProof(snapshot, c, account)).ok;
          out.other = (await verifyProof(snapshot, proof, account + 1)).ok;
          const s = JSON.parse(JSON.stringify(snapshot));
          s.assets[0].total_equity = String(BigInt(s.assets[0].total_equity) + 1n);
          out.signature = (await verifyProof(s, proof, account)).ok;
          return out;
        }""",
        [account, proof],
    )
    assert tampered == {
        "ok": True,
        "balance": False,
        "moved": False,
        "sibling": False,
        "other": False,
        "signature": False,
    }, tampered


def test_reserves_page_tells_a_newer_account_it_is_not_in_the_snapshot(web: Web, server) -> None:  # type: ignore[no-untyped-def]
    """An account opened after the latest snapshot is told so in words naming the snapshot, when it was
    cut and when the next one is due (the proof endpoint answers ``included: false``), never an error code."""
    seq = publish_snapshot(web, server.data_dir)  # cut before the account below exists
    page = start_trading(web)
    account = page.evaluate("JSON.parse(localStorage.getItem('rucksack.session')).accountId")
    page.click("#nav button[data-page='reserves']")
    expect(page.locator("#por-seq")).to_have_text(str(seq))
    cut = page.locator("#por-time").inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", cut), cut
    page.click("#check-proof")
    msg = page.locator("#proof-msg")
    expect(msg).to_have_attribute("data-reason", "not-in-snapshot")
    expect(msg).to_have_text(
        re.compile(
            re.escape(
                f"Your account ({account}) is not in the latest snapshot (seq {seq}, cut at {cut}): it was opened "
                "after that snapshot was taken. Your proof will be there from the next snapshot on. "
            )
            + r"The next snapshot is due at \d{4}-\d\d-\d\d 00:00 UTC\."
        )
    )
    expect(msg).not_to_contain_text("RESOURCE_NOT_FOUND")
    expect(page.locator("#proof-result")).to_be_hidden()
    web.shot("22-reserves-not-in-snapshot")
