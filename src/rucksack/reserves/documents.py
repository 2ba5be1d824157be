"""Published formats: ``snapshot.json``, a per-user inclusion proof, ``reserves.json`` (msgspec).

Conventions shared by all three (field-by-field description in ``docs/reserves.md``):

- Amounts are base-10 strings of integer atoms (``"1250000"``): sums exceed 2**53, which many JSON
  parsers cannot hold. Sequence numbers, times, indices and decimals are JSON integers.
- Hashes, salts, ids, keys and signatures are lowercase hex.
- Per-asset lists follow the snapshot's ``assets`` order, the column order of every hash.
- ``snapshot.json`` and ``reserves.json`` carry ``public_key`` and ``signature``
  (:mod:`rucksack.reserves.signing`); a proof is not signed — it is checked against the signed root.
"""

from __future__ import annotations

from typing import Final

import msgspec

from rucksack.reserves.commitments import VERSION

LEDGER_SOURCE: Final = "exchange-ledger (not on-chain)"
SANDBOX_SOURCE: Final = "sandbox grants (ledger credit, not on-chain)"  # sandbox mode only: demo money
ONCHAIN_SOURCE: Final = "on-chain"  # a balance read from a chain at `height`, `signature` by the address's key


class SnapshotAsset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    symbol: str
    decimals: int
    price: str  # in price_asset per whole unit, as used by the exchange for this snapshot
    collateral_weight: str
    total_equity: str  # atoms: sum of every account's equity in this asset (the root's sums)
    total_debt: str  # atoms: sum of every account's debt in this asset


class PublishedSnapshot(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    snapshot_id: str
    seq: int
    ts_us: int
    price_asset: str
    assets: list[SnapshotAsset]
    root: str
    depth: int
    public_key: str = ""
    signature: str = ""
    version: str = VERSION


class PathStep(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    hash: str  # the sibling's hash
    equity: list[str]  # the sibling's per-asset sums
    debt: list[str]


class InclusionProof(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    snapshot_id: str
    seq: int
    account: int
    salt: str  # k_user: keep it private, it lets anyone recompute your leaf
    index: int
    assets: list[str]  # symbols, for the reader; must equal the snapshot's
    equity: list[str]
    debt: list[str]
    path: list[PathStep]  # bottom-up: path[0] is the leaf's sibling
    version: str = VERSION


class Holding(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    asset: str
    balance: str  # atoms
    source: str  # ONCHAIN_SOURCE; LEDGER_SOURCE without chain custody; SANDBOX_SOURCE for demo grants
    address: str = ""  # on-chain: the chain's own address form (base58 for SVM, 0x-hex for EVM)
    height: int = 0  # pinned block height / slot (0: not on-chain)
    signature: str = ""  # on-chain: the address key's signature over `challenge` (SVM ed25519 base58, EVM 0x)
    chain: str = ""  # on-chain: the chain's key ("solana", "base", ...); empty for the ledger


class ReservesStatement(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    snapshot_id: str
    seq: int
    ts_us: int
    challenge: str  # the message address keys sign; contains the snapshot id
    holdings: list[Holding]
    public_key: str = ""
    signature: str = ""
    version: str = VERSION


def challenge_for(snapshot_id: str) -> str:
    return f"{VERSION} reserves for snapshot {snapshot_id}"


def encode(doc: msgspec.Struct) -> bytes:
    return msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"
