"""The exchange HD seed, encrypted at rest: ``<data-dir>/custody.seed``.

File format (JSON): ``{"version": 1, "kdf": {"name": "argon2id", "opslimit", "memlimit", "salt"},
"cipher": "xchacha20poly1305-ietf", "nonce", "ciphertext"}`` (bytes as standard base64). The key is
Argon2id(password, salt); the 64-byte seed is sealed with XChaCha20-Poly1305 and the JSON header
(everything but ``ciphertext``) as associated data, so a tampered header fails like a wrong password.

The password comes from ``RUCKSACK_CUSTODY_PASSWORD``. Without it, sandbox mode creates
``custody.key`` (32 random bytes, hex, mode 0600) on first start and uses that; production mode
refuses to start without the variable (a key file beside the ciphertext only protects against a
copy of the seed file alone).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.pwhash

SEED_NAME = "custody.seed"
KEY_NAME = "custody.key"
PASSWORD_ENV = "RUCKSACK_CUSTODY_PASSWORD"
OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


class CustodySeedError(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key(password: str, salt: bytes, ops: int, mem: int) -> bytes:
    return nacl.pwhash.argon2id.kdf(32, password.encode(), salt, opslimit=ops, memlimit=mem)


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal(seed: bytes, password: str) -> dict[str, Any]:
    salt = secrets.token_bytes(nacl.pwhash.argon2id.SALTBYTES)
    nonce = secrets.token_bytes(nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    header = {
        "version": 1,
        "kdf": {"name": "argon2id", "opslimit": OPSLIMIT, "memlimit": MEMLIMIT, "salt": _b64(salt)},
        "cipher": "xchacha20poly1305-ietf",
        "nonce": _b64(nonce),
    }
    ct = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        seed, _aad(header), nonce, _key(password, salt, OPSLIMIT, MEMLIMIT)
    )
    return {**header, "ciphertext": _b64(ct)}


def unseal(doc: dict[str, Any], password: str) -> bytes:
    try:
        header = {k: v for k, v in doc.items() if k != "ciphertext"}
        kdf = doc["kdf"]
        if doc["version"] != 1 or kdf["name"] != "argon2id" or doc["cipher"] != "xchacha20poly1305-ietf":
            raise CustodySeedError("unsupported custody seed format")
        key = _key(password, base64.b64decode(kdf["salt"]), int(kdf["opslimit"]), int(kdf["memlimit"]))
        return bytes(
            nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                base64.b64decode(doc["ciphertext"]), _aad(header), base64.b64decode(doc["nonce"]), key
            )
        )
    except nacl.exceptions.CryptoError:
        raise CustodySeedError("cannot decrypt the custody seed: wrong password or a modified file") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise CustodySeedError(f"malformed custody seed file: {exc}") from None


def _write_new(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def password_for(data_dir: Path, *, sandbox: bool) -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    path = data_dir / KEY_NAME
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    if not sandbox:
        raise CustodySeedError(f"set {PASSWORD_ENV}: production mode keeps no custody key file")
    _write_new(path, secrets.token_hex(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


def load_or_create(data_dir: Path, *, sandbox: bool) -> bytes:
    """The 64-byte exchange seed; a new random one is created (and sealed) on first use."""
    password = password_for(data_dir, sandbox=sandbox)
    path = data_dir / SEED_NAME
    if path.exists():
        return unseal(json.loads(path.read_text(encoding="utf-8")), password)
    seed = secrets.token_bytes(64)
    _write_new(path, json.dumps(seal(seed, password), indent=1) + "\n")
    return seed
