"""EIP-1559 transactions for devices: the canonical dict, the unsigned payload a device signs, and
the raw signed transaction assembled from the device's ``(r, s)``.

Invariants:

- Only type-2 (EIP-1559) transactions with an explicit ``chainId`` are accepted (replay
  protection is not optional); the access list must be empty (nothing we build uses one, and no
  device screen shows one).
- The signed transaction is assembled from ``r``/``s`` and the y-parity that *recovers the device's
  own address* over the signing hash, so whatever ``v`` convention a device uses (0/1, 27/28) the
  result is either correct or refused -- never a transaction from someone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_keys import keys
from eth_utils.address import to_canonical_address, to_checksum_address
from eth_utils.crypto import keccak

from rucksack.wallet.hardware.base import DeviceError

TX_TYPE = 2


@dataclass(frozen=True)
class Eip1559:
    chain_id: int
    nonce: int
    max_priority_fee_per_gas: int
    max_fee_per_gas: int
    gas: int
    to: str | None  # EIP-55, or None for a contract creation
    value: int
    data: bytes

    def fields(self) -> list[Any]:
        to = to_canonical_address(self.to) if self.to else b""
        return [
            self.chain_id,
            self.nonce,
            self.max_priority_fee_per_gas,
            self.max_fee_per_gas,
            self.gas,
            to,
            self.value,
            self.data,
            [],
        ]

    def unsigned(self) -> bytes:
        """``0x02 || rlp([...])``: what Ledger's SIGN_ETH_TRANSACTION takes; keccak of it is signed."""
        return bytes([TX_TYPE]) + bytes(rlp.encode(self.fields()))

    def signing_hash(self) -> bytes:
        return bytes(keccak(self.unsigned()))

    def signed(self, y_parity: int, r: int, s: int) -> bytes:
        return bytes([TX_TYPE]) + bytes(rlp.encode([*self.fields(), y_parity, r, s]))


def _int(tx: dict[str, Any], key: str) -> int:
    if key not in tx:
        raise ValueError(f"EIP-1559 transaction without {key!r}")
    value = tx[key]
    out = int(value, 0) if isinstance(value, str) else int(value)
    if out < 0:
        raise ValueError(f"negative {key!r}")
    return out


def normalize(tx: dict[str, Any]) -> Eip1559:
    if int(tx.get("type", TX_TYPE)) != TX_TYPE:
        raise ValueError("devices here sign EIP-1559 (type 2) transactions only")
    if tx.get("accessList"):
        raise ValueError("transactions with an access list are not supported")
    if "gasPrice" in tx:
        raise ValueError("gasPrice is a legacy field; give maxFeePerGas/maxPriorityFeePerGas")
    data = tx.get("data", b"") or b""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    to = tx.get("to")
    return Eip1559(
        chain_id=_int(tx, "chainId"),
        nonce=_int(tx, "nonce"),
        max_priority_fee_per_gas=_int(tx, "maxPriorityFeePerGas"),
        max_fee_per_gas=_int(tx, "maxFeePerGas"),
        gas=_int(tx, "gas"),
        to=to_checksum_address(to) if to else None,
        value=int(tx.get("value", 0)),
        data=bytes(data),
    )


def recover_parity(msg_hash: bytes, r: int, s: int, address: str) -> int:
    """The y-parity (0/1) for which ``(r, s)`` over ``msg_hash`` recovers ``address``."""
    for parity in (0, 1):
        try:
            pub = keys.Signature(vrs=(parity, r, s)).recover_public_key_from_msg_hash(msg_hash)
        except Exception:  # not a valid point for this parity
            continue
        if pub.to_checksum_address() == to_checksum_address(address):
            return parity
    raise DeviceError(f"the device's signature does not recover to {address}")


def assemble(tx: Eip1559, r: int, s: int, address: str) -> bytes:
    return tx.signed(recover_parity(tx.signing_hash(), r, s, address), r, s)


def rsv65(msg_hash: bytes, r: int, s: int, address: str) -> bytes:
    """65-byte ``r || s || v`` with v in {27, 28}, the parity checked by recovery."""
    v = 27 + recover_parity(msg_hash, r, s, address)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])
