"""What every devnet starts with: deterministic, public, for testing only.

All keys come from ``DEVNET_MNEMONIC`` -- the widely published development mnemonic that
Hardhat and anvil also use, so EVM account 0 is the familiar
``0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266``. NEVER send real funds to any of these keys.

- SVM faucet: ``m/44'/501'/0'/0'`` -- funded with ``SVM_FAUCET_LAMPORTS``, mint authority of the
  USDC-like mint and holder of ``TOKEN_SUPPLY``.
- SVM mint: ``m/44'/501'/1000'/0'`` -- its public key is the mint address
  (``registry.DEVNET_SVM_USDC_MINT``); 6 decimals.
- EVM accounts: ``m/44'/60'/0'/0/{i}``, i < ``EVM_ACCOUNTS``, each with ``EVM_ACCOUNT_WEI``.
  Account 0 deploys the token (``contracts/UsdcLike.vy``) as its first transaction, so the token
  address is the same on every EVM chain (``registry.DEVNET_EVM_USDC``) and holds ``TOKEN_SUPPLY``.
  Its second transaction deploys the NFT collection (``contracts/RucksackLads.vy``, tokens 1..10,
  all held by account 0 until the faucet hands them out) at ``registry.DEVNET_EVM_LADS``.
"""

from __future__ import annotations

from functools import cache

from eth_account.signers.local import LocalAccount
from solders.keypair import Keypair

from rucksack.chains.keys import EVM_STANDARD_PATH, evm_account_from_seed, mnemonic_to_seed, svm_keypair_from_seed

DEVNET_MNEMONIC = "test test test test test test test test test test test junk"
SVM_FAUCET_LAMPORTS = 1_000_000_000 * 10**9  # 1e9 SOL
TOKEN_SUPPLY = 1_000_000_000 * 10**6  # 1e9 USDC in base units
EVM_ACCOUNTS = 10
EVM_ACCOUNT_WEI = 10_000 * 10**18


@cache
def _seed() -> bytes:
    return mnemonic_to_seed(DEVNET_MNEMONIC)


def svm_faucet() -> Keypair:
    return svm_keypair_from_seed(_seed(), "m/44'/501'/0'/0'")


def svm_mint_keypair() -> Keypair:
    return svm_keypair_from_seed(_seed(), "m/44'/501'/1000'/0'")


def evm_account(index: int = 0) -> LocalAccount:
    return evm_account_from_seed(_seed(), EVM_STANDARD_PATH.format(i=index))


def evm_faucet() -> LocalAccount:
    return evm_account(0)
