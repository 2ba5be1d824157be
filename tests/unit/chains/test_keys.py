"""Derivation vectors: the published ones in ../shared/spec/wallet.md §1.2, and independent libraries.

``mnemonic`` + ``slip10`` (Trezor's reference BIP-39 and SLIP-10) re-derive the SVM keys and
eth-account's own HD wallet re-derives the EVM ones, so bip-utils is never checked against itself.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from rucksack.chains import keys

ABANDON = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"

PUBLISHED = [
    ("solana", "m/44'/501'/0'/0'", "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"),
    ("solana", "m/44'/501'/0'", "GjJyeC1r2RgkuoCWMyPYkCWSGSGLcz266EaAkLA27AhL"),
    ("solana", "m/44'/501'", "D2PPQSYFe83nDzk96FqGumVU8JA7J8vj2Rhjc2oXzEi5"),
    ("solana", "m/44'/501'/0'/0'/0'", "B9sVeu4rJU12oUrUtzjc6BSNuEXdfvurZkdcaTVkP2LY"),
    ("ethereum", "m/44'/60'/0'/0/0", "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"),
    ("ethereum", "m/44'/60'/0'/0'", "0x1cC31E180CCA3a8698fD6f13765209EC7CB9E755"),
    ("ethereum", "m/44'/60'/0'/0", "0xB8Fd42000d00202DCbCF5e18d6640d656345FD6A"),
]


@pytest.mark.parametrize(("chain", "path", "address"), PUBLISHED)
def test_published_vectors(chain: str, path: str, address: str) -> None:
    assert keys.address_from_seed(chain, keys.mnemonic_to_seed(ABANDON), path=path) == address


def test_defaults_are_backpacks() -> None:
    assert str(keys.svm_keypair(ABANDON).pubkey()) == "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"
    assert keys.evm_account(ABANDON).address == "0x1cC31E180CCA3a8698fD6f13765209EC7CB9E755"
    # every EVM chain shares the address
    seed = keys.mnemonic_to_seed(ABANDON)
    assert {keys.address_from_seed(c, seed) for c in ("ethereum", "base", "polygon")} == {
        "0x1cC31E180CCA3a8698fD6f13765209EC7CB9E755"
    }


def test_svm_against_reference_slip10() -> None:
    mnemonic = pytest.importorskip("mnemonic")
    slip10 = pytest.importorskip("slip10")
    phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    seed = mnemonic.Mnemonic.to_seed(phrase, passphrase="TREZOR")
    assert seed == keys.mnemonic_to_seed(phrase, "TREZOR")
    for i in range(3):
        path = f"m/44'/501'/{i}'/0'"
        reference = slip10.SLIP10.from_seed(seed, curve_name="ed25519").get_privkey_from_path(path)
        assert bytes(keys.svm_keypair_from_seed(seed, path).secret()) == reference


def test_evm_against_eth_account_hd_wallet() -> None:
    Account.enable_unaudited_hdwallet_features()
    for i in range(3):
        for pattern in (keys.EVM_STANDARD_PATH, keys.EVM_BACKPACK_PATH):
            path = pattern.format(i=i)
            expected = Account.from_mnemonic(ABANDON, account_path=path).address
            assert keys.evm_account(ABANDON, i, path=pattern).address == expected


def test_passphrase_changes_everything() -> None:
    assert keys.svm_keypair(ABANDON, passphrase="x").pubkey() != keys.svm_keypair(ABANDON).pubkey()


def test_bad_mnemonic_is_refused() -> None:
    with pytest.raises(ValueError, match="BIP-39"):
        keys.mnemonic_to_seed("abandon " * 12)
    with pytest.raises(ValueError):
        keys.mnemonic_to_seed("not a real phrase at all")


def test_private_key_import() -> None:
    kp = keys.svm_keypair(ABANDON)
    assert keys.address_from_private_key("solana", bytes(kp)) == str(kp.pubkey())  # 64-byte secret key
    assert keys.address_from_private_key("eclipse", kp.secret()) == str(kp.pubkey())  # 32-byte seed
    bad = bytes(kp)[:32] + bytes(32)
    with pytest.raises(ValueError):
        keys.svm_keypair_from_secret(bad)
    acct = keys.evm_account(ABANDON)
    assert keys.address_from_private_key("base", bytes(acct.key)) == acct.address
    with pytest.raises(ValueError):
        keys.address_from_private_key("base", b"\x01" * 31)
    with pytest.raises(ValueError):
        keys.svm_keypair_from_seed(keys.mnemonic_to_seed(ABANDON), "m/44'/501'/0/0")  # ed25519: hardened only
