"""Keys and addresses from a BIP-39 mnemonic, a seed, or a raw private key.

Derivation (paths as in ../shared/spec/wallet.md §1.2, Backpack's defaults first):

- SVM: SLIP-10 ed25519, every level hardened; default ``m/44'/501'/{i}'/0'`` (Backpack, Phantom,
  Solflare). The 32-byte SLIP-10 private key is the ed25519 seed of a solders ``Keypair``.
- EVM: BIP-32 secp256k1; Backpack's default ``m/44'/60'/{i}'/0'`` and the MetaMask/BIP-44
  standard ``m/44'/60'/0'/0/{i}`` are both offered; callers name the one they use.

The mnemonic is checked (wordlist and checksum) before use; the passphrase is BIP-39's "25th word".
Private keys live only in the returned objects: nothing is logged or written here.
"""

from __future__ import annotations

from bip_utils import (
    Bip32KeyError,
    Bip32PathError,
    Bip32Slip10Ed25519,
    Bip32Slip10Secp256k1,
    Bip39MnemonicValidator,
    Bip39SeedGenerator,
)
from eth_account import Account
from eth_account.signers.local import LocalAccount
from solders.keypair import Keypair

from rucksack.chains.registry import Chain, Family, get_chain

SVM_DEFAULT_PATH = "m/44'/501'/{i}'/0'"
EVM_BACKPACK_PATH = "m/44'/60'/{i}'/0'"
EVM_STANDARD_PATH = "m/44'/60'/0'/0/{i}"
EVM_DEFAULT_PATH = EVM_BACKPACK_PATH


def mnemonic_to_seed(mnemonic: str, passphrase: str = "") -> bytes:
    """The 64-byte BIP-39 seed; ``ValueError`` when the phrase fails the wordlist or checksum."""
    phrase = " ".join(mnemonic.split())
    if not Bip39MnemonicValidator().IsValid(phrase):
        raise ValueError("not a valid BIP-39 mnemonic (unknown word or bad checksum)")
    return bytes(Bip39SeedGenerator(phrase).Generate(passphrase))


def svm_keypair_from_seed(seed: bytes, path: str) -> Keypair:
    """``ValueError`` for a malformed path or a non-hardened level (SLIP-10 ed25519 has none)."""
    try:
        node = Bip32Slip10Ed25519.FromSeed(seed).DerivePath(path)
    except (Bip32KeyError, Bip32PathError) as exc:
        raise ValueError(f"cannot derive ed25519 key at {path!r}: {exc}") from None
    return Keypair.from_seed(node.PrivateKey().Raw().ToBytes())


def evm_account_from_seed(seed: bytes, path: str) -> LocalAccount:
    try:
        node = Bip32Slip10Secp256k1.FromSeed(seed).DerivePath(path)
    except (Bip32KeyError, Bip32PathError) as exc:
        raise ValueError(f"cannot derive secp256k1 key at {path!r}: {exc}") from None
    account: LocalAccount = Account.from_key(node.PrivateKey().Raw().ToBytes())  # combomethod: typed Any
    return account


def svm_keypair(mnemonic: str, index: int = 0, *, path: str = SVM_DEFAULT_PATH, passphrase: str = "") -> Keypair:
    return svm_keypair_from_seed(mnemonic_to_seed(mnemonic, passphrase), path.format(i=index))


def evm_account(mnemonic: str, index: int = 0, *, path: str = EVM_DEFAULT_PATH, passphrase: str = "") -> LocalAccount:
    return evm_account_from_seed(mnemonic_to_seed(mnemonic, passphrase), path.format(i=index))


def address_from_seed(chain: Chain | str, seed: bytes, index: int = 0, path: str | None = None) -> str:
    """The address of wallet ``index`` on ``chain`` (EVM chains all share one address)."""
    c = get_chain(chain) if isinstance(chain, str) else chain
    if c.family is Family.SVM:
        return str(svm_keypair_from_seed(seed, (path or SVM_DEFAULT_PATH).format(i=index)).pubkey())
    return str(evm_account_from_seed(seed, (path or EVM_DEFAULT_PATH).format(i=index)).address)


def svm_keypair_from_secret(secret: bytes) -> Keypair:
    """A keypair from a 32-byte ed25519 seed or Solana's 64-byte secret key (seed || public key)."""
    if len(secret) == 32:
        return Keypair.from_seed(secret)
    if len(secret) == 64:
        kp = Keypair.from_bytes(secret)
        if bytes(kp.pubkey()) != secret[32:]:
            raise ValueError("64-byte secret key whose public half does not match its seed")
        return kp
    raise ValueError(f"an ed25519 secret is 32 or 64 bytes, got {len(secret)}")


def evm_account_from_secret(secret: bytes) -> LocalAccount:
    if len(secret) != 32:
        raise ValueError(f"a secp256k1 private key is 32 bytes, got {len(secret)}")
    account: LocalAccount = Account.from_key(secret)  # combomethod: typed Any
    return account


def address_from_private_key(chain: Chain | str, secret: bytes) -> str:
    c = get_chain(chain) if isinstance(chain, str) else chain
    if c.family is Family.SVM:
        return str(svm_keypair_from_secret(secret).pubkey())
    return str(evm_account_from_secret(secret).address)
