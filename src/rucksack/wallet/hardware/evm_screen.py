"""What a device shows for EVM requests, parsed from the request alone.

Invariants:

- EIP-712: the document must be complete (``types`` with ``EIP712Domain``, ``primaryType``,
  ``domain``, ``message``); the screen lists every domain field, the primary type and every
  message field (nested structs and arrays flattened as ``a.b[0].c``). Permits and anything naming
  a ``spender`` carry a warning. A bare hash is never accepted (there is no method for one).
- Transactions (EIP-1559, see ``evm_tx``): chain, nonce, recipient, value, the fee cap, and the
  data: empty, an exact ERC-20 ``transfer(address,uint256)`` (shown decoded; symbol and decimals
  when it is the chain's registry token), or *opaque* -- any other call data or a contract
  creation, shown as size + selector, so the screen is ``blind`` and needs blind signing.
- Personal messages: UTF-8 text is shown as text; other bytes only as hex, with a warning.
"""

from __future__ import annotations

from typing import Any

from eth_account.messages import encode_typed_data

from rucksack.chains.evm import erc20
from rucksack.chains.registry import chain_by_evm_id
from rucksack.wallet import messages as wm
from rucksack.wallet.hardware.base import Screen
from rucksack.wallet.hardware.evm_tx import Eip1559
from rucksack.wallet.review import format_units

MAX_SHOWN = 200  # characters of one value on a screen line


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + f"... ({len(text)} chars)"


def _flatten(prefix: str, value: Any) -> list[str]:
    if isinstance(value, dict):
        out: list[str] = []
        for k, v in value.items():
            out += _flatten(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    if isinstance(value, list):
        out = [f"{prefix}: {len(value)} items"]
        for i, v in enumerate(value):
            out += _flatten(f"{prefix}[{i}]", v)
        return out
    return [f"{prefix}: {_short(value)}"]


def typed_data_screen(typed: dict[str, Any], signer: str) -> Screen:
    for key in ("types", "primaryType", "domain", "message"):
        if key not in typed:
            raise ValueError(f"not an EIP-712 document: no {key!r}")
    types, primary = typed["types"], typed["primaryType"]
    if not isinstance(types, dict) or "EIP712Domain" not in types or primary not in types:
        raise ValueError("not an EIP-712 document: types must define EIP712Domain and the primary type")
    if not isinstance(typed["domain"], dict) or not isinstance(typed["message"], dict):
        raise ValueError("not an EIP-712 document: domain and message are objects")
    encoded = encode_typed_data(full_message=typed)  # raises on a document that does not encode
    lines = [f"Signer: {signer}"]
    lines += [f"Domain {line}" for line in _flatten("", typed["domain"])]
    lines.append(f"Primary type: {primary}")
    lines += _flatten("", typed["message"])
    lines += [f"Domain hash: 0x{bytes(encoded.header).hex()}", f"Message hash: 0x{bytes(encoded.body).hex()}"]
    warnings = []
    if primary in wm.PERMIT_TYPES or "spender" in typed["message"]:
        warnings.append(f"{primary}: grants {typed['message'].get('spender', 'someone')} the right to move tokens")
    return Screen("evm-typed-data", f"Sign typed data ({primary})", tuple(lines), warnings=tuple(warnings))


def transaction_screen(tx: Eip1559, signer: str) -> Screen:
    try:
        chain = chain_by_evm_id(tx.chain_id)
        chain_name, native = f"{chain.name} ({tx.chain_id})", chain.native_symbol
    except KeyError:
        chain, chain_name, native = None, f"chain id {tx.chain_id} (unknown network)", "native coin"
    lines = [f"Network: {chain_name}", f"From: {signer}", f"Nonce: {tx.nonce}"]
    warnings: list[str] = []
    blind = False
    if tx.to is None:
        lines.append(f"Contract creation: {len(tx.data)} bytes of init code (cannot be shown)")
        blind = True
    else:
        lines.append(f"To: {tx.to}")
    lines.append(f"Value: {format_units(tx.value, 18)} {native} ({tx.value} wei)")
    if tx.data and tx.to is not None:
        decoded = erc20.decode_transfer_data(tx.data)
        if decoded is not None:
            recipient, amount = decoded
            if chain is not None and tx.to == chain.token.address:
                shown = f"{format_units(amount, chain.token.decimals)} {chain.token.symbol}"
            else:
                shown = f"{amount} base units of token {tx.to} (decimals unknown to the device)"
            lines += ["ERC-20 transfer:", f"    amount: {shown}", f"    to: {recipient}"]
        else:
            lines.append(f"Data: {len(tx.data)} bytes, selector 0x{tx.data[:4].hex()} (cannot be shown)")
            blind = True
    cap = tx.gas * tx.max_fee_per_gas
    lines.append(f"Max fee: {format_units(cap, 18)} {native} (gas {tx.gas} x {tx.max_fee_per_gas} wei)")
    if blind:
        lines.append(f"Transaction hash to sign: 0x{tx.signing_hash().hex()}")
        warnings.append("blind signing: the device cannot show what this contract call does")
    return Screen("evm-transaction", "Review EVM transaction", tuple(lines), blind=blind, warnings=tuple(warnings))


def personal_message_screen(message: bytes, signer: str) -> Screen:
    if not message:
        raise ValueError("refused: empty message")
    if wm.looks_like_evm_transaction(message):
        raise ValueError("refused: these bytes parse as an EVM transaction, not a message")
    try:
        text = message.decode("utf-8")
        lines = [f"Signer: {signer}", *(f"> {line}" for line in text.split("\n"))]
        return Screen("evm-personal-message", "Sign message", tuple(lines))
    except UnicodeDecodeError:
        lines = [f"Signer: {signer}", f"Data (hex): 0x{message.hex()}"]
        return Screen("evm-personal-message", "Sign message", tuple(lines), warnings=("the message is not text",))
