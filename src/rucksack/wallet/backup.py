"""SLIP-39 Shamir backup of the mnemonic: any ``threshold`` of ``shares`` word lists restore it.

What is split is the BIP-39 *entropy* (16 bytes for 12 words, 32 for 24), with shamir-mnemonic
(Trezor's reference SLIP-39). Restoring combines the shares and re-encodes the same BIP-39 words,
so the same addresses come back. This is our convention, not Trezor's: a Trezor uses a SLIP-39
master secret directly as its BIP-32 seed, so these shares do NOT restore on a Trezor, and
Trezor shares do not restore here (../shared/spec/wallet.md §2.4).

- The BIP-39 passphrase (if any) is not in the shares; keep it separately.
- One share reveals nothing; fewer than ``threshold`` shares fail with a clear error.
- SLIP-39's own passphrase is left empty (a wrong one would silently give another wallet).
"""

from __future__ import annotations

import shamir_mnemonic
from bip_utils import Bip39MnemonicDecoder, Bip39MnemonicEncoder
from shamir_mnemonic.share import Share

from rucksack.wallet.keys import Secret, WalletKeyError


def split(secret: Secret, threshold: int = 2, shares: int = 3) -> list[str]:
    if secret.kind != "mnemonic":
        raise WalletKeyError("SLIP-39 backup splits a mnemonic; this wallet holds an imported key")
    if not 1 <= threshold <= shares <= 16:
        raise WalletKeyError("need 1 <= threshold <= shares <= 16")
    entropy = bytes(Bip39MnemonicDecoder().Decode(secret.mnemonic))
    groups = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], entropy)
    return list(groups[0])


def combine(shares: list[str], passphrase: str = "") -> Secret:
    distinct = list(dict.fromkeys(" ".join(s.lower().split()) for s in shares))
    try:
        needed = Share.from_mnemonic(distinct[0]).member_threshold if distinct else 1
        # shamir-mnemonic wants exactly the threshold; more shares than needed are fine for people
        entropy = shamir_mnemonic.combine_mnemonics(distinct[:needed])
    except shamir_mnemonic.MnemonicError as exc:
        raise WalletKeyError(f"cannot restore from these shares: {exc}") from None
    return Secret.from_mnemonic(str(Bip39MnemonicEncoder().Encode(entropy)), passphrase)
