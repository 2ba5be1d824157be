"""The seven chains: identity, native asset, decimals, and the devnet's USDC-like token.

Invariants:

- Keys (``"solana"``, ``"base"``, ...) are lowercase, unique, and double as the devnet URL path.
- EVM chains carry their EIP-155 ``chain_id``; SVM chains have none (``chain_id is None``) and are
  told apart by key (and by genesis hash on a live cluster).
- ``native_decimals``/``token.decimals`` are the chain's own units (lamports: 9, wei: 18, Eclipse
  ETH: 9); ``exchange_decimals`` is the exchange asset's atom size. The exchange's asset list is the
  source of truth for the latter; tests/unit/chains checks the two agree. ``units`` converts.
- Token addresses are those of the local devnet (``rucksack devnet``): deterministic, derived from
  the public devnet mnemonic (see ``devnet.genesis``) and checked by the tests. They are NOT the
  mainnet USDC contracts; a real-network deployment supplies its own token table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Family(Enum):
    SVM = "svm"  # Solana virtual machine: ed25519 keys, base58 addresses, SPL tokens
    EVM = "evm"  # Ethereum virtual machine: secp256k1 keys, EIP-55 addresses, ERC-20 tokens


@dataclass(frozen=True, slots=True)
class Token:
    """A fungible token on one chain (SPL mint or ERC-20 contract)."""

    symbol: str  # exchange asset symbol it credits
    address: str  # mint (SVM, base58) or contract (EVM, EIP-55)
    decimals: int  # chain units per whole token = 10**decimals
    exchange_decimals: int


@dataclass(frozen=True, slots=True)
class Chain:
    key: str
    name: str
    family: Family
    chain_id: int | None  # EIP-155 id for EVM chains; None for SVM
    native_symbol: str  # exchange asset the native coin credits
    native_decimals: int  # chain units per coin (lamports 9, wei 18)
    native_exchange_decimals: int
    token: Token  # the USDC-like token on the devnet
    caip2: str | None  # CAIP-2 id of the real network where we know it (devnets report their own ids)

    @property
    def is_svm(self) -> bool:
        return self.family is Family.SVM

    @property
    def is_evm(self) -> bool:
        return self.family is Family.EVM


# Devnet USDC-like token addresses (see module docstring; devnet/genesis.py makes them).
DEVNET_SVM_USDC_MINT = "6XB1Ki4QQQqtGDDkfgfqYkLMGSpQy14SizdhkAa3ZqYZ"
DEVNET_EVM_USDC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
# The devnet's ERC-721 collection (contracts/RucksackLads.vy): account 0's second transaction
DEVNET_EVM_LADS = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"

_USDC_SVM = Token("USDC", DEVNET_SVM_USDC_MINT, 6, 6)
_USDC_EVM = Token("USDC", DEVNET_EVM_USDC, 6, 6)

CHAINS: tuple[Chain, ...] = (
    Chain("solana", "Solana", Family.SVM, None, "SOL", 9, 9, _USDC_SVM, "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"),
    # Eclipse: an SVM chain whose gas token is bridged ETH, kept in 9-decimal "lamports".
    Chain("eclipse", "Eclipse", Family.SVM, None, "ETH", 9, 8, _USDC_SVM, None),
    Chain("ethereum", "Ethereum", Family.EVM, 1, "ETH", 18, 8, _USDC_EVM, "eip155:1"),
    Chain("base", "Base", Family.EVM, 8453, "ETH", 18, 8, _USDC_EVM, "eip155:8453"),
    Chain("arbitrum", "Arbitrum One", Family.EVM, 42161, "ETH", 18, 8, _USDC_EVM, "eip155:42161"),
    Chain("optimism", "OP Mainnet", Family.EVM, 10, "ETH", 18, 8, _USDC_EVM, "eip155:10"),
    # POL is not an exchange asset yet; 8 atom decimals is the house default for 18-decimal coins.
    Chain("polygon", "Polygon PoS", Family.EVM, 137, "POL", 18, 8, _USDC_EVM, "eip155:137"),
)

_BY_KEY = {c.key: c for c in CHAINS}
_BY_EVM_ID = {c.chain_id: c for c in CHAINS if c.chain_id is not None}


def get_chain(key: str) -> Chain:
    """The chain with this key; ``KeyError`` naming the known keys otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown chain {key!r}; known: {', '.join(_BY_KEY)}") from None


def chain_by_evm_id(chain_id: int) -> Chain:
    try:
        return _BY_EVM_ID[chain_id]
    except KeyError:
        raise KeyError(f"no EVM chain with id {chain_id}") from None


def svm_chains() -> tuple[Chain, ...]:
    return tuple(c for c in CHAINS if c.is_svm)


def evm_chains() -> tuple[Chain, ...]:
    return tuple(c for c in CHAINS if c.is_evm)
