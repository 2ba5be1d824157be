"""Keystore: round trips, header, wrong passwords, tampering, truncation, atomic writes, auto-lock, v3 export."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from rucksack.wallet import keystore
from rucksack.wallet.keys import EVM, SVM, Secret, default_accounts
from rucksack.wallet.keystore import TEST, KeystoreCorrupt, KeystoreError, Locked, Wallet, WrongPassword

ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(tmp_path: Path, **kw: object) -> Wallet:
    s = Secret.from_mnemonic(ABANDON, "pp")
    return Wallet.create(tmp_path / "w.json", s, "correct horse", default_accounts(s), profile=TEST, **kw)  # type: ignore[arg-type]


def test_round_trip_and_header(tmp_path: Path) -> None:
    w = make(tmp_path)
    path = tmp_path / "w.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["format"] == "rucksack-keystore" and doc["version"] == 1
    assert doc["kdf"] == {"name": "argon2id", "opslimit": 1, "memlimit": 8 * 1024 * 1024, "salt": doc["kdf"]["salt"]}
    assert doc["cipher"]["name"] == "xchacha20poly1305-ietf"
    assert doc["kind"] == "mnemonic"
    text = path.read_text()
    assert "abandon" not in text and "pp" not in json.dumps(doc["accounts"])
    # the seed is never stored: only the mnemonic is inside the ciphertext
    secret, _key = keystore.open_doc(doc, "correct horse")
    assert secret.to_payload() == {"kind": "mnemonic", "mnemonic": ABANDON, "passphrase": "pp"}
    w2 = Wallet(path)
    assert not w2.is_unlocked
    assert [a.address for a in w2.accounts] == [a.address for a in w.accounts]
    with pytest.raises(Locked):
        w2.secret()
    w2.unlock("correct horse")
    assert w2.signer(w2.account(SVM)).pubkey() is not None


def test_moderate_is_the_default_profile() -> None:
    assert keystore.MODERATE.opslimit == 3 and keystore.MODERATE.memlimit == 256 * 1024 * 1024
    assert Wallet.create.__kwdefaults__["profile"] is keystore.MODERATE


def test_wrong_password_leaves_file_untouched(tmp_path: Path) -> None:
    make(tmp_path)
    path = tmp_path / "w.json"
    before = path.read_bytes()
    w = Wallet(path)
    with pytest.raises(WrongPassword, match="wrong password"):
        w.unlock("incorrect horse")
    assert path.read_bytes() == before
    assert not w.is_unlocked


def test_create_refuses_to_overwrite_and_empty_password(tmp_path: Path) -> None:
    make(tmp_path)
    with pytest.raises(FileExistsError):
        make(tmp_path)
    s = Secret.from_mnemonic(ABANDON)
    with pytest.raises(KeystoreError, match="empty"):
        Wallet.create(tmp_path / "x.json", s, "", default_accounts(s), profile=TEST)
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["accounts"][0].__setitem__("address", "D2PPQSYFe83nDzk96FqGumVU8JA7J8vj2Rhjc2oXzEi5"),
        lambda d: d["kdf"].__setitem__("opslimit", 2),
        lambda d: d.__setitem__("kind", "private-key"),
        lambda d: d.__setitem__("ciphertext", d["ciphertext"][:-8] + "AAAAAAA="),
    ],
)
def test_tampered_header_or_body_fails_the_mac(tmp_path: Path, mutate: object) -> None:
    make(tmp_path)
    path = tmp_path / "w.json"
    doc = json.loads(path.read_text())
    mutate(doc)  # type: ignore[operator]
    path.write_text(json.dumps(doc))
    with pytest.raises(WrongPassword):
        Wallet(path).unlock("correct horse")


def test_truncated_and_foreign_files(tmp_path: Path) -> None:
    make(tmp_path)
    path = tmp_path / "w.json"
    full = path.read_bytes()
    for cut in (0, 1, 50, len(full) // 2, len(full) - 3):
        path.write_bytes(full[:cut])
        with pytest.raises(KeystoreCorrupt):
            Wallet(path)
    path.write_text(json.dumps({"format": "rucksack-keystore", "version": 9}))
    with pytest.raises(KeystoreCorrupt, match="version"):
        Wallet(path)
    doc = json.loads(full)
    doc["kdf"]["memlimit"] = 2**40
    path.write_text(json.dumps(doc))
    with pytest.raises(KeystoreCorrupt, match="out of range"):
        Wallet(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(KeystoreCorrupt):
        Wallet(path)
    with pytest.raises(KeystoreError, match="no keystore"):
        Wallet(tmp_path / "missing.json")


def test_auto_lock_after_inactivity(tmp_path: Path) -> None:
    clock = FakeClock()
    w = make(tmp_path, auto_lock_seconds=60, clock=clock)
    assert w.is_unlocked
    clock.now += 59
    w.secret()  # use refreshes the timer
    clock.now += 59
    assert w.is_unlocked
    clock.now += 1
    with pytest.raises(Locked, match="inactivity"):
        w.secret()
    assert not w.is_unlocked
    w.unlock("correct horse")
    w.lock()
    with pytest.raises(Locked):
        w.secret()


def test_set_accounts_reseals(tmp_path: Path) -> None:
    w = make(tmp_path)
    old_nonce = w.doc["cipher"]["nonce"]
    s = w.secret()
    more = default_accounts(s, count=2)
    w.set_accounts(more)
    assert w.doc["cipher"]["nonce"] != old_nonce
    again = Wallet(tmp_path / "w.json")
    again.unlock("correct horse")
    assert again.accounts == more
    assert not list(tmp_path.glob(".*.tmp"))  # no temp files left behind


def test_atomic_write_failure_keeps_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f.json"
    keystore.atomic_write(target, b"old")

    def boom(*a: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        keystore.atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_v3(tmp_path: Path) -> None:
    w = make(tmp_path)
    ref = w.account(EVM)
    v3 = w.export_evm_v3(ref, "export-pw", scrypt_n=2**10)
    assert v3["version"] == 3 and v3["crypto"]["kdf"] == "scrypt"
    assert Account.from_key(Account.decrypt(v3, "export-pw")).address == ref.address
    with pytest.raises(KeystoreError):
        w.export_evm_v3(w.account(SVM), "x")


def test_imported_key_wallet(tmp_path: Path) -> None:
    acct = Account.create()
    s = Secret.from_private_key(EVM, acct.key.hex())
    w = Wallet.create(tmp_path / "k.json", s, "pw", default_accounts(s), profile=TEST)
    again = Wallet(tmp_path / "k.json")
    assert again.kind == "private-key"
    again.unlock("pw")
    assert again.signer(again.account(EVM)).address == acct.address
    with pytest.raises(KeystoreError, match="no svm"):
        w.account(SVM)
