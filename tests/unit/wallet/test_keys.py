"""Wallet keys: generation, import formats, every derivation scheme, checked against independent code.

Independent checks: solders' own ``Keypair.from_seed_and_derivation_path`` (ed25519-dalek-bip32,
not bip-utils) for SVM paths, eth-account's HD wallet (``Account.from_mnemonic``) for EVM paths,
and the published vectors in ../shared/spec/wallet.md §1.2.
"""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from solders.keypair import Keypair

from rucksack.chains.keys import mnemonic_to_seed
from rucksack.wallet import keys
from rucksack.wallet.keys import EVM, SVM, Secret, WalletKeyError

ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
LEGAL = "legal winner thank year wave sausage worth useful legal winner thank yellow"

Account.enable_unaudited_hdwallet_features()


def test_published_defaults() -> None:
    s = Secret.from_mnemonic(ABANDON)
    assert keys.account_ref(s, SVM).address == "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"
    assert keys.account_ref(s, EVM).address == "0x1cC31E180CCA3a8698fD6f13765209EC7CB9E755"
    assert keys.account_ref(s, EVM, "metamask").address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    assert keys.account_ref(s, SVM, "solana-legacy").address == "GjJyeC1r2RgkuoCWMyPYkCWSGSGLcz266EaAkLA27AhL"
    assert keys.account_ref(s, SVM, "bip44-root").address == "D2PPQSYFe83nDzk96FqGumVU8JA7J8vj2Rhjc2oXzEi5"
    assert keys.account_ref(s, SVM, "backpack-legacy").address == "B9sVeu4rJU12oUrUtzjc6BSNuEXdfvurZkdcaTVkP2LY"


@pytest.mark.parametrize("phrase", [ABANDON, LEGAL])
@pytest.mark.parametrize("passphrase", ["", "TREZOR"])
def test_svm_schemes_against_solders(phrase: str, passphrase: str) -> None:
    secret = Secret.from_mnemonic(phrase, passphrase)
    seed = mnemonic_to_seed(phrase, passphrase)
    for scheme in ("backpack", "backpack-legacy", "solana-legacy", "ledger-live", "coin60-bug"):
        for i in (0, 1, 7):
            path = keys.SVM_SCHEMES[scheme].format(i=i)
            expected = Keypair.from_seed_and_derivation_path(seed, path).pubkey()
            assert keys.svm_keypair(secret, scheme, i).pubkey() == expected, (scheme, i)


@pytest.mark.parametrize("phrase", [ABANDON, LEGAL])
def test_evm_schemes_against_eth_account(phrase: str) -> None:
    secret = Secret.from_mnemonic(phrase, "pw")
    for scheme, template in keys.EVM_SCHEMES.items():
        for i in (0, 3):
            path = template.format(i=i)
            expected = Account.from_mnemonic(phrase, passphrase="pw", account_path=path).address
            assert keys.evm_account(secret, scheme, i).address == expected, (scheme, i)


def test_sollet_is_secp256k1_then_ed25519() -> None:
    # independent: eth-account derives the secp256k1 key at the sollet path; its bytes seed ed25519
    k = Account.from_mnemonic(ABANDON, account_path="m/501'/0'/0/0").key
    assert keys.svm_keypair(Secret.from_mnemonic(ABANDON), "sollet", 0).pubkey() == Keypair.from_seed(bytes(k)).pubkey()


@pytest.mark.parametrize("words", [12, 24])
def test_generate(words: int) -> None:
    a, b = keys.generate_mnemonic(words), keys.generate_mnemonic(words)
    assert len(a.mnemonic.split()) == words and a.mnemonic != b.mnemonic
    mnemonic = pytest.importorskip("mnemonic")
    assert mnemonic.Mnemonic("english").check(a.mnemonic)  # Trezor's reference checksum
    with pytest.raises(WalletKeyError):
        keys.generate_mnemonic(13)


def test_bad_mnemonics() -> None:
    with pytest.raises(WalletKeyError, match="checksum"):
        Secret.from_mnemonic(" ".join(["abandon"] * 12))
    with pytest.raises(WalletKeyError, match="12-24 words"):
        Secret.from_mnemonic("abandon about")
    # spacing and case are normalised
    assert Secret.from_mnemonic("  " + ABANDON.upper().replace(" ", "   ")).mnemonic == ABANDON


def test_secret_never_in_repr() -> None:
    s = Secret.from_mnemonic(ABANDON, "hunter2")
    for text in (repr(s), str(s), f"{s}", repr([s])):
        assert "abandon" not in text and "hunter2" not in text
    k = Secret.from_private_key(EVM, "0x" + "11" * 32)
    assert "1111" not in repr(k)


def test_private_key_formats_svm() -> None:
    kp = Keypair()
    raw = bytes(kp)
    for text in (json.dumps(list(raw)), str(kp), raw.hex(), raw[:32].hex(), "0x" + raw.hex()):
        s = Secret.from_private_key(SVM, text)
        assert keys.account_ref(s, SVM).address == str(kp.pubkey())
        assert keys.account_ref(s, SVM).scheme == keys.IMPORTED
    other = bytes(Keypair())
    with pytest.raises(WalletKeyError):  # public half does not match
        Secret.from_private_key(SVM, (raw[:32] + other[32:]).hex())
    with pytest.raises(WalletKeyError):
        Secret.from_private_key(SVM, "not-a-key!")
    with pytest.raises(WalletKeyError):
        Secret.from_private_key(SVM, json.dumps([1, 2, 3]))


def test_private_key_formats_evm() -> None:
    acct = Account.create()
    s = Secret.from_private_key(EVM, acct.key.hex())
    assert keys.account_ref(s, EVM).address == acct.address
    assert keys.default_accounts(s) == [keys.account_ref(s, EVM)]
    with pytest.raises(WalletKeyError):
        Secret.from_private_key(EVM, "0x1234")
    with pytest.raises(WalletKeyError, match="imported"):
        keys.account_ref(s, SVM)
    with pytest.raises(WalletKeyError):
        keys.svm_keypair(s)


def test_default_accounts_and_payload_round_trip() -> None:
    s = Secret.from_mnemonic(ABANDON)
    refs = keys.default_accounts(s, count=2, evm_scheme="metamask")
    assert [(r.family, r.scheme, r.index) for r in refs] == [
        (SVM, "backpack", 0),
        (SVM, "backpack", 1),
        (EVM, "metamask", 0),
        (EVM, "metamask", 1),
    ]
    assert refs[2].path == "m/44'/60'/0'/0/0"
    assert all(keys.AccountRef.from_json(r.to_json()) == r for r in refs)
    assert Secret.from_payload(s.to_payload()) == s
    with pytest.raises(WalletKeyError):
        keys.default_accounts(s, evm_scheme="ledger-legacy")
    with pytest.raises(WalletKeyError, match="unknown"):
        keys.svm_keypair(s, "nope")


def test_signer_checks_address() -> None:
    s = Secret.from_mnemonic(ABANDON)
    ref = keys.account_ref(s, EVM)
    assert keys.signer_for(s, ref).address == ref.address
    forged = keys.AccountRef(EVM, "backpack", 0, "0x9858EfFD232B4033E47d90003D41EC34EcaEda94")
    with pytest.raises(WalletKeyError, match="does not derive"):
        keys.signer_for(s, forged)
