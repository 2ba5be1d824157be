"""Custody keys: one deposit address per account per chain, and the hot wallet, from one seed.

Paths (hardened where SLIP-10 ed25519 requires it; all deterministic in the account id):

- deposit address of account ``a``: SVM ``m/44'/501'/{a}'/1'``, EVM ``m/44'/60'/{a}'/1'``
  (the ``1'`` leaf keeps them apart from wallet-style ``/0'`` keys of the same seed). The chains of
  a family share the address (as a wallet's do); deposits are still told apart by chain.
- hot wallet (pays withdrawals and fees): SVM ``m/44'/501'/0'/0'``, EVM ``m/44'/60'/0'/0'``.

Account ids must be below 2**31 (hardened index range). Derivations are cached per process.
"""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from solders.keypair import Keypair

from rucksack.chains.keys import evm_account_from_seed, svm_keypair_from_seed
from rucksack.chains.registry import CHAINS, Chain, get_chain

SVM_DEPOSIT_PATH = "m/44'/501'/{a}'/1'"
EVM_DEPOSIT_PATH = "m/44'/60'/{a}'/1'"
SVM_HOT_PATH = "m/44'/501'/0'/0'"
EVM_HOT_PATH = "m/44'/60'/0'/0'"

# Backpack's Blockchain enum spelling <-> registry key
BLOCKCHAIN_OF = {
    "solana": "Solana",
    "eclipse": "Eclipse",
    "ethereum": "Ethereum",
    "base": "Base",
    "arbitrum": "Arbitrum",
    "optimism": "Optimism",
    "polygon": "Polygon",
}
CHAIN_OF = {v: k for k, v in BLOCKCHAIN_OF.items()}
assert set(BLOCKCHAIN_OF) == {c.key for c in CHAINS}


def chain_for_blockchain(name: str) -> Chain | None:
    key = CHAIN_OF.get(name)
    return get_chain(key) if key else None


class CustodyKeys:
    def __init__(self, seed: bytes) -> None:
        if len(seed) < 16:
            raise ValueError("seed too short")
        self._seed = seed
        self._svm: dict[int, Keypair] = {}
        self._evm: dict[int, LocalAccount] = {}
        self._svm_hot = svm_keypair_from_seed(seed, SVM_HOT_PATH)
        self._evm_hot = evm_account_from_seed(seed, EVM_HOT_PATH)

    def svm_deposit(self, account: int) -> Keypair:
        _check(account)
        kp = self._svm.get(account)
        if kp is None:
            kp = self._svm[account] = svm_keypair_from_seed(self._seed, SVM_DEPOSIT_PATH.format(a=account))
        return kp

    def evm_deposit(self, account: int) -> LocalAccount:
        _check(account)
        acct = self._evm.get(account)
        if acct is None:
            acct = self._evm[account] = evm_account_from_seed(self._seed, EVM_DEPOSIT_PATH.format(a=account))
        return acct

    def deposit_address(self, chain: Chain, account: int) -> str:
        if chain.is_svm:
            return str(self.svm_deposit(account).pubkey())
        return str(self.evm_deposit(account).address)

    @property
    def svm_hot(self) -> Keypair:
        return self._svm_hot

    @property
    def evm_hot(self) -> LocalAccount:
        return self._evm_hot

    def hot_address(self, chain: Chain) -> str:
        return str(self._svm_hot.pubkey()) if chain.is_svm else str(self._evm_hot.address)


def _check(account: int) -> None:
    if not 0 <= account < 2**31:
        raise ValueError(f"account id {account} outside the hardened index range")
