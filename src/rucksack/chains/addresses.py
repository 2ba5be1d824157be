"""Address validation and canonical spelling, per chain family.

- SVM (Solana, Eclipse): base58 of exactly 32 bytes, spelled canonically (re-encoding gives the
  same string, so no leading-zero tricks). ``require_on_curve`` additionally demands an ed25519
  point: a wallet key rather than a program-derived address (PDAs can hold funds but no key signs
  for them, so a withdrawal destination should normally be on the curve).
- EVM: ``0x`` + 40 hex digits. Mixed case must be the exact EIP-55 checksum; all-lower or
  all-upper carries no checksum and is accepted only when ``strict`` is false. The canonical
  spelling returned is always EIP-55.

Every validator returns the canonical string or raises ``InvalidAddress`` with a reason a person
can act on ("wrong length", "bad checksum", "looks like an EVM address", ...).
"""

from __future__ import annotations

import re

from eth_utils.address import to_checksum_address
from solders.pubkey import Pubkey

from rucksack.chains.registry import Chain, Family, get_chain

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_RE = re.compile(f"^[{_B58}]+$")
_EVM_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


class InvalidAddress(ValueError):
    pass


def b58decode(text: str) -> bytes:
    """Bitcoin-alphabet base58 -> bytes (leading '1's are zero bytes); ``ValueError`` on a bad digit."""
    n = 0
    for ch in text:
        n = n * 58 + _B58.index(ch)
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * zeros + body


def validate_svm_address(text: str, *, require_on_curve: bool = False) -> str:
    if not isinstance(text, str) or not text:
        raise InvalidAddress("empty address")
    if _EVM_RE.match(text):
        raise InvalidAddress("looks like an EVM address, not a Solana/Eclipse one")
    if not _B58_RE.match(text):
        raise InvalidAddress("not base58 (allowed: 1-9, A-Z, a-z without 0, O, I, l)")
    raw = b58decode(text)
    if len(raw) != 32:
        raise InvalidAddress(f"decodes to {len(raw)} bytes, an address is 32")
    key = Pubkey(raw)
    if str(key) != text:
        raise InvalidAddress("non-canonical base58 spelling")
    if require_on_curve and not key.is_on_curve():
        raise InvalidAddress("not an ed25519 public key (a program-derived address)")
    return text


def validate_evm_address(text: str, *, strict: bool = True) -> str:
    if not isinstance(text, str) or not text:
        raise InvalidAddress("empty address")
    if not text.startswith("0x") and re.fullmatch(r"[0-9a-fA-F]{40}", text):
        raise InvalidAddress("missing 0x prefix")
    if not _EVM_RE.match(text):
        if _B58_RE.match(text) and 32 <= len(text) <= 44:
            raise InvalidAddress("looks like a Solana/Eclipse address, not an EVM one")
        raise InvalidAddress("an EVM address is 0x followed by 40 hex digits")
    body = text[2:]
    checksummed = to_checksum_address(text)
    if body.islower() or body.isupper() or body.isdigit():
        if strict and not body.isdigit() and text != checksummed:
            raise InvalidAddress(f"no EIP-55 checksum; did you mean {checksummed}?")
        return checksummed
    if text != checksummed:
        raise InvalidAddress("bad EIP-55 checksum (a typo?)")
    return checksummed


def validate_address(chain: Chain | str, text: str, *, strict: bool = True) -> str:
    """Canonical spelling of ``text`` as an address on ``chain``, or ``InvalidAddress``."""
    c = get_chain(chain) if isinstance(chain, str) else chain
    if c.family is Family.SVM:
        return validate_svm_address(text)
    return validate_evm_address(text, strict=strict)


def is_valid_address(chain: Chain | str, text: str, *, strict: bool = True) -> bool:
    try:
        validate_address(chain, text, strict=strict)
    except InvalidAddress:
        return False
    return True
