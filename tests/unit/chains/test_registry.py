from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rucksack.chains.devnet import genesis
from rucksack.chains.evm.transfers import raw_chain_id  # noqa: F401  (import smoke)
from rucksack.chains.registry import (
    CHAINS,
    DEVNET_EVM_USDC,
    DEVNET_SVM_USDC_MINT,
    Family,
    chain_by_evm_id,
    evm_chains,
    get_chain,
    svm_chains,
)

EXCHANGE_CONFIG = Path(__file__).resolve().parents[3] / "src" / "rucksack" / "exchange" / "config" / "default.toml"


def test_the_seven_chains() -> None:
    assert [c.key for c in CHAINS] == ["solana", "eclipse", "ethereum", "base", "arbitrum", "optimism", "polygon"]
    assert {c.key for c in svm_chains()} == {"solana", "eclipse"}
    assert {c.chain_id for c in evm_chains()} == {1, 8453, 42161, 10, 137}
    assert all((c.chain_id is None) == (c.family is Family.SVM) for c in CHAINS)
    assert chain_by_evm_id(8453).key == "base"
    with pytest.raises(KeyError, match="known"):
        get_chain("bitcoin")


def test_exchange_decimals_agree_with_the_exchange_asset_list() -> None:
    # read as data, not imported: chains never imports the exchange
    assets = {a["symbol"]: a["decimals"] for a in tomllib.loads(EXCHANGE_CONFIG.read_text())["assets"]}
    for c in CHAINS:
        if c.native_symbol in assets:
            assert c.native_exchange_decimals == assets[c.native_symbol], c.key
        assert c.token.exchange_decimals == assets[c.token.symbol]


def test_devnet_token_addresses_come_from_the_devnet_genesis() -> None:
    assert str(genesis.svm_mint_keypair().pubkey()) == DEVNET_SVM_USDC_MINT
    from eth_utils import keccak, to_checksum_address
    from rlp import encode

    deployer = bytes.fromhex(genesis.evm_faucet().address[2:])
    assert to_checksum_address(keccak(encode([deployer, 0]))[12:]) == DEVNET_EVM_USDC
    assert genesis.evm_faucet().address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil/Hardhat account 0
