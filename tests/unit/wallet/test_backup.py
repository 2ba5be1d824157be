"""SLIP-39 2-of-3: every pair restores the same mnemonic; one share, or a tampered one, does not."""

from __future__ import annotations

from itertools import combinations

import pytest

from rucksack.wallet import backup
from rucksack.wallet.keys import EVM, Secret, WalletKeyError, account_ref, generate_mnemonic


@pytest.mark.parametrize("words", [12, 24])
def test_any_two_of_three(words: int) -> None:
    secret = generate_mnemonic(words)
    shares = backup.split(secret)
    assert len(shares) == 3 and all(len(s.split()) == (20 if words == 12 else 33) for s in shares)
    for pair in combinations(shares, 2):
        assert backup.combine(list(pair)).mnemonic == secret.mnemonic
    assert backup.combine(shares).mnemonic == secret.mnemonic
    for one in shares:
        with pytest.raises(WalletKeyError, match="cannot restore"):
            backup.combine([one])


def test_tampered_share_and_addresses() -> None:
    secret = generate_mnemonic(12)
    shares = backup.split(secret)
    words = shares[0].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(WalletKeyError):
        backup.combine([" ".join(words), shares[1]])
    restored = backup.combine(shares[1:], passphrase="")
    assert account_ref(restored, EVM).address == account_ref(secret, EVM).address


def test_only_mnemonics_split() -> None:
    with pytest.raises(WalletKeyError):
        backup.split(Secret.from_private_key(EVM, "11" * 32))
    with pytest.raises(WalletKeyError):
        backup.split(generate_mnemonic(), threshold=4, shares=3)
