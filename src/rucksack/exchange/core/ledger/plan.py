"""Balance changes as signed deltas: a ``Plan`` collects them, ``check`` tests them as a whole,
``apply`` makes them all or none.

A plan holds signed changes per balance (one ``Balance`` is one (account, asset)) to its
``available``, ``locked``, ``lend_shares``, ``borrow_shares`` and ``lent_principal``; per account
to ``unsettled``; and per asset the atoms entering (deposits) or leaving (withdrawals) the
exchange. Deltas to the same field add up, so the order a plan is written in does not matter and
what is checked is the net change.

- ``check(plan)``: every balance field stays >= 0 after its net change (``unsettled`` is signed
  and unbounded).
- ``apply(ledger, plan)`` runs ``check`` first and raises ``BalanceError`` before the first
  change when it fails: a plan is applied whole or not at all.

Commands test what a plan rests on before they build it (and turn a failure into a rejection
event), so ``BalanceError`` only ever signals a bug. An operation's dry run is its checks without
the apply; its apply runs the same checks (``ledger.operations``).

Fills are the exception, for speed: ``ledger.balances``' hold, release and fill functions update
fields in place without a plan. That is still all or nothing: placement's reserve stage (R1)
checks and holds everything a match can spend before matching, so settling a fill (R2) only
moves held atoms and cannot fail half-way.

No rounding happens here; amounts arrive in atoms and shares, rounded by whoever computed them.
"""

from __future__ import annotations

from rucksack.exchange.core.ledger.balances import Account, Balance, Ledger


class BalanceError(Exception):
    """A plan would take a balance below zero (a bug: the command should have refused first)."""


class Plan:
    """Signed changes to balances, unsettled amounts and the exchange's asset totals."""

    __slots__ = ("balances", "deposited", "unsettled", "withdrawn")

    def __init__(self) -> None:
        # per balance: [available, locked, lend_shares, borrow_shares, lent_principal]
        self.balances: dict[Balance, list[int]] = {}
        self.unsettled: dict[Account, int] = {}
        self.deposited: dict[int, int] = {}
        self.withdrawn: dict[int, int] = {}

    def deltas(self, bal: Balance) -> list[int]:
        d = self.balances.get(bal)
        if d is None:
            d = [0, 0, 0, 0, 0]
            self.balances[bal] = d
        return d

    def available(self, bal: Balance, delta: int) -> Plan:
        self.deltas(bal)[0] += delta
        return self

    def locked(self, bal: Balance, delta: int) -> Plan:
        self.deltas(bal)[1] += delta
        return self

    def lend(self, bal: Balance, shares: int, principal: int = 0) -> Plan:
        d = self.deltas(bal)
        d[2] += shares
        d[4] += principal
        return self

    def borrow(self, bal: Balance, shares: int) -> Plan:
        self.deltas(bal)[3] += shares
        return self

    def move(self, source: Balance, target: Balance, amount: int) -> Plan:
        """``amount`` available atoms from ``source`` to ``target`` (same asset)."""
        return self.available(source, -amount).available(target, amount)

    def owe(self, acct: Account, delta: int) -> Plan:
        """Change ``acct.unsettled`` by ``delta`` (negative: the account owes more)."""
        self.unsettled[acct] = self.unsettled.get(acct, 0) + delta
        return self

    def move_unsettled(self, source: Account, target: Account, amount: int) -> Plan:
        return self.owe(source, -amount).owe(target, amount)

    def deposit(self, asset: int, bal: Balance, amount: int) -> Plan:
        """``amount`` atoms of ``asset`` enter the exchange into ``bal``."""
        self.deposited[asset] = self.deposited.get(asset, 0) + amount
        return self.available(bal, amount)

    def withdraw(self, asset: int, bal: Balance, amount: int) -> Plan:
        """``amount`` atoms of ``asset`` leave the exchange from ``bal``."""
        self.withdrawn[asset] = self.withdrawn.get(asset, 0) + amount
        return self.available(bal, -amount)


def check(plan: Plan) -> bool:
    """Whether every balance field stays >= 0 once the plan's net changes are made."""
    for bal, d in plan.balances.items():
        if (
            bal.available + d[0] < 0
            or bal.locked + d[1] < 0
            or bal.lend_shares + d[2] < 0
            or bal.borrow_shares + d[3] < 0
            or bal.lent_principal + d[4] < 0
        ):
            return False
    return True


def apply(ledger: Ledger, plan: Plan) -> None:
    """Make every change of ``plan``, or none: ``check`` runs first."""
    if not check(plan):
        raise BalanceError("a balance would go below zero")
    for bal, d in plan.balances.items():
        bal.available += d[0]
        bal.locked += d[1]
        bal.lend_shares += d[2]
        bal.borrow_shares += d[3]
        bal.lent_principal += d[4]
    for acct, delta in plan.unsettled.items():
        acct.unsettled += delta
    for asset, amount in plan.deposited.items():
        ledger.deposited[asset] += amount
    for asset, amount in plan.withdrawn.items():
        ledger.withdrawn[asset] += amount
