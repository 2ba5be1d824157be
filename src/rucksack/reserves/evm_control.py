"""EVM address-control signatures of a reserves statement (optional: needs eth-account).

The standalone tier (a) verifier (:mod:`rucksack.reserves.verify`) is stdlib + PyNaCl: it checks
SVM (ed25519) address signatures itself, but secp256k1 public-key recovery and Keccak-256 are not in
the standard library. This module supplies :func:`check` for its ``evm_check`` hook;
``rucksack reserves verify`` (:mod:`rucksack.reserves.zk.verify`) passes it whenever eth-account is
importable, and reports EVM signatures as not checked otherwise.

A signature is EIP-191 ``personal_sign`` over the statement's ``challenge`` (UTF-8), 65 bytes
``r || s || v`` as 0x-hex; it is valid when the recovered address equals the holding's address.
"""

from __future__ import annotations

from typing import Any


def available() -> bool:
    try:
        import eth_account  # noqa: F401
    except ImportError:
        return False
    return True


def check(challenge: str, signature: str, address: str) -> str | None:
    """``None`` when ``signature`` over ``challenge`` recovers to ``address``, else the reason."""
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
        if len(raw) != 65:
            return "signature is not 65 bytes"
        recovered: Any = Account.recover_message(encode_defunct(text=challenge), signature=raw)
    except Exception as exc:  # a malformed signature is a failed check, never a crash
        return f"cannot recover a signer: {exc}"
    if str(recovered).lower() != address.lower():
        return f"signed by {recovered}, not by the address"
    return None
