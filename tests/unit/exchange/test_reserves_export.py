"""Liabilities from the engine (rucksack.exchange.reserves_export): the equity/debt rule, system
accounts kept apart, exact prices, reserves from the ledger, and a publish / re-issue round trip."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from rucksack.exchange.core.commands import BorrowLend, CreateAccount, PlaceOrder, Withdraw
from rucksack.exchange.reserves_export import account_nets, liabilities, publish, reissue_proof
from rucksack.reserves.documents import LEDGER_SOURCE
from rucksack.reserves.verify import verify
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver


def trading_state() -> tuple[PerpDriver, dict[str, int]]:
    d = PerpDriver()
    d.index("SOL", "150")
    d.index("BTC", "60000")
    d.index("ETH", "3000")
    lender = d.new_account(USDC=50_000 * USDC)
    long_ = d.new_account(USDC=20_000 * USDC)
    short = d.new_account(USDC=20_000 * USDC, SOL=10 * SOL)
    d(BorrowLend(lender, "USDC", "Lend", 30_000 * USDC))
    # a perp position between long_ and short at 150, then the index (and mark) moves to 160
    sol_perp = d.engine.market_by_symbol["SOL_USDC_PERP"]
    ticks = int(Fraction(150) / Fraction(sol_perp.spec.tick_size))
    d(PlaceOrder(short, "SOL_USDC_PERP", "Ask", "Limit", lots=int(2 * SOL // sol_perp.lot_atoms), price=ticks))
    d(PlaceOrder(long_, "SOL_USDC_PERP", "Bid", "Limit", lots=int(2 * SOL // sol_perp.lot_atoms), price=ticks))
    d.index("SOL", "160")
    # the short also borrows USDC against its SOL (spot margin): a debt in the pool
    d(BorrowLend(short, "USDC", "Borrow", 1_000 * USDC))
    d(Withdraw(lender, "USDC", 500 * USDC, "w-1"))
    sol_lender = d.new_account(SOL=5 * SOL)
    d(BorrowLend(sol_lender, "SOL", "Lend", 5 * SOL))
    d(BorrowLend(long_, "SOL", "Borrow", SOL))
    d(Withdraw(long_, "SOL", SOL, "w-2"))  # borrowed and taken out: the SOL net is now -1 SOL
    assert d.engine.ledger.accounts[long_].assets[d.engine.asset_index["SOL"]].borrow_shares > 0
    sub = d.engine.next_account_id
    d(CreateAccount("sub", parent=lender))
    return d, {"lender": lender, "long": long_, "short": short, "sub": sub}


def test_equity_debt_rule_and_system_accounts() -> None:
    d, who = trading_state()
    engine = d.engine
    liab = liabilities(engine)
    snap = liab.snapshot
    assert snap.seq == engine.last_seq and snap.ts_us == engine.last_ts_us
    symbols = [a.symbol for a in snap.assets]
    assert symbols == [a.symbol for a in engine.spec.assets]  # every listed asset, tokenized equities too
    assert symbols[:4] == ["USDC", "SOL", "BTC", "ETH"]
    rows = {r.account: r for r in snap.rows}
    # system accounts are the exchange's own: listed apart, never leaves
    assert {r.account for r in liab.system} == {1, 2, 3}
    assert {r.role for r in liab.system} == {"fees", "liquidity fund", "settlement pot"}
    assert all(a >= 1000 for a in rows)
    assert who["sub"] in rows  # a subaccount is a row of its own
    usdc = engine.asset_index["USDC"]
    pool = engine.pools[usdc]
    assert pool is not None
    for name, account in who.items():
        acct = engine.ledger.accounts[account]
        expected = []
        for i, bal in enumerate(acct.assets):
            net = bal.available + bal.locked
            p = engine.pools[i]
            if p is not None:
                net += p.claim(bal.lend_shares) - p.debt(bal.borrow_shares)
            expected.append(net)
        pnl = acct.unsettled + sum(
            pos.lots * (engine.markets[pos.market].mark or engine.markets[pos.market].last_price)
            * engine.markets[pos.market].lot_tick_atoms - pos.cost
            for pos in acct.positions.values()
        )  # fmt: skip
        expected[usdc] += pnl
        assert account_nets(engine, account) == expected, name
        row = rows[account]
        assert row.equity == [max(n, 0) for n in expected]
        assert row.debt == [max(-n, 0) for n in expected]
    # the lender's claim is in its USDC equity; the long's unrealized gain too (mark moved up)
    assert rows[who["lender"]].equity[usdc] >= 49_500 * USDC
    # the long borrowed SOL and withdrew it: its SOL net is negative, a debt
    sol = engine.asset_index["SOL"]
    assert rows[who["long"]].debt[sol] >= SOL and rows[who["long"]].equity[sol] == 0
    long_acct = engine.ledger.accounts[who["long"]]
    assert long_acct.positions and rows[who["long"]].equity[usdc] > 20_000 * USDC - 100 * USDC
    zero = [0] * len(symbols)
    assert rows[who["sub"]].equity == zero and rows[who["sub"]].debt == zero
    # prices: exact decimals of settlement units per whole unit, the settlement asset at 1
    prices = {a.symbol: a.price for a in snap.assets}
    unpriced = {s: "0" for s in symbols if s not in ("USDC", "SOL", "BTC", "ETH")}  # no index price set here
    assert prices == {
        **unpriced,
        "USDC": "1",
        "SOL": "160",
        "BTC": "60000",
        "ETH": "3000",
    }
    # tokenized equities have no book or index: unpriced (0) here, their liabilities still listed in shares
    assert all(0 <= Fraction(a.collateral_weight) <= 1 for a in snap.assets)
    # reserves: deposited - withdrawn per asset, from the ledger
    custody = {h.asset: h.balance for h in snap.custody}
    for i, s in enumerate(symbols):
        assert custody[s] == engine.ledger.deposited[i] - engine.ledger.withdrawn[i]
    # every account's nets plus the exchange's own add up to the pool-adjusted holdings
    for i in range(len(symbols)):
        total = sum(account_nets(engine, a)[i] for a in engine.ledger.accounts)
        p = engine.pools[i]
        adjust = (p.lent() - p.borrowed() - p.cash) if p is not None else 0
        assert abs(total - (custody[symbols[i]] + adjust)) <= len(engine.ledger.accounts) * 2


def test_publish_verify_and_reissue(tmp_path: Path) -> None:
    d, who = trading_state()
    liab = liabilities(d.engine)
    out = tmp_path / "reserves" / str(liab.snapshot.seq)
    summary = publish(liab, out, tmp_path / "reserves" / "private" / "signing.key")
    assert summary["accounts"] == len(liab.snapshot.rows)
    snapshot = json.loads((out / "snapshot.json").read_bytes())
    reserves = json.loads((out / "reserves.json").read_bytes())
    assert {h["source"] for h in reserves["holdings"]} == {LEDGER_SOURCE}
    system = json.loads((out / "exchange-accounts.json").read_bytes())
    assert [a["account"] for a in system["accounts"]] == [1, 2, 3]
    assert (out / "private" / "snapshot-secret.hex").stat().st_mode & 0o077 == 0
    for account in (who["lender"], who["long"], who["short"]):
        proof = json.loads((out / "proofs" / f"{account}.json").read_bytes())
        report = verify(snapshot, proof, reserves, account=account, public_key=snapshot["public_key"])
        assert report.ok, report.to_dict()
        assert json.loads(reissue_proof(out, account)) == proof  # re-issued exactly
    # the snapshot's totals are covered by the ledger's reserves (the verifier's solvency check)
    solvency = verify(snapshot, None, reserves).solvency
    assert len(solvency) == len(snapshot["assets"]) and all(s.ok for s in solvency)
