"""Double-entry balances per (account, asset): available and locked atoms.

Invariants (checked by ``core.invariants`` after every command in tests):
- available >= 0 and locked >= 0 everywhere;
- conservation per asset: the sum over all accounts, system accounts included, of
  available + locked equals ``deposited - withdrawn``;
- an account's locked balance of an asset equals the holds of its open orders in that asset.

Every movement has two sides: a deposit moves atoms from the outside world (``deposited``) to
an account, a withdrawal back out (``withdrawn``), a fill moves atoms between the two traders and
the fee account. Checks happen before any mutation, so a rejected command changes nothing.
"""

from __future__ import annotations


class AccountBalances:
    __slots__ = ("account", "available", "locked")

    def __init__(self, account: int, n_assets: int) -> None:
        self.account = account
        self.available: list[int] = [0] * n_assets
        self.locked: list[int] = [0] * n_assets


class Ledger:
    __slots__ = ("accounts", "deposited", "n_assets", "withdrawn")

    def __init__(self, n_assets: int) -> None:
        self.n_assets = n_assets
        self.accounts: dict[int, AccountBalances] = {}
        self.deposited: list[int] = [0] * n_assets
        self.withdrawn: list[int] = [0] * n_assets

    def account(self, account: int) -> AccountBalances:
        """The account's balances, created empty on first use."""
        acct = self.accounts.get(account)
        if acct is None:
            acct = AccountBalances(account, self.n_assets)
            self.accounts[account] = acct
        return acct

    def available(self, account: int, asset: int) -> int:
        acct = self.accounts.get(account)
        return 0 if acct is None else acct.available[asset]

    def apply_deposit(self, account: int, asset: int, amount: int) -> None:
        self.account(account).available[asset] += amount
        self.deposited[asset] += amount

    def can_withdraw(self, account: int, asset: int, amount: int) -> bool:
        return 0 < amount <= self.available(account, asset)

    def apply_withdrawal(self, account: int, asset: int, amount: int) -> None:
        acct = self.accounts[account]
        acct.available[asset] -= amount
        self.withdrawn[asset] += amount

    def apply_hold(self, acct: AccountBalances, asset: int, amount: int) -> None:
        """Move ``amount`` from available to locked; the caller checked availability."""
        acct.available[asset] -= amount
        acct.locked[asset] += amount

    def apply_release(self, acct: AccountBalances, asset: int, amount: int) -> None:
        """Move ``amount`` from locked back to available."""
        acct.locked[asset] -= amount
        acct.available[asset] += amount


def settle_spot_fill(
    buyer: AccountBalances,
    seller: AccountBalances,
    fees: AccountBalances,
    base: int,
    quote: int,
    base_atoms: int,
    quote_atoms: int,
    buyer_fee: int,
    seller_fee: int,
) -> None:
    """Settle one spot fill from both parties' holds (R2).

    The buyer's locked quote pays ``quote_atoms`` and the buyer receives ``base_atoms`` less its
    fee; the seller's locked base delivers ``base_atoms`` and it receives ``quote_atoms`` less
    its fee. Fees go to the fee account. Net change per asset is zero.
    """
    buyer.locked[quote] -= quote_atoms
    buyer.available[base] += base_atoms - buyer_fee
    seller.locked[base] -= base_atoms
    seller.available[quote] += quote_atoms - seller_fee
    fees.available[base] += buyer_fee
    fees.available[quote] += seller_fee
