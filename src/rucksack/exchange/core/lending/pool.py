"""One asset's lending pool: share-based positions valued through cumulative indices.

State: ``cash`` (atoms held by the pool), total lend and borrow shares, and the two indices
(WAD, start at 1). A lender's claim is ``floor(shares * lend_index / WAD)``; a borrower's debt is
``ceil(shares * borrow_index / WAD)``.

Rounding, always in the pool's favour: lending mints shares rounded down, borrowing mints debt
shares rounded up, redeeming burns shares rounded up, repaying burns debt shares rounded down;
the borrow index rounds up, the lend index down.

Hourly accrual (``accrue_hour``): debt grows by the hourly borrow rate; lenders as a whole receive
that growth times ``(1 - fee)`` (rounded down) through the lend index, and the remainder is
minted as lend shares to the fee account — so the exchange's cut is itself a lend claim on the
pool, and nothing leaves the pool as interest until someone repays or redeems.

Invariant (checked by tests after every operation): ``cash + total debt >= total lend claims``.
Token conservation is separate and trivial: operations only move atoms between ``cash`` and the
caller, who applies the opposite change to the account's balance.
"""

from __future__ import annotations

from rucksack.exchange.core.lending.curve import RateCurve, borrow_apr, hourly_rate, utilization
from rucksack.exchange.core.numeric import WAD, ceil_div


class PoolError(ValueError):
    """A pool operation that would break its limits (the caller turns it into a rejection)."""


class Pool:
    __slots__ = ("borrow_index", "borrow_shares", "cash", "curve", "lend_index", "lend_shares", "u_cap")

    def __init__(self, curve: RateCurve) -> None:
        curve.validate()
        self.curve = curve
        self.cash = 0
        self.lend_shares = 0
        self.borrow_shares = 0
        self.lend_index = WAD
        self.borrow_index = WAD
        self.u_cap = curve.throttle_bound  # this hour's utilization ceiling (throttle, §14.5)

    # ---------------------------------------------------------------- valuation

    def lent(self) -> int:
        """Total lend claims, atoms (rounded down)."""
        return self.lend_shares * self.lend_index // WAD

    def borrowed(self) -> int:
        """Total debt, atoms (rounded up)."""
        return ceil_div(self.borrow_shares * self.borrow_index, WAD)

    def claim(self, shares: int) -> int:
        return shares * self.lend_index // WAD

    def debt(self, shares: int) -> int:
        return ceil_div(shares * self.borrow_index, WAD)

    def utilization(self) -> int:
        return utilization(self.borrowed(), self.lent())

    def borrow_apr(self) -> int:
        return borrow_apr(self.curve, self.utilization())

    def ceiling(self) -> int:
        """The utilization borrows and redemptions may reach now: the throttle's ceiling for this
        hour, never above the hard maximum."""
        cap = self.curve.max_utilization
        return self.u_cap if self.u_cap < cap else cap

    def _check_utilization(self, borrowed: int, lent: int) -> None:
        if borrowed > 0 and (lent <= 0 or borrowed * WAD > self.ceiling() * lent):
            raise PoolError("utilization would exceed the pool's maximum")

    # ---------------------------------------------------------------- operations

    def lend(self, amount: int) -> int:
        """Add ``amount`` atoms; return the lend shares minted."""
        if amount <= 0:
            raise PoolError("amount must be positive")
        shares = amount * WAD // self.lend_index
        if shares <= 0:
            raise PoolError("amount is below one lend share")
        self.cash += amount
        self.lend_shares += shares
        return shares

    def redeem(self, amount: int, held_shares: int) -> int:
        """Pay out ``amount`` atoms to a lender holding ``held_shares``; return shares burned."""
        if amount <= 0:
            raise PoolError("amount must be positive")
        burn = ceil_div(amount * WAD, self.lend_index)
        if burn > held_shares:
            raise PoolError("redeeming more than the lend position")
        if amount > self.cash:
            raise PoolError("not enough idle cash in the pool")
        self._check_utilization(self.borrowed(), (self.lend_shares - burn) * self.lend_index // WAD)
        self.cash -= amount
        self.lend_shares -= burn
        return burn

    def redeem_all(self, held_shares: int, claim: int) -> None:
        """Pay out a lender's whole ``claim`` (``claim(held_shares)``) and burn all its shares."""
        if claim > self.cash:
            raise PoolError("not enough idle cash in the pool")
        self._check_utilization(self.borrowed(), (self.lend_shares - held_shares) * self.lend_index // WAD)
        self.cash -= claim
        self.lend_shares -= held_shares

    def can_borrow(self, amount: int, fee: int = 0) -> bool:
        """Whether ``borrow(amount, fee)`` would succeed (checked before any state changes):
        ``fee`` is the entry fee the borrow will be charged, which counts in the utilization cap."""
        if amount <= 0 or amount > self.cash:
            return False
        borrowed, lent = self._after_borrow(amount, fee)
        return not (borrowed > 0 and (lent <= 0 or borrowed * WAD > self.ceiling() * lent))

    def _after_borrow(self, amount: int, fee: int) -> tuple[int, int]:
        """(total debt, total lend claims) once ``borrow(amount)`` and ``charge_entry_fee(fee)``
        have run: the figures the utilization cap applies to."""
        shares = ceil_div(amount * WAD, self.borrow_index)
        fee_debt, lend_index, fee_shares = self._fee_split(fee)
        borrowed = ceil_div((self.borrow_shares + shares + fee_debt) * self.borrow_index, WAD)
        return borrowed, (self.lend_shares + fee_shares) * lend_index // WAD

    def can_redeem_all(self, held_shares: int, claim: int) -> bool:
        """Whether ``redeem_all(held_shares, claim)`` would succeed."""
        if claim > self.cash:
            return False
        borrowed = self.borrowed()
        lent = (self.lend_shares - held_shares) * self.lend_index // WAD
        return not (borrowed > 0 and (lent <= 0 or borrowed * WAD > self.ceiling() * lent))

    def can_borrow_after_redeem_all(self, held_shares: int, claim: int, amount: int, seconds_left: int) -> bool:
        """Whether ``redeem_all(held_shares, claim)`` and then a borrow of ``amount`` with its entry
        fee (at the rate the redemption leaves) would both succeed. Evaluated on the pool itself
        and restored before returning: nothing changes."""
        if not self.can_redeem_all(held_shares, claim):
            return False
        saved = (self.cash, self.lend_shares)
        self.cash -= claim
        self.lend_shares -= held_shares
        try:
            return self.can_borrow(amount, self.entry_fee(amount, seconds_left))
        finally:
            self.cash, self.lend_shares = saved

    def can_redeem(self, amount: int, held_shares: int) -> bool:
        """Whether ``redeem(amount, held_shares)`` would succeed."""
        if amount <= 0 or amount > self.cash:
            return False
        burn = ceil_div(amount * WAD, self.lend_index)
        if burn > held_shares:
            return False
        borrowed = self.borrowed()
        lent = (self.lend_shares - burn) * self.lend_index // WAD
        return not (borrowed > 0 and (lent <= 0 or borrowed * WAD > self.ceiling() * lent))

    def borrow(self, amount: int, fee: int = 0) -> int:
        """Lend ``amount`` atoms out of the pool; return the debt shares minted. ``fee``, the entry
        fee the caller charges next (``charge_entry_fee``), counts in the utilization cap: the
        cap holds after both."""
        if amount <= 0:
            raise PoolError("amount must be positive")
        if amount > self.cash:
            raise PoolError("not enough idle cash in the pool")
        self._check_utilization(*self._after_borrow(amount, fee))
        shares = ceil_div(amount * WAD, self.borrow_index)
        self.cash -= amount
        self.borrow_shares += shares
        return shares

    def repay(self, amount: int, held_shares: int) -> int:
        """Take ``amount`` atoms from a borrower holding ``held_shares``; return debt shares burned.

        Repaying the whole debt (``amount == debt(held_shares)``) burns every share.
        """
        if amount <= 0:
            raise PoolError("amount must be positive")
        if amount > self.debt(held_shares):
            raise PoolError("repaying more than the debt")
        burn = held_shares if amount == self.debt(held_shares) else amount * WAD // self.borrow_index
        self.cash += amount
        self.borrow_shares -= burn
        return burn

    def entry_fee(self, amount: int, seconds_left: int) -> int:
        """The pro-rated interest a new borrow of ``amount`` pays up front for the rest of the
        current hour (``seconds_left`` of 3600) at today's borrow rate, rounded up."""
        if amount <= 0 or seconds_left <= 0:
            return 0
        return ceil_div(amount * hourly_rate(self.borrow_apr()) * seconds_left, WAD * 3600)

    def charge_entry_fee(self, fee: int) -> tuple[int, int]:
        """Add ``fee`` to the debt (return the debt shares to give the borrower) and pay it to the
        lenders like interest (return the lend shares minted for the exchange's cut)."""
        if fee <= 0:
            return 0, 0
        shares, lend_index, fee_shares = self._fee_split(fee)
        self.borrow_shares += shares
        self.lend_index = lend_index
        self.lend_shares += fee_shares
        return shares, fee_shares

    def _fee_split(self, fee: int) -> tuple[int, int, int]:
        """For an entry ``fee``: (debt shares it adds, the lend index once the lenders' part is
        paid, lend shares minted for the exchange's cut); (0, index, 0) without a fee."""
        if fee <= 0:
            return 0, self.lend_index, 0
        shares = ceil_div(fee * WAD, self.borrow_index)
        to_lenders = fee * (WAD - self.curve.fee) // WAD
        lend_index = self.lend_index + (to_lenders * WAD // self.lend_shares if self.lend_shares else 0)
        return shares, lend_index, (fee - to_lenders) * WAD // lend_index

    def update_throttle(self) -> None:
        """Hourly: at or above the threshold, utilization may rise only a fraction of the way to
        the bound during the next hour; below it, up to the bound (an ASSUMPTION, §14.5 item 21)."""
        c = self.curve
        u = self.utilization()
        if u >= c.throttle_threshold:
            step = (c.throttle_bound - u) * c.throttle_update_fraction // WAD if u < c.throttle_bound else 0
            self.u_cap = u + step
        else:
            self.u_cap = c.throttle_bound

    def accrue_hour(self) -> tuple[int, int]:
        """One hour of interest; return (lender interest, fee shares minted for the exchange)."""
        debt_before = self.borrowed()
        lent_before = self.lent()
        if debt_before == 0 or lent_before == 0:
            self.update_throttle()
            return 0, 0
        rate = hourly_rate(borrow_apr(self.curve, utilization(debt_before, lent_before)))
        self.borrow_index = ceil_div(self.borrow_index * (WAD + rate), WAD)
        growth = self.borrowed() - debt_before
        to_lenders = growth * (WAD - self.curve.fee) // WAD
        # exact claims (shares x index) grow by at most to_lenders, and the fee's by at most the rest
        self.lend_index += to_lenders * WAD // self.lend_shares
        fee_shares = (growth - to_lenders) * WAD // self.lend_index
        self.lend_shares += fee_shares
        self.update_throttle()
        return to_lenders, fee_shares

    def is_solvent(self) -> bool:
        return self.cash + self.borrowed() >= self.lent()
