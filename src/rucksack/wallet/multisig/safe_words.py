"""A SafeTx in plain words and review flags, and the balance changes it should cause.

Invariants:

- The words are derived from the SafeTx fields and the chain alone, never from a proposal's stored
  summary: owner-management calls on the Safe itself are decoded, an exact transfer of a known
  token is decoded, everything the wallet cannot vouch for becomes a review flag (another call to
  the Safe's configuration, an approval or authority change, code of an unknown contract).
- **CALL only.** ``operation`` 1 (DELEGATECALL runs foreign code as the Safe: it can rewrite owners
  or drain it) is always flagged; any other operation than 0 or 1 is refused.
- Predicted balance changes are only those the wallet can decode (native value, an exact transfer
  of a known token) for a CALL; anything else predicts nothing.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from rucksack.chains.evm import erc20
from rucksack.chains.registry import Chain
from rucksack.wallet.evm import APPROVAL_SELECTORS, AUTHORITY_SELECTORS, known_tokens, token_balance
from rucksack.wallet.multisig.safe_contracts import SafeError, code_at
from rucksack.wallet.multisig.safe_tx import CALL, DELEGATECALL, _fields
from rucksack.wallet.review import APPROVAL, AUTHORITY_CHANGE, UNKNOWN_CONTRACT, Change, Flag, format_units
from rucksack.wallet.rpc import Rpc

DELEGATECALL_FLAG = "delegatecall"

OWNER_CALLS = {
    function_signature_to_4byte_selector("swapOwner(address,address,address)"): ("swapOwner", ["address"] * 3),
    function_signature_to_4byte_selector("addOwnerWithThreshold(address,uint256)"): (
        "addOwnerWithThreshold",
        ["address", "uint256"],
    ),
    function_signature_to_4byte_selector("removeOwner(address,address,uint256)"): (
        "removeOwner",
        ["address", "address", "uint256"],
    ),
    function_signature_to_4byte_selector("changeThreshold(uint256)"): ("changeThreshold", ["uint256"]),
}


def describe(rpc: Rpc, chain: Chain, safe: str, stx: dict[str, Any], threshold: int) -> tuple[list[str], list[Flag]]:
    """What the SafeTx does, in words, and what the wallet cannot vouch for (as review flags)."""
    to, value, data, op = _fields(stx)[:4]
    lines: list[str] = []
    flags: list[Flag] = []
    sym = chain.native_symbol
    if op == DELEGATECALL:
        flags.append(Flag(DELEGATECALL_FLAG, f"DELEGATECALL: the Safe runs {to}'s code as itself (can drain it)"))
    elif op != CALL:
        raise SafeError(f"operation {op} is neither CALL (0) nor DELEGATECALL (1)")
    sel = data[:4]
    if to == safe and sel in OWNER_CALLS and op == CALL:
        name, types = OWNER_CALLS[sel]
        args = decode(types, data[4:])
        if name == "swapOwner":
            lines.append(f"Safe {safe} swaps owner {to_checksum_address(args[1])} -> {to_checksum_address(args[2])}")
        elif name == "addOwnerWithThreshold":
            lines.append(f"Safe {safe} adds owner {to_checksum_address(args[0])}, threshold {threshold} -> {args[1]}")
        elif name == "removeOwner":
            old = to_checksum_address(args[1])
            lines.append(f"Safe {safe} removes owner {old}, threshold {threshold} -> {args[2]}")
        else:
            lines.append(f"Safe {safe} changes its threshold {threshold} -> {args[0]}")
    elif to == safe and data:
        flags.append(Flag(AUTHORITY_CHANGE, f"calls the Safe's own configuration (selector 0x{sel.hex()})"))
    tokens = known_tokens(chain)
    transfer = erc20.decode_transfer_data(data) if to in tokens and op == CALL else None
    if transfer is not None:
        recipient, amount = transfer
        symbol, dec = tokens[to]
        lines.append(f"Safe {safe} sends {format_units(amount, dec)} {symbol} to {recipient}")
    elif sel in APPROVAL_SELECTORS and len(data) >= 36:
        flags.append(Flag(APPROVAL, f"{APPROVAL_SELECTORS[sel]} on {to} to spender {to_checksum_address(data[16:36])}"))
    elif sel in AUTHORITY_SELECTORS:
        flags.append(Flag(AUTHORITY_CHANGE, f"{AUTHORITY_SELECTORS[sel]} on {to}"))
    elif to != safe and data and code_at(rpc, to):
        flags.append(Flag(UNKNOWN_CONTRACT, f"the Safe runs code of contract {to}, which the wallet does not know"))
    elif to != safe and data:
        lines.append(f"Safe {safe} sends data 0x{data.hex()} to {to} (no contract code there)")
    if value:
        lines.append(f"Safe {safe} sends {format_units(value, chain.native_decimals)} {sym} to {to}")
        if to != safe and op == CALL and not data and code_at(rpc, to):
            flags.append(Flag(UNKNOWN_CONTRACT, f"the Safe sends {sym} to contract {to}, which may run code"))
    if not lines and not flags:
        lines.append(f"Safe {safe} calls {to} with no value and no data (does nothing)")
    return lines, flags


def predicted_changes(rpc: Rpc, chain: Chain, safe: str, stx: dict[str, Any]) -> list[Change]:
    """Decoded balance changes of a CALL SafeTx (native value; an exact transfer of a known token)."""
    to, value, data, op = _fields(stx)[:4]
    out: list[Change] = []
    if op != CALL:
        return out
    if value and to != safe:
        a = int(str(rpc.call("eth_getBalance", safe, "latest")), 16)
        b = int(str(rpc.call("eth_getBalance", to, "latest")), 16)
        out += [Change(safe, chain.native_symbol, a, a - value, 18), Change(to, chain.native_symbol, b, b + value, 18)]
    tokens = known_tokens(chain)
    transfer = erc20.decode_transfer_data(data) if to in tokens else None
    if transfer is not None:
        recipient, amount = transfer
        symbol, dec = tokens[to]
        a = token_balance(rpc, to, safe)
        b = a if recipient == safe else token_balance(rpc, to, recipient)
        out += [Change(safe, symbol, a, a - amount, dec), Change(recipient, symbol, b, b + amount, dec)]
    return out
