"""The encrypted keystore file, locking, auto-lock, and Ethereum keystore v3 export.

File (UTF-8 JSON, mode 0600, one wallet per file; see docs/wallet.md for every field)::

    {"format": "rucksack-keystore", "version": 1,
     "kdf": {"name": "argon2id", "opslimit": 3, "memlimit": 268435456, "salt": "<base64, 16 bytes>"},
     "cipher": {"name": "xchacha20poly1305-ietf", "nonce": "<base64, 24 bytes>"},
     "kind": "mnemonic", "accounts": [{"family": "svm", "scheme": "backpack", "index": 0, ...}],
     "ciphertext": "<base64>"}

- The key is Argon2id(password, salt, opslimit, memlimit) from libsodium (PyNaCl); ``MODERATE``
  (3 passes, 256 MiB) by default. The parameters are read back from the header, so a file written
  with the cheap ``TEST`` profile still opens, and a tampered header just fails the MAC.
- The plaintext is the *mnemonic* (and BIP-39 passphrase) or the one imported key -- never the seed.
- The AEAD's associated data is the canonical JSON of every header field (all but ``ciphertext``):
  the public account list cannot be swapped without the password noticing.
- A wrong password and a tampered file look the same to the MAC: ``WrongPassword``. A file that is
  not a keystore, or is truncated, is ``KeystoreCorrupt``. Neither ever writes to the file.
- Writes are atomic: a temp file in the same directory (created 0600), fsync, ``os.replace``,
  fsync of the directory. Creating never overwrites an existing file.
- ``Wallet`` is the unlocked process view: it keeps the derived key and the secret in memory
  until ``lock()`` or until ``auto_lock_seconds`` pass without use (checked on every use against
  an injectable monotonic clock). Python cannot wipe immutable strings: "forget" means dropping
  every reference, which is the best a pure-Python process can do (docs/wallet.md).
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nacl.bindings as sodium
import nacl.exceptions
import nacl.pwhash
import nacl.utils

from rucksack.wallet.keys import EVM, AccountRef, Secret, WalletKeyError, signer_for

FORMAT = "rucksack-keystore"
VERSION = 1
KDF_NAME = "argon2id"
CIPHER_NAME = "xchacha20poly1305-ietf"
SALT_BYTES = nacl.pwhash.argon2id.SALTBYTES
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
KEY_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
MAX_MEMLIMIT = 4 * 1024**3  # refuse headers that would ask for more than 4 GiB
MAX_OPSLIMIT = 64
DEFAULT_AUTO_LOCK = 600.0  # seconds, Backpack's default (10 minutes)


@dataclass(frozen=True, slots=True)
class KdfProfile:
    name: str
    opslimit: int
    memlimit: int


MODERATE = KdfProfile("moderate", nacl.pwhash.argon2id.OPSLIMIT_MODERATE, nacl.pwhash.argon2id.MEMLIMIT_MODERATE)
INTERACTIVE = KdfProfile(
    "interactive", nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE
)
TEST = KdfProfile("test", 1, 8 * 1024 * 1024)  # tests only: fast, and recorded in the header like any other
PROFILES = {p.name: p for p in (MODERATE, INTERACTIVE, TEST)}


class KeystoreError(Exception):
    pass


class WrongPassword(KeystoreError):
    def __init__(self) -> None:
        super().__init__("wrong password (or the keystore was altered); the file is unchanged")


class KeystoreCorrupt(KeystoreError):
    pass


class Locked(KeystoreError):
    def __init__(self, why: str = "the wallet is locked") -> None:
        super().__init__(f"{why}: unlock it with the password")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, size: int | None, what: str) -> bytes:
    try:
        raw = base64.b64decode(str(text), validate=True)
    except ValueError:
        raise KeystoreCorrupt(f"{what} is not base64") from None
    if size is not None and len(raw) != size:
        raise KeystoreCorrupt(f"{what} is {len(raw)} bytes, expected {size}")
    return raw


def _derive_key(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    return bytes(nacl.pwhash.argon2id.kdf(KEY_BYTES, password.encode("utf-8"), salt, opslimit, memlimit))


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal(secret: Secret, key: bytes, salt: bytes, kdf: dict[str, Any], accounts: list[AccountRef]) -> dict[str, Any]:
    header: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "kdf": {**kdf, "salt": _b64(salt)},
        "cipher": {"name": CIPHER_NAME, "nonce": _b64(nacl.utils.random(NONCE_BYTES))},
        "kind": secret.kind,
        "accounts": [a.to_json() for a in accounts],
    }
    nonce = _unb64(header["cipher"]["nonce"], NONCE_BYTES, "nonce")
    plaintext = json.dumps(secret.to_payload()).encode()
    ciphertext = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, _aad(header), nonce, key)
    return {**header, "ciphertext": _b64(ciphertext)}


def parse(text: str) -> dict[str, Any]:
    """Check the structure of a keystore document (not the password); ``KeystoreCorrupt`` if wrong."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise KeystoreCorrupt("not a keystore: not JSON (truncated or another file?)") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeystoreCorrupt("not a rucksack keystore (no 'format': 'rucksack-keystore')")
    if doc.get("version") != VERSION:
        raise KeystoreCorrupt(f"keystore version {doc.get('version')!r} is not supported (this build reads {VERSION})")
    try:
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != KDF_NAME or cipher["name"] != CIPHER_NAME:
            raise KeystoreCorrupt(f"unsupported kdf/cipher {kdf['name']}/{cipher['name']}")
        ops, mem = int(kdf["opslimit"]), int(kdf["memlimit"])
        if not (1 <= ops <= MAX_OPSLIMIT and nacl.pwhash.argon2id.MEMLIMIT_MIN <= mem <= MAX_MEMLIMIT):
            raise KeystoreCorrupt(f"argon2id parameters out of range: opslimit={ops} memlimit={mem}")
        _unb64(kdf["salt"], SALT_BYTES, "salt")
        _unb64(cipher["nonce"], NONCE_BYTES, "nonce")
        _unb64(doc["ciphertext"], None, "ciphertext")
        [AccountRef.from_json(a) for a in doc["accounts"]]
        str(doc["kind"])
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, KeystoreCorrupt):
            raise
        raise KeystoreCorrupt(f"keystore is missing or has a malformed field: {exc}") from None
    return doc


def open_doc(doc: dict[str, Any], password: str) -> tuple[Secret, bytes]:
    """Decrypt: the secret and the derived key. ``WrongPassword`` if the MAC fails."""
    kdf = doc["kdf"]
    salt = _unb64(kdf["salt"], SALT_BYTES, "salt")
    key = _derive_key(password, salt, int(kdf["opslimit"]), int(kdf["memlimit"]))
    return _open_with_key(doc, key), key


def _open_with_key(doc: dict[str, Any], key: bytes) -> Secret:
    header = {k: v for k, v in doc.items() if k != "ciphertext"}
    nonce = _unb64(doc["cipher"]["nonce"], NONCE_BYTES, "nonce")
    try:
        plaintext = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
            _unb64(doc["ciphertext"], None, "ciphertext"), _aad(header), nonce, key
        )
    except nacl.exceptions.CryptoError:
        raise WrongPassword() from None
    try:
        return Secret.from_payload(json.loads(plaintext))
    except (ValueError, KeyError, WalletKeyError):
        raise KeystoreCorrupt("decrypted payload is malformed") from None


def atomic_write(path: Path, data: bytes, *, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` all-or-nothing, mode 0600; refuses to replace if not ``overwrite``."""
    path = Path(path)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; refusing to overwrite it")
    directory = path.parent if str(path.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f".{path.name}.{os.getpid()}.{nacl.utils.random(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not overwrite and path.exists():
            raise FileExistsError(f"{path} exists; refusing to overwrite it")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_doc(path: Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeystoreError(f"no keystore at {path}") from None
    except UnicodeDecodeError:
        raise KeystoreCorrupt("not a keystore: not UTF-8 text") from None
    return parse(text)


class Wallet:
    """One keystore file and, while unlocked, its secret. Use ``create`` or ``Wallet(path)``."""

    def __init__(
        self,
        path: Path | str,
        *,
        auto_lock_seconds: float = DEFAULT_AUTO_LOCK,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self.auto_lock_seconds = auto_lock_seconds
        self.clock = clock
        self.doc = read_doc(self.path)
        self._secret: Secret | None = None
        self._key: bytes | None = None
        self._last_used = 0.0

    # -- creation ------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: Path | str,
        secret: Secret,
        password: str,
        accounts: list[AccountRef],
        *,
        profile: KdfProfile = MODERATE,
        overwrite: bool = False,
        auto_lock_seconds: float = DEFAULT_AUTO_LOCK,
        clock: Callable[[], float] = time.monotonic,
    ) -> Wallet:
        if not password:
            raise KeystoreError("an empty password is not allowed")
        for ref in accounts:
            signer_for(secret, ref)  # every recorded address must come from the secret
        salt = nacl.utils.random(SALT_BYTES)
        key = _derive_key(password, salt, profile.opslimit, profile.memlimit)
        doc = seal(
            secret, key, salt, {"name": KDF_NAME, "opslimit": profile.opslimit, "memlimit": profile.memlimit}, accounts
        )
        atomic_write(Path(path), (json.dumps(doc, indent=1) + "\n").encode(), overwrite=overwrite)
        wallet = cls(path, auto_lock_seconds=auto_lock_seconds, clock=clock)
        wallet._remember(secret, key)
        return wallet

    # -- public view (no password) -------------------------------------------------------------

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def accounts(self) -> list[AccountRef]:
        """As recorded in the header (authenticated at every unlock)."""
        return [AccountRef.from_json(a) for a in self.doc["accounts"]]

    def account(self, family: str, index: int = 0) -> AccountRef:
        """The ``index``-th recorded account of ``family`` (in file order)."""
        refs = [a for a in self.accounts if a.family == family]
        if not refs:
            raise KeystoreError(f"this wallet has no {family} account")
        if not 0 <= index < len(refs):
            raise KeystoreError(f"this wallet has {len(refs)} {family} account(s); no number {index}")
        return refs[index]

    # -- lock state ----------------------------------------------------------------------------

    def unlock(self, password: str) -> None:
        self.doc = read_doc(self.path)
        secret, key = open_doc(self.doc, password)
        self._remember(secret, key)

    def lock(self) -> None:
        self._secret = None
        self._key = None

    @property
    def is_unlocked(self) -> bool:
        self._expire_if_idle()
        return self._secret is not None

    def _remember(self, secret: Secret, key: bytes) -> None:
        self._secret, self._key = secret, key
        self._last_used = self.clock()

    def _expire_if_idle(self) -> None:
        if self._secret is not None and self.clock() - self._last_used >= self.auto_lock_seconds:
            self.lock()

    def secret(self) -> Secret:
        """The secret, refreshing the idle timer; ``Locked`` when locked or idle too long."""
        was_unlocked = self._secret is not None
        self._expire_if_idle()
        if self._secret is None:
            raise Locked("auto-locked after inactivity" if was_unlocked else "the wallet is locked")
        self._last_used = self.clock()
        return self._secret

    def signer(self, ref: AccountRef) -> Any:
        return signer_for(self.secret(), ref)

    # -- changes (need the unlocked key) ------------------------------------------------------

    def set_accounts(self, accounts: list[AccountRef]) -> None:
        """Rewrite the account list (re-sealed with a fresh nonce under the same key)."""
        secret = self.secret()
        for ref in accounts:
            signer_for(secret, ref)
        assert self._key is not None
        kdf = {k: v for k, v in self.doc["kdf"].items() if k != "salt"}
        salt = _unb64(self.doc["kdf"]["salt"], SALT_BYTES, "salt")
        doc = seal(secret, self._key, salt, kdf, accounts)
        atomic_write(self.path, (json.dumps(doc, indent=1) + "\n").encode())
        self.doc = doc

    def export_evm_v3(self, ref: AccountRef, password: str, *, scrypt_n: int | None = None) -> dict[str, Any]:
        """The Ethereum keystore v3 JSON (scrypt, eth-account) of one EVM account; ``scrypt_n`` lowers
        the cost for tests (eth-account's default is 2**18)."""
        if ref.family != EVM:
            raise KeystoreError("keystore v3 export is for EVM accounts")
        if not password:
            raise KeystoreError("an empty password is not allowed")
        from eth_account import Account

        account = self.signer(ref)
        exported: dict[str, Any] = Account.encrypt(account.key, password, kdf="scrypt", iterations=scrypt_n)
        return exported
