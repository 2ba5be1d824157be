"""Build, sign, decode and simulate EVM transfers: the native coin and ERC-20 ``transfer``.

- Transactions are EIP-1559 (type 2) dicts in eth-account's spelling, always carrying the
  chain's EIP-155 ``chainId`` so a signature is valid on exactly one chain.
- Gas: 21,000 for a native transfer to an address; ERC-20 transfers take an explicit ``gas``
  (``DEFAULT_TOKEN_GAS`` covers a standard token, or pass ``estimate_gas``'s answer).
- ``decode_raw`` reads only the signed bytes: recovers the sender, reads the chain id (legacy
  transactions without EIP-155 have none and are reported as ``chain_id=None``), and recognises a
  native transfer (empty data) and an exact ERC-20 ``transfer(address,uint256)`` call. Anything
  else is returned with ``transfer=None`` so a caller can refuse what it does not understand.
- ``simulate`` runs the transaction with ``eth_call`` and ``eth_estimateGas`` against any web3
  endpoint (the devnet or a real node) without sending it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.address import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from rucksack.chains.evm.erc20 import decode_transfer_data, transfer_data
from rucksack.chains.registry import Chain, chain_by_evm_id
from rucksack.chains.transfers import NATIVE, Simulation, Transfer

NATIVE_GAS = 21_000
DEFAULT_TOKEN_GAS = 100_000


@dataclass(frozen=True, slots=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def native_transfer_tx(chain: Chain, recipient: str, wei: int, nonce: int, fees: Fees) -> dict[str, Any]:
    return _tx(chain, recipient, wei, b"", nonce, fees, NATIVE_GAS)


def token_transfer_tx(
    chain: Chain, token: str, recipient: str, amount: int, nonce: int, fees: Fees, gas: int = DEFAULT_TOKEN_GAS
) -> dict[str, Any]:
    return _tx(chain, token, 0, transfer_data(to_checksum_address(recipient), amount), nonce, fees, gas)


def _tx(chain: Chain, to: str, value: int, data: bytes, nonce: int, fees: Fees, gas: int) -> dict[str, Any]:
    if chain.chain_id is None:
        raise ValueError(f"{chain.key} is not an EVM chain")
    return {
        "type": 2,
        "chainId": chain.chain_id,
        "nonce": nonce,
        "to": to_checksum_address(to),
        "value": value,
        "data": data,
        "gas": gas,
        "maxFeePerGas": fees.max_fee_per_gas,
        "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
    }


def sign(tx: dict[str, Any], account: LocalAccount) -> bytes:
    """The raw signed transaction (what ``eth_sendRawTransaction`` takes)."""
    return bytes(account.sign_transaction(tx).raw_transaction)


@dataclass(frozen=True, slots=True)
class DecodedEvmTransaction:
    chain_id: int | None
    sender: str
    nonce: int
    to: str | None
    value: int
    data: bytes
    gas: int
    tx_hash: str
    transfer: Transfer | None  # None: not a plain native or ERC-20 transfer (or unknown chain id)


def raw_chain_id(raw: bytes) -> int | None:
    """The EIP-155 chain id a signed transaction commits to; None for a pre-EIP-155 legacy one."""
    if raw and raw[0] < 0x7F:  # EIP-2718 typed envelope: type byte, then an RLP list starting with chainId
        fields = rlp.decode(raw[1:])
        return int.from_bytes(fields[0], "big")
    fields = rlp.decode(raw)
    v = int.from_bytes(fields[6], "big")
    return (v - 35) // 2 if v >= 35 else None


def decode_raw(raw: bytes) -> DecodedEvmTransaction:
    sender = Account.recover_transaction(raw)
    chain_id = raw_chain_id(raw)
    if raw[0] < 0x7F:
        d = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        nonce, to, value, data, gas = d["nonce"], d.get("to"), d["value"], bytes(d["data"]), d["gas"]
    else:
        f = rlp.decode(raw)
        nonce, value, gas = (int.from_bytes(f[i], "big") for i in (0, 4, 2))
        to, data = f[3], bytes(f[5])
    to_addr = to_checksum_address(to) if to else None
    transfer: Transfer | None = None
    chain_key: str | None
    try:
        chain_key = chain_by_evm_id(chain_id).key if chain_id is not None else None
    except KeyError:
        chain_key = None
    if chain_key is not None and to_addr is not None:
        if not data:
            transfer = Transfer(chain_key, NATIVE, sender, to_addr, value)
        elif value == 0 and (call := decode_transfer_data(data)) is not None:
            transfer = Transfer(chain_key, to_addr, sender, call[0], call[1])
    return DecodedEvmTransaction(
        chain_id, sender, nonce, to_addr, value, data, gas, "0x" + Web3.keccak(raw).hex().removeprefix("0x"), transfer
    )


def simulate(w3: Web3, tx: dict[str, Any], sender: str) -> Simulation:
    """Dry-run ``tx`` from ``sender`` at the latest block: does it revert, and how much gas."""
    call = {"from": sender, "to": tx["to"], "value": tx.get("value", 0), "data": tx.get("data", b"")}
    try:
        w3.eth.call(call)  # type: ignore[arg-type]
        gas = w3.eth.estimate_gas(call)  # type: ignore[arg-type]
    except (ContractLogicError, Web3RPCError, ValueError) as exc:
        return Simulation(ok=False, error=str(exc))
    return Simulation(ok=True, error=None, units_consumed=int(gas))
