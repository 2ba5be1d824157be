"""``SoftwareDevice``: a ``HardwareSigner`` whose key is a BIP-39 mnemonic held in this process.

NOT A HARDWARE DEVICE: THE KEY IS IN THIS PROCESS. It exists for tests and demos, so everything
built on ``HardwareSigner`` (co-signing multisig, sending from a device) runs without a device.

It behaves like one, and that is its invariant:

- No method returns key material (``repr`` is redacted; only addresses and signatures leave).
- It parses before it signs and shows the result to ``confirm(screen) -> bool`` (the "buttons"):
  Solana messages (legacy and v0) and off-chain messages through ``solana_screen``, EVM requests
  through ``evm_screen``. It refuses with ``SignerRefused`` -- before asking -- what it cannot parse
  unless ``blind_signing`` is on (Ledger's setting), a message it is not a signer of, an off-chain
  message without the header; and when ``confirm`` says no.
- Every request, signed or refused, is appended to a hash-chained ``SigningLog`` (public facts only).
- Derivation is the keystore's (``rucksack.chains.keys``): SLIP-10 ed25519 (hardened levels only,
  as on Ledger/Trezor) for SVM, BIP-32 secp256k1 for EVM, so the same mnemonic and path give the
  same address as ``rucksack wallet`` and as a hardware wallet holding those words.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from rucksack.chains import keys as chain_keys
from rucksack.wallet.hardware import evm_screen, evm_tx, solana_screen
from rucksack.wallet.hardware.base import EVM, SVM, HardwareSigner, Screen, normalize_path
from rucksack.wallet.hardware.signing_log import SigningLog
from rucksack.wallet.keys import Secret, WalletKeyError
from rucksack.wallet.signers import SignerRefused

LABEL = "not a hardware device: the key is in this process"

Confirm = Callable[[Screen], bool]


def confirm_on_terminal(screen: Screen) -> bool:
    """Show the screen on stderr and read y/N from stdin (the software device's "buttons")."""
    sys.stderr.write(f"[software device -- {LABEL}]\n{screen.text()}\nApprove on the device? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


class SoftwareDevice(HardwareSigner):
    kind = "software"

    def __init__(
        self,
        mnemonic: str | Secret,
        *,
        passphrase: str = "",
        confirm: Confirm = confirm_on_terminal,
        blind_signing: bool = False,
        log: SigningLog | None = None,
        label: str = "software",
    ) -> None:
        secret = mnemonic if isinstance(mnemonic, Secret) else Secret.from_mnemonic(mnemonic, passphrase)
        if secret.kind != "mnemonic":
            raise WalletKeyError("a software device holds a BIP-39 mnemonic, not one raw key")
        self._seed = secret.seed()
        self.confirm = confirm
        self.blind_signing = blind_signing
        self.log = log if log is not None else SigningLog()
        self._label = label

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> SoftwareDevice:
        """The first line of ``path`` is the mnemonic (as ``wallet import --mnemonic-file``)."""
        text = Path(path).expanduser().read_text(encoding="utf-8")
        words = text.splitlines()[0] if text.strip() else ""
        return cls(words, label=f"software:{Path(path).name}", **kwargs)

    @property
    def name(self) -> str:
        return f"{self._label} ({LABEL})"

    def __repr__(self) -> str:
        return f"SoftwareDevice({self._label}, blind_signing={self.blind_signing}, <key redacted>)"

    __str__ = __repr__

    # -- keys (never leave this object) --------------------------------------------------------

    def _svm(self, path: str) -> Any:
        return chain_keys.svm_keypair_from_seed(self._seed, normalize_path(path))

    def _evm(self, path: str) -> Any:
        return chain_keys.evm_account_from_seed(self._seed, normalize_path(path))

    def get_address(self, family: str, path: str, *, show: bool = False) -> str:
        if family == SVM:
            address = str(self._svm(path).pubkey())
        elif family == EVM:
            address = str(self._evm(path).address)
        else:
            raise ValueError(f"unknown family {family!r} (svm or evm)")
        if show:
            screen = Screen("address", f"Verify {family.upper()} address", (f"Path: {path}", f"Address: {address}"))
            if not self.confirm(screen):
                raise SignerRefused("address not confirmed on the device")
        return address

    # -- the one signing gate ------------------------------------------------------------------

    def _gate(self, kind: str, path: str, payload: bytes, screen: Screen | None, refusal: str | None) -> None:
        """Refuse (and log) unless the screen is parseable, not blind (or blind signing is on),
        free of blocking warnings, and confirmed."""
        digest = hashlib.sha256(payload).hexdigest()

        def refuse(why: str) -> None:
            self.log.append(
                kind=kind, path=path, payload_sha256=digest, screen=screen.to_json() if screen else None,
                outcome=f"refused: {why}",
            )  # fmt: skip
            raise SignerRefused(why)

        if refusal is not None or screen is None:
            refuse(refusal or "the device could not parse the request")
            return
        if any("is not a signer" in w for w in screen.warnings):
            refuse(f"the device key is not a signer of this message ({screen.warnings[0]})")
        if screen.blind and not self.blind_signing:
            refuse(
                "blind signing is disabled on the device: it cannot show part of this request "
                "(enable blind signing on the device to sign it anyway)"
            )
        if not self.confirm(screen):
            refuse("rejected on the device")

    def _signed(self, kind: str, path: str, payload: bytes, screen: Screen, signature: bytes) -> None:
        self.log.append(
            kind=kind,
            path=path,
            payload_sha256=hashlib.sha256(payload).hexdigest(),
            screen=screen.to_json(),
            outcome="signed",
            signature_sha256=hashlib.sha256(signature).hexdigest(),
        )

    # -- Solana --------------------------------------------------------------------------------

    def sign_solana_message(self, path: str, message: bytes) -> bytes:
        kp = self._svm(path)
        message = bytes(message)
        screen, why = None, None
        try:
            screen = solana_screen.parse_message(message, str(kp.pubkey())).screen
        except solana_screen.NotAMessage as exc:
            why = f"the device cannot parse this: {exc}"
        self._gate("solana-transaction", path, message, screen, why)
        assert screen is not None
        sig = bytes(kp.sign_message(message))
        self._signed("solana-transaction", path, message, screen, sig)
        return sig

    def sign_offchain_message(self, path: str, message: bytes) -> bytes:
        kp = self._svm(path)
        message = bytes(message)
        screen, why = None, None
        try:
            screen = solana_screen.parse_offchain(message, str(kp.pubkey()))
        except solana_screen.NotAMessage as exc:
            why = str(exc)
        self._gate("solana-offchain-message", path, message, screen, why)
        assert screen is not None
        sig = bytes(kp.sign_message(message))
        self._signed("solana-offchain-message", path, message, screen, sig)
        return sig

    # -- EVM -----------------------------------------------------------------------------------

    def sign_evm_typed_data(self, path: str, typed: dict[str, Any]) -> bytes:
        acct = self._evm(path)
        payload = json.dumps(typed, sort_keys=True, default=str).encode()
        screen, why = None, None
        try:
            screen = evm_screen.typed_data_screen(typed, acct.address)
        except Exception as exc:  # any malformed document is refused, with the parser's reason
            why = f"not a valid EIP-712 document: {exc}"
        self._gate("evm-typed-data", path, payload, screen, why)
        assert screen is not None
        sig = bytes(Account.sign_message(encode_typed_data(full_message=typed), acct.key).signature)
        self._signed("evm-typed-data", path, payload, screen, sig)
        return sig

    def sign_evm_transaction(self, path: str, tx: dict[str, Any]) -> bytes:
        acct = self._evm(path)
        screen, why, payload = None, None, json.dumps(tx, sort_keys=True, default=str).encode()
        try:
            parsed = evm_tx.normalize(tx)
            payload = parsed.unsigned()
            screen = evm_screen.transaction_screen(parsed, acct.address)
        except (ValueError, TypeError) as exc:
            why = f"the device cannot parse this transaction: {exc}"
        self._gate("evm-transaction", path, payload, screen, why)
        assert screen is not None
        signed = acct.sign_transaction(_eth_account_dict(parsed))
        raw = bytes(signed.raw_transaction)
        self._signed("evm-transaction", path, payload, screen, raw)
        return raw

    def sign_evm_personal_message(self, path: str, message: bytes) -> bytes:
        acct = self._evm(path)
        message = bytes(message)
        screen, why = None, None
        try:
            screen = evm_screen.personal_message_screen(message, acct.address)
        except ValueError as exc:
            why = str(exc)
        self._gate("evm-personal-message", path, message, screen, why)
        assert screen is not None
        sig = bytes(Account.sign_message(encode_defunct(primitive=message), acct.key).signature)
        self._signed("evm-personal-message", path, message, screen, sig)
        return sig


def _eth_account_dict(tx: evm_tx.Eip1559) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": 2,
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "maxPriorityFeePerGas": tx.max_priority_fee_per_gas,
        "maxFeePerGas": tx.max_fee_per_gas,
        "gas": tx.gas,
        "value": tx.value,
        "data": tx.data,
    }
    if tx.to is not None:
        out["to"] = tx.to
    return out
