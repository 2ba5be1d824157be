"""Ethereum, Base, Arbitrum, Optimism, Polygon: balances, transfers, and the pre-sign review.

Review of an EIP-1559 transaction, from the transaction itself plus the node:

1. The call is run with ``eth_call`` (and ``eth_estimateGas``) from the sender at the latest block;
   a revert fails the review.
2. Balance changes are *decoded*, not traced: the native value moves sender -> ``to``; an exact
   ERC-20 ``transfer(address,uint256)`` to a token the wallet knows (the chain's registry token)
   moves that amount, with before-balances read by ``balanceOf`` and the call's ``true`` return
   checked. The network fee is shown apart: an estimate (gas x current base fee + tip) and the cap
   (gas limit x max fee).
3. Anything the decoder cannot vouch for is flagged: call data to a contract the wallet does not
   know, value sent to contract code, a known token called with anything but ``transfer``;
   ``approve`` / ``increaseAllowance`` / ``setApprovalForAll`` / ``permit`` (approval);
   ``transferOwnership`` and EIP-7702 authorizations (authority change); contract creation.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from eth_abi.abi import decode
from eth_account.signers.local import LocalAccount
from eth_utils.abi import function_signature_to_4byte_selector
from eth_utils.address import to_checksum_address

from rucksack.chains.addresses import validate_evm_address
from rucksack.chains.evm import erc20
from rucksack.chains.evm import transfers as codec
from rucksack.chains.registry import Chain
from rucksack.wallet.review import (
    APPROVAL,
    AUTHORITY_CHANGE,
    CONTRACT_DEPLOYMENT,
    UNKNOWN_CONTRACT,
    Change,
    Flag,
    Review,
    format_units,
)
from rucksack.wallet.rpc import Rpc, RpcError


def _sel(sig: str) -> bytes:
    return function_signature_to_4byte_selector(sig)


APPROVAL_SELECTORS = {
    _sel("approve(address,uint256)"): "ERC-20 approve",
    _sel("increaseAllowance(address,uint256)"): "ERC-20 increaseAllowance",
    _sel("setApprovalForAll(address,bool)"): "setApprovalForAll",
    _sel("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)"): "EIP-2612 permit",
}
AUTHORITY_SELECTORS = {
    _sel("transferOwnership(address)"): "transferOwnership",
    _sel("changeAdmin(address)"): "changeAdmin",
    _sel("upgradeTo(address)"): "upgradeTo",
}
DECIMALS_SELECTOR = _sel("decimals()")


def _q(value: Any) -> int:
    return int(str(value), 16)


def known_tokens(chain: Chain) -> dict[str, tuple[str, int]]:
    return {chain.token.address: (chain.token.symbol, chain.token.decimals)}


def token_balance(rpc: Rpc, token: str, owner: str) -> int:
    out = rpc.call("eth_call", {"to": token, "data": "0x" + erc20.balance_of_data(owner).hex()}, "latest")
    return int(str(out), 16) if out and out != "0x" else 0


def token_decimals(rpc: Rpc, chain: Chain, token: str) -> int:
    known = known_tokens(chain).get(token)
    if known:
        return known[1]
    out = rpc.call("eth_call", {"to": token, "data": "0x" + DECIMALS_SELECTOR.hex()}, "latest")
    if not out or out == "0x":
        raise ValueError(f"{token} does not answer decimals(): not an ERC-20 on {chain.key}")
    return int(str(out), 16)


def balances(rpc: Rpc, chain: Chain, owner: str, tokens: list[str] | None = None) -> list[dict[str, Any]]:
    wei = _q(rpc.call("eth_getBalance", owner, "latest"))
    out = [{"asset": chain.native_symbol, "address": "native", "units": str(wei), "amount": format_units(wei, 18)}]
    for token in [chain.token.address, *(tokens or [])]:
        units = token_balance(rpc, token, owner)
        sym = known_tokens(chain).get(token, (token, 0))[0]
        dec = token_decimals(rpc, chain, token)
        out.append({"asset": sym, "address": token, "units": str(units), "amount": format_units(units, dec)})
    return out


def fees(rpc: Rpc) -> codec.Fees:
    block = rpc.call("eth_getBlockByNumber", "latest", False)
    base = _q(block["baseFeePerGas"])
    tip = _q(rpc.call("eth_maxPriorityFeePerGas"))
    return codec.Fees(max_fee_per_gas=2 * base + tip, max_priority_fee_per_gas=tip)


def transfer_tx(rpc: Rpc, chain: Chain, sender: str, to: str, asset: str, amount: int) -> dict[str, Any]:
    """An unsigned EIP-1559 transfer: ``asset`` is "native" or an ERC-20 address."""
    to = validate_evm_address(to)
    nonce = _q(rpc.call("eth_getTransactionCount", sender, "pending"))
    f = fees(rpc)
    if asset == "native":
        tx = codec.native_transfer_tx(chain, to, amount, nonce, f)
        if rpc.call("eth_getCode", to, "latest") in ("0x", "0x0", None):
            return tx  # a plain account: exactly 21,000 gas
        # a contract (a Safe's receive, a smart account) needs more than 21,000: estimate it; the
        # review still flags value sent to a contract it does not know
    else:
        tx = codec.token_transfer_tx(chain, validate_evm_address(asset), to, amount, nonce, f)
    with contextlib.suppress(RpcError):  # on a revert keep the default: the review reports it
        tx["gas"] = estimate_gas(rpc, sender, tx) * 12 // 10  # 20% headroom over the estimate
    return tx


def call_tx(rpc: Rpc, chain: Chain, sender: str, to: str | None, data: bytes, value: int = 0) -> dict[str, Any]:
    """An unsigned EIP-1559 transaction for an arbitrary call (reviewed like any other)."""
    nonce = _q(rpc.call("eth_getTransactionCount", sender, "pending"))
    f = fees(rpc)
    tx: dict[str, Any] = {
        "type": 2,
        "chainId": chain.chain_id,
        "nonce": nonce,
        "value": value,
        "data": data,
        "gas": 0,
        "maxFeePerGas": f.max_fee_per_gas,
        "maxPriorityFeePerGas": f.max_priority_fee_per_gas,
    }
    if to is not None:
        tx["to"] = to_checksum_address(to)
    try:
        tx["gas"] = estimate_gas(rpc, sender, tx) * 12 // 10
    except RpcError:
        tx["gas"] = 1_000_000  # the review's own simulation reports the revert
    return tx


def _call_obj(sender: str, tx: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"from": sender, "value": hex(tx.get("value", 0)), "data": "0x" + bytes(tx["data"]).hex()}
    if tx.get("to"):
        obj["to"] = tx["to"]
    return obj


def estimate_gas(rpc: Rpc, sender: str, tx: dict[str, Any]) -> int:
    return _q(rpc.call("eth_estimateGas", _call_obj(sender, tx), "latest"))


def sign(tx: dict[str, Any], account: LocalAccount) -> bytes:
    return codec.sign(tx, account)


def review(rpc: Rpc, chain: Chain, tx: dict[str, Any], sender: str) -> Review:
    data = bytes(tx.get("data", b""))
    to = tx.get("to")
    value = int(tx.get("value", 0))
    flags: list[Flag] = []
    tokens = known_tokens(chain)
    if tx.get("authorizationList"):
        flags.append(Flag(AUTHORITY_CHANGE, "EIP-7702 authorization: delegates this account to contract code"))
    if to is None:
        flags.append(Flag(CONTRACT_DEPLOYMENT, "creates a contract"))
    else:
        code = rpc.call("eth_getCode", to, "latest")
        is_contract = bool(code) and code != "0x"
        selector = data[:4]
        if selector in APPROVAL_SELECTORS and len(data) >= 36:
            spender = to_checksum_address(data[16:36])
            flags.append(Flag(APPROVAL, f"{APPROVAL_SELECTORS[selector]} on {to} to spender {spender}"))
        elif selector in AUTHORITY_SELECTORS:
            flags.append(Flag(AUTHORITY_CHANGE, f"{AUTHORITY_SELECTORS[selector]} on {to}"))
        if to in tokens:
            if data and erc20.decode_transfer_data(data) is None and selector not in APPROVAL_SELECTORS:
                flags.append(Flag(UNKNOWN_CONTRACT, f"call to token {tokens[to][0]} is not a plain transfer"))
            if value:
                flags.append(Flag(UNKNOWN_CONTRACT, f"sends {chain.native_symbol} to token contract {to}"))
        elif is_contract:
            flags.append(Flag(UNKNOWN_CONTRACT, f"runs code of contract {to}, which the wallet does not know"))
    cap = int(tx["gas"]) * int(tx["maxFeePerGas"])
    result = Review(
        chain.key,
        ok=True,
        error=None,
        flags=flags,
        fee_included=False,
        native_symbol=chain.native_symbol,
        native_decimals=chain.native_decimals,
        max_fee=cap,
    )
    call = {**_call_obj(sender, tx), "gas": hex(int(tx["gas"]))}
    try:
        ret = rpc.call("eth_call", call, "latest")
        gas = estimate_gas(rpc, sender, tx)
    except RpcError as exc:
        result.ok, result.error = False, exc.message
        return result
    if gas > int(tx["gas"]):
        result.ok, result.error = False, f"needs {gas} gas, the transaction allows {tx['gas']}"
        return result
    base = _q(rpc.call("eth_getBlockByNumber", "latest", False)["baseFeePerGas"])
    result.fee = gas * min(int(tx["maxFeePerGas"]), base + int(tx["maxPriorityFeePerGas"]))
    if value and to is not None:
        sender_wei = _q(rpc.call("eth_getBalance", sender, "latest"))
        to_wei = sender_wei if to == sender else _q(rpc.call("eth_getBalance", to, "latest"))
        result.changes.append(Change(sender, chain.native_symbol, sender_wei, sender_wei - value, 18))
        result.changes.append(Change(to, chain.native_symbol, to_wei, to_wei + value, 18))
    call_transfer = erc20.decode_transfer_data(data) if to in tokens else None
    if call_transfer is not None and to is not None:
        recipient, amount = call_transfer
        ok = bytes.fromhex(str(ret).removeprefix("0x"))
        if len(ok) == 32 and not decode(["bool"], ok)[0]:
            result.ok, result.error = False, "token transfer returns false"
            return result
        sym, dec = tokens[to]
        a = token_balance(rpc, to, sender)
        b = a if recipient == sender else token_balance(rpc, to, recipient)
        result.changes.append(Change(sender, sym, a, a - amount, dec))
        result.changes.append(Change(recipient, sym, b, b + amount, dec))
    return result


def send(rpc: Rpc, raw: bytes, *, timeout: float = 30.0) -> dict[str, Any]:
    """``eth_sendRawTransaction`` and wait for the receipt; raises if it reverted."""
    tx_hash = str(rpc.call("eth_sendRawTransaction", "0x" + raw.hex()))
    deadline = time.monotonic() + timeout
    while True:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is not None:
            if _q(receipt["status"]) != 1:
                raise RpcError(0, f"transaction {tx_hash} reverted on chain")
            out: dict[str, Any] = receipt
            return out
        if time.monotonic() > deadline:
            raise TimeoutError(f"transaction {tx_hash} has no receipt after {timeout:.0f} s")
        time.sleep(0.2)
