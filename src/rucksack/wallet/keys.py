"""Wallet secrets and the accounts derived from them.

A wallet holds exactly one ``Secret``: a BIP-39 mnemonic (12 or 24 words, optional passphrase) or
one imported raw private key (ed25519 for SVM, secp256k1 for EVM). Derivation reuses
``rucksack.chains.keys`` (bip-utils); the path schemes are Backpack's (../shared/spec/wallet.md
§1.2), default first:

- SVM (Solana, Eclipse): ``backpack`` ``m/44'/501'/{i}'/0'`` (also Phantom/Solflare);
  ``backpack-legacy`` ``m/44'/501'/0'/0'/{i}'``; ``solana-legacy`` ``m/44'/501'/{i}'``;
  ``ledger-live`` ``m/44'/501'/{i}'/0'/0'``; ``bip44-root`` ``m/44'/501'`` (old ``bip44`` index 0);
  ``sollet`` ``m/501'/{i}'/0/0`` (BIP-32 secp256k1, its private key used as the ed25519 seed);
  ``coin60-bug`` ``m/44'/60'/{i}'/0'`` (ed25519 keys an old Backpack release derived with
  Ethereum's coin type -- scanned only, never offered for new accounts).
- EVM: ``backpack`` ``m/44'/60'/{i}'/0'``; ``metamask`` ``m/44'/60'/0'/0/{i}`` (MetaMask, Ledger,
  BIP-44 standard); ``backpack-legacy`` ``m/44'/60'/0'/0'/{i}'``; ``ethereum-legacy``
  ``m/44'/60'/{i}'``; ``ledger-legacy`` ``m/44'/60'/0'/{i}``; ``ledger-live`` ``m/44'/60'/{i}'/0/0``;
  ``bip44-root`` ``m/44'/60'``.

``Secret`` never shows its material in ``repr``/``str``; nothing here logs or prints.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bip_utils import Bip32Slip10Secp256k1, Bip39MnemonicGenerator, Bip39WordsNum
from eth_account.signers.local import LocalAccount
from solders.keypair import Keypair

from rucksack.chains import keys as chain_keys
from rucksack.chains.addresses import b58decode

SVM = "svm"
EVM = "evm"
FAMILIES = (SVM, EVM)

SVM_SCHEMES: dict[str, str] = {
    "backpack": "m/44'/501'/{i}'/0'",
    "backpack-legacy": "m/44'/501'/0'/0'/{i}'",
    "solana-legacy": "m/44'/501'/{i}'",
    "ledger-live": "m/44'/501'/{i}'/0'/0'",
    "bip44-root": "m/44'/501'",
    "sollet": "m/501'/{i}'/0/0",
    "coin60-bug": "m/44'/60'/{i}'/0'",
}
EVM_SCHEMES: dict[str, str] = {
    "backpack": "m/44'/60'/{i}'/0'",
    "metamask": "m/44'/60'/0'/0/{i}",
    "backpack-legacy": "m/44'/60'/0'/0'/{i}'",
    "ethereum-legacy": "m/44'/60'/{i}'",
    "ledger-legacy": "m/44'/60'/0'/{i}",
    "ledger-live": "m/44'/60'/{i}'/0/0",
    "bip44-root": "m/44'/60'",
}
SCHEMES = {SVM: SVM_SCHEMES, EVM: EVM_SCHEMES}
# what ``create`` and ``import`` offer for new accounts (the rest are for the recovery scan)
OFFERED = {SVM: ("backpack", "backpack-legacy", "solana-legacy", "ledger-live"), EVM: ("backpack", "metamask")}
IMPORTED = "imported"


class WalletKeyError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Secret:
    """The one secret a keystore protects. Build with ``from_mnemonic`` / ``from_private_key``."""

    kind: str  # "mnemonic" | "private-key"
    mnemonic: str = field(default="", repr=False)
    passphrase: str = field(default="", repr=False)
    family: str = ""  # private-key only: SVM or EVM
    key: bytes = field(default=b"", repr=False)

    def __repr__(self) -> str:
        what = f"{len(self.mnemonic.split())} words" if self.kind == "mnemonic" else f"{self.family} key"
        return f"Secret({self.kind}, {what}, <redacted>)"

    __str__ = __repr__

    @classmethod
    def from_mnemonic(cls, mnemonic: str, passphrase: str = "") -> Secret:
        phrase = " ".join(mnemonic.lower().split())
        if len(phrase.split()) not in (12, 15, 18, 21, 24):
            raise WalletKeyError(f"a BIP-39 mnemonic has 12-24 words, got {len(phrase.split())}")
        try:
            chain_keys.mnemonic_to_seed(phrase)
        except ValueError as exc:
            raise WalletKeyError(str(exc)) from None
        return cls("mnemonic", mnemonic=phrase, passphrase=passphrase)

    @classmethod
    def from_private_key(cls, family: str, text: str) -> Secret:
        return cls("private-key", family=family, key=parse_private_key(family, text))

    def seed(self) -> bytes:
        if self.kind != "mnemonic":
            raise WalletKeyError("an imported private key has no seed")
        return chain_keys.mnemonic_to_seed(self.mnemonic, self.passphrase)

    def to_payload(self) -> dict[str, Any]:
        if self.kind == "mnemonic":
            return {"kind": "mnemonic", "mnemonic": self.mnemonic, "passphrase": self.passphrase}
        return {"kind": "private-key", "family": self.family, "key": self.key.hex()}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Secret:
        if payload.get("kind") == "mnemonic":
            return cls.from_mnemonic(payload["mnemonic"], payload.get("passphrase", ""))
        if payload.get("kind") == "private-key":
            return cls("private-key", family=payload["family"], key=bytes.fromhex(payload["key"]))
        raise WalletKeyError("unknown secret kind in keystore payload")


def generate_mnemonic(words: int = 12) -> Secret:
    """A fresh mnemonic from the OS's CSPRNG (bip-utils): 12 words = 128 bits, 24 = 256 bits."""
    sizes = {12: Bip39WordsNum.WORDS_NUM_12, 24: Bip39WordsNum.WORDS_NUM_24}
    if words not in sizes:
        raise WalletKeyError("choose 12 or 24 words")
    return Secret.from_mnemonic(str(Bip39MnemonicGenerator().FromWordsNumber(sizes[words])))


_HEX = re.compile(r"^(0x)?[0-9a-fA-F]+$")


def parse_private_key(family: str, text: str) -> bytes:
    """SVM: a JSON byte array (Solana CLI ``id.json``), base58 (Phantom/Backpack export) or hex, of a
    32-byte seed or a 64-byte secret key (public half checked). EVM: 32 bytes of hex, ``0x`` optional."""
    text = text.strip()
    if family == EVM:
        if not _HEX.match(text) or len(text.removeprefix("0x")) != 64:
            raise WalletKeyError("an EVM private key is 64 hex digits (0x optional)")
        raw = bytes.fromhex(text.removeprefix("0x"))
        chain_keys.evm_account_from_secret(raw)
        return raw
    if family != SVM:
        raise WalletKeyError(f"unknown family {family!r}")
    if text.startswith("["):
        try:
            values = json.loads(text)
            raw = bytes(values)
        except (ValueError, TypeError):
            raise WalletKeyError("not a JSON array of bytes") from None
    elif _HEX.match(text) and len(text.removeprefix("0x")) in (64, 128):
        raw = bytes.fromhex(text.removeprefix("0x"))
    else:
        try:
            raw = b58decode(text)
        except ValueError:
            raise WalletKeyError("not base58, hex or a JSON byte array") from None
    try:
        kp = chain_keys.svm_keypair_from_secret(raw)
    except ValueError as exc:
        raise WalletKeyError(str(exc)) from None
    return bytes(kp.secret())


@dataclass(frozen=True, slots=True)
class AccountRef:
    """Public description of one account: how it is derived and its address (no secret)."""

    family: str
    scheme: str  # a key of SCHEMES[family], or IMPORTED
    index: int
    address: str

    @property
    def path(self) -> str | None:
        if self.scheme == IMPORTED:
            return None
        return SCHEMES[self.family][self.scheme].format(i=self.index)

    def to_json(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "scheme": self.scheme,
            "index": self.index,
            "path": self.path,
            "address": self.address,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AccountRef:
        return cls(obj["family"], obj["scheme"], int(obj["index"]), obj["address"])


def svm_keypair(secret: Secret, scheme: str = "backpack", index: int = 0) -> Keypair:
    if secret.kind == "private-key":
        if secret.family != SVM:
            raise WalletKeyError("this wallet holds an EVM key, not an SVM one")
        return chain_keys.svm_keypair_from_secret(secret.key)
    path = _path(SVM, scheme, index)
    seed = secret.seed()
    if scheme == "sollet":  # secp256k1 BIP-32, then the 32-byte private key as the ed25519 seed
        node = Bip32Slip10Secp256k1.FromSeed(seed).DerivePath(path)
        return Keypair.from_seed(node.PrivateKey().Raw().ToBytes())
    return chain_keys.svm_keypair_from_seed(seed, path)


def evm_account(secret: Secret, scheme: str = "backpack", index: int = 0) -> LocalAccount:
    if secret.kind == "private-key":
        if secret.family != EVM:
            raise WalletKeyError("this wallet holds an SVM key, not an EVM one")
        return chain_keys.evm_account_from_secret(secret.key)
    return chain_keys.evm_account_from_seed(secret.seed(), _path(EVM, scheme, index))


def _path(family: str, scheme: str, index: int) -> str:
    try:
        template = SCHEMES[family][scheme]
    except KeyError:
        raise WalletKeyError(f"unknown {family} scheme {scheme!r}; known: {', '.join(SCHEMES[family])}") from None
    if index < 0 or index >= 2**31:
        raise WalletKeyError("account index out of range")
    return template.format(i=index)


def account_ref(secret: Secret, family: str, scheme: str = "backpack", index: int = 0) -> AccountRef:
    if secret.kind == "private-key":
        if secret.family != family:
            return _raise_family(secret.family)
        scheme, index = IMPORTED, 0
    if family == SVM:
        return AccountRef(SVM, scheme, index, str(svm_keypair(secret, scheme, index).pubkey()))
    return AccountRef(EVM, scheme, index, evm_account(secret, scheme, index).address)


def _raise_family(have: str) -> AccountRef:
    raise WalletKeyError(f"this wallet holds one imported {have} key only")


def default_accounts(secret: Secret, count: int = 1, evm_scheme: str = "backpack") -> list[AccountRef]:
    """The accounts a new wallet starts with: ``count`` SVM and ``count`` EVM accounts (mnemonic), or
    the one imported key's account."""
    if secret.kind == "private-key":
        return [account_ref(secret, secret.family)]
    if evm_scheme not in OFFERED[EVM]:
        raise WalletKeyError(f"EVM scheme for new accounts: one of {', '.join(OFFERED[EVM])}")
    return [account_ref(secret, SVM, "backpack", i) for i in range(count)] + [
        account_ref(secret, EVM, evm_scheme, i) for i in range(count)
    ]


def signer_for(secret: Secret, ref: AccountRef) -> Keypair | LocalAccount:
    """The signing key of ``ref``; checks it still yields the recorded address."""
    signer: Keypair | LocalAccount
    if ref.family == SVM:
        signer = svm_keypair(secret, ref.scheme, ref.index)
        address = str(signer.pubkey())
    else:
        signer = evm_account(secret, ref.scheme, ref.index)
        address = signer.address
    if address != ref.address:
        raise WalletKeyError(f"the secret does not derive {ref.address} at {ref.path or 'its imported key'}")
    return signer
