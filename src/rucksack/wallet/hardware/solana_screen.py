"""What a device shows for a Solana message or off-chain message, parsed from the bytes alone.

Invariants:

- Input is exactly the bytes the signature covers: a legacy message, or a v0 message with its
  ``0x80`` version prefix (``solders.message.to_bytes_versioned``). Trailing bytes, a transaction
  (with signatures) or anything else that does not re-serialize to the same bytes is refused.
- Every instruction is either *parsed* (System, SPL Token, Associated Token Account, Compute
  Budget, Memo -- the programs the Ledger Solana app and Trezor describe) into lines with amounts,
  or *opaque* (another program, or an instruction of a known program the parser does not decode).
  Opaque instructions make the screen ``blind``; the device refuses a blind screen unless blind
  signing is enabled on it, and then shows the message hash (base58 SHA-256, as Ledger does).
- Accounts that a v0 message loads from address lookup tables cannot be named from the bytes:
  they are shown as ``lookup[t]#i`` (table t, index i), never guessed.
- The signing key must be one of the message's required signers, or the device refuses.
- Off-chain messages must carry the ``\\xffsolana offchain`` header (v0; ``rucksack.wallet.messages``
  builds it), a length that matches, and text valid for their format; format 2 (extended UTF-8,
  more than a device screen holds) is shown only as a hash, so it needs blind signing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from solders.hash import Hash
from solders.message import Message, MessageV0, from_bytes_versioned, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from spl.token.constants import TOKEN_PROGRAM_ID

from rucksack.chains.svm.transfers import ATA_PROGRAM_ID, COMPUTE_BUDGET_PROGRAM_ID
from rucksack.wallet import messages as wm
from rucksack.wallet.hardware.base import Screen
from rucksack.wallet.review import format_units

MEMO_V2 = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
PROGRAM_NAMES = {
    SYSTEM_PROGRAM_ID: "System Program",
    TOKEN_PROGRAM_ID: "SPL Token",
    ATA_PROGRAM_ID: "Associated Token Account",
    COMPUTE_BUDGET_PROGRAM_ID: "Compute Budget",
    MEMO_V2: "Memo",
}
_SYSTEM_NAMES = {
    1: "Assign",
    3: "Create account with seed",
    4: "Advance nonce",
    5: "Withdraw from nonce",
    6: "Initialize nonce",
    7: "Authorize nonce",
    8: "Allocate",
}
_TOKEN_NAMES = {9: "Close token account", 17: "Sync native (wrapped SOL)", 18: "Initialize token account"}


@dataclass(frozen=True)
class ParsedMessage:
    screen: Screen  # blind when ``opaque`` is not empty
    opaque: tuple[str, ...]  # "instruction N: program P" for what could not be parsed
    signers: tuple[str, ...]
    digest: str  # base58 SHA-256 of the message (what a blind-signing screen shows)


class NotAMessage(ValueError):
    pass


def message_hash(data: bytes) -> str:
    return str(Hash(hashlib.sha256(data).digest()))


def decode_message(data: bytes) -> Message | MessageV0:
    try:
        msg = from_bytes_versioned(data)
    except Exception:  # any parse error: not a message
        raise NotAMessage("not a serialized Solana message (legacy or v0)") from None
    if not isinstance(msg, Message | MessageV0):
        raise NotAMessage("only legacy and v0 Solana messages are supported")
    if to_bytes_versioned(msg) != data:
        raise NotAMessage("not exactly one serialized Solana message (trailing or non-canonical bytes)")
    return msg


def _u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def _sol(lamports: int) -> str:
    return f"{format_units(lamports, 9)} SOL ({lamports} lamports)"


def parse_message(data: bytes, signer: str) -> ParsedMessage:
    """The screen for ``data`` signed by ``signer``; ``NotAMessage`` if it is not a message."""
    msg = decode_message(data)
    static = list(msg.account_keys)
    h = msg.header
    signers = tuple(str(k) for k in static[: h.num_required_signatures])
    names = [str(k) for k in static]
    if isinstance(msg, MessageV0):
        for t, lookup in enumerate(msg.address_table_lookups):
            names += [f"lookup[{t}]#{i}" for i in lookup.writable_indexes]
        for t, lookup in enumerate(msg.address_table_lookups):
            names += [f"lookup[{t}]#{i}" for i in lookup.readonly_indexes]

    def acct(ix_accounts: bytes, n: int) -> str:
        return names[ix_accounts[n]] if n < len(ix_accounts) and ix_accounts[n] < len(names) else "?"

    lines = [f"Fee payer: {signers[0] if signers else '?'}", f"Signing as: {signer}"]
    if len(signers) > 1:
        lines.append(f"Other signers: {', '.join(s for s in signers if s != signer) or 'none'}")
    if isinstance(msg, MessageV0) and msg.address_table_lookups:
        tables = ", ".join(f"[{t}] {lk.account_key}" for t, lk in enumerate(msg.address_table_lookups))
        lines.append(f"Address lookup tables: {tables}")
    opaque: list[str] = []
    for n, cix in enumerate(msg.instructions):
        program = static[cix.program_id_index] if cix.program_id_index < len(static) else None
        ix_data = bytes(cix.data)
        accts = bytes(cix.accounts)
        described = _describe(program, ix_data, lambda i, a=accts: acct(a, i))
        if described is None:
            opaque.append(f"instruction {n + 1}: program {program} ({len(ix_data)} bytes of data)")
            lines.append(f"#{n + 1} UNKNOWN: program {program}, {len(ix_data)} data bytes (cannot be shown)")
        else:
            lines += [f"#{n + 1} {described[0]}", *(f"    {x}" for x in described[1:])]
    digest = message_hash(data)
    warnings: list[str] = []
    if signer not in signers:
        warnings.append(f"{signer} is not a signer of this message")
    if opaque:
        lines.append(f"Message hash: {digest}")
        warnings.append("blind signing: the device cannot show what the unknown instructions do")
    version = "v0" if isinstance(msg, MessageV0) else "legacy"
    screen = Screen(
        "solana-transaction",
        f"Review Solana transaction ({version}, {len(msg.instructions)} instructions)",
        tuple(lines),
        blind=bool(opaque),
        warnings=tuple(warnings),
    )
    return ParsedMessage(screen, tuple(opaque), signers, digest)


def _describe(program: Pubkey | None, data: bytes, acct: object) -> list[str] | None:
    """Lines for one instruction, or None when it is opaque to the device."""
    a = acct  # callable(index) -> account name
    assert callable(a)
    if program == SYSTEM_PROGRAM_ID and len(data) >= 4:
        tag = int.from_bytes(data[:4], "little")
        if tag == 2 and len(data) == 12:
            return ["System: transfer", f"amount: {_sol(_u64(data, 4))}", f"from: {a(0)}", f"to: {a(1)}"]
        if tag == 0 and len(data) == 52:
            owner = Pubkey.from_bytes(data[20:52])
            owner_name = PROGRAM_NAMES.get(owner, str(owner))
            return [
                "System: create account",
                f"new account: {a(1)}",
                f"funded with: {_sol(_u64(data, 4))} by {a(0)}",
                f"space: {_u64(data, 12)} bytes, owner: {owner_name}",
            ]
        if tag in _SYSTEM_NAMES:
            return [f"System: {_SYSTEM_NAMES[tag]}", f"account: {a(0)}"]
        return None
    if program == TOKEN_PROGRAM_ID and data:
        tag = data[0]
        if tag == 3 and len(data) == 9:
            return [
                "SPL Token: transfer",
                f"amount: {_u64(data, 1)} base units (the instruction names no mint or decimals)",
                f"from token account: {a(0)}",
                f"to token account: {a(1)}",
                f"owner: {a(2)}",
            ]
        if tag == 12 and len(data) == 10:
            return [
                "SPL Token: transfer (checked)",
                f"amount: {format_units(_u64(data, 1), data[9])} of mint {a(1)}",
                f"from token account: {a(0)}",
                f"to token account: {a(2)}",
                f"owner: {a(3)}",
            ]
        if tag == 4 and len(data) == 9:
            return ["SPL Token: APPROVE a delegate", f"delegate: {a(1)}", f"up to: {_u64(data, 1)} base units"]
        if tag == 13 and len(data) == 10:
            amount = format_units(_u64(data, 1), data[9])
            return ["SPL Token: APPROVE a delegate", f"delegate: {a(2)}", f"up to: {amount} of mint {a(1)}"]
        if tag == 6 and len(data) >= 3:
            kinds = {0: "mint", 1: "freeze", 2: "account owner", 3: "close account"}
            new = str(Pubkey.from_bytes(data[3:35])) if data[2] == 1 and len(data) >= 35 else "none"
            return [f"SPL Token: SET {kinds.get(data[1], '?').upper()} AUTHORITY", f"account: {a(0)}", f"new: {new}"]
        if tag in _TOKEN_NAMES:
            return [f"SPL Token: {_TOKEN_NAMES[tag]}", f"account: {a(0)}"]
        return None
    if program == ATA_PROGRAM_ID and (not data or data[0] in (0, 1)):
        idem = " (if missing)" if data[:1] == b"\x01" else ""
        return [f"Create associated token account{idem}", f"for owner: {a(2)}", f"mint: {a(3)}", f"paid by: {a(0)}"]
    if program == COMPUTE_BUDGET_PROGRAM_ID and data:
        if data[0] == 2 and len(data) == 5:
            return [f"Compute unit limit: {int.from_bytes(data[1:5], 'little')}"]
        if data[0] == 3 and len(data) == 9:
            return [f"Priority fee: {_u64(data, 1)} micro-lamports per compute unit"]
        return None
    if program == MEMO_V2:
        try:
            return ["Memo", data.decode("utf-8")]
        except UnicodeDecodeError:
            return None
    return None


# -- off-chain messages --------------------------------------------------------------------------

_FORMAT_NAMES = {0: "restricted ASCII", 1: "UTF-8", 2: "extended UTF-8"}


def parse_offchain(data: bytes, signer: str) -> Screen:
    """The screen for a Solana off-chain message (header required); ``NotAMessage`` otherwise."""
    domain = wm.SOLANA_OFFCHAIN_DOMAIN
    if not data.startswith(domain):
        raise NotAMessage("refused: not a Solana off-chain message (the \\xffsolana offchain header is required)")
    header = len(domain) + 4
    if len(data) < header:
        raise NotAMessage("refused: truncated off-chain message header")
    version, fmt = data[len(domain)], data[len(domain) + 1]
    length = int.from_bytes(data[len(domain) + 2 : header], "little")
    body = data[header:]
    if version != wm.OFFCHAIN_VERSION:
        raise NotAMessage(f"refused: off-chain message version {version} (only 0 is supported)")
    if fmt not in _FORMAT_NAMES:
        raise NotAMessage(f"refused: unknown off-chain message format {fmt}")
    if length != len(body) or not body:
        raise NotAMessage(f"refused: off-chain message says {length} bytes, carries {len(body)}")
    if fmt == 0 and not all(0x20 <= b <= 0x7E or b == 0x0A for b in body):
        raise NotAMessage("refused: format 0 message with characters outside printable ASCII")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise NotAMessage("refused: off-chain message text is not UTF-8") from None
    if fmt in (0, 1) and len(body) > wm.LEDGER_MAX:
        raise NotAMessage(f"refused: format {fmt} message longer than {wm.LEDGER_MAX} bytes")
    lines = [f"Signer: {signer}", f"Format: {_FORMAT_NAMES[fmt]}, {len(body)} bytes"]
    if fmt == 2:
        lines.append(f"Message hash: {message_hash(data)}")
        return Screen(
            "solana-offchain-message",
            "Sign off-chain message",
            tuple(lines),
            blind=True,
            warnings=("the message is too long for the screen; only its hash is shown",),
        )
    lines += [f"> {line}" for line in text.split("\n")]
    return Screen("solana-offchain-message", "Sign off-chain message", tuple(lines))
