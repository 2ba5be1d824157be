"""Double-entry balances per (account, asset): available and locked atoms.

Invariants (checked by ``core.invariants`` after every command in tests):
- available >= 0 and locked >= 0 everywhere;
- conservation per asset: the sum over all accounts, system accounts included, of
  available + locked equals ``deposited - withdrawn``;
- an account's locked balance of an asset equals the holds of its open orders in that asset.

Every movement has two sides: a deposit moves atoms from the outside world (``deposited``) to
an account, a withdrawal back out (``withdrawn``), a fill moves atoms between the two traders and
the fee account. Checks happen before any mutation, so a rejected command changes nothing.

Outside the fill path every change is a ``ledger.plan.Plan`` (signed deltas, checked as a whole,
applied all or nothing). Holds, releases and fills use the functions below directly, for speed:
they are still all or nothing because placement's reserve stage (R1) checks and holds everything
a match may spend before it starts, so a fill (R2) only moves held atoms and cannot fail.

Layout: one :class:`Balance` object per (account, asset) with two int fields, so the hot path
updates fields in place (unboxed machine integers when the core is compiled with mypyc).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.core.perps.position import Position


class Balance:
    """Atoms ``available`` and ``locked`` (held by orders) in the wallet, plus the account's
    position in the asset's lending pool: ``lend_shares``/``borrow_shares`` (valued through the
    pool's indices) and ``lent_principal`` (atoms lent minus atoms redeemed, for reporting interest)."""

    __slots__ = ("available", "borrow_shares", "lend_shares", "lent_principal", "locked")

    def __init__(self) -> None:
        self.available = 0
        self.locked = 0
        self.lend_shares = 0
        self.borrow_shares = 0
        self.lent_principal = 0


class Account:
    """One margin wallet (an account or a subaccount): balances by asset index, fee tier, perp
    positions by market index, ``unsettled`` settlement-asset atoms (signed: realized PnL, perp
    fees and funding not yet settled into the wallet) and its Backpack settings.

    ``parent`` is 0 for a top-level account, else the account that owns this subaccount.
    ``vol_day``/``vol_spot``/``vol_futures``: this account's fee-tier volume of its latest trading
    day not yet moved into the tier book (core.tiers.volume: plain slots, so a fill adds to them
    without a dict probe).
    ``id_box`` is the account id as a Python int created once, for event fields (compiled, the
    ``int`` field would be boxed anew on each use).
    """

    __slots__ = (
        "account",
        "assets",
        "auto_borrow_settlements",
        "auto_lend",
        "auto_realize_pnl",
        "auto_repay_borrows",
        "id_box",
        "leverage_limit",
        "liquidating",
        "parent",
        "positions",
        "risk_cache",
        "tier",
        "unsettled",
        "vol_day",
        "vol_futures",
        "vol_spot",
    )

    def __init__(self, account: int, n_assets: int) -> None:
        self.account = account
        self.id_box: Any = account
        self.assets: list[Balance] = [Balance() for _ in range(n_assets)]
        self.tier = 0
        self.parent = 0
        self.unsettled = 0
        self.positions: dict[int, Position] = {}
        self.auto_lend = False
        self.auto_realize_pnl = True
        self.auto_borrow_settlements = True
        self.auto_repay_borrows = True
        self.leverage_limit = 0  # 0: the platform maximum
        self.liquidating = False
        self.risk_cache: list[int] = []  # MarginCalc's cache of the balance part (not state)
        self.vol_day = -1
        self.vol_spot = 0
        self.vol_futures = 0

    def position(self, market: int) -> Position:
        pos = self.positions.get(market)
        if pos is None:
            pos = Position(market)
            self.positions[market] = pos
        return pos


class Ledger:
    __slots__ = ("accounts", "deposited", "n_assets", "withdrawn")

    def __init__(self, n_assets: int) -> None:
        self.n_assets = n_assets
        self.accounts: dict[int, Account] = {}
        self.deposited: list[int] = [0] * n_assets
        self.withdrawn: list[int] = [0] * n_assets

    def account(self, account: int) -> Account:
        """The account's balances, created empty on first use."""
        acct = self.accounts.get(account)
        if acct is None:
            acct = Account(account, self.n_assets)
            self.accounts[account] = acct
        return acct

    def available(self, account: int, asset: int) -> int:
        acct = self.accounts.get(account)
        return 0 if acct is None else acct.assets[asset].available

    def locked(self, account: int, asset: int) -> int:
        acct = self.accounts.get(account)
        return 0 if acct is None else acct.assets[asset].locked


def apply_hold(balance: Balance, amount: int) -> None:
    """Move ``amount`` from available to locked; the caller checked availability."""
    balance.available -= amount
    balance.locked += amount


def apply_release(balance: Balance, amount: int) -> None:
    """Move ``amount`` from locked back to available."""
    balance.locked -= amount
    balance.available += amount


def settle_spot_fill(
    buyer_base: Balance,
    buyer_quote: Balance,
    seller_base: Balance,
    seller_quote: Balance,
    fee_base: Balance,
    fee_quote: Balance,
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
    buyer_quote.locked -= quote_atoms
    buyer_base.available += base_atoms - buyer_fee
    seller_base.locked -= base_atoms
    seller_quote.available += quote_atoms - seller_fee
    fee_base.available += buyer_fee
    fee_quote.available += seller_fee
