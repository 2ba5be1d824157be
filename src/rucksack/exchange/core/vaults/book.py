"""The vault state: every vault, its depositors' shares, its redemption queue and NAV samples.

Scales: shares are integers in units of ``10**-SHARE_DECIMALS`` share; values (NAV, basis) are
settlement-asset atoms. The first shares are priced at one share per settlement unit (1 USDC).

Invariants (``check``): a vault's ``shares`` equals the sum of its depositors' shares, every
depositor holds > 0 shares, the queue holds at most one request per account and only accounts
that hold shares, ``0 <= fee_remainder < FEE_DENOMINATOR``. A vault's value lives in its ledger
account (``account``), a subaccount of the leader margined and liquidated like any; nothing here
holds funds.

Records are mutable msgspec structs (array-like), so the snapshot carries copies of them.
"""

from __future__ import annotations

from typing import Final

import msgspec

from rucksack.exchange.core.numeric import PPM

SHARE_DECIMALS: Final = 6
MAX_SHARES: Final = 1 << 60  # a vault's tokens stay inside 64 bits (docs/exchange-core.md "Bounds")
YEAR_SECONDS: Final = 365 * 24 * 3600
YEAR_US: Final = YEAR_SECONDS * 1_000_000
FEE_DENOMINATOR: Final = PPM * YEAR_SECONDS  # management fee: shares x ppm x s / (10^6 x one year)
SAMPLE_EVERY_US: Final = 3600 * 1_000_000  # the crank's NAV samples: hourly
MAX_SAMPLES: Final = 2000  # the oldest samples drop off


class Depositor(msgspec.Struct, array_like=True):
    account: int
    shares: int
    basis: int  # high-water value of these shares: gains above it pay the performance fee
    last_deposit_us: int
    deposited: int = 0  # value put in over time
    withdrawn: int = 0  # paid out over time


class Redeem(msgspec.Struct, array_like=True):
    account: int
    shares: int  # 0: all
    requested_us: int
    due_us: int


class Sample(msgspec.Struct, array_like=True, frozen=True):
    ts_us: int
    nav: int
    shares: int


class Vault(msgspec.Struct, array_like=True):
    id: int
    account: int
    leader: int
    name: str
    management_fee_ppm: int
    performance_fee_ppm: int
    leader_min_ppm: int
    lockup_us: int
    redeem_delay_us: int
    deposit_cap: int
    protocol: bool
    created_us: int
    shares: int = 0
    fee_clock_us: int = 0  # management fee accrued up to here (advances in whole seconds)
    fee_remainder: int = 0  # the fraction of a share not yet minted, x FEE_DENOMINATOR
    fee_shares: int = 0  # every fee share minted or taken so far
    depositors: dict[int, Depositor] = {}
    queue: list[Redeem] = []
    samples: list[Sample] = []
    last_sample_us: int = 0
    halted: str = ""  # why the vault is halted ("" running): its account may only reduce positions


class VaultRecord(msgspec.Struct, array_like=True, frozen=True):
    """The snapshot's picture of a :class:`VaultBook` (vaults in id order)."""

    next_id: int
    vaults: list[Vault]


class VaultBook:
    def __init__(self) -> None:
        self.vaults: dict[int, Vault] = {}
        self.by_account: dict[int, int] = {}  # vault account -> vault id
        self.next_id = 1

    def record(self) -> VaultRecord:
        return VaultRecord(self.next_id, [_copy(self.vaults[i]) for i in sorted(self.vaults)])

    @classmethod
    def from_record(cls, rec: VaultRecord) -> VaultBook:
        book = cls()
        book.next_id = rec.next_id
        for v in rec.vaults:
            book.vaults[v.id] = _copy(v)
            book.by_account[v.account] = v.id
        return book

    def is_vault(self, account: int) -> bool:
        return account in self.by_account

    def backstop_order(self, providers: list[int]) -> list[int]:
        """Backstop providers in the order they are asked: exchange-run (protocol) vaults first,
        the first backstop (vaults-growth.md §4), then the rest in id order."""
        first = [a for a in providers if a in self.by_account and self.vaults[self.by_account[a]].protocol]
        return first + [a for a in providers if a not in first] if first else providers


def _copy(v: Vault) -> Vault:
    return msgspec.structs.replace(
        v,
        depositors={a: msgspec.structs.replace(d) for a, d in sorted(v.depositors.items())},
        queue=[msgspec.structs.replace(r) for r in v.queue],
        samples=list(v.samples),
    )


def check(book: VaultBook) -> list[str]:
    """The invariants of the module docstring (``core.invariants`` runs them in tests)."""
    problems = []
    for v in book.vaults.values():
        if v.shares != sum(d.shares for d in v.depositors.values()):
            problems.append(f"vault {v.id}: {v.shares} shares but the depositors hold another sum")
        if any(d.shares <= 0 for d in v.depositors.values()):
            problems.append(f"vault {v.id}: a depositor without shares")
        queued = [r.account for r in v.queue]
        if len(queued) != len(set(queued)) or any(a not in v.depositors for a in queued):
            problems.append(f"vault {v.id}: queue names an account twice or one without shares")
        if not 0 <= v.fee_remainder < FEE_DENOMINATOR:
            problems.append(f"vault {v.id}: fee remainder out of range")
        if book.by_account.get(v.account) != v.id:
            problems.append(f"vault {v.id}: account index differs")
    return problems


def check_excluded(book: VaultBook, excluded: set[int]) -> list[str]:
    """The engine's ``programme_excluded`` index names exactly the protocol vaults' accounts."""
    if excluded != {v.account for v in book.vaults.values() if v.protocol}:
        return ["vaults: the programme-excluded index differs from the protocol vaults"]
    return []


def check_halted(book: VaultBook, halted_accounts: set[int]) -> list[str]:
    """The engine's ``halted_vaults`` index names exactly the halted vaults' accounts."""
    if halted_accounts != {v.account for v in book.vaults.values() if v.halted}:
        return ["vaults: the halted-account index differs from the vaults' halt flags"]
    return []
