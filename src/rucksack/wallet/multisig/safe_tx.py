"""SafeTx and EIP-712: the fields the owners sign, their typed data and hashes, signatures, ``execTransaction``.

Invariants:

- **What is signed is what is shown.** The EIP-712 typed data is always rebuilt from the SafeTx
  fields (``typed_data``); ``offline_hash`` and the contract's ``getTransactionHash``
  (``contract_hash``) are computed from the same fields, so a caller can require that they agree.
- A signature counts only as 65 bytes r||s||v with v in {27, 28} (EIP-712), recovered to its signer
  (``recover``); ``packed_signatures`` orders them by owner address, as ``checkNSignatures`` requires.
- Refunds are never used: ``safeTxGas``, ``baseGas``, ``gasPrice`` are 0 and ``gasToken``,
  ``refundReceiver`` the zero address, so a failing inner call reverts the whole ``execTransaction``.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address

from rucksack.wallet.messages import typed_data_hash
from rucksack.wallet.multisig.safe_contracts import ZERO, SafeError, calldata, eth_call
from rucksack.wallet.rpc import Rpc

CALL, DELEGATECALL = 0, 1
EXEC_SIG = "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)"
HASH_SIG = "getTransactionHash(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,uint256)"
TX_TYPES = ["address", "uint256", "bytes", "uint8", "uint256", "uint256", "uint256", "address", "address"]
SAFE_TX_TYPE = [
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "data", "type": "bytes"},
    {"name": "operation", "type": "uint8"},
    {"name": "safeTxGas", "type": "uint256"},
    {"name": "baseGas", "type": "uint256"},
    {"name": "gasPrice", "type": "uint256"},
    {"name": "gasToken", "type": "address"},
    {"name": "refundReceiver", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]


def safe_tx(to: str, value: int, data: bytes, operation: int, nonce: int) -> dict[str, Any]:
    """A SafeTx as stored in a proposal: uint256 as decimal strings, bytes as 0x-hex."""
    return {
        "to": to_checksum_address(to),
        "value": str(value),
        "data": "0x" + data.hex(),
        "operation": operation,
        "safeTxGas": "0",
        "baseGas": "0",
        "gasPrice": "0",
        "gasToken": ZERO,
        "refundReceiver": ZERO,
        "nonce": str(nonce),
    }


def _fields(stx: dict[str, Any]) -> list[Any]:
    return [
        to_checksum_address(stx["to"]),
        int(stx["value"]),
        bytes.fromhex(str(stx["data"]).removeprefix("0x")),
        int(stx["operation"]),
        int(stx["safeTxGas"]),
        int(stx["baseGas"]),
        int(stx["gasPrice"]),
        to_checksum_address(stx["gasToken"]),
        to_checksum_address(stx["refundReceiver"]),
    ]


def typed_data(chain_id: int, safe: str, stx: dict[str, Any]) -> dict[str, Any]:
    f = _fields(stx)
    values = [*f[:2], "0x" + f[2].hex(), *f[3:], int(stx["nonce"])]
    message = dict(zip([t["name"] for t in SAFE_TX_TYPE], values, strict=True))
    return {
        "types": {
            "EIP712Domain": [{"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}],
            "SafeTx": SAFE_TX_TYPE,
        },
        "primaryType": "SafeTx",
        "domain": {"chainId": chain_id, "verifyingContract": to_checksum_address(safe)},
        "message": message,
    }


def offline_hash(typed: dict[str, Any]) -> bytes:
    """The safeTxHash computed here: the EIP-712 digest of ``typed_data``'s document."""
    return typed_data_hash(typed)


def contract_hash(rpc: Rpc, safe: str, stx: dict[str, Any]) -> bytes:
    out = eth_call(rpc, safe, calldata(HASH_SIG, [*TX_TYPES, "uint256"], [*_fields(stx), int(stx["nonce"])]))
    return bytes(decode(["bytes32"], out)[0])


def recover(typed: dict[str, Any], signature: bytes) -> str:
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise SafeError("a signature must be 65 bytes r||s||v with v 27 or 28 (EIP-712)")
    return to_checksum_address(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def exec_data(stx: dict[str, Any], signatures: bytes) -> bytes:
    return calldata(EXEC_SIG, [*TX_TYPES, "bytes"], [*_fields(stx), signatures])


def packed_signatures(sigs: list[dict[str, str]]) -> bytes:
    """Signatures ordered by owner address as a number (what ``checkNSignatures`` requires)."""
    ordered = sorted(sigs, key=lambda s: int(s["owner"], 16))
    return b"".join(bytes.fromhex(s["signature"].removeprefix("0x")) for s in ordered)
