"""A driver on the shipped default spec with explicit timestamps, plus plain-arithmetic helpers."""

from __future__ import annotations

import math
from fractions import Fraction

from rucksack.exchange.core.commands import Command, CreateAccount, Deposit, SetIndexPrice
from rucksack.exchange.core.events import Event
from rucksack.exchange.core.ledger.balances import Account
from rucksack.exchange.core.risk.margin import Margin
from tests.conftest import Driver, default_spec

USDC = 10**6  # atoms per USDC
SOL = 10**9
BTC = 10**8
SECOND = 1_000_000


class PerpDriver(Driver):
    def __init__(self) -> None:
        super().__init__(default_spec())
        self.now = 1_700_000_000_000_000

    def __call__(self, command: Command) -> list[Event]:
        self.now += SECOND
        self.seq += 1
        events = self.engine.apply(command, self.seq, self.now)
        self.log.append((self.seq, self.now, command))
        from rucksack.exchange.core.invariants import check_invariants

        problems = check_invariants(self.engine)
        assert not problems, problems
        return events

    def new_account(self, auto_lend: bool = False, **amounts: int) -> int:
        """A funded account; by default with autoLend off (Backpack's default is on, which the tests
        of auto-lend ask for), so a test's balances stay where it put them."""
        account = self.engine.next_account_id
        self(CreateAccount(f"acct-{account}", auto_lend=auto_lend))
        for asset, atoms in amounts.items():
            self(Deposit(account, asset, atoms, f"dep-{account}-{asset}"))
        return account

    def index(self, base: str, price: str) -> list[Event]:
        """Set the index of every market of ``base`` to the decimal ``price`` (in each market's ticks)."""
        events: list[Event] = []
        for m in self.engine.markets:
            if m.spec.base == base:
                ticks = Fraction(price) / Fraction(m.spec.tick_size)
                assert ticks.denominator == 1
                events += self(SetIndexPrice(m.symbol, int(ticks)))
        return events

    def acct(self, account: int) -> Account:
        return self.engine.ledger.accounts[account]

    def margin(self, account: int) -> Margin:
        return self.engine.margin.compute(self.acct(account))


def sqrt_frac(x: Fraction) -> Fraction:
    """A square root accurate to 1e-30: the integer square root of x scaled by 10**60."""
    if x <= 0:
        return Fraction(0)
    return Fraction(math.isqrt(x.numerator * 10**60 // x.denominator), 10**30)
