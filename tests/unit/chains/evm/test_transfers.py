from __future__ import annotations

import pytest
from eth_account import Account

from rucksack.chains.evm import erc20
from rucksack.chains.evm import transfers as evm
from rucksack.chains.registry import DEVNET_EVM_USDC, get_chain
from rucksack.chains.transfers import NATIVE

KEY = Account.from_key(b"\x07" * 32)
TO = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
FEES = evm.Fees(30 * 10**9, 10**9)


@pytest.mark.parametrize("chain", ["ethereum", "base", "arbitrum", "optimism", "polygon"])
def test_native_and_token_transfers_decode_to_what_was_built(chain: str) -> None:
    c = get_chain(chain)
    native = evm.decode_raw(evm.sign(evm.native_transfer_tx(c, TO, 10**18, 3, FEES), KEY))
    assert native.chain_id == c.chain_id and native.sender == KEY.address and native.nonce == 3
    assert native.transfer is not None and (native.transfer.chain, native.transfer.asset) == (chain, NATIVE)
    assert native.transfer.amount == 10**18 and native.gas == evm.NATIVE_GAS

    token = evm.decode_raw(evm.sign(evm.token_transfer_tx(c, DEVNET_EVM_USDC, TO.lower(), 7, 4, FEES), KEY))
    assert token.transfer is not None
    assert (token.transfer.asset, token.transfer.recipient, token.transfer.amount) == (DEVNET_EVM_USDC, TO, 7)


def test_non_transfers_and_unknown_chains_decode_without_a_transfer() -> None:
    approve = bytes.fromhex("095ea7b3") + bytes(64)
    tx = {**evm.native_transfer_tx(get_chain("base"), TO, 0, 0, FEES), "data": approve, "gas": 60_000}
    assert evm.decode_raw(evm.sign(tx, KEY)).transfer is None
    other = {**evm.native_transfer_tx(get_chain("base"), TO, 1, 0, FEES), "chainId": 5}
    decoded = evm.decode_raw(evm.sign(other, KEY))
    assert decoded.chain_id == 5 and decoded.transfer is None


def test_legacy_chain_ids() -> None:
    legacy = {"nonce": 0, "to": TO, "value": 1, "gas": 21000, "gasPrice": 10**9}
    assert evm.raw_chain_id(bytes(KEY.sign_transaction({**legacy, "chainId": 137}).raw_transaction)) == 137
    assert evm.raw_chain_id(bytes(KEY.sign_transaction(legacy).raw_transaction)) is None


def test_erc20_codec() -> None:
    data = erc20.transfer_data(TO, 12)
    assert data[:4].hex() == "a9059cbb" and erc20.decode_transfer_data(data) == (TO, 12)
    assert erc20.decode_transfer_data(data + b"\x00") is None
    topic = [erc20.TRANSFER_TOPIC, bytes(12) + bytes.fromhex(KEY.address[2:]), bytes(12) + bytes.fromhex(TO[2:])]
    assert erc20.decode_transfer_log(topic, (5).to_bytes(32, "big")) == (KEY.address, TO, 5)


def test_shipped_token_bytecode_is_the_compiled_source() -> None:
    art = erc20.artifact()
    assert art["source_sha256"] == erc20.source_sha256(), "UsdcLike.vy changed: regenerate the artifact"
    assert art["compiler"] == "vyper 0.4.3"
    pytest.importorskip("vyper")
    fresh = erc20.compile_artifact()
    assert fresh["bytecode"] == art["bytecode"] and fresh["abi"] == art["abi"]


def test_erc721_codec() -> None:
    from rucksack.chains.evm import erc721

    assert erc721.owner_of_data(7).hex() == "6352211e" + "00" * 31 + "07"
    data = erc721.transfer_from_data(KEY.address, TO, 3)
    assert data[:4].hex() == "23b872dd" and int.from_bytes(data[-32:], "big") == 3
    assert erc721.decode_owner(bytes(12) + bytes.fromhex(TO[2:])) == TO


def test_shipped_collection_bytecode_is_the_compiled_source() -> None:
    from rucksack.chains.evm import erc721

    pytest.importorskip("vyper")
    shipped = erc721.artifact()
    assert shipped["source_sha256"] == erc721.source_sha256()
    fresh = erc721.compile_artifact()
    assert (fresh["bytecode"], fresh["abi"], fresh["compiler"]) == (
        shipped["bytecode"],
        shipped["abi"],
        shipped["compiler"],
    )
