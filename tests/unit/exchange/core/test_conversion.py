"""Dust conversion (``ConvertDust``): a balance below the spot market's minimum order, lend
included, is sold to the exchange (the fee account) for USDC at the index, rounded down; all or
nothing, and refused without changing anything when it is not dust or the exchange cannot pay."""

from __future__ import annotations

from rucksack.exchange.core.commands import ConvertDust, Deposit
from rucksack.exchange.core.events import BorrowLendExecuted, ConvertDustRejected, DustConverted
from tests.unit.exchange.core.perps.helpers import SOL, USDC, PerpDriver

DUST = SOL // 100 - 1  # one atom under SOL_USDC's minimum order of 0.01 SOL


def venue() -> tuple[PerpDriver, int]:
    d = PerpDriver()
    d.index("SOL", "150")
    d(Deposit(d.engine.fee_account, "USDC", 10 * USDC, "exchange-float"))
    return d, d.new_account(auto_lend=True, USDC=5 * USDC, SOL=DUST)


def test_lent_dust_is_redeemed_and_sold_for_usdc_at_the_index() -> None:
    d, a = venue()
    sol, usdc = d.engine.asset_index["SOL"], d.engine.asset_index["USDC"]
    assert d.acct(a).assets[sol].lend_shares  # autoLend lent it
    events = d(ConvertDust(a, "SOL"))
    redeem, converted, *relent = events
    assert isinstance(redeem, BorrowLendExecuted) and (redeem.kind, redeem.source) == ("LendRedeem", "DustConversion")
    paid = DUST * 150 * USDC // SOL  # 1.49999999... USDC, rounded down to the atom
    assert converted == DustConverted(a, "SOL", DUST, paid)
    assert all(isinstance(e, BorrowLendExecuted) and e.source == "AutoLend" for e in relent)  # USDC lent again
    bal = d.acct(a).assets[sol]
    assert bal.available == bal.lend_shares == 0
    pool = d.engine.pools[usdc]
    assert pool is not None and pool.claim(d.acct(a).assets[usdc].lend_shares) == 5 * USDC + paid
    fee = d.acct(d.engine.fee_account).assets
    assert fee[sol].available == DUST and fee[usdc].available == 10 * USDC - paid


def test_not_dust_or_no_money_is_refused_whole() -> None:
    d, a = venue()
    big = d.new_account(SOL=SOL)
    [no] = d(ConvertDust(big, "SOL"))
    assert isinstance(no, ConvertDustRejected) and no.reason == "NotDust"
    [no] = d(ConvertDust(a, "USDC"))  # the settlement asset is never dust
    assert isinstance(no, ConvertDustRejected) and no.reason == "NotDust"
    assert d(ConvertDust(big)) == []  # "every asset" with none: nothing to do, no error
    poor = PerpDriver()
    poor.index("SOL", "150")
    b = poor.new_account(SOL=DUST)
    [no] = poor(ConvertDust(b))
    assert isinstance(no, ConvertDustRejected) and no.reason == "InsufficientFunds"
    assert poor.acct(b).assets[poor.engine.asset_index["SOL"]].available == DUST
    assert d.acct(big).assets[d.engine.asset_index["SOL"]].available == SOL
