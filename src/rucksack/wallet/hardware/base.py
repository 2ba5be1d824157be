"""The ``HardwareSigner`` interface every device implements, what a device shows, and the adapters
that let a device co-sign through ``rucksack.wallet.signers``.

Invariants:

- A device never exports a secret: the interface has no method that returns key material, only
  public keys/addresses and signatures.
- A device signs only what it has parsed and shown (``Screen``) and the holder confirmed. What it
  cannot parse (a Solana instruction of an unknown program, EVM contract call data) is refused
  with ``SignerRefused`` unless blind signing is enabled *on the device*, as the Ledger apps do.
- Declining -- the holder pressing reject, blind signing off -- raises
  ``rucksack.wallet.signers.SignerRefused``; nothing is half-signed. Transport problems raise
  ``DeviceError`` (``DeviceNotFound`` when there is no device, ``ExtraMissing`` without the
  optional library), never ``SignerRefused``.
- EVM signing is typed: EIP-712 documents, EIP-1559 transactions, EIP-191 messages. There is no
  "sign this 32-byte hash" method (a hash cannot be shown).
- Paths are BIP-32 strings (``m/44'/501'/0'/0'``); ``parse_path`` gives the uint32 list that goes
  on the wire (hardened = ``| 0x80000000``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey
from solders.signature import Signature

from rucksack.wallet.signers import SignerRefused

SVM = "svm"
EVM = "evm"
HARDENED = 0x8000_0000
MAX_PATH_DEPTH = 10  # the Ledger apps' limit, and more than any scheme uses

__all__ = [
    "EVM",
    "SVM",
    "DeviceError",
    "DeviceEvmSigner",
    "DeviceNotFound",
    "DeviceSvmSigner",
    "DeviceUnsupported",
    "ExtraMissing",
    "HardwareSigner",
    "Screen",
    "SignerRefused",
    "format_path",
    "parse_path",
]


class DeviceError(Exception):
    """A device could not be reached or answered something unexpected (not a refusal)."""


class DeviceNotFound(DeviceError):
    pass


class ExtraMissing(DeviceError):
    """The optional library for this device is not installed."""


class DeviceUnsupported(DeviceError):
    """This device (or our adapter for it) cannot do what was asked; says why."""


_STEP = re.compile(r"^(\d+)(['hH]?)$")


def parse_path(path: str) -> list[int]:
    """``"m/44'/501'/0'/0'"`` -> ``[0x8000002C, 0x800001F5, 0x80000000, 0x80000000]``."""
    text = path.strip()
    parts = text.split("/")
    if parts and parts[0] == "m":
        parts = parts[1:]
    if not parts or parts == [""] or len(parts) > MAX_PATH_DEPTH:
        raise ValueError(f"not a BIP-32 path (1-{MAX_PATH_DEPTH} levels, like m/44'/501'/0'/0'): {path!r}")
    out = []
    for part in parts:
        m = _STEP.match(part)
        if not m or int(m.group(1)) >= HARDENED:
            raise ValueError(f"bad BIP-32 path step {part!r} in {path!r}")
        out.append(int(m.group(1)) | (HARDENED if m.group(2) else 0))
    return out


def format_path(steps: list[int]) -> str:
    return "m/" + "/".join(f"{s & ~HARDENED}'" if s & HARDENED else str(s) for s in steps)


def normalize_path(path: str) -> str:
    return format_path(parse_path(path))


@dataclass(frozen=True)
class Screen:
    """What the device shows before it signs: a title, the parsed lines, and whether any part of
    it is blind (shown only as a hash because the device could not parse it)."""

    kind: str  # solana-transaction | solana-offchain-message | evm-typed-data | evm-transaction | evm-personal-message
    title: str
    lines: tuple[str, ...]
    blind: bool = False
    warnings: tuple[str, ...] = field(default=())

    def text(self) -> str:
        out = [f"== {self.title} =="]
        out += [f"  {line}" for line in self.lines]
        out += [f"  WARNING: {w}" for w in self.warnings]
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "lines": list(self.lines),
            "blind": self.blind,
            "warnings": list(self.warnings),
        }


class HardwareSigner(ABC):
    """A signing device: keys stay inside; it parses, shows, asks, then signs."""

    #: short kind ("software", "trezor", "ledger") and a human name (model / transport)
    kind: str = "device"

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def get_address(self, family: str, path: str, *, show: bool = False) -> str:
        """SVM: base58 public key; EVM: EIP-55 checksummed address. ``show`` asks the device to
        display it for the holder to compare (Ledger/Trezor "verify address")."""

    @abstractmethod
    def sign_solana_message(self, path: str, message: bytes) -> bytes:
        """64-byte ed25519 signature over a serialized Solana message (legacy or v0)."""

    @abstractmethod
    def sign_offchain_message(self, path: str, message: bytes) -> bytes:
        """64-byte signature over a full Solana off-chain message (header included)."""

    @abstractmethod
    def sign_evm_typed_data(self, path: str, typed: dict[str, Any]) -> bytes:
        """65 bytes ``r || s || v`` (v in {27, 28}) over an EIP-712 document."""

    @abstractmethod
    def sign_evm_transaction(self, path: str, tx: dict[str, Any]) -> bytes:
        """The raw signed EIP-1559 transaction (what ``eth_sendRawTransaction`` takes)."""

    @abstractmethod
    def sign_evm_personal_message(self, path: str, message: bytes) -> bytes:
        """65 bytes ``r || s || v`` (v in {27, 28}) over EIP-191 ``personal_sign`` of ``message``."""

    def close(self) -> None:  # noqa: B027 -- optional for devices without a connection
        """Release the transport (no-op by default)."""

    def __enter__(self) -> HardwareSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- adapters to rucksack.wallet.signers ------------------------------------------------------

    def svm_signer(self, path: str) -> DeviceSvmSigner:
        """An ``SvmSigner`` for the key at ``path`` (asks the device for the public key once)."""
        return DeviceSvmSigner(self, normalize_path(path))

    def evm_signer(self, path: str) -> DeviceEvmSigner:
        """An ``EvmSigner`` for the key at ``path`` (asks the device for the address once)."""
        return DeviceEvmSigner(self, normalize_path(path))


class DeviceSvmSigner:
    """``SvmSigner`` backed by a device: ``sign_message`` sends the serialized message to it.

    solders' ``Transaction`` accepts only its own signer types, so build transactions with
    ``rucksack.wallet.hardware.send.sign_svm`` (or ``VersionedTransaction.populate``) from the
    signatures this returns."""

    def __init__(self, device: HardwareSigner, path: str) -> None:
        self.device = device
        self.path = path
        self._pubkey = Pubkey.from_string(device.get_address(SVM, path))

    def pubkey(self) -> Pubkey:
        return self._pubkey

    def sign_message(self, message: bytes) -> Signature:
        sig = Signature.from_bytes(self.device.sign_solana_message(self.path, bytes(message)))
        if not sig.verify(self._pubkey, bytes(message)):
            raise DeviceError(f"{self.device.name} returned a signature that does not verify for {self._pubkey}")
        return sig

    def __repr__(self) -> str:
        return f"DeviceSvmSigner({self.device.name}, {self.path}, {self._pubkey})"


class DeviceEvmSigner:
    """``EvmSigner`` backed by a device (EIP-712 typed data; also EIP-1559 transactions)."""

    def __init__(self, device: HardwareSigner, path: str) -> None:
        self.device = device
        self.path = path
        self._address = device.get_address(EVM, path)

    @property
    def address(self) -> str:
        return self._address

    def sign_typed_data(self, typed: dict[str, Any]) -> bytes:
        from eth_account import Account
        from eth_account.messages import encode_typed_data

        sig = self.device.sign_evm_typed_data(self.path, typed)
        signer = Account.recover_message(encode_typed_data(full_message=typed), signature=sig)
        if signer != self._address:
            raise DeviceError(f"{self.device.name} signed typed data as {signer}, expected {self._address}")
        return sig

    def sign_transaction(self, tx: dict[str, Any]) -> bytes:
        return self.device.sign_evm_transaction(self.path, tx)

    def __repr__(self) -> str:
        return f"DeviceEvmSigner({self.device.name}, {self.path}, {self._address})"
