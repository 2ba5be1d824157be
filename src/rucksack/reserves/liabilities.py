"""The input: what the exchange owes, per account and asset, at one journal sequence number.

The exchange produces a :class:`LiabilitySnapshot` from its engine (a consistent cut at ``seq``);
this package only reads it. Invariants (checked by :func:`check_snapshot`):

- money is integers: ``equity`` and ``debt`` are unsigned atoms of each asset (``10**-decimals``),
  each in ``[0, 2**64)``; debt is kept separate from equity (never netted), as Binance and OKX do;
- every row has exactly one equity and one debt per asset, in the order of ``assets``;
- account ids are unique u64s; asset symbols are unique;
- ``price`` and ``collateral_weight`` are the exact decimal strings the exchange used (quote
  ``price_asset`` per whole unit; weight in [0, 1]); tier (a) records them, tier (b) will check
  haircut collateral against debt with them. Nothing here is rounded.
- ``custody`` (optional) lists the exchange's own custody balances at the same ``seq``; until the
  chain adapters exist they feed the reserves statement, marked as not on-chain.

JSON form (``liabilities.json``): the struct as msgspec encodes it. Amounts are JSON integers,
parsed exactly (strict: no floats, no ``1e3``); this file is machine-to-machine, produced by Python.
"""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from rucksack.reserves.commitments import U64_LIMIT

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


class AssetInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    symbol: str
    decimals: int
    price: str = "0"  # quote (price_asset) per whole unit, exact decimal string; "0" if unknown
    collateral_weight: str = "0"  # haircut weight applied to equity, exact decimal in [0, 1]


class LiabilityRow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    account: int
    equity: list[int]  # atoms per asset, in LiabilitySnapshot.assets order
    debt: list[int]


class CustodyHolding(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    asset: str
    balance: int  # atoms
    address: str = ""  # on-chain address, or the exchange's custody account label
    height: int = 0  # pinned block height; 0 for ledger-sourced holdings


class LiabilitySnapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    seq: int  # journal sequence number the cut was taken at
    ts_us: int
    assets: list[AssetInfo]
    rows: list[LiabilityRow]
    price_asset: str = "USDC"
    custody: list[CustodyHolding] = []


class LiabilityError(ValueError):
    """A liabilities snapshot that breaks one of the invariants in the module docstring."""


def _u64(value: int, what: str) -> None:
    if type(value) is not int or not 0 <= value < U64_LIMIT:
        raise LiabilityError(f"{what} must be an integer in [0, 2**64), got {value!r}")


def check_snapshot(snap: LiabilitySnapshot) -> None:
    """Raise :class:`LiabilityError` unless ``snap`` satisfies every invariant."""
    _u64(snap.seq, "seq")
    _u64(snap.ts_us, "ts_us")
    if not snap.assets:
        raise LiabilityError("no assets")
    symbols = [a.symbol for a in snap.assets]
    if len(set(symbols)) != len(symbols):
        raise LiabilityError(f"duplicate asset symbols: {symbols}")
    for a in snap.assets:
        if not a.symbol or type(a.decimals) is not int or not 0 <= a.decimals <= 36:
            raise LiabilityError(f"bad asset {a!r}")
        if not _DECIMAL.fullmatch(a.price) or not _DECIMAL.fullmatch(a.collateral_weight):
            raise LiabilityError(f"{a.symbol}: price and collateral_weight must be plain decimal strings")
    k = len(snap.assets)
    seen: set[int] = set()
    for row in snap.rows:
        _u64(row.account, "account")
        if row.account in seen:
            raise LiabilityError(f"account {row.account} appears twice")
        seen.add(row.account)
        if len(row.equity) != k or len(row.debt) != k:
            raise LiabilityError(f"account {row.account}: expected {k} equity and {k} debt values")
        for i, (e, d) in enumerate(zip(row.equity, row.debt, strict=True)):
            _u64(e, f"account {row.account} equity[{symbols[i]}]")
            _u64(d, f"account {row.account} debt[{symbols[i]}]")
    for h in snap.custody:
        if h.asset not in symbols:
            raise LiabilityError(f"custody holding in unknown asset {h.asset!r}")
        _u64(h.balance, f"custody {h.asset} balance")
        _u64(h.height, f"custody {h.asset} height")


def decode_snapshot(data: bytes) -> LiabilitySnapshot:
    """Parse and check ``liabilities.json``."""
    try:
        snap = msgspec.json.decode(data, type=LiabilitySnapshot)
    except msgspec.DecodeError as exc:
        raise LiabilityError(str(exc)) from exc
    check_snapshot(snap)
    return snap


def load_snapshot(path: Path) -> LiabilitySnapshot:
    return decode_snapshot(path.read_bytes())


def encode_snapshot(snap: LiabilitySnapshot) -> bytes:
    return msgspec.json.format(msgspec.json.encode(snap), indent=2) + b"\n"
