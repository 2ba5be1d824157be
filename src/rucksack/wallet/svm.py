"""Solana and Eclipse: balances, transfers, and the pre-sign review over plain JSON-RPC.

Review = what ``simulateTransaction`` says the *signed* transaction does:

1. Every writable account of the message is read before (``getMultipleAccounts``) and after
   (``simulateTransaction`` with ``accounts.addresses``; post-state includes the fee).
2. Lamport differences become native changes of that address; SPL token accounts (165-byte
   accounts owned by the Token program) become token changes of their *owner*, per mint.
3. Flags come from the instructions (programs outside ``KNOWN_PROGRAMS``; SPL Approve /
   ApproveChecked; SPL SetAuthority; System Assign / AssignWithSeed / AuthorizeNonceAccount) and
   from the post-state (a token account whose owner, delegate or close authority changes; an
   existing account whose owning program changes), so a change made through a CPI is caught too.

Only legacy messages are built and reviewed (address lookup tables would hide accounts).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from typing import Any

from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.token.state import TokenAccount
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT

from rucksack.chains.addresses import validate_svm_address
from rucksack.chains.registry import Chain
from rucksack.chains.svm import transfers as codec
from rucksack.wallet.review import (
    APPROVAL,
    AUTHORITY_CHANGE,
    UNKNOWN_PROGRAM,
    Change,
    Flag,
    Review,
)
from rucksack.wallet.rpc import Rpc, RpcError
from rucksack.wallet.signers import SvmSigner

MEMO_PROGRAM_ID = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
KNOWN_PROGRAMS = {
    SYSTEM_PROGRAM_ID: "System",
    TOKEN_PROGRAM_ID: "SPL Token",
    codec.ATA_PROGRAM_ID: "Associated Token Account",
    codec.COMPUTE_BUDGET_PROGRAM_ID: "Compute Budget",
    MEMO_PROGRAM_ID: "Memo",
}
_SYSTEM_AUTHORITY = {1: "System Assign", 7: "System AuthorizeNonceAccount", 10: "System AssignWithSeed"}
_TOKEN_APPROVAL = {4: "SPL Approve", 13: "SPL ApproveChecked"}
_TOKEN_AUTHORITY = {6: "SPL SetAuthority"}
TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82


def _b64_account(obj: dict[str, Any] | None) -> tuple[int, bytes, str] | None:
    if obj is None:
        return None
    return int(obj["lamports"]), base64.b64decode(obj["data"][0]), str(obj["owner"])


def get_accounts(rpc: Rpc, keys: list[str]) -> list[tuple[int, bytes, str] | None]:
    out: list[tuple[int, bytes, str] | None] = []
    for start in range(0, len(keys), 100):
        value = rpc.call("getMultipleAccounts", keys[start : start + 100], {"encoding": "base64"})["value"]
        out += [_b64_account(v) for v in value]
    return out


def _token_state(acc: tuple[int, bytes, str] | None) -> TokenAccount | None:
    if acc is None or acc[2] != str(TOKEN_PROGRAM_ID) or len(acc[1]) != TOKEN_ACCOUNT_LEN:
        return None
    return TokenAccount.from_bytes(acc[1])


def _mint_decimals(rpc: Rpc, chain: Chain, mints: set[str]) -> dict[str, int]:
    known = {chain.token.address: chain.token.decimals}
    unknown = sorted(m for m in mints if m not in known)
    for mint, acc in zip(unknown, get_accounts(rpc, unknown), strict=True):
        if acc is not None and len(acc[1]) == MINT_LEN:
            known[mint] = acc[1][44]
    return known


def symbol(chain: Chain, mint: str) -> str:
    """The registry token's symbol, ``w<native>`` for the wrapped native mint (wSOL; Eclipse wETH),
    else the mint address itself (never a guessed name)."""
    if mint == chain.token.address:
        return chain.token.symbol
    if mint == str(WRAPPED_SOL_MINT):
        return "w" + chain.native_symbol
    return mint


# -- balances -----------------------------------------------------------------------------------


def balances(rpc: Rpc, chain: Chain, owner: str) -> list[dict[str, Any]]:
    """Native balance and every SPL token account of ``owner`` (summed per mint)."""
    lamports = int(rpc.call("getBalance", owner)["value"])
    per_mint: dict[str, int] = {chain.token.address: 0}
    found = rpc.call("getTokenAccountsByOwner", owner, {"programId": str(TOKEN_PROGRAM_ID)}, {"encoding": "base64"})
    for item in found["value"]:
        state = _token_state(_b64_account(item["account"]))
        if state is not None:
            per_mint[str(state.mint)] = per_mint.get(str(state.mint), 0) + state.amount
    decimals = _mint_decimals(rpc, chain, set(per_mint))
    out = [_balance(chain.native_symbol, "native", lamports, chain.native_decimals)]
    for mint, amount in per_mint.items():
        out.append(_balance(symbol(chain, mint), mint, amount, decimals.get(mint, 0)))
    return out


def _balance(sym: str, asset: str, amount: int, decimals: int) -> dict[str, Any]:
    from rucksack.wallet.review import format_units

    return {"asset": sym, "address": asset, "units": str(amount), "amount": format_units(amount, decimals)}


# -- building -----------------------------------------------------------------------------------


def transfer_message(rpc: Rpc, chain: Chain, sender: Pubkey, to: str, asset: str, amount: int) -> Message:
    """``asset``: "native" or a mint address; the recipient is a wallet address (its ATA is used)."""
    recipient = Pubkey.from_string(validate_svm_address(to))
    if asset == "native":
        return codec.native_transfer_message(sender, recipient, amount)
    mint = validate_svm_address(asset)
    decimals = _mint_decimals(rpc, chain, {mint}).get(mint)
    if decimals is None:
        raise ValueError(f"{mint} is not a token mint on {chain.key}")
    return codec.token_transfer_message(sender, recipient, Pubkey.from_string(mint), amount, decimals)


def latest_blockhash(rpc: Rpc) -> Hash:
    return Hash.from_string(rpc.call("getLatestBlockhash", {"commitment": "finalized"})["value"]["blockhash"])


def sign(rpc: Rpc, message: Message, signers: list[Keypair]) -> VersionedTransaction:
    return codec.sign(message, signers, latest_blockhash(rpc))


def sign_with(message: Message, signers: Sequence[SvmSigner]) -> VersionedTransaction:
    """Each required signer (a ``Keypair`` or a device's ``SvmSigner``) signs the message bytes, in
    the message's signer order; every required signer must be given exactly once, and no other."""
    required = list(message.account_keys[: message.header.num_required_signatures])
    by_key = {s.pubkey(): s for s in signers}
    missing = [str(k) for k in required if k not in by_key]
    extra = [str(k) for k in by_key if k not in required]
    if missing or extra:
        raise ValueError(f"signers do not match the message: missing {missing or 'none'}; extra {extra or 'none'}")
    data = bytes(message)
    return VersionedTransaction.populate(message, [by_key[k].sign_message(data) for k in required])


# -- review -------------------------------------------------------------------------------------


def _writable(msg: Message) -> list[str]:
    h = msg.header
    n = len(msg.account_keys)
    signers = h.num_required_signatures
    out = []
    for i, key in enumerate(msg.account_keys):
        w = i < signers - h.num_readonly_signed_accounts if i < signers else i < n - h.num_readonly_unsigned_accounts
        if w:
            out.append(str(key))
    return out


def instruction_flags(msg: Message) -> list[Flag]:
    flags: list[Flag] = []
    keys = msg.account_keys
    for n, cix in enumerate(msg.instructions):
        program = keys[cix.program_id_index]
        data = bytes(cix.data)
        if program not in KNOWN_PROGRAMS:
            flags.append(Flag(UNKNOWN_PROGRAM, f"instruction {n} calls program {program} the wallet does not know"))
        elif program == SYSTEM_PROGRAM_ID and len(data) >= 4:
            tag = int.from_bytes(data[:4], "little")
            if tag in _SYSTEM_AUTHORITY:
                flags.append(Flag(AUTHORITY_CHANGE, f"instruction {n}: {_SYSTEM_AUTHORITY[tag]}"))
        elif program == TOKEN_PROGRAM_ID and data:
            if data[0] in _TOKEN_APPROVAL:
                delegate = keys[cix.accounts[2 if data[0] == 13 else 1]]
                flags.append(Flag(APPROVAL, f"instruction {n}: {_TOKEN_APPROVAL[data[0]]} to delegate {delegate}"))
            elif data[0] in _TOKEN_AUTHORITY:
                flags.append(Flag(AUTHORITY_CHANGE, f"instruction {n}: {_TOKEN_AUTHORITY[data[0]]}"))
    return flags


def review(rpc: Rpc, chain: Chain, tx: VersionedTransaction) -> Review:
    msg = tx.message
    if not isinstance(msg, Message):
        raise ValueError("only legacy messages are reviewed (lookup tables would hide accounts)")
    flags = instruction_flags(msg)
    watched = _writable(msg)
    before = get_accounts(rpc, watched)
    wire = base64.b64encode(bytes(tx)).decode()
    sim = rpc.call(
        "simulateTransaction",
        wire,
        {"encoding": "base64", "sigVerify": True, "accounts": {"encoding": "base64", "addresses": watched}},
    )["value"]
    fee_value = rpc.call("getFeeForMessage", base64.b64encode(bytes(msg)).decode())["value"]
    fee = int(fee_value or 0)
    result = Review(
        chain.key,
        ok=sim.get("err") is None,
        error=None if sim.get("err") is None else str(sim["err"]),
        flags=flags,
        fee=fee,
        max_fee=fee,
        native_symbol=chain.native_symbol,
        native_decimals=chain.native_decimals,
        logs=tuple(sim.get("logs") or ()),
    )
    if not result.ok:
        return result
    after = [_b64_account(a) for a in (sim.get("accounts") or [None] * len(watched))]
    mints: set[str] = set()
    token_moves: list[tuple[str, str, int, int, str]] = []
    for key, pre, post in zip(watched, before, after, strict=True):
        pre_lamports, post_lamports = (pre[0] if pre else 0), (post[0] if post else 0)
        t_pre, t_post = _token_state(pre), _token_state(post)
        if pre_lamports != post_lamports:
            note = "token account" if (t_pre or t_post) else ""
            if pre is None:
                note = (note + ", new account").lstrip(", ")
            result.changes.append(
                Change(key, chain.native_symbol, pre_lamports, post_lamports, chain.native_decimals, note)
            )
        if pre is not None and post is not None and pre[2] != post[2]:
            result.flags.append(Flag(AUTHORITY_CHANGE, f"account {key} moves from program {pre[2]} to {post[2]}"))
        if t_pre is not None or t_post is not None:
            ref = t_post or t_pre
            assert ref is not None
            mint, owner = str(ref.mint), str(ref.owner)
            mints.add(mint)
            a, b = (t_pre.amount if t_pre else 0), (t_post.amount if t_post else 0)
            if a != b:
                token_moves.append((owner, mint, a, b, f"token account {key}"))
            if t_pre is not None and t_post is not None:
                if t_pre.owner != t_post.owner:
                    result.flags.append(Flag(AUTHORITY_CHANGE, f"token account {key} changes owner to {t_post.owner}"))
                if t_pre.delegate != t_post.delegate and t_post.delegate is not None:
                    result.flags.append(
                        Flag(APPROVAL, f"token account {key} delegates {t_post.delegated_amount} to {t_post.delegate}")
                    )
                if t_pre.close_authority != t_post.close_authority:
                    result.flags.append(Flag(AUTHORITY_CHANGE, f"token account {key} changes its close authority"))
    decimals = _mint_decimals(rpc, chain, mints)
    for owner, mint, a, b, note in token_moves:
        result.changes.append(Change(owner, symbol(chain, mint), a, b, decimals.get(mint, 0), note))
    # the same flag from an instruction and from the post-state is said once
    result.flags = list(dict.fromkeys(result.flags))
    return result


# -- sending ------------------------------------------------------------------------------------


def send(rpc: Rpc, tx: VersionedTransaction, *, timeout: float = 30.0) -> str:
    """Submit (with the node's own preflight) and wait until the signature is confirmed."""
    sig = str(rpc.call("sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}))
    deadline = time.monotonic() + timeout
    while True:
        status = rpc.call("getSignatureStatuses", [sig])["value"][0]
        if status is not None and status.get("confirmationStatus") in ("confirmed", "finalized"):
            if status.get("err") is not None:
                raise RpcError(0, f"transaction {sig} failed on chain: {status['err']}")
            return sig
        if time.monotonic() > deadline:
            raise TimeoutError(f"transaction {sig} not confirmed after {timeout:.0f} s")
        time.sleep(0.2)
