"""A plan of signed balance deltas is checked as a whole and applied all or nothing."""

from __future__ import annotations

import pytest

from rucksack.exchange.core.ledger.balances import Ledger
from rucksack.exchange.core.ledger.plan import BalanceError, Plan, apply, check


def test_deltas_net_before_the_check() -> None:
    ledger = Ledger(1)
    a, b = ledger.account(1), ledger.account(2)
    apply(ledger, Plan().deposit(0, a.assets[0], 100))
    # 150 leaves a but 60 comes back within the same plan: the net change is checked
    plan = Plan().move(a.assets[0], b.assets[0], 150).move(b.assets[0], a.assets[0], 60)
    assert check(plan)
    apply(ledger, plan)
    assert (a.assets[0].available, b.assets[0].available) == (10, 90)


def test_a_failing_plan_changes_nothing() -> None:
    ledger = Ledger(2)
    a, b = ledger.account(1), ledger.account(2)
    apply(ledger, Plan().deposit(0, a.assets[0], 100).deposit(1, a.assets[1], 5))
    plan = Plan().move(a.assets[1], b.assets[1], 5).owe(a, -7).withdraw(0, a.assets[0], 101)
    assert not check(plan)
    with pytest.raises(BalanceError):
        apply(ledger, plan)
    assert (a.assets[0].available, a.assets[1].available, b.assets[1].available, a.unsettled) == (100, 5, 0, 0)
    assert (ledger.deposited, ledger.withdrawn) == ([100, 5], [0, 0])


def test_every_field_and_total() -> None:
    ledger = Ledger(1)
    a, fund = ledger.account(1), ledger.account(2)
    bal = a.assets[0]
    plan = Plan().deposit(0, bal, 50).available(bal, -30).lend(bal, 7, 30).borrow(bal, 3).locked(bal, 0)
    apply(ledger, plan.move_unsettled(fund, a, 4))
    assert (bal.available, bal.locked, bal.lend_shares, bal.lent_principal, bal.borrow_shares) == (20, 0, 7, 30, 3)
    assert (a.unsettled, fund.unsettled) == (4, -4)  # unsettled is signed: no bound
    apply(ledger, Plan().withdraw(0, bal, 20))
    assert (ledger.deposited, ledger.withdrawn, bal.available) == ([50], [20], 0)
    assert not check(Plan().lend(bal, -8, 0)) and not check(Plan().borrow(bal, -4))
    assert not check(Plan().lend(bal, 0, -31)) and not check(Plan().locked(bal, -1))
