"""Who can sign: keystore keys and hardware devices behind two small interfaces.

Multisig code (``wallet/multisig/``) and hardware devices (``wallet/hardware/``) meet here, so a
co-signer can be a key in a keystore, a software device in tests, or a Ledger/Trezor.

- ``SvmSigner``: ``pubkey() -> Pubkey`` and ``sign_message(message: bytes) -> Signature`` over the
  serialized Solana message (the bytes a transaction signature covers). solders' ``Keypair``
  satisfies it as it is.
- ``EvmSigner``: ``address`` (EIP-55 checksummed) and ``sign_typed_data(typed: dict) -> bytes``, an
  EIP-712 signature over a full typed-data document (``types``/``primaryType``/``domain``/
  ``message``), 65 bytes ``r || s || v`` with ``v`` in {27, 28}. Typed data, not a bare hash: a
  device can show what it signs (clear signing), which a 32-byte hash would not allow.
- A signer that declines (a user pressing "reject", a device with blind signing off) raises
  ``SignerRefused``; nothing is returned and nothing is half-signed.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from eth_account import Account
from eth_account.signers.local import LocalAccount
from solders.pubkey import Pubkey
from solders.signature import Signature


class SignerRefused(Exception):
    """The signer (a person at a prompt, a device) declined to sign; says why."""


@runtime_checkable
class SvmSigner(Protocol):
    def pubkey(self) -> Pubkey: ...

    def sign_message(self, message: bytes) -> Signature: ...


@runtime_checkable
class EvmSigner(Protocol):
    @property
    def address(self) -> str: ...

    def sign_typed_data(self, typed: dict[str, Any]) -> bytes: ...


class LocalEvmSigner:
    """An eth-account key (from a keystore) as an ``EvmSigner``."""

    def __init__(self, account: LocalAccount) -> None:
        self._account = account

    @property
    def address(self) -> str:
        return str(self._account.address)

    def sign_typed_data(self, typed: dict[str, Any]) -> bytes:
        return bytes(Account.sign_typed_data(self._account.key, full_message=typed).signature)

    def __repr__(self) -> str:  # never the key
        return f"LocalEvmSigner({self.address})"
